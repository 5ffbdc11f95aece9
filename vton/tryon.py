"""The try-on at network resolution (256x192), as tensors: warp, TOM input, TOM, composition and the region a
try-on may change. The pipeline, training and evaluation all call these functions, so what evaluation measures and
what training optimises is what the app shows (the pipeline then repeats the composition at photo resolution with
:func:`vton.tom.change_alpha`, the same rule).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .gmm import GMM, warp
from .person import PersonAnalysis
from .tom import TOM, change_alpha, compose, tom_input


@dataclass
class PersonTensors:
    """One or more framed persons at network resolution.

    photo: (B, 3, H, W) in [-1, 1]; representation: (B, 22, H, W) in [-1, 1];
    head, lower, upper, hidden: (B, 1, H, W) float in {0, 1} (see :class:`vton.representation.PersonMasks`).
    """

    photo: torch.Tensor
    representation: torch.Tensor
    head: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    hidden: torch.Tensor

    @classmethod
    def from_batch(cls, batch: dict) -> "PersonTensors":
        """From a ``training.dataset.VitonDataset`` batch (keys person, representation, head, lower_body, upper,
        hidden)."""
        return cls(batch["person"], batch["representation"], batch["head"], batch["lower_body"], batch["upper"],
                   batch["hidden"])

    @classmethod
    def from_analysis(cls, analysis: PersonAnalysis, device: torch.device | str = "cpu") -> "PersonTensors":
        def mask(m: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(m)[None, None].to(device).float()

        photo = torch.from_numpy(np.array(analysis.image)).permute(2, 0, 1)[None].to(device).float() / 127.5 - 1
        m = analysis.masks
        return cls(photo, analysis.representation[None].to(device), mask(m.head), mask(m.lower), mask(m.upper),
                   mask(m.hidden))

    def expand(self, batch_size: int) -> "PersonTensors":
        """The same person repeated for ``batch_size`` garments (views, no copies)."""
        return PersonTensors(*(t.expand(batch_size, -1, -1, -1) for t in (
            self.photo, self.representation, self.head, self.lower, self.upper, self.hidden)))


@dataclass
class TryOnTensors:
    """The intermediates and results of :func:`try_on`, all (B, C, 256, 192).

    warped: the warped garment in [-1, 1]; warped_mask: its mask in [0, 1]; theta: (B, 2 * grid^2) TPS offsets;
    rendered: the TOM's person in [-1, 1]; comp: its composition mask in [0, 1];
    network: compose(warped, rendered, comp * warped_mask), every pixel drawn by the networks (as CP-VTON papers
        measure);
    alpha: where the try-on may differ from the photo (:func:`vton.tom.change_alpha`), in [0, 1];
    tryon: what is shown: the network's output inside alpha, the photo outside.
    """

    warped: torch.Tensor
    warped_mask: torch.Tensor
    theta: torch.Tensor
    rendered: torch.Tensor
    comp: torch.Tensor
    network: torch.Tensor
    alpha: torch.Tensor
    tryon: torch.Tensor


def warp_garment(gmm: GMM, representation: torch.Tensor, garment: torch.Tensor, garment_mask: torch.Tensor,
                 mirror_average: bool = True, unseen: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The GMM's TPS warp of the garment onto the person.

    Args:
        representation: (B, 22, H, W) in [-1, 1]; garment: (B, 3, H, W) in [-1, 1]; garment_mask: (B, 1, H, W)
            in {0, 1}.
        mirror_average: average with the warp predicted for the mirrored inputs (inference; training the GMM
            itself uses the plain forward pass).
        unseen: (B, 1, H, W) in [0, 1], parts of the garment the GMM is shown as background (the inside of its
            back, see :meth:`vton.garment.GarmentInput.inner_back_mask`); they are warped with the rest.
    Returns:
        warped (B, 3, H, W) in [-1, 1], warped_mask (B, 1, H, W) in [0, 1], theta (B, 2 * grid^2).
    """
    # the garment on white, as VITON photographs its garments: on a product photo's light grey background
    # (243-246) the GMM warped it narrower and shorter than the torso (width at the chest 0.85 of the torso's against
    # 1.01 on white, over the 75 wild try-ons), VITON's own garments too
    seen = garment_mask if unseen is None else garment_mask * (1 - unseen)
    on_white = garment * seen + (1 - seen)
    garment_in = on_white if gmm.config.garment_channels == 3 else seen * 2 - 1
    grid, theta = gmm.mirror_averaged(representation, garment_in) if mirror_average else gmm(representation, garment_in)
    return warp(garment, grid, "border").float(), warp(garment_mask, grid, "zeros").float(), theta


def render(tom: TOM, person: PersonTensors, warped: torch.Tensor, warped_mask: torch.Tensor,
           theta: torch.Tensor | None = None) -> TryOnTensors:
    """The TOM on a warped garment, and the composition as shown (the photo outside :func:`change_alpha`)."""
    config = getattr(tom, "module", tom).config  # the network itself, or wrapped in DistributedDataParallel
    rendered, comp = tom(tom_input(config, person.representation, person.photo, person.lower, person.hidden,
                                   warped, warped_mask))
    rendered, comp = rendered.float(), comp.float()
    # the garment only where it was warped to: outside its mask, the border-padded warp repeats its edge colours
    network = compose(warped, rendered, comp * warped_mask)
    alpha = change_alpha(person.upper, person.head, comp, warped_mask)
    tryon = network * alpha + person.photo * (1 - alpha)
    theta = torch.zeros(warped.shape[0], 0, device=warped.device) if theta is None else theta
    return TryOnTensors(warped, warped_mask, theta, rendered, comp, network, alpha, tryon)


def try_on(gmm: GMM, tom: TOM, person: PersonTensors, garment: torch.Tensor, garment_mask: torch.Tensor,
           mirror_average: bool = True, unseen: torch.Tensor | None = None) -> TryOnTensors:
    """Warp ``garment`` onto ``person`` and render the try-on (one item per garment and person of the batch).

    Args:
        person: B persons (or one, expanded with :meth:`PersonTensors.expand`).
        garment: (B, 3, H, W) in [-1, 1]; garment_mask: (B, 1, H, W) in {0, 1}; unseen: as
            :func:`warp_garment`.
    """
    warped, warped_mask, theta = warp_garment(gmm, person.representation, garment, garment_mask, mirror_average,
                                              unseen)
    return render(tom, person, warped, warped_mask, theta)
