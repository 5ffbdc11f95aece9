"""Evaluate the human parser on VITON-format persons (``python -m training.evaluate --parser ...``).

IoU per label group (:data:`vton.parsing.LABEL_GROUPS`), dataset-level: the sum of intersections over the sum of
unions over all images, at 256x192, of the labels as the pipeline's person analysis makes them (background
inside a garment filled: :func:`vton.parsing.fill_garment_holes`), in two settings:
    plain       the photos as they are
    background  every person cut out by the parse, put on a random background (colours, gradients, noise,
                patterns, garment-photo crops) and zoomed out to 50-75% (towards full-body framing); the same
                backgrounds every run (seeded)
The ground truth is the dataset's parse completed with the neck and bare torso skin
(:func:`training.parsing_data.complete_parse`, with MediaPipe's person segmentation from ``--cache-dir``), which the
dataset leaves as background; ``mean`` is over the five
groups background, head, upper, arms, lower (the neck is reported on its own). ``plain_dataset_parse`` scores the
same predictions against the dataset's parse as it is (our neck label counted as background there).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.utils import save_image
from tqdm import tqdm

from vton.parsing import LABEL_GROUPS, NECK_LABEL, PALETTE, HumanParser, fill_garment_holes

from .dataset import stem
from .parsing_data import EVAL_BACKGROUND, ParsingDataset

MEAN_GROUPS = ("background", "head", "upper", "arms", "lower")


def group_ious(intersections: dict[str, float], unions: dict[str, float]) -> dict[str, float]:
    out = {g: intersections[g] / max(unions[g], 1.0) for g in LABEL_GROUPS}
    out["mean"] = float(np.mean([out[g] for g in MEAN_GROUPS]))
    return out


def accumulate(pred: torch.Tensor, target: torch.Tensor, intersections: dict, unions: dict) -> None:
    """Add the per-group intersections and unions of (B, H, W) label maps."""
    for group, labels in LABEL_GROUPS.items():
        values = torch.tensor(labels, device=pred.device)
        p, t = torch.isin(pred, values), torch.isin(target, values)
        intersections[group] = intersections.get(group, 0.0) + float((p & t).sum())
        unions[group] = unions.get(group, 0.0) + float((p | t).sum())


def evaluate_parser(parser: HumanParser, dataroot, split: str, pairs, limit: int | None = None,
                    batch_size: int = 16, workers: int = 1, examples: str | Path | None = None,
                    mirror_average: bool = False, cache_dir: str | Path | None = None,
                    scales: tuple[float, ...] = (1.0,)) -> dict:
    """Per-group IoUs of ``parser`` on the persons of ``pairs``: {"plain": {...}, "background": {...},
    "plain_dataset_parse": {...}, "persons": N}. ``mirror_average``, ``scales``: as :meth:`HumanParser.probabilities`;
    ``cache_dir``: MediaPipe detections, whose person segmentation completes the ground truth (as in training)."""
    device = next(parser.parameters()).device
    results, sheet = {}, []
    for setting, augment in (("plain", None), ("background", EVAL_BACKGROUND)):
        dataset = ParsingDataset(dataroot, split, pairs, settings=augment, seed=12345, cache_dir=cache_dir)
        if limit:
            dataset.items = dataset.items[:limit]
        inter, union, raw_inter, raw_union = {}, {}, {}, {}
        loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
        with torch.inference_mode():
            for batch in tqdm(loader, desc=f"parser ({setting})"):
                images = batch["image"].to(device)
                probs = parser.probabilities(images, mirror_average, scales).cpu()
                # as the pipeline's person analysis: background inside a garment is that garment
                pixels = ((images.cpu().permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
                labels = probs.max(1).indices.numpy().astype(np.uint8)
                pred = torch.stack([torch.from_numpy(fill_garment_holes(p, l, i)[1])
                                    for p, l, i in zip(probs, labels, pixels)]).long().to(device)
                target = batch["labels"].to(device)
                accumulate(pred, target, inter, union)
                if setting == "plain":
                    raw = torch.stack([torch.from_numpy(np.array(Image.open(
                        dataset.root / "image-parse" / f"{stem(n)}.png")).astype(np.int64))
                        for n in batch["person_name"]])
                    accumulate(torch.where(pred == NECK_LABEL, 0, pred), raw.to(device), raw_inter, raw_union)
                if len(sheet) < 16:
                    palette = torch.tensor(PALETTE, dtype=torch.float32, device=device) / 255
                    for i in range(min(2, images.shape[0])):
                        sheet += [(images[i] + 1) / 2, palette[pred[i]].permute(2, 0, 1),
                                  palette[target[i]].permute(2, 0, 1)]
        results[setting] = group_ious(inter, union)
        if setting == "plain":
            results["plain_dataset_parse"] = group_ious(raw_inter, raw_union)
        results["persons"] = len(dataset)
    if examples and sheet:
        save_image(torch.stack(sheet).cpu(), examples, nrow=6)
    return results


def format_ious(results: dict) -> str:
    lines = []
    for setting in ("plain", "background", "plain_dataset_parse"):
        r = results[setting]
        lines.append(f"{setting:>20}: " + ", ".join(f"{g} {r[g]:.4f}" for g in (*MEAN_GROUPS, "neck", "mean")))
    return "\n".join(lines)


def main(args) -> dict:
    from vton.hub import resolve_pretrained

    from .train import load_trained

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    source = args.parser if args.parser not in (None, "default") else resolve_pretrained(args.model)
    parser = load_trained(source, "parser", device)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = evaluate_parser(parser, args.dataroot, args.split, args.pairs, args.limit, args.batch_size,
                              args.workers, out.with_suffix(".png"), args.parser_mirror_average, args.cache_dir,
                              tuple(args.parser_scales))
    results.update({"dataroot": str(args.dataroot), "split": args.split, "pairs_file": str(args.pairs),
                    "parser": str(source), "mirror_average": args.parser_mirror_average,
                    "scales": list(args.parser_scales),
                    "settings": "256x192, dataset-level IoU per group; ground truth: the "
                    "parse completed with the neck and, with MediaPipe's person segmentation, pale trousers and "
                    "skirts (training.parsing_data.complete_parse)"})
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(format_ious(results))
    print(f"{results['persons']} persons -> {out}")
    return results
