"""Evaluate a trained GMM + TOM on VITON-format pairs.

    python -m training.evaluate --dataroot ../shared/data/viton --split train \
        --pairs training/splits/val_pairs.txt [--model vton/weights/cp-vton-viton] \
        [--representation photo|annotations] [--limit N] --json artifacts/eval.json
    python -m training.evaluate --parser [RUN_OR_MODEL] --dataroot ... --pairs ... --json artifacts/parser.json

Same-garment pairs (person NNNNNN_0 with garment NNNNNN_1) give paired metrics on the 256x192 try-on as the
pipeline makes it (vton.tryon.try_on: the TOM's composition inside the region a try-on changes, the photo's own
pixels outside it):
    warp IoU   warped garment mask (--garment-masks: the dataset's cloth-mask, or the automatic one) vs the worn
               garment in the parse (labels 5, 6, 7)
    hem        where the warped garment ends minus where the worn one ends, in network pixels (negative: the
               warp is shorter), each the 98th percentile of its mask's rows; median over the pairs
    SSIM       torchmetrics, RGB in [0, 1], gaussian window 11, sigma 1.5, data_range 1
    PSNR, L1   try-on vs the photo, RGB in [0, 1]
    network_*  SSIM, PSNR, L1 of the TOM's composition alone (every pixel rendered or warped, as published
               CP-VTON numbers are)
The GMM's warp is averaged with the one predicted for the mirrored inputs, as in the pipeline
(--no-mirror-average: the plain forward pass). The same metrics for the identity warp (theta = 0, the garment as
photographed, through the same TOM) as a baseline. Other pairs produce result images in --images. A grid of
examples is written beside the JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchmetrics.functional.image import peak_signal_noise_ratio as psnr
from torchmetrics.functional.image import structural_similarity_index_measure as ssim
from torchvision.utils import save_image
from tqdm import tqdm

from vton.gmm import warp
from vton.hub import resolve_pretrained
from vton.tryon import PersonTensors, render, warp_garment

from .dataset import VitonDataset, stem
from .train import load_trained


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataroot", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--pairs", default="test_pairs.txt")
    p.add_argument("--model", help="pipeline folder or Hub repo id (default: the shipped weights)")
    p.add_argument("--gmm", help="use this GMM instead (run folder or model folder)")
    p.add_argument("--tom", help="use this TOM instead (run folder or model folder)")
    p.add_argument("--representation", choices=["photo", "annotations"], default="photo")
    p.add_argument("--cache-dir", default="cache/persons")
    p.add_argument("--garment-masks", choices=["dataset", "auto"], default="dataset",
                   help="garment masks: the dataset's cloth-mask (as published numbers) or the app's automatic ones")
    p.add_argument("--mirror-average", action=argparse.BooleanOptionalAction, default=True,
                   help="average the GMM's warp with the mirrored input's, as the pipeline does (default: on)")
    p.add_argument("--unseen", action=argparse.BooleanOptionalAction, default=True,
                   help="the GMM is not shown the inside of the garment's back, as the pipeline does (default: on; "
                        "--no-unseen: as until session 23)")
    p.add_argument("--limit", type=int, help="first N pairs only")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--json", required=True, help="metrics file to write")
    p.add_argument("--images", help="folder for try-on images of the pairs")
    p.add_argument("--parser-mirror-average", action="store_true",
                   help="with --parser: average each photo's labels with its mirror's (as HumanParser.predict can)")
    p.add_argument("--parser-scales", type=float, nargs="+", default=[1.0],
                   help="with --parser: average the labels of the photos resized by these factors (e.g. 1 0.875 "
                        "1.125; HumanParser.probabilities)")
    p.add_argument("--use-parser", action=argparse.BooleanOptionalAction, default=True,
                   help="photo representation: masks from the --model folder's human parser when it has one, as the "
                        "pipeline (--no-use-parser: MediaPipe and the heuristics)")
    p.add_argument("--parser", nargs="?", const="default",
                   help="evaluate the human parser instead of the try-on: per-group IoUs (training.evaluate_parser); "
                        "a run or model folder, or without a value the parser of --model")
    return p.parse_args(argv)


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-item IoU of (B, 1, H, W) masks in {0, 1}."""
    inter = (a * b).flatten(1).sum(1)
    union = ((a + b) > 0).float().flatten(1).sum(1)
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def bottom_row(masks: torch.Tensor) -> torch.Tensor:
    """Per item of (B, 1, H, W) masks in {0, 1}: the 98th percentile of the rows of its pixels (NaN if empty)."""
    rows = torch.arange(masks.shape[2], device=masks.device, dtype=torch.float32)
    out = []
    for m in masks[:, 0] > 0.5:
        ys = rows[:, None].expand_as(m)[m]
        out.append(torch.quantile(ys, 0.98) if len(ys) else torch.tensor(float("nan"), device=masks.device))
    return torch.stack(out)


def tryon_metrics(tryon: torch.Tensor, person: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-item SSIM, PSNR, L1 of (B, 3, H, W) images in [-1, 1], computed in [0, 1]."""
    x, y = (tryon.clamp(-1, 1) + 1) / 2, (person + 1) / 2
    return {
        "ssim": ssim(x, y, data_range=1.0, kernel_size=11, sigma=1.5, reduction="none"),
        "psnr": psnr(x, y, data_range=1.0, reduction="none", dim=(1, 2, 3)),
        "l1": (x - y).abs().flatten(1).mean(1),
    }


def main(args: argparse.Namespace) -> dict:
    if args.parser:
        from .evaluate_parser import main as evaluate_parser

        return evaluate_parser(args)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    folder = resolve_pretrained(args.model)
    gmm = load_trained(args.gmm or folder, "gmm", device)
    tom = load_trained(args.tom or folder, "tom", device)
    human_parser = load_trained(folder, "parser", device) if args.use_parser and (folder / "parser").is_dir() else None
    dataset = VitonDataset(args.dataroot, args.split, args.pairs, args.representation, args.cache_dir,
                           garment_masks=args.garment_masks, parser=human_parser, garment_unseen=True)
    if args.limit:
        dataset.items = dataset.items[: args.limit]
    loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=args.workers)
    identity_theta = torch.zeros(1, 2 * gmm.config.grid_size**2, device=device)

    sums: dict[str, float] = {}
    hems: list[torch.Tensor] = []
    paired = unpaired = 0
    examples = []
    images = Path(args.images) if args.images else None
    if images:
        images.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        for batch in tqdm(loader, desc="evaluating"):
            b = batch["person"].shape[0]
            tensors = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
            person = PersonTensors.from_batch(tensors)
            unseen = tensors["garment_unseen"]
            warped, warped_mask, theta = warp_garment(gmm, tensors["representation"], tensors["garment"],
                                                      tensors["garment_mask"], args.mirror_average,
                                                      unseen if args.unseen else None)
            warps = {"model": (warped, warped_mask)}
            # the garment as shown: without the inside of its back, which the pipeline shows as what is behind it
            front = (warp(tensors["garment_mask"] * (1 - unseen), gmm.gridGen(theta.float()), "zeros") > 0.5).float()
            identity = gmm.gridGen(identity_theta.expand(b, -1))
            warps["identity"] = (warp(tensors["garment"], identity, "border"),
                                 warp(tensors["garment_mask"], identity, "zeros"))
            outputs = {}
            for name, (warped, warped_mask) in warps.items():
                result = render(tom, person, warped, warped_mask)
                outputs[name] = (warped, (warped_mask > 0.5).float(), result.tryon, result.network)
            same = torch.tensor([stem(p).rsplit("_", 1)[0] == stem(g).rsplit("_", 1)[0]
                                 for p, g in zip(batch["person_name"], batch["garment_name"])], device=device)
            for name, (warped, warped_mask, tryon, network) in outputs.items():
                metrics = {"warp_iou": iou(warped_mask, tensors["garment_region"]), **tryon_metrics(tryon, tensors["person"]),
                           **({"warp_iou_front": iou(front, tensors["garment_region"])} if name == "model" else {}),
                           **{f"network_{k}": v for k, v in tryon_metrics(network, tensors["person"]).items()}}
                for key, values in metrics.items():
                    sums[f"{name}/{key}"] = sums.get(f"{name}/{key}", 0.0) + float(values[same].sum())
            hems.append((bottom_row(outputs["model"][1]) - bottom_row(tensors["garment_region"]))[same].cpu())
            paired += int(same.sum())
            unpaired += int((~same).sum())
            warped, _, tryon, _ = outputs["model"]
            if len(examples) < 8:
                examples.append(torch.stack([tensors["person"][0], tensors["garment"][0], warped[0], tryon[0]]))
            if images:
                for i in range(b):
                    save_image((tryon[i].clamp(-1, 1) + 1) / 2, images / f"{stem(batch['person_name'][i])}__{stem(batch['garment_name'][i])}.png")

    result = {
        "pairs": len(dataset), "paired": paired, "unpaired": unpaired,
        "dataroot": str(args.dataroot), "split": args.split, "pairs_file": str(args.pairs),
        "representation": args.representation, "garment_masks": args.garment_masks,
        "mirror_average": args.mirror_average, "unseen": args.unseen,
        "person_masks": "parser" if dataset.parse_dir is not None else "mediapipe",
        "model": str(args.model or "default"),
        "metrics": {k: v / paired for k, v in sums.items()} if paired else {},
        "hem_offset_median": float(torch.cat(hems).nanmedian()) if paired else None,
        "hem_offset_quartiles": [float(torch.cat(hems).nanquantile(q)) for q in (0.25, 0.75)] if paired else None,
        "settings": "256x192; SSIM torchmetrics RGB [0,1] gaussian 11 sigma 1.5; warp IoU vs parse {5,6,7} (front: "
                    "without the inside of the garment's back); "
                    "ssim/psnr/l1: the try-on as shown (vton.tryon.try_on); network_*: TOM output alone",
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if examples:
        save_image((torch.cat(examples).clamp(-1, 1) + 1) / 2, out.with_suffix(".png"), nrow=4)
    m = result["metrics"]
    if paired:
        print(f"{paired} paired: warp IoU {m['model/warp_iou']:.4f} (identity {m['identity/warp_iou']:.4f}), "
              f"SSIM {m['model/ssim']:.4f} (identity {m['identity/ssim']:.4f}; TOM output alone "
              f"{m['model/network_ssim']:.4f}), PSNR {m['model/psnr']:.2f}, L1 {m['model/l1']:.4f}, hem offset "
              f"{result['hem_offset_median']:+.1f} px (quartiles {result['hem_offset_quartiles'][0]:+.1f}, "
              f"{result['hem_offset_quartiles'][1]:+.1f}); "
              f"{unpaired} unpaired -> {out}")
    else:
        print(f"no same-garment pairs; {unpaired} unpaired results -> {images or 'no --images folder'}")
    return result


if __name__ == "__main__":
    main(parse_args(sys.argv[1:]))
