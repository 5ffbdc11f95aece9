"""TryOnPipeline: person photo + garment photo -> the person wearing the garment, at the photo's resolution.

Steps: person analysis (MediaPipe pose, framing, human parse, 22-channel representation), garment mask and
framing, GMM warp (TPS, averaged with the warp predicted for the mirrored inputs), TOM rendering and composition at
256x192 (the head, and the lower body where the new garment is not, taken from the photo:
:func:`vton.tom.kept_region`), then the warp evaluated again at high resolution and the result pasted into the
photo inside the region that the new garment changes; every other pixel is the photo's own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .errors import InputError
from .garment import GarmentInput, prepare_garment, shows_a_person
from .gmm import GMM, warp
from .hub import load_model, resolve_device, resolve_pretrained
from .parsing import HumanParser, labels_to_image
from .person import PersonAnalysis, PersonAnalyzer
from .tom import TOM, compose, kept_region, tom_input
from .visualize import draw_keypoints, representation_preview, tensor_to_image

MAX_WORK_HEIGHT = 1024  # the high-resolution composite is computed at most this tall, then resized to the photo
CHANGE_THRESHOLD = 0.12  # mean |try-on - photo| (in [-1, 1] units) above which a pixel counts as changed


@dataclass
class TryOnResult:
    """One try-on.

    image: the photo with the garment, same size as the photo.
    tryon: the 192x256 try-on (the TOM's composition, with the photo's own pixels where ``kept_region``);
    rendered: the TOM's rendered person (192x256).
    warped_garment, warped_mask, composition_mask, change_mask: 192x256 intermediates (masks in mode 'L').
    garment_mask: the garment's mask as used (192x256, 'L').
    keypoints: (18, 3) COCO-18 in the photo's pixels; keypoints_image: the photo with them drawn.
    representation: a picture of the 22-channel person representation.
    num_persons: persons found in the photo (the largest was used); timings: seconds per step.
    parse: the human parser's labels of the framed person (192x256 palette image), or None without a parser.
    """

    image: Image.Image
    tryon: Image.Image
    rendered: Image.Image
    warped_garment: Image.Image
    warped_mask: Image.Image
    composition_mask: Image.Image
    change_mask: Image.Image
    garment_mask: Image.Image
    keypoints: np.ndarray
    keypoints_image: Image.Image
    representation: Image.Image
    num_persons: int
    timings: dict[str, float] = field(default_factory=dict)
    parse: Image.Image | None = None


class TryOnPipeline:
    """Inference: models and MediaPipe are loaded once; call it with a person photo and one or more garments.

    Args:
        gmm, tom: trained networks (see :meth:`from_pretrained`).
        device: 'cuda', 'cpu' or None (CUDA when available).
        pose_model, face_model: MediaPipe bundle paths (None: resolved, see :mod:`vton.model_files`).
        parser: the human parser (None: masks from MediaPipe and heuristics, as weights without one were trained).
    """

    def __init__(self, gmm: GMM, tom: TOM, device: str | torch.device | None = None, pose_model=None, face_model=None,
                 parser: HumanParser | None = None):
        self.device = resolve_device(device)
        self.gmm = gmm.to(self.device).eval()
        self.tom = tom.to(self.device).eval()
        expected = gmm.config.person_channels + 3 + (1 if tom.config.in_channels == 26 else 0)
        if tom.config.in_channels != expected:
            raise ValueError(f"TOM expects {tom.config.in_channels} input channels, the GMM gives {expected}")
        self.parser = None if parser is None else parser.to(self.device).eval()
        self.analyzer = PersonAnalyzer(pose_model, face_model, parser=self.parser)

    @classmethod
    def from_pretrained(cls, path_or_repo_id=None, device=None, pose_model=None, face_model=None) -> "TryOnPipeline":
        """Load from a local folder in Hub format (gmm/, tom/ and optionally parser/ subfolders) or a Hub repo id;
        None: the shipped default weights.

        Raises:
            ModelLoadError: not found, offline and not cached, or weights that do not fit their config.
            InputError: a device that is not valid or not available.
        """
        resolve_device(device)  # a wrong device is reported before the models load
        folder = resolve_pretrained(path_or_repo_id)
        gmm = load_model(folder / "gmm", "gmm")
        tom = load_model(folder / "tom", "tom")
        parser = load_model(folder / "parser", "parser") if (folder / "parser").is_dir() else None
        return cls(gmm, tom, device, pose_model, face_model, parser)

    def close(self) -> None:
        self.analyzer.close()

    def __enter__(self) -> "TryOnPipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def analyze_person(self, person) -> PersonAnalysis:
        return self.analyzer.analyze(person)

    def prepare_garment(self, garment, mask=None) -> GarmentInput:
        """:func:`vton.garment.prepare_garment`, and a photo of a person given as the garment is refused.

        Raises:
            InputError: unreadable image or mask, no garment found, or a person photo with the automatic mask.
        """
        prepared = prepare_garment(garment, mask)
        if prepared.source == "auto" and shows_a_person(prepared, self.analyzer.detector):
            raise InputError("the garment image shows a person: use a photo of the garment alone, laid flat or on "
                             "a hanger, on a plain light background")
        return prepared

    @torch.inference_mode()
    def __call__(self, person, garment, garment_mask=None) -> TryOnResult | list[TryOnResult]:
        """Dress ``person`` in ``garment``.

        Args:
            person: photo of a person (path, PIL image or array; any size, EXIF-rotated), or a PersonAnalysis.
            garment: garment photo(s), or GarmentInput(s); a list gives a list of results, computed as one batch.
            garment_mask: optional mask(s) for the garment(s), same size as the garment photo.
        Raises:
            InputError: unreadable image, no person, no garment found.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        analysis = person if isinstance(person, PersonAnalysis) else self.analyze_person(person)
        timings["person"] = time.perf_counter() - start
        if not isinstance(person, PersonAnalysis):  # its parts measured apart, e.g. the parser
            timings["person"] -= sum(analysis.timings.values())
            timings.update(analysis.timings)

        single = not isinstance(garment, (list, tuple))
        garments = [garment] if single else list(garment)
        masks = garment_mask if isinstance(garment_mask, (list, tuple)) else [garment_mask] * len(garments)
        start = time.perf_counter()
        inputs = [g if isinstance(g, GarmentInput) else self.prepare_garment(g, m) for g, m in zip(garments, masks)]
        timings["garment"] = time.perf_counter() - start

        results = self._run(analysis, inputs, timings)
        return results[0] if single else results

    def _run(self, analysis: PersonAnalysis, garments: list[GarmentInput], timings: dict[str, float]) -> list[TryOnResult]:
        b = len(garments)
        dev = self.device
        # 1. network inputs at 256x192
        rep = analysis.representation.to(dev).unsqueeze(0).expand(b, -1, -1, -1)
        cloth = torch.stack([torch.tensor(g.image).permute(2, 0, 1) for g in garments]).to(dev).float() / 127.5 - 1
        cloth_mask = torch.stack([torch.tensor(g.mask)[None] for g in garments]).to(dev).float()

        # 2. GMM: TPS warp of the garment onto the person
        start = time.perf_counter()
        garment_in = cloth if self.gmm.config.garment_channels == 3 else cloth_mask * 2 - 1
        grid, theta = self.gmm.mirror_averaged(rep, garment_in)
        warped = warp(cloth, grid, "border")
        warped_mask = warp(cloth_mask, grid, "zeros")
        timings["warp"] = time.perf_counter() - start

        # 3. TOM: rendered person + composition mask
        start = time.perf_counter()
        photo = torch.tensor(analysis.image).permute(2, 0, 1).to(dev).float() / 127.5 - 1
        lower = torch.tensor(analysis.masks.lower)[None].to(dev).float()
        head = torch.tensor(analysis.masks.head)[None].to(dev).float()
        rendered, comp = self.tom(tom_input(self.tom.config, rep, photo.expand(b, -1, -1, -1),
                                            lower.expand(b, -1, -1, -1), warped, warped_mask))
        kept = kept_region(head.expand(b, -1, -1, -1), lower.expand(b, -1, -1, -1), comp, warped_mask)
        tryon = torch.where(kept, photo, compose(warped, rendered, comp))
        timings["tryon"] = time.perf_counter() - start

        # 4. back into the photo at its own resolution
        start = time.perf_counter()
        keypoints = analysis.keypoints_in_photo()
        keypoints_image = draw_keypoints(analysis.photo, keypoints)
        preview = representation_preview(analysis.representation)
        parse = None if analysis.labels is None else labels_to_image(analysis.labels)
        results = []
        for i, g in enumerate(garments):
            change = self._change_mask(analysis, photo, tryon[i], comp[i], warped_mask[i], kept[i, 0].cpu().numpy())
            image = self._paste(analysis, g, theta[i:i + 1], rendered[i], comp[i], change)
            results.append(TryOnResult(
                image=image, tryon=tensor_to_image(tryon[i]), rendered=tensor_to_image(rendered[i]),
                warped_garment=tensor_to_image(warped[i]), warped_mask=tensor_to_image(warped_mask[i]),
                composition_mask=tensor_to_image(comp[i]), change_mask=Image.fromarray((change * 255).astype(np.uint8)),
                garment_mask=Image.fromarray(g.mask.astype(np.uint8) * 255), keypoints=keypoints,
                keypoints_image=keypoints_image, representation=preview, num_persons=analysis.num_persons,
                timings=timings, parse=parse,
            ))
        timings["compose"] = time.perf_counter() - start
        return results

    @staticmethod
    def _change_mask(analysis: PersonAnalysis, photo: torch.Tensor, tryon: torch.Tensor, comp: torch.Tensor,
                     warped_mask: torch.Tensor, kept: np.ndarray) -> np.ndarray:
        """Soft (256, 192) mask in [0, 1] of the pixels the try-on changes: where the result differs from the
        photo or shows the new garment, on or next to the person, never where ``kept`` ((256, 192) bool, the
        head and the kept lower body). ``photo``: (3, 256, 192) the framed photo in [-1, 1], as the TOM saw it."""
        differs = ((tryon.float() - photo).abs().mean(0) > CHANGE_THRESHOLD).cpu().numpy()
        garment = ((comp[0] > 0.5) | (warped_mask[0] > 0.5)).cpu().numpy()
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
        near_person = cv2.dilate(analysis.masks.person.astype(np.uint8), kernel) > 0
        change = ((differs & near_person) | garment).astype(np.uint8)
        change = cv2.morphologyEx(change, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        change = cv2.morphologyEx(change, cv2.MORPH_CLOSE, kernel)
        change[kept] = 0
        soft = cv2.GaussianBlur(change.astype(np.float32), (5, 5), 0)
        soft[kept] = 0.0
        return soft

    def _paste(self, analysis: PersonAnalysis, garment: GarmentInput, theta: torch.Tensor, rendered: torch.Tensor,
               comp: torch.Tensor, change: np.ndarray) -> Image.Image:
        """Compose at high resolution (the garment warped again with the same theta), paste into the photo."""
        framing = analysis.framing
        win_w, win_h = framing.width, framing.height  # the window in photo pixels
        work_h = int(min(max(round(win_h), 256), MAX_WORK_HEIGHT))
        work_w = round(work_h * 192 / 256)
        dev = self.device
        cloth_hi, mask_hi = garment.crop((work_w, work_h))
        cloth_hi = torch.tensor(np.asarray(cloth_hi)).permute(2, 0, 1)[None].to(dev).float() / 127.5 - 1
        grid_hi = self.gmm.gridGen(theta.float(), size=(work_h, work_w))
        warped_hi = warp(cloth_hi, grid_hi, "border")
        up = lambda t, mode: F.interpolate(t[None].float(), size=(work_h, work_w), mode=mode, align_corners=False)
        comp_hi = up(comp, "bilinear").clamp(0, 1)
        rendered_hi = up(rendered, "bicubic").clamp(-1, 1)
        tryon_hi = tensor_to_image(compose(warped_hi, rendered_hi, comp_hi)[0])
        change_hi = Image.fromarray((change * 255).astype(np.uint8)).resize((work_w, work_h), Image.Resampling.BILINEAR)

        size = (max(1, round(win_w)), max(1, round(win_h)))
        offset = (round(framing.left), round(framing.top))
        out = analysis.photo.copy()
        out.paste(tryon_hi.resize(size, Image.Resampling.LANCZOS), offset, change_hi.resize(size, Image.Resampling.BILINEAR))
        return out
