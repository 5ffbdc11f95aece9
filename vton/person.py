"""From one photo of a person to the network's input: framing, keypoints, masks and the 22-channel representation."""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from PIL import Image

from .errors import InputError
from .image_io import NET_HEIGHT, NET_WIDTH, Framing, load_image
from .pose import COCO18_CORRECTION, PersonDetection, PersonDetector, face_oval_indices
from .parsing import HumanParser, fill_garment_holes, labels_at_photo, labels_in_window, smooth_waistline
from .representation import (HEAD_LABELS, NECK_LABEL, PersonMasks, dress_below_waist_as_skirt, head_mask,
                             lower_body_mask, masks_from_labels, person_representation, smooth_mask, wears_a_dress)
from .fit import armpit_row
from .leftovers import garment_leftovers
from .shading import garment_light
from .skin import body_model, skin_colour, under_old_garment

DETECT_MAX_SIDE = 1024  # the first, whole-photo detection runs on a copy at most this large
# the parser's scales where the labels are the product and time matters less (vton parse, prepare): mirror-averaged
# at these three it meets every IoU target of the parsing issue, at three times the network's time
OFFLINE_PARSE_SCALES = (1.0, 0.875, 1.125)
NECK_RIM = 0.003  # of the height: the neck's pixels this close to the old upper garment are the garment's edge
# How VITON frames its persons, in network pixels (medians over 497 held-out VITON photos, MediaPipe joints): the
# neck joint 84 px below the top, the torso (neck to mid-hips) 118 px long, shoulders 78 px apart, the body centred;
# the frame ends about half a torso below the hips (mid-thigh), the head's top touches the frame's top.
VITON_NECK_Y = 84.0
VITON_TORSO = 118.0
VITON_SHOULDERS = 78.0
HEAD_JOINTS = (0, 14, 15, 16, 17)  # COCO-18 nose, eyes, ears


@dataclass
class PersonAnalysis:
    """A person photo prepared for the networks.

    photo: the full-resolution RGB photo (EXIF-rotated).
    framing: the 3:4 window of the photo that the network sees, and the mapping back.
    image: (256, 192, 3) uint8 network input.
    keypoints: (18, 3) COCO-18 (x, y, confidence) in network pixels; missing joints are 0.
    masks: person, head and lower-body masks at network resolution.
    representation: (22, 256, 192) float32 in [-1, 1].
    num_persons: persons found in the photo (the largest is used).
    parse: (20, 256, 192) float32 label probabilities of the human parser, or None without one;
        :attr:`labels` is their argmax and :meth:`labels_in_photo` the labels at the photo's resolution.
    timings: seconds of the steps measured apart (the parser network: 'parse').
    """

    photo: Image.Image
    framing: Framing
    image: np.ndarray
    keypoints: np.ndarray
    masks: PersonMasks
    representation: torch.Tensor
    num_persons: int
    parse: torch.Tensor | None = None
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)  # labels, and masks / drawings per window size

    @property
    def labels(self) -> np.ndarray | None:
        """(256, 192) uint8 labels of the framed person (see :mod:`vton.parsing`), or None without a parser."""
        if self.parse is None:
            return None
        if "labels" not in self._cache:  # the analysis seeds it; else computed once, asked for several times
            self._cache["labels"] = self.parse.max(0).indices.numpy().astype(np.uint8)
        return self._cache["labels"]

    def labels_in_photo(self, max_side: int | None = None) -> np.ndarray:
        """(H, W) uint8 labels at the photo's own resolution, edges refined on the photo (guided filter)."""
        if self.parse is None:
            raise ValueError("no human parser was used for this analysis")
        return labels_at_photo(self.parse, self.framing, self.photo, max_side)

    def masks_in_window(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The old upper garment and the head over the framed window at ``size`` (W, H), as soft (H, W) float32
        masks in [0, 1] for the composition at photo resolution (:meth:`vton.pipeline.TryOnPipeline._paste`).

        With the parser, its labels refined on the photo (guided filter), so the edges are the photo's; the
        garment grown by one network pixel to take in its fringe. Without, the 256x192 masks upsampled.
        Computed once per size (a garment reused for many try-ons of one person).
        """
        if size in self._cache:
            return self._cache[size]
        height = size[1]
        if self.parse is None:
            upper, head = (cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
                           for m in (self.masks.upper, self.masks.head))
        else:
            window, labels, keypoints = self.window(size)
            masks = masks_from_labels(labels, keypoints, with_hidden=False)
            # the straps and cuffs its labels leave out (vton.leftovers)
            leftovers = garment_leftovers(window, labels, masks.upper, keypoints)
            self._cache[("leftovers", size)] = leftovers
            upper = masks.upper | leftovers
            grow = 2 * max(1, round(height / NET_HEIGHT)) + 1
            upper = cv2.dilate(upper.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
            # a strap over the neck's skin is not head (the head is never changed)
            head = masks.head & ~cv2.dilate(leftovers.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            neck = head & ~np.isin(labels, HEAD_LABELS)
            # nor is the neck's rim along the old garment: the labels leave the garment's pale edge to the neck, and
            # kept, it drew a grey line along the old neckline above skin drawn where the new garment is lower
            r = max(1, round(NECK_RIM * height))
            skin = neck | (labels == NECK_LABEL)  # with a neckline's bare skin, which the head may leave out
            near = cv2.dilate(masks.upper.astype(np.uint8), np.ones((2 * r + 1,) * 2, np.uint8)) > 0
            # nor are its frayed bits beyond (thinner than the rim): the labels, refined on the photo, mix the neck
            # into a pale stitching of the old collar, and kept, it showed as grey squiggles in the skin drawn below
            away = skin & ~near
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
            frayed = away & ~cv2.morphologyEx(away.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
            rim = (skin & near) | frayed
            head, neck = head & ~rim, neck & ~rim
            self._cache[("neck_rim", size)] = rim
            self._cache[("neck", size)] = cv2.GaussianBlur(neck.astype(np.float32), (0, 0), 1.0)
            upper, head = (cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.0) for m in (upper, head))
        self._cache[size] = (upper, head)
        return upper, head

    def neck_in_window(self, size: tuple[int, int]) -> np.ndarray | None:
        """The neck's part of :meth:`masks_in_window`'s head (the skin above the shoulder line, not face or hair),
        soft (H, W) float32 in [0, 1]; None without the parser."""
        self.masks_in_window(size)
        return self._cache.get(("neck", size))

    def neck_rim_in_window(self, size: tuple[int, int]) -> np.ndarray | None:
        """(H, W) bool: the neck's (and a neckline's bare skin's) rim along the old upper garment, which
        :meth:`masks_in_window` leaves out of the head (the garment's pale edge); None without the parser."""
        self.masks_in_window(size)
        return self._cache.get(("neck_rim", size))

    def wears_a_dress(self) -> bool:
        """Whether the old upper garment is a dress (:func:`vton.representation.wears_a_dress`, on the 256x192
        labels); False without the parser."""
        if self.parse is None:
            return False
        if "dress" not in self._cache:
            self._cache["dress"] = wears_a_dress(self.image, self.labels, self.keypoints)
        return self._cache["dress"]

    def leftovers_in_window(self, size: tuple[int, int]) -> np.ndarray | None:
        """The old garment's straps and cuffs that its labels leave out (:func:`vton.leftovers.garment_leftovers`,
        part of :meth:`masks_in_window`'s garment) as (H, W) bool over the window at ``size`` (W, H); None without
        the parser."""
        self.masks_in_window(size)
        return self._cache.get(("leftovers", size))

    def under_garment(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """What the old upper garment hides, drawn over the framed window at ``size`` (W, H): the person's skin
        and the background (:func:`vton.skin.under_old_garment`); None without the parser (or without the joints
        or any visible skin). Computed once per size."""
        key = ("under", size)
        if key not in self._cache:
            under = None
            if self.parse is not None:
                window, labels, keypoints = self.window(size)
                under = under_old_garment(window, labels, keypoints, self.masks_in_window(size)[0])
            self._cache[key] = under
        return self._cache[key]

    def torso_skin(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """The torso over the framed window at ``size`` (W, H) as an (H, W) bool mask (:func:`vton.skin.body_model`)
        and the skin colour the photo shows ((3,) RGB, :func:`vton.skin.skin_colour`); None without the parser,
        both shoulders or visible skin. Computed once per size."""
        key = ("torso_skin", size)
        if key not in self._cache:
            out = None
            if self.parse is not None:
                window, labels, keypoints = self.window(size)
                body = body_model(keypoints, size[1], size[0])
                skin = skin_colour(window, labels, self.masks_in_window(size)[0] > 0.5)
                if body is not None and skin is not None:
                    out = (body[1], skin[0])
            self._cache[key] = out
        return self._cache[key]

    def garment_light(self, size: tuple[int, int]) -> np.ndarray | None:
        """The light on the old upper garment over the framed window at ``size`` (W, H) (:func:`vton.shading.
        garment_light`); None without the parser, or where the old garment does not show its light. Computed once
        per size."""
        key = ("garment_light", size)
        if key not in self._cache:
            self._cache[key] = None if self.parse is None else garment_light(self.window(size)[0],
                                                                              self.masks_in_window(size)[0] > 0.5)
        return self._cache[key]

    def armpit_row(self, size: tuple[int, int]) -> int:
        """The armpits' row in the framed window at ``size`` (W, H) (:func:`vton.fit.armpit_row`)."""
        return armpit_row(self._keypoints_in_window(size), size[1])

    def window(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The framed window of the photo at ``size`` (W, H) as (H, W, 3) uint8, its guided labels, and the
        keypoints in its pixels (cached)."""
        key = ("window", size)
        if key not in self._cache:
            window = np.asarray(self.framing.crop(self.photo, size))
            labels = smooth_waistline(labels_in_window(self.parse, window))  # (a ragged hem followed it)
            self._cache[key] = (window, labels, self._keypoints_in_window(size))
        return self._cache[key]

    def skirt_labels_in_window(self, size: tuple[int, int]) -> np.ndarray:
        """The window's labels (:meth:`window`) with a dress below the waist relabelled skirt
        (:func:`vton.representation.dress_below_waist_as_skirt`, what a top replacing the old one leaves), cached:
        the same for every garment tried on."""
        key = ("skirt_labels", size)
        if key not in self._cache:
            _, labels, keypoints = self.window(size)
            self._cache[key] = dress_below_waist_as_skirt(labels, keypoints)
        return self._cache[key]

    def _keypoints_in_window(self, size: tuple[int, int]) -> np.ndarray:
        """(18, 3) keypoints in the pixels of the framed window at ``size`` (W, H)."""
        keypoints = self.keypoints.copy()
        keypoints[:, :2] *= size[1] / NET_HEIGHT
        return keypoints

    def keypoints_in_photo(self) -> np.ndarray:
        """(18, 3) keypoints in the photo's pixels (missing joints stay 0, 0, 0)."""
        out = self.keypoints.copy()
        present = out[:, 2] > 0
        out[present, :2] = self.framing.to_photo(out[present, :2])
        return out


class PersonAnalyzer:
    """Loads MediaPipe once; :meth:`analyze` turns photos into :class:`PersonAnalysis`.

    Args:
        pose_model, face_model: MediaPipe bundle paths (None: resolved, see :mod:`vton.model_files`).
        correct_joints: apply the measured BlazePose -> OpenPose joint correction.
        parser: the human parser; with it, the person, head and lower-body masks come from its labels, without it
            from MediaPipe's mask, face landmarks and colour heuristics.
        parse_scales: the scales the parser sees each photo at (:meth:`HumanParser.probabilities`): one for the
            try-on (its time budget); :data:`OFFLINE_PARSE_SCALES` for ``vton parse`` and ``prepare``.
    """

    def __init__(self, pose_model=None, face_model=None, correct_joints: bool = True,
                 parser: HumanParser | None = None, parse_scales: tuple[float, ...] = (1.0,)):
        self.detector = PersonDetector(pose_model, face_model)
        self.correction = COCO18_CORRECTION if correct_joints else None
        self.parser = parser
        self.parse_scales = tuple(parse_scales)

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "PersonAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def frame(self, photo: Image.Image) -> tuple[Framing, int]:
        """The 3:4 window around the largest person of a full-size photo, and how many persons it shows.

        The detection runs on a copy at most DETECT_MAX_SIDE large; where it finds nobody in a larger photo, on
        overlapping full-resolution tiles of that size (a small person in a big photo).
        """
        scale = min(1.0, DETECT_MAX_SIDE / max(photo.size))
        small = photo if scale == 1.0 else photo.resize(
            (max(1, round(photo.width * scale)), max(1, round(photo.height * scale))), Image.Resampling.BILINEAR)
        try:
            detection = self.detector.detect(np.asarray(small), face=False)  # framing: pose and mask only
        except InputError:
            if scale == 1.0:
                raise
            return self._frame_in_tiles(photo)
        return self.framing_of(detection, photo.width, photo.height, scale), detection.num_persons

    def framing_of(self, detection: PersonDetection, width: int, height: int, scale: float = 1.0) -> Framing:
        """The VITON framing (:func:`viton_framing`) of a detection made on a copy of a ``width`` x ``height``
        photo resized by ``scale``."""
        x0, y0, x1, y1 = detection.box()
        keypoints = detection.keypoints(self.correction)
        keypoints[:, :2] /= scale
        box = (x0 / scale, y0 / scale, x1 / scale, y1 / scale)
        return viton_framing(keypoints, head_top(detection.mask > 0.5, keypoints * [scale, scale, 1]) / scale, box,
                             width, height)

    def _frame_in_tiles(self, photo: Image.Image) -> tuple[Framing, int]:
        """Detection on DETECT_MAX_SIDE tiles overlapping by a quarter; the largest person found wins."""
        step = DETECT_MAX_SIDE * 3 // 4
        best, best_area = None, 0.0
        for top in range(0, max(1, photo.height - DETECT_MAX_SIDE + step), step):
            for left in range(0, max(1, photo.width - DETECT_MAX_SIDE + step), step):
                tile = photo.crop((left, top, min(photo.width, left + DETECT_MAX_SIDE),
                                   min(photo.height, top + DETECT_MAX_SIDE)))
                try:
                    detection = self.detector.detect(np.asarray(tile), face=False)
                except InputError:
                    continue
                area = float((detection.mask > 0.5).sum())
                if area > best_area:
                    x0, y0, x1, y1 = detection.box()
                    best, best_area = ((x0 + left, y0 + top, x1 + left, y1 + top), detection.num_persons), area
        if best is None:
            raise InputError("no person found in the photo")
        box, num_persons = best
        return Framing.around(box, photo.width, photo.height), num_persons

    def analyze(self, source, name: str | None = None, require_head: bool = True) -> PersonAnalysis:
        """Photo (path, PIL image or array, any size) -> :class:`PersonAnalysis`.

        ``require_head``: refuse a photo that does not show the head (a try-on needs it to frame the person and
        to place the garment; parsing and pose do not).

        Raises:
            InputError: unreadable image, no person found, or (``require_head``) no head in the photo.
        """
        is_path = isinstance(source, (str, os.PathLike))
        photo, _ = load_image(source, name=name or (None if is_path else "person photo"))
        framing, num_persons = self.frame(photo)
        image = np.asarray(framing.crop(photo))
        analysis = self.analyze_window(photo, framing, image)
        analysis.num_persons = max(analysis.num_persons, num_persons)  # the window may hold only the largest
        if not require_head:
            return analysis
        head = analysis.keypoints_in_photo()[list(HEAD_JOINTS)]
        inside = (head[:, 2] > 0) & (head[:, 0] >= 0) & (head[:, 1] >= 0) & (head[:, 0] < photo.width) \
            & (head[:, 1] < photo.height)  # not guessed in the white padding of a window above the photo
        if analysis.parse is not None and inside.any() and (analysis.keypoints[[2, 5], 2] > 0).all():
            # MediaPipe guesses a face from a chin; the parse does not: the face and hair inside the photo must
            # cover a tenth of a square of shoulder width (VITON's median: a quarter for the face alone)
            first_row = max(0, int(np.ceil(-analysis.framing.top / analysis.framing.scale)))
            head_area = np.isin(analysis.labels[first_row:], HEAD_LABELS).sum()
            shoulders = np.linalg.norm(analysis.keypoints[2, :2] - analysis.keypoints[5, :2])
            inside &= head_area >= 0.1 * shoulders ** 2
        if not inside.any():
            # without a head the frame, the warp and the TOM's input make no sense: a garment drawn on the chest
            raise InputError("the photo does not show the person's head: use a photo from the top of the head to "
                             "at least the waist")
        return analysis

    def analyze_network_image(self, image: np.ndarray) -> PersonAnalysis:
        """An image already framed at 256x192 (a VITON photo): no framing, same detection and drawing."""
        if image.shape != (NET_HEIGHT, NET_WIDTH, 3):
            raise InputError(f"expected a ({NET_HEIGHT}, {NET_WIDTH}, 3) image, got {image.shape}")
        photo = Image.fromarray(image)
        return self.analyze_window(photo, Framing.whole(NET_WIDTH, NET_HEIGHT), image)

    def analyze_window(self, photo: Image.Image, framing: Framing, image: np.ndarray,
                        detection: PersonDetection | None = None) -> PersonAnalysis:
        """The analysis of the framed 256x192 ``image``; ``detection``: its person already detected (live video:
        the frame's tracked detection mapped into the window), else detected here (the face only without a
        parser: the parse gives the head)."""
        if detection is None:
            detection = self.detector.detect(image, face=self.parser is None)
        start = time.perf_counter()
        # averaged with the mirrored photo's labels: +0.2 points of mean IoU on held-out photos for ~10 ms
        parse = None if self.parser is None else self.parser.predict(image, True, self.parse_scales)[0].cpu()
        # torch's max over the first dim gives the same indices as its argmax there in a quarter of the time (~3 ms)
        labels = None if parse is None else parse.max(0).indices.numpy().astype(np.uint8)
        if parse is not None:  # a dark bodice parsed as background would be a hole through the new garment
            parse, labels = fill_garment_holes(parse, labels, image)
        parse_seconds = time.perf_counter() - start
        keypoints, masks, representation = draw_person(image, detection, self.correction, labels=labels)
        analysis = PersonAnalysis(photo, framing, image, keypoints, masks, representation, detection.num_persons,
                                  parse, {"parse": parse_seconds} if parse is not None else {})
        if labels is not None:
            analysis._cache["labels"] = labels  # the argmax, with the holes filled, computed once
        return analysis


def head_top(person: np.ndarray, keypoints: np.ndarray) -> float:
    """The highest row of the person mask ((H, W) bool) above the neck and within half a shoulder width of it
    (hands raised above the head do not count); the box's top without neck and shoulders."""
    rows = np.nonzero(person.any(1))[0]
    if len(rows) == 0:
        return 0.0
    if not (keypoints[[1, 2, 5], 2] > 0).all():
        return float(rows[0])
    half = 0.5 * float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    x = int(round(keypoints[1, 0]))
    band = person[: max(1, int(keypoints[1, 1])), max(0, int(x - half)): max(1, int(x + half + 1))]
    rows = np.nonzero(band.any(1))[0]
    return float(rows[0]) if len(rows) else float(keypoints[1, 1])


def viton_framing(keypoints: np.ndarray, top_of_head: float, box: tuple[float, float, float, float], width: int,
                  height: int) -> Framing:
    """The 3:4 window that frames a photographed person as VITON does (top of the head to mid-thigh), whatever
    the photo shows (full body, half body, seated), so the torso gets the network's pixels.

    The scale comes from the torso (neck to hips) or, larger when the shoulders need it or without hips, from the
    shoulder width; the window is grown where it would cut the head. Without neck and shoulders: the person box
    (:meth:`Framing.around`).

    Args:
        keypoints: (18, 3) COCO-18 in photo pixels (missing joints have confidence 0).
        top_of_head: the head's highest row in photo pixels (:func:`head_top`).
        box: (x0, y0, x1, y1) the person mask's box in photo pixels.
        width, height: the photo's size.
    """
    present = keypoints[:, 2] > 0
    if not present[[1, 2, 5]].all():
        return Framing.around(box, width, height)
    neck = keypoints[1, :2].astype(np.float64)
    shoulders = float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    scale = shoulders / VITON_SHOULDERS
    centre_x = neck[0]
    if present[8] and present[11]:
        hips = keypoints[[8, 11], :2].mean(0)
        # the torso sets the scale; the shoulders only where they would be wider than VITON's widest (a torso
        # foreshortened by a bow or a seated pose)
        scale = max(scale / 1.2, float(hips[1] - neck[1]) / VITON_TORSO)
        centre_x = (neck[0] + hips[0]) / 2
    top = neck[1] - VITON_NECK_Y * scale
    bottom = top + NET_HEIGHT * scale
    if top_of_head < top:  # the head reaches higher than VITON's: a taller window, the same bottom
        top = top_of_head - 0.02 * (bottom - top_of_head)
        scale = (bottom - top) / NET_HEIGHT
    return Framing(centre_x - NET_WIDTH / 2 * scale, top, scale, width, height)


def draw_person(image: np.ndarray, detection: PersonDetection, correction: np.ndarray | None = COCO18_CORRECTION,
                lower_body: bool = True,
                labels: np.ndarray | None = None) -> tuple[np.ndarray, PersonMasks, torch.Tensor]:
    """Keypoints, masks and the 22-channel representation from a detection on a framed 256x192 image.

    With ``labels`` ((256, 192) uint8, our parser's), the masks are the parse's (:func:`masks_from_labels`);
    without, MediaPipe's person mask, the face landmarks and colour heuristics give them. ``lower_body=False``
    leaves ``masks.lower`` empty and skips the heuristics' GrabCut (~60 ms): for users of the representation alone
    (GMM training); the representation itself does not depend on it.

    This is the one place where a photo's representation is drawn: the pipeline and training (from cached
    detections) both call it.
    """
    keypoints = detection.keypoints(correction)
    if labels is not None:
        masks = masks_from_labels(labels, keypoints)
        if not lower_body:
            masks.lower = np.zeros_like(masks.lower)
        return keypoints, masks, person_representation(image, masks, keypoints)
    person = smooth_mask(detection.mask > 0.5)
    head = head_mask(image, person, keypoints, detection.face, _face_outline())
    lower = lower_body_mask(image, person, keypoints) & ~head if lower_body else np.zeros_like(person)
    # without a parse, the garment, torso and arms are not told apart: all of the body but head and lower body
    upper = person & ~head & ~lower
    masks = PersonMasks(person=person, head=head, lower=lower, upper=upper, hidden=upper)
    return keypoints, masks, person_representation(image, masks, keypoints)


@functools.cache
def _face_outline() -> list[int]:
    return face_oval_indices()
