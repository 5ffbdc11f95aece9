"""In-shop garment photos: the garment mask (automatic, a user mask, or the image's alpha) and 3:4 framing."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from .errors import InputError
from .image_io import NET_HEIGHT, NET_WIDTH, Framing, load_image
from .off_shoulder import off_the_shoulder
from .sleeves import long_sleeves

# Lab distance from the background colour above which a pixel is garment for the strict mask (right for coloured
# garments: its outline is the garment's).
BACKGROUND_DISTANCE = 6.0
# The loose mask, for garments of nearly the background's colour (white on white, which the strict one loses but
# for the print): the threshold is the background's own noise (99th percentile of the border's distances) times
# NOISE_FACTOR plus NOISE_OFFSET, at least LOOSE_MIN; strong colour edges (gradient above EDGE_FACTOR x 2 units) seal
# the outline, and the outline is moved onto the photo's edge (:func:`snap_to_edges`) because so low a threshold
# also takes in JPEG ringing beside the garment.
LOOSE_MIN, NOISE_FACTOR, NOISE_OFFSET = 1.2, 1.5, 0.8
EDGE_FACTOR = 4.0
EDGE_BAND = 0.012  # the outline is moved onto the photo's edge within this share of the image size
# The loose mask's outline, snapped to a faint edge, wiggles along it (a white tee's sleeves came out ragged, worn):
# smoothed over this share of the image's size
OUTLINE_SMOOTHING = 0.005
# The loose mask replaces the strict one when the strict one has less than this share of its area.
STRICT_SHARE = 0.9
SLEEVE_GAP_SIDES, SLEEVE_GAP_AREA = 0.3, 0.002  # see _sleeve_gaps; the area as a share of the image
MIN_GARMENT_FRACTION = 0.02  # a mask smaller than this share of the image means no garment was found
# A "garment" photo whose masked region has a person's nose (MediaPipe pose) in its top PERSON_NOSE_TOP is a photo
# of a person. Measured: the nose of 33 person photos lies at 0.00-0.21 of their mask's height; a tee with a
# photo of a face printed on it at 0.50.
PERSON_NOSE_TOP = 0.25
# The inside of the back that an in-shop photo shows through the neckline (a grey lining, a label, the back collar):
# the region of the seed colour (within INNER_BACK_DELTA_E, CIELAB) just under the middle of the garment's top edge,
# accepted when it is small (< INNER_BACK_AREA of the garment, reaching less than INNER_BACK_DEPTH of the garment's
# width below the top edge), away from the garment's sides (INNER_BACK_SIDES of its width) and of another colour
# than the front just below it; else (a turtleneck, a tee whose inside is its outside's colour) nothing is found.
INNER_BACK_DELTA_E = 10.0
INNER_BACK_AREA = 0.12
INNER_BACK_DEPTH = 0.45
INNER_BACK_SIDES = 0.1
# A collar trimmed in a colour of its own: the front collar is lit, the back one in the neckline's shade, so the
# trim's colour matches within TRIM_DELTA_E with lightness differences counted at TRIM_LIGHTNESS_WEIGHT (a yellow
# ribbed collar: L 58 at the back, 86 at the front, a and b within 9).
TRIM_DELTA_E = 15.0
TRIM_LIGHTNESS_WEIGHT = 0.25
TRIM_ROWS = 3  # a trim is at most this many times 1% of the height tall at the back (the seed's first run)
TRIM_INSIDE_MIN = 0.01  # and what it encloses at least this share of the garment (else stray specks of its colour)
# A garment whose inside is the colour of its outside (a black tee): the inside is found by its shade instead
# (:func:`_shaded_inside`), the seed's lightness within SHADE_DELTA_L (CIELAB L), at least SHADE_CONTRAST darker
# than the front below it, its middle within SHADE_CENTRED of the garment's width from the garment's and at least
# SHADE_MIN_WIDTH of that width wide (a neckline; narrower, a label or a stand-up collar's fold). On the 149 VITON
# val garments and the 14 wild ones it finds the inside of 25 that had none found: 23 right, 2 partly.
SHADE_DELTA_L, SHADE_CONTRAST, SHADE_CENTRED, SHADE_MIN_WIDTH = 3.0, 3.0, 0.05, 0.2
INNER_BACK_HEIGHT = 512  # the framed garment's height at which it is found
SLEEVES_SIZE = (round(INNER_BACK_HEIGHT * NET_WIDTH / NET_HEIGHT), INNER_BACK_HEIGHT)  # and its long sleeves


def auto_garment_mask(rgb: np.ndarray) -> np.ndarray:
    """Mask of a garment photographed on a light, plain background.

    1. Background colour: the median of the image's outermost pixels; its noise: the spread of a 3 px border.
    2. Strict mask: pixels farther than BACKGROUND_DISTANCE from it (CIE Lab) are candidates; background is what is
       connected to the border through non-candidates, everything else (white prints, holes inside the garment) is
       garment; small specks are dropped.
    3. Loose mask, the same with a threshold just above the background's noise and the colour edges as candidates,
       outline snapped to the photo's edges. It is used where the strict mask has less than STRICT_SHARE of its
       area: a white or pale garment on a light background, whose strict mask is only its print.

    Args:
        rgb: (H, W, 3) uint8.
    Returns:
        (H, W) bool.
    """
    lab = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32), (3, 3), 0)
    border = np.concatenate([lab[:3].reshape(-1, 3), lab[-3:].reshape(-1, 3), lab[:, :3].reshape(-1, 3),
                             lab[:, -3:].reshape(-1, 3)])
    background = np.median(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]), axis=0)
    distance = np.linalg.norm(lab - background, axis=2)
    strict = _enclosed(distance > BACKGROUND_DISTANCE)
    strict &= ~_sleeve_gaps(strict, distance > BACKGROUND_DISTANCE)
    noise = float(np.percentile(np.linalg.norm(border - background, axis=1), 99))
    threshold = float(np.clip(NOISE_FACTOR * noise + NOISE_OFFSET, LOOSE_MIN, BACKGROUND_DISTANCE))
    gradient = np.sqrt(cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3) ** 2 + cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3) ** 2)
    loose = _enclosed((distance > threshold) | (gradient.sum(2) > EDGE_FACTOR * max(threshold, 2.0)))
    if strict.sum() >= STRICT_SHARE * loose.sum():
        return strict
    return smooth_outline(snap_to_edges(rgb, loose, strict), OUTLINE_SMOOTHING * min(rgb.shape[:2]))


def smooth_outline(mask: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) bool ``mask`` with its outline smoothed: blurred by ``sigma`` px and cut at one half, so wiggles
    shorter than a few sigma go and its shape (sleeves, the gaps beside them) stays."""
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma) > 0.5


def _sleeve_gaps(mask: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """The background between a garment's sleeves and its body that :func:`_enclosed` took in: where a cuff nearly
    touches the hem, sealing faint outlines also seals the gap, and the try-on showed it as a white strip down each
    side. A hole of background colour in ``mask`` is such a gap when the border reaches it through non-candidates
    once the outline is not sealed, it lies in the outer SLEEVE_GAP_SIDES of the garment's width and it is at least
    twice as tall as wide. On 1,000 VITON garments 94% of such holes are background in the dataset's cloth-mask too
    (holes elsewhere: white prints, 19%).

    Args:
        mask: (H, W) bool the garment (:func:`_enclosed`); candidate: (H, W) bool pixels not of background colour.
    Returns:
        (H, W) bool the gaps.
    """
    outside = _reached_from_border(~candidate)
    count, parts, stats, centres = cv2.connectedComponentsWithStats((mask & ~candidate).astype(np.uint8),
                                                                    connectivity=4)
    xs = np.nonzero(mask.any(0))[0]
    gaps = np.zeros_like(mask)
    for k in range(1, count):
        part = parts == k
        side = (centres[k][0] - xs[0]) / max(1, xs[-1] - xs[0])
        if (stats[k, cv2.CC_STAT_AREA] >= SLEEVE_GAP_AREA * mask.size and min(side, 1 - side) < SLEEVE_GAP_SIDES
                and stats[k, cv2.CC_STAT_HEIGHT] >= 2 * stats[k, cv2.CC_STAT_WIDTH] and outside[part].mean() > 0.5):
            gaps |= part
    return gaps


def _reached_from_border(passable: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels a flood from the whole image border reaches through ``passable`` ((H, W) bool)."""
    height, width = passable.shape
    flood = np.pad(passable.astype(np.uint8), 1, constant_values=1)
    cv2.floodFill(flood, np.zeros((height + 4, width + 4), np.uint8), (0, 0), 2)
    return flood[1:-1, 1:-1] == 2


def _enclosed(candidate: np.ndarray) -> np.ndarray:
    """(H, W) bool candidates -> what the border cannot reach through non-candidates, large components only."""
    height, width = candidate.shape
    # seal faint outlines
    candidate = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    garment = (~_reached_from_border(candidate == 0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(garment, connectivity=8)
    if count <= 1:
        return np.zeros((height, width), bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return np.isin(labels, 1 + np.nonzero(areas >= 0.1 * areas.max())[0])


def snap_to_edges(rgb: np.ndarray, mask: np.ndarray, certain: np.ndarray) -> np.ndarray:
    """Move a mask's outline onto the photo's edge nearby (watershed between sure garment and sure background).

    A threshold near the background's own noise also takes in the JPEG ringing beside a garment's edge (a jagged
    band of background); the watershed puts the outline on the strongest edge within EDGE_BAND of it instead.

    Args:
        rgb: (H, W, 3) uint8; mask: (H, W) bool rough mask; certain: (H, W) bool pixels that are surely garment.
    """
    height, width = mask.shape
    band = max(2, round(EDGE_BAND * min(height, width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    inside = mask.astype(np.uint8)
    markers = np.zeros((height, width), np.int32)
    markers[cv2.dilate(inside, kernel) == 0] = 1
    # sure garment twice as far inside: near a strong edge (a coloured band on a white garment) the rough mask takes
    # in a band of JPEG ringing as wide as the snapping band, and the outline stayed out there, a white fringe
    markers[(cv2.erode(cv2.erode(inside, kernel), kernel) > 0) | certain] = 2
    cv2.watershed(np.ascontiguousarray(rgb[:, :, ::-1]), markers)
    snapped = markers == 2
    # watershed lines (-1) between the two: garment where the rough mask said so
    return snapped | ((markers == -1) & mask)


@dataclass
class GarmentInput:
    """A garment ready for the networks.

    photo: the full-resolution RGB garment photo; mask_full: its (H, W) bool mask.
    framing: the 3:4 window of the photo the network sees.
    image: (256, 192, 3) uint8; mask: (256, 192) bool; source: 'auto', 'user' or 'alpha'.
    """

    photo: Image.Image
    mask_full: np.ndarray
    framing: Framing
    image: np.ndarray
    mask: np.ndarray
    source: str
    _crops: dict = field(default_factory=dict, repr=False, compare=False)

    def inner_back_mask(self, size: tuple[int, int]) -> np.ndarray:
        """The inside of the framed garment's back (:func:`inner_back`) at ``size`` (W, H) as (H, W) float32 in
        [0, 1]; found at INNER_BACK_HEIGHT whatever the size (the same region for every size), then resized."""
        key = ("inner_back", size)
        if key not in self._crops:
            small = (round(INNER_BACK_HEIGHT * NET_WIDTH / NET_HEIGHT), INNER_BACK_HEIGHT)
            if ("inner_back", None) not in self._crops:  # found once (~40 ms), whatever sizes are asked
                image, mask = self.crop(small)
                self._crops[("inner_back", None)] = inner_back(np.asarray(image), np.asarray(mask) >= 128)
            inside = self._crops[("inner_back", None)].astype(np.float32)
            self._crops[key] = inside if size == small else cv2.resize(inside, size, interpolation=cv2.INTER_LINEAR)
        return self._crops[key]

    def unseen_by_gmm(self) -> np.ndarray:
        """(256, 192) float32 in [0, 1]: what the GMM is not shown of the garment (:func:`unseen_by_gmm`)."""
        return self.inner_back_mask((NET_WIDTH, NET_HEIGHT))

    def off_the_shoulder(self) -> bool:
        """Whether it is an off-the-shoulder top (:func:`vton.off_shoulder.off_the_shoulder`), found at the size of
        :data:`SLEEVES_SIZE`."""
        if "off_the_shoulder" not in self._crops:
            mask = np.asarray(self.crop(SLEEVES_SIZE)[1]) >= 128
            self._crops["off_the_shoulder"] = off_the_shoulder(mask, lambda: self.inner_back_mask(SLEEVES_SIZE) >= 0.5)
        return self._crops["off_the_shoulder"]

    def long_sleeves(self) -> dict:
        """The framed garment's long sleeves (:func:`vton.sleeves.long_sleeves`), found at INNER_BACK_HEIGHT, in
        the pixels of that size (:data:`SLEEVES_SIZE`)."""
        if "long_sleeves" not in self._crops:
            self._crops["long_sleeves"] = long_sleeves(np.asarray(self.crop(SLEEVES_SIZE)[1]) >= 128)
        return self._crops["long_sleeves"]

    def crop(self, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
        """The framed garment and its mask at ``size`` (W, H), e.g. for warping at a photo's full resolution
        (remembered per size: a garment tried on many persons)."""
        if size not in self._crops:
            mask = Image.fromarray(self.mask_full.astype(np.uint8) * 255)
            self._crops[size] = (self.framing.crop(self.photo, size),
                                 self.framing.crop(mask, size, fill=0, resample=Image.Resampling.BILINEAR))
        return self._crops[size]


def unseen_by_gmm(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What the GMM is not shown of a garment framed at the network's size (256x192, as a dataset's garments):
    the inside of its back (:func:`inner_back`, found at INNER_BACK_HEIGHT, as
    :meth:`GarmentInput.inner_back_mask`), as (H, W) float32 in [0, 1]. Shown it, the GMM put the garment's top
    there at the base of the neck and the front's neckline far below (a crew neck worn as a scoop); without it,
    on the wild try-ons, the neckline at the neck's middle lay 0.019 shoulder widths below the neck joint on
    average instead of 0.038 (the deepest 0.13 instead of 0.17).

    Args:
        rgb: (H, W, 3) uint8; mask: (H, W) bool.
    """
    height, width = mask.shape
    small = (round(INNER_BACK_HEIGHT * width / height), INNER_BACK_HEIGHT)
    inside = inner_back(cv2.resize(rgb, small, interpolation=cv2.INTER_LINEAR),
                        cv2.resize(mask.astype(np.uint8) * 255, small, interpolation=cv2.INTER_LINEAR) >= 128)
    return cv2.resize(inside.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def inner_back(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The inside of the garment's back, seen through its neckline in an in-shop photo (a grey lining, the back
    collar, a label): worn, it is behind the person's neck. Found by colour from just under the middle of the
    garment's top edge (see INNER_BACK_DELTA_E and the bounds beside it); everything from the top edge down to that
    region in its columns goes with it (the back collar above it, a label hanging from it). A neckline trimmed in
    a colour of its own (a ribbed collar): the trim's colour at the top edge is the back collar and, lower down in
    the middle, the front collar; everything above the front collar is the inside (:func:`_above_front_collar`),
    whatever its colour (a striped inside, a white one with a label). An inside of the outside's colour (a black
    tee) is found by its shade (:func:`_shaded_inside`).

    Args:
        rgb: (H, W, 3) uint8 garment photo (framed); mask: (H, W) bool, the garment.
    Returns:
        (H, W) bool, empty where no inside is seen.
    """
    height, none = mask.shape[0], np.zeros_like(mask)
    columns = np.nonzero(mask.any(0))[0]
    if columns.size < 10:
        return none
    top = np.where(mask.any(0), mask.argmax(0), height)
    left, right = int(columns[0]), int(columns[-1])
    width, middle = right - left + 1, (left + right) // 2
    step = max(2, round(0.01 * height))
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255  # OpenCV's 8-bit L is 0-255; a and b are offset by 128
    lab[..., 1:] -= 128
    rows = np.arange(height)[:, None]

    def acceptable(region: np.ndarray) -> bool:
        ys, xs = np.nonzero(region)
        return (ys.size > 0 and region.sum() <= INNER_BACK_AREA * mask.sum()
                and ys.max() - top[middle] <= INNER_BACK_DEPTH * width
                and xs.min() > left + INNER_BACK_SIDES * width and xs.max() < right - INNER_BACK_SIDES * width)

    # the seed just under the top edge; a trimmed collar thinner than that (a narrow ribbed band): halfway there
    first = int(top[middle]) + step
    for y in dict.fromkeys((first, int(top[middle]) + max(1, step // 2))):
        if y + step >= height or not mask[y, middle]:
            continue
        seed = np.median(lab[y:y + step, max(0, middle - 2):middle + 3].reshape(-1, 3), axis=0)
        distance = lab - seed
        near = (np.linalg.norm(distance, axis=2) < INNER_BACK_DELTA_E) & mask
        hits = np.nonzero(near[y:y + step, middle])[0]
        if hits.size:
            distance[..., 0] *= TRIM_LIGHTNESS_WEIGHT
            trim = (np.linalg.norm(distance, axis=2) < TRIM_DELTA_E) & mask
            deepest = int(top[middle] + INNER_BACK_DEPTH * width)
            inside = _above_front_collar(trim, y + int(hits[0]), middle, step, deepest)
            if inside is not None and (inside & mask).sum() >= TRIM_INSIDE_MIN * mask.sum() and acceptable(inside):
                return mask & inside
        if y != first or not near[y, middle]:
            continue
        _, parts = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
        region = parts == parts[y, middle]
        if not acceptable(region):
            continue
        lowest, front = _lowest_rows(region), _front_below(mask, region, step)
        if front.sum() < 10:
            continue
        inside_lab, front_lab = np.median(lab[region], axis=0), np.median(lab[front], axis=0)
        if np.linalg.norm(inside_lab - front_lab) < INNER_BACK_DELTA_E:
            continue
        # the inside's lit parts at its sides, nearer its colour than the front's, go with it (cut off, they left
        # a notch of neck in the collar)
        nearer = mask & (np.linalg.norm(lab - inside_lab, axis=2) < np.linalg.norm(lab - front_lab, axis=2))
        _, parts = cv2.connectedComponents((nearer | region).astype(np.uint8), connectivity=4)
        grown = (parts == parts[y, middle]) & (rows <= lowest.max())  # sideways: never deeper than it was
        if acceptable(grown) and (grown & ~region).sum() < 2 * region.sum():
            lowest = _lowest_rows(grown)
        return mask & (rows <= lowest) & (lowest >= 0)
    return _shaded_inside(lab, mask, top, left, right, step, acceptable)


def _shaded_inside(lab: np.ndarray, mask: np.ndarray, top: np.ndarray, left: int, right: int, step: int,
                   acceptable) -> np.ndarray:
    """The inside of a garment of one colour inside and out (a black tee), seen in the neckline's shade: the
    region of the seed's lightness (within :data:`SHADE_DELTA_L`, a heathered inside's specks smoothed first) just
    under the middle of the top edge, darker than the front below it by at least :data:`SHADE_CONTRAST` (CIELAB
    L), centred on the garment and under a top edge that is no higher at the region's ends than in the middle (a
    garment photographed turned shows its shoulder there), walled by the garment (a turtleneck's collar, standing
    above the shoulders, has the background beside it). The seed is tried a little lower twice (a label's print
    under the top edge). Its lower edge is taken down to the front collar and smoothed. Empty where no such
    region is found."""
    height, none = mask.shape[0], np.zeros_like(mask)
    width, middle = right - left + 1, (left + right) // 2
    lightness = cv2.medianBlur(np.ascontiguousarray(lab[..., 0]), 5)
    rows = np.arange(height)[:, None]
    outside = cv2.dilate((~mask).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    below_top = rows > top[None, :] + 2 * step  # farther than a collar's edge below its column's top
    for y in range(int(top[middle]) + step, int(top[middle]) + 4 * step, step):
        if y + step >= height or not mask[y, middle]:
            continue
        seed = float(np.median(lightness[y:y + step, max(0, middle - 2):middle + 3]))
        near = (np.abs(lightness - seed) < SHADE_DELTA_L) & mask
        near = cv2.morphologyEx(near.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
        if not near[y, middle]:
            continue
        _, parts = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
        region = parts == parts[y, middle]
        xs = np.nonzero(region.any(0))[0]
        if not acceptable(region) or xs[-1] - xs[0] < SHADE_MIN_WIDTH * width \
                or abs((xs[0] + xs[-1]) / 2 - middle) > SHADE_CENTRED * width \
                or (region & outside & below_top).sum() > 2 * step or max(top[xs[0]], top[xs[-1]]) > top[middle]:
            continue
        lowest, front = _lowest_rows(region), _front_below(mask, region, step)
        if front.sum() < 10:
            continue
        inside_l, front_l = np.median(lightness[region]), np.median(lightness[front])
        if front_l - inside_l < SHADE_CONTRAST:
            continue
        # down to the front collar: the rows under it still nearer the inside's lightness than the front's (a
        # heathered inside's lighter specks, the shade deepest along the collar)
        columns = np.arange(xs[0], xs[-1] + 1)
        darker = lightness[:, columns] < (inside_l + front_l) / 2
        for _ in range(4 * step):
            below = np.minimum(lowest[columns] + 1, height - 1)
            grow = (lowest[columns] >= 0) & darker[below, np.arange(columns.size)] & mask[below, columns]
            if not grow.any():
                break
            lowest[columns[grow]] += 1
        # its lower edge is the front collar's, a smooth curve: the specks and the collar's own shade along it
        # made it ragged (a torn neckline, drawn)
        u = (columns - columns.mean()) / max(1.0, columns.std())
        seen = lowest[columns] >= 0
        curve = np.polyval(np.polyfit(u[seen], lowest[columns][seen], min(4, seen.sum() - 1)), u)
        bottom = np.full(mask.shape[1], -1.0)
        bottom[columns] = np.minimum(curve, lowest[columns] + step)
        return mask & (rows <= bottom)
    return none


def _lowest_rows(region: np.ndarray) -> np.ndarray:
    """(W,) int: the lowest row of ``region`` ((H, W) bool) in each column, -1 in columns outside it."""
    return np.where(region.any(0), region.shape[0] - 1 - region[::-1].argmax(0), -1)


def _front_below(mask: np.ndarray, region: np.ndarray, step: int) -> np.ndarray:
    """(H, W) bool: the garment's front just below an inside ``region``, from ``step`` to 4 ``step`` rows under
    its lowest row in each of its columns (what the inside is told apart from)."""
    lowest = _lowest_rows(region)
    rows = np.arange(mask.shape[0])[:, None]
    return mask & ~region & (rows > lowest + step) & (rows <= lowest + 4 * step) & (lowest >= 0)


def _above_front_collar(trim: np.ndarray, y: int, middle: int, step: int, deepest: int) -> np.ndarray | None:
    """What lies above the front collar, when the back collar's colour (``trim``, (H, W) bool, at the seed row
    ``y`` of the ``middle`` column, a run at most :data:`TRIM_ROWS` ``step`` tall) appears again lower down that
    column, after a gap of at least ``step`` rows and above row ``deepest``: per column where the two collars are
    apart (two runs of the trim's colour), every row above the second run. None without such a front collar."""
    _, parts = cv2.connectedComponents(trim.astype(np.uint8), connectivity=4)
    column = trim[:, middle]
    if not column[y]:
        return None
    below = np.nonzero(~column[y:])[0]
    if below.size == 0:
        return None
    gap_from = y + int(below[0])  # the first row under the back collar
    if gap_from - y > TRIM_ROWS * step:  # not a trim: the top of a plain front (a black tee's)
        return None
    again = np.nonzero(column[gap_from + step:deepest])[0]
    if again.size == 0 or column[gap_from:gap_from + step].any():
        return None
    back, front = (parts == parts[row, middle] for row in (y, gap_from + step + int(again[0])))
    # a run's breaks shorter than the gap (the ribbing's shadows, JPEG specks) closed: the front collar's top is
    # where a column's second run starts, not a break inside the band
    collar = cv2.morphologyEx((back | front).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((step, 1), np.uint8)) > 0
    starts = collar & ~np.vstack([np.zeros((1, collar.shape[1]), bool), collar[:-1]])
    second = starts & (np.cumsum(starts, 0) == 2)
    rows = np.arange(collar.shape[0])[:, None]
    inside = ((rows < second.argmax(0)) & second.any(0)).astype(np.uint8)
    inside = cv2.morphologyEx(inside, cv2.MORPH_OPEN, np.ones((1, step), np.uint8)) > 0  # lone columns at its sides
    return inside if inside[:, middle].any() else None


def prepare_garment(source, mask=None, name: str = "garment image") -> GarmentInput:
    """Read a garment photo (any size) and find its mask: ``mask`` if given, else the alpha channel, else automatic.

    Raises:
        InputError: unreadable image or mask, a mask of another size, or no garment found.
    """
    photo, alpha = load_image(source, name=name)
    if mask is not None:
        mask_image, _ = load_image(mask, name="garment mask")
        if mask_image.size != photo.size:
            raise InputError(f"garment mask is {mask_image.width}x{mask_image.height}, "
                             f"expected the garment's {photo.width}x{photo.height}")
        mask_full, how = np.asarray(mask_image.convert("L")) >= 128, "user"
    elif alpha is not None:
        mask_full, how = np.asarray(alpha) >= 128, "alpha"
    else:
        scale = min(1.0, 1024 / max(photo.size))
        work = photo if scale == 1.0 else photo.resize((round(photo.width * scale), round(photo.height * scale)),
                                                       Image.Resampling.BILINEAR)
        small = auto_garment_mask(np.asarray(work))
        mask_full = small if scale == 1.0 else np.asarray(
            Image.fromarray(small.astype(np.uint8) * 255).resize(photo.size, Image.Resampling.BILINEAR)) >= 128
        how = "auto"
    if mask_full.mean() < MIN_GARMENT_FRACTION:
        raise InputError(f"no garment found in the {name}: use a photo on a plain light background, or give a mask")
    if mask_full.mean() > 0.98:
        raise InputError(f"the {name} has no visible background: give a garment mask")
    framing = frame_garment(mask_full)
    image, mask_image = GarmentInput(photo, mask_full, framing, None, None, how).crop((NET_WIDTH, NET_HEIGHT))
    return GarmentInput(photo, mask_full, framing, np.asarray(image), np.asarray(mask_image) >= 128, how)


def shows_a_person(garment: GarmentInput, detector) -> bool:
    """Whether a garment photo is a photo of a person (someone wearing it, or the wrong file).

    Args:
        garment: the prepared garment; detector: a :class:`vton.pose.PersonDetector`.
    """
    scale = min(1.0, 512 / max(garment.photo.size))
    size = (max(1, round(garment.photo.width * scale)), max(1, round(garment.photo.height * scale)))
    small = garment.photo.resize(size, Image.Resampling.BILINEAR)
    try:
        nose = detector.detect(np.asarray(small)).landmarks[0]
    except InputError:
        return False
    ys = np.nonzero(garment.mask_full.any(1))[0]
    if nose[2] < 0.5 or len(ys) == 0:
        return False
    top, bottom = ys[0], ys[-1] + 1
    return (nose[1] * garment.photo.height - top) / (bottom - top) < PERSON_NOSE_TOP


# How VITON frames its garments (medians over 200 cloth masks): the garment spans 94% of the width or 84% of the
# height, its centre 48% down.
VITON_GARMENT_WIDTH = 0.94
VITON_GARMENT_HEIGHT = 0.84
VITON_GARMENT_CENTRE = 0.48


def frame_garment(mask: np.ndarray) -> Framing:
    """The 3:4 window that shows the garment as VITON's in-shop photos do: as wide as VITON_GARMENT_WIDTH of the
    window or as tall as VITON_GARMENT_HEIGHT, whichever comes first, centred. The GMM learned its warps from
    garments framed so; one shown smaller (a product photo with wide margins) is warped smaller, and looks pasted on
    like a sticker. A 192x256 photo (VITON's own garments, as the networks were trained on them, narrow ones
    included), or a 3:4 photo whose garment already fills it as VITON's do, is taken whole. Outside the photo the
    window is white.
    """
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    x0, y0, x1, y1 = float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)
    if (width, height) == (NET_WIDTH, NET_HEIGHT) or abs(width / height - NET_WIDTH / NET_HEIGHT) < 0.02 and (
            (x1 - x0) >= 0.9 * VITON_GARMENT_WIDTH * width or (y1 - y0) >= 0.9 * VITON_GARMENT_HEIGHT * height):
        return Framing.whole(width, height)
    scale = max((x1 - x0) / (VITON_GARMENT_WIDTH * NET_WIDTH), (y1 - y0) / (VITON_GARMENT_HEIGHT * NET_HEIGHT))
    left = (x0 + x1) / 2 - NET_WIDTH / 2 * scale
    top = (y0 + y1) / 2 - VITON_GARMENT_CENTRE * NET_HEIGHT * scale
    return Framing(left, top, scale, width, height)