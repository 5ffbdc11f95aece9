"""Off-the-shoulder tops: worn below the shoulders, where the GMM never puts a top.

The GMM learnt on VITON, whose tops (tees, tanks, blouses) all hang from the shoulders, and it puts every top's
upper edge at the base of the neck: an off-the-shoulder blouse or a bandeau came out as a puff-sleeved blouse
covering the shoulders. A garment whose in-shop top edge runs straight across, sleeves included
(:func:`off_the_shoulder`), is moved down (:func:`shoulder_drop`) before the TOM sees it, so that the shoulders
above it stay the photo's own (or, over a tank top, are drawn as the skin they are).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .fit import body_near_hem

STRAIGHT_MEDIAN, STRAIGHT_SLEEVES = 0.06, 0.05  # the straight top edge (off_the_shoulder), in body widths
STRAIGHT_LENGTH = 1.4  # at most this long over its body's width: it hangs from the chest, not the shoulders
STRAIGHT_SPREAD = 1.4  # at least this wide (sleeves or band beyond the body) over its body's width
# Worn, its upper edge crosses the chest below the collarbones and the upper arms: its middle this many shoulder
# widths below the shoulder joints (the armpits are 0.35 below them)
OFF_SHOULDER_DROP = 0.25


def off_the_shoulder(garment: np.ndarray, inside_of_back: Callable[[], np.ndarray]) -> bool:
    """Whether an in-shop garment is an off-the-shoulder top: short and wide (:data:`STRAIGHT_LENGTH`,
    :data:`STRAIGHT_SPREAD`), its top edge straight across, sleeves included: at 9 points from 14% to 86% of its
    width a median of at most :data:`STRAIGHT_MEDIAN` of its body's width below its top, at the outer two at most
    :data:`STRAIGHT_SLEEVES` (a tee's shoulders slope down to its sleeves).

    Measured: the 14 wild garments, an off-the-shoulder blouse and a bandeau with a knot (medians 0.01 and 0.04,
    outer points 0.03 and 0.04), and no other; of 4,500 VITON garments, the 3 off-the-shoulder tops and no other
    (without the spread test, 12 long-sleeved tops cut at the photo's sides and a scoop-neck tee whose inside went
    unfound were taken too).

    Args:
        garment: (H, W) bool its whole mask; inside_of_back: gives (H, W) bool the inside of its back seen through
            its neckline (:func:`vton.garment.inner_back`, ~40 ms: asked only of a short, wide garment).
    """
    if not short_and_wide(garment):
        return False
    front = garment & ~inside_of_back()
    top, _, body = body_near_hem(garment)
    cols = np.nonzero(garment.any(0))[0]
    xs = cols.min() + (np.linspace(0.14, 0.86, 9) * (cols.max() - cols.min())).astype(int)
    if not front[:, xs].any(0).all():
        return False
    rows = (front[:, xs].argmax(0) - top) / body
    return float(np.median(rows)) <= STRAIGHT_MEDIAN and float(rows[[0, -1]].max()) <= STRAIGHT_SLEEVES


def short_and_wide(garment: np.ndarray) -> bool:
    """Whether a garment ((H, W) bool mask) is at most :data:`STRAIGHT_LENGTH` long and at least
    :data:`STRAIGHT_SPREAD` wide over its body's width near the hem (a tee, whose inside back can hide its neck
    hole, is longer; a VITON photo's long-sleeved top cut at its sides has no sleeves beyond its body)."""
    measured = body_near_hem(garment)
    if measured is None:
        return False
    _, length, body = measured
    cols = np.nonzero(garment.any(0))[0]
    return length <= STRAIGHT_LENGTH * body and cols.max() - cols.min() >= STRAIGHT_SPREAD * body


def shoulder_drop(warped: np.ndarray, keypoints: np.ndarray) -> float:
    """How far (px, >= 0) to move a warped off-the-shoulder top down so that its top edge in the middle lies
    :data:`OFF_SHOULDER_DROP` shoulder widths below the shoulder joints (the GMM puts every top's upper edge at the
    base of the neck, as it learnt from VITON's tees and tanks).

    Args:
        warped: (H, W) bool the warped garment; keypoints: (18, 3) COCO-18 in its pixels.
    """
    if (keypoints[[2, 5], 2] <= 0).any():
        return 0.0
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    middle = float(keypoints[[2, 5], 0].mean())
    lo = int(max(0, round(middle - 0.15 * shoulder_width)))
    part = warped[:, lo:int(round(middle + 0.15 * shoulder_width)) + 1]
    has = part.any(0)
    if not has.any():
        return 0.0
    top = float(np.median(part.argmax(0)[has]))
    return max(0.0, float(keypoints[[2, 5], 1].mean()) + OFF_SHOULDER_DROP * shoulder_width - top)
