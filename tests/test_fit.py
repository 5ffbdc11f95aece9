"""The new garment's sides are stretched to the body's outline below the armpits (vton.fit), on real parses."""
import cv2
import numpy as np
import torch
from PIL import Image

from conftest import SHARED, VITON, require_shared, viton_pairs
from training.dataset import read_openpose
from vton.fit import (HEM_REACH, HEM_STRIP, LONG_GARMENT, SIDE_REACH, SIDE_STRIP, SLEEVE_REACH, armpit_row,
                      body_below_head, close_sleeve_gaps, cover_arms, first_rows, length_ratio, lengthen_to_design,
                      lower_hem, raise_shoulders, widen_to_outline)
from vton.garment import prepare_garment
from vton.representation import ARM_LABELS, GARMENT_LABELS
from vton.skin import body_model


def viton_person(scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The first VITON training person's LIP labels and OpenPose joints, at ``scale`` x 256x192."""
    stem = viton_pairs(0, 1)[0][0].rsplit(".", 1)[0]
    labels = np.array(Image.open(VITON / "train" / "image-parse" / f"{stem}.png"))
    keypoints = read_openpose(VITON / "train" / "pose" / f"{stem}_keypoints.json")
    keypoints[:, :2] *= scale
    return cv2.resize(labels, (192 * scale, 256 * scale), interpolation=cv2.INTER_NEAREST), keypoints


def test_a_too_narrow_garment_is_widened_to_the_old_garments_outline_below_the_armpits():
    labels, keypoints = viton_person(4)  # as the pipeline composes a 1024-px photo
    old = np.isin(labels, GARMENT_LABELS)
    # the new garment: the old one 12 px narrower on each side (a warp too narrow for the body)
    narrow = cv2.erode(old.astype(np.uint8), np.ones((1, 25), np.uint8)) > 0
    first_row = armpit_row(keypoints, 1024)
    assert 0 < first_row < np.nonzero(old.any(1))[0].max()
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 1024), torch.linspace(-1, 1, 768), indexing="ij")
    grid = torch.stack([xs, ys], -1)[None]
    widened, added = widen_to_outline(grid, narrow, old, (first_row, first_row))

    below = np.broadcast_to(np.arange(1024)[:, None] >= first_row, old.shape)
    assert not added[~below].any() and torch.equal(widened[0, :first_row], grid[0, :first_row])  # shoulders: as warped
    assert not (added & ~old).any() and not (added & narrow).any()  # only the gap, within the old garment
    gap = old & ~narrow & below
    assert gap.sum() > 5_000 and (added & gap).sum() > 0.9 * gap.sum()  # the gap (12 px < the reach) is covered
    # the garment's middle (farther than the stretched strip from its sides) is not moved, its sides are resampled
    # outwards: the grid's x stays increasing
    cols = np.arange(768)[None, :]
    left = np.where(narrow, cols, 768).min(1)[:, None]
    right = np.where(narrow, cols, -1).max(1)[:, None]
    strip = round(SIDE_STRIP * 1024)
    middle = torch.from_numpy(below & (cols > left + strip) & (cols < right - strip))
    assert middle.sum() > 20_000 and torch.equal(widened[0][middle], grid[0][middle])
    assert (widened[0, first_row:, 1:, 0] - widened[0, first_row:, :-1, 0] >= 0).all()


def test_a_side_is_moved_no_farther_than_the_reach():
    old = np.zeros((400, 300), bool)
    old[100:300, 20:280] = True
    narrow = np.zeros_like(old)
    narrow[100:300, 120:180] = True  # 100 px short of each side, the reach is 20 px at this height
    grid = torch.zeros(1, 400, 300, 2)
    _, added = widen_to_outline(grid, narrow, old, (0, 0))
    reach = round(SIDE_REACH * 400)
    assert (added.sum(1)[110:290] == 2 * reach).all()


def test_a_sleeved_garment_is_widened_from_the_shoulders_a_strapped_one_from_the_armpits():
    labels, keypoints = viton_person(1)
    top = np.isin(labels, GARMENT_LABELS)  # the VITON top this person wears, with its sleeves
    armpits = armpit_row(keypoints, labels.shape[0])
    left, right = first_rows(top, keypoints)
    assert left < armpits and right < armpits and left == right  # from the shoulders' tops, both sides
    columns = np.arange(labels.shape[1])[None, :]
    body = top & (abs(columns - keypoints[1, 0]) < 0.3 * np.linalg.norm(keypoints[2, :2] - keypoints[5, :2]))
    assert first_rows(body, keypoints) == (armpits, armpits)  # no sleeves: from the armpits
    one_sleeve = top & ((columns < keypoints[1, 0]) | body)
    assert first_rows(one_sleeve, keypoints) == (left, armpits)


def test_a_sleeved_garment_warped_too_low_is_raised_to_the_shoulders_but_not_at_the_neckline():
    labels, keypoints = viton_person(4)
    old = np.isin(labels, GARMENT_LABELS)
    low = np.zeros_like(old)
    low[16:] = old[:-16]  # the same top warped 16 px too low
    low &= old
    rows_from = first_rows(low, keypoints)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 1024), torch.linspace(-1, 1, 768), indexing="ij")
    grid = torch.stack([xs, ys], -1)[None]
    raised, added = raise_shoulders(grid, low, old, keypoints, rows_from)
    assert raised.shape == grid.shape and not (added & ~old).any() and not (added & low).any()
    shoulder_width = np.linalg.norm(keypoints[2, :2] - keypoints[5, :2])
    columns = np.arange(768)
    neckline = abs(columns - keypoints[1, 0]) < 0.3 * shoulder_width
    gap = old & ~low
    beside = gap & ~neckline[None, :] & (np.arange(1024) < keypoints[[2, 5], 1].max())[:, None]
    assert beside.sum() > 1000 and (added & beside).sum() > 0.8 * beside.sum()  # the shoulders are covered
    # the neckline keeps its shape; beside it the raised shoulder comes down to it 1 px per column, not in a step
    middle = abs(columns - keypoints[1, 0]) < 0.3 * shoulder_width - 20  # 16 px lifted: at most 17 columns in
    assert not added[:, middle].any() and torch.equal(raised[0, :, middle], grid[0, :, middle])
    top = np.where(low.any(0), low.argmax(0), 0)
    lift = top - np.where((low | added).any(0), (low | added).argmax(0), 0)
    near = abs(columns - keypoints[1, 0]) < 0.3 * shoulder_width + 20
    assert lift[~middle & near].max() >= 12 and np.abs(np.diff(lift[near])).max() <= 2
    far = np.zeros_like(old)  # 80 px (8% of the height) below the shoulders: an off-shoulder top, kept as it is
    far[80:] = old[:-80]
    far &= old
    assert not raise_shoulders(grid, far, old, keypoints, first_rows(far, keypoints))[1].any()


def test_a_sleeve_narrower_than_the_arm_is_stretched_over_it_above_the_armpits_only():
    labels, keypoints = viton_person(4)
    body = body_below_head(labels)
    old = np.isin(labels, GARMENT_LABELS)
    armpits = armpit_row(keypoints, 1024)
    grid = identity_grid(1024, 768)
    # the person's top 8 px narrower on each side: its sleeves leave a strip of the shoulders and arms beside them
    narrow = cv2.erode(old.astype(np.uint8), np.ones((1, 17), np.uint8)) > 0
    rows_from = first_rows(narrow, keypoints)
    assert max(rows_from) < armpits  # sleeved on both sides
    covered_grid, added = cover_arms(grid, narrow, body, keypoints, rows_from)
    rows = np.arange(1024)[:, None]
    columns = np.arange(768)[None, :]
    outer = (columns < np.where(narrow, columns, 768).min(1)[:, None]) | \
        (columns > np.where(narrow, columns, -1).max(1)[:, None])
    strip = old & outer & (rows >= max(rows_from)) & (rows < armpits)  # outside the sleeves, not at the neckline
    assert strip.sum() > 2000 and (added & strip).sum() > 0.8 * strip.sum()  # the strips beside the sleeves
    below = armpits + round(SLEEVE_REACH * 1024)  # the stretch tapers off 1 px per row under the armpits
    assert not added[below:].any() and torch.equal(covered_grid[0, below:], grid[0, below:])
    rim = cv2.dilate(body.astype(np.uint8), np.ones((1, 9), np.uint8)) > 0
    assert not (added & ~rim).any() and not (added & narrow).any()  # never past the person's outline
    # a strip wider than the reach (a forearm raised beside the shoulder, a sleeve that really ends): kept
    wide = round(SLEEVE_REACH * 1024) + 10
    narrower = cv2.erode(old.astype(np.uint8), np.ones((1, 2 * wide + 1), np.uint8)) > 0
    assert not cover_arms(grid, narrower, body, keypoints, first_rows(narrower, keypoints))[1].any()


def identity_grid(height: int, width: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
    return torch.stack([xs, ys], -1)[None]


def test_a_garment_warped_shorter_than_the_old_one_is_lengthened_to_its_hem_but_not_its_sleeves():
    labels, keypoints = viton_person(4)
    old = np.isin(labels, GARMENT_LABELS)
    short = np.zeros_like(old)
    short[:-40] = old[40:]  # the same top 40 px shorter (its top rows kept): the hem 40 px too high
    short[:old.any(1).argmax() + 40] = old[:old.any(1).argmax() + 40]
    short &= old
    grid = identity_grid(1024, 768)
    lowered, added = lower_hem(grid, short, old, keypoints)
    assert not (added & ~old).any() and not (added & short).any()  # only the gap, within the old garment
    hem = np.nonzero(old.any(1))[0].max()
    armpits = armpit_row(keypoints, 1024)
    gap = old & ~short & (np.arange(1024) > armpits + 100)[:, None]  # under the hem, not the sleeves' ends
    assert gap.sum() > 5_000 and (added & gap).sum() > 0.8 * gap.sum()
    assert added[hem - 45:hem + 1].any(1).all()  # down to the old hem
    assert not added[:armpits].any()  # the sleeves keep their length
    # above the stretched bottom strip the garment does not move
    bottom = np.where(short.any(0), 1023 - np.argmax(short[::-1], 0), 1024)
    top = bottom[added.any(0)].min() - round(HEM_STRIP * HEM_REACH * 1024)
    assert top > armpits and torch.equal(lowered[0, :top], grid[0, :top])
    assert (lowered[0, 1:, :, 1] - lowered[0, :-1, :, 1] >= 0).all()  # resampled downwards, in order


def test_a_cropped_garment_keeps_its_length():
    labels, keypoints = viton_person(4)
    old = np.isin(labels, GARMENT_LABELS)
    rows = np.nonzero(old.any(1))[0]
    cropped = old.copy()
    cropped[round(rows.min() + 0.5 * (rows.max() - rows.min())):] = False  # ends halfway down the old top
    assert old.sum() - cropped.sum() > HEM_REACH * 1024 * 300
    grid = identity_grid(1024, 768)
    lowered, added = lower_hem(grid, cropped, old, keypoints)
    assert not added.any() and torch.equal(lowered, grid)


def test_a_garment_the_tom_hid_under_the_waistband_is_shown_down_to_its_own_hem():
    """A VITON person's own top (down to row 867 of 1024, below the hips), shown only down to row 700, as when the TOM
    keeps the trousers over it: the warp already has the rest, which is shown (not resampled) down to its hem."""
    labels, keypoints = viton_person(4)
    old = np.isin(labels, GARMENT_LABELS)
    shown = old & (np.arange(1024) < 700)[:, None]
    grid = identity_grid(1024, 768)
    out, added = lengthen_to_design(grid, old, shown, keypoints, length_ratio(old))
    assert torch.equal(out, grid)
    hidden = old & ~shown
    assert hidden.sum() > 30_000 and not (added & ~hidden).any() and added.sum() > 0.95 * hidden.sum()
    # a crop top keeps its length
    _, none = lengthen_to_design(grid, old, shown, keypoints, 1.0)
    assert not none.any()


def test_a_garment_the_gmm_squeezed_is_lengthened_evenly_in_its_own_height():
    """The same top, warped 2x squeezed in rows 600-700 and ending at row 700 (the GMM squeezes a long tee's lower
    part, and its print ends at the hem): lengthened to DESIGN_LENGTH x its in-shop ratio x its width, the rows
    below the armpits sample the garment evenly (its print gets its proportions back), the rows above do not move."""
    labels, keypoints = viton_person(4)
    old = np.isin(labels, GARMENT_LABELS)
    rows = np.arange(1024)
    source = np.where(rows < 600, rows, np.minimum(600 + 2 * (rows - 600), 1023))
    grid = identity_grid(1024, 768)[:, source]
    warped = old[source] & (rows < 700)[:, None]
    out, added = lengthen_to_design(grid, warped, warped, keypoints, length_ratio(old))
    bottom = np.nonzero((warped | added).any(1))[0].max()
    assert 730 <= bottom <= 790  # 749: 292 + 0.85 x 1.70 x its width near the hem (317 px)
    start = armpit_row(keypoints, 1024) + round(0.3 * np.linalg.norm(keypoints[2, :2] - keypoints[5, :2])) + 1
    assert torch.equal(out[:, :start], grid[:, :start])
    step = np.diff(out[0, start:bottom, 384, 1].numpy())
    before = np.diff(grid[0, start:700, 384, 1].numpy())
    assert before.max() > 1.9 * before.min()  # squeezed: 2x
    assert step.min() > 0 and step.max() < 1.1 * step.min()  # even


def test_the_gap_between_the_garments_body_and_its_sleeve_is_closed_where_the_old_garment_fills_it():
    labels, keypoints = viton_person(4)
    old = np.isin(labels, GARMENT_LABELS)
    armpits = armpit_row(keypoints, 1024)
    # the new garment: the old one with a 12-px gap cut 40 px inside each side, below the armpits (a sleeve
    # warped apart from the body)
    cols = np.arange(768)[None, :]
    left = np.where(old, cols, 768).min(1)[:, None]
    right = np.where(old, cols, -1).max(1)[:, None]
    cut = (((cols >= left + 40) & (cols < left + 52)) | ((cols > right - 52) & (cols <= right - 40)))
    cut &= (np.arange(1024) > armpits)[:, None] & (right - left > 200)
    garment = old & ~cut
    grid = identity_grid(1024, 768)
    closed, added = close_sleeve_gaps(grid, garment, old, keypoints)
    gap = old & cut
    assert gap.sum() > 5_000 and (added & gap).sum() > 0.95 * gap.sum()
    assert not (added & ~gap).any()  # nothing but the gap: not past the sleeves, not above the armpits
    assert torch.equal(closed[0, :armpits + 1], grid[0, :armpits + 1])
    # where the gap shows the background (not old garment: an arm held away from the body), nothing moves
    apart, added = close_sleeve_gaps(grid, garment, old & ~cut, keypoints)
    assert not added.any() and torch.equal(apart, grid)
    # an old sleeve with no new sleeve beyond it is the arm: the body is not stretched over it
    sleeveless = garment & ~((cols < left + 52) | (cols > right - 52))
    unchanged, added = close_sleeve_gaps(grid, sleeveless, old, keypoints)
    assert not added.any() and torch.equal(unchanged, grid)


def test_tees_are_long_by_design_crop_tops_and_a_bandeau_are_not():
    """vton.fit.length_ratio on the in-shop photos of ../shared/data/wild/garments (automatic masks): the hem of a
    tee may be lowered farther (HEM_REACH_LONG) than that of a garment cropped by design."""
    garments = SHARED / "data" / "wild" / "garments"
    ratio = {name: length_ratio(prepare_garment(require_shared(garments / f"{name}.jpg")).mask)
             for name in ("06123_00", "07764_00", "00151_00", "00126_00", "07382_00", "10297_00")}
    # tees, and a long-sleeved top (its sleeves hang beside the body: not counted in the width)
    assert min(ratio["06123_00"], ratio["07764_00"], ratio["00151_00"]) >= LONG_GARMENT  # 2.01, 1.96, 1.80
    # a boxy crop tee, a cropped sports top, a bandeau
    assert max(ratio["00126_00"], ratio["07382_00"], ratio["10297_00"]) < LONG_GARMENT  # 1.68, 1.28, 0.96


def test_a_sleeveless_garment_is_not_widened_over_old_sleeves_beside_the_body():
    """Old long sleeves hang beside the body: they are arms. A narrow sleeveless top was widened over them and
    drew white blocks where the arms are; with the joints, its sides stop where the arms begin."""
    labels, keypoints = viton_person(4)
    arms, torso = body_model(keypoints, 1024, 768)
    limbs = arms & ~torso
    old = np.isin(labels, GARMENT_LABELS + ARM_LABELS)  # as if the top had long sleeves: the arms are its sleeves
    sleeveless = cv2.erode((old & torso & ~arms).astype(np.uint8), np.ones((1, 25), np.uint8)) > 0
    first_row = armpit_row(keypoints, 1024)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 1024), torch.linspace(-1, 1, 768), indexing="ij")
    grid = torch.stack([xs, ys], -1)[None]
    _, blind = widen_to_outline(grid, sleeveless, old, (first_row, first_row))
    _, added = widen_to_outline(grid, sleeveless, old, (first_row, first_row), keypoints)
    assert (blind & limbs).sum() > 2_000  # without the joints: over the arms
    assert not (added & limbs).any()
    assert (added & ~limbs).sum() > 0.9 * (blind & ~limbs).sum() > 2_000  # the torso's sides: as before
