"""Geometric Matching Module (CP-VTON, Wang et al. ECCV 2018, section 3.1).

Module names and layer order follow the reference code exactly, so that its state_dicts load with
``strict=True`` (see ``../shared/docs/cp-vton-reference.md``). Width is configurable through ``ngf``; at
``ngf=64`` every shape equals the reference's.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .representation import mirror_representation
from .tps import TpsGridGen, mirror_theta


@dataclass
class GMMConfig:
    person_channels: int = 22  # person representation (body shape, head RGB, 18 pose maps)
    garment_channels: int = 3  # 3: garment RGB (CP-VTON); 1: garment mask (CP-VTON+)
    ngf: int = 64  # width of the first feature layer; features end at 8 * ngf channels
    grid_size: int = 5  # TPS control points per side
    height: int = 256
    width: int = 192


class FeatureExtraction(nn.Module):
    """Conv(k4, s2) -> ReLU -> BN, four times, then two Conv(k3) at 8*ngf; 256x192 -> (8*ngf, 16, 12)."""

    def __init__(self, in_channels: int, ngf: int = 64, n_down: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i in range(n_down):
            out = ngf * 2**i
            layers += [nn.Conv2d(channels, out, 4, 2, 1), nn.ReLU(inplace=True), nn.BatchNorm2d(out)]
            channels = out
        top = ngf * 2 ** (n_down - 1)
        layers += [nn.Conv2d(top, top, 3, 1, 1), nn.ReLU(inplace=True), nn.BatchNorm2d(top)]
        layers += [nn.Conv2d(top, top, 3, 1, 1), nn.ReLU(inplace=True)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def l2_normalize(features: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Normalise (B, C, H, W) over channels: x / sqrt(sum_c x^2 + eps)."""
    return features / torch.sqrt(features.pow(2).sum(dim=1, keepdim=True) + eps)


def feature_correlation(person: torch.Tensor, garment: torch.Tensor) -> torch.Tensor:
    """Correlation volume between every pair of positions.

    Args:
        person, garment: (B, C, h, w) L2-normalised features.
    Returns:
        (B, h*w, h, w): channel k is person position k in column-major order (the reference transposes H and W
        before flattening); spatial positions are garment positions. The ordering is what trained weights expect.
    """
    b, c, h, w = person.shape
    person_flat = person.transpose(2, 3).reshape(b, c, h * w)  # (B, C, hw) column-major
    garment_flat = garment.reshape(b, c, h * w).transpose(1, 2)  # (B, hw, C) row-major
    corr = torch.bmm(garment_flat, person_flat)  # (B, hw_garment, hw_person)
    return corr.view(b, h, w, h * w).permute(0, 3, 1, 2)


class FeatureRegression(nn.Module):
    """Correlation (B, 192, 16, 12) -> theta (B, 2 * grid_size**2) in (-1, 1)."""

    def __init__(self, in_channels: int = 192, output_dim: int = 50, ngf: int = 64):
        super().__init__()
        widths = [8 * ngf, 4 * ngf, 2 * ngf, ngf]
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 4, 2, 1), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
            nn.Conv2d(widths[0], widths[1], 4, 2, 1), nn.BatchNorm2d(widths[1]), nn.ReLU(inplace=True),
            nn.Conv2d(widths[1], widths[2], 3, padding=1), nn.BatchNorm2d(widths[2]), nn.ReLU(inplace=True),
            nn.Conv2d(widths[2], widths[3], 3, padding=1), nn.BatchNorm2d(widths[3]), nn.ReLU(inplace=True),
        )
        self.linear = nn.Linear(widths[3] * 4 * 3, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return torch.tanh(self.linear(x.reshape(x.shape[0], -1)))  # reshape: x is not contiguous after convs


class GMM(nn.Module):
    """Predicts a TPS warp that fits the in-shop garment to the person.

    forward(person, garment):
        person: (B, person_channels, 256, 192) representation in [-1, 1].
        garment: (B, garment_channels, 256, 192) in [-1, 1].
        returns grid (B, 256, 192, 2) for ``grid_sample(align_corners=True)`` and theta (B, 2 * grid_size**2).
    """

    def __init__(self, config: GMMConfig | None = None):
        super().__init__()
        self.config = config = config or GMMConfig()
        if config.height % 16 or config.width % 16 or (config.height // 64, config.width // 64) != (4, 3):
            raise ValueError(f"expected a 256x192 network input, got {config.height}x{config.width}")
        self.extractionA = FeatureExtraction(config.person_channels, config.ngf)
        self.extractionB = FeatureExtraction(config.garment_channels, config.ngf)
        cells = (config.height // 16) * (config.width // 16)
        self.regression = FeatureRegression(cells, 2 * config.grid_size**2, config.ngf)
        self.gridGen = TpsGridGen(config.height, config.width, config.grid_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reference init (conv N(0, 0.02), BN weight N(1, 0.02)); the last linear layer starts at zero so that
        training starts from the identity warp (theta = 0) instead of a random one."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.regression.linear.weight)

    def forward(self, person: torch.Tensor, garment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # 1. features of both inputs, L2-normalised over channels
        feat_person = l2_normalize(self.extractionA(person))
        feat_garment = l2_normalize(self.extractionB(garment))
        # 2. correlation of every person position with every garment position
        corr = feature_correlation(feat_person, feat_garment)
        # 3. regress TPS control-point offsets, then the sampling grid
        theta = self.regression(corr)
        return self.gridGen(theta.float()), theta

    def mirror_averaged(self, person: torch.Tensor, garment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Like forward, averaged with the warp predicted for the mirrored person and garment (test-time
        augmentation; the TPS grid is linear in theta, so this is the mean of the two grids). Inference only:
        training uses forward (in eval mode BatchNorm treats the items of the doubled batch independently)."""
        _, thetas = self(torch.cat([person, mirror_representation(person)]), torch.cat([garment, garment.flip(-1)]))
        theta, theta_mirrored = thetas.chunk(2)
        theta = (theta + mirror_theta(theta_mirrored, self.config.grid_size)) / 2
        return self.gridGen(theta.float()), theta


def warp(image: torch.Tensor, grid: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Warp (B, C, H, W) with a TPS grid (B, H', W', 2). Garments use 'border', masks use 'zeros'."""
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode=padding_mode, align_corners=True)
