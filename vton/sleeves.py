"""Long sleeves laid along the arms: the GMM's 5x5 TPS cannot bend a sleeve at the elbow.

A long sleeve hangs beside the body in an in-shop photo; the TPS moves it with the garment's body, so it lands
beside a bent or held-out arm, or half on the torso beside a hanging one, and the try-on (which shows the garment on
the person, and on the forearms only where the TOM's mask says) dropped it: a long-sleeved blouse became a vest.
Here each long sleeve of the flat garment is found (:func:`long_sleeves`) and laid on its arm's pixels in the parse,
bare or in an old sleeve (:func:`sleeve_on_arm`): the sleeve's axis, from the garment's shoulder corner to the middle
of its cuff, maps onto the arm's bones, shoulder -> elbow -> wrist, by arc length, and the arm's width onto the
sleeve's, so the sleeve bends at the elbow, covers the arm from edge to edge and ends at the wrist (a 3/4 sleeve
earlier, by its length). The seam with the TPS warp is the arm's outline, and near the shoulder the TPS warp stays
where it shows the garment (it fits the shoulder seam).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .gmm import warp
from .representation import GARMENT_LABELS
from .skin import body_model

SLEEVE_MARGIN = 0.02  # a sleeve lies this far (of the garment's width) outside the body's columns at the hem
SLEEVE_TOP = 0.15  # and below this share of the garment's length (above it, the shoulders)
LONG_SLEEVE_END = 0.55  # a sleeve ending lower than this share of the garment's length is long
FULL_SLEEVE = 8.0  # a sleeve this many times as long as wide reaches the wrist (long sleeves: 8.2-9.3; 3/4: 5.0-5.8)
LONG_SLEEVE_ELONGATION = 3.0  # and at least this many times as long as wide (long and 3/4 sleeves: 5.0-9.3 on
# the wild and VITON garments looked at; a cropped tee's short sleeves and a bandeau's ruffles: 1.4-1.9)
SLEEVE_MIN_AREA = 0.01  # of the garment's area
SHOULDER_BAND = 0.12  # the shoulder corner: the outermost garment pixel in this top share of its length
TPS_SLEEVE_FROM = 0.35  # the TPS warp's sleeve below this share of its axis is taken out off the person
TPS_SHOULDER = 0.25  # of the arm's length from the shoulder: where the TPS warp shows the garment, it stays
ARM_BINS = 20  # the arm's width is measured in this many equal parts of its length
SPREAD_FALLBACKS = (0.6, 0.3, 0.0)  # where the arm's edge samples off the sleeve: nearer its axis
SLEEVE_MASK_INSIDE = 0.95  # a sample is on the sleeve where its mask is this high: not its pale fringe
SLEEVE_INSIDE = 0.85  # the arm's edges sample the sleeve this far out from its axis (of its half-width): inside it


@dataclass(frozen=True)
class Sleeve:
    """One long sleeve of a flat garment, in the pixels of its mask: the shoulder corner and the cuff's middle
    ((x, y)), the half-width across the axis between them, and the sleeve's part below :data:`TPS_SLEEVE_FROM` of
    the axis (which the TPS warp lays beside a bent arm)."""

    shoulder: np.ndarray
    cuff: np.ndarray
    half_width: float
    lower: np.ndarray


def long_sleeves(mask: np.ndarray) -> dict[str, Sleeve]:
    """The long sleeves of a garment photographed flat.

    The body's columns are its run through the middle near the hem (75-90% of its length); a sleeve is the largest
    part of the garment outside them (by :data:`SLEEVE_MARGIN`) below the shoulders, and long when it reaches below
    :data:`LONG_SLEEVE_END` of the garment's length (short sleeves and straps end above) and is
    :data:`LONG_SLEEVE_ELONGATION` times as long as wide.

    Args:
        mask: (H, W) bool the garment in its framed photo.
    Returns:
        {'left': Sleeve, 'right': Sleeve} for the sides (in the image) with a long sleeve; empty for none.
    """
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return {}
    top, length = ys.min(), ys.max() - ys.min() + 1
    middle = int(np.median(xs))
    lefts, rights = [], []
    for row in (top + int(f * length) for f in (0.75, 0.8, 0.85, 0.9)):
        if mask[row, middle]:
            off = np.flatnonzero(~mask[row])
            lefts.append(off[off < middle][-1] + 1 if (off < middle).any() else 0)
            rights.append(off[off > middle][0] if (off > middle).any() else width)
    if not lefts:
        return {}
    body_left, body_right = np.median(lefts), np.median(rights)
    columns = np.arange(width)[None, :]
    ys_all, xs_all = np.mgrid[0:height, 0:width]
    shoulders = ys <= top + SHOULDER_BAND * length
    out = {}
    for side in ("left", "right"):
        outside = (columns < body_left - SLEEVE_MARGIN * width) if side == "left" else (
            columns > body_right + SLEEVE_MARGIN * width)
        candidate = mask & outside
        candidate[:top + int(SLEEVE_TOP * length)] = False
        count, parts, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
        if count <= 1:
            continue
        part = parts == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        py, px = np.nonzero(part)
        if py.max() < top + LONG_SLEEVE_END * length or part.sum() < SLEEVE_MIN_AREA * mask.sum():
            continue
        low = py >= np.percentile(py, 95)
        cuff = np.array([px[low].mean(), py[low].mean()])
        corner = xs[shoulders].min() if side == "left" else xs[shoulders].max()
        shoulder = np.array([corner, ys[shoulders][xs[shoulders] == corner].mean()], np.float64)
        axis = (cuff - shoulder) / max(1e-6, float(np.linalg.norm(cuff - shoulder)))
        across = (np.stack([px, py], 1) - shoulder) @ np.array([-axis[1], axis[0]])
        # the axis through the sleeve's middle: the corner is on its outer edge
        shoulder = shoulder + float(np.median(across)) * np.array([-axis[1], axis[0]])
        half_width = float(np.percentile(np.abs(across - np.median(across)), 95))
        if np.linalg.norm(cuff - shoulder) < LONG_SLEEVE_ELONGATION * 2 * half_width:
            continue  # a short sleeve or a ruffle on a cropped garment (it too ends low on a short garment)
        if half_width < 1:
            continue  # a line along the axis, not a sleeve (and no width to lay it by)
        along = ((np.stack([xs_all, ys_all], -1) - shoulder) @ (cuff - shoulder)) / float(
            (cuff - shoulder) @ (cuff - shoulder))
        out[side] = Sleeve(shoulder, cuff, half_width, part & (along >= TPS_SLEEVE_FROM))
    return out


def arm_coordinates(arm: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel's place along an arm's bones: how far down (0 at the shoulder, 1 at the wrist, by arc length),
    how far across (signed pixels from the nearer bone, positive to the bone's left as it runs down), and whether
    it lies past either end: above the shoulder joint (the shoulder's cap) or past the wrist (the hand).

    Args:
        arm: (3, 2) shoulder, elbow and wrist (x, y) in pixels; size: the image (W, H).
    Returns:
        along, across (H, W) float32 and beyond (H, W) bool.
    """
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    points = np.stack([xs, ys], -1)
    arm = arm.astype(np.float32)
    lengths = [float(np.linalg.norm(arm[i + 1] - arm[i])) for i in (0, 1)]
    total = max(1e-6, sum(lengths))
    best = np.full((height, width), np.inf, np.float32)
    along = np.zeros((height, width), np.float32)
    across = np.zeros((height, width), np.float32)
    for i, bone in enumerate(lengths):
        direction = (arm[i + 1] - arm[i]) / max(1e-6, bone)
        offset = points - arm[i]
        t = np.clip(offset @ direction, 0, bone)
        distance = np.linalg.norm(offset - t[..., None] * direction, axis=-1)
        nearer = distance < best
        best = np.where(nearer, distance, best)
        along = np.where(nearer, (sum(lengths[:i]) + t) / total, along)
        across = np.where(nearer, offset @ np.array([-direction[1], direction[0]], np.float32), across)
        if i == 0:
            above = offset @ direction < 0
    # (the last bone drawn is the forearm: ~nearer is the upper arm) above the shoulder joint every pixel would map
    # to the sleeve's top row (streaks, where the garment's shoulder fits anyway); past the wrist, to the cuff
    beyond = (~nearer & above) | ((points - arm[2]) @ ((arm[2] - arm[1]) / max(1e-6, lengths[1])) > 0)
    return along, across, beyond


def sleeve_on_arm(sleeve: Sleeve, arm: np.ndarray, on_arm: np.ndarray, shown: np.ndarray,
                  garment_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``sleeve`` covers an arm, and the sampling grid that lays it there.

    The sleeve's axis (shoulder corner to cuff) maps onto the arm's bones by arc length: a sleeve as long as
    :data:`FULL_SLEEVE` times its width reaches the wrist, a shorter one (3/4) as far down the arm as its length says.
    Across, the arm's own width at each point (the 95th percentile of its pixels' distance from the bones, in each
    of :data:`ARM_BINS` parts of its length) maps to the sleeve's: the sleeve covers the arm from edge to edge, as a worn sleeve
    does, and never samples the background beside the flat sleeve.

    Args:
        sleeve: from :func:`long_sleeves`, in the pixels of a mask of ``garment_size`` (W, H).
        arm: (3, 2) shoulder, elbow and wrist (x, y) in the window's pixels.
        on_arm: (H, W) bool the arm's pixels (bare or in an old sleeve); shown: (H, W) bool where the TPS warp's
            garment shows: down to :data:`TPS_SHOULDER` of the arm it stays there (it fits the shoulder; the flat
            sleeve's slanted top, laid there, sampled its pale outline).
    Returns:
        centre, spread (H, W, 2) float32: the sampling grid (normalised for ``grid_sample`` with
        ``align_corners=True``) is ``centre + spread``, the sleeve's axis plus the offset across it (scaled down
        where that falls off the flat sleeve: its slanted top); laid (H, W) bool, the arm's pixels the sleeve covers
        (not the hand past the wrist).
    """
    height, width = on_arm.shape
    along, across, beyond = arm_coordinates(arm, (width, height))
    axis = sleeve.cuff - sleeve.shoulder
    reach = min(1.0, float(np.linalg.norm(axis)) / (2 * sleeve.half_width) / FULL_SLEEVE)
    laid = on_arm & (along <= reach) & ~beyond & ~(shown & (along < TPS_SHOULDER))
    bins = np.clip((along * ARM_BINS).astype(np.int64), 0, ARM_BINS - 1)
    half = np.zeros(ARM_BINS, np.float32)
    for b in range(ARM_BINS):
        values = np.abs(across[laid & (bins == b)])
        half[b] = np.percentile(values, 95) if values.size >= 5 else np.nan
    if np.isnan(half).all():
        return np.zeros((height, width, 2), np.float32), np.zeros((height, width, 2), np.float32), laid & False
    filled = np.flatnonzero(~np.isnan(half))
    half = np.interp(np.arange(ARM_BINS), filled, half[filled])
    half_here = np.interp(along * ARM_BINS - 0.5, np.arange(ARM_BINS), half).astype(np.float32)
    direction = axis / max(1e-6, float(np.linalg.norm(axis)))
    normal = np.array([-direction[1], direction[0]])
    spread = np.clip(across / np.maximum(half_here, 1.0), -1, 1) * SLEEVE_INSIDE * sleeve.half_width
    centre = sleeve.shoulder[None, None] + (along / reach)[..., None] * axis[None, None]
    scale = 2 / (np.array(garment_size, np.float64) - 1)  # garment pixels -> grid_sample's [-1, 1]
    offset = spread[..., None] * normal[None, None] * scale
    return (centre * scale - 1).astype(np.float32), offset.astype(np.float32), laid


def lay_sleeves(sleeves: dict[str, Sleeve], keypoints: np.ndarray, labels: np.ndarray, grid: torch.Tensor,
                garment: torch.Tensor, garment_mask: torch.Tensor, sleeves_size: tuple[int, int], warped: torch.Tensor,
                warped_mask: torch.Tensor, comp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The try-on's garment with its long sleeves laid along the arms (:func:`sleeve_on_arm`).

    The sleeve in the image's left goes on the person's right arm (COCO-18 joints 2, 3, 4, LIP label 15: a person
    facing the camera), the other on the left (5, 6, 7, label 14). An arm without all three joints keeps the TPS
    warp. On the arm's pixels (of an arm held across the body too: its own, not the belly behind it; and the old
    garment's within the arm's band of :func:`vton.skin.body_model`, off the torso: an old sleeve) the laid sleeve
    replaces the TPS warp's garment (the seam is the arm's outline: where it meets the garment's body, or the old
    sleeve's hem) and shows whatever the TOM's composition mask says (as :func:`vton.fit.shown_as_warped`); the TPS
    warp's own sleeve below the shoulders is taken out off the person (it hangs beside the arm, in the air).

    Args:
        sleeves: :func:`long_sleeves` of the garment's mask at ``sleeves_size`` (W, H).
        keypoints: (18, 3) COCO-18 in the window's pixels; labels: (H, W) LIP labels of the window.
        grid: (1, H, W, 2) the TPS warp's sampling grid; garment: (1, 3, Hg, Wg) the framed garment in [-1, 1],
            garment_mask: (1, 1, Hg, Wg) its mask in [0, 1].
        warped: (1, 3, H, W) the garment warped with ``grid``; warped_mask, comp: (1, 1, H, W) in [0, 1].
    Returns:
        warped, warped_mask and comp with the sleeves laid.
    """
    on_person = torch.from_numpy((labels > 0).astype(np.float32)).to(comp)[None, None]
    height, width = labels.shape
    bands = body_model(keypoints, height, width)
    middle = keypoints[[2, 5], 0].mean()
    for side, sleeve in sleeves.items():
        joints, label = ([2, 3, 4], 15) if side == "left" else ([5, 6, 7], 14)
        if (keypoints[joints, 2] <= 0).any():
            continue
        # the arm's pixels: bare, or in an old sleeve (the old garment within the arm's band, off the torso), which a
        # long sleeve covers too, worn over the clothes or not (a floral blouse over a red long-sleeved top kept
        # the red sleeves)
        on_arm = labels == label
        if bands is not None:
            on_side = np.arange(width)[None, :] < middle if side == "left" else np.arange(width)[None, :] >= middle
            on_arm |= np.isin(labels, GARMENT_LABELS) & bands[0] & ~bands[1] & on_side
        if not on_arm.any():
            continue
        # worked out in the arm's box (a tenth of a full-length photo's pixels, and as much of the time)
        ys, xs = np.nonzero(on_arm)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        shown = (comp * warped_mask)[0, 0][box].cpu().numpy() >= 0.5
        arm = keypoints[joints, :2] - np.array([xs.min(), ys.min()], np.float32)
        centre, spread, laid = sleeve_on_arm(sleeve, arm, on_arm[box], shown, sleeves_size)
        if not laid.any():
            continue
        centre, spread = (torch.from_numpy(a)[None].to(grid) for a in (centre, spread))
        # where the arm's edge falls off the flat sleeve (its top is slanted to the shoulder seam), sampled nearer
        # its axis: the garment photo's background showed as white patches on the shoulders
        sleeve_warp = centre + spread
        for fraction in SPREAD_FALLBACKS:
            outside = (warp(garment_mask, sleeve_warp, "zeros") < SLEEVE_MASK_INSIDE).permute(0, 2, 3, 1)
            sleeve_warp = torch.where(outside, centre + fraction * spread, sleeve_warp)
        laid &= (warp(garment_mask, sleeve_warp, "zeros") >= SLEEVE_MASK_INSIDE)[0, 0].cpu().numpy()
        lower = warp(torch.from_numpy(sleeve.lower.astype(np.float32)).to(comp)[None, None], grid, "zeros")
        warped_mask = warped_mask * (1 - lower * (1 - on_person))
        # softened over about a pixel, inwards only: the arm's outline is the person's
        soft = torch.from_numpy(cv2.GaussianBlur(laid.astype(np.float32), (0, 0), 1.0) * laid).to(comp)[None, None]
        warped, warped_mask, comp = warped.clone(), warped_mask.clone(), comp.clone()
        warped[(..., *box)] = warped[(..., *box)] * (1 - soft) + warp(garment, sleeve_warp, "border") * soft
        warped_mask[(..., *box)] = torch.maximum(warped_mask[(..., *box)], soft)
        comp[(..., *box)] = torch.maximum(comp[(..., *box)], soft)
    return warped, warped_mask, comp

