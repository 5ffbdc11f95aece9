"""What lies under the old garment's sleeves where the new garment does not cover them, drawn at the photo's
resolution: the person's own arms, and the photo's background beside them.

The TOM draws this at 256x192, and upsampled 4-5x into a photo its drawing reads as a blurry ghost of the old
sleeves (old long sleeves, a new short-sleeved top). Here the arms come from the joints (bands along shoulder ->
elbow -> wrist), clipped to the old garment's outline (a sleeve's outline is its arm's), coloured with the skin the
photo shows (arms, neck; the face when they show too little), shaded like a cylinder and given the photo's grain;
what the arms do not fill is the background, inpainted from the photo around the old garment. The torso (from the
shoulders to the hips, widened) stays the TOM's drawing (painted flat, a torso reads as a cut-out), but the bare
skin it draws (a neckline, a midriff) is moved to the person's skin tone (:func:`in_skin_tone`).
"""
from __future__ import annotations

import cv2
import numpy as np

from .representation import ARM_LABELS, NECK_LABEL

UPPER_ARM_RADIUS = 0.13  # radius of the upper arm, as a fraction of the shoulder width (joint to joint)
FOREARM_RADIUS = 0.10
TORSO_WIDEN = (0.10, 0.30)  # the torso's outline beyond the shoulder / hip joints, fraction of their distance
TORSO_ABOVE_SHOULDERS = 0.6  # and above the shoulder joints (the shoulders' tops and the neck), of their width
TORSO_BELOW_HIPS = 0.4  # and below the hip joints, of the shoulders' width
SHADE_DEPTH = 0.22  # a limb's edge is this much darker than its middle
TORSO_RADIUS = 0.35  # the torso darkens towards its sides over this much of the shoulder width
SKIN_NEARBY = 0.25  # bare skin drawn continues the photo's skin within this (of the height); farther, the median
SKIN_EDGE = 0.008  # the photo's skin is sampled this far (of the height) inside its outline
LIGHT_BLUR = 0.03  # the old garment's shading, blurred with this sigma (fraction of the height), lights the skin
LIGHT_RANGE = (0.85, 1.10)
MAX_GRAIN = 3.0  # grey levels: at 256 px the fine detail of skin is mostly edges and JPEG blocks, not grain
SKIN_LABELS = ARM_LABELS + (NECK_LABEL,)
FACE_LABEL = 13
MIN_SKIN_PIXELS = 40
# the share of the TOM's own L*, a*, b* variation kept, and its limits
SHADING_KEPT = (np.array([0.4, 0.3, 0.3], np.float32), np.array([12.0, 5.0, 5.0], np.float32))
INPAINT_SCALE = 4  # the background is inpainted at 1/4 of the resolution (it is smooth; Telea's cost grows with area)
# a strip of the old garment at most this wide (fraction of the height) between the new garment and the background
# is background, not bare skin: the new garment's shoulder is the body's, a few pixels inside the old one's outline
SLIVER_WIDTH = 0.012
# drawn skin meeting the photo's own skin (continue_real_skin): the colours either side are compared over bands this
# wide, averaged along the seam over this much, and the difference fades into the drawn skin over this distance
# (all fractions of the height)
SEAM_WIDTH = 0.006
SEAM_ALONG = 0.02
SEAM_FADE = 0.03
SEAM_COLOUR = 30.0  # RGB distance (0-255) from the drawn skin's colour at the seam within which a pixel is skin
# a piece of the old top below the armpits that the new garment rings (at least this share of the pixels around it)
# and no larger than HOLE_AREA of the height squared is the new garment (garment_in_slivers)
HOLE_RING = 0.9
HOLE_AREA = 0.0025
# worn over the clothes, a piece of the old garment left beside the new one (a dress's strap, a halter neck, the
# inside of a V-neck) is bare skin when it lies mostly above the armpits, is no larger than STRAP_AREA of the height
# squared, and skin borders at least STRAP_SKIN of its outline off the new garment (straps and halters: 0.6-0.98; a
# tee's sleeves around a camisole, bordered by the wall: 0.2-0.3)
STRAP_AREA = 0.02
STRAP_SKIN = 0.5
STRAP_CLOSING = 0.06  # the body's outline is closed over this radius (of the height) across the straps


def body_model(keypoints: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Arms (capsules shoulder -> elbow -> wrist) and torso (shoulders to a little below the hips, widened) as
    (H, W) bool masks.

    Args:
        keypoints: (18, 3) COCO-18 in the same pixels (confidence 0: missing).
    Returns:
        (arms, torso), or None without both shoulders.
    """
    if (keypoints[[2, 5], 2] <= 0).any():
        return None
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    arms = np.zeros((height, width), np.uint8)
    for shoulder, elbow, wrist in ((2, 3, 4), (5, 6, 7)):
        for a, b, radius in ((shoulder, elbow, UPPER_ARM_RADIUS), (elbow, wrist, FOREARM_RADIUS)):
            if keypoints[a, 2] > 0 and keypoints[b, 2] > 0:
                # a band between the joints, round at the elbow and the wrist, cut square at the shoulder (a round
                # cap there would stick out above the shoulder line); past the wrist by half a radius (the cuff)
                r = max(1.0, radius * shoulder_width)
                start, end = keypoints[a, :2].astype(np.float64), keypoints[b, :2].astype(np.float64)
                along = (end - start) / max(1e-6, float(np.linalg.norm(end - start)))
                if b == wrist:
                    end = end + 0.5 * r * along
                side = np.array([-along[1], along[0]]) * r
                band = np.round([start + side, end + side, end - side, start - side]).astype(np.int32)
                cv2.fillConvexPoly(arms, band, 1)
                for centre in (end, start) if a == elbow else (end,):
                    cv2.circle(arms, pixel(centre), int(np.rint(r)), 1, -1)
    right, left = keypoints[2, :2], keypoints[5, :2]
    across = (left - right) / max(shoulder_width, 1e-6)
    if keypoints[8, 2] > 0 and keypoints[11, 2] > 0:
        hip_r, hip_l = keypoints[8, :2], keypoints[11, :2]
    else:  # hips out of the photo: a torso of the usual proportions
        down = np.array([-across[1], across[0]]) * 1.6 * shoulder_width
        hip_r, hip_l = right + down + 0.15 * shoulder_width * across, left + down - 0.15 * shoulder_width * across
    hip_width = float(np.linalg.norm(hip_l - hip_r))
    shoulder_r = right - TORSO_WIDEN[0] * shoulder_width * across
    shoulder_l = left + TORSO_WIDEN[0] * shoulder_width * across
    up = np.array([across[1], -across[0]]) * TORSO_ABOVE_SHOULDERS * shoulder_width  # the shoulders' tops, the neck
    # and below the hip joints: a top's last band, above the waistband, often lies lower
    below = np.array([-across[1], across[0]]) * TORSO_BELOW_HIPS * shoulder_width
    hip_l, hip_r = hip_l + TORSO_WIDEN[1] * hip_width * across, hip_r - TORSO_WIDEN[1] * hip_width * across
    outline = np.array([shoulder_r + up, shoulder_l + up, shoulder_l, hip_l, hip_l + below, hip_r + below, hip_r,
                        shoulder_r])
    torso = np.zeros((height, width), np.uint8)
    cv2.fillPoly(torso, [np.round(outline).astype(np.int32)], 1)
    return arms > 0, torso > 0


def box_around(mask: np.ndarray, margin: float) -> tuple[slice, slice] | None:
    """The slices of ``mask``'s ((H, W) bool) bounding box widened by ``margin`` px (within the image), or None
    when it is empty: the work of the functions below is done there only (a 1024-px photo is ~10x larger)."""
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    if rows.size == 0:
        return None
    m = int(np.ceil(margin))
    return (slice(max(0, rows[0] - m), min(mask.shape[0], rows[-1] + m + 1)),
            slice(max(0, cols[0] - m), min(mask.shape[1], cols[-1] + m + 1)))


def pixel(point: np.ndarray) -> tuple[int, int]:
    """A point's (x, y, ...) as OpenCV's integer pixel (x, y)."""
    return int(np.rint(point[0])), int(np.rint(point[1]))


def _cylinder(region: np.ndarray, radius: float) -> np.ndarray:
    """(H, W) float32 shading in [1 - SHADE_DEPTH, 1] of a rounded body part (a limb): 1 deeper than ``radius``
    inside ``region``, falling like a cylinder's lit profile towards its outline."""
    depth = np.clip(cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3) / max(1.0, radius), 0, 1)
    return (1 - SHADE_DEPTH * (1 - np.sqrt(1 - (1 - depth) ** 2))).astype(np.float32)


def torso_shading(torso: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [1 - SHADE_DEPTH, 1]: the torso ((H, W) bool, :func:`body_model` within the person's
    outline) shaded like a cylinder, darker towards its sides, so bare skin drawn on it is not a flat patch."""
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    # 1 off the torso: the old garment's soft edge past the outline is not darkened (it would show on the wall)
    out = np.ones(torso.shape, np.float32)
    box = box_around(torso, 1)
    if box is not None:
        out[box] = np.where(torso[box], _cylinder(torso[box], TORSO_RADIUS * shoulder_width), np.float32(1))
    return out


def skin_colour(photo: np.ndarray, labels: np.ndarray, exclude: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The person's skin colour and the photo's grain on it, from the skin it shows.

    The median over the arms, the bare neck and torso; over the face when they show too little (it is often made
    up, or lit otherwise). Edges are left out (eroded 2 px): there the parse blends skin with what is beside it.

    Args:
        photo: (H, W, 3) uint8; labels: (H, W) uint8 LIP labels; exclude: (H, W) bool pixels not to sample.
    Returns:
        (RGB float32 (3,), grain: std of the fine detail of the grey values), or None without visible skin.
    """
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = grey - cv2.GaussianBlur(grey, (0, 0), 1.5)
    for group in (SKIN_LABELS, (FACE_LABEL,)):
        region = cv2.erode((np.isin(labels, group) & ~exclude).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if region.sum() >= MIN_SKIN_PIXELS:
            return np.median(photo[region].astype(np.float32), axis=0), float(np.std(detail[region]))
    return None


def under_old_garment(window: np.ndarray, labels: np.ndarray, keypoints: np.ndarray,
                      upper: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """What to show under the old upper garment, where the new garment leaves it uncovered.

    Args:
        window: (H, W, 3) uint8 the framed window of the photo; labels: (H, W) uint8 its labels (guided, see
            :func:`vton.parsing.labels_in_window`); keypoints: (18, 3) COCO-18 in the window's pixels;
        upper: (H, W) float32 in [0, 1], the old upper garment (soft edges).
    Returns:
        (image (H, W, 3) float32 in [0, 255], weight (H, W) float32 in [0, 1]: how much of it replaces the TOM's
        drawing), or None when the joints or the skin are not seen (the TOM's drawing stays).
    """
    height, width = labels.shape
    body = body_model(keypoints, height, width)
    garment = upper > 0.5
    skin = skin_colour(window, labels, garment)
    if body is None or skin is None or not garment.any():
        return None
    arms, torso = body
    colour, grain = skin
    # the arms and the background beside them; the torso stays the TOM's (see the module's docstring)
    weight = (1 - cv2.GaussianBlur(torso.astype(np.float32), (0, 0), 2.0)) * upper
    # the rest is drawn in the box around the sleeves (a fraction of the window: ~5x faster at 1024 px)
    box = box_around(weight > 1e-3, max(4, height // 32))
    if box is None:
        return None
    (y0, y1), (x0, x1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    crop, sleeves = window[box], garment[box]
    small_size = (max(1, (x1 - x0) // INPAINT_SCALE), max(1, (y1 - y0) // INPAINT_SCALE))
    shoulder_width = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    limbs = (arms & ~torso)[box] & sleeves
    shade = _cylinder(limbs, FOREARM_RADIUS * shoulder_width)
    # the light falling on the arms: the old sleeves' own shading, their prints and folds blurred away (at low
    # resolution: it is smooth)
    grey = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32), small_size,
                      interpolation=cv2.INTER_AREA)
    inside = cv2.resize(sleeves.astype(np.float32), small_size, interpolation=cv2.INTER_AREA)
    sigma = LIGHT_BLUR * height / INPAINT_SCALE
    light = cv2.GaussianBlur(grey * inside, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(inside, (0, 0), sigma), 1e-3)
    level = float(np.median(grey[inside > 0.5])) if (inside > 0.5).any() else float(grey.mean())
    light = cv2.resize(np.clip(light / max(1.0, level), *LIGHT_RANGE), (x1 - x0, y1 - y0),
                       interpolation=cv2.INTER_LINEAR)
    # seeded: the same photo and garment give the same try-on
    noise = np.random.default_rng(0).standard_normal(limbs.shape, np.float32) * min(grain, MAX_GRAIN)
    skin_image = np.clip(colour[None, None] * (shade * light)[..., None] + noise[..., None], 0, 255)
    # the background the old sleeves hid, inpainted from the photo around them
    hole = cv2.dilate(cv2.resize(sleeves.astype(np.uint8), small_size, interpolation=cv2.INTER_NEAREST),
                      np.ones((5, 5), np.uint8))
    background = cv2.resize(cv2.inpaint(cv2.resize(crop, small_size, interpolation=cv2.INTER_AREA), hole, 3,
                                        cv2.INPAINT_TELEA), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    body_soft = cv2.GaussianBlur(limbs.astype(np.float32), (0, 0), 1.0)[..., None]
    image = np.zeros((height, width, 3), np.float32)
    image[box] = skin_image * body_soft + background.astype(np.float32) * (1 - body_soft)
    return image, weight.astype(np.float32)


def across_garment(garment: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels of each row from the garment's leftmost to its rightmost pixel (none in rows it
    does not cross)."""
    xs = np.arange(garment.shape[1])[None, :]
    left = np.where(garment, xs, garment.shape[1]).min(1)[:, None]
    right = np.where(garment, xs, -1).max(1)[:, None]
    return (xs >= left) & (xs <= right)


def bare_torso(torso: np.ndarray, upper: np.ndarray, shown: np.ndarray, first_row: int) -> np.ndarray:
    """Where the TOM draws bare torso skin: the old garment on the torso (:func:`body_model`), off the new
    garment, but for the body's sides beside it below the armpits: a top wraps around the body there, and what
    the warp leaves of them (:func:`vton.fit.widen_to_outline`) is the TOM's drawing of the garment. Between a sleeve
    and the body the TOM draws a purple or blue haze that skin replaces more plausibly.

    Args:
        torso: (H, W) bool; upper: (H, W) float32 in [0, 1] the old garment (soft edges); shown: (H, W) float32
            in [0, 1] where the new garment is shown (composition mask times warped mask); first_row: the
            armpits' row (:func:`vton.fit.armpit_row`).
    Returns:
        (H, W) float32 weight in [0, 1].
    """
    garment = shown > 0.5
    sides = garment.any(1)[:, None] & ~across_garment(garment) & (np.arange(len(garment)) >= first_row)[:, None]
    weight = cv2.GaussianBlur(torso.astype(np.float32), (0, 0), 2.0) * upper * (1 - shown) * ~sides
    # a little soft where the rule changes from row to row; softer, the TOM's pale haze shows at the edges
    return cv2.GaussianBlur(weight, (0, 0), 2.0)


def slivers(bare: np.ndarray, shown: np.ndarray, background: np.ndarray, width: float) -> np.ndarray:
    """(H, W) bool: the bare skin of :func:`bare_torso` that lies in a strip at most ``width`` px wide between the
    new garment and the background. Where the new garment's shoulder line is a few pixels inside the old one's
    (the old outline soft from the guided filter, a shoulder seam a little lower), that strip was drawn as skin: a
    pink halo along the shoulders. A bare shoulder beside a strap is wider and stays skin.

    Args:
        bare: (H, W) float32 in [0, 1] (:func:`bare_torso`); shown: (H, W) float32 in [0, 1] the new garment;
        background: (H, W) bool the photo's background, clear of the old garment's soft edge.
    """
    region = bare > 1e-3
    out = np.zeros_like(region)
    box = box_around(region, width + 2)  # beyond it, a distance to either is larger than width
    if box is None or not background[box].any():
        return out
    to_shown = cv2.distanceTransform((shown[box] <= 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    to_background = cv2.distanceTransform((~background[box]).astype(np.uint8), cv2.DIST_L2, 5)
    out[box] = region[box] & (to_shown + to_background <= width)
    return out


def wall_in_slivers(window: np.ndarray, labels: np.ndarray, bare: np.ndarray, old: np.ndarray, shown: np.ndarray,
                    width: float) -> tuple[np.ndarray, np.ndarray]:
    """The strips of ``bare`` at most ``width`` px wide between the new garment and the photo's background
    (:func:`slivers`), and ``window`` with each of their pixels the nearest background pixel's colour
    (:func:`nearest_background`): what is drawn there instead of skin.

    Args:
        window: (H, W, 3) uint8; labels: (H, W) uint8 LIP labels; bare: (H, W) float32 where skin would be drawn;
        old: (H, W) float32 in [0, 1] the old garment; shown: (H, W) float32 in [0, 1] the new garment.
    Returns:
        (strip (H, W) bool, wall (H, W, 3) uint8).
    """
    background = (labels == 0) & (old < 0.05)  # clear of the old garment's soft edge
    strip = slivers(bare, shown, background, width)
    return strip, (nearest_background(window, background, strip, width) if strip.any() else window)


def garment_in_slivers(garment: np.ndarray, labels: np.ndarray, old: np.ndarray, shown: np.ndarray, width: float,
                       first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """The strips of the old garment at most ``width`` px wide between the new garment's side and the arm, below the
    armpits (:func:`slivers`): the new garment goes on across them (each pixel the colour of its nearest pixel).
    Left to the TOM, which draws the old garment there (a top wraps around the body's side), they showed the old top
    as a white or black line along the side, jagged where the side was stretched row by row.

    Args:
        garment: (H, W, 3) the new garment as warped (any dtype); labels: (H, W) uint8 LIP labels;
        old: (H, W) float32 in [0, 1] the old garment; shown: (H, W) float32 in [0, 1] where the new garment shows;
        first_row: the armpits' row (:func:`vton.fit.armpit_row`).
    Returns:
        (strip (H, W) bool, ``garment`` with the strip's pixels filled).
    """
    left = old * (1 - shown)
    left[:first_row] = 0
    strip = slivers(left, shown, np.isin(labels, ARM_LABELS), width) & (left > 0.5)
    strip |= _holes_in(left > 0.5, shown > 0.5, HOLE_AREA * len(labels) ** 2)
    reach = max(width, np.sqrt(HOLE_AREA) * len(labels))  # a hole's pixels lie this close to the garment around it
    return strip, (nearest_background(garment, shown > 0.5, strip, reach) if strip.any() else garment)


def straps_left(old: np.ndarray, shown: np.ndarray, labels: np.ndarray, first_row: int) -> np.ndarray:
    """(H, W) bool: the pieces of the old garment that a garment worn over the clothes leaves bare on the skin: a
    dress's straps above an off-the-shoulder top, a halter neck above a bustier, the inside of a camisole's V above a
    crop top's neckline. Left as photographed, they read as the old clothes showing through (not as a layered
    outfit, as a tee's sleeves around a camisole do); drawn as the skin around them, the outfit is the new top over
    the dress's skirt. The pipeline also asks it for the straps of a tank top or a camisole that an off-the-shoulder
    top replaces (the TOM drew them as flat bands with the tank's outline).

    A piece (8-connected, of the old garment off the new one) qualifies when at least half of it lies above the
    armpits, its area is at most :data:`STRAP_AREA` of the height squared, and the photo's skin (arms, neck, bare
    torso) makes up at least :data:`STRAP_SKIN` of the pixels around it that are not the new garment.

    Args:
        old: (H, W) float32 in [0, 1] the old garment; shown: (H, W) float32 in [0, 1] where the new garment shows;
        labels: (H, W) uint8 LIP labels; first_row: the armpits' row (:func:`vton.fit.armpit_row`).
    """
    height = len(labels)
    left = (old > 0.5) & (shown <= 0.5)
    out = np.zeros_like(left)
    rows = np.nonzero(left[:first_row].any(1))[0]
    if not rows.size:
        return out
    box = (slice(int(rows[0]), height), slice(None))  # (pieces reaching below the armpits are measured whole)
    count, parts = cv2.connectedComponents(left[box].astype(np.uint8), connectivity=8)
    if count < 2:
        return out
    around = _around(parts, ~left[box] & (shown[box] <= 0.5))  # (off the new garment too)
    ring = np.bincount(around.ravel(), minlength=count)
    skin = np.bincount(around[np.isin(labels[box], SKIN_LABELS)].ravel(), minlength=count)
    area = np.bincount(parts.ravel(), minlength=count)
    above = np.bincount(parts[:first_row - box[0].start].ravel(), minlength=count)
    straps = (2 * above >= area) & (area <= STRAP_AREA * height ** 2) & (skin >= STRAP_SKIN * np.maximum(ring, 1))
    straps &= ring > 0
    straps[0] = False
    out[box] = straps[parts]
    return out


def skin_over_straps(window: np.ndarray, labels: np.ndarray, old: np.ndarray, straps: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1]: ``window`` with the straps of :func:`straps_left` drawn as what they hide.

    The skin there continues the photo's skin on either side of them (:func:`skin_nearby`, with the photo's grain;
    its colour moved to meet the real skin without a seam, :func:`seamless`), not the TOM's
    drawing (upsampled from 256x192 and moved to the skin's tone, it showed its own pale and dark bands). Where a
    strap lies beyond the body's outline (over the shoulder's top, on its way to the back), it is the wall.

    Args:
        window: (H, W, 3) uint8; labels: (H, W) uint8 LIP labels; old: (H, W) float32 in [0, 1] the old garment;
        straps: (H, W) bool the pixels to draw (a little wider than :func:`straps_left`'s).
    """
    height = len(labels)
    out = window.astype(np.float32) / 255
    garment = old > 0.5
    skin = skin_colour(window, labels, garment | straps)
    box = box_around(straps, 2 * STRAP_CLOSING * height + 2)
    if skin is None or box is None:
        return out
    colour, grain = skin
    background = (labels == 0) & (old < 0.05) & ~straps
    # the body's outline goes on across the straps as it runs either side of them (closed over a strap's width):
    # the strap's pixels beyond it are the wall it crossed on its way over the shoulder
    person = ((labels > 0) & ~straps).astype(np.uint8)
    size = 2 * round(STRAP_CLOSING * height) + 1
    closed = cv2.morphologyEx(person[box], cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size,) * 2),
                              borderType=cv2.BORDER_REPLICATE) > 0
    wall = np.zeros_like(straps)
    wall[box] = straps[box] & ~closed
    drawn = skin_nearby(window, labels, garment | straps, straps, colour)
    # seeded: the same photo and garment give the same try-on
    noise = np.random.default_rng(0).standard_normal(straps.shape, np.float32) * min(grain, MAX_GRAIN)
    drawn = np.clip(drawn + noise[..., None], 0, 255) / 255
    bare = straps & ~wall
    real = np.isin(labels, SKIN_LABELS) & ~garment & ~straps
    drawn = seamless(drawn, window, bare, real)
    out[bare] = drawn[bare]
    if wall.any():
        out[wall] = nearest_background(window, background, wall, 0.05 * height)[wall].astype(np.float32) / 255
    return out


def _around(parts: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(H, W) int64: the pixels around each piece of ``parts`` (connected-component labels) carrying its label (the
    labels spread one pixel outwards, a grey dilation), 0 off ``where`` ((H, W) bool); count them with bincount."""
    return cv2.dilate(parts.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64) * where


def _holes_in(region: np.ndarray, garment: np.ndarray, max_area: float) -> np.ndarray:
    """(H, W) bool: the pieces of ``region`` of at most ``max_area`` px that the garment rings (at least
    :data:`HOLE_RING` of the pixels around them): between a sleeve and the body, drawn as skin, a piece of the old
    top read as a patch of skin floating on the new garment."""
    box = box_around(region, 2)
    out = np.zeros_like(region)
    if box is None:
        return out
    count, parts = cv2.connectedComponents(region[box].astype(np.uint8), connectivity=8)
    if count < 2:
        return out
    around = _around(parts, ~region[box])
    ring = np.bincount(around.ravel(), minlength=count)
    ringed = np.bincount(around[garment[box]].ravel(), minlength=count)
    area = np.bincount(parts.ravel(), minlength=count)
    holes = (area <= max_area) & (ringed >= HOLE_RING * np.maximum(ring, 1)) & (ring > 0)
    holes[0] = False
    out[box] = holes[parts]
    return out


def nearest_background(image: np.ndarray, background: np.ndarray, region: np.ndarray,
                       reach: float) -> np.ndarray:
    """``image`` ((H, W, 3)) with each pixel of ``region`` ((H, W) bool) the colour of the nearest pixel of
    ``background`` ((H, W) bool), which lies within ``reach`` px of it (:func:`slivers`' width): across a strip a
    few pixels wide the wall goes on."""
    box = box_around(region, reach + 2)
    if box is None or not background[box].any():
        return image
    _, nearest = cv2.distanceTransformWithLabels((~background[box]).astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    sources = np.argwhere(background[box])  # label k is the k-th background pixel in raster order
    rows, cols = sources[nearest[region[box]] - 1].T
    out = image.copy()
    out[box][region[box]] = image[box][rows, cols]
    return out


def skin_nearby(photo: np.ndarray, labels: np.ndarray, exclude: np.ndarray, region: np.ndarray,
                colour: np.ndarray, shading: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 255]: over ``region`` ((H, W) bool), the skin colour that the photo's visible
    skin nearby continues into it (inpainted from the bare neck, torso and arms around it, their shadowed edges left
    out, smoothed); ``colour`` ((3,)) elsewhere and where no skin is near. One median colour for the whole person
    made a neckline a flat patch that met the real neck at a seam (a shadowed neck, a lit chest, a tan line).

    Args:
        photo: (H, W, 3) uint8; labels: (H, W) uint8 LIP labels; exclude: (H, W) bool pixels not to sample (the
            old garment); shading: (H, W) float32 factors (:func:`torso_shading`) applied over ``region``'s
            bounding box (the rest, where nothing is drawn, is left unshaded: a full-size multiply costs ~6 ms at
            1024 px on a 2-core CPU).
    """
    height, width = labels.shape
    out = np.empty((height, width, 3), np.float32)
    out[:] = colour
    box = box_around(region, max(4, height // 16))
    if box is None:
        return out
    (y0, y1), (x0, x1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    scale = int(np.clip(height // 128, 1, INPAINT_SCALE))  # smooth: at 1/4 of the resolution (a 256-px photo: 1)
    small = (max(1, (x1 - x0) // scale), max(1, (y1 - y0) // scale))
    skin = (np.isin(labels[box], SKIN_LABELS) & ~exclude[box]).astype(np.float32)
    skin = cv2.resize(skin, small, interpolation=cv2.INTER_AREA) > 0.99
    edge = max(1, round(SKIN_EDGE * height / scale))  # a limb's edges are in shadow, and blend with what is beside
    skin = cv2.erode(skin.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1,) * 2)) > 0
    if skin.sum() >= max(4, MIN_SKIN_PIXELS // scale ** 2):  # else the person's colour
        crop = cv2.resize(photo[box], small, interpolation=cv2.INTER_AREA)
        filled = cv2.inpaint(crop, (~skin).astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32)
        filled = cv2.GaussianBlur(filled, (0, 0), max(1.0, 0.01 * height / scale))  # its colour, not its detail
        near = cv2.distanceTransform((~skin).astype(np.uint8), cv2.DIST_L2, 3) * scale < SKIN_NEARBY * height
        filled = np.where(near[..., None], filled, colour[None, None].astype(np.float32))
        out[box] = cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    if shading is not None:
        tight = box_around(region, 0)
        out[tight] *= shading[tight][..., None]
    return out


def local_mean(image: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` ((H, W) or (H, W, C)) averaged over ``weight`` ((H, W) bool or float) within a Gaussian of
    ``sigma`` px (a normalised convolution), and the blurred weight (how much of it lies near each pixel)."""
    weight = weight.astype(np.float32)
    spread = cv2.GaussianBlur(weight, (0, 0), sigma)
    per_pixel = (lambda a: a) if image.ndim == 2 else (lambda a: a[..., None])
    total = cv2.GaussianBlur(image * per_pixel(weight), (0, 0), sigma)
    return total / per_pixel(np.maximum(spread, 1e-6)), spread


def continue_real_skin(drawn: np.ndarray, photo: np.ndarray, shows: np.ndarray, real: np.ndarray) -> np.ndarray:
    """The drawn skin's colours shifted to meet the photo's own skin without a step where they touch (a neckline
    drawn below the real neck, the old collar's shadow above it), the shift fading away from that seam.

    The drawn skin's colour comes from the photo's skin a little away from the old garment (:func:`skin_nearby`)
    with the TOM's shading: a few levels lighter or darker than the real skin right at the seam, and the eye finds
    the step as a line along the old neckline.

    Args:
        drawn: (H, W, 3) float32 RGB in [0, 1], the try-on's drawing; photo: (H, W, 3) uint8.
        shows: (H, W) float32 in [0, 1] how much of the drawing shows; real: (H, W) bool where the photo's own
            skin shows.
    Returns:
        (H, W, 3) float32 RGB in [0, 1]: ``drawn`` changed where it shows only.
    """
    height = shows.shape[0]
    region = shows > 0.5
    box = box_around(region, SEAM_FADE * height * 2)
    if box is None or not real[box].any():
        return drawn
    (y0, y1), (x0, x1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    scale = int(np.clip(height // 128, 1, INPAINT_SCALE))  # smooth: computed at 1/4 of the resolution
    small = (max(1, (x1 - x0) // scale), max(1, (y1 - y0) // scale))
    inside, outside = (cv2.resize(m[box].astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0.5
                       for m in (region, real))  # (a neckline's drawn skin can be a strip a few pixels high)
    band = max(1, round(SEAM_WIDTH * height / scale))
    to_inside = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 3)
    to_outside = cv2.distanceTransform((~outside).astype(np.uint8), cv2.DIST_L2, 3)
    near_real, near_drawn = outside & (to_inside <= band), inside & (to_outside <= band)
    if near_real.sum() < 2 or near_drawn.sum() < 2:
        return drawn
    along, full = SEAM_ALONG * height / scale, (x1 - x0, y1 - y0)
    drawn_small = cv2.resize(drawn[box], small, interpolation=cv2.INTER_AREA)
    real_mean, _ = local_mean(cv2.resize(photo[box].astype(np.float32) / 255, small, interpolation=cv2.INTER_AREA),
                               near_real, along)
    drawn_mean, _ = local_mean(drawn_small, near_drawn, along)
    # the step measured along the seam (and the drawn colour there), carried into the drawn skin and faded with the
    # distance from the real skin
    carried, support = local_mean(np.concatenate([real_mean - drawn_mean, drawn_mean], -1), near_drawn, along)
    fade = np.exp(-to_outside / (SEAM_FADE * height / scale)) * (support > 1e-3)
    near = cv2.resize((fade > 0.01).astype(np.uint8), full, interpolation=cv2.INTER_NEAREST) > 0
    if not near.any():
        return drawn
    carried, fade = (cv2.resize(a, full, interpolation=cv2.INTER_LINEAR)[near] for a in (carried, fade))
    step, seam_colour = carried[:, :3], carried[:, 3:]
    # only what is drawn as skin moves (the seam's drawn colour, give or take SEAM_COLOUR), not a white shirt or
    # the wall drawn beside it: moved too, they took a skin-coloured cast
    here = drawn[box][near]
    weight = shows[box][near] * np.clip(2 - np.linalg.norm(here - seam_colour, axis=-1) * 255 / SEAM_COLOUR, 0, 1)
    # near the seam the TOM's own light and dark bands (its blur of the old collar, not shading) are smoothed away
    # too: the mean alone left a pale ridge along the real skin (smooth, so computed at the coarse scale)
    skin = np.zeros(drawn[box].shape[:2], np.float32)
    skin[near] = weight
    skin = cv2.resize(skin, small, interpolation=cv2.INTER_AREA)
    smooth, _ = local_mean(drawn_small, skin, SEAM_WIDTH * height / scale)
    smooth = cv2.resize(smooth, full, interpolation=cv2.INTER_LINEAR)[near]
    moved = here + (smooth - here + step) * fade[:, None]
    out = drawn.copy()
    region_out = out[box]
    region_out[near] = np.clip(here + (moved - here) * weight[:, None], 0, 1)
    return out


def seamless(drawn: np.ndarray, photo: np.ndarray, region: np.ndarray, real: np.ndarray) -> np.ndarray:
    """``drawn`` over ``region`` with its colours moved by the smoothest field that makes them meet the photo's own
    skin exactly where they touch it (a Poisson blend with the photo as the boundary there; along the rest of the
    region's outline, the new garment or the wall, nothing is imposed). Drawn skin is smooth, and the real skin
    beside it has the photo's light: a strap's place drawn in one colour showed as a flat band with an edge on either
    side, however close the colour. The field is harmonic, so it is solved at a quarter of the resolution (its
    boundary values averaged there, the photo's grain with them) and enlarged; the drawing's own detail stays.

    Args:
        drawn: (H, W, 3) float32 RGB in [0, 1]; photo: (H, W, 3) uint8; region: (H, W) bool the pixels drawn;
        real: (H, W) bool where the photo's own skin shows.
    Returns:
        (H, W, 3) float32 RGB in [0, 1]: ``drawn`` changed over ``region`` only.
    """
    height = len(region)
    box = box_around(region, 2 * INPAINT_SCALE)
    if box is None:
        return drawn
    (y0, y1), (x0, x1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    scale = int(np.clip(height // 128, 1, INPAINT_SCALE))
    small = (max(1, (x1 - x0) // scale), max(1, (y1 - y0) // scale))
    inside = cv2.resize(region[box].astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0
    known = (cv2.resize(real[box].astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0.99) & ~inside
    step = (cv2.resize(photo[box].astype(np.float32) / 255, small, interpolation=cv2.INTER_AREA)
            - cv2.resize(drawn[box], small, interpolation=cv2.INTER_AREA))
    # averaged along the seam: a necklace or a mole on the boundary would otherwise run into the drawing as a streak
    near = known & (cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 3) <= 1.5)
    step, _ = local_mean(step, near, SEAM_WIDTH * height / scale)
    field = _harmonic(step, inside, known)
    if field is None:
        return drawn
    out = drawn.copy()
    moved = cv2.resize(field, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out[box] = np.where(region[box][..., None], np.clip(drawn[box] + moved, 0, 1), drawn[box])
    return out


def _harmonic(values: np.ndarray, inside: np.ndarray, known: np.ndarray) -> np.ndarray | None:
    """(H, W, C) float32: the harmonic field over ``inside`` ((H, W) bool) equal to ``values`` ((H, W, C)) on the
    ``known`` pixels next to it and free (zero normal derivative) along the rest of its outline; ``values``
    elsewhere. A piece that touches no known pixel keeps the mean of the known values of all pieces (0 without
    any). None when nothing is inside."""
    from scipy.sparse import coo_matrix  # (imported here: most try-ons never need it, and it is slow to import)
    from scipy.sparse.linalg import spsolve

    ys, xs = np.nonzero(inside)
    if ys.size == 0:
        return None
    height, width = inside.shape
    index = np.full(inside.shape, -1, np.int64)
    index[ys, xs] = np.arange(ys.size)
    rows, cols, diagonal = [], [], np.zeros(ys.size)
    right_side = np.zeros((ys.size, values.shape[2]))
    touched = []
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ny, nx = ys + dy, xs + dx
        valid = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        ny, nx = np.clip(ny, 0, height - 1), np.clip(nx, 0, width - 1)
        neighbour_inside = valid & inside[ny, nx]
        neighbour_known = valid & known[ny, nx] & ~neighbour_inside
        diagonal += neighbour_inside | neighbour_known
        rows.append(np.nonzero(neighbour_inside)[0])
        cols.append(index[ny, nx][neighbour_inside])
        right_side[neighbour_known] += values[ny[neighbour_known], nx[neighbour_known]]
        touched.append(values[ny[neighbour_known], nx[neighbour_known]])
    touched = np.concatenate(touched)
    anchor = touched.mean(0) if len(touched) else np.zeros(values.shape[2])
    # a little pull towards the anchor: a piece with no known neighbour is otherwise singular (a free membrane)
    epsilon = 1e-4
    diagonal += epsilon
    right_side += epsilon * anchor
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    matrix = coo_matrix((np.concatenate([diagonal, -np.ones(rows.size)]),
                         (np.concatenate([np.arange(ys.size), rows]), np.concatenate([np.arange(ys.size), cols]))),
                        shape=(ys.size, ys.size)).tocsc()
    solved = spsolve(matrix, right_side)
    out = values.astype(np.float32).copy()
    out[ys, xs] = np.asarray(solved, np.float32).reshape(ys.size, -1)
    return out


def in_skin_tone(rendered: np.ndarray, weight: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The TOM's drawing of bare skin in the person's skin tone.

    Trained on VITON's mostly light-skinned models, and never shown a bare midriff, the TOM draws a neckline, a
    midriff or a bared shoulder near white or pink whoever the person is. Here its drawing is moved to the skin
    colour the photo shows, in CIELAB, keeping some of its own variation as shading (:data:`SHADING_KEPT`; more
    keeps the dark and pale bands of its blur, which are not shading).

    Args:
        rendered: (H, W, 3) float32 RGB in [0, 1]; weight: (H, W) float32 in [0, 1] (:func:`bare_torso`);
        colour: (3,) RGB in [0, 255] (:func:`skin_colour`), or (H, W, 3) per pixel (:func:`skin_nearby`).
    Returns:
        (H, W, 3) float32 RGB in [0, 1].
    """
    drawn = weight > 0.5
    if drawn.sum() < MIN_SKIN_PIXELS:
        return rendered
    box = box_around(weight > 1e-3, 0)  # the rest is unchanged
    lab = cv2.cvtColor(np.ascontiguousarray(rendered[box]), cv2.COLOR_RGB2LAB)
    colour = (colour[box] if colour.ndim == 3 else colour[None, None]).astype(np.float32) / 255
    skin = cv2.cvtColor(np.ascontiguousarray(colour), cv2.COLOR_RGB2LAB)
    variation = np.clip((lab - lab[drawn[box]].mean(0)) * SHADING_KEPT[0], -SHADING_KEPT[1], SHADING_KEPT[1])
    lab += (skin + variation - lab) * weight[box][..., None]
    out = rendered.copy()
    out[box] = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1)
    return out
