"""Two versions of the same try-ons side by side, in random order, for a reviewer who must not know which is which.

    python benchmarks/tryon_sheets.py --out A_SHEETS --results A   # the baseline (e.g. in a git worktree)
    python benchmarks/tryon_sheets.py --out B_SHEETS --results B   # the candidate
    python benchmarks/blind_compare.py A B --out artifacts/blind --key /tmp/blind_key.json [--seed 0]
    python benchmarks/blind_compare.py A B --key /tmp/blind_key.json --grades GRADES.txt

Rows are photo | garment | X | Y (X and Y are A's and B's result in a random order per row), 3 rows per sheet,
only the try-ons whose results differ (more than 0.2% of the pixels by more than 12 of 255; --min-changed). With
--tight, a row is the result | X | Y cropped to a square around the largest region where they differ, enlarged
(small differences a whole-figure row hides), 4 rows per sheet. The key goes to a file the reviewer is not shown.
With --grades, the reviewer's lines `#N: pref=X|Y|=` (and optionally `| X=B Y=C`) are unblinded into how often A
and B were preferred and graded A, B, C.
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROW_HEIGHT = 600
GAP = 4
TIGHT_SIZE = 420  # --tight: each crop enlarged to this square
TIGHT_PAD = 25  # px of the result around the region that differs


def differs(a: Path, b: Path, min_changed: float) -> bool:
    x, y = (np.asarray(Image.open(p).convert("RGB"), np.int16) for p in (a, b))
    return x.shape != y.shape or float((np.abs(x - y).max(2) > 12).mean()) >= min_changed


def row(number: int, photo: Path, garment: Path, x: Path, y: Path) -> Image.Image:
    images = [Image.open(p).convert("RGB") for p in (photo, garment, x, y)]
    width = round(images[2].width * ROW_HEIGHT / images[2].height)
    sizes = [(width, ROW_HEIGHT), (width // 2, ROW_HEIGHT // 2), (width, ROW_HEIGHT), (width, ROW_HEIGHT)]
    out = Image.new("RGB", (sum(w for w, _ in sizes) + GAP * 3, ROW_HEIGHT + 24), "white")
    draw, left = ImageDraw.Draw(out), 0
    for image, size, label in zip(images, sizes, (f"#{number}", "", "X", "Y")):
        out.paste(image.resize(size, Image.Resampling.LANCZOS), (left, 24))
        draw.text((left + 4, 4), label, fill=(255, 0, 0))
        left += size[0] + GAP
    return out


def tight_row(number: int, x: Path, y: Path) -> Image.Image:
    """The whole result (X) with the crop's box drawn | X's crop | Y's crop: a square around the largest connected
    region where X and Y differ (grown by 7 px), padded by TIGHT_PAD, each enlarged to TIGHT_SIZE."""
    images = [Image.open(p).convert("RGB") for p in (x, y)]
    a, b = (np.asarray(i, np.int16) for i in images)
    differ = cv2.dilate((np.abs(a - b).max(2) > 12).astype(np.uint8), np.ones((15, 15), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(differ)
    if count > 1:
        left, top, w, h = stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))][:4]
    else:
        left, top, w, h = 0, 0, a.shape[1], a.shape[0]
    side = max(w, h) + 2 * TIGHT_PAD
    cx, cy = left + w // 2, top + h // 2
    box = (cx - side // 2, cy - side // 2, cx - side // 2 + side, cy - side // 2 + side)
    context = images[0].resize((round(images[0].width * TIGHT_SIZE / images[0].height), TIGHT_SIZE))
    scale = TIGHT_SIZE / images[0].height
    out = Image.new("RGB", (context.width + 2 * TIGHT_SIZE + GAP * 2, TIGHT_SIZE + 24), "white")
    draw = ImageDraw.Draw(out)
    out.paste(context, (0, 24))
    draw.rectangle([box[0] * scale, 24 + box[1] * scale, box[2] * scale, 24 + box[3] * scale], outline=(255, 0, 0))
    draw.text((4, 4), f"#{number}", fill=(255, 0, 0))
    for i, (image, label) in enumerate(zip(images, "XY")):
        left = context.width + GAP + i * (TIGHT_SIZE + GAP)
        out.paste(image.crop(box).resize((TIGHT_SIZE, TIGHT_SIZE), Image.Resampling.LANCZOS), (left, 24))
        draw.text((left + 4, 4), label, fill=(255, 0, 0))
    return out


def make_sheets(a: Path, b: Path, out: Path, key_path: Path, seed: int, min_changed: float,
                tight: bool = False) -> None:
    results = json.loads((b / "results.json").read_text())
    jobs = {f"{r['kind']}_{r['number']:02d}": r for r in results if "error" not in r}
    rng, key, rows = random.Random(seed), {}, []
    for name, job in jobs.items():
        ra, rb = a / f"{name}.jpg", b / f"{name}.jpg"
        if not (ra.exists() and rb.exists()) or not differs(ra, rb, min_changed):
            continue
        swap = rng.random() < 0.5
        key[name] = {"X": "B" if swap else "A", "Y": "A" if swap else "B"}
        x, y = (rb, ra) if swap else (ra, rb)
        rows.append(tight_row(len(rows) + 1, x, y) if tight
                    else row(len(rows) + 1, Path(job["person_path"]), Path(job["garment_path"]), x, y))
        key[name]["row"] = len(rows)
    out.mkdir(parents=True, exist_ok=True)
    per_sheet = 4 if tight else 3
    for start in range(0, len(rows), per_sheet):
        part = rows[start:start + per_sheet]
        sheet = Image.new("RGB", (max(r.width for r in part), sum(r.height for r in part)), "white")
        for i, r in enumerate(part):
            sheet.paste(r, (0, i * r.height))
        sheet.save(out / f"sheet_{start // per_sheet + 1:02d}.png")
    key_path.write_text(json.dumps({"a": str(a), "b": str(b), "rows": key}, indent=1) + "\n")
    print(f"{len(rows)} of {len(jobs)} try-ons differ: {-(-len(rows) // per_sheet)} sheets in {out}, key in {key_path}")


def unblind(key_path: Path, grades: Path) -> None:
    by_row = {v["row"]: v for v in json.loads(key_path.read_text())["rows"].values()}
    preferred = {"A": 0, "B": 0, "=": 0}
    graded = {"A": {"A": 0, "B": 0, "C": 0}, "B": {"A": 0, "B": 0, "C": 0}}
    for m in re.finditer(r"#(\d+):\s*pref=([XY=])(?:\s*\|\s*X=([ABC])\s+Y=([ABC]))?", grades.read_text()):
        number, pref, gx, gy = int(m.group(1)), m.group(2), m.group(3), m.group(4)
        version = by_row[number]
        preferred[version[pref] if pref != "=" else "="] += 1
        if gx:
            graded[version["X"]][gx] += 1
            graded[version["Y"]][gy] += 1
    print(f"preferred: A {preferred['A']}, B {preferred['B']}, no difference {preferred['=']}")
    for v in "AB":
        print(f"grades of {v}: " + ", ".join(f"{n} {g}" for g, n in graded[v].items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path, help="--results folder of the baseline")
    p.add_argument("b", type=Path, help="--results folder of the candidate")
    p.add_argument("--key", type=Path, required=True, help="where the key is written (or read, with --grades)")
    p.add_argument("--out", type=Path, help="folder for the sheets")
    p.add_argument("--grades", type=Path, help="the reviewer's answer: unblind it with --key")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-changed", type=float, default=0.002)
    p.add_argument("--tight", action="store_true", help="rows cropped around where the two differ, enlarged")
    args = p.parse_args()
    if args.grades:
        unblind(args.key, args.grades)
    else:
        make_sheets(args.a, args.b, args.out or Path("artifacts/blind"), args.key, args.seed, args.min_changed,
                    args.tight)


if __name__ == "__main__":
    main()
