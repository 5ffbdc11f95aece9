"""The repository installs as a Python package whose `vton` command works offline, away from the checkout."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import DEMO_PERSON, ROOT

pytestmark = pytest.mark.slow


def test_installed_package_has_weights_bundles_and_command(tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    package = target / "vton"
    for name in ("gmm", "tom", "parser"):
        assert (package / "weights" / "cp-vton-viton" / name / "model.safetensors").is_file()
    assert len(list((package / "assets" / "mediapipe").glob("*.task"))) == 2
    # the console command, run outside the checkout with only the installed package on the path
    env = {k: v for k, v in os.environ.items() if not k.startswith("VTON_")}
    env.update(PYTHONPATH=str(target), HOME=str(tmp_path), HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, str(target / "bin" / "vton"), "parse", str(DEMO_PERSON), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    labels = np.array(Image.open(tmp_path / "out" / f"{DEMO_PERSON.stem}.png"))
    assert labels.shape == (256, 192) and np.isin(labels, (5, 6, 7)).mean() > 0.1  # her top is found
