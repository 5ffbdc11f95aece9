"""A patch discriminator for the TOM's adversarial loss (pix2pix's PatchGAN, Isola et al. 2017): it needs no
pretrained weights, and it penalises what L1 and SSIM let through, the blur of the skin and sleeves the TOM draws.

Spectral normalisation on every convolution (Miyato et al. 2018) keeps the least-squares GAN stable without a
normalisation layer that would mix the items of a small batch.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """(B, in_channels, H, W) image in [-1, 1] -> (B, 1, H / 8 - 2, W / 8 - 2) realness scores, one per
    overlapping 70x70 patch (for ``layers=3``).

    Args:
        in_channels: 3 for RGB.
        ndf: channels of the first layer (doubled per layer, at most 8x).
        layers: stride-2 layers.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 32, layers: int = 3):
        super().__init__()
        blocks = [spectral_norm(nn.Conv2d(in_channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for n in range(1, layers + 1):
            out = ndf * min(2 ** n, 8)
            blocks += [spectral_norm(nn.Conv2d(channels, out, 4, 2 if n < layers else 1, 1)), nn.LeakyReLU(0.2, True)]
            channels = out
        blocks.append(spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1)))
        self.model = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al. 2017): mean (score - 1)^2 for real, mean score^2 for fake."""
    return ((scores - 1) ** 2).mean() if real else (scores ** 2).mean()
