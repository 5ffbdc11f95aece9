"""Model files: Hugging Face Hub format (config.json + model.safetensors per model) and original CP-VTON `.pth`.

A pipeline folder holds one subfolder per model:

    FOLDER/gmm/config.json, FOLDER/gmm/model.safetensors
    FOLDER/tom/config.json, FOLDER/tom/model.safetensors
    FOLDER/parser/config.json, FOLDER/parser/model.safetensors (the human parser, optional for older weights)
    FOLDER/README.md (model card)

config.json holds the constructor arguments of the model's config dataclass plus ``model_type``; the networks
never import this module.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch
from torch import nn

from .errors import InputError, ModelLoadError
from .gmm import GMM, GMMConfig
from .parsing import HumanParser, ParserConfig
from .tom import TOM, TOMConfig

MODEL_CLASSES = {"gmm": (GMM, GMMConfig), "tom": (TOM, TOMConfig), "parser": (HumanParser, ParserConfig)}
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
DEFAULT_MODEL = Path(__file__).resolve().parent / "weights" / "cp-vton-viton"


def save_model(model: GMM | TOM | HumanParser, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (optionally cast, e.g. to fp16) into ``folder``."""
    from safetensors.torch import save_file

    kind = next(name for name, (cls, _) in MODEL_CLASSES.items() if isinstance(model, cls))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_type": kind, **dataclasses.asdict(model.config)}
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        state[key] = value
    atomic_write(folder / WEIGHTS_NAME, lambda p: save_file(state, str(p), metadata={"format": "pt"}))
    atomic_write(folder / CONFIG_NAME, lambda p: p.write_text(json.dumps(config, indent=2) + "\n"))
    return folder


def load_model(folder: str | Path, kind: str | None = None,
               device: str | torch.device = "cpu") -> GMM | TOM | HumanParser:
    """Load a model saved by :func:`save_model`; weights are cast to float32.

    Raises:
        ModelLoadError: missing files, unknown config keys, or weights that do not fit the config.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    config_file, weights_file = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for f in (config_file, weights_file):
        if not f.is_file():
            raise ModelLoadError(f"{folder}: missing {f.name}")
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as err:
        raise ModelLoadError(f"{config_file}: not valid JSON ({err.msg})") from None
    model_type = config.pop("model_type", kind)
    if model_type not in MODEL_CLASSES or (kind is not None and model_type != kind):
        raise ModelLoadError(f"{config_file}: expected model_type {kind or 'gmm/tom/parser'!r}, got {model_type!r}")
    model_cls, config_cls = MODEL_CLASSES[model_type]
    if model_type == "tom" and "keep_lower_body" in config:  # TOM configs written before person_input existed
        config["person_input"] = "head+lower" if config.pop("keep_lower_body") else "head"
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(config) - known
    if unknown:
        raise ModelLoadError(f"{config_file}: unknown config keys {sorted(unknown)}")
    try:
        model = model_cls(config_cls(**config))
    except (TypeError, ValueError) as err:
        raise ModelLoadError(f"{config_file}: {err}") from None
    try:
        state = load_file(str(weights_file))
    except (SafetensorError, OSError) as err:
        raise ModelLoadError(f"{weights_file}: not a readable safetensors file ({err})") from None
    load_state_dict_checked(model, {k: v.float() if v.is_floating_point() else v for k, v in state.items()},
                            str(weights_file))
    return model.to(device).eval()


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """'cuda', 'cpu', 'cuda:1', a torch.device, or None (CUDA when available).

    Raises:
        InputError: not a device name, or CUDA asked for on a machine without it.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"device {device!r} is not valid: use 'cpu' or 'cuda'") from None
    if resolved.type not in ("cpu", "cuda"):
        raise InputError(f"device {device!r} is not supported: use 'cpu' or 'cuda'")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was asked for, but CUDA is not available on this machine: use 'cpu'")
    return resolved


def load_parser(path_or_repo_id: str | os.PathLike | None = None,
                device: str | torch.device | None = None) -> HumanParser:
    """The human parser of a pipeline folder or Hub repo id (its ``parser/``); None: the shipped weights.

    Raises:
        ModelLoadError: not found, or a pipeline without a parser.
    """
    folder = resolve_pretrained(path_or_repo_id) / "parser"
    if not folder.is_dir():
        raise ModelLoadError(f"{folder.parent}: no human parser (parser/) in these weights")
    return load_model(folder, "parser", resolve_device(device))


def load_state_dict_checked(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with one clear message for the first wrong key or shape.

    Missing ``num_batches_tracked`` (checkpoints of PyTorch 0.4.0) is tolerated.
    """
    expected = model.state_dict()
    state = dict(state)
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    for key, value in expected.items():
        if key not in state:
            raise ModelLoadError(f"{source}: missing key {key} (expected shape {tuple(value.shape)})")
        if tuple(state[key].shape) != tuple(value.shape):
            raise ModelLoadError(f"{source}: {key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)}")
    extra = [k for k in state if k not in expected]
    if extra:
        raise ModelLoadError(f"{source}: unexpected key {extra[0]} ({len(extra)} unexpected in all)")
    model.load_state_dict(state, strict=True)


def config_from_original(state: dict[str, torch.Tensor]) -> GMMConfig | TOMConfig:
    """Infer which model and which layout (CP-VTON or CP-VTON+, width) an original state_dict holds."""
    if "extractionA.model.0.weight" in state and "extractionB.model.0.weight" in state:
        a, b = state["extractionA.model.0.weight"], state["extractionB.model.0.weight"]
        return GMMConfig(person_channels=a.shape[1], garment_channels=b.shape[1], ngf=a.shape[0])
    if "model.model.0.weight" in state:
        first = state["model.model.0.weight"]
        levels = sum(k.endswith(".weight") for k in state) // 2  # each level: one down and one up conv
        return TOMConfig(in_channels=first.shape[1], ngf=first.shape[0], num_downs=levels)
    raise ModelLoadError("not a CP-VTON GMM or TOM state_dict: neither extractionA.model.0.weight nor "
                         "model.model.0.weight is present")


def load_original_checkpoint(path: str | Path) -> GMM | TOM:
    """Load a ``gmm_final.pth`` / ``tom_final.pth`` of the reference code (CP-VTON or CP-VTON+ layout).

    Only tensors are read (``torch.load(weights_only=True)``): no pickled code runs.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: no such file") from None
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise ModelLoadError(f"{path}: not a loadable PyTorch state_dict ({err.__class__.__name__})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path}: expected a state_dict of tensors")
    state = {k.removeprefix("module."): v for k, v in state.items()}  # saved from DataParallel
    config = config_from_original(state)
    model = GMM(config) if isinstance(config, GMMConfig) else TOM(config)
    load_state_dict_checked(model, state, str(path))
    return model.eval()


def resolve_pretrained(path_or_repo_id: str | os.PathLike | None) -> Path:
    """A local pipeline folder, or a Hub repo id downloaded (or found in the cache) with huggingface_hub."""
    if path_or_repo_id is None:
        return DEFAULT_MODEL
    local = Path(path_or_repo_id).expanduser()
    if local.is_dir():
        return local
    name = str(path_or_repo_id)
    if local.exists() or name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ModelLoadError(f"model {name!r}: not a folder, and not a Hub repo id of the form 'owner/name'")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(name, allow_patterns=["*.json", "*.safetensors", "*.md"]))
    except LocalEntryNotFoundError:
        raise ModelLoadError(f"model {name!r} is not in the Hugging Face cache and the Hub cannot be reached "
                             "(offline?); download it once online or pass a local folder") from None
    except RepositoryNotFoundError:
        raise ModelLoadError(f"model {name!r}: no such repository on the Hugging Face Hub (or it is private)") from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise ModelLoadError(f"model {name!r}: could not be fetched from the Hub ({err.__class__.__name__})") from None


def atomic_write(path: Path, write) -> None:
    """``write(tmp)`` then rename onto ``path``: a failed write (a full disk) leaves no truncated file and keeps an
    existing one; the temporary file is removed and the error raised."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
