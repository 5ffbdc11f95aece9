"""Measure MediaPipe person detection against the VITON annotations.

    python benchmarks/person_detection.py --dataroot ../shared/data/viton --start 0 --count 500 [--plain] [--fit]

Prints PCK at 12.8 px (5 % of 256) over annotated joints (a joint MediaPipe misses counts as wrong), person-mask
IoU against parse > 0, head IoU against parse {1, 2, 4, 13}, and of the parse's lower body {8, 9, 12, 16-19} the
share the lower-body mask covers (and of the garment {5, 6, 7} the share it wrongly takes). ``--parser`` takes
the masks from the shipped human parser instead of MediaPipe and the heuristics. ``--plain`` turns off the joint
correction;
``--fit`` prints the median offsets (in shoulder widths) to put in ``vton.pose.COCO18_CORRECTION``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from training.dataset import read_pairs
from vton.person import PersonAnalyzer
from vton.pose import COCO18_NAMES
from vton.representation import GARMENT_LABELS, HEAD_LABELS, LOWER_BODY_LABELS


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataroot", default="../shared/data/viton")
    parser.add_argument("--split", default="train")
    parser.add_argument("--pairs", default="train_pairs.txt")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--plain", action="store_true", help="no joint correction")
    parser.add_argument("--fit", action="store_true", help="print median joint offsets in shoulder widths")
    parser.add_argument("--threshold", type=float, default=12.8)
    parser.add_argument("--parser", action="store_true", help="masks from the shipped human parser")
    args = parser.parse_args()

    root = Path(args.dataroot)
    names = [person for person, _ in read_pairs(root, args.pairs)]
    names = names[args.start: args.start + args.count]
    hits = np.zeros(18)
    totals = np.zeros(18)
    offsets: list[list[np.ndarray]] = [[] for _ in range(18)]
    mask_ious, head_ious, lower_kept, garment_kept, failures = [], [], [], [], 0
    human_parser = None
    if args.parser:
        from vton.hub import load_parser

        human_parser = load_parser(device="cpu")
    with PersonAnalyzer(correct_joints=not args.plain, parser=human_parser) as analyzer:
        for name in tqdm(names, desc="persons"):
            stem = name.rsplit(".", 1)[0]
            photo = Image.open(root / args.split / "image" / name).convert("RGB")
            parse = np.array(Image.open(root / args.split / "image-parse" / f"{stem}.png"))
            truth = np.array(json.loads((root / args.split / "pose" / f"{stem}_keypoints.json").read_text())
                             ["people"][0]["pose_keypoints"], dtype=np.float32).reshape(18, 3)
            try:
                person = analyzer.analyze_network_image(np.asarray(photo))
            except Exception:  # noqa: BLE001 - a miss counts against every metric
                failures += 1
                annotated = (truth[:, 0] > 1) & (truth[:, 1] > 1)
                totals += annotated
                mask_ious.append(0.0)
                head_ious.append(0.0)
                lower_kept.append(0.0)
                garment_kept.append(0.0)
                continue
            pred = person.keypoints
            annotated = (truth[:, 0] > 1) & (truth[:, 1] > 1)
            found = pred[:, 2] > 0
            dist = np.linalg.norm(pred[:, :2] - truth[:, :2], axis=1)
            totals += annotated
            hits += annotated & found & (dist <= args.threshold)
            shoulder = np.linalg.norm(truth[2, :2] - truth[5, :2]) if annotated[2] and annotated[5] else 0
            if shoulder > 10:
                facing = 1.0 if truth[5, 0] >= truth[2, 0] else -1.0  # see vton.pose.COCO18_CORRECTION
                for j in np.nonzero(annotated & found)[0]:
                    offsets[j].append((truth[j, :2] - pred[j, :2]) * np.array([facing, 1.0]) / shoulder)
            mask_ious.append(iou(person.masks.person, parse > 0))
            head_ious.append(iou(person.masks.head, np.isin(parse, HEAD_LABELS)))
            lower, garment = np.isin(parse, LOWER_BODY_LABELS), np.isin(parse, GARMENT_LABELS)
            lower_kept.append((person.masks.lower & lower).sum() / max(lower.sum(), 1))
            garment_kept.append((person.masks.lower & garment).sum() / max(garment.sum(), 1))
    print(f"images {len(names)} (pairs {args.start}..{args.start + len(names) - 1}), no person found: {failures}")
    print(f"PCK@{args.threshold}px {hits.sum() / totals.sum():.4f}  person-mask IoU {np.mean(mask_ious):.4f}  "
          f"head IoU {np.mean(head_ious):.4f}  lower body covered {np.mean(lower_kept):.4f}, garment taken as lower "
          f"body {np.mean(garment_kept):.4f}")
    print("per joint PCK: " + ", ".join(f"{COCO18_NAMES[j]} {hits[j] / max(totals[j], 1):.3f}" for j in range(18)))
    if args.fit:
        rows = [np.median(np.array(o), axis=0) if len(o) >= 20 else np.zeros(2) for o in offsets]
        print("COCO18_CORRECTION = np.array([")
        for j, row in enumerate(rows):
            print(f"    [{row[0]:+.3f}, {row[1]:+.3f}],  # {COCO18_NAMES[j]}")
        print("], dtype=np.float32)")


if __name__ == "__main__":
    main()
