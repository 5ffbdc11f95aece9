"""The light on the person's torso, taken from the old garment, for the new garment pasted over it.

The new garment is the in-shop photo warped: evenly lit and flat, it reads as a sticker on the person. The old
garment, photographed on the body, carries the light there (a side turned away, the shadow under the bust and the
arms, the folds). Its luminance at a few pixels' scale, over its luminance at a torso's scale, is that light
(a ratio around 1); the new garment is multiplied by it where it lies over the old one.

What is not light: the old garment's print and colour blocks. Pixels whose colour stands far from the old garment's
local median, or whose luminance changes sharply (a print, a logo, a stripe, a seam), are left out and the light
there is interpolated from around them; an old garment with much of its area such (stripes, a pattern, colour
blocks) gives no light at all.
"""
from __future__ import annotations

import cv2
import numpy as np

from .skin import local_mean

LIGHT_DETAIL = 0.006  # of the height: finer than this is the fabric's grain or the print's edges, not light
LIGHT_OVERALL = 0.05  # of the height: the old garment's own brightness, against which its light is measured
LIGHT_LIMITS = (0.72, 1.12)  # the light's range (a deep fold to a highlight)
LIGHT_KEPT = 0.8  # the share of the light (as an exponent) given to the new garment, which has its own thickness
# added to L* (0-255) before the ratio: a dark garment's light is a few grey levels over JPEG noise, and as a plain
# ratio it lit a print laid over it in blotches
LIGHT_FLOOR = 40.0
PRINT_CHROMA = 12.0  # a*b* units (0-255) from the fabric's colour around: a print or a colour block, not light
PRINT_SHARPNESS = 8.0  # L* units (0-255) from its 1-px blur at 1/4 resolution: an edge, not light
PRINT_SCALE = 0.06  # of the height: the local median's window (a print or logo up to about half of it is outvoted)
MAX_PRINT_SHARE = 0.35  # an old garment with more of its area print than this gives no light
SCALE = 4  # computed at 1/4 of the resolution (light is smooth; a 1024-px window's blurs took ~300 ms)
MIN_PIXELS = 200  # at that scale


def garment_light(window: np.ndarray, old: np.ndarray) -> np.ndarray | None:
    """The light on the old upper garment, to multiply the new garment's colours by.

    Args:
        window: (H, W, 3) uint8 the framed photo; old: (H, W) bool the old upper garment.
    Returns:
        (H, W) float32 within LIGHT_LIMITS ** LIGHT_KEPT, 1 off the old garment (fading over its edge); None where
        the old garment is too small or too patterned to tell its light from its colours.
    """
    height, width = old.shape
    size = (max(1, round(width / SCALE)), max(1, round(height / SCALE)))
    small = cv2.resize(window, size, interpolation=cv2.INTER_AREA)
    inner = cv2.resize(old.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.99
    if inner.sum() < MIN_PIXELS:
        return None
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
    # print: a colour far from the fabric's around it (a median over a window of the old garment, which a print's
    # strokes and small logos do not carry; its typical colour stands in off it), or a sharp change of luminance
    # (text, a logo's edge, a stripe; light changes smoothly)
    typical = np.median(lab[inner], axis=0).astype(np.uint8)
    k = max(3, int(PRINT_SCALE * size[1]) | 1)
    fabric = cv2.medianBlur(np.where(inner[..., None], lab, typical), k).astype(np.float32)
    chroma = np.linalg.norm(lab[..., 1:].astype(np.float32) - fabric[..., 1:], axis=-1) > PRINT_CHROMA
    grey = lab[..., 0].astype(np.float32)
    sharp = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0)) > PRINT_SHARPNESS
    printed = cv2.dilate((chroma | sharp).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    plain = inner & ~printed
    if plain.sum() < (1 - MAX_PRINT_SHARE) * inner.sum():
        return None
    luminance = lab[..., 0].astype(np.float32) + LIGHT_FLOOR
    detail, near = local_mean(luminance, plain, LIGHT_DETAIL * size[1])
    # inside a print, farther from plain fabric than the detail's reach, the light of the fabric around it
    wider, _ = local_mean(luminance, plain, 4 * LIGHT_DETAIL * size[1])
    near = np.clip(near / 0.5, 0, 1)
    detail = detail * near + wider * (1 - near)
    overall, _ = local_mean(luminance, plain, LIGHT_OVERALL * size[1])
    light = np.clip(detail / np.maximum(overall, 1.0), *LIGHT_LIMITS) ** LIGHT_KEPT
    light = 1 + (light - 1) * cv2.GaussianBlur(inner.astype(np.float32), (0, 0), 1.0)  # 1 off the old garment
    return cv2.resize(light.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
