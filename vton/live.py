"""Live try-on: a video's frames dressed one after another in one garment, steady from frame to frame.

Per frame: MediaPipe in VIDEO mode on the whole frame (it tracks the person instead of detecting it anew), the
landmarks smoothed over time (an exponential moving average), the VITON framing from them, smoothed too, then the
pipeline's analysis of the window (parse, masks, representation) with the frame's detection mapped into it (no
second pose pass), the warp, the TOM and the composition. Without the smoothing, the joints move by a pixel or two
between frames of a still person, and the warped garment shivers.

    live = LiveTryOn(pipeline, pipeline.prepare_garment("tee.jpg"))
    for frame in frames:            # (H, W, 3) uint8 RGB
        out = live(frame).image     # the frame, wearing the tee
"""
from __future__ import annotations

import time

import numpy as np
from PIL import Image

from .errors import InputError
from .image_io import NET_HEIGHT, NET_WIDTH, Framing
from .garment import GarmentInput
from .pipeline import TryOnPipeline, TryOnResult
from .pose import PersonDetection, PersonDetector

LANDMARK_SMOOTHING = 0.5  # weight of the previous frame's landmarks (0: none; 0.5 halves a one-frame jitter)
FRAMING_SMOOTHING = 0.8  # the framing moves slower still: the whole garment shifts with it
RESET_MOVE = 0.25  # a framing that moves by this fraction of its height (a new person, a jump) is not smoothed


class LiveTryOn:
    """Dress the frames of one video stream in ``garment`` (see the module's docstring). Not thread-safe: one
    instance per stream.

    Args:
        pipeline: a loaded :class:`vton.TryOnPipeline` (its parser, GMM and TOM are shared).
        garment: the garment, prepared once (:meth:`TryOnPipeline.prepare_garment`).
    """

    def __init__(self, pipeline: TryOnPipeline, garment: GarmentInput):
        self.pipeline, self.garment = pipeline, garment
        self.detector = PersonDetector(video=True)  # its own MediaPipe graphs: tracking state is per stream
        self._landmarks: np.ndarray | None = None
        self._framing: Framing | None = None
        self._last_ms = -1
        # worn over the clothes or replacing them: chosen on a person's first frame and kept while they stay in
        # view, so that a share of skin to draw near the pipeline's bound does not flicker between the two
        self._over_clothes: bool | None = None

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> LiveTryOn:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, frame: np.ndarray, timestamp_ms: int | None = None) -> TryOnResult:
        """One frame ((H, W, 3) uint8 RGB) -> the try-on (``.image`` is the dressed frame, at the frame's size).

        Raises:
            InputError: no person in the frame (the smoothing starts afresh with the next one).
        """
        timestamp_ms = int(time.monotonic() * 1000) if timestamp_ms is None else int(timestamp_ms)
        timestamp_ms = max(timestamp_ms, self._last_ms + 1)  # MediaPipe wants strictly increasing times
        self._last_ms = timestamp_ms
        photo = Image.fromarray(np.ascontiguousarray(frame[..., :3]))
        try:
            detection = self.detector.detect(np.asarray(photo), timestamp_ms, face=False)
        except InputError:
            self._landmarks = self._framing = self._over_clothes = None
            raise
        detection.landmarks[:, :2] = self._smooth_landmarks(detection.landmarks[:, :2])
        analyzer = self.pipeline.analyzer
        framing = self._smooth_framing(analyzer.framing_of(detection, photo.width, photo.height))
        image = np.asarray(framing.crop(photo))
        analysis = analyzer.analyze_window(photo, framing, image, detection_in_window(detection, framing))
        result = self.pipeline(analysis, self.garment, over_clothes=self._over_clothes)
        self._over_clothes = result.over_clothes
        return result

    def _smooth_landmarks(self, xy: np.ndarray) -> np.ndarray:
        if self._landmarks is None or self._landmarks.shape != xy.shape:
            self._landmarks = xy.copy()
        else:
            self._landmarks = LANDMARK_SMOOTHING * self._landmarks + (1 - LANDMARK_SMOOTHING) * xy
        return self._landmarks

    def _smooth_framing(self, framing: Framing) -> Framing:
        previous = self._framing
        if previous is not None and abs(framing.top - previous.top) + abs(framing.left - previous.left) \
                < RESET_MOVE * framing.height and abs(framing.scale / previous.scale - 1) < RESET_MOVE:
            a = FRAMING_SMOOTHING
            framing = Framing(a * previous.left + (1 - a) * framing.left, a * previous.top + (1 - a) * framing.top,
                              a * previous.scale + (1 - a) * framing.scale, framing.image_width,
                              framing.image_height)
        self._framing = framing
        return framing


def detection_in_window(detection: PersonDetection, framing: Framing) -> PersonDetection:
    """A whole frame's detection as if made on the framed 256x192 window: landmarks renormalised to the window,
    the person mask cropped to it."""
    height, width = detection.mask.shape
    landmarks = detection.landmarks.copy()
    landmarks[:, 0] = (landmarks[:, 0] * width - framing.left) / framing.width
    landmarks[:, 1] = (landmarks[:, 1] * height - framing.top) / framing.height
    mask = Image.fromarray((detection.mask * 255).astype(np.uint8))
    window_mask = np.asarray(framing.crop(mask, (NET_WIDTH, NET_HEIGHT), fill=0)).astype(np.float32) / 255
    return PersonDetection(landmarks, window_mask, None, detection.num_persons)
