"""Where MediaPipe model bundles come from.

Order: an explicit path argument, then an environment variable (``VTON_POSE_MODEL`` / ``VTON_FACE_MODEL`` for a
file, ``VTON_MEDIAPIPE_DIR`` for a folder holding both), then the copies shipped with the library
(``vton/assets/mediapipe``, Apache-2.0, provenance in its README), then the user cache (``~/.cache/vton/mediapipe``,
or ``$XDG_CACHE_HOME/vton/mediapipe``), then a download of Google's official bundle into that cache when online.
So a fresh clone or install runs offline with nothing to set.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from .errors import ModelLoadError

log = logging.getLogger(__name__)

_BASE = "https://storage.googleapis.com/mediapipe-models"
MODEL_FILES = {
    "pose": ("pose_landmarker_full.task", "VTON_POSE_MODEL",
             f"{_BASE}/pose_landmarker/pose_landmarker_full/float16/latest/pose_landmarker_full.task"),
    "face": ("face_landmarker.task", "VTON_FACE_MODEL",
             f"{_BASE}/face_landmarker/face_landmarker/float16/latest/face_landmarker.task"),
}


SHIPPED_DIR = Path(__file__).resolve().parent / "assets" / "mediapipe"


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "vton" / "mediapipe"


def resolve_model_file(kind: str, path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Path of the MediaPipe bundle ``kind`` ('pose' or 'face').

    Raises:
        ModelLoadError: a named file that does not exist, or no file anywhere and the download failed.
    """
    filename, env_var, url = MODEL_FILES[kind]
    candidates: list[tuple[str, Path]] = []
    if path is not None:
        candidates.append(("argument", Path(path)))
    elif os.environ.get(env_var):
        candidates.append((env_var, Path(os.environ[env_var])))
    elif os.environ.get("VTON_MEDIAPIPE_DIR"):
        candidates.append(("VTON_MEDIAPIPE_DIR", Path(os.environ["VTON_MEDIAPIPE_DIR"]) / filename))
    if candidates:
        source, candidate = candidates[0]
        if not candidate.is_file():
            raise ModelLoadError(f"MediaPipe {kind} model not found: {candidate} (from {source})")
        return candidate
    shipped = SHIPPED_DIR / filename
    if shipped.is_file():
        return shipped
    cached = cache_dir() / filename
    if cached.is_file():
        return cached
    if not download:
        raise ModelLoadError(f"MediaPipe {kind} model not found in {cached.parent}; set {env_var} or VTON_MEDIAPIPE_DIR")
    return _download(url, cached, kind, env_var)


def _download(url: str, target: Path, kind: str, env_var: str) -> Path:
    log.info("downloading the MediaPipe %s model to %s", kind, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False)
    try:
        with urllib.request.urlopen(url, timeout=30) as response, tmp:
            shutil.copyfileobj(response, tmp)
        os.replace(tmp.name, target)  # atomic: a broken download never leaves a half file in the cache
    except OSError as err:
        Path(tmp.name).unlink(missing_ok=True)
        raise ModelLoadError(
            f"MediaPipe {kind} model is not cached and could not be downloaded ({err.__class__.__name__}); "
            f"set {env_var} or VTON_MEDIAPIPE_DIR to a local copy"
        ) from None
    return target
