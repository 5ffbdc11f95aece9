import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import garment_path, viton_pairs
from vton.gmm import warp
from vton.image_io import load_image
from vton.tps import (TpsGridGen, mirror_theta, moved_grid, pixel_grid, tps_control_points, tps_grid_direct,
                      upsample_grid)


def test_control_points_are_x_major():
    cp = tps_control_points(5)
    axis = torch.linspace(-1, 1, 5, dtype=torch.float64)
    for k in range(25):
        assert cp[k, 0] == axis[k // 5] and cp[k, 1] == axis[k % 5]


@pytest.mark.parametrize("batch", [1, 3])
def test_matches_direct_formulation(batch):
    torch.manual_seed(0)
    theta = torch.randn(batch, 50) * 0.2
    fast = TpsGridGen(256, 192)(theta)
    direct = tps_grid_direct(theta.double(), 256, 192).float()
    assert fast.shape == (batch, 256, 192, 2)
    assert (fast - direct).abs().max().item() <= 1e-5


def test_other_output_size_is_the_same_warp():
    torch.manual_seed(1)
    theta = torch.randn(2, 50) * 0.2
    gen = TpsGridGen(256, 192)
    big = gen(theta, size=(512, 384))
    assert (big - tps_grid_direct(theta.double(), 512, 384).float()).abs().max().item() <= 1e-5
    # a corner-aligned grid: the corners of both sizes sample the same place
    small = gen(theta)
    for (i, j), (bi, bj) in [((0, 0), (0, 0)), ((255, 191), (511, 383)), ((0, 191), (0, 383))]:
        assert torch.allclose(small[:, i, j], big[:, bi, bj], atol=1e-5)


def test_a_grid_upsampled_from_the_network_size_is_within_a_fifth_of_a_pixel():
    torch.manual_seed(2)
    theta = torch.randn(2, 50) * 0.1
    exact = tps_grid_direct(theta.double(), 1024, 768).float()
    approx = upsample_grid(TpsGridGen(256, 192)(theta), (1024, 768))
    pixels = (approx - exact).abs() * torch.tensor([768 / 2, 1024 / 2])
    assert 0 < pixels.max().item() < 0.25 and pixels.mean().item() < 0.02


def test_zero_theta_is_identity_with_align_corners():
    gen = TpsGridGen(256, 192)
    grid = gen(torch.zeros(1, 50))
    assert torch.allclose(grid[0].view(-1, 2), pixel_grid(256, 192).float(), atol=1e-5)
    image = torch.rand(1, 3, 256, 192)
    warped = F.grid_sample(image, grid, align_corners=True)
    assert (warped - image).abs().max().item() < 1e-4
    # the modern default align_corners=False does not reproduce the input
    assert (F.grid_sample(image, grid, align_corners=False) - image).abs().max().item() > 0.05


def test_pure_shift_moves_every_pixel():
    theta = torch.zeros(1, 50)
    theta[:, :25] = 0.1  # every control point 0.1 to the right
    grid = TpsGridGen(256, 192)(theta)
    assert torch.allclose(grid[..., 0], pixel_grid(256, 192).float()[:, 0].view(1, 256, 192) + 0.1, atol=1e-5)


def test_constants_are_nonpersistent_buffers_that_follow_to():
    gen = TpsGridGen(256, 192)
    assert gen.state_dict() == {}
    half = gen.to(torch.float64)
    assert half.basis.dtype == torch.float64
    assert {name for name, _ in gen.named_buffers()} == {"control_points", "basis"}


def test_theta_shape_is_checked():
    with pytest.raises(ValueError, match=r"expected theta of shape \(B, 50\)"):
        TpsGridGen(256, 192)(torch.zeros(2, 49))


def test_mirror_theta_is_the_mirrored_warp():
    torch.manual_seed(2)
    theta = torch.randn(2, 50) * 0.2
    gen = TpsGridGen(256, 192)
    mirrored = gen(mirror_theta(theta))
    assert (mirrored - gen(theta).flip(2) * torch.tensor([-1.0, 1.0])).abs().max().item() < 1e-5
    assert torch.equal(mirror_theta(mirror_theta(theta)), theta)
    # warping the mirrored garment with the mirrored theta gives the mirrored warp of the garment
    photo, _ = load_image(garment_path(viton_pairs(0, 1)[0][1]))
    garment = torch.from_numpy(np.asarray(photo, dtype=np.float32)).permute(2, 0, 1)[None].expand(2, -1, -1, -1) / 255
    assert (warp(garment.flip(-1), mirrored) - warp(garment, gen(theta)).flip(-1)).abs().max().item() < 1e-3


def test_a_moved_grid_shows_what_each_pixel_showed_at_the_offset():
    """vton.tps.moved_grid (an off-the-shoulder top moved below the shoulders): pixel p + offset samples where p
    did, exactly, also where p + offset comes from above the image (the spline is evaluated there)."""
    theta = torch.randn(1, 50, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.1
    before = tps_grid_direct(theta, 256, 192)
    after = moved_grid(theta, (3.0, 26.0), 256, 192)
    assert torch.allclose(after[0, 26:, 3:].double(), before[0, :-26, :-3], atol=1e-5)
    # the top rows come from outside the image, continuing the warp: close to the first rows' values
    assert (after[0, 25, 3:].double() - before[0, 0, :-3]).abs().max() < 0.05
    assert (after[0, 0] - after[0, 25]).abs().max() > 0.01  # and not a repeat of them
