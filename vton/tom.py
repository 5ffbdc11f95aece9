"""Try-On Module (CP-VTON, Wang et al. ECCV 2018, section 3.2): a pix2pix-style U-Net that renders the person and
a composition mask that blends in the warped garment.

Module names and Sequential indices follow the reference code, so its state_dicts load with ``strict=True``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


PERSON_INPUTS = ("head", "head+lower", "agnostic")


@dataclass
class TOMConfig:
    # 22 representation + 3 warped garment (CP-VTON); 26 adds the warped mask (CP-VTON+); 27 the hidden mask
    in_channels: int = 25
    out_channels: int = 4  # 3 rendered RGB + 1 composition mask
    ngf: int = 64
    num_downs: int = 6  # 256x192 -> 4x3
    height: int = 256
    width: int = 192
    # The reference normalises the 4 output channels with InstanceNorm before tanh/sigmoid: every image's rendering
    # then has zero mean and unit spread per channel, so a white background or a zero mask cannot be reached.
    output_norm: bool = True
    # What channels 1-3 of the representation show of the photo: "head" (CP-VTON), "head+lower" (the head and the
    # lower body, CP-VTON+) or "agnostic" (everything but PersonMasks.hidden: VITON-HD's clothing-agnostic person,
    # background included, with the hidden mask as one more input channel).
    person_input: str = "head"

    def __post_init__(self):
        if self.person_input not in PERSON_INPUTS:
            raise ValueError(f"person_input must be one of {PERSON_INPUTS}, got {self.person_input!r}")
        if self.in_channels not in (25, 26, 27):
            raise ValueError(f"in_channels must be 25, 26 or 27, got {self.in_channels}")
        if self.person_input == "agnostic" and self.in_channels != 27:
            raise ValueError("person_input 'agnostic' needs in_channels 27 (+ warped mask + hidden mask)")


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down (LReLU -> Conv4x4 s2 -> IN), the inner levels, up (ReLU -> Upsample x2 -> Conv3x3 ->
    IN), then concatenation with the level's input (except at the outermost level)."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 output_norm: bool = True):
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=True)
        upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        upnorm = nn.InstanceNorm2d(outer_nc)
        if outermost:
            layers = [downconv, submodule, nn.ReLU(True), upsample, nn.Conv2d(inner_nc * 2, outer_nc, 3, 1, 1)]
            layers += [upnorm] if output_norm else []  # no parameters: the state_dict keys are the same
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), downconv,
                      nn.ReLU(True), upsample, nn.Conv2d(inner_nc, outer_nc, 3, 1, 1), upnorm]
        else:
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.InstanceNorm2d(inner_nc), submodule,
                      nn.ReLU(True), upsample, nn.Conv2d(inner_nc * 2, outer_nc, 3, 1, 1), upnorm]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        # As in the reference, the in-place LeakyReLU also rewrites x before it is concatenated; the parent's up
        # path starts with a ReLU, and relu(leaky_relu(x)) == relu(x), so the output is the same either way.
        return torch.cat([x, self.model(x)], dim=1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int, num_downs: int = 6, ngf: int = 64, output_norm: bool = True):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             output_norm=output_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class TOM(UnetGenerator):
    """forward(inputs) -> (rendered, mask).

    inputs: (B, in_channels, 256, 192) from :func:`tom_input`. rendered: (B, 3, 256, 192) in [-1, 1];
    mask: (B, 1, 256, 192) in [0, 1]. Compose with :func:`compose`.
    """

    def __init__(self, config: TOMConfig | None = None):
        self.config = config = config or TOMConfig()
        super().__init__(config.in_channels, config.out_channels, config.num_downs, config.ngf, config.output_norm)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(inputs)
        rendered, mask = torch.split(out, [3, 1], dim=1)
        return torch.tanh(rendered), torch.sigmoid(mask)


def compose(warped_garment: torch.Tensor, rendered: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Try-on = warped garment where the mask is 1, rendered person where it is 0."""
    return warped_garment * mask + rendered * (1 - mask)


def change_alpha(upper: torch.Tensor, head: torch.Tensor, comp: torch.Tensor, warped_mask: torch.Tensor) -> torch.Tensor:
    """Where a try-on may differ from the photo, as an alpha in [0, 1]: the old upper garment, and the new garment
    where the TOM composes it in (composition mask times warped mask), never the head. Everything else (the
    background, the arms and torso skin that neither garment covers, the lower body, the hands) is the photo's own
    pixels; the skin the new garment uncovers lies inside the old garment and is drawn by the TOM.

    The one composition rule of the library, at any resolution: the pipeline applies it to the photo, training
    and evaluation at 256x192.

    Args:
        upper, head: (B, 1, H, W) in [0, 1] (``PersonMasks.upper``, ``PersonMasks.head``, soft at high resolution).
        comp: (B, 1, H, W) the TOM's composition mask in [0, 1]; warped_mask: (B, 1, H, W) in [0, 1].
    Returns:
        (B, 1, H, W) in [0, 1].
    """
    return torch.maximum(upper, comp * warped_mask) * (1 - head)


def tom_input(config: TOMConfig, representation: torch.Tensor, photo: torch.Tensor, lower_body: torch.Tensor,
              hidden: torch.Tensor, warped_garment: torch.Tensor, warped_mask: torch.Tensor) -> torch.Tensor:
    """The TOM's input for its config.

    Args:
        representation: (B, 22, H, W) in [-1, 1], channels 1-3 the head RGB (see :mod:`vton.representation`).
        photo: (B, 3, H, W) the photo in [-1, 1].
        lower_body, hidden: (B, 1, H, W) in {0, 1} (``PersonMasks.lower``, ``PersonMasks.hidden``). With
            person_input "head+lower", channels 1-3 also show the photo on the lower body; with "agnostic" they
            show the photo everywhere but ``hidden`` (0 there), and ``hidden`` is the last channel.
        warped_garment: (B, 3, H, W) in [-1, 1]; warped_mask: (B, 1, H, W) in [0, 1] (used with 26+ channels).
    Returns:
        (B, config.in_channels, H, W).
    """
    if config.person_input != "head":
        if config.person_input == "head+lower":
            shown = torch.where(lower_body > 0.5, photo, representation[:, 1:4])
        else:
            shown = torch.where(hidden > 0.5, torch.zeros_like(photo), photo)
        representation = torch.cat([representation[:, :1], shown, representation[:, 4:]], 1)
    parts = [representation, warped_garment]
    if config.in_channels >= 26:
        parts.append(warped_mask)
    if config.in_channels == 27:
        parts.append(hidden)
    return torch.cat(parts, 1)
