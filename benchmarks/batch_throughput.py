"""Try-ons per second of the batched tensor-level try-on (:func:`vton.tryon.try_on`: mirror-averaged GMM warp, TOM,
composition) on real VITON pairs, at 256x192, for several batch sizes and precisions.

    python benchmarks/batch_throughput.py --dataroot ../shared/data/viton --pairs training/splits/val_pairs.txt \
        [--weights vton/weights/cp-vton-viton] [--batch-sizes 64 256] [--device cuda] [--seconds 5]

Persons and garments are prepared once (framing, parse, representation: the per-item CPU work stays off the hot
path) and moved to the device; the timed loop is networks and composition only, synchronised at the end of each
call. bf16 is compared with fp32 on the same batch (mean and max absolute difference of the shown try-on, in [-1, 1]
units). Goal (issue 13): >= 300 try-ons/s on one H100. On a CPU the same code runs, at small batch sizes.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader

from training.dataset import VitonDataset
from vton.hub import load_model
from vton.hub import resolve_pretrained
from vton.tryon import PersonTensors, try_on


def load_batch(args, device: torch.device) -> tuple[PersonTensors, torch.Tensor, torch.Tensor]:
    parser = load_model(resolve_pretrained(args.weights) / "parser", "parser")
    dataset = VitonDataset(args.dataroot, args.split, args.pairs, "photo", args.cache_dir, garment_masks="auto",
                           with_lower_body=True, parser=parser)
    count = min(args.pairs_used, len(dataset))
    batch = next(iter(DataLoader(torch.utils.data.Subset(dataset, range(count)), batch_size=count)))
    batch = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
    return PersonTensors.from_batch(batch), batch["garment"], batch["garment_mask"]


def repeat(tensors: list[torch.Tensor], size: int) -> list[torch.Tensor]:
    """Tile the prepared items up to ``size`` (a batch of many persons x garments)."""
    n = tensors[0].shape[0]
    index = torch.arange(size, device=tensors[0].device) % n
    return [t[index].contiguous() for t in tensors]


def run(gmm, tom, person: PersonTensors, garment, mask, bf16: bool):
    with torch.inference_mode(), torch.autocast(person.photo.device.type, torch.bfloat16, enabled=bf16):
        return try_on(gmm, tom, person, garment, mask).tryon.float()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataroot", required=True)
    p.add_argument("--split", default="train")
    p.add_argument("--pairs", default="training/splits/val_pairs.txt")
    p.add_argument("--cache-dir", default="cache/persons")
    p.add_argument("--weights", default=None, help="pipeline folder (default: the shipped weights)")
    p.add_argument("--pairs-used", type=int, default=32, help="distinct pairs, tiled up to each batch size")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seconds", type=float, default=5.0, help="timed seconds per configuration")
    args = p.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed shapes: let cuDNN pick its fastest kernels
    sizes = args.batch_sizes or ([32, 128, 512] if device.type == "cuda" else [1, 8])
    folder = resolve_pretrained(args.weights)
    gmm = load_model(folder / "gmm", "gmm", device).eval()
    tom = load_model(folder / "tom", "tom", device).eval()
    person, garment, mask = load_batch(args, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {name}; {person.photo.shape[0]} distinct VITON pairs, 256x192")

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for size in sizes:
        tensors = repeat([person.photo, person.representation, person.head, person.lower, person.upper,
                          person.hidden, garment, mask], size)
        batch_person, batch_garment, batch_mask = PersonTensors(*tensors[:6]), tensors[6], tensors[7]
        reference = None
        for bf16 in (False, True):
            out = run(gmm, tom, batch_person, batch_garment, batch_mask, bf16)  # warm-up (cuDNN algorithm choice)
            sync()
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                out = run(gmm, tom, batch_person, batch_garment, batch_mask, bf16)
                calls += 1
                sync()
            per_second = calls * size / (time.perf_counter() - start)
            diff = "" if reference is None else \
                f", vs fp32: mean |d| {(out - reference).abs().mean():.4f}, max {(out - reference).abs().max():.3f}"
            reference = out if reference is None else reference
            print(f"batch {size:4d} {'bf16' if bf16 else 'fp32'}: {per_second:8.1f} try-ons/s{diff}", flush=True)


if __name__ == "__main__":
    main()
