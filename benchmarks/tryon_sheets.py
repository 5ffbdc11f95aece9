"""Try-on contact sheets to look at and grade, and the background-change figure.

    python benchmarks/tryon_sheets.py --out artifacts/tryon [--model M] [--wild ../shared/data/wild]
        [--viton ../shared/data/viton] [--garments-per-person 3] [--viton-pairs 24] [--results DIR]

Every person photo of WILD/persons is dressed in 3 different garments of WILD/garments (person i gets garments
i, i + 5 and i + 9 modulo their number, so every garment is used), and 24 persons of the VITON val pairs each in
the garment of another val pair. A row per try-on: photo | garment | result | the change alpha over the photo |
the TOM's rendering | the warped garment, written as sheets of 6 rows (OUT/wild_NN.jpg, OUT/viton_NN.jpg) with a
number per row to grade by.

Background figure, per try-on: the pixels that differ from the photo (any channel by more than 8 of 255) farther
than 0.5% of the photo's height from the person (the parser's person mask at photo resolution), as a share of all
pixels that far from the person. Prints the median, the maximum and how many are within 0.2%; and the GMM's
warped garment's width at the chest over the torso's (:func:`vton.fit.chest_ratio`; VITON's persons in their own
garments: a median 1.03). Writes every number to OUT/results.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from vton import TryOnPipeline
from vton.cli import _images
from vton.errors import InputError
from vton.fit import chest_ratio

TILE_HEIGHT = 300
RESULT_HEIGHT = 600  # --results
ROWS_PER_SHEET = 6
CHANGED = 8  # 0-255: a pixel differs from the photo when a channel differs by more than this
FAR = 0.005  # of the photo's height: "far from the person"


def background_change(photo: Image.Image, result: Image.Image, person: np.ndarray) -> float:
    """Share of the pixels farther than FAR x height from ``person`` ((H, W) bool) that the try-on changed."""
    diff = np.abs(np.asarray(result, np.int16) - np.asarray(photo, np.int16)).max(2) > CHANGED
    distance = cv2.distanceTransform((~person).astype(np.uint8), cv2.DIST_L2, 5)
    far = distance > FAR * photo.height
    return float((diff & far).sum() / max(far.sum(), 1))


def tile(image: Image.Image, height: int = TILE_HEIGHT) -> Image.Image:
    image = image.convert("RGB")
    return image.resize((max(1, round(image.width * height / image.height)), height), Image.Resampling.LANCZOS)


def row(number: int, photo: Image.Image, garment: Image.Image, result, figure: float) -> Image.Image:
    tiles = [tile(photo), tile(garment), tile(result.image), tile(result.change_mask), tile(result.rendered),
             tile(result.warped_garment)]
    width = sum(t.width for t in tiles) + 4 * len(tiles)
    out = Image.new("RGB", (width, TILE_HEIGHT + 4), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 2))
        x += t.width + 4
    ImageDraw.Draw(out).text((6, 6), f"#{number}  bg {100 * figure:.2f}%", fill=(255, 0, 0))
    return out


def refused_row(number: int, photo: Image.Image, message: str) -> Image.Image:
    """The photo and the pipeline's message, for a photo it refuses (e.g. no head)."""
    photo = tile(photo)
    out = Image.new("RGB", (photo.width + 4, TILE_HEIGHT + 4), "white")
    out.paste(photo, (0, 2))
    draw = ImageDraw.Draw(out)
    draw.text((6, 6), f"#{number}  refused:", fill=(255, 0, 0))
    for i, start in enumerate(range(0, len(message), 40)):
        draw.text((6, 20 + 12 * i), message[start:start + 40], fill=(255, 0, 0))
    return out


def write_sheets(rows: list[Image.Image], out: Path, prefix: str) -> list[Path]:
    paths = []
    for start in range(0, len(rows), ROWS_PER_SHEET):
        part = rows[start:start + ROWS_PER_SHEET]
        sheet = Image.new("RGB", (max(r.width for r in part), sum(r.height for r in part)), "white")
        y = 0
        for r in part:
            sheet.paste(r, (0, y))
            y += r.height
        path = out / f"{prefix}_{start // ROWS_PER_SHEET + 1:02d}.jpg"
        sheet.save(path, quality=88)
        paths.append(path)
    return paths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for the sheets and results.json")
    p.add_argument("--model", help="pipeline folder or Hub repo id (default: the shipped weights)")
    p.add_argument("--wild", default="../shared/data/wild", help="folder with persons/ and garments/")
    p.add_argument("--viton", default="../shared/data/viton", help="VITON dataroot (its train split holds val)")
    p.add_argument("--val-pairs", default="training/splits/val_pairs.txt")
    p.add_argument("--garments-per-person", type=int, default=3)
    p.add_argument("--viton-pairs", type=int, default=24)
    p.add_argument("--results", help="also write each result image here (600 px high), named like its row")
    wear = p.add_mutually_exclusive_group()
    wear.add_argument("--over-clothes", dest="over_clothes", action="store_const", const=True,
                      help="every garment worn over the photo's clothes")
    wear.add_argument("--replace-clothes", dest="over_clothes", action="store_const", const=False,
                      help="every garment replacing the photo's top (default: the pipeline chooses)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    jobs: list[tuple[str, Path, Path]] = []
    persons, garments = _images([f"{args.wild}/persons"]), _images([f"{args.wild}/garments"])
    offsets = (0, 5, 9, 2, 7)[: args.garments_per_person]
    for i, person in enumerate(persons):
        jobs += [("wild", person, garments[(i + k) % len(garments)]) for k in offsets]
    lines = Path(args.val_pairs).read_text().split("\n")
    pairs = [line.split() for line in lines if line.strip()][: args.viton_pairs]
    root = Path(args.viton) / "train"
    for i, (person, _) in enumerate(pairs):
        jobs.append(("viton", root / "image" / person, root / "cloth" / pairs[(i + 1) % len(pairs)][1]))

    results, rows = [], {"wild": [], "viton": []}
    with TryOnPipeline.from_pretrained(args.model) as pipe:
        analyses = {}
        for kind, person, garment in jobs:
            number = len(rows[kind]) + 1
            try:
                if person not in analyses:
                    analyses[person] = pipe.analyze_person(person)
                analysis = analyses[person]
                result = pipe(analysis, garment, over_clothes=args.over_clothes)
            except InputError as err:
                print(f"{kind} #{number} {person.name} + {garment.name}: {err}")
                results.append({"kind": kind, "number": number, "person": person.name, "garment": garment.name,
                                "error": str(err)})
                rows[kind].append(refused_row(number, Image.open(person), str(err)))
                continue
            person_mask = analysis.labels_in_photo(max_side=1024) > 0
            figure = background_change(analysis.photo, result.image, person_mask)
            _, labels, keypoints = analysis.window(result.warped_mask.size)
            chest = chest_ratio(np.asarray(result.warped_mask) > 127, labels, keypoints)
            results.append({"kind": kind, "number": number, "person": person.name, "garment": garment.name,
                            "person_path": str(person), "garment_path": str(garment),
                            "background_change": figure, "chest_width": chest,
                            "seconds": sum(result.timings.values())})
            rows[kind].append(row(number, analysis.photo, Image.open(garment), result, figure))
            if args.results:
                Path(args.results).mkdir(parents=True, exist_ok=True)
                tile(result.image, RESULT_HEIGHT).save(Path(args.results) / f"{kind}_{number:02d}.jpg", quality=93)
    for kind, kind_rows in rows.items():
        write_sheets(kind_rows, out, kind)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.results:
        (Path(args.results) / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for kind in rows:
        figures = np.array([r["background_change"] for r in results if r["kind"] == kind and "background_change" in r])
        if len(figures):
            print(f"{kind}: {len(figures)} try-ons; background changed beyond {100 * FAR:.1f}% of the height from "
                  f"the person: median {100 * np.median(figures):.3f}%, max {100 * figures.max():.3f}%, "
                  f"{int((figures <= 0.002).sum())} of {len(figures)} within 0.2%")
            chest = np.array([r["chest_width"] for r in results if r["kind"] == kind and "chest_width" in r])
            print(f"{kind}: the warped garment's width at the chest over the torso's: median "
                  f"{np.nanmedian(chest):.2f}, quartiles {np.nanpercentile(chest, 25):.2f}-"
                  f"{np.nanpercentile(chest, 75):.2f}")
    print(f"sheets and results.json in {out}")


if __name__ == "__main__":
    main()
