"""Live try-on: webcam-like frames of a real person, dressed one after another, steady from frame to frame."""
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from vton.errors import InputError
from vton.live import LiveTryOn
from vton.pipeline import TryOnPipeline

PERSON = ROOT / "demo" / "persons" / "000227_0.jpg"
GARMENT = ROOT / "demo" / "garments" / "000257_1.jpg"  # a black short-sleeved top


def frames(count: int, seed: int = 0, shake: int = 0) -> list[tuple[np.ndarray, int, int]]:
    """640x512 frames of the person with sensor noise, as a still webcam gives, shifted by up to ``shake`` px."""
    canvas = Image.new("RGB", (640, 512), (235, 235, 235))
    canvas.paste(Image.open(PERSON).convert("RGB").resize((384, 512)), (128, 0))
    base, rng = np.asarray(canvas), np.random.default_rng(seed)
    out = []
    for _ in range(count):
        dx, dy = (int(v) for v in rng.integers(-shake, shake + 1, 2))
        frame = np.roll(base, (dy, dx), (0, 1)).astype(np.int16) + rng.normal(0, 3, base.shape).astype(np.int16)
        out.append((np.clip(frame, 0, 255).astype(np.uint8), dx, dy))
    return out


@pytest.fixture(scope="module")
def pipeline():
    with TryOnPipeline.from_pretrained(device="cpu") as pipe:
        yield pipe


def test_frames_are_dressed_and_the_framing_is_steadier_than_frame_by_frame(pipeline):
    """A person standing still: the detections still differ from frame to frame (sensor noise), and the window
    (so the garment) moves less when smoothed than when each frame is framed on its own."""
    garment = pipeline.prepare_garment(GARMENT)
    video = frames(16, shake=0)
    live_windows, alone_windows = [], []
    with LiveTryOn(pipeline, garment) as live:
        for i, (frame, _, _) in enumerate(video):
            result = live(frame, timestamp_ms=100 * i)
            assert result.image.size == (640, 512)
            live_windows.append((live._framing.left, live._framing.top, live._framing.height))
            alone = pipeline.analyzer.frame(Image.fromarray(frame))[0]
            alone_windows.append((alone.left, alone.top, alone.height))
        dressed = np.asarray(result.image).astype(int)
    # the grey tee became the black top: the chest is dark now
    chest = dressed[200:280, 280:360]
    assert chest.mean() < 90 and np.asarray(video[-1][0])[200:280, 280:360].mean() > 120
    shake_live = np.std(live_windows[4:], axis=0).sum()
    shake_alone = np.std(alone_windows[4:], axis=0).sum()
    assert shake_alone > 0.2 and shake_live < 0.6 * shake_alone


def test_a_frame_without_a_person_is_refused_and_the_next_one_starts_afresh(pipeline):
    garment = pipeline.prepare_garment(GARMENT)
    with LiveTryOn(pipeline, garment) as live:
        live(frames(1)[0][0], timestamp_ms=0)
        with pytest.raises(InputError):
            live(np.full((512, 640, 3), 235, np.uint8), timestamp_ms=100)
        assert live._framing is None
        assert live(frames(1, seed=1)[0][0], timestamp_ms=200).image.size == (640, 512)
