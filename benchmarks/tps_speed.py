"""Speed of the precomputed TPS grid against the direct formulation (solve + broadcast per call).

    python benchmarks/tps_speed.py [--repeats 20]

Prints milliseconds per call and the ratio at 256x192 for batch 1 and 16 (goal: >= 20x).
"""
from __future__ import annotations

import argparse

import torch

from timing import best_seconds
from vton.tps import TpsGridGen, tps_grid_direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    gen = TpsGridGen(256, 192)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU")
    for batch in (1, 16):
        theta = torch.randn(batch, 50) * 0.1
        with torch.inference_mode():
            fast = best_seconds(lambda: gen(theta), args.repeats)
            direct = best_seconds(lambda: tps_grid_direct(theta, 256, 192), args.repeats)
        print(f"batch {batch:2d}: precomputed {fast * 1e3:7.3f} ms, direct {direct * 1e3:8.3f} ms, "
              f"ratio {direct / fast:6.1f}x")


if __name__ == "__main__":
    main()
