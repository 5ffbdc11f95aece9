"""Pieces of the old upper garment that the parse leaves out: camisole straps, cuffs, the end of a sleeve.

A strap is two or three of the parser's 256x192 pixels wide, and its labels blur it into the shoulders' skin; the
end of a long sleeve at the wrist is often labelled arm, or, beside the hips, lower body (see
:func:`vton.representation.dress_below_waist_as_skirt`). Left as they are, they stay in the try-on: black straps
beside a tee's neckline, a red cuff under a painted forearm. Here they are found by colour: pixels labelled skin
(arms, neck, bare torso), or labelled garment in the arms' bands, whose colour is much nearer the old garment's
than the person's skin, and joined to the old garment. Found, they are the old garment (replaced like it).

Only where straps and cuffs are: above the armpits and around the wrists. Between them, where an arm hangs beside
the body, the pixels at the parse's boundary blend arm and garment, and a dark garment's shadowed arm matched it.
"""
from __future__ import annotations

import cv2
import numpy as np

from .fit import armpit_row
from .representation import ARM_LABELS, GARMENT_LABELS, NECK_LABEL
from .skin import FACE_LABEL, body_model, pixel

PALETTE_SIZE = 4  # colours of the old garment (k-means): a print, a trim, its shading
MAX_SAMPLES = 4000
MIN_SKIN_DISTANCE = 22.0  # CIELAB delta E: nearer the skin than this, a pixel is skin (shadows, make-up, blur)
NEARER = 0.5  # and its distance to the garment's colours must be at most this share of its distance to the skin
WRIST_RADIUS = 0.35  # around a wrist joint, of the shoulder width: a cuff, a sleeve's end beside the hips
_SKIN = np.zeros(256, bool)
_SKIN[list(ARM_LABELS + (NECK_LABEL,))] = True
_GARMENT = np.zeros(256, bool)
_GARMENT[list(GARMENT_LABELS)] = True


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def _sampled(pixels: np.ndarray) -> np.ndarray:
    """At most about MAX_SAMPLES of ``pixels`` ((N, 3)), evenly strided (the same photo, the same samples)."""
    return pixels[::max(1, len(pixels) // MAX_SAMPLES)]


def _nearest(colours: np.ndarray, palette: np.ndarray) -> np.ndarray:
    return np.linalg.norm(colours[:, None] - palette[None], axis=2).min(1)


def garment_leftovers(window: np.ndarray, labels: np.ndarray, garment: np.ndarray,
                      keypoints: np.ndarray) -> np.ndarray:
    """The old garment's pieces outside ``garment``: straps, cuffs, sleeve ends.

    Args:
        window: (H, W, 3) uint8 RGB; labels: (H, W) uint8 LIP labels (guided to the photo, see
            :func:`vton.parsing.labels_in_window`); garment: (H, W) bool the old upper garment as the try-on
            replaces it; keypoints: (18, 3) COCO-18 in the window's pixels.
    Returns:
        (H, W) bool, the pixels to add to ``garment`` (none without a garment, both shoulders or visible skin).
    """
    out = np.zeros_like(garment)
    height, width = garment.shape
    body = body_model(keypoints, height, width)
    if body is None:
        return out
    zone = np.zeros((height, width), np.uint8)
    zone[:armpit_row(keypoints, height)] = 1
    radius = WRIST_RADIUS * float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    for wrist in (4, 7):
        if keypoints[wrist, 2] > 0:
            cv2.circle(zone, pixel(keypoints[wrist]), int(round(radius)), 1, -1)
    candidates = (_SKIN[labels] | (body[0] & _GARMENT[labels])) & (zone > 0) & ~garment
    kernel = np.ones((5, 5), np.uint8)
    inner = cv2.erode(garment.astype(np.uint8), kernel) > 0
    skin = cv2.erode((_SKIN[labels] | (labels == FACE_LABEL)).astype(np.uint8), kernel) > 0
    if not candidates.any() or inner.sum() < PALETTE_SIZE * 10 or skin.sum() < 40:
        return out
    samples = _lab(_sampled(window[inner]))
    cv2.setRNGSeed(0)  # seeded: the same photo gives the same try-on
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    palette = cv2.kmeans(samples, PALETTE_SIZE, None, criteria, 1, cv2.KMEANS_PP_CENTERS)[2]
    # the skin: the face's and the other skin's medians (the arms' pixels hold the cuffs, the face none)
    face = labels == FACE_LABEL
    tones = [np.median(_lab(window[part]), 0) for part in (skin & face, skin & ~face) if part.sum() >= 40]
    if not tones:
        return out
    colours = _lab(window[candidates])
    to_skin = _nearest(colours, np.array(tones, np.float32))
    to_garment = _nearest(colours, palette)
    match = np.zeros_like(garment)
    match[candidates] = (to_skin > MIN_SKIN_DISTANCE) & (to_garment <= NEARER * to_skin)
    if not match.any():
        return out
    # joined to the garment: a strap hangs from its top, a cuff ends its sleeve
    count, components = cv2.connectedComponents((match | garment).astype(np.uint8), connectivity=8)
    joined = np.zeros(count, bool)
    joined[np.unique(components[garment])] = True
    joined[0] = False
    return match & joined[components]
