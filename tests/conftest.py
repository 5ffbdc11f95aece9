"""Shared fixtures: the shared VITON data beside the checkout, tiny random-weight models.

Tests that read ../shared skip (with where to get it) when it is missing; CI has it and runs them all.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTON_SHARED", ROOT.parent / "shared"))
VITON = SHARED / "data" / "viton"
# demo examples shipped in the repository (held-out VITON pairs): for tests that need no other data
DEMO_PERSON = ROOT / "demo" / "persons" / "000117_0.jpg"
DEMO_GARMENTS = sorted((ROOT / "demo" / "garments").glob("*.jpg"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running (training, browser, many clients)")


def require_shared(path: Path = VITON) -> Path:
    """Skip the calling test (or fixture) when the project's shared data is not beside the checkout."""
    if not path.exists():
        pytest.skip(f"needs {path}: the project's shared/ folder (VITON pairs and photos) beside the checkout, or "
                    "VTON_SHARED pointing to it")
    return path


def viton_pairs(start: int = 0, count: int = 8) -> list[tuple[str, str]]:
    lines = (require_shared() / "train_pairs.txt").read_text().split("\n")
    return [tuple(line.split()) for line in lines[start: start + count]]


def person_path(name: str) -> Path:
    return require_shared() / "train" / "image" / name


def garment_path(name: str) -> Path:
    return require_shared() / "train" / "cloth" / name


@pytest.fixture(scope="session")
def analyzer():
    from vton.person import PersonAnalyzer

    with PersonAnalyzer() as a:
        yield a


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A pipeline folder in Hub format with small random-weight models (ngf 8)."""
    import torch

    from vton.gmm import GMM, GMMConfig
    from vton.hub import save_model
    from vton.tom import TOM, TOMConfig

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_model")
    gmm = GMM(GMMConfig(ngf=8))
    torch.nn.init.normal_(gmm.regression.linear.weight, 0, 0.01)  # a non-identity warp
    save_model(gmm, folder / "gmm")
    save_model(TOM(TOMConfig(ngf=8)), folder / "tom")
    return folder


@pytest.fixture(scope="session")
def pipeline(tiny_model_dir):
    from vton.pipeline import TryOnPipeline

    with TryOnPipeline.from_pretrained(tiny_model_dir, device="cpu") as pipe:
        yield pipe


@pytest.fixture(scope="session")
def default_pipeline():
    """The pipeline with the shipped weights, as the app runs it."""
    from vton.pipeline import TryOnPipeline

    with TryOnPipeline.from_pretrained(device="cpu") as pipe:
        yield pipe


@pytest.fixture(scope="session")
def astronaut():
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.astronaut())
