"""Human parsing: a person photo -> the 20 LIP labels, from one photo with a network trained in this project.

The network (:class:`HumanParser`) sees the framed person at 256x192 (the same 3:4 window as the try-on networks)
and predicts per-pixel label logits. :func:`labels_at_photo` brings them back to the photo's own resolution with a
guided filter whose guide is the photo, so label edges follow the photo's edges instead of a blocky upsampling.

LIP labels (the values of VITON's ``image-parse`` PNGs): 0 background, 1 hat, 2 hair, 3 glove, 4 sunglasses,
5 upper-clothes, 6 dress, 7 coat, 8 socks, 9 pants, 10 jumpsuits, 11 scarf, 12 skirt, 13 face (and neck),
14 left-arm, 15 right-arm, 16 left-leg, 17 right-leg, 18 left-shoe, 19 right-shoe.

One departure, as VITON-HD's parse does: label 10 (LIP's jumpsuits, which VITON never uses) is the neck and the
bare skin of the torso that a neckline or a short top shows. VITON's parse leaves those pixels background; the
training data fills them in (``training.parsing_data.complete_parse``), so the try-on knows where skin is.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .image_io import NET_HEIGHT, NET_WIDTH, Framing
from .representation import (ARM_LABELS, COAT_LABEL, GARMENT_LABELS, HEAD_LABELS, LOWER_BODY_LABELS, NECK_LABEL,
                             SKIRT_LABEL, UPPER_CLOTHES_LABEL)

NUM_LABELS = 20
# label of each label after a left-right mirror: left and right arms, legs and shoes swap
MIRRORED_LABELS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 14, 17, 16, 19, 18)
# the palette of VITON's image-parse PNGs (R, G, B per label), so our PNGs read the same everywhere
PALETTE = (
    (0, 0, 0), (128, 0, 0), (254, 0, 0), (0, 85, 0), (169, 0, 51), (254, 85, 0), (0, 0, 85), (0, 119, 220),
    (85, 85, 0), (0, 85, 85), (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 254), (51, 169, 220), (0, 254, 254),
    (85, 254, 169), (169, 254, 85), (254, 254, 0), (254, 169, 0),
)
# Groups used to measure and to build masks (the try-on's person analysis reads these)
LABEL_GROUPS = {
    "background": (0,),
    "head": HEAD_LABELS,
    "upper": GARMENT_LABELS,
    "arms": ARM_LABELS,
    "lower": LOWER_BODY_LABELS,
    "neck": (NECK_LABEL,),
}
# Guided-filter radius and regularisation at photo resolution (radius in photo pixels per network pixel, so the
# window covers about the same part of the person at any photo size; eps for a guide in [0, 1]).
GUIDE_RADIUS = 2.0
GUIDE_EPS = 1e-3
# smooth_waistline: the split between a top and the trousers or skirt below it, smoothed across columns by a running
# median over WAIST_MEDIAN and a Gaussian over WAIST_SMOOTHING; labels within WAIST_BAND of it follow it (of the height)
WAIST_MEDIAN, WAIST_SMOOTHING, WAIST_BAND = 0.04, 0.008, 0.03
# a hole in the garment (fill_garment_holes): background ringed this much by upper-garment or neck labels, farther than
# this from the colour of the background around the person (max over RGB, 0-255)
HOLE_RING_SHARE = 0.8
HOLE_WALL_DISTANCE = 30


@dataclass
class ParserConfig:
    """widths: channels per level, full resolution first (each next level halves the resolution)."""

    widths: tuple[int, ...] = (16, 32, 64, 128, 192, 256)
    num_labels: int = NUM_LABELS
    in_channels: int = 3
    height: int = NET_HEIGHT
    width: int = NET_WIDTH

    def __post_init__(self):
        self.widths = tuple(self.widths)  # config.json stores a list


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class HumanParser(nn.Module):
    """A small U-Net: strided 3x3 convolutions down, lateral 1x1 + upsampling + one 3x3 convolution up (FPN-style
    sums, not concatenations, keep the full-resolution levels cheap), and an image-level context vector (global
    average pool of the deepest level) added to the deepest features, so that left and right are decided from the
    whole figure.

    Input (B, 3, H, W) RGB in [-1, 1]; output (B, num_labels, H, W) logits. H and W divisible by 2**(levels-1).
    """

    def __init__(self, config: ParserConfig | None = None):
        super().__init__()
        self.config = config = config or ParserConfig()
        w = config.widths
        self.down = nn.ModuleList([_conv(config.in_channels, w[0])])
        for cin, cout in zip(w[:-1], w[1:]):
            self.down.append(nn.Sequential(_conv(cin, cout, stride=2), _conv(cout, cout)))
        self.context = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(w[-1], w[-1], 1), nn.ReLU(inplace=True))
        self.lateral = nn.ModuleList([nn.Conv2d(w[i + 1], w[i], 1) for i in range(len(w) - 1)])
        self.up = nn.ModuleList([_conv(w[i], w[i]) for i in range(len(w) - 1)])
        self.head = nn.Conv2d(w[0], config.num_labels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = x + self.context(x)
        for i in reversed(range(len(self.up))):
            x = F.interpolate(self.lateral[i](x), size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.up[i](x + skips[i])
        return self.head(x)

    @torch.inference_mode()
    def predict(self, images: torch.Tensor | np.ndarray, mirror_average: bool = False,
                scales: tuple[float, ...] = (1.0,)) -> torch.Tensor:
        """(B, H, W, 3) or (H, W, 3) uint8 framed person(s) -> (B, num_labels, H, W) float32 probabilities.

        ``mirror_average``: also parse the mirrored photos (one batch) and average with their mirrored labels;
        ``scales``: see :meth:`probabilities`.
        """
        images = torch.as_tensor(np.array(images) if isinstance(images, np.ndarray) else images)
        if images.ndim == 3:
            images = images[None]
        dev = next(self.parameters()).device
        return self.probabilities(images.to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1.0, mirror_average, scales)

    def probabilities(self, x: torch.Tensor, mirror_average: bool = False,
                      scales: tuple[float, ...] = (1.0,)) -> torch.Tensor:
        """(B, 3, H, W) RGB in [-1, 1] -> (B, num_labels, H, W) float32 probabilities (see :meth:`predict`).

        ``scales``: also parse the photos resized by these factors (each size a multiple of 8 with the same
        aspect: 0.875 and 1.125 at 256x192; others shift the labels) and average, at the network's cost times
        the sum of their squares. The pipeline parses at 1.0 alone (the try-on's time budget); 1.0, 0.875 and
        1.125 mirror-averaged reach every IoU target of the parsing issue on the held-out persons (README).
        """
        height, width = x.shape[-2:]
        out = 0
        for scale in scales:
            size = (round(height * scale), round(width * scale))
            xs = x if size == (height, width) else F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            if not mirror_average:
                probs = self(xs).float().softmax(1)
            else:
                both = self(torch.cat([xs, xs.flip(-1)])).float().softmax(1)
                probs = (both[:x.shape[0]] + both[x.shape[0]:, list(MIRRORED_LABELS)].flip(-1)) / 2
            if size != (height, width):
                probs = F.interpolate(probs, size=(height, width), mode="bilinear", align_corners=False)
            out = out + probs
        return out / len(scales)


def smooth_waistline(labels: np.ndarray) -> np.ndarray:
    """``labels`` ((H, W) uint8) with the line where the upper garment meets the trousers or skirt below it made
    smooth. The parser labels a print or a waistband's pattern along that line by spots (a leopard skirt's spots
    taken for the top), and the try-on's hem followed it: a ragged, scalloped edge over the skirt. In each column
    the two are split at the row that leaves the fewest pixels on the wrong side; the split is smoothed across the
    columns (a running median over :data:`WAIST_MEDIAN`, then a Gaussian over :data:`WAIST_SMOOTHING`, both of the
    height), and the pixels of either within :data:`WAIST_BAND` of it on the other's side take the other's label (its
    most frequent one in the column). Columns where one of them is missing are left as they are."""
    height, width = labels.shape
    is_upper, is_lower = np.zeros(256, bool), np.zeros(256, bool)
    # a top or coat over trousers or a skirt (not legs or shoes; nor a dress, which the parser splits into dress and
    # skirt at the waist: the same garment, no hem there)
    is_upper[[UPPER_CLOTHES_LABEL, COAT_LABEL]], is_lower[[9, SKIRT_LABEL]] = True, True
    lower_rows, upper_rows = np.nonzero(is_lower[labels].any(1))[0], np.nonzero(is_upper[labels].any(1))[0]
    if lower_rows.size == 0 or upper_rows.size == 0 or upper_rows[-1] < lower_rows[0]:
        return labels
    # the work is done over the rows where they overlap (no lower label above them, no upper one below: the
    # split's cost outside is the same for every row)
    first, last = max(0, lower_rows[0] - 1), min(height, upper_rows[-1] + 2)
    out = labels.copy()
    out[first:last] = _smooth_waistline(labels, first, last, is_upper, is_lower)
    return out


def _smooth_waistline(whole: np.ndarray, first: int, last: int, is_upper: np.ndarray, is_lower: np.ndarray
                      ) -> np.ndarray:
    """:func:`smooth_waistline` over the rows ``first`` to ``last`` of the window's labels ``whole`` ((H, W)
    uint8); returns those rows. (Each side's label is the one most frequent in the whole column.)"""
    height, width = whole.shape
    labels = whole[first:last]
    upper, lower = is_upper[labels], is_lower[labels]
    both = upper.any(0) & lower.any(0)
    if not both.any():
        return labels
    # per column, the split row r minimising (lower pixels above r) + (upper pixels at or below r)
    lower_above = np.vstack([np.zeros((1, width)), np.cumsum(lower, 0)])
    upper_below = np.vstack([np.cumsum(upper[::-1], 0)[::-1], np.zeros((1, width))])
    cost = lower_above + upper_below
    split = np.argmin(cost, 0).astype(np.float32)
    columns = np.nonzero(both)[0]
    # only where the two meet: the split lies between them (a top's hem over the trousers' waist)
    meets = np.zeros(width, bool)
    band = max(2, round(WAIST_BAND * height))
    rows = np.arange(len(labels))[:, None]
    near = np.abs(rows - split[None]) <= band
    meets[columns] = (upper & near).any(0)[columns] & (lower & near).any(0)[columns]
    columns = np.nonzero(meets)[0]
    if columns.size < 3:
        return labels
    runs = np.split(columns, np.nonzero(np.diff(columns) > 1)[0] + 1)
    smooth = split.copy()
    window = max(3, 2 * round(WAIST_MEDIAN * height / 2) + 1)
    for run in runs:  # each stretch of meeting columns on its own (an arm in front of the waist splits them)
        if run.size < 3:
            continue
        values = split[run]
        padded = np.pad(values, window // 2, mode="edge")
        median = np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
        smooth[run] = cv2.GaussianBlur(median[:, None].astype(np.float32), (1, 0), 0,
                                       sigmaY=max(0.5, WAIST_SMOOTHING * height))[:, 0]
    out = labels.copy()
    for run in runs:
        if run.size < 3:
            continue
        cut = smooth[run][None]
        block, column = labels[:, run], whole[:, run]
        top_label = _most_frequent(column, is_upper[column])
        bottom_label = _most_frequent(column, is_lower[column])
        near_cut = np.abs(rows - cut) <= band
        # only the pixels on the wrong side change, to the other side's label
        out[:, run] = np.where(lower[:, run] & near_cut & (rows < cut), top_label,
                               np.where(upper[:, run] & near_cut & (rows >= cut), bottom_label, block))
    return out


def _most_frequent(labels: np.ndarray, where: np.ndarray) -> int:
    """The most frequent label of ``labels`` over ``where`` (both (H, W))."""
    return int(np.bincount(labels[where].ravel(), minlength=256).argmax())


def fill_garment_holes(probs: torch.Tensor, labels: np.ndarray, image: np.ndarray
                       ) -> tuple[torch.Tensor, np.ndarray]:
    """(K, H, W) probabilities of ``image`` ((H, W, 3) uint8, the framed person) and their (H, W) uint8 argmax
    ``labels``, with the background the parser sees inside a garment made that garment.

    A dark bodice, a black print or a fold's shadow is sometimes parsed as background in the middle of the
    garment; the try-on keeps the photo there (the background is never changed), a hole through the new garment.
    Background that does not touch the image's edge, is surrounded (its outer ring at least
    :data:`HOLE_RING_SHARE` of it) by upper-garment labels (or the neck a neckline shows) and is not the colour of
    the background around the person (farther than :data:`HOLE_WALL_DISTANCE`) becomes the garment label most of
    its ring has: the wall seen between a long sleeve and the body is ringed by the garment too, and stays. Returns
    new arrays (the same ones where nothing is filled).
    """
    count, parts, stats, _ = cv2.connectedComponentsWithStats((labels == 0).astype(np.uint8), connectivity=8)
    if count <= 2:  # the background in one piece: no hole
        return probs, labels
    edge = np.unique(np.concatenate([parts[0], parts[-1], parts[:, 0], parts[:, -1]]))
    outside = np.isin(parts, edge[edge > 0])
    if not outside.any():
        return probs, labels
    wall = np.median(image[outside].reshape(-1, 3), axis=0)
    height, width = labels.shape
    out = None
    for part in np.setdiff1d(np.arange(1, count), edge):
        x, y, w, h = stats[part, :4]
        box = np.s_[max(0, y - 1):min(height, y + h + 1), max(0, x - 1):min(width, x + w + 1)]  # with its ring
        hole = parts[box] == part
        ring = labels[box][(cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~hole]
        garment = np.isin(ring, GARMENT_LABELS)
        if not garment.any() or np.isin(ring, GARMENT_LABELS + (NECK_LABEL,)).mean() < HOLE_RING_SHARE \
                or np.abs(np.median(image[box][hole], axis=0) - wall).max() <= HOLE_WALL_DISTANCE:
            continue
        if out is None:
            out, labels = probs.clone(), labels.copy()
        label, mask = int(np.bincount(ring[garment]).argmax()), parts == part
        out[:, torch.from_numpy(mask)] = 0
        out[label, torch.from_numpy(mask)] = 1
        labels[mask] = label
    return (probs, labels) if out is None else (out, labels)


def mirror_labels(labels: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Label map(s) (..., H, W) of a left-right mirrored photo: flipped along W, left/right labels swapped."""
    table = MIRRORED_LABELS
    if isinstance(labels, torch.Tensor):
        return torch.tensor(table, dtype=labels.dtype, device=labels.device)[labels.long()].flip(-1)
    return np.asarray(table, dtype=labels.dtype)[labels][..., ::-1]


def labels_to_image(labels: np.ndarray) -> Image.Image:
    """(H, W) label map -> palette PNG image with VITON's palette (``np.array(image)`` gives the labels back)."""
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette([c for rgb in PALETTE for c in rgb])
    return image


def guided_upsample(maps: np.ndarray, guide: np.ndarray, radius: int, eps: float = GUIDE_EPS) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) of low-resolution maps with a high-resolution grey guide.

    The filter's linear coefficients are fitted at low resolution (the guide downsampled to the maps' size) and
    upsampled bilinearly, so the cost at high resolution is one multiply-add per map and pixel.

    Args:
        maps: (h, w, K) float32 maps (class probabilities) at low resolution.
        guide: (H, W) float32 grey image in [0, 1] at high resolution.
        radius: box radius at low resolution (pixels).
    Returns:
        (H, W, K) float32 filtered maps.
    """
    h, w = maps.shape[:2]
    big_h, big_w = guide.shape
    g = cv2.resize(guide, (w, h), interpolation=cv2.INTER_AREA)[..., None]
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        out = cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)
        return out if out.ndim == 3 else out[..., None]

    mean_g, mean_p = box(g), box(maps)
    a = (box(g * maps) - mean_g * mean_p) / (box(g * g) - mean_g * mean_g + eps)
    b = mean_p - a * mean_g
    out = _resize(box(a), big_w, big_h)
    out *= guide[..., None]
    out += _resize(box(b), big_w, big_h)
    return out


def _resize(x: np.ndarray, width: int, height: int) -> np.ndarray:
    out = cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR)
    return out if out.ndim == 3 else out[..., None]


def labels_at_photo(probs: torch.Tensor, framing: Framing, photo: Image.Image,
                    max_side: int | None = None, guided: bool = True) -> np.ndarray:
    """Label map at the photo's own resolution from the network's probabilities on its framed window.

    Args:
        probs: (K, 256, 192) probabilities of the framed window (see :meth:`HumanParser.predict`).
        framing: the window of ``photo`` that the network saw.
        photo: the full-resolution RGB photo.
        max_side: filter at most this large (then a nearest resize to the photo); None: at the photo's size.
        guided: False: plain bilinear upsampling of the probabilities (to measure what the guide adds).
    Returns:
        (H, W) uint8 labels of the photo; pixels outside the window are background (0).
    """
    x0, y0, x1, y1 = framing.photo_box()
    labels = np.zeros((photo.height, photo.width), np.uint8)
    if x1 <= x0 or y1 <= y0:
        return labels
    # only labels that win somewhere or come close need filtering (a label below 0.25 everywhere never wins)
    present = torch.nonzero(probs.amax((1, 2)) > 0.25)[:, 0]
    sub = photo.crop((x0, y0, x1, y1))
    out_w, out_h = sub.size
    shrink = 1.0 if max_side is None else min(1.0, max_side / max(out_w, out_h))
    if shrink < 1.0:
        sub = sub.resize((max(1, round(out_w * shrink)), max(1, round(out_h * shrink))), Image.Resampling.BILINEAR)
    guide = np.asarray(sub.convert("L"), dtype=np.float32) / 255.0
    # The probabilities resampled onto a grid over the photo box with about the network's pixel size, exactly
    # aligned: low-resolution pixel centres -> photo coordinates -> network coordinates.
    low_w = max(2, round(out_w / max(framing.scale, 1.0)))
    low_h = max(2, round(out_h / max(framing.scale, 1.0)))
    xs = x0 + (torch.arange(low_w, dtype=torch.float32) + 0.5) * (out_w / low_w)
    ys = y0 + (torch.arange(low_h, dtype=torch.float32) + 0.5) * (out_h / low_h)
    u = (xs - framing.left) / framing.scale / probs.shape[2] * 2 - 1  # grid_sample's [-1, 1], align_corners=False
    v = (ys - framing.top) / framing.scale / probs.shape[1] * 2 - 1
    grid = torch.stack(torch.meshgrid(v, u, indexing="ij")[::-1], -1)[None]
    low = F.grid_sample(probs[present][None].float(), grid, mode="bilinear", padding_mode="border",
                        align_corners=False)[0]
    low = np.ascontiguousarray(low.permute(1, 2, 0).numpy())
    best = _refine(low, guide, present, guided)
    if shrink < 1.0:
        best = cv2.resize(best, (out_w, out_h), interpolation=cv2.INTER_NEAREST)
    labels[y0:y1, x0:x1] = best
    return labels


def labels_in_window(probs: torch.Tensor, window: np.ndarray) -> np.ndarray:
    """Labels of the framed window at the resolution of ``window``, edges refined on it (guided filter).

    Args:
        probs: (K, 256, 192) probabilities of the window (see :meth:`HumanParser.predict`).
        window: (H, W, 3) uint8 the same window of the photo at any 3:4 size (``Framing.crop(photo, (W, H))``).
    Returns:
        (H, W) uint8 labels.
    """
    present = torch.nonzero(probs.amax((1, 2)) > 0.25)[:, 0]
    low = np.ascontiguousarray(probs[present].permute(1, 2, 0).float().numpy())
    guide = cv2.cvtColor(window, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return _refine(low, guide, present, guided=True)


def _refine(low: np.ndarray, guide: np.ndarray, present: torch.Tensor, guided: bool) -> np.ndarray:
    """(h, w, k) probabilities of the labels ``present`` -> (H, W) uint8 labels at the guide's size."""
    if guided:
        filtered = guided_upsample(low, guide, max(1, round(GUIDE_RADIUS)))
    else:
        filtered = _resize(low, guide.shape[1], guide.shape[0])
    return present.numpy().astype(np.uint8)[torch.from_numpy(filtered).argmax(2).numpy()]  # torch: 2x numpy's
