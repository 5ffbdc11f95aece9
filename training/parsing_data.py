"""Human-parsing data: VITON photos with their LIP parse, and the augmentations that make a parser trained on them
work on photos unlike VITON (every VITON photo is a front-facing model on a near-white wall, framed head to thigh).

The parse makes it possible to cut the person out: :func:`augment` puts them on other backgrounds (plain colours,
gradients, smooth noise, stripes and checks, enlarged crops of the VITON garment photos), zooms out to full-body
framing or in to a head-cropped one, rotates a little, mirrors (left/right labels swapped), and changes colour,
sharpness, noise and JPEG quality. The same function with fixed settings makes the "random backgrounds, zoomed out"
validation set (:data:`EVAL_BACKGROUND`).
"""
from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from vton.image_io import NET_HEIGHT, NET_WIDTH
from vton.parsing import LABEL_GROUPS, NECK_LABEL, PALETTE, labels_to_image, mirror_labels
from vton.representation import DRESS_LABEL, SKIRT_LABEL, UPPER_CLOTHES_LABEL

from .dataset import build_person_cache, cache_path, load_detection, read_pairs, stem


@dataclass(frozen=True)
class AugmentSettings:
    """Probabilities and ranges of :func:`augment`. zoom < 1 shrinks the person (more of the body fits), > 1
    enlarges (the head leaves the frame at the top)."""

    background: float = 0.75  # probability of a new background
    zoom_out: float = 0.3  # probability of a zoom in zoom_out_range
    zoom_out_range: tuple[float, float] = (0.45, 0.9)
    zoom_in: float = 0.2
    zoom_in_range: tuple[float, float] = (1.1, 1.6)
    rotate: float = 8.0  # degrees, uniform +-
    shift: float = 0.08  # of the image size, uniform +-
    colour: float = 0.8  # probability of brightness/contrast/saturation/gain/gamma changes
    blur: float = 0.2
    noise: float = 0.2
    jpeg: float = 0.3


TRAIN_AUGMENT = AugmentSettings()
# A pixel is the wall when its colour is within this of the wall's (max over RGB, 0-255): see complete_parse.
WALL_DISTANCE = 30
# A hole in the parse that touches the upper garment (not the face) is bare skin only when its median colour is within
# this delta E (CIE76, OpenCV's 8-bit Lab) of the face's: VITON's parse also leaves holes where it failed on a print,
# a belt or a dark fold of the garment, and those are not skin (on 500 val persons 41k of the 51k pixels of such holes
# are farther than 30: garment prints, belts, jeans; the nearer ones are midriffs, keyholes, bits of arm).
SKIN_DISTANCE = 30
# The parse's background inside MediaPipe's person segmentation (probability > 0.5, this many pixels in from its
# outline at 256x192, where its soft edge is unsure) is the lower body when at least LOWER_SHARE of the labelled pixels
# around it are: see complete_parse, step 5.
PERSON_MASK_MARGIN = 2
LOWER_SHARE = 0.6
# validation on other backgrounds, zoomed out towards full-body framing: every photo on a new background, shrunk to
# 50-75% (the person's height then spans 50-75% of the frame, as in a full-body photo framed head to feet)
EVAL_BACKGROUND = AugmentSettings(background=1.0, zoom_out=1.0, zoom_out_range=(0.5, 0.75), zoom_in=0.0,
                                  rotate=0.0, shift=0.0, colour=0.0, blur=0.0, noise=0.0, jpeg=0.0)


def complete_parse(image: np.ndarray, labels: np.ndarray, person_mask: np.ndarray | None = None) -> np.ndarray:
    """VITON's parse with what it leaves out: the neck, and the skin a neckline or a short top shows, are labelled
    background (0) there, and the labels stop a pixel or two inside the silhouette.

    1. Background pixels that are not the wall's colour, in blobs that touch the face (or the upper garment, away
       from the image's bottom edge, in the skin's colour: :data:`SKIN_DISTANCE`) and not the image's top or
       sides: :data:`vton.parsing.NECK_LABEL`.
    2. Such blobs that reach the image's bottom edge from the garments: a skirt or trousers the parse left
       background (a yellow skirt, 20 of 500 val persons): the lower-body label around them, else skirt.
    3. The other such blobs inside the person (holes the parse left in a garment's print, a belt) and the thin
       rest along the silhouette (within 3 px of the person): the label of the nearest person pixel.
    4. "Dress" below a top's hem (the 98th percentile of its rows, when the top covers a real area beside it): a
       skirt or trousers worn under the top, which VITON's parse often calls dress (61 of 500 val persons);
       skirt, as :func:`vton.representation.dress_below_waist_as_skirt` relabels it in the try-on.
    5. With ``person_mask``, an independent view of the silhouette: background well inside it, in blobs whose
       labelled neighbours are mostly the lower body (:data:`LOWER_SHARE`): white or pale trousers and skirts, and
       the pale parts of a print, that the parse left background. They are the wall's colour, so steps 1-3 cannot
       tell them from the wall (220 of 500 val persons, 40k pixels; the lower body's IoU against the old ground
       truth was capped by them: in each of the 8 val photos with the most such pixels the parser was right).
       They become the lower-body label around them.

    Args:
        image: (H, W, 3) uint8 photo on VITON's plain wall; labels: (H, W) uint8 LIP labels.
        person_mask: (H, W) float person probability in [0, 1] (MediaPipe's segmentation, cached with the
            detections: :func:`training.dataset.load_detection`), or None.
    Returns:
        (H, W) uint8 labels.
    """
    wall = np.median(np.concatenate([image[:4].reshape(-1, 3), image[:, :3].reshape(-1, 3),
                                     image[:, -3:].reshape(-1, 3)]), axis=0)
    person = labels > 0
    holes = (~person & (np.abs(image.astype(np.float32) - wall).max(2) > WALL_DISTANCE)).astype(np.uint8)
    blobs = cv2.morphologyEx(holes, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    grow = np.ones((5, 5), np.uint8)
    face = cv2.dilate((labels == 13).astype(np.uint8), grow) > 0
    upper = cv2.dilate(np.isin(labels, (5, 6, 7)).astype(np.uint8), grow) > 0
    lower = cv2.dilate(np.isin(labels, LABEL_GROUPS["lower"]).astype(np.uint8), grow) > 0
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    skin = np.median(lab[labels == 13], axis=0) if (labels == 13).any() else None
    out = labels.copy()
    garment_holes = np.zeros_like(person)
    count, components = cv2.connectedComponents(blobs, connectivity=8)
    for c in range(1, count):
        region = components == c
        if region[0].any() or region[:, 0].any() or region[:, -1].any():
            continue
        if (region & face).any():
            out[region] = NECK_LABEL
        elif (region & upper).any() and not region[-1].any():
            if skin is not None and np.linalg.norm(np.median(lab[region], axis=0) - skin) <= SKIN_DISTANCE:
                out[region] = NECK_LABEL
            else:
                garment_holes |= region
        elif region[-1].any() and (region & (upper | lower)).any():  # a skirt or trousers the parse missed
            near = labels[(cv2.dilate(region.astype(np.uint8), grow) > 0) & lower]
            out[region] = np.bincount(near, minlength=len(PALETTE)).argmax() if near.size else SKIRT_LABEL
    distance, nearest = cv2.distanceTransformWithLabels((~person).astype(np.uint8), cv2.DIST_L2, 3,
                                                        labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(person)
    label_of = np.zeros(nearest.max() + 1, np.uint8)
    label_of[nearest[ys, xs]] = labels[ys, xs]
    thin = ((holes > 0) & (out == 0) & (distance <= 3)) | garment_holes
    out[thin] = label_of[nearest[thin]]
    if person_mask is not None:
        _lower_body_inside(out, person_mask)
    dress, top_rows = out == DRESS_LABEL, np.nonzero(out == UPPER_CLOTHES_LABEL)[0]
    if dress.any() and top_rows.size > 0.2 * dress.sum():  # as dress_below_waist_as_skirt's first case
        out[dress & (np.arange(out.shape[0])[:, None] > np.percentile(top_rows, 98))] = SKIRT_LABEL
    return out


def _lower_body_inside(labels: np.ndarray, person_mask: np.ndarray) -> None:
    """complete_parse's step 5, in place."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * PERSON_MASK_MARGIN + 1,) * 2)
    inside = cv2.erode((person_mask > 0.5).astype(np.uint8), disc)
    lower = np.isin(labels, LABEL_GROUPS["lower"])
    count, components = cv2.connectedComponents(((labels == 0) & (inside > 0)).astype(np.uint8), connectivity=8)
    for c in range(1, count):
        region = components == c
        ring = (cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~region & (labels > 0)
        if ring.any() and lower[ring].mean() >= LOWER_SHARE:
            labels[region] = np.bincount(labels[ring & lower], minlength=len(PALETTE)).argmax()


def random_background(rng: np.random.Generator, textures: list[Path], height: int = NET_HEIGHT,
                      width: int = NET_WIDTH) -> np.ndarray:
    """(H, W, 3) uint8: a plain colour, a gradient, smooth noise, stripes/checks or an enlarged garment photo crop."""
    kind = rng.choice(["plain", "gradient", "noise", "pattern", "photo"], p=[0.15, 0.2, 0.25, 0.15, 0.25])
    colours = rng.uniform(0, 255, (2, 3))
    if kind == "plain":
        out = np.broadcast_to(colours[0], (height, width, 3)).copy()
    elif kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:height, 0:width]
        t = (np.cos(angle) * xs / width + np.sin(angle) * ys / height)
        t = (t - t.min()) / max(np.ptp(t), 1e-6)
        out = colours[0] * (1 - t[..., None]) + colours[1] * t[..., None]
    elif kind == "noise":
        cells = int(rng.integers(2, 24))
        small = rng.uniform(0, 255, (cells, max(2, cells * 3 // 4), 3)).astype(np.float32)
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        out = 0.5 * out + 0.5 * colours[0]
    elif kind == "pattern":
        period = rng.uniform(6, 60)
        angle = rng.uniform(0, np.pi)
        ys, xs = np.mgrid[0:height, 0:width]
        u = (np.cos(angle) * xs + np.sin(angle) * ys) / period
        v = (-np.sin(angle) * xs + np.cos(angle) * ys) / period
        t = (np.floor(u) % 2) if rng.random() < 0.5 else ((np.floor(u) + np.floor(v)) % 2)
        out = colours[0] * (1 - t[..., None]) + colours[1] * t[..., None]
    else:
        photo = np.asarray(Image.open(textures[int(rng.integers(len(textures)))]).convert("RGB"), dtype=np.float32)
        h, w = photo.shape[:2]
        crop = rng.uniform(0.25, 0.7)
        ch, cw = max(4, int(h * crop)), max(4, int(w * crop))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        out = cv2.resize(photo[y:y + ch, x:x + cw], (width, height), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            out = out[:, ::-1]
    if rng.random() < 0.3:  # out of focus, as backgrounds often are
        out = cv2.GaussianBlur(np.ascontiguousarray(out, dtype=np.float32), (0, 0), rng.uniform(1, 4))
    return np.clip(out, 0, 255).astype(np.uint8)


def replace_background(image: np.ndarray, person: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The person cut out by ``person`` ((H, W) bool) and put on ``background`` ((H, W, 3)), with a one-pixel
    soft edge so that the cut itself is not a cue. Returns (H, W, 3) float32 in 0-255."""
    alpha = cv2.GaussianBlur(person.astype(np.float32), (3, 3), 0.7)[..., None]
    return alpha * image.astype(np.float32) + (1 - alpha) * background.astype(np.float32)


def _affine(rng: np.random.Generator, settings: AugmentSettings, height: int, width: int) -> np.ndarray | None:
    """A 2x3 matrix mapping source to output pixels (zoom about the image centre, rotation, shift), or None."""
    zoom = 1.0
    r = rng.random()
    if r < settings.zoom_out:
        zoom = rng.uniform(*settings.zoom_out_range)
    elif r < settings.zoom_out + settings.zoom_in:
        zoom = rng.uniform(*settings.zoom_in_range)
    angle = rng.uniform(-settings.rotate, settings.rotate) if settings.rotate else 0.0
    if zoom == 1.0 and angle == 0.0 and not settings.shift:
        return None
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, zoom)
    matrix[0, 2] += rng.uniform(-settings.shift, settings.shift) * width
    if zoom > 1.0:  # zoomed in: keep the top of the body in view so the head is cut, as in a head-cropped photo
        matrix[1, 2] += (zoom - 1.0) * height * rng.uniform(0.2, 0.5)
    elif zoom < 1.0:  # zoomed out: the person stands in the frame, as in a full-body photo (feet are missing)
        matrix[1, 2] += rng.uniform(-0.1, 0.5) * (1.0 - zoom) * height
    else:
        matrix[1, 2] += rng.uniform(-settings.shift, settings.shift) * height
    return matrix


def augment(image: np.ndarray, labels: np.ndarray, rng: np.random.Generator, textures: list[Path],
            settings: AugmentSettings = TRAIN_AUGMENT, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One augmented (image, labels) pair.

    Args:
        image: (H, W, 3) uint8 VITON photo; labels: (H, W) uint8 LIP labels.
        rng: the item's random generator (a fixed function of the training step: resumable).
        textures: garment photos to crop backgrounds from.
        flip: mirror (left/right labels swapped).
    Returns:
        (H, W, 3) uint8 and (H, W) uint8 (int64-safe) labels.
    """
    height, width = labels.shape
    if flip:
        image, labels = image[:, ::-1], mirror_labels(labels)
    image = image.astype(np.float32)
    new_background = rng.random() < settings.background
    matrix = _affine(rng, settings, height, width)
    if matrix is not None:
        # Outside the source the old wall continues (border colour) unless a new background replaces it.
        wall = np.median(np.concatenate([image[:4].reshape(-1, 3), image[:, :3].reshape(-1, 3)]), axis=0)
        image = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(c) for c in wall))
        labels = cv2.warpAffine(np.ascontiguousarray(labels), matrix, (width, height), flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if new_background:
        image = replace_background(image, labels > 0, random_background(rng, textures, height, width))
    if rng.random() < settings.colour:
        grey = image.mean(2, keepdims=True)
        image = grey + (image - grey) * rng.uniform(0.5, 1.4)  # saturation
        image = (image - 128) * rng.uniform(0.7, 1.3) + 128 + rng.uniform(-35, 35)  # contrast, brightness
        image = image * rng.uniform(0.85, 1.15, 3)  # white balance
        image = 255 * (np.clip(image, 0, 255) / 255) ** rng.uniform(0.75, 1.35)  # gamma
    if rng.random() < settings.blur:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < settings.noise:
        image = image + rng.normal(0, rng.uniform(2, 10), image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < settings.jpeg:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(rng.integers(30, 90)))
        image = np.asarray(Image.open(buffer).convert("RGB"))
    return np.ascontiguousarray(image), np.ascontiguousarray(labels)


class ParsingDataset(Dataset):
    """Person photos of a pairs file with their LIP parse (completed: :func:`complete_parse`), augmented.

    Items: ``image`` (3, H, W) float32 in [-1, 1], ``labels`` (H, W) int64, ``person_name``.
    Indexed by ``index`` or by ``(index, flip, position)`` from :class:`training.train.StepSampler`; the
    augmentation's random generator is seeded by (seed, position), so a resumed run sees the same items.

    Args:
        settings: augmentation (None: the photos as they are, flips only through the sampler).
        seed: base seed of the augmentation.
        cache_dir: MediaPipe detections (:func:`training.dataset.build_person_cache`, run here for the persons
            that have none): their person segmentation completes the parse (:func:`complete_parse`, step 5).
            None: without it.
        completed: the parse files already hold :func:`complete_parse`'s labels (written where MediaPipe runs, for
            training on a machine without it): read as they are. Completing them again would grow the labels by a
            pixel or two into the background along the outline (0.09% of the pixels).
    """

    def __init__(self, dataroot: str | Path, split: str, pairs: str | Path,
                 settings: AugmentSettings | None = TRAIN_AUGMENT, seed: int = 0, cache_dir: str | Path | None = None,
                 completed: bool = False):
        self.root = Path(dataroot) / split
        persons = list(dict.fromkeys(p for p, _ in read_pairs(dataroot, pairs)))
        self.items = [p for p in persons if (self.root / "image-parse" / f"{stem(p)}.png").is_file()]
        if not self.items:
            raise FileNotFoundError(f"no person of {pairs} has a parse in {self.root / 'image-parse'}")
        self.textures = sorted({self.root / "cloth" / g for _, g in read_pairs(dataroot, pairs)})
        self.settings, self.seed, self.completed = settings, seed, completed
        self.cache_dir, self.split = (Path(cache_dir) if cache_dir else None), split
        if self.cache_dir is not None:
            build_person_cache(dataroot, split, self.items, self.cache_dir)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index) -> dict:
        index, flip, position = index if isinstance(index, tuple) else (index, False, index)
        name = self.items[index]
        image = np.asarray(Image.open(self.root / "image" / name).convert("RGB"))
        labels = np.array(Image.open(self.root / "image-parse" / f"{stem(name)}.png"))
        if image.shape[:2] != (NET_HEIGHT, NET_WIDTH) or labels.shape != image.shape[:2]:
            raise ValueError(f"{name}: expected {NET_WIDTH}x{NET_HEIGHT} photo and parse")
        detection = load_detection(cache_path(self.cache_dir, self.split, name)) if self.cache_dir else None
        if not self.completed:
            labels = complete_parse(image, labels, detection.mask if detection is not None else None)
        if self.settings is not None:
            rng = np.random.default_rng([self.seed, position])
            image, labels = augment(image, labels, rng, self.textures, self.settings, flip)
        elif flip:
            image, labels = np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(mirror_labels(labels))
        return {"image": torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0),
                "labels": torch.from_numpy(labels.astype(np.int64)), "person_name": name}


def write_completed(dataroot: str | Path, split: str, pairs: str | Path, cache_dir: str | Path, out: str | Path) -> int:
    """A copy of a pairs file's dataset with :func:`complete_parse`'s labels in ``image-parse/``, for training the
    parser with ``--parse-completed`` where MediaPipe cannot run (a GPU machine): the person photos, their completed
    parse (MediaPipe's masks from ``cache_dir``, computed here for the persons that have none) and the garment photos
    the augmentation crops backgrounds from, under ``out/split``. Returns the number of persons written."""
    source, target = Path(dataroot) / split, Path(out) / split
    pairs = read_pairs(dataroot, pairs)
    persons = [p for p in dict.fromkeys(p for p, _ in pairs) if (source / "image-parse" / f"{stem(p)}.png").is_file()]
    build_person_cache(dataroot, split, persons, cache_dir)
    for folder in ("image", "image-parse", "cloth"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    for name in persons:
        image = np.asarray(Image.open(source / "image" / name).convert("RGB"))
        detection = load_detection(cache_path(Path(cache_dir), split, name))
        labels = complete_parse(image, np.array(Image.open(source / "image-parse" / f"{stem(name)}.png")),
                                detection.mask if detection is not None else None)
        labels_to_image(labels).save(target / "image-parse" / f"{stem(name)}.png", optimize=True)
        shutil.copyfile(source / "image" / name, target / "image" / name)
    for garment in sorted({g for _, g in pairs}):
        shutil.copyfile(source / "cloth" / garment, target / "cloth" / garment)
    return len(persons)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a dataset copy with completed parses (write_completed).")
    parser.add_argument("--dataroot", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--pairs", required=True)
    parser.add_argument("--cache-dir", default="cache/persons")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(f"{write_completed(args.dataroot, args.split, args.pairs, args.cache_dir, args.out)} persons -> {args.out}")
