"""TryOnPipeline: person photo + garment photo -> the person wearing the garment, at the photo's resolution.

Steps: person analysis (MediaPipe pose, framing, human parse, 22-channel representation), garment mask and
framing, then the library's try-on at 256x192 (:mod:`vton.tryon`: GMM warp averaged with the mirrored inputs' warp,
TOM, composition), then the same composition at the photo's resolution: the garment warped again with the same TPS
(sharp), pasted into the photo inside the region a try-on changes (:func:`vton.tom.change_alpha`: the old garment
and the new one); every other pixel is the photo's own.
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
from .fit import (HEM_REACH, HEM_REACH_LONG, LONG_GARMENT, SLEEVED_SPREAD, beyond_arm_gaps, body_below_head,
                  close_sleeve_gaps, cover_arms, first_rows, hung_over, length_ratio, lengthen_to_design, lower_hem,
                  raise_shoulders, shown_as_warped, spread_ratio, underarm_notches, widen_over_dress,
                  widen_to_outline)
from .garment import SLEEVES_SIZE, GarmentInput, prepare_garment, shows_a_person
from .gmm import GMM, warp
from .hub import load_model, resolve_device, resolve_pretrained
from .off_shoulder import shoulder_drop
from .parsing import HumanParser, labels_to_image
from .image_io import NET_HEIGHT, NET_WIDTH
from .person import PersonAnalysis, PersonAnalyzer
from .representation import ARM_LABELS, LOWER_BODY_LABELS, NECK_LABEL
from .skin import (SKIN_LABELS, SLIVER_WIDTH, bare_torso, box_around, continue_real_skin, garment_in_slivers,
                   in_skin_tone, nearest_background, skin_nearby, skin_over_straps, straps_left, torso_shading,
                   wall_in_slivers)
from .sleeves import lay_sleeves
from .tom import TOM, change_alpha, compose
from .tps import moved_grid, upsample_grid
from .tryon import PersonTensors, render, warp_garment
from .visualize import draw_keypoints, representation_preview, tensor_to_image

COMP_CONTRAST = 2.5  # see _paste
# Beyond this share of the new garment's area left to draw where the old garment was (drawn_share), the garment is
# worn over the old clothes unless asked otherwise. The skin the networks draw there is a flat block at 256x192,
# enlarged 4-5x into the photo; with the old clothes kept around the garment instead, the result reads as layering.
# Measured blind on the try-ons that differ between the two (wild and VITON val), two sets of reviewers: above 0.05
# kept clothes preferred 53 to 3 and 37 to 16; below, 14 to 6 (4 equal) and 6 to 3 (1 equal). Below it lie a
# garment much like the old one (a tee for a tee: what the TOM learnt to draw) and small gaps, which are drawn as
# the composition asks.
DRAWN_SHARE_MAX = 0.05
# An off-the-shoulder top (vton.off_shoulder) replaces the old top up to this drawn share: over a woman's tank top or
# halter (0.14-0.28 on the wild photos) what is drawn is the shoulders and the chest above its band, between the
# photo's own bare arms and neck, and reads as bare shoulders (graded A three times in six); over a man's broad tank
# (0.36) the drawn chest was a smear, over a tee or long sleeves (0.7-1.3) the arms would be drawn too: worn over them.
DRAWN_SHARE_OFF_SHOULDER = 0.32
DRAWN_SLIVER = 0.01  # strips of the old garment narrower than twice this (of the height) along the new one's edge
MAX_WORK_HEIGHT = 1024  # the high-resolution composite is computed at most this tall, then resized to the photo
# The garment's outline is softened by this many px at MAX_WORK_HEIGHT and at the network's height (a 256-px photo is
# as soft as its pixels), less between (a sharp 600-px photo's edges are crisper), EDGE_SIGMA x max(H / 1024, 256 / H).
# Judged blind: 0.8 at 1024 against none, 12 to 0 twice; 0.8 against 0.2 at 256 (VITON), 18 to 5 and 16 to 1; 0.8
# against the scaled 0.5-0.8 on wild windows 600-1000 px high, 2 to 18 and 1 to 0 (22 equal).
EDGE_SIGMA = 0.8


@dataclass
class TryOnResult:
    """One try-on.

    image: the photo with the garment, same size as the photo.
    tryon: the 192x256 try-on as :func:`vton.tryon.render` shows it;
    rendered: the TOM's rendered person (192x256).
    warped_garment, warped_mask, composition_mask: 192x256 intermediates (masks in mode 'L').
    change_mask: where the photo was changed, over the framed window at work resolution (mode 'L').
    garment_mask: the garment's mask as used (192x256, 'L').
    keypoints: (18, 3) COCO-18 in the photo's pixels; keypoints_image: the photo with them drawn.
    representation: a picture of the 22-channel person representation.
    num_persons: persons found in the photo (the largest was used); timings: seconds per step.
    parse: the human parser's labels of the framed person (192x256 palette image), or None without a parser.
    over_clothes: whether the garment was worn over the photo's clothes (asked, or chosen: see __call__).
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
    over_clothes: bool = False


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
        if gmm.config.person_channels != 22:
            raise ValueError(f"the GMM expects {gmm.config.person_channels} person channels; the library draws 22")
        self.parser = None if parser is None else parser.to(self.device).eval()
        if self.device.type == "cpu":
            # measured (benchmarks/network_speed.py): channels_last makes the GMM and the parser ~15% faster on
            # this CPU with the same images within rounding (tests/test_pipeline.py), and the TOM ~15% slower
            for model in (self.gmm, self.parser):
                if model is not None:
                    model.to(memory_format=torch.channels_last)
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
    def __call__(self, person, garment, garment_mask=None, over_clothes: bool | None = None
                 ) -> TryOnResult | list[TryOnResult]:
        """Dress ``person`` in ``garment``.

        Args:
            person: photo of a person (path, PIL image or array; any size, EXIF-rotated), or a PersonAnalysis.
            garment: garment photo(s), or GarmentInput(s); a list gives a list of results, computed as one batch.
            garment_mask: optional mask(s) for the garment(s), same size as the garment photo.
            over_clothes: True: the garment is worn over what the person has on, which stays as photographed around
                it; False: it replaces the old top, and the skin that the old top hid and the new garment does not
                cover is drawn; None (default): over a dress (:func:`vton.representation.wears_a_dress`) or where
                replacing would leave much of the old top to be drawn (:data:`DRAWN_SHARE_MAX`: a tee over long
                sleeves, a crop top over a tee), else replacing.
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

        results = self._run(analysis, inputs, timings, over_clothes)
        return results[0] if single else results

    def _run(self, analysis: PersonAnalysis, garments: list[GarmentInput], timings: dict[str, float],
             over_clothes: bool | None = None) -> list[TryOnResult]:
        b = len(garments)
        dev = self.device
        # 1. network inputs at 256x192
        person = PersonTensors.from_analysis(analysis, dev).expand(b)
        cloth = torch.stack([torch.tensor(g.image).permute(2, 0, 1) for g in garments]).to(dev).float() / 127.5 - 1
        cloth_mask = torch.stack([torch.tensor(g.mask)[None] for g in garments]).to(dev).float()

        # 2. GMM: TPS warp of the garment onto the person
        start = time.perf_counter()
        # the GMM does not see the inside of the back through the neckline: it put the garment's top there at the
        # base of the neck, and the front's neckline far below it, a crew neck drawn as a scoop
        unseen = torch.stack([torch.from_numpy(g.unseen_by_gmm())[None] for g in garments])
        warped, warped_mask, theta = warp_garment(self.gmm, person.representation, cloth, cloth_mask,
                                                  unseen=unseen.to(dev).float())
        grid = self.gmm.gridGen(theta.float())
        for i, g in enumerate(garments):
            # an off-the-shoulder top is worn below the shoulders, where the GMM never puts a top (vton.off_shoulder)
            drop = shoulder_drop(warped_mask[i, 0].cpu().numpy() > 0.5, analysis.keypoints) if (
                g.off_the_shoulder()) else 0.0
            if drop > 0:
                grid[i] = moved_grid(theta[i:i + 1], (0.0, drop), NET_HEIGHT, NET_WIDTH, self.gmm.config.grid_size)[0]
                warped[i] = warp(cloth[i:i + 1], grid[i:i + 1], "border")[0]
                warped_mask[i] = warp(cloth_mask[i:i + 1], grid[i:i + 1], "zeros")[0]
        timings["warp"] = time.perf_counter() - start

        # 3. TOM: rendered person, composition mask, the try-on at 256x192
        start = time.perf_counter()
        out = render(self.tom, person, warped, warped_mask, theta)
        timings["tryon"] = time.perf_counter() - start

        # 4. the same composition at the photo's resolution, pasted into the photo
        start = time.perf_counter()
        keypoints = analysis.keypoints_in_photo()
        keypoints_image = draw_keypoints(analysis.photo, keypoints)
        preview = representation_preview(analysis.representation)
        parse = None if analysis.labels is None else labels_to_image(analysis.labels)
        results = []
        for i, g in enumerate(garments):
            image, alpha, over = self._paste(analysis, g, grid[i:i + 1], out.rendered[i], out.comp[i], over_clothes)
            results.append(TryOnResult(
                image=image, tryon=tensor_to_image(out.tryon[i]), rendered=tensor_to_image(out.rendered[i]),
                warped_garment=tensor_to_image(out.warped[i]), warped_mask=tensor_to_image(out.warped_mask[i]),
                composition_mask=tensor_to_image(out.comp[i]), change_mask=alpha,
                garment_mask=Image.fromarray(g.mask.astype(np.uint8) * 255), keypoints=keypoints,
                keypoints_image=keypoints_image, representation=preview, num_persons=analysis.num_persons,
                timings=timings, parse=parse, over_clothes=over,
            ))
        timings["compose"] = time.perf_counter() - start
        return results

    def _paste(self, analysis: PersonAnalysis, garment: GarmentInput, grid: torch.Tensor, rendered: torch.Tensor,
               comp: torch.Tensor, over_clothes: bool | None = None) -> tuple[Image.Image, Image.Image, bool]:
        """The composition of :func:`vton.tryon.render` at the photo's resolution (at most MAX_WORK_HEIGHT tall
        over the framed window): the garment warped again with the same warp (``grid``, (1, 256, 192, 2) at the
        network's size; sharp), the TOM's rendering and composition mask upsampled, the old garment and the head
        from the parse refined on the photo; with the parser, the garment's sides stretched to the body's
        (:mod:`vton.fit`), lit by the old garment's light (:mod:`vton.shading`), and the bare skin the TOM draws
        under the old garment in the person's own skin tone (:mod:`vton.skin`); pasted into the photo with the
        change alpha as mask, so every other pixel is the photo's own. ``over_clothes``: as in :meth:`__call__`
        (worn over them, the change alpha is the new garment's footprint alone).

        Returns:
            the photo with the garment, the change alpha over the window (mode 'L', work resolution), and whether
            the garment was worn over the clothes.
        """
        framing = analysis.framing
        work_w, work_h = framing.photo_size()
        if not NET_HEIGHT <= work_h <= MAX_WORK_HEIGHT:  # else photo pixels 1:1 (no resampling in or out)
            work_h = int(min(max(work_h, NET_HEIGHT), MAX_WORK_HEIGHT))
            work_w = round(work_h * NET_WIDTH / NET_HEIGHT)
        dev = self.device
        # the garment's window at the largest work size, once per garment; warping samples it at any size
        garment_size = (round(MAX_WORK_HEIGHT * NET_WIDTH / NET_HEIGHT), MAX_WORK_HEIGHT)
        cloth_hi, mask_hi = garment.crop(garment_size)
        cloth_hi = torch.tensor(np.asarray(cloth_hi)).permute(2, 0, 1)[None].to(dev).float() / 127.5 - 1
        mask_hi = torch.tensor(np.asarray(mask_hi))[None, None].to(dev).float() / 255
        size = (work_w, work_h)

        def up(t: torch.Tensor, mode: str) -> torch.Tensor:
            return F.interpolate(t[None].float(), size=(work_h, work_w), mode=mode, align_corners=False)

        # the garment photo's pixels are about this many work pixels wide (a 256-px VITON garment on a 1024-px
        # photo: 4): its outline's fringe, where it blends into its light background, is that wide here
        fringe = max(1, round(work_h / garment.framing.height))
        if garment.framing.height < 0.5 * MAX_WORK_HEIGHT:
            # a small garment photo's mask, enlarged, has its pixels' stairs along every slanted edge: smoothed
            # over about one of its pixels and steepened back to a one-pixel ramp, the outline is a smooth curve
            sigma = 0.6 * MAX_WORK_HEIGHT / garment.framing.height
            smooth = cv2.GaussianBlur(mask_hi[0, 0].cpu().numpy(), (0, 0), sigma)
            smooth = np.clip((smooth - 0.5) * 1.7 * sigma + 0.5, 0, 1)
            mask_hi = torch.from_numpy(smooth).to(dev)[None, None]

        def outline(mask: torch.Tensor) -> torch.Tensor:
            # the fringe off the garment's outline: it would draw a pale line around the garment
            return _eroded(mask, fringe)

        upper, head = (torch.from_numpy(m)[None, None].to(dev) for m in analysis.masks_in_window(size))
        # the TOM's composition mask, steeper: where it hesitates (0.2-0.8, at the garment's edges and over arms),
        # a half-transparent garment reads as a ghost; upsampled 4-5x, as a smeared edge
        comp_hi = ((up(comp, "bilinear") - 0.5) * COMP_CONTRAST + 0.5).clamp(0, 1)
        grid_hi = upsample_grid(grid, (work_h, work_w))
        warped_mask_hi = outline(warp(mask_hi, grid_hi, "zeros"))
        first_row = analysis.armpit_row(size)
        comp_tom = comp_hi
        if analysis.parse is not None:  # its shoulders, sleeves and torso as warped (vton.fit.shown_as_warped)
            _, labels, keypoints = analysis.window(size)

            def shown_cover(torso_labels: np.ndarray) -> torch.Tensor:
                region = shown_as_warped(keypoints, torso_labels)
                # and the old garment's rim grown over the trousers or skirt (its fringe): left out, the change alpha
                # took it in anyway and showed the TOM's blurred drawing there, a grey line along the hem
                # (the window's own labels: a dress below the waist, relabelled skirt in torso_labels, is no fringe)
                region |= (upper[0, 0].cpu().numpy() > 0.5) & np.isin(labels, LOWER_BODY_LABELS)
                cover = cv2.GaussianBlur(region.astype(np.float32), (0, 0), 1.0)
                cover *= region | (labels > 0)  # softened inwards only: never past the region off the person
                return torch.maximum(comp_tom, torch.from_numpy(cover).to(dev)[None, None])

            # replacing a top, a dress below the waist is a skirt that stays (the parser half-labels trousers or
            # a skirt "dress", and the garment's hem was forced over them along that label, ragged); worn over a
            # dress (below), the garment shows its whole length over it
            comp_hi = shown_cover(analysis.skirt_labels_in_window(size))

        def fitted(grid: torch.Tensor, added: np.ndarray, longer: np.ndarray | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
            # the warped mask and composition mask of a fitted grid: the pixels it added over the old garment are
            # the garment's, and those a lengthened hem added wherever they are (bare skin, the trousers' top, a
            # dress) but on an arm, which stays in front
            comp = comp_hi
            if added.any():
                soft = torch.from_numpy(cv2.GaussianBlur(added.astype(np.float32), (0, 0), 1.0)).to(dev)
                comp = torch.maximum(comp, soft[None, None] * upper)
            if longer is not None and longer.any():
                # taken a little up into the garment: the TOM's mask fades out along the old hem, and the two
                # soft edges together left a grey line across the garment there
                reach = 2 * max(1, round(0.01 * work_h)) + 1
                # (upwards only: downwards it took back what was cut off the person, lengthened past its outline)
                longer = cv2.dilate(longer.astype(np.uint8), np.ones((reach, 1), np.uint8), anchor=(0, 0)) > 0
                longer &= ~np.isin(labels, ARM_LABELS)
                soft = torch.from_numpy(cv2.GaussianBlur(longer.astype(np.float32), (0, 0), 1.0)).to(dev)
                comp = torch.maximum(comp, soft[None, None])
            return outline(warp(mask_hi, grid, "zeros")), comp

        if over_clothes is None and analysis.wears_a_dress():
            over_clothes = True
        asked_over = over_clothes is True  # (over a dress, or asked), not chosen below
        sleeved = spread_ratio(garment.mask) >= SLEEVED_SPREAD
        fit_mask, fit_comp = warped_mask_hi, comp_hi
        if analysis.parse is not None:  # the garment fitted to the body (see vton.fit)
            shown = (comp_hi * warped_mask_hi)[0, 0].cpu().numpy() > 0.5
            warped_now = warped_mask_hi[0, 0].cpu().numpy() > 0.5

            def warped_by(grid: torch.Tensor) -> np.ndarray:
                return outline(warp(mask_hi, grid, "zeros"))[0, 0].cpu().numpy() > 0.5

            _, labels, keypoints = analysis.window(size)
            old, body = upper[0, 0].cpu().numpy() > 0.5, body_below_head(labels)
            design = length_ratio(garment.mask)
            long = design >= LONG_GARMENT
            off_shoulders = garment.off_the_shoulder()
            # a lengthened hem stays on the person, a pixel inside its outline (its soft edge is drawn a pixel
            # out): a loose tee warped wider than slim hips reached the wall
            on_person = cv2.erode((labels > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0

            def covered_arms(grid: torch.Tensor, shown: np.ndarray, rows_from: tuple[int, int]):
                if not sleeved or off_shoulders:  # a tank top's side is no sleeve, whatever first_rows says
                    return grid, np.zeros_like(shown)
                return cover_arms(grid, shown, body, keypoints, rows_from)

            def raised_shoulders(grid: torch.Tensor, shown: np.ndarray, rows_from: tuple[int, int]):
                if off_shoulders:  # worn below the shoulders
                    return grid, np.zeros_like(shown)
                return raise_shoulders(grid, shown, body, keypoints, rows_from)

            # its hem lowered to the old garment's (the GMM warps a tee shorter than it is)
            unlowered = grid_hi
            grid_hi, lowered = lower_hem(grid_hi, shown, old, keypoints, HEM_REACH_LONG if long else HEM_REACH)
            if over_clothes is not True:
                # replacing the old top, its sides stretched to the old garment's outline and its shoulders to
                # the body's; worn over it, the garment keeps its own width (stretched to an outline that stays
                # around it anyway, it drew white blocks over old sleeves)
                # (its own copy of what is shown: worn over the clothes instead, the garment is fitted anew below)
                fit_shown = shown | lowered
                grid_long, longer = lengthen_to_design(grid_hi, warped_by(grid_hi) if lowered.any() else warped_now,
                                                       fit_shown, keypoints, design)
                longer &= on_person
                fit_shown |= longer
                rows_from = first_rows(fit_shown, keypoints)
                grid_fit, added = widen_to_outline(grid_long, fit_shown, old | hung_over(longer, labels), rows_from,
                                                   keypoints)
                longer |= added & ~old
                grid_fit, closed = close_sleeve_gaps(grid_fit, fit_shown | added, body, keypoints)
                added |= lowered | closed
                grid_fit, raised = raised_shoulders(grid_fit, fit_shown | added, rows_from)
                grid_fit, covered = covered_arms(grid_fit, fit_shown | added | raised, rows_from)
                fit_mask, fit_comp = fitted(grid_fit, added | raised | covered, longer)
                if over_clothes is None:
                    over_clothes = drawn_share(old, (fit_comp * fit_mask)[0, 0].cpu().numpy() > 0.5) > (
                        DRAWN_SHARE_OFF_SHOULDER if off_shoulders else DRAWN_SHARE_MAX)
                if not over_clothes:
                    grid_hi = grid_fit
            if over_clothes:
                comp_hi = shown_cover(labels)
                if not long:  # a cropped garment worn over the clothes keeps its length: the old top shows below
                    grid_hi, lowered = unlowered, np.zeros_like(lowered)
                longer = np.zeros_like(lowered)
                if asked_over:  # over a top it was chosen to lay over (drawn_share), lengthened, it hung beside the
                    # body in flaps (wild 3, 34, 67: a tee over a mesh top, a halter over a crop tank)
                    grid_hi, longer = lengthen_to_design(grid_hi, warped_by(grid_hi) if lowered.any() else
                                                         warped_now, shown | lowered, keypoints, design)
                    longer &= on_person
                if longer.any():
                    first = int(np.argmax(longer.any(1)))
                    # hung straight down: no wider than the garment just above (widened to a dress's outline at
                    # the hips, its sides stepped out into blocks)
                    above = np.nonzero((shown | lowered)[max(0, first - 1)])[0]
                    hips = hung_over(longer, labels)
                    if above.size:
                        columns = np.arange(hips.shape[1])
                        hips &= ((columns >= above.min()) & (columns <= above.max()))[None]
                    grid_hi, wider = widen_to_outline(grid_hi, shown | lowered | longer, hips, (first, first),
                                                      keypoints)
                    longer |= wider
                lowered |= longer
                if analysis.wears_a_dress():  # the dress's sides covered (vton.fit.widen_over_dress)
                    grid_hi, wider = widen_over_dress(grid_hi, shown | lowered, old, np.isin(labels, ARM_LABELS),
                                                     keypoints)
                    lowered |= wider
                grid_hi, closed = close_sleeve_gaps(grid_hi, shown | lowered, body, keypoints)
                rows_from = first_rows(shown | lowered, keypoints)
                grid_hi, raised = raised_shoulders(grid_hi, shown | lowered | closed, rows_from)
                grid_hi, covered = covered_arms(grid_hi, shown | lowered | closed | raised, rows_from)
                fit_mask, fit_comp = fitted(grid_hi, lowered | closed | raised | covered, longer)
        elif over_clothes is None:
            over_clothes = drawn_share(upper[0, 0].cpu().numpy() > 0.5,
                                       (comp_hi * warped_mask_hi)[0, 0].cpu().numpy() > 0.5) > DRAWN_SHARE_MAX
        warped_mask_hi, comp_hi = fit_mask, fit_comp
        if analysis.parse is not None:  # nothing of it beyond the wall between an arm and the waist
            _, labels, keypoints = analysis.window(size)
            beyond = beyond_arm_gaps(keypoints, labels, sleeved)
            if not over_clothes:  # (what the garment no longer hides of the old one would be drawn: it stays)
                beyond &= upper[0, 0].cpu().numpy() < 0.5
            if beyond.any():
                comp_hi = comp_hi * torch.from_numpy(~beyond).to(dev)[None, None]
        warped_hi = warp(cloth_hi, grid_hi, "border")
        light = analysis.garment_light(size)
        if light is not None:  # lit as the old garment was on the body (vton.shading)
            warped_hi = ((warped_hi + 1) * torch.from_numpy(light).to(dev)[None, None] - 1).clamp(-1, 1)
        filled = torch.zeros_like(warped_mask_hi)  # what the warp does not cover but shows the garment (its front)
        if analysis.parse is not None and sleeved and not garment.off_the_shoulder():
            # the V between a sleeve and the body, laid flat, is garment worn (vton.fit.underarm_notches)
            _, labels, keypoints = analysis.window(size)
            shown_now = (comp_hi * warped_mask_hi)[0, 0].cpu().numpy() > 0.5
            notches = underarm_notches(shown_now, labels, keypoints)
            if notches.any():
                # (their colours from inside the garment: its outline's pixels are its photo's fringe, half
                # background, and copied across a notch they were a grey or white smear)
                inner = cv2.erode(shown_now.astype(np.uint8), np.ones((2 * fringe + 3,) * 2, np.uint8)) > 0
                colours = nearest_background(warped_hi[0].permute(1, 2, 0).cpu().numpy(), inner, notches,
                                             0.05 * work_h)  # (the box around them: they are narrower)
                warped_hi = torch.from_numpy(colours).permute(2, 0, 1)[None].to(dev)
                where = torch.from_numpy(notches).to(dev)[None, None]
                filled = where.float()
                comp_hi, warped_mask_hi = (torch.where(where, torch.ones_like(t), t)
                                           for t in (comp_hi, warped_mask_hi))
        straps = None
        garment_shown = comp_hi * warped_mask_hi
        if analysis.parse is not None and (over_clothes or garment.off_the_shoulder()):
            # the straps the garment leaves on the skin, drawn as skin (vton.skin): worn over the clothes, a dress's;
            # replacing a tank top or a camisole with a top worn below the shoulders, the old top's, which the TOM
            # drew as flat bands with its outline (a tank top's ghost) and stuck up past the shoulders
            straps = straps_left(upper[0, 0].cpu().numpy(), garment_shown[0, 0].cpu().numpy(),
                                 analysis.window(size)[1], first_row)
        if over_clothes:  # worn over the old clothes (a top over a dress): around the garment they stay as they are
            upper = upper * garment_shown
        kept = upper  # the old garment that changes, but for the straps (drawn below)
        if straps is not None and straps.any():
            # (a little past their edge: the parse's soft edge and the photo's JPEG ringing left a line along them)
            reach = 2 * max(1, round(0.005 * work_h)) + 1
            straps = cv2.dilate(straps.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
            soft = cv2.GaussianBlur(straps.astype(np.float32), (0, 0), 1.0)
            upper = torch.maximum(upper, torch.from_numpy(soft).to(dev)[None, None])
        else:
            straps = None
        neck = analysis.neck_in_window(size)
        if neck is not None:
            # the neck is head (never changed) but where the garment's front covers it: a crew neck over the base of
            # the neck was cut flat at the shoulder line; the inside of its back stays behind the neck
            inside = garment.inner_back_mask(garment_size)
            front = warped_mask_hi if not inside.any() else torch.maximum(outline(warp(
                mask_hi * (1 - torch.from_numpy(inside).to(dev)[None, None]), grid_hi, "zeros")), filled)
            head = (head - torch.from_numpy(neck).to(dev)[None, None] * front).clamp(0, 1)
            if inside.any():
                # below the neck the inside of the back (a grey lining, a label) is what the neckline shows of the
                # garment on a hanger; worn, the neckline shows what is behind it: the photo's own bare skin there,
                # worn over the clothes the old top (an undershirt's collar), and over an old top being replaced the
                # skin drawn as where the new garment uncovers it
                inner = (warped_mask_hi - front).clamp(0, 1)
                rim = analysis.neck_rim_in_window(size)  # the old top's pale edge: what is behind is the old top's
                behind = (labels == NECK_LABEL) & ~rim
                if over_clothes:
                    behind |= old | rim
                head = torch.maximum(head, inner * torch.from_numpy(behind.astype(np.float32)).to(dev)[None, None])
                if not over_clothes:  # the garment shows where its front does (comp * (1 - inner) left the
                    # inside's soft top edge at a quarter of its colour: a thin line across the skin drawn below it)
                    comp_hi = comp_hi * (front / warped_mask_hi.clamp(min=1e-6)).clamp(0, 1)
        if analysis.parse is not None and garment.long_sleeves():  # laid along the arms (see vton.sleeves)
            _, labels, keypoints = analysis.window(size)
            warped_hi, warped_mask_hi, comp_hi = lay_sleeves(garment.long_sleeves(), keypoints, labels, grid_hi,
                                                             cloth_hi, mask_hi, SLEEVES_SIZE, warped_hi,
                                                             warped_mask_hi, comp_hi)
        # anti-aliased: the garment's outline comes from a warped binary mask and the whole-pixel stretches of
        # vton.fit, and its slanted edges were staircases of 1-px steps, which read as cut out of paper
        sigma = EDGE_SIGMA * max(work_h / MAX_WORK_HEIGHT, NET_HEIGHT / work_h)
        shown_hi = torch.from_numpy(cv2.GaussianBlur((comp_hi * warped_mask_hi)[0, 0].cpu().numpy(), (0, 0), sigma))
        shown_hi = shown_hi.to(dev)[None, None]
        alpha = change_alpha(upper, head, shown_hi, torch.ones_like(shown_hi))
        rendered_hi = up(rendered, "bicubic").clamp(-1, 1)
        leftovers = analysis.leftovers_in_window(size)
        if leftovers is not None and leftovers.any():  # the TOM copies the straps it sees: draw what surrounds them
            rendered_hi = _inpainted(rendered_hi, leftovers)
        torso_skin, under = analysis.torso_skin(size), analysis.under_garment(size)
        if torso_skin is not None or under is not None:  # (both come from the parse)
            window, labels, keypoints = analysis.window(size)
            shown = (comp_hi * warped_mask_hi)[0, 0].cpu().numpy()
            old = kept[0, 0].cpu().numpy()
        if torso_skin is not None:  # the bare skin the TOM draws on the torso, in the person's skin tone
            torso, colour = torso_skin
            weight = bare_torso(torso, old, shown, first_row)
            # a thin strip between the new garment and the background is the wall, not skin (a halo)
            sliver, wall = wall_in_slivers(window, labels, weight, old, shown, SLIVER_WIDTH * work_h)
            weight = weight * ~sliver
            shading = torso_shading(torso & (labels > 0), keypoints)
            colour = skin_nearby(window, labels, old > 0.5, weight > 1e-3, colour, shading)
            toned = in_skin_tone(((rendered_hi[0].permute(1, 2, 0).cpu().numpy() + 1) / 2), weight, colour)
            # meeting the photo's own skin (a neckline drawn below the real neck) without a step
            changed = alpha[0, 0].cpu().numpy()
            toned = continue_real_skin(toned, window, changed * (1 - shown),
                                       (changed < 0.5) & np.isin(labels, SKIN_LABELS))
            toned[sliver] = wall[sliver] / 255
            rendered_hi = torch.from_numpy(toned * 2 - 1).permute(2, 0, 1)[None].to(dev)
        if under is not None:  # the person's skin and the background where the old garment was, drawn sharp
            image, weight = under
            # so is a strip of an old sleeve between the new sleeve and the wall: drawn as the arm under it, it was
            # a skin-coloured line along the new sleeve's outline
            strip, wall = wall_in_slivers(window, labels, weight * (1 - shown), old, shown, SLIVER_WIDTH * work_h)
            if strip.any():
                image = image.copy()  # the drawing is cached with the person
                image[strip] = wall[strip]
            image, weight = (torch.from_numpy(a).to(dev) for a in (image, weight))
            weight = weight[None, None]
            rendered_hi = rendered_hi * (1 - weight) + (image.permute(2, 0, 1)[None] / 127.5 - 1) * weight
        if torso_skin is not None:  # a strip of the old top between the new garment's side and the arm is garment
            strip, filled = garment_in_slivers(warped_hi[0].permute(1, 2, 0).cpu().numpy(), labels, old, shown,
                                               SLIVER_WIDTH * work_h, first_row)
            if strip.any():
                where = torch.from_numpy(strip).to(dev)[None, None]
                rendered_hi = torch.where(where, torch.from_numpy(filled).permute(2, 0, 1)[None].to(dev), rendered_hi)
        if straps is not None:  # what the straps left on the skin hide (vton.skin.skin_over_straps)
            window, labels, _ = analysis.window(size)
            # (drawn 3 px past where the change alpha's soft edge ends: there the TOM's drawing showed as a pale line)
            straps = cv2.dilate(straps.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
            drawn = skin_over_straps(window, labels, analysis.masks_in_window(size)[0], straps)
            where = torch.from_numpy(straps).to(dev)[None, None]
            rendered_hi = torch.where(where, torch.from_numpy(drawn * 2 - 1).permute(2, 0, 1)[None].to(dev),
                                      rendered_hi)
        tryon_hi = compose(warped_hi, rendered_hi, shown_hi)
        alpha_image = Image.fromarray((alpha[0, 0] * 255 + 0.5).clamp(0, 255).byte().cpu().numpy())

        in_photo = (max(1, round(framing.width)), max(1, round(framing.height)))  # the window's size in the photo
        offset = (round(framing.left), round(framing.top))
        out = analysis.photo.copy()
        tryon_image = tensor_to_image(tryon_hi[0])
        if in_photo != tryon_image.size:
            tryon_image = tryon_image.resize(in_photo, Image.Resampling.LANCZOS)
        out.paste(tryon_image, offset, alpha_image if in_photo == alpha_image.size
                  else alpha_image.resize(in_photo, Image.Resampling.BILINEAR))
        return out, alpha_image, bool(over_clothes)


def drawn_share(old: np.ndarray, shown: np.ndarray) -> float:
    """How much of the old upper garment a new garment leaves to be drawn (the skin and background it hid), as a
    share of the new garment's area: 0 for a garment that covers the old one, but for the strips narrower than
    2 x :data:`DRAWN_SLIVER` of the height along its edge. Measured on wild photos: a tee for a tee 0-0.08, a tee
    over a long-sleeved top 0.5-0.9, a cropped camisole over a tee 0.3, a bandeau over a man's tee 3.6.

    Args:
        old: (H, W) bool, the old upper garment; shown: (H, W) bool, the new garment as composed in.
    """
    r = max(1, round(DRAWN_SLIVER * old.shape[0]))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    drawn = cv2.morphologyEx((old & ~shown).astype(np.uint8), cv2.MORPH_OPEN, disc)
    return float(drawn.sum() / max(int(shown.sum()), 1))


def _eroded(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """(1, 1, H, W) soft mask eroded by a (2 radius + 1)-pixel square (its minimum there): OpenCV on a CPU (a 3x3
    torch min-pool over 1024x768 takes ~19 ms on a 2-core CPU, cv2.erode ~1.5 ms), a separable min-pool on a GPU."""
    size = 2 * radius + 1
    if mask.device.type == "cpu":
        kernel = np.ones((size, size), np.uint8)
        return torch.from_numpy(cv2.erode(mask[0, 0].numpy(), kernel))[None, None]
    rows = -F.max_pool2d(-mask, (1, size), 1, (0, radius))
    return -F.max_pool2d(-rows, (size, 1), 1, (radius, 0))


def _inpainted(image: torch.Tensor, mask: np.ndarray) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1] with the pixels of ``mask`` ((H, W) bool, grown by a pixel) filled in from around
    them (Telea); cost grows with the mask's area, which is thin straps and cuffs here."""
    box = box_around(mask, 8)  # Telea reads 3 px around the hole: the rest of the image is not needed
    if box is None:
        return image
    pixels = ((image[0, :, box[0], box[1]].permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
    hole = cv2.dilate(mask[box].astype(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(pixels, hole, 3, cv2.INPAINT_TELEA)
    out = image.clone()
    out[0, :, box[0], box[1]] = torch.from_numpy(filled.astype(np.float32) / 127.5 - 1).permute(2, 0, 1).to(image.device)
    return out
