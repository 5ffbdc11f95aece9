"""IoU of the automatic garment mask against the dataset's cloth-mask.

    python benchmarks/garment_mask.py --dataroot ../shared/data/viton --start 0 --count 1000 [--worst 8]

Prints the mean and percentiles, over all garments and over those whose cloth-mask is plausible (it has no holes:
the dataset's mask of many white or pale garments is only their print, seams or outline, and scoring against it
rewards the same failure); ``--worst N`` writes a sheet of the N worst cases (photo, ours, dataset) to
artifacts/garment_mask_worst.png to judge which side is wrong.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from training.dataset import read_pairs
from vton.garment import _enclosed, auto_garment_mask


def plausible(mask: np.ndarray) -> bool:
    """A dataset mask is plausible when filling its holes adds at most 2% and it covers at least 5% of the image."""
    return mask.mean() >= 0.05 and _enclosed(mask).sum() <= 1.02 * mask.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataroot", default="../shared/data/viton")
    parser.add_argument("--split", default="train")
    parser.add_argument("--pairs", default="train_pairs.txt")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--worst", type=int, default=0)
    args = parser.parse_args()
    root = Path(args.dataroot)
    names = [garment for _, garment in read_pairs(root, args.pairs)]
    names = names[args.start: args.start + args.count]
    scores, ok = [], []
    for name in tqdm(names, desc="garments"):
        rgb = np.asarray(Image.open(root / args.split / "cloth" / name).convert("RGB"))
        truth = np.asarray(Image.open(root / args.split / "cloth-mask" / name).convert("L")) >= 128
        ours = auto_garment_mask(rgb)
        scores.append(float((ours & truth).sum() / max((ours | truth).sum(), 1)))
        ok.append(plausible(truth))
    scores, ok = np.array(scores), np.array(ok)
    print(f"garment-mask IoU over {len(names)} garments (pairs {args.start}..{args.start + len(names) - 1}): "
          f"mean {scores.mean():.4f}, median {np.median(scores):.4f}, 5th percentile {np.percentile(scores, 5):.4f}; "
          f"{ok.sum()} with a plausible cloth-mask: mean {scores[ok].mean():.4f}, median {np.median(scores[ok]):.4f}, "
          f"5th percentile {np.percentile(scores[ok], 5):.4f}")
    if args.worst:
        rows = []
        for i in np.argsort(scores)[: args.worst]:
            rgb = np.asarray(Image.open(root / args.split / "cloth" / names[i]).convert("RGB"))
            truth = np.asarray(Image.open(root / args.split / "cloth-mask" / names[i]).convert("L")) >= 128
            ours = auto_garment_mask(rgb)
            rows.append(np.concatenate([rgb, np.repeat(ours[..., None] * 255, 3, 2).astype(np.uint8),
                                        np.repeat(truth[..., None] * 255, 3, 2).astype(np.uint8)], 1))
            print(f"  {names[i]}: IoU {scores[i]:.3f}")
        out = Path("artifacts/garment_mask_worst.png")
        out.parent.mkdir(exist_ok=True)
        Image.fromarray(np.concatenate(rows, 0)).save(out)
        print(f"worst cases: {out} (columns: garment, ours, dataset)")


if __name__ == "__main__":
    main()
