"""Where the MediaPipe bundles come from: an argument, the environment, the copies shipped with the library."""
import hashlib

import pytest

from vton.errors import ModelLoadError
from vton.model_files import SHIPPED_DIR, resolve_model_file


def test_shipped_bundles_are_used_when_nothing_is_set(monkeypatch, tmp_path):
    for var in ("VTON_POSE_MODEL", "VTON_FACE_MODEL", "VTON_MEDIAPIPE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache: nothing to find or download there
    expected = {"pose": "d86281071b4a941e07f2bc051f1b13397b6fec851e563c2a284478e70a57fe7a",
                "face": "514b59a414ec96c3b5610e3b3110bae688013e88cb7abc48902c9a05124d85d2"}
    for kind, digest in expected.items():
        path = resolve_model_file(kind, download=False)
        assert path.parent == SHIPPED_DIR
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # the files of the README's provenance
    assert not any(tmp_path.iterdir())


def test_argument_and_environment_come_first(monkeypatch, tmp_path):
    own = tmp_path / "pose.task"
    own.write_bytes(b"x")
    assert resolve_model_file("pose", own) == own
    monkeypatch.setenv("VTON_POSE_MODEL", str(own))
    assert resolve_model_file("pose") == own
    monkeypatch.setenv("VTON_POSE_MODEL", str(tmp_path / "missing.task"))
    with pytest.raises(ModelLoadError, match="missing.task \\(from VTON_POSE_MODEL\\)"):
        resolve_model_file("pose")
