import numpy as np
import pytest
from PIL import Image

from conftest import DEMO_GARMENTS, DEMO_PERSON, ROOT
from vton.errors import InputError, ModelLoadError
from vton.pipeline import TryOnPipeline


def test_astronaut_result_keeps_the_photo_outside_the_change(pipeline, astronaut):
    result = pipeline(astronaut, DEMO_GARMENTS[0])
    assert result.image.size == astronaut.size
    assert result.tryon.size == (192, 256)
    for name in ("warped_garment", "rendered", "representation"):
        assert getattr(result, name).size == (192, 256)
    assert result.keypoints_image.size == astronaut.size
    photo, out = np.asarray(astronaut).astype(int), np.asarray(result.image).astype(int)
    changed = np.abs(out - photo).sum(2) > 0
    assert 0 < changed.mean() < 0.9
    # the head is never changed: pixels around the nose keep the photo's values exactly
    nose = result.keypoints[0]
    x, y = int(nose[0]), int(nose[1])
    assert not changed[y - 5:y + 5, x - 5:x + 5].any()
    # outside the framing window nothing changes either
    x0, _, x1, _ = pipeline.analyze_person(astronaut).framing.photo_box()
    assert not changed[:, :x0].any() and not changed[:, x1:].any()
    assert set(result.timings) >= {"person", "garment", "warp", "tryon", "compose"}


def test_several_garments_are_one_batch(pipeline):
    person = DEMO_PERSON
    garments = DEMO_GARMENTS[:3]
    results = pipeline(person, garments)
    assert len(results) == 3
    single = pipeline(person, garments[1])
    assert np.abs(np.asarray(results[1].tryon, int) - np.asarray(single.tryon, int)).max() <= 1
    assert not np.array_equal(np.asarray(results[0].warped_garment), np.asarray(results[1].warped_garment))


def test_bad_inputs_leave_the_pipeline_working(pipeline, astronaut, tmp_path):
    with pytest.raises(InputError, match="no person"):
        pipeline(Image.new("RGB", (200, 200), "white"), DEMO_GARMENTS[0])
    with pytest.raises(InputError, match="no garment"):
        pipeline(astronaut, Image.new("RGB", (192, 256), (250, 250, 250)))
    result = pipeline(astronaut, DEMO_GARMENTS[0])
    assert result.image.size == astronaut.size


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="not in the Hugging Face cache"):
        TryOnPipeline.from_pretrained("nobody/no-such-vton-model")
    with pytest.raises(ModelLoadError, match="missing config.json"):
        TryOnPipeline.from_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="not a folder"):
        TryOnPipeline.from_pretrained(str(tmp_path / "missing" / "folder"))


def test_person_photo_as_garment_is_refused_and_a_small_person_in_a_big_photo_found(pipeline):
    from conftest import SHARED, require_shared

    with pytest.raises(InputError, match="the garment image shows a person"):
        pipeline.prepare_garment(DEMO_PERSON)
    # a tee with a photo of a face printed on its chest is a garment
    assert pipeline.prepare_garment(require_shared(SHARED / "data" / "wild" / "garments" / "03032_00.jpg")).source == "auto"
    # a 192x256 person in a 4000x3000 photo: too small for the 1024-px copy, found on full-resolution tiles
    canvas = Image.new("RGB", (4000, 3000), (235, 235, 235))
    canvas.paste(Image.open(DEMO_PERSON), (2900, 2100))
    framing = pipeline.analyze_person(canvas).framing
    x0, y0, x1, y1 = framing.photo_box()
    assert x0 <= 2900 + 96 <= x1 and y0 <= 2100 + 128 <= y1 and framing.scale < 2  # around the pasted person


def test_fast_window_crops_match_the_resampled_ones():
    """The composition's crops take two fast paths: a window at one photo pixel per pixel is copied, and other
    large windows are resampled by OpenCV; both give the image PIL's resampling gives, within a grey level or two."""
    from PIL import Image as PILImage

    from vton.image_io import Framing

    photo = PILImage.open(ROOT / "demo" / "persons" / "000227_0.jpg").convert("RGB").resize((768, 1024))

    def pil(framing, size):  # the plain path: PIL's bicubic resampling of the window
        box = (framing.left, framing.top, framing.left + framing.width, framing.top + framing.height)
        return np.asarray(photo.transform(size, PILImage.Transform.EXTENT, box, resample=PILImage.Resampling.BICUBIC,
                                          fillcolor=(255, 255, 255))).astype(int)

    copy = Framing(-40.0, 16.0, 1000 / 256, 768, 1024)  # reaches past the left edge: padded white
    size = copy.photo_size()
    assert size == (750, 1000)
    fast = np.asarray(copy.crop(photo, size)).astype(int)
    assert np.abs(fast - pil(copy, size)).max() <= 1
    assert (fast[:, :39] == 255).all()
    resampled = Framing(10.3, 5.7, 1010 / 256, 768, 1024)
    fast = np.asarray(resampled.crop(photo, (720, 960))).astype(int)
    difference = np.abs(fast - pil(resampled, (720, 960)))
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 4


def test_channels_last_networks_give_the_same_try_on():
    """On a CPU the pipeline runs the GMM and the parser in channels_last memory format (faster here); the try-on
    is the one the plain format gives, within rounding."""
    import torch

    from vton.pipeline import TryOnPipeline

    with TryOnPipeline.from_pretrained(device="cpu") as pipe:
        assert pipe.gmm.extractionA.model[0].weight.is_contiguous(memory_format=torch.channels_last)
        fast = np.asarray(pipe(DEMO_PERSON, DEMO_GARMENTS[0]).image).astype(int)
        for model in (pipe.gmm, pipe.parser):
            model.to(memory_format=torch.contiguous_format)
        plain = np.asarray(pipe(DEMO_PERSON, DEMO_GARMENTS[0]).image).astype(int)
    difference = np.abs(fast - plain).max(2)
    # other convolution kernels round otherwise: the warp moves by a hundredth of a pixel, a label flips here and
    # there (measured on this photo: mean 0.11 grey levels, 99th percentile 3, max 12 of 255)
    assert difference.mean() < 0.25 and np.percentile(difference, 99) <= 4 and difference.max() < 32
