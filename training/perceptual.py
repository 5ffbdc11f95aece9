"""VGG19 perceptual loss of CP-VTON (relu1_1 .. relu5_1, weights 1/32, 1/16, 1/8, 1/4, 1).

ImageNet weights cannot be downloaded on every machine: the loss is built only from a local state_dict file
(torchvision's ``vgg19`` layout, read with ``weights_only=True``) and is off when none is given.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vton.hub import load_state_dict_checked

LAYER_ENDS = (2, 7, 12, 21, 30)  # torchvision vgg19.features indices just after relu1_1 .. relu5_1
LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


class VGGPerceptualLoss(nn.Module):
    """L1 between VGG19 features of two (B, 3, H, W) images in [-1, 1]."""

    def __init__(self, weights_file: str):
        super().__init__()
        from torchvision.models import vgg19

        vgg = vgg19(weights=None)
        state = torch.load(weights_file, map_location="cpu", weights_only=True)
        load_state_dict_checked(vgg, state, weights_file)
        self.features = vgg.features[: LAYER_ENDS[-1]].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = ((x + 1) / 2 - self.mean) / self.std
        y = ((y + 1) / 2 - self.mean) / self.std
        loss, start = x.new_zeros(()), 0
        for end, weight in zip(LAYER_ENDS, LAYER_WEIGHTS):
            block = self.features[start:end]
            x, y = block(x), block(y)
            loss = loss + weight * F.l1_loss(x, y.detach())
            start = end
        return loss
