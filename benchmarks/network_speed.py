"""The networks' own floor on this CPU: FLOPs per try-on of each shipped network, milliseconds at batch 1 with the
default settings and with channels_last memory format, and the throughput a large convolution reaches here.

    python benchmarks/network_speed.py [--repeats 20]

A network's floor is its FLOPs over the throughput the machine reaches on convolutions; the pipeline's stage times
(benchmarks/pipeline_speed.py) say how close the try-on gets to it. The GMM runs twice per try-on (the warp is
averaged with its mirror's) and the parser twice (mirror-averaged labels).
"""
from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from timing import best_seconds
from vton.hub import load_model, resolve_pretrained


def flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--weights", help="pipeline folder (default: the shipped weights)")
    args = p.parse_args()
    folder = resolve_pretrained(args.weights)
    gmm, tom = load_model(folder / "gmm", "gmm").eval(), load_model(folder / "tom", "tom").eval()
    parser = load_model(folder / "parser", "parser").eval()
    inputs = {
        "GMM (x2 per try-on)": (gmm, (torch.randn(1, 22, 256, 192), torch.randn(1, gmm.config.garment_channels, 256, 192))),
        "TOM": (tom, (torch.randn(1, tom.config.in_channels, 256, 192),)),
        "parser (x2 per try-on)": (parser, (torch.randn(1, 3, 256, 192),)),
    }
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).eval()
    x = torch.randn(1, 128, 128, 96)
    with torch.inference_mode():
        conv_flops = flops(lambda: conv(x))
        peak = conv_flops / best_seconds(lambda: conv(x), args.repeats) / 1e9
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; a 3x3 convolution (128 channels, 128x96) "
          f"reaches {peak:.1f} GFLOP/s")
    print(f"{'network':24s} {'GFLOP':>7s} {'ms':>7s} {'ms channels_last':>17s} {'GFLOP/s':>8s} {'floor ms':>9s}")
    for name, (model, tensors) in inputs.items():
        with torch.inference_mode():
            work = flops(lambda: model(*tensors))
            plain = 1000 * best_seconds(lambda: model(*tensors), args.repeats)
            model_cl = model.to(memory_format=torch.channels_last)
            tensors_cl = tuple(t.contiguous(memory_format=torch.channels_last) for t in tensors)
            channels_last = 1000 * best_seconds(lambda: model_cl(*tensors_cl), args.repeats)
            model.to(memory_format=torch.contiguous_format)
        print(f"{name:24s} {work / 1e9:7.2f} {plain:7.1f} {channels_last:17.1f} {work / plain / 1e6:8.1f} "
              f"{work / peak / 1e6:9.1f}")


if __name__ == "__main__":
    main()
