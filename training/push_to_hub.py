"""Upload an exported pipeline folder to the Hugging Face Hub.

    HF_TOKEN=... python -m training.push_to_hub --folder vton/weights/cp-vton-viton --repo-id you/cp-vton-viton \
        [--private]

The token comes from the environment (HF_TOKEN) or a prior `huggingface-cli login`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vton.errors import ModelLoadError
from vton.hub import load_model


def check_folder(folder: Path) -> None:
    """Refuse to upload a folder that would not load: both models must load from it."""
    for kind in ("gmm", "tom"):
        load_model(folder / kind, kind)
    if not (folder / "README.md").is_file():
        raise ModelLoadError(f"{folder}: no README.md model card (training.export writes one)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folder", required=True)
    p.add_argument("--repo-id", required=True)
    p.add_argument("--private", action="store_true")
    p.add_argument("--message", default="Upload CP-VTON weights")
    args = p.parse_args(argv)
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(args.folder)
    try:
        check_folder(folder)
        api = HfApi()
        api.create_repo(args.repo_id, private=args.private, exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=args.repo_id, commit_message=args.message,
                                 allow_patterns=["*.json", "*.safetensors", "README.md"])
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (HfHubHTTPError, OSError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else err.__class__.__name__
        print(f"error: upload to {args.repo_id} failed: {first_line}", file=sys.stderr)
        return 2
    print(f"uploaded {folder} -> {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
