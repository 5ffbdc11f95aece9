"""Long sleeves laid along the arms (vton.sleeves): found on the flat garment, laid on the arm's pixels, not on the
hands."""
import numpy as np
import pytest
from conftest import SHARED, require_shared

from vton.parsing import LABEL_GROUPS
from vton.skin import body_model
from vton.sleeves import arm_coordinates


def test_arm_coordinates_run_from_shoulder_to_wrist():
    """An arm bent at the elbow: along is 0 at the shoulder, 0.5 at the elbow (two bones as long), 1 at the wrist;
    across is the signed distance from the nearer bone; the shoulder's cap and the hand are off the arm."""
    arm = np.array([[20.0, 10.0], [20.0, 50.0], [60.0, 50.0]])  # down 40 px, then right 40 px
    along, across, beyond = arm_coordinates(arm, (80, 80))
    assert along[10, 20] == pytest.approx(0.0) and along[50, 20] == pytest.approx(0.5, abs=0.02)
    assert along[30, 20] == pytest.approx(0.25) and along[50, 40] == pytest.approx(0.75)
    assert abs(across[30, 25]) == pytest.approx(5.0) and abs(across[45, 40]) == pytest.approx(5.0)
    assert np.sign(across[30, 25]) != np.sign(across[30, 15])  # the two sides of the bone
    assert beyond[5, 20] and beyond[50, 70] and not beyond[30, 20] and not beyond[50, 55]


def test_long_sleeves_are_found_on_the_long_sleeved_garments_only(default_pipeline):
    """Of the 14 wild garments, the striped 3/4-sleeved top and the floral blouse have two long sleeves each; tees,
    camisoles, a bandeau, an off-shoulder top and a halter have none (their short sleeves, straps and ruffles end
    high or are wider than long)."""
    garments = sorted((require_shared(SHARED / "data" / "wild") / "garments").glob("*.jpg"))
    found = {g.stem: sorted(default_pipeline.prepare_garment(g).long_sleeves()) for g in garments}
    assert {name for name, sides in found.items() if sides} == {"00151_00", "00470_00"}, found
    assert found["00151_00"] == found["00470_00"] == ["left", "right"]


def test_a_long_sleeve_covers_a_bare_forearm_but_not_the_hand(default_pipeline):
    """A wild photo of a woman in a sleeveless satin top, arms hanging, the floral long-sleeved blouse: the TPS warp
    lays its sleeves half on the torso and the TOM's mask drops them, so the forearms stayed bare (change alpha over
    them 0.05 and 0.08). Laid along the arms, the sleeves cover them (0.97 and 0.98); the hand stays the photo's."""
    wild = require_shared(SHARED / "data" / "wild")
    analysis = default_pipeline.analyze_person(wild / "persons" / "09597_00.jpg")
    result = default_pipeline(analysis, wild / "garments" / "00470_00.jpg")
    size = result.change_mask.size
    _, labels, keypoints = analysis.window(size)
    alpha = np.asarray(result.change_mask, np.float32) / 255
    arms = np.isin(labels, LABEL_GROUPS["arms"])
    rows, columns = np.arange(size[1])[:, None], np.arange(size[0])[None, :]
    hands = np.zeros_like(arms)
    for elbow, wrist in ((3, 4), (6, 7)):
        near = np.abs(columns - keypoints[wrist, 0]) < 0.1 * size[0]
        forearm = arms & near & (rows > keypoints[elbow, 1]) & (rows < keypoints[wrist, 1] - 0.02 * size[1])
        assert forearm.sum() > 5000 and alpha[forearm].mean() > 0.9, (forearm.sum(), alpha[forearm].mean())
        hands |= arms & near & (rows > keypoints[wrist, 1] + 0.06 * size[1])  # one hand is out of the frame
    assert hands.sum() > 3000 and alpha[hands].max() < 0.05  # measured: 4,738 pixels, alpha 0
    photo, shown = (np.asarray(analysis.framing.crop(im, size), np.float32) for im in (analysis.photo, result.image))
    assert np.abs(photo - shown)[hands].max() <= 2  # the photo's own pixels


def test_a_long_sleeve_worn_over_old_long_sleeves_covers_them(default_pipeline):
    """A wild photo of a woman in a red long-sleeved crop top, the floral long-sleeved blouse (worn over it by
    default): the blouse's sleeves cover the red sleeves below the elbows (the old garment within the arms' bands,
    off the torso). Before, the blouse was a floral vest over red sleeves: change alpha there 0.20, now 0.95."""
    wild = require_shared(SHARED / "data" / "wild")
    analysis = default_pipeline.analyze_person(wild / "persons" / "01861_00.jpg")
    result = default_pipeline(analysis, wild / "garments" / "00470_00.jpg")
    assert result.over_clothes
    size = result.change_mask.size
    _, labels, keypoints = analysis.window(size)
    arms, torso = body_model(keypoints, size[1], size[0])
    below_elbows = np.arange(size[1])[:, None] > keypoints[[3, 6], 1].min()
    old_sleeves = (labels == 5) & arms & ~torso & below_elbows
    assert old_sleeves.sum() > 10_000  # 25,203
    assert (np.asarray(result.change_mask, np.float32)[old_sleeves] / 255).mean() > 0.85


def test_long_sleeves_of_drawn_garments():
    """A drawn tee with long sleeves hanging beside its body has two, found from the shoulder corner to the cuff;
    the same body with short sleeves has none."""
    from vton.sleeves import long_sleeves

    body = np.zeros((400, 300), bool)
    body[40:380, 90:210] = True  # the garment's body
    shoulders = body.copy()
    shoulders[40:90, 40:260] = True  # the shoulders' span, as wide as the sleeves
    sleeved = shoulders.copy()
    sleeved[40:330, 40:80] = sleeved[40:330, 220:260] = True  # two sleeves, 40 px wide, to 72% of the length
    found = long_sleeves(sleeved)
    assert sorted(found) == ["left", "right"]
    assert found["left"].cuff[1] > 300 and 15 < found["left"].half_width < 25
    short = shoulders.copy()
    short[40:130, 40:80] = short[40:130, 220:260] = True
    assert long_sleeves(short) == {}
