"""The new garment is lit by the light the old garment shows on the body (vton.shading), on a real photo."""
import cv2
import numpy as np

from conftest import SHARED, require_shared
from vton.shading import LIGHT_KEPT, LIGHT_LIMITS, garment_light

SIZE = (768, 1024)


def white_tank(default_pipeline):
    """A wild photo of a woman in a white tank top: the framed window and its old upper garment."""
    analysis = default_pipeline.analyze_person(require_shared(SHARED / "data" / "wild" / "persons" / "model_3.jpg"))
    window = analysis.window(SIZE)[0].copy()
    return window, analysis.masks_in_window(SIZE)[0] > 0.5


def test_the_light_on_a_plain_top_is_its_shading_and_a_print_on_it_is_not_light(default_pipeline):
    """On the white tank the light spans a real range (its folds and sides: 0.88-1.07, within the limits) and is 1
    off the garment. A dark logo painted on it (a tenth of its width) is not taken for a shadow: the light under it
    moves by at most 0.05, where the logo's own luminance ratio would be ~0.3."""
    window, old = white_tank(default_pipeline)
    light = garment_light(window, old)
    assert light is not None and light.shape == old.shape and not np.isnan(light).any()
    low, high = (limit ** LIGHT_KEPT for limit in LIGHT_LIMITS)
    inside = cv2.erode(old.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert low - 1e-6 <= light.min() and light.max() <= high + 1e-6
    assert np.percentile(light[inside], 95) - np.percentile(light[inside], 5) > 0.05  # 0.13: shaded, not flat
    far = cv2.dilate(old.astype(np.uint8), np.ones((41, 41), np.uint8)) == 0
    assert np.abs(light[far] - 1).max() < 1e-6

    rows, cols = np.nonzero(inside)
    top, left = int(np.median(rows)), int(np.median(cols))
    side = (cols.max() - cols.min()) // 10
    logo = np.zeros_like(old)
    logo[top:top + side, left - side // 2:left + side // 2] = True
    printed = window.copy()
    printed[logo] = (40, 30, 90)
    light_printed = garment_light(printed, old)
    assert np.abs(light_printed[logo] - light[logo]).max() < 0.05  # 0.033


def test_a_striped_old_top_gives_no_light(default_pipeline):
    """Stripes over the whole tank (dark and light bands a few pixels wide): its luminance is its colours, not
    light, and none is given (the new garment stays as photographed in the shop)."""
    window, old = white_tank(default_pipeline)
    stripes = (np.arange(SIZE[1]) // 12 % 2 == 0)[:, None] & old
    window[stripes] = (30, 30, 60)
    assert garment_light(window, old) is None
