"""From one photo of a person to the network's input: framing, keypoints, masks and the 22-channel representation."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .errors import InputError
from .image_io import NET_HEIGHT, NET_WIDTH, Framing, load_image
from .pose import COCO18_CORRECTION, PersonDetection, PersonDetector, face_oval_indices
from .representation import PersonMasks, head_mask, lower_body_mask, person_representation, smooth_mask

DETECT_MAX_SIDE = 1024  # the first, whole-photo detection runs on a copy at most this large


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
    """

    photo: Image.Image
    framing: Framing
    image: np.ndarray
    keypoints: np.ndarray
    masks: PersonMasks
    representation: torch.Tensor
    num_persons: int

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
    """

    def __init__(self, pose_model=None, face_model=None, correct_joints: bool = True):
        self.detector = PersonDetector(pose_model, face_model)
        self.correction = COCO18_CORRECTION if correct_joints else None

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "PersonAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def frame(self, photo: Image.Image) -> tuple[Framing, int]:
        """The 3:4 window around the largest person of a full-size photo, and how many persons it shows."""
        scale = min(1.0, DETECT_MAX_SIDE / max(photo.size))
        small = photo if scale == 1.0 else photo.resize(
            (max(1, round(photo.width * scale)), max(1, round(photo.height * scale))), Image.Resampling.BILINEAR)
        detection = self.detector.detect(np.asarray(small))
        x0, y0, x1, y1 = detection.box()
        framing = Framing.around((x0 / scale, y0 / scale, x1 / scale, y1 / scale), photo.width, photo.height)
        return framing, detection.num_persons

    def analyze(self, source, name: str | None = None) -> PersonAnalysis:
        """Photo (path, PIL image or array, any size) -> :class:`PersonAnalysis`.

        Raises:
            InputError: unreadable image, or no person found.
        """
        is_path = isinstance(source, (str, os.PathLike))
        photo, _ = load_image(source, name=name or (None if is_path else "person photo"))
        framing, num_persons = self.frame(photo)
        image = np.asarray(framing.crop(photo))
        analysis = self._analyze_framed(photo, framing, image)
        analysis.num_persons = max(analysis.num_persons, num_persons)  # the window may hold only the largest
        return analysis

    def analyze_network_image(self, image: np.ndarray) -> PersonAnalysis:
        """An image already framed at 256x192 (a VITON photo): no framing, same detection and drawing."""
        if image.shape != (NET_HEIGHT, NET_WIDTH, 3):
            raise InputError(f"expected a ({NET_HEIGHT}, {NET_WIDTH}, 3) image, got {image.shape}")
        photo = Image.fromarray(image)
        return self._analyze_framed(photo, Framing.whole(NET_WIDTH, NET_HEIGHT), image)

    def _analyze_framed(self, photo: Image.Image, framing: Framing, image: np.ndarray) -> PersonAnalysis:
        detection = self.detector.detect(image)
        keypoints, masks, representation = draw_person(image, detection, self.correction)
        return PersonAnalysis(photo, framing, image, keypoints, masks, representation, detection.num_persons)


def draw_person(image: np.ndarray, detection: PersonDetection, correction: np.ndarray | None = COCO18_CORRECTION,
                lower_body: bool = True) -> tuple[np.ndarray, PersonMasks, torch.Tensor]:
    """Keypoints, masks and the 22-channel representation from a detection on a framed 256x192 image.

    ``lower_body=False`` leaves ``masks.lower`` empty and skips its GrabCut (~60 ms): for users of the
    representation alone (GMM training); the representation itself does not depend on it.

    This is the one place where a photo's representation is drawn: the pipeline and training (from cached
    detections) both call it.
    """
    keypoints = detection.keypoints(correction)
    person = smooth_mask(detection.mask > 0.5)
    head = head_mask(image, person, keypoints, detection.face, _face_outline())
    lower = lower_body_mask(image, person, keypoints) & ~head if lower_body else np.zeros_like(person)
    masks = PersonMasks(person=person, head=head, lower=lower)
    return keypoints, masks, person_representation(image, masks, keypoints)


@functools.cache
def _face_outline() -> list[int]:
    return face_oval_indices()
