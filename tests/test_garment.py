import numpy as np
import pytest
from PIL import Image

from conftest import VITON, garment_path, viton_pairs
from vton.errors import InputError
from vton.garment import auto_garment_mask, prepare_garment


def dataset_mask(name):
    return np.asarray(Image.open(VITON / "train" / "cloth-mask" / name).convert("L")) >= 128


def test_auto_mask_matches_dataset_masks():
    scores = []
    for _, garment in viton_pairs(300, 40):
        ours = auto_garment_mask(np.asarray(Image.open(garment_path(garment)).convert("RGB")))
        truth = dataset_mask(garment)
        scores.append((ours & truth).sum() / (ours | truth).sum())
    # the median is what a typical garment gets; some dataset masks are wrong (pale garments), so not the minimum
    assert np.median(scores) > 0.9
    assert np.mean(scores) > 0.85


def test_viton_garment_is_taken_whole():
    garment = prepare_garment(garment_path(viton_pairs(0, 1)[0][1]))
    assert garment.source == "auto"
    assert garment.image.shape == (256, 192, 3) and garment.mask.shape == (256, 192)
    original = np.asarray(Image.open(garment_path(viton_pairs(0, 1)[0][1])).convert("RGB"))
    assert np.abs(garment.image.astype(int) - original).mean() < 2


def test_alpha_and_user_mask_and_framing(tmp_path):
    name = viton_pairs(0, 1)[0][1]
    rgb = Image.open(garment_path(name)).convert("RGB")
    truth = dataset_mask(name)
    # RGBA on a wide transparent canvas: the alpha is the mask, the garment is framed to 3:4
    canvas = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(truth.astype(np.uint8) * 255))
    canvas.paste(rgba, (300, 20))
    canvas.save(tmp_path / "garment.png")
    garment = prepare_garment(tmp_path / "garment.png")
    assert garment.source == "alpha"
    assert garment.mask_full.sum() == truth.sum()
    assert garment.framing.left > 250  # the window is around the garment, not the canvas
    assert 0.3 < garment.mask.mean() < 0.9
    # a user mask wins over everything
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    user = prepare_garment(garment_path(name), mask=tmp_path / "mask.png")
    assert user.source == "user" and np.array_equal(user.mask_full, truth)


def test_bad_garments(tmp_path):
    with pytest.raises(InputError, match="no garment found"):
        prepare_garment(Image.new("RGB", (192, 256), (250, 250, 250)))
    Image.new("L", (10, 10)).save(tmp_path / "small_mask.png")
    with pytest.raises(InputError, match="garment mask is 10x10, expected the garment's 192x256"):
        prepare_garment(garment_path(viton_pairs(0, 1)[0][1]), mask=tmp_path / "small_mask.png")
    (tmp_path / "bad.png").write_text("nope")
    with pytest.raises(InputError, match="not a readable image"):
        prepare_garment(tmp_path / "bad.png")
