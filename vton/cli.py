"""Command line: ``python -m vton {tryon,pose,parse,garment-mask,prepare} ...`` (``--help`` on each).

Bad input ends with exit code 2 and one line on stderr, no traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import VtonError

log = logging.getLogger("vton")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def _images(paths: list[str]) -> list[Path]:
    """Files, and the images inside folders, in a stable order."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


def _about(path: Path, err: Exception) -> str:
    """An error message that names the file it is about."""
    text = str(err)
    return text if str(path) in text else f"{path}: {text}"


def output_path(path: str | Path) -> Path:
    """Check an output image path before any work: an image extension, not a folder."""
    out = Path(path)
    if out.is_dir():
        raise VtonError(f"{out}: is a folder; give an output file name, e.g. {out / 'tryon.png'}")
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise VtonError(f"{out}: unknown image extension {out.suffix or '(none)'!r}; use .png, .jpg or .webp")
    return out


def save_image(image: Image.Image, path: Path) -> None:
    """Save atomically (see :func:`vton.hub.atomic_write`), in the format the extension names."""
    from .hub import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    image_format = Image.registered_extensions()[path.suffix.lower()]
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    atomic_write(path, lambda tmp: image.save(tmp, format=image_format))


def cmd_tryon(args) -> None:
    from .pipeline import TryOnPipeline

    out = output_path(args.output)
    with TryOnPipeline.from_pretrained(args.model, device=args.device) as pipe:
        result = pipe(args.person, args.garment, args.garment_mask, over_clothes=args.over_clothes)
    save_image(result.image, out)
    if args.steps:
        folder = Path(args.steps)
        for name in ("tryon", "rendered", "warped_garment", "warped_mask", "composition_mask", "change_mask",
                     "garment_mask", "keypoints_image", "representation", "parse"):
            if getattr(result, name) is not None:
                save_image(getattr(result, name), folder / f"{name}.png")
    if result.num_persons > 1:
        log.warning("%d persons in the photo: dressed the largest", result.num_persons)
    worn = " (worn over the photo's clothes; --replace-clothes replaces them)" \
        if result.over_clothes and args.over_clothes is None else ""
    print(f"{out} ({result.image.width}x{result.image.height}) in {sum(result.timings.values()):.2f} s{worn}")


def openpose_json(keypoints: np.ndarray) -> dict:
    """(18, 3) keypoints -> the VITON/CP-VTON JSON layout (OpenPose COCO-18, ``pose_keypoints``)."""
    return {"version": 1.0, "people": [{"pose_keypoints": [round(float(v), 3) for v in keypoints.reshape(-1)],
                                        "face_keypoints": [], "hand_left_keypoints": [], "hand_right_keypoints": []}]}


def _each_image(paths: list[str], out: str, work) -> None:
    """Run ``work(path, out_folder)`` -> written file on every image; a bad image is reported in one line and the
    others still run; exit code 2 if any failed."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in _images(paths):
        try:
            target = work(path, folder)
        except VtonError as err:
            print(f"error: {_about(path, err)}", file=sys.stderr)
            failures += 1
            continue
        print(target)
    if failures:
        raise SystemExit(2)


def cmd_pose(args) -> None:
    from .person import PersonAnalyzer

    def work(path: Path, folder: Path) -> Path:
        from .hub import atomic_write

        target = folder / f"{path.stem}_keypoints.json"
        text = json.dumps(openpose_json(analyzer.analyze(path, require_head=False).keypoints_in_photo()))
        atomic_write(target, lambda tmp: tmp.write_text(text))
        return target

    with PersonAnalyzer() as analyzer:
        _each_image(args.images, args.out, work)


def cmd_parse(args) -> None:
    from .hub import load_parser
    from .parsing import labels_to_image
    from .person import OFFLINE_PARSE_SCALES, PersonAnalyzer

    def work(path: Path, folder: Path) -> Path:
        target = folder / f"{path.stem}.png"
        save_image(labels_to_image(analyzer.analyze(path, require_head=False).labels_in_photo()), target)
        return target

    with PersonAnalyzer(parser=load_parser(args.model, args.device), parse_scales=OFFLINE_PARSE_SCALES) as analyzer:
        _each_image(args.images, args.out, work)


def cmd_garment_mask(args) -> None:
    from .garment import prepare_garment

    def work(path: Path, folder: Path) -> Path:
        target = folder / f"{path.stem}.png"
        save_image(Image.fromarray(prepare_garment(path).mask_full.astype(np.uint8) * 255), target)
        return target

    _each_image(args.images, args.out, work)


def cmd_prepare(args) -> None:
    """Plain photos -> the CP-VTON layout, framed to 192x256, with the library's pose, parse and garment masks."""
    from .garment import prepare_garment
    from .hub import load_parser
    from .parsing import labels_to_image
    from .person import OFFLINE_PARSE_SCALES, PersonAnalyzer

    root = Path(args.out) / args.split
    for sub in ("image", "image-parse", "cloth", "cloth-mask", "pose"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    persons, garments = [], []
    with PersonAnalyzer(parser=load_parser(args.model), parse_scales=OFFLINE_PARSE_SCALES) as analyzer:
        for path in _images([args.persons]):
            try:
                analysis = analyzer.analyze(path)
            except VtonError as err:
                print(f"skipped {_about(path, err)}", file=sys.stderr)
                continue
            name = f"{path.stem}.jpg"
            Image.fromarray(analysis.image).save(root / "image" / name, quality=95)
            (root / "pose" / f"{path.stem}_keypoints.json").write_text(json.dumps(openpose_json(analysis.keypoints)))
            labels_to_image(analysis.labels).save(root / "image-parse" / f"{path.stem}.png")
            persons.append(name)
    for path in _images([args.garments]):
        try:
            garment = prepare_garment(path)
        except VtonError as err:
            print(f"skipped {_about(path, err)}", file=sys.stderr)
            continue
        name = f"{path.stem}.jpg"
        Image.fromarray(garment.image).save(root / "cloth" / name, quality=95)
        Image.fromarray(garment.mask.astype(np.uint8) * 255).save(root / "cloth-mask" / name, quality=95)
        garments.append(name)
    if not persons or not garments:
        raise VtonError(f"nothing to pair: {len(persons)} usable person photos, {len(garments)} usable garments")
    pairs = Path(args.out) / f"{args.split}_pairs.txt"
    pairs.write_text("".join(f"{p} {g}\n" for p in persons for g in garments))
    print(f"{len(persons)} persons x {len(garments)} garments -> {pairs}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vton", description="CP-VTON virtual try-on")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tryon", help="dress the person in a photo in a garment")
    p.add_argument("person", help="photo of a person (any size)")
    p.add_argument("garment", help="in-shop garment photo, light plain background (or RGBA)")
    p.add_argument("-o", "--output", required=True, help="output image file")
    p.add_argument("--model", help="local folder or Hugging Face Hub repo id (default: the shipped weights)")
    p.add_argument("--garment-mask", help="garment mask image instead of the automatic one")
    p.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    p.add_argument("--steps", help="folder for the intermediate images")
    over = p.add_mutually_exclusive_group()
    over.add_argument("--over-clothes", dest="over_clothes", action="store_const", const=True,
                      help="wear the garment over what the person has on (kept around it); default: over a dress, "
                           "and where replacing the top would leave much skin to draw")
    over.add_argument("--replace-clothes", dest="over_clothes", action="store_const", const=False,
                      help="replace the old top, also a dress's, drawing the skin it hid")
    p.set_defaults(func=cmd_tryon)

    p = sub.add_parser("pose", help="COCO-18 keypoints as OpenPose JSON (<stem>_keypoints.json)")
    p.add_argument("images", nargs="+", help="images or folders")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_pose)

    p = sub.add_parser("parse", help="human parsing: LIP labels at the image's size (<stem>.png, palette PNG)")
    p.add_argument("images", nargs="+", help="images or folders")
    p.add_argument("--out", required=True)
    p.add_argument("--model", help="local folder or Hugging Face Hub repo id with parser/ "
                                   "(default: the shipped weights)")
    p.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("garment-mask", help="garment masks (<stem>.png, 0/255)")
    p.add_argument("images", nargs="+", help="images or folders")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_garment_mask)

    p = sub.add_parser("prepare", help="turn plain photos into a CP-VTON dataset "
                                       "(image, image-parse, cloth, cloth-mask, pose, pairs)")
    p.add_argument("--persons", required=True, help="folder of person photos")
    p.add_argument("--garments", required=True, help="folder of garment photos")
    p.add_argument("--out", required=True, help="dataset root")
    p.add_argument("--split", default="test")
    p.add_argument("--model", help="local folder or Hub repo id with parser/ (default: the shipped weights)")
    p.set_defaults(func=cmd_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        args.func(args)
    except VtonError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    return 0
