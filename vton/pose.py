"""Person detection from one photo with MediaPipe: OpenPose COCO-18 keypoints, a person mask and face landmarks.

MediaPipe's 33 BlazePose landmarks are mapped to COCO-18 (neck = shoulder midpoint). BlazePose places some
joints systematically elsewhere than the OpenPose annotations that CP-VTON was trained with (hips lower and wider,
neck lower); :data:`COCO18_CORRECTION` moves each mapped joint by a median offset, measured on the shared VITON
pairs in units of the shoulder width (see ``benchmarks/person_detection.py``).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .model_files import resolve_model_file

COCO18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye",
    "right_ear", "left_ear",
)
# BlazePose landmark index for each COCO-18 joint (None: neck, the shoulder midpoint)
BLAZEPOSE_FOR_COCO18 = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)

# Median (dx, dy) from the mapped BlazePose joint to the OpenPose annotation, in shoulder widths: x towards the
# person's left side (the image's right for a person facing the camera), y down. Fitted with
# `python benchmarks/person_detection.py --start 1000 --count 400 --plain --fit` (lines 1000..1399 of the shared
# train_pairs.txt). The ears are the largest: BlazePose puts them about 4 px inside OpenPose's.
COCO18_CORRECTION = np.array([
    [-0.004, +0.015],  # nose
    [-0.006, -0.007],  # neck
    [-0.014, -0.009],  # right_shoulder
    [-0.005, -0.028],  # right_elbow
    [-0.006, -0.007],  # right_wrist
    [-0.005, -0.013],  # left_shoulder
    [-0.010, -0.029],  # left_elbow
    [-0.002, -0.003],  # left_wrist
    [-0.016, -0.015],  # right_hip
    [-0.015, +0.009],  # right_knee
    [+0.000, +0.000],  # right_ankle
    [+0.002, -0.011],  # left_hip
    [+0.017, +0.008],  # left_knee
    [+0.000, +0.000],  # left_ankle
    [-0.009, +0.005],  # right_eye
    [-0.003, +0.007],  # left_eye
    [-0.060, +0.008],  # right_ear
    [+0.042, +0.012],  # left_ear
], dtype=np.float32)

VISIBILITY_THRESHOLD = 0.3
LEG_JOINTS = (9, 10, 12, 13)  # knees and ankles
EDGE_TOLERANCE = 0.08  # legs up to 8 % of the height below the photo are put on its edge


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the C++ log lines that MediaPipe/LiteRT print (fd 2, not sys.stderr). One thread at a time: fd 2
    is process-wide, and two overlapping redirections would lose the real stderr."""
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@dataclass
class PersonDetection:
    """One person in an RGB photo of size (H, W): what MediaPipe gives, before any drawing.

    landmarks: (33, 4) float32 BlazePose landmarks, normalised (x, y) in [0, 1] of the photo, visibility, presence.
    mask: (H, W) float32 person segmentation in [0, 1].
    face: (478, 2) float32 face landmarks in photo pixels, or None when no face was found.
    num_persons: persons MediaPipe found; this is the largest of them.
    """

    landmarks: np.ndarray
    mask: np.ndarray
    face: np.ndarray | None
    num_persons: int

    def keypoints(self, correction: np.ndarray | None = COCO18_CORRECTION) -> np.ndarray:
        """(18, 3) COCO-18 (x, y, confidence) in photo pixels, see :func:`blazepose_to_coco18`."""
        height, width = self.mask.shape
        return blazepose_to_coco18(self.landmarks, width, height, correction)

    def box(self, threshold: float = 0.5) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the person mask, end-exclusive."""
        ys, xs = np.nonzero(self.mask > threshold)
        return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def blazepose_to_coco18(landmarks: np.ndarray, width: int, height: int,
                        correction: np.ndarray | None = COCO18_CORRECTION) -> np.ndarray:
    """Map BlazePose landmarks to COCO-18 keypoints.

    Knees and ankles that BlazePose places just below the photo's lower edge are put on the edge, as OpenPose
    annotates them (VITON photos often end at the knees).

    Args:
        landmarks: (33, 4) normalised (x, y, visibility, presence).
        width, height: photo size in pixels.
        correction: (18, 2) offsets in shoulder widths, or None for the plain mapping.
    Returns:
        (18, 3) float32 (x, y, confidence) in pixels; joints that are not visible or lie outside the photo are 0.
    """
    xy = landmarks[:, :2] * np.array([width, height], dtype=np.float32)
    conf = landmarks[:, 2]
    out = np.zeros((18, 3), dtype=np.float32)
    for j, b in enumerate(BLAZEPOSE_FOR_COCO18):
        if b is None:  # neck
            out[j, :2] = 0.5 * (xy[11] + xy[12])
            out[j, 2] = min(conf[11], conf[12])
        else:
            out[j, :2] = xy[b]
            out[j, 2] = conf[b]
    if correction is not None:
        shoulder_width = float(np.linalg.norm(xy[11] - xy[12]))
        facing = 1.0 if xy[11, 0] >= xy[12, 0] else -1.0  # +1: the person's left shoulder is on the image's right
        out[:, :2] += correction * np.array([facing, 1.0], dtype=np.float32) * shoulder_width
    below = (out[:, 1] >= height - 1) & (out[:, 1] < height * (1 + EDGE_TOLERANCE))
    legs = np.isin(np.arange(18), LEG_JOINTS)
    out[below & legs, 1] = height - 1.5
    inside = (out[:, 0] > 1) & (out[:, 1] > 1) & (out[:, 0] < width - 1) & (out[:, 1] < height - 1)
    out[~(inside & (out[:, 2] >= VISIBILITY_THRESHOLD))] = 0.0
    return out


_LIVE_DETECTORS: "weakref.WeakSet[PersonDetector]" = weakref.WeakSet()


@atexit.register
def _close_live_detectors() -> None:
    """Close detectors still open at exit, before MediaPipe's own teardown complains about them."""
    for detector in list(_LIVE_DETECTORS):
        detector.close()


class PersonDetector:
    """MediaPipe PoseLandmarker (with segmentation) + FaceLandmarker, loaded once; use as a context manager or
    call :meth:`close`.

    Args:
        pose_model, face_model: bundle paths; None resolves them (see :mod:`vton.model_files`).
        max_persons: persons to look for; the largest one is returned.
    """

    def __init__(self, pose_model=None, face_model=None, max_persons: int = 3, video: bool = False):
        from mediapipe.tasks.python import BaseOptions, vision  # heavy import, only when a detector is built

        self._vision = vision
        self.video = video
        mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
        pose_path = resolve_model_file("pose", pose_model)
        face_path = resolve_model_file("face", face_model)
        with _quiet_stderr():
            self._pose = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(pose_path)),
                running_mode=mode, num_poses=max_persons, output_segmentation_masks=True,
                min_pose_detection_confidence=0.5, min_pose_presence_confidence=0.5,
            ))
            self._face = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(face_path)),
                running_mode=mode, num_faces=1,
            ))
        _LIVE_DETECTORS.add(self)

    def close(self) -> None:
        for attr in ("_pose", "_face"):
            landmarker = getattr(self, attr, None)
            if landmarker is not None:
                with _quiet_stderr():
                    landmarker.close()
                setattr(self, attr, None)

    def __enter__(self) -> "PersonDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    def detect(self, rgb: np.ndarray, timestamp_ms: int | None = None, face: bool = True) -> PersonDetection:
        """Detect the largest person in an (H, W, 3) uint8 RGB photo.

        Args:
            timestamp_ms: a video detector's frame time (strictly increasing; MediaPipe then tracks the person
                from frame to frame instead of detecting it anew).
            face: also run the face landmarker (~3 ms; the masks from a human parser do not use it).
        Raises:
            InputError: no person found.
        """
        import mediapipe as mp

        if self._pose is None:
            raise RuntimeError("PersonDetector is closed")
        height, width = rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with _quiet_stderr():  # MediaPipe's C++ layer warns on stderr about alignment and ROI: noise for users
            if self.video:
                if timestamp_ms is None:
                    raise ValueError("a video detector needs each frame's timestamp_ms")
                result = self._pose.detect_for_video(image, timestamp_ms)
                faces = self._face.detect_for_video(image, timestamp_ms).face_landmarks \
                    if face and result.pose_landmarks else None
            else:
                result = self._pose.detect(image)
                faces = self._face.detect(image).face_landmarks if face and result.pose_landmarks else None
        if not result.pose_landmarks:
            raise InputError("no person found in the photo")
        masks = [m.numpy_view().reshape(height, width).astype(np.float32) for m in result.segmentation_masks]
        areas = [float((m > 0.5).sum()) for m in masks]
        best = int(np.argmax(areas))
        if areas[best] < 0.01 * height * width:
            raise InputError("no person found in the photo (the detected person is too small)")
        landmarks = np.array([[p.x, p.y, p.visibility or 0.0, p.presence or 0.0] for p in result.pose_landmarks[best]],
                             dtype=np.float32)
        face = None
        if faces:
            face = np.array([[p.x * width, p.y * height] for p in faces[0]], dtype=np.float32)
        return PersonDetection(landmarks, masks[best], face, num_persons=len(result.pose_landmarks))


def face_oval_indices() -> list[int]:
    """Indices of the 478 face landmarks that trace the face outline, in order around the face."""
    from mediapipe.tasks.python import vision

    edges = [(c.start, c.end) for c in vision.FaceLandmarksConnections.FACE_LANDMARKS_FACE_OVAL]
    following = dict(edges)
    start = edges[0][0]
    order = [start]
    while following[order[-1]] != start and len(order) < len(edges):
        order.append(following[order[-1]])
    return order
