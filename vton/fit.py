"""The new garment fitted to the body at the photo's resolution: its sides reach the old garment's outline.

The GMM's 5x5 TPS often warps a top narrower than the torso it dresses (a plus-size body, a loose old top): between
the new garment's side and the old garment's outline the TOM then draws a pale, blurred frame, pasted into the photo
4-5x enlarged (the most frequent flaw on the wild photos). Below the armpits a top wraps around the body, so there
its sides are stretched sideways, row by row, to the old garment's outline: the garment's outer strip is resampled
wider (the print stays sharp, the centre untouched), by at most :data:`SIDE_REACH` of the height; a side with a
sleeve from the shoulders' tops down. Elsewhere above the armpits (straps, necklines) the garment keeps its shape:
what it leaves uncovered there is skin. The GMM also often warps a tee shorter than the torso, and the TOM paints a
flat band between its hem and the trousers: a hem up to :data:`HEM_REACH` above the old garment's is lowered to it
the same way (a garment ending farther above is cropped by design), and a body warped apart from its long sleeves
is stretched to them. A garment shown shorter than its in-shop proportions say (the TOM keeps a skirt or trousers
over it, as VITON's tucked-in tops taught it, and the GMM squeezes its lower part) is shown down to its designed
length over the hips, its lower part resampled evenly (:func:`lengthen_to_design`).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from .representation import ARM_LABELS, GARMENT_LABELS, HEAD_LABELS, LOWER_BODY_LABELS, NECK_LABEL
from .skin import FOREARM_RADIUS, TORSO_ABOVE_SHOULDERS, body_model, local_mean, pixel

SIDE_REACH = 0.05  # the farthest a side is moved, as a fraction of the window's height
SIDE_STRIP = 0.03  # the width of the garment's outer strip that is stretched over the gap, fraction of the height
ARMPIT_BELOW_SHOULDERS = 0.35  # the armpits lie this far below the shoulder joints, in shoulder widths
SLEEVE_PAST_SHOULDER = 0.1  # a garment reaching this far past a shoulder joint (in shoulder widths) has a sleeve
NECK_HALF_WIDTH = 0.3  # the neckline's columns, either side of the neck joint, in shoulder widths (not raised)
# Beside those columns the raised shoulder comes down to the garment's own edge by this many pixels per column (a
# 45-degree slope) instead of in one step: the step showed as a notch beside the neck.
SHOULDER_TAPER = 1.0
# A sleeve is stretched over the strip of arm beside it (an arm is inside its sleeve) where that strip is at most
# this wide, fraction of the height: wider, it is a forearm raised beside the shoulder, or the sleeve really ends.
# (0.015 until session 23: strips of 1.6-1.9% along a shoulder were covered in some rows and not in others, and the
# sleeve's outline there was a staircase of notches showing skin)
SLEEVE_REACH = 0.02
SLEEVED_SPREAD = 1.25  # a garment whose sleeves spread wider than this times its body (spread_ratio) has sleeves
OUTLINE_RIM = 0.002  # the person's outline taken this much (of the height) wider: its soft rim the labels leave out
HEM_REACH = 0.08  # the farthest the hem is lowered, fraction of the window's height; farther: a cropped garment
HEM_REACH_LONG = 0.15  # the same for a garment whose in-shop photo shows it long (LONG_GARMENT)
LONG_GARMENT = 1.75  # in-shop length over the width of its body (below the sleeves): a tee ~1.8-2.3, a crop top <1.7
HEM_STRIP = 1.5  # the garment's bottom strip stretched over the gap, in multiples of the reach
HEM_BELOW_ARMPITS = 0.3  # a column's bottom is the hem (not a short sleeve's end) this far below the armpits,
# in shoulder widths
TORSO_LABELS = GARMENT_LABELS + (NECK_LABEL,)  # the torso below the armpits: the old top, bare torso skin
SLEEVE_RADIUS = 0.2  # shown_as_warped over the upper arm: this far either side of its bone, in shoulder widths
UNDERARM_CLOSING = 0.08  # underarm_notches: the closing's radius, in shoulder widths
UNDERARM_BOX = 0.35  # and how far from a shoulder joint's column and the armpits' row it looks, in shoulder widths
GAP_AREA = 0.0002  # beyond_arm_gaps: a gap of the wall is at least this (of the height squared) in area
OFF_PERSON = 0.004  # shown_as_warped reaches this far (of the height) past the person's outline
CHEST_ROWS = 0.8  # the chest: from the armpits this far down, in shoulder widths
# Worn, a garment's length over the width of its body near the hem (length_ratio) is about its in-shop one: VITON's
# persons in their own tops (LIP parse) 0.95 times it (median; 10th-90th percentile 0.72-1.49, tucked-in tops the
# shortest). Shown shorter than this share of it, a garment is lengthened (lengthen_to_design); a garment long by
# design (LONG_GARMENT: a tee, which the GMM squeezes most) to VITON's median. Judged blind: a tee at 0.85 still
# read as a crop top on a person in one (wild 61, 62, 76, 78); crop tops at 0.95 read as longer than designed.
DESIGN_LENGTH, DESIGN_LENGTH_LONG = 0.85, 0.95
# widen_over_dress: dips in a dress's side shorter than twice DRESS_CLOSING (of the height) closed, its outline
# smoothed over DRESS_SMOOTHING; a side with less than DRESS_MIN_GAP of dress beside the garment is left as it is
DRESS_CLOSING, DRESS_SMOOTHING, DRESS_MIN_GAP = 0.02, 0.015, 0.004
GAP_SMOOTHING = 2.0  # px at 1024 px high: the Gaussian over which a stretched side's gap varies from row to row
HEM_BELOW_HIPS = 0.2  # the lowest a lengthened hem goes: this far below the hip joints, in shoulder widths


def shown_as_warped(keypoints: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Where the new garment shows as warped whatever the TOM's composition mask says: on the person above the
    armpits and over the upper arms (its shoulders, neckline and short sleeves), but for the photo's forearms and
    hands there; below the armpits, over the torso (the old top and bare torso skin, :data:`TORSO_LABELS`).

    Why: the TOM learnt on VITON pairs, where the garment to compose is the one photographed, and its composition
    mask follows the old garment's outline: a tee tried on a person in a camisole lost its sleeves and shoulders, a
    tee on a tee was cut below the old collar. On the torso it let the old top show through in patches (a black tee
    over a black dress lost half its print). Nothing is in front of a garment's shoulders and sleeves but hair
    (the head, never changed) and a hand or forearm raised there, and in front of the torso but arms, hands and hair,
    which keep their own labels in the parse. Off the person (a warp wider than the shoulders) the TOM's mask stays.

    Args:
        keypoints: (18, 3) COCO-18 in the pixels of ``labels``; labels: (H, W) uint8 LIP labels.
    Returns:
        (H, W) bool; empty without both shoulders.
    """
    height, width = labels.shape
    out = np.zeros((height, width), np.uint8)
    if (keypoints[[2, 5], 2] <= 0).any():
        return out.astype(bool)
    armpits = armpit_row(keypoints, height)
    out[:armpits] = 1
    out[armpits:] = np.isin(labels[armpits:], TORSO_LABELS)
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    out |= _upper_arms(keypoints, out.shape)
    forearms = np.zeros_like(out)
    for elbow, wrist in ((3, 4), (6, 7)):
        if keypoints[elbow, 2] > 0 and keypoints[wrist, 2] > 0:  # the forearm, and the hand past the wrist
            hand = keypoints[wrist, :2] + 0.6 * (keypoints[wrist, :2] - keypoints[elbow, :2])
            cv2.line(forearms, pixel(keypoints[elbow]), pixel(hand), 1,
                     max(1, round(3 * FOREARM_RADIUS * shoulder_width)))
    # and a little off the person: a loose sleeve hangs a few pixels past the arm's outline, and there the TOM's
    # mask, upsampled 4-5x, cut its corners into ragged curves
    shown = (out > 0) & (labels > 0) & ~((forearms > 0) & np.isin(labels, ARM_LABELS))
    # (a pixel less: the outline's soft edge, added later, reaches one more; at the TOM's own size, none)
    reach = round(OFF_PERSON * height) - 1
    if reach < 1:
        return shown
    near = cv2.dilate(shown.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)) > 0
    return shown | (near & (labels == 0))


def beyond_arm_gaps(keypoints: np.ndarray, labels: np.ndarray, sleeved: bool) -> np.ndarray:
    """Where no garment shows: below the armpits, the person's pixels farther from the body's middle than a pixel of
    the wall in their row (the gap between an arm held beside the body and the waist; a gap is a piece of the wall
    of at least :data:`GAP_AREA`); for a garment with sleeves, but over the upper arms.

    Why: a garment warped wider than the waist reached over such a gap onto the forearm beyond it; the wall
    showed in the gap and the garment's side continued on the arm, a notch cut into its hem. A garment wraps the
    torso: nothing of it lies on the far side of the wall. A garment with sleeves keeps them over the upper arms (an
    elbow held out, the wall shows between the arm and the waist below a short sleeve).

    Args:
        keypoints: (18, 3) COCO-18 in the pixels of ``labels``; labels: (H, W) uint8 LIP labels; sleeved: whether
            the garment has sleeves (:func:`spread_ratio`).
    Returns:
        (H, W) bool; empty without both shoulders.
    """
    height, width = labels.shape
    out = np.zeros((height, width), bool)
    if (keypoints[[2, 5], 2] <= 0).any():
        return out
    armpits = armpit_row(keypoints, height)
    hips = keypoints[[8, 11]]
    middle = float(hips[:, 0].mean() if (hips[:, 2] > 0).all() else keypoints[[2, 5], 0].mean())
    xs = np.arange(width)
    # (a speck the parser calls background inside the garment is no gap: it cut rows off the garment, in streaks)
    _, parts, stats, _ = cv2.connectedComponentsWithStats((labels[armpits:] == 0).astype(np.uint8), connectivity=4)
    large = np.nonzero(stats[1:, cv2.CC_STAT_AREA] >= GAP_AREA * height ** 2)[0] + 1
    wall = np.isin(parts, large)
    left = np.where(wall & (xs < middle)[None], xs[None], -1).max(1)
    right = np.where(wall & (xs > middle)[None], xs[None], width).min(1)
    out[armpits:] = ((xs[None] < left[:, None]) | (xs[None] > right[:, None])) & (labels[armpits:] > 0)
    return out & (_upper_arms(keypoints, out.shape) == 0) if sleeved else out


def _upper_arms(keypoints: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8, 1 on a band :data:`SLEEVE_RADIUS` shoulder widths either side of each upper arm's bone
    (shoulder -> elbow joint): where a sleeve lies."""
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    bands = np.zeros(shape, np.uint8)
    for shoulder, elbow in ((2, 3), (5, 6)):
        if keypoints[shoulder, 2] > 0 and keypoints[elbow, 2] > 0:
            cv2.line(bands, pixel(keypoints[shoulder]), pixel(keypoints[elbow]), 1,
                     max(1, round(2 * SLEEVE_RADIUS * shoulder_width)))
    return bands


def underarm_notches(shown: np.ndarray, labels: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(H, W) bool: the notches between a sleeved garment's sleeves and its body around the armpits, on the person.

    Why: laid flat, a tee shows the background in a V between each sleeve and its body; warped onto the person, that
    V lies on the arm or cuts into the sleeve as a slit, and the TOM's drawing showed through it (a torn sleeve, a
    dark notch under the arm). Worn, the sleeve's underside meets the body's side at the armpit: the garment goes on
    across it. Found by closing the shown garment with a disc of :data:`UNDERARM_CLOSING` shoulder widths within
    :data:`UNDERARM_BOX` shoulder widths of each shoulder joint's column and of the armpits' row.

    Args:
        shown: (H, W) bool where the garment shows; labels: (H, W) uint8 LIP labels; keypoints: (18, 3) COCO-18 in
            the same pixels.
    """
    height, width = shown.shape
    out = np.zeros((height, width), bool)
    if (keypoints[[2, 5], 2] <= 0).any():
        return out
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    radius = max(1, round(UNDERARM_CLOSING * shoulder_width))
    reach = round(UNDERARM_BOX * shoulder_width)
    armpits = armpit_row(keypoints, height)
    rows = slice(max(0, armpits - reach), min(height, armpits + reach))
    for joint in (2, 5):
        x = int(round(keypoints[joint, 0]))
        cols = slice(max(0, x - reach), min(width, x + reach))
        part = np.pad(shown[rows, cols], radius, mode="edge")  # (no notches made at the box's edge)
        # closed with a disc (by distance transforms: a large kernel's morphology is ~10x slower)
        grown = cv2.distanceTransform((~part).astype(np.uint8), cv2.DIST_L2, 5) <= radius
        closed = cv2.distanceTransform(grown.astype(np.uint8), cv2.DIST_L2, 5)[radius:-radius, radius:-radius] > radius
        here = labels[rows, cols]
        out[rows, cols] |= closed & ~shown[rows, cols] & (here > 0) & ~np.isin(here, HEAD_LABELS)
    return out


def chest_ratio(garment: np.ndarray, labels: np.ndarray, keypoints: np.ndarray) -> float:
    """How wide the warped garment is at the chest, over the torso's width there (a measure of the warp's fit).

    Per row of the chest (:data:`CHEST_ROWS` below the armpits), the run through the torso's middle of the garment
    and of the torso (the person but head and arms, and but the arms' bands of :func:`vton.skin.body_model` beside
    the torso: old long sleeves are labelled garment); the median of their ratios. The GMM's warps of 76 VITON val
    persons' own garments measure a median 1.03 (quartiles 0.99-1.15).

    Args:
        garment: (H, W) bool the warped garment; labels: (H, W) LIP labels; keypoints: (18, 3) COCO-18, same pixels.
    Returns:
        the ratio; nan where fewer than 3 rows have both.
    """
    height, width = garment.shape
    body = body_model(keypoints, height, width)
    if body is None:
        return float("nan")
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    armpits = armpit_row(keypoints, height)
    torso = (labels > 0) & ~np.isin(labels, ARM_LABELS + HEAD_LABELS) & ~(body[0] & ~body[1])
    middle = int(np.clip(np.rint(keypoints[1, 0] if keypoints[1, 2] > 0 else keypoints[[2, 5], 0].mean()),
                         0, width - 1))
    rows = slice(armpits, min(height, armpits + round(CHEST_ROWS * shoulder_width)))
    columns = np.full(rows.stop - rows.start, middle) if rows.stop > rows.start else np.zeros(0, np.int64)
    garment_widths, torso_widths = (_run_through(mask[rows], columns).sum(1) for mask in (garment, torso))
    both = (garment_widths > 0) & (torso_widths > 0)
    return float(np.median(garment_widths[both] / torso_widths[both])) if both.sum() >= 3 else float("nan")


def armpit_row(keypoints: np.ndarray, height: int) -> int:
    """The row of the armpits, from the COCO-18 shoulders ((18, 3), in the window's pixels); ``height`` (no row)
    without both shoulders."""
    if (keypoints[[2, 5], 2] <= 0).any():
        return height
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    return int(np.clip(keypoints[[2, 5], 1].mean() + ARMPIT_BELOW_SHOULDERS * shoulder_width, 0, height))


def first_rows(garment: np.ndarray, keypoints: np.ndarray) -> tuple[int, int]:
    """The first row from which each side of the garment (left, right in the image) is stretched: the armpits, or
    the tops of the shoulders where the garment has a sleeve on that side (it reaches past the shoulder joint
    just above the armpits, :data:`SLEEVE_PAST_SHOULDER`): a sleeved top covers the shoulders too, a camisole's
    strap does not.

    Args:
        garment: (H, W) bool where the new garment is shown; keypoints: (18, 3) COCO-18 in the same pixels.
    """
    height = garment.shape[0]
    armpits = armpit_row(keypoints, height)
    if armpits >= height:
        return height, height
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    tops = int(max(0, keypoints[[2, 5], 1].min() - TORSO_ABOVE_SHOULDERS * shoulder_width))
    near = garment[max(0, armpits - round(ARMPIT_BELOW_SHOULDERS * shoulder_width)):armpits]
    cols = np.nonzero(near.any(0))[0]
    if cols.size == 0:
        return armpits, armpits
    margin = SLEEVE_PAST_SHOULDER * shoulder_width
    left, right = sorted(keypoints[[2, 5], 0])
    return (tops if cols.min() < left - margin else armpits), (tops if cols.max() > right + margin else armpits)


def _side_gaps(garment: np.ndarray, old: np.ndarray, reach: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side and row: the garment's outermost column, and how many pixels past it are old garment without a
    break (at most ``reach``; 0 in rows without garment)."""
    height, width = garment.shape
    rows = np.arange(height)
    has = garment.any(1)
    out = {}
    for side, step in (("left", -1), ("right", 1)):
        first = np.argmax(garment if side == "left" else garment[:, ::-1], 1)
        edge = np.where(has, first if side == "left" else width - 1 - first, 0)
        gap = np.zeros(height, np.int32)
        if reach > 0 and has.any():  # the old garment at 1..reach px past the edge, in one gather; the gap is its
            # first run
            x = edge[has, None] + step * np.arange(1, reach + 1)[None, :]
            inside = (x >= 0) & (x < width)
            past = np.zeros(x.shape, bool)
            past[inside] = old[np.broadcast_to(rows[has, None], x.shape)[inside], x[inside]]
            gap[has] = np.logical_and.accumulate(past, axis=1).sum(1)
        out[side] = (edge, gap)
    return out


def widen_to_outline(grid: torch.Tensor, garment: np.ndarray, old: np.ndarray, rows_from: tuple[int, int],
                     keypoints: np.ndarray | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """Stretch the garment's sides to the old garment's outline, each side from its first row down.

    With the joints, a side without a sleeve (:func:`first_rows`) that ends on the torso is not stretched over the
    arms (:func:`vton.skin.body_model`): old long sleeves hanging beside the body are arms, and a sleeveless top
    widened over them drew white blocks where the arms are. (A sleeved side kept from reaching the old sleeve's
    outline left notches at the shoulders and strips of skin between the sleeve and the arm.)

    Args:
        grid: (1, H, W, 2) the TPS sampling grid of the garment at the window's resolution.
        garment: (H, W) bool where the new garment is shown; old: (H, W) bool the old upper garment.
        rows_from: the first row stretched on the left and on the right side (:func:`first_rows`).
        keypoints: (18, 3) COCO-18 in the same pixels, or None.
    Returns:
        the grid resampled along x (the same grid where nothing is stretched), and (H, W) bool the pixels the
        garment newly covers.
    """
    height, width = garment.shape
    rows = np.arange(height)
    shown = garment.copy()
    shown[:min(rows_from)] = False
    body = None if keypoints is None else body_model(keypoints, height, width)
    if body is not None:
        limbs = body[0] & ~body[1]
        xs = np.arange(width)[None, :]
        outside = np.zeros_like(old)
        armpits = armpit_row(keypoints, height)
        for (side, (edge, _)), first in zip(_side_gaps(shown, old, 0).items(), rows_from):
            if first < armpits:  # a sleeve on this side: widened to the old sleeve's outline as before
                continue
            on_torso = ~limbs[rows, edge][:, None]
            outside |= on_torso & ((xs < edge[:, None]) if side == "left" else (xs > edge[:, None]))
        old = old & ~(limbs & outside)
    return _stretch_rows(grid, shown, old, (rows >= rows_from[0], rows >= rows_from[1]), height)


def widen_over_dress(grid: torch.Tensor, garment: np.ndarray, dress: np.ndarray, arms: np.ndarray,
                     keypoints: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """Worn over a dress, the garment's sides stretched to the dress's outline below the armpits, down to its hem
    (:func:`widen_to_outline`): a top warped narrower than the body left the dress showing down both sides of the
    torso (6 of the 18 wild try-ons over a dress, both reviewers' main flaw). The outline is made smooth first: its
    dips shorter than :data:`DRESS_CLOSING` along the side closed, the arms taken out (closed across an arm in front
    of the dress, the garment was stretched over it), and its wiggles smoothed over :data:`DRESS_SMOOTHING` (followed,
    the garment's side had steps and notches). A side with less than :data:`DRESS_MIN_GAP` of dress beside it
    (median over its rows) is left as it is: nothing shows there but a stretch's steps.

    Args:
        grid: (1, H, W, 2) the TPS sampling grid at the window's resolution; garment: (H, W) bool where the new
        garment is shown; dress: (H, W) bool the old garment; arms: (H, W) bool the arms' labels; keypoints: (18, 3)
        COCO-18 in the same pixels.
    Returns:
        the grid and (H, W) bool the pixels the garment newly covers, as :func:`widen_to_outline`.
    """
    height = garment.shape[0]
    rows = np.nonzero(garment.any(1))[0]
    armpits = armpit_row(keypoints, height)
    if rows.size == 0 or armpits >= rows[-1]:
        return grid, np.zeros_like(garment)
    closing = 2 * round(DRESS_CLOSING * height) + 1
    outline = cv2.morphologyEx(dress.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((closing, 1), np.uint8)) > 0
    outline &= ~arms
    outline = cv2.GaussianBlur(outline.astype(np.float32), (1, 0), 0, sigmaY=DRESS_SMOOTHING * height) > 0.5
    outline[:armpits] = False
    outline[rows[-1] + 1:] = False
    below = garment.copy()
    below[:armpits] = False
    gaps = _side_gaps(below, outline, max(1, round(SIDE_REACH * height)))
    beside = below.any(1) & outline.any(1)  # (the rows where the dress is: not a hem lowered over the skirt)
    if not beside.any():
        return grid, np.zeros_like(garment)
    first = tuple(armpits if np.median(gap[beside]) >= DRESS_MIN_GAP * height else height
                  for _, gap in gaps.values())
    if min(first) >= height:
        return grid, np.zeros_like(garment)
    return widen_to_outline(grid, garment, outline, first, keypoints)


def close_sleeve_gaps(grid: torch.Tensor, garment: np.ndarray, body: np.ndarray, keypoints: np.ndarray
                      ) -> tuple[torch.Tensor, np.ndarray]:
    """Stretch the body of the garment sideways to its sleeves, below the armpits, where the person fills the gap
    between them. Long sleeves hanging beside the torso are often warped a little apart from the body; the gap
    (the old garment, or the arm under the new sleeve) was painted as a strip of skin or haze along each side.

    Only the body (each row's run of the garment through the torso's middle) moves, through the person's pixels
    that the garment does not cover, at most :data:`SIDE_REACH` of the height, and only where the sleeve lies at
    the gap's end: a break in the person (an arm held away from the body, the background seen between) or an arm
    without a new sleeve beyond it leaves the row as it is.

    Args, returns: as :func:`widen_to_outline`, but ``body``: (H, W) bool the person below the head
    (:func:`body_below_head`); keypoints: (18, 3) COCO-18 in the same pixels.
    """
    height, width = garment.shape
    armpits = armpit_row(keypoints, height)
    none = np.zeros_like(garment)
    if armpits >= height:
        return grid, none
    # the torso's middle in each row: from the neck (or between the shoulders) to between the hips
    top = keypoints[1, :2] if keypoints[1, 2] > 0 else keypoints[[2, 5], :2].mean(0)
    bottom = keypoints[[8, 11], :2].mean(0) if keypoints[[8, 11], 2].min() > 0 else top + (0, height)
    rows = np.arange(height)
    t = np.clip((rows - top[1]) / max(1.0, bottom[1] - top[1]), 0, 1)
    middle = np.clip(np.rint(top[0] + t * (bottom[0] - top[0])), 0, width - 1).astype(np.int64)
    middle_run = _run_through(garment, middle)
    middle_run[:armpits] = False
    if not middle_run.any():
        return grid, none
    # a row's side moves only where its gap ends at the sleeve: an arm that touches the body with a short new
    # sleeve, or none, is the arm, not a gap
    gaps = _side_gaps(middle_run, body & ~garment, max(1, round(SIDE_REACH * height)))
    allowed = []
    for side, step in (("left", -1), ("right", 1)):
        edge, gap = gaps[side]
        beyond = np.clip(edge + step * (gap + 1), 0, width - 1)
        allowed.append((gap > 0) & garment[rows, beyond])
    return _stretch_rows(grid, middle_run, body & ~garment, (allowed[0], allowed[1]), height)


def raise_shoulders(grid: torch.Tensor, garment: np.ndarray, body: np.ndarray, keypoints: np.ndarray,
                    rows_from: tuple[int, int]) -> tuple[torch.Tensor, np.ndarray]:
    """Stretch the top of a sleeved garment's shoulders up to the body's outline: beside the neckline (farther
    than :data:`NECK_HALF_WIDTH` shoulder widths from the neck joint), on the sides with a sleeve (``rows_from``
    above the armpits, :func:`first_rows`), in the columns where the outline lies at most :data:`SIDE_REACH` above
    the garment (an off-shoulder top, far below it, keeps its shape). A tee warped lower than the shoulders left a
    flat block of painted skin on them, or, over a camisole, the bare tops of the shoulders and the straps.

    Args, returns: as :func:`widen_to_outline` (the grid resampled along y), but ``body``: (H, W) bool the person
    below the head (:func:`body_below_head`).
    """
    height, width = garment.shape
    armpits = armpit_row(keypoints, height)
    columns = np.zeros(width, bool)
    if armpits < height:
        neck = keypoints[1, 0] if keypoints[1, 2] > 0 else keypoints[[2, 5], 0].mean()
        half = NECK_HALF_WIDTH * float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
        xs = np.arange(width)
        columns = ((xs < neck - half) & (rows_from[0] < armpits)) | ((xs > neck + half) & (rows_from[1] < armpits))
        reach = max(1, round(SIDE_REACH * height))
        columns &= _side_gaps(garment.T, body.T, reach + 1)["left"][1] <= reach  # "left" of the transposed: up
    if not columns.any():
        return grid, np.zeros_like(garment)
    out, added = _stretch_rows(grid.transpose(1, 2), garment.T, body.T, (columns, np.zeros_like(columns)), height,
                               taper=SHOULDER_TAPER)
    return out.transpose(1, 2).contiguous(), added.T


def cover_arms(grid: torch.Tensor, garment: np.ndarray, body: np.ndarray, keypoints: np.ndarray,
               rows_from: tuple[int, int]) -> tuple[torch.Tensor, np.ndarray]:
    """Stretch the outer side of a sleeve over the strip of arm or shoulder beside it, above the armpits, on the
    sides with a sleeve (``rows_from`` above the armpits, :func:`first_rows`), in the rows where the person's
    outline lies at most :data:`SLEEVE_REACH` beyond it. A sleeve warped a little narrower than the arm left a
    sliver of skin, haloed, along the outside of the shoulder and the upper arm; an arm is inside its sleeve.
    For garments with sleeves only (:func:`spread_ratio`): a tank top is wide enough at the armpits for
    :func:`first_rows` to call it sleeved, and stretched it spilled over the arms.

    Args, returns: as :func:`widen_to_outline`, but ``body``: (H, W) bool the person below the head
    (:func:`body_below_head`).
    """
    height = garment.shape[0]
    armpits = armpit_row(keypoints, height)
    reach = max(1, round(SLEEVE_REACH * height))
    rows = np.arange(height)
    # the labels stop a pixel or two inside the arm's soft outline: that rim stayed, a pale line along the sleeve
    rim = 2 * max(1, round(OUTLINE_RIM * height)) + 1
    body = cv2.dilate(body.astype(np.uint8), np.ones((1, rim), np.uint8)) > 0
    gaps = _side_gaps(garment, body, reach + 1)
    # whether a row's strip is narrow enough, decided on the running median of its neighbours' (a strip about as
    # wide as the reach was covered in every other row)
    window = 2 * reach + 1
    allowed = tuple((rows >= first) & (rows < armpits) & (np.median(np.lib.stride_tricks.sliding_window_view(
        np.pad(gaps[side][1], reach, mode="edge"), window), axis=1) <= reach)
                    for side, first in zip(("left", "right"), rows_from))
    if not (allowed[0].any() or allowed[1].any()):
        return grid, np.zeros_like(garment)
    return _stretch_rows(grid, garment, body, allowed, height, reach=SLEEVE_REACH, taper=SHOULDER_TAPER)


def body_below_head(labels: np.ndarray) -> np.ndarray:
    """(H, W) bool: the person's upper garment, arms and bare neck and torso (the outline a top may reach)."""
    return np.isin(labels, GARMENT_LABELS + ARM_LABELS + (NECK_LABEL,))


def length_ratio(mask: np.ndarray) -> float:
    """The in-shop garment's length over the width of its body near the hem (:func:`body_near_hem`); 0 when the
    middle is not garment there.

    Args:
        mask: (H, W) bool or {0, 1} the garment's mask in its photo.
    """
    measured = body_near_hem(np.asarray(mask) > 0)
    return 0.0 if measured is None else float(measured[1] / measured[2])


def spread_ratio(mask: np.ndarray) -> float:
    """The in-shop garment's widest row in its upper half (the sleeves spread out) over the width of its body near
    the hem (:func:`body_near_hem`); 0 when the middle is not garment there. The 14 wild garments: tees and
    blouses 1.41-2.05, a tank top, a bustier and a halter 0.93-1.09 (:data:`SLEEVED_SPREAD` between).

    Args:
        mask: (H, W) bool or {0, 1} the garment's mask in its photo.
    """
    mask = np.asarray(mask) > 0
    measured = body_near_hem(mask)
    if measured is None:
        return 0.0
    top, length, body = measured
    upper = mask[top:top + length // 2]
    upper = upper[upper.any(1)]
    spans = upper.shape[1] - upper[:, ::-1].argmax(1) - upper.argmax(1)
    return float(spans.max() / body)


def body_near_hem(mask: np.ndarray) -> tuple[int, int, float] | None:
    """The garment's top row, its length, and the width of its body near the hem: the run of garment through the
    middle (long sleeves hanging beside it do not count), median over rows at 75-90% of its height. None when the
    mask ((H, W) bool) is empty or its middle is not garment there."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    top, length = int(rows.min()), int(rows.max() - rows.min() + 1)
    near_hem = mask[[top + int(fraction * length) for fraction in (0.75, 0.8, 0.85, 0.9)]]
    widths = _run_through(near_hem, np.full(len(near_hem), int(np.median(cols)))).sum(1)
    widths = widths[widths > 0]
    return (top, length, float(np.median(widths))) if widths.size else None


def _run_through(mask: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """(R, C) bool: in each row of ``mask`` ((R, C) bool), the run of pixels through column ``middle[r]``
    (between the nearest pixels off the mask either side of it); empty where that column is off the mask."""
    xs = np.arange(mask.shape[1])[None, :]
    left = np.where(~mask & (xs < middle[:, None]), xs, -1).max(1)
    right = np.where(~mask & (xs > middle[:, None]), xs, mask.shape[1]).min(1)
    return (xs > left[:, None]) & (xs < right[:, None]) & mask[np.arange(len(mask)), middle][:, None]


def lower_hem(grid: torch.Tensor, garment: np.ndarray, old: np.ndarray, keypoints: np.ndarray,
              reach: float = HEM_REACH) -> tuple[torch.Tensor, np.ndarray]:
    """Stretch the garment's hem down to the old garment's, where the old garment ends at most ``reach`` (of the
    height) below it: :data:`HEM_REACH`, or :data:`HEM_REACH_LONG` for a garment long by design
    (:func:`length_ratio`). The GMM often warps a tee shorter than the torso; the TOM then paints a flat band of
    skin or blur between the hem and the trousers. A garment whose hem lies farther above the old one's (in most
    of its columns) is cropped by design and keeps its length.

    Args, returns: as :func:`raise_shoulders` (the grid resampled along y; the bottom strip of :data:`HEM_STRIP`
    times the reach is stretched, so the print stays sharp above it).
    """
    height, width = garment.shape
    armpits = armpit_row(keypoints, height)
    none = np.zeros_like(garment)
    if armpits >= height or not garment.any():
        return grid, none
    reach_px = max(1, round(reach * height))
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    bottom = np.where(garment.any(0), height - 1 - np.argmax(garment[::-1], 0), -1)
    columns = bottom > armpits + HEM_BELOW_ARMPITS * shoulder_width
    if not columns.any():
        return grid, none
    gap = _side_gaps(garment.T, old.T, 2 * reach_px)["right"][1]
    if np.median(gap[columns]) > reach_px:
        return grid, none
    out, added = _stretch_rows(grid.transpose(1, 2), garment.T, old.T, (np.zeros_like(columns), columns), height,
                               reach=reach, strip=HEM_STRIP * reach)
    return out.transpose(1, 2).contiguous(), added.T


def lengthen_to_design(grid: torch.Tensor, warped: np.ndarray, shown: np.ndarray, keypoints: np.ndarray,
                       design_ratio: float) -> tuple[torch.Tensor, np.ndarray]:
    """Show a garment as long as it is. On a person whose top was tucked into a skirt or trousers the TOM keeps
    the lower body over the warped garment (VITON's tops are mostly tucked in), and the GMM squeezes a long tee: a
    tee ended at the waistband like a crop top, over a dress at the GMM's length. Its length on the person is
    brought to :data:`DESIGN_LENGTH` (:data:`DESIGN_LENGTH_LONG` for a garment long by design) times its in-shop
    ``design_ratio`` (:func:`length_ratio`) times its width near the hem, at most :data:`HEM_BELOW_HIPS` below
    the hips, its body only (not long sleeves beside it): first what the warp already has below the shown hem,
    then, where the warp ends higher, its rows from :data:`HEM_BELOW_ARMPITS` below the armpits (where a short
    sleeve has ended) down resampled longer, evenly in the garment's own height, so the hem keeps its shape and the
    lower part, which the GMM squeezed most, its in-shop proportions.

    Args:
        grid: (1, H, W, 2) the warp's sampling grid; warped: (H, W) bool the warped garment; shown: (H, W) bool
        where it is shown; keypoints: (18, 3) COCO-18, same pixels; design_ratio: the in-shop length ratio.
    Returns:
        the grid, and (H, W) bool the pixels below the armpits where the garment is now shown and was not.
    """
    height = shown.shape[0]
    none = np.zeros_like(shown)
    # (measured on the largest piece: a speck of the TOM's mask far below the hem put the rows near the "hem"
    # under the garment, and the garment was not lengthened at all)
    measured, warp_measured = body_near_hem(_largest_part(shown)), body_near_hem(_largest_part(warped))
    armpits = armpit_row(keypoints, height)
    if (measured is None or warp_measured is None or design_ratio <= 0 or armpits >= height
            or (keypoints[[8, 11], 2] <= 0).any()):
        return grid, none
    top, length, body = measured
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    lowest = keypoints[[8, 11], 1].mean() + HEM_BELOW_HIPS * shoulder_width
    share = DESIGN_LENGTH_LONG if design_ratio >= LONG_GARMENT else DESIGN_LENGTH
    target = min(top + share * design_ratio * body, lowest, height - 1)
    start = int(np.ceil(armpits + HEM_BELOW_ARMPITS * shoulder_width))
    if target < top + length - 1 + 0.01 * height:
        return grid, none
    hem = warp_measured[0] + warp_measured[1] - 1  # the warp's own hem
    if target > hem + 0.01 * height and hem > start + 1:
        # the GMM squeezes mostly the garment's lower part (a print ends at the hem): the rows from ``start`` to
        # the target sample the garment evenly between what row ``start`` and the hem showed of it; the garment's
        # y along its middle column gives each row's source row
        middle = int(np.median(np.nonzero(warped[hem])[0]))
        shown_y = np.maximum.accumulate(grid[0, start:hem + 1, middle, 1].double().cpu().numpy())
        rows = np.arange(height, dtype=np.float64)
        wanted = shown_y[0] + (rows - start) * (shown_y[-1] - shown_y[0]) / (target - start)
        source = np.interp(wanted, shown_y, np.arange(start, hem + 1, dtype=np.float64))
        # beyond the hem: on at the hem's last step (off the garment, nothing shown)
        source = np.where(wanted > shown_y[-1], hem + (rows - target) * (hem - start) / (target - start), source)
        source = np.where(rows < start, rows, source).clip(0, height - 1)
        low = np.floor(source).astype(np.int64)
        high = np.minimum(low + 1, height - 1)
        weight = torch.from_numpy(source - low).float()[None, :, None, None].to(grid)
        grid = grid[:, low] * (1 - weight) + grid[:, high] * weight
        warped = warped[np.rint(source).astype(np.int64)]
    rows = np.arange(height)[:, None]
    # a warp longer than the target shows to its own hem, but not past the hips; its body only: long sleeves
    # hanging beside it, resampled with it, left their cuffs on the skirt
    body = _run_through(warped, np.full(height, int(round(keypoints[[8, 11], 0].mean()))))
    return grid, warped & body & ~shown & (rows >= start) & (rows <= max(target, min(hem, lowest)))


def _largest_part(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: the largest 8-connected part of ``mask`` ((H, W) bool); empty for an empty mask."""
    count, parts, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    return parts == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def hung_over(longer: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(H, W) bool: the body that a lengthened garment hangs over in the rows it was lengthened into (``longer``,
    from :func:`lengthen_to_design`): the trousers or skirt, a dress, bare torso skin, not the arms. Its sides are
    widened to this outline (:func:`widen_to_outline`): a loose tee hangs over the hips, and a warp narrower than
    them left wedges of the skirt beside its hem."""
    return longer.any(1)[:, None] & np.isin(labels, GARMENT_LABELS + LOWER_BODY_LABELS + (NECK_LABEL,))


def _stretch_rows(grid: torch.Tensor, garment: np.ndarray, old: np.ndarray, allowed: tuple[np.ndarray, np.ndarray],
                  height: int, reach: float = SIDE_REACH, strip: float = SIDE_STRIP,
                  taper: float = 0.0) -> tuple[torch.Tensor, np.ndarray]:
    """The stretch of :func:`widen_to_outline` along the rows of ``garment`` ((R, C) bool), on the left and the
    right side of the rows ``allowed`` ((R,) bool each); ``reach`` and ``strip`` are fractions of ``height``.
    ``taper`` > 0: rows beside the allowed ones move too, ``taper`` px less per row away from them (no step where
    the allowed rows end)."""
    rows_count, width = garment.shape
    reach, strip = max(1, round(reach * height)), max(2, round(strip * height))
    gaps = _side_gaps(garment, old, reach)
    for (_, gap), ok in zip(gaps.values(), allowed):
        measured = gap.copy()
        gap[~ok] = 0
        if taper > 0 and ok.any() and not ok.all():
            # max over rows j of gap[j] - taper * |i - j|: running maxima from either end
            slope = taper * np.arange(len(gap), dtype=np.float32)
            ramp = np.maximum(np.maximum.accumulate(gap + slope) - slope,
                              np.maximum.accumulate((gap - slope)[::-1])[::-1] + slope)
            gap[~ok] = np.minimum(measured, np.floor(ramp)).astype(gap.dtype)[~ok]
    added = np.zeros((rows_count, width), bool)
    out = grid.clone()
    for side, (edge, gap) in gaps.items():
        # the gap varies smoothly down the side (no jagged outline): a row moves at most 1 px more than its
        # neighbourhood's mean, never past the outline it measured
        # (the mean over the garment's rows only: the rows past its hem, counted as no gap, pulled the last rows' gap
        # down, and a widened side ended in a notch at the hem's corner)
        mean, _ = local_mean(gap.astype(np.float32)[:, None], garment.any(1)[:, None], reach / 4)
        gap = np.minimum(gap, mean[:, 0] + 1)
        rows = np.nonzero(gap > 0)[0]
        if rows.size == 0:
            continue
        # the strip is resampled by a gap that varies smoothly from row to row, in fractions of a pixel (whole-pixel
        # steps between neighbouring rows resampled it by different amounts, and a stripe or a print's edge across
        # them became a sawtooth); the span still ends where the measured gap does (short of it, the old garment
        # or the background showed in dashes; the garment's own edge pixel fills the rest)
        smooth = cv2.GaussianBlur(gap.astype(np.float32)[:, None], (1, 0), 0,
                                  sigmaY=GAP_SMOOTHING * max(height, 256) / 1024)[:, 0]
        e, g = edge[rows].astype(np.float32)[:, None], gap[rows].astype(np.float32)[:, None]
        s = np.maximum(smooth[rows][:, None], 0.5)
        # only the columns a side's stretch can reach (a fraction of the width: most of the time of a try-on's fit
        # was spent on the rest)
        if side == "left":  # target [e - g, e + strip) samples source [e, e + strip)
            c0, c1 = max(0, int((e - g).min())), min(width, int((e + strip).max()) + 1)
            xs = np.arange(c0, c1, dtype=np.float32)[None, :]
            span = (xs >= e - g) & (xs < e + strip)
            source = np.where(span, np.maximum(e + (xs - (e - s)) * strip / (strip + s), e), xs)
            added[rows, c0:c1] |= span & (xs < e)
        else:  # target (e - strip, e + g] samples source (e - strip, e]
            c0, c1 = max(0, int((e - strip).min())), min(width, int((e + g).max()) + 1)
            xs = np.arange(c0, c1, dtype=np.float32)[None, :]
            span = (xs > e - strip) & (xs <= e + g)
            source = np.where(span, np.minimum(e - (e + s - xs) * strip / (strip + s), e), xs)
            added[rows, c0:c1] |= span & (xs > e)
        # the grid at the fractional source columns (linear along x), written where the side's span is (the other
        # side's, written before, stays)
        x0 = np.clip(np.floor(source), 0, width - 1).astype(np.int64)
        x1 = np.minimum(x0 + 1, width - 1)
        frac = torch.from_numpy(source - x0).to(grid)[..., None]
        index = torch.from_numpy(rows).to(grid.device)[:, None]
        x0, x1 = torch.from_numpy(x0).to(grid.device), torch.from_numpy(x1).to(grid.device)
        sampled = grid[0, index, x0] * (1 - frac) + grid[0, index, x1] * frac
        columns = torch.arange(c0, c1, device=grid.device)[None, :]
        out[0, index, columns] = torch.where(torch.from_numpy(span).to(grid.device)[..., None], sampled,
                                             out[0, index, columns])
    return out, added
