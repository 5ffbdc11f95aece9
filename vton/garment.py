"""In-shop garment photos: the garment mask (automatic, a user mask, or the image's alpha) and 3:4 framing."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import InputError
from .image_io import NET_HEIGHT, NET_WIDTH, Framing, load_image

BACKGROUND_DISTANCE = 6.0  # Lab distance from the background colour above which a pixel may be garment
MIN_GARMENT_FRACTION = 0.02  # a mask smaller than this share of the image means no garment was found


def auto_garment_mask(rgb: np.ndarray) -> np.ndarray:
    """Mask of a garment photographed on a light, plain background.

    1. Background colour: the median of the image border.
    2. Pixels farther than BACKGROUND_DISTANCE from it (CIE Lab) are garment candidates.
    3. Background is what is connected to the border through non-candidates; everything else (white prints,
       holes inside the garment) is garment. Small specks are dropped, only large components stay.

    Args:
        rgb: (H, W, 3) uint8.
    Returns:
        (H, W) bool.
    """
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab = cv2.GaussianBlur(lab, (3, 3), 0)
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    distance = np.linalg.norm(lab - np.median(border, axis=0), axis=2)
    candidate = (distance > BACKGROUND_DISTANCE).astype(np.uint8)
    candidate = cv2.morphologyEx(candidate, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))  # seal faint outlines
    # flood the background from the whole border through non-candidate pixels
    padded = np.pad(1 - candidate, 1, constant_values=1)
    flood = padded.copy()
    fill_mask = np.zeros((height + 4, width + 4), np.uint8)
    cv2.floodFill(flood, fill_mask, (0, 0), 2)
    garment = (flood[1:-1, 1:-1] != 2).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(garment, connectivity=8)
    if count <= 1:
        return np.zeros((height, width), bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.nonzero(areas >= 0.1 * areas.max())[0]
    return np.isin(labels, keep)


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

    def crop(self, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
        """The framed garment and its mask at ``size`` (W, H), e.g. for warping at a photo's full resolution."""
        mask = Image.fromarray(self.mask_full.astype(np.uint8) * 255)
        return (self.framing.crop(self.photo, size),
                self.framing.crop(mask, size, fill=0, resample=Image.Resampling.BILINEAR))


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


def frame_garment(mask: np.ndarray) -> Framing:
    """A photo that is already 3:4 is taken whole (as VITON's garments); otherwise a 3:4 window around the mask."""
    height, width = mask.shape
    if abs(width / height - NET_WIDTH / NET_HEIGHT) < 0.02:
        return Framing.whole(width, height)
    ys, xs = np.nonzero(mask)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    return Framing.around(box, width, height, margin=0.12)
