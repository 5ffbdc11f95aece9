"""Human parsing on plain photos: a contact sheet to look at, and the time it takes.

    python benchmarks/parser_photos.py ../shared/data/wild/persons --out artifacts/parser_wild.jpg [--model M]

For every photo: the photo | its labels at the photo's resolution (guided filter) overlaid | the labels alone, in
a sheet of rows. Prints the median milliseconds per photo of the parser network (256x192, mirror-averaged as in the
pipeline; at several scales with --scales 1 0.875 1.125) and of the refinement at the photo's resolution (what
``vton parse`` adds; the try-on uses the 256x192 labels).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vton.cli import _images
from vton.hub import load_parser
from vton.parsing import PALETTE
from vton.person import PersonAnalyzer

TILE_HEIGHT = 320


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photos", nargs="+", help="photos or folders")
    p.add_argument("--out", required=True, help="contact sheet (jpg/png)")
    p.add_argument("--model", help="pipeline folder with parser/ (default: the shipped weights)")
    p.add_argument("--columns", type=int, default=4, help="photos per row")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0],
                   help="the network's scales (HumanParser.probabilities; the pipeline parses at 1 alone)")
    args = p.parse_args()
    parser = load_parser(args.model, "cpu")
    palette = np.asarray(PALETTE, np.uint8)
    tiles, network_ms, refine_ms = [], [], []
    with PersonAnalyzer(parser=parser, parse_scales=tuple(args.scales)) as analyzer:
        for path in _images(args.photos):
            analysis = analyzer.analyze(path, require_head=False)
            start = time.perf_counter()
            parser.predict(analysis.image, mirror_average=True, scales=tuple(args.scales))  # as the analyzer did
            network_ms.append(1000 * (time.perf_counter() - start))
            start = time.perf_counter()
            labels = analysis.labels_in_photo()
            refine_ms.append(1000 * (time.perf_counter() - start))
            photo = np.asarray(analysis.photo)
            colours = palette[labels]
            overlay = np.where(labels[..., None] > 0, (0.45 * photo + 0.55 * colours).astype(np.uint8), photo // 3)
            row = np.concatenate([photo, overlay, colours], 1)
            tile = Image.fromarray(row)
            tile = tile.resize((round(tile.width * TILE_HEIGHT / tile.height), TILE_HEIGHT), Image.Resampling.BILINEAR)
            ImageDraw.Draw(tile).text((4, 4), f"{path.name} {photo.shape[1]}x{photo.shape[0]}", fill=(255, 0, 255))
            tiles.append(tile)
    width = max(t.width for t in tiles)
    rows = (len(tiles) + args.columns - 1) // args.columns
    sheet = Image.new("RGB", (width * args.columns, TILE_HEIGHT * rows), (40, 40, 40))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % args.columns) * width, (i // args.columns) * TILE_HEIGHT))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=90)
    total = np.array(network_ms) + np.array(refine_ms)
    print(f"{len(tiles)} photos -> {args.out}; median per photo: network (mirror-averaged) {np.median(network_ms):.1f} "
          f"ms, refinement at photo resolution {np.median(refine_ms):.1f} ms, both {np.median(total):.1f} ms "
          f"(max {total.max():.1f})")


if __name__ == "__main__":
    main()
