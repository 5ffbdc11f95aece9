"""Per-stage time of a try-on with the library (batch 1, models loaded, warm), on a fixed set of photos, and the
speed ratio against another implementation (a git revision) measured side by side in the same run.

    python benchmarks/pipeline_speed.py [--baseline HEAD~1] [--persons 8] [--repeats 2] [--json FILE]

Sets: VITON val photos (192x256) and ../shared/data/wild/persons (768x1024), each tried on with the demo garments.
Every stage is included: person analysis (pose, parse), garment (mask and framing), warp (GMM), TOM, composition at
the photo's resolution. "garment" is timed with the garment prepared per call (the app prepares a gallery garment
once; then the total is the sum without it). With --baseline, the same measurement runs in a subprocess on a
checkout of that revision (a temporary git worktree; its own shipped weights unless --weights names a folder), in
the same run, so both see the same machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("person", "parse", "garment", "warp", "tryon", "compose")


def photo_sets(shared: Path, count: int) -> dict[str, list[Path]]:
    val = [line.split()[0] for line in (ROOT / "training/splits/val_pairs.txt").read_text().splitlines()[:count]]
    return {"viton 192x256": [shared / "data/viton/train/image" / name for name in val],
            "wild 768x1024": sorted((shared / "data/wild/persons").glob("*.jpg"))[:count]}


def measure(sets: dict[str, list[Path]], garments: list[Path], repeats: int, weights: str | None) -> dict:
    """Per set: {stage: median seconds}, plus 'total' (median of the per-call sums) and 'calls'."""
    import torch

    from vton import InputError, TryOnPipeline

    torch.set_num_threads(os.cpu_count() or 1)
    out = {}
    with TryOnPipeline.from_pretrained(weights, device="cpu") as pipe:
        pipe(sets[next(iter(sets))][0], garments[0])  # warm-up: lazy loads, first-call allocations
        for name, photos in sets.items():
            rows = []
            for photo in photos:
                for garment in garments:
                    for _ in range(repeats):
                        start = time.perf_counter()
                        try:
                            result = pipe(photo, garment)
                        except InputError:
                            break  # a photo the pipeline refuses (no head): not a try-on
                        total = time.perf_counter() - start
                        rows.append({**result.timings, "total": total})
            out[name] = {key: statistics.median(r.get(key, 0.0) for r in rows) for key in (*STAGES, "total")}
            out[name]["calls"] = len(rows)
    return out


def run_baseline(revision: str, args) -> dict:
    """The same measurement on a worktree of ``revision`` (its vton package, this script)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision], check=True,
                       capture_output=True)
        try:
            result = Path(tmp) / "baseline.json"
            command = [sys.executable, str(Path(__file__).resolve()), "--persons", str(args.persons),
                       "--repeats", str(args.repeats), "--garments", str(args.garments), "--shared", args.shared,
                       "--json", str(result), "--quiet"] + (["--weights", args.weights] if args.weights else [])
            env = {**os.environ, "PYTHONPATH": str(tree)}
            subprocess.run(command, check=True, cwd=tree, env=env)
            return json.loads(result.read_text())
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def print_table(title: str, data: dict) -> None:
    print(title)
    print(f"  {'set':16s} " + " ".join(f"{s:>8s}" for s in (*STAGES, "total")) + "   calls")
    for name, row in data.items():
        print(f"  {name:16s} " + " ".join(f"{row[s] * 1e3:6.0f}ms" for s in (*STAGES, "total")) + f"   {row['calls']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default=str(ROOT.parent / "shared"))
    p.add_argument("--persons", type=int, default=8, help="photos per set")
    p.add_argument("--garments", type=int, default=2, help="demo garments per photo")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--weights", help="pipeline folder (default: the shipped weights)")
    p.add_argument("--baseline", help="git revision to measure side by side (e.g. HEAD~1)")
    p.add_argument("--json", help="write the medians here")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    sets = photo_sets(Path(args.shared), args.persons)
    garments = sorted((ROOT / "demo/garments").glob("*.jpg"))[:args.garments]
    current = measure(sets, garments, args.repeats, args.weights)
    if args.json:
        Path(args.json).write_text(json.dumps(current, indent=2) + "\n")
    if args.quiet:
        import vton

        print(f"measured {vton.__file__}", file=sys.stderr)
        return
    print_table("this checkout (median per try-on, batch 1, models loaded, warm; garment prepared per call)", current)
    if args.baseline:
        baseline = run_baseline(args.baseline, args)
        print_table(f"baseline {args.baseline}", baseline)
        for name in current:
            print(f"  {name}: {baseline[name]['total'] / current[name]['total']:.2f}x the baseline's speed")


if __name__ == "__main__":
    main()
