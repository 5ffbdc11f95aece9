"""Train the GMM, the TOM or the human parser on VITON-format data.

    # one process (CPU or one GPU); bf16 autocast by default
    python -m training.train gmm --dataroot ../shared/data/viton --split train \
        --pairs training/splits/train_pairs.txt --out runs/gmm --steps 20000 --ngf 32
    python -m training.train tom --dataroot ../shared/data/viton --split train \
        --pairs training/splits/train_pairs.txt --out runs/tom --gmm runs/gmm --steps 20000 --ngf 32
    # the human parser (photo -> LIP labels), on augmented photos; needs image-parse/
    python -m training.train parser --dataroot ../shared/data/viton --split train \
        --pairs training/splits/train_pairs.txt --out runs/parser --steps 12000 --batch-size 8 --lr 1e-3
    # continue a run where it stopped (model, optimiser, scheduler, step, RNG, data order)
    python -m training.train gmm ... --out runs/gmm --resume
    # fine-tune: start a new run from trained weights (same stage and width)
    python -m training.train tom ... --out runs/tom-ft --init runs/tom
    # several GPUs (or CPU processes with gloo): DistributedDataParallel, --batch-size per process
    torchrun --nproc_per_node=4 -m training.train gmm ...

A run folder holds checkpoint.pt (written atomically every --save-every steps and at the end), log.csv,
samples/step_NNNNNNN.png, and model/ (the trained network in Hub format, see ``vton.hub.save_model``).
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler
from torchmetrics.functional.image import structural_similarity_index_measure as ssim
from torchvision.utils import save_image
from tqdm import tqdm

from vton.gmm import GMM, GMMConfig, warp
from vton.hub import atomic_write, load_model, load_state_dict_checked, save_model
from vton.parsing import PALETTE, HumanParser, ParserConfig
from vton.tom import TOM, TOMConfig
from vton.tryon import PersonTensors, render, warp_garment

from .dataset import VitonDataset
from .discriminator import PatchDiscriminator, lsgan_loss
from .parsing_data import ParsingDataset
from .perceptual import VGGPerceptualLoss

log = logging.getLogger("training.train")


PROCESS_START = time.time()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["gmm", "tom", "parser"])
    p.add_argument("--dataroot", required=True)
    p.add_argument("--split", default="train")
    p.add_argument("--pairs", default="train_pairs.txt", help="pairs file: a path, or a name under --dataroot")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--representation", choices=["photo", "annotations"], default="photo")
    p.add_argument("--cache-dir", default="cache/persons", help="MediaPipe detections, computed once per image")
    p.add_argument("--parse-with", help="GMM/TOM, photo representation: person masks from this human parser's "
                                        "labels (run, pipeline or model folder; cached once per image), as the "
                                        "pipeline uses them; without it MediaPipe and the heuristics")
    p.add_argument("--garment-masks", choices=["dataset", "auto"], default="dataset",
                   help="garment masks: the dataset's cloth-mask/ or the library's automatic ones (as the app)")
    p.add_argument("--garment-input", choices=["rgb", "mask"], default="rgb",
                   help="GMM garment input: RGB (CP-VTON) or the garment mask (CP-VTON+)")
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--decay-from", type=float, default=0.5, help="fraction of --steps after which lr decays linearly to 0")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--ngf", type=int, default=64, help="network width (64: the paper's)")
    p.add_argument("--parser-width", type=int, default=16,
                   help="parser: channels of its full-resolution level (levels: 1, 2, 4, 8, 12, 16 times this)")
    p.add_argument("--grid-reg", type=float, default=40.0, help="GMM: weight of the CP-VTON+ TPS grid regulariser")
    p.add_argument("--mask-weight", type=float, default=1.0, help="GMM: L1 of the warped garment mask vs the worn region")
    p.add_argument("--gmm", help="TOM: trained GMM (run folder, pipeline folder or gmm model folder)")
    p.add_argument("--ssim-weight", type=float, default=1.0, help="TOM: weight of 1 - SSIM")
    p.add_argument("--tom-mask-target", choices=["region", "warped"], default="region",
                   help="TOM mask loss target: the worn garment region (CP-VTON+) or the warped garment mask (CP-VTON)")
    p.add_argument("--tom-input", choices=["head", "head+lower", "agnostic"], default="agnostic",
                   help="TOM: what it sees of the photo: the head (CP-VTON), also the lower body (CP-VTON+), or "
                        "everything but the old garment, torso skin and arms (vton.representation.hidden_region)")
    p.add_argument("--tom-loss-on", choices=["shown", "all", "both"], default="shown",
                   help="TOM: losses on the try-on as the pipeline shows it, the photo outside the region a try-on "
                        "changes (vton.tom.change_alpha), on every pixel of the TOM's output (CP-VTON), or the sum "
                        "of both (the TOM's output alone then also reproduces what the try-on keeps)")
    p.add_argument("--adv-weight", type=float, default=0.0,
                   help="TOM: weight of the least-squares adversarial loss of a patch discriminator (0: off)")
    p.add_argument("--d-lr-ratio", type=float, default=4.0,
                   help="TOM: the discriminator's learning rate as a multiple of the TOM's (two time-scale rule)")
    p.add_argument("--backgrounds", type=float, default=0.0,
                   help="GMM/TOM: probability of putting the person on another background (cut out by the parse)")
    p.add_argument("--uncover", type=float, default=0.0,
                   help="TOM: probability of training as if the photographed garment were bigger than the new one, "
                        "so the TOM learns to draw the arms, skin and waistband a smaller garment uncovers "
                        "(training.dataset.bigger_old_garment)")
    p.add_argument("--uncover-band", type=float, default=0.0,
                   help="TOM, with --uncover: also a band of the lower body under the hem, up to this fraction of "
                        "the height (0: off; see training.dataset.bigger_old_garment)")
    p.add_argument("--tom-output-norm", action="store_true",
                   help="TOM: InstanceNorm on the output as the reference (it keeps renderings at zero mean)")
    p.add_argument("--init", help="start from these weights (run folder or model folder of the same stage and "
                                  "width): fine-tuning; ignored when --resume finds a checkpoint")
    p.add_argument("--vgg-weights", help="TOM: local VGG19 state_dict for the perceptual loss (off without it)")
    p.add_argument("--hflip", action="store_true", help="mirror half of the pairs (parser: always on)")
    p.add_argument("--dice-weight", type=float, default=1.0, help="parser: weight of the soft Dice loss beside "
                                                                  "cross-entropy")
    p.add_argument("--parse-completed", action="store_true",
                   help="parser: the image-parse files are already completed (training.parsing_data.complete_parse "
                        "with MediaPipe's masks, written where MediaPipe runs): read as they are, for a GPU machine "
                        "without MediaPipe; pass --cache-dir ''")
    p.add_argument("--teacher", help="parser: distil this parser's labels at --teacher-scales (mirror-averaged, as "
                                     "HumanParser.probabilities) into the one being trained, beside the dataset's")
    p.add_argument("--teacher-scales", type=float, nargs="+", default=[1.0, 0.875, 1.125])
    p.add_argument("--distil-weight", type=float, default=1.0,
                   help="parser, with --teacher: weight of the cross-entropy against the teacher's probabilities")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="bf16 autocast or float32; auto: bf16 where the hardware has fast bf16 (CUDA, or a CPU "
                        "with AVX512-BF16/AMX), else fp32 (on an AVX2-only CPU bf16 convolutions are ~10x slower)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--sample-every", type=int, default=1000)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--time-limit", type=float,
                   help="seconds from start: after 100 steps, shorten --steps to what fits in this time at the "
                        "speed measured (with a 10%% margin); the lr schedule follows the new length (time-boxed "
                        "machines)")
    p.add_argument("--stop-at", type=int, help="save and stop after this step (time-boxed sessions); --resume goes on")
    return p.parse_args(argv)


class StepSampler(Sampler):
    """Infinite, resumable data order: the items of step s are a fixed function of (seed, s).

    Every epoch is a seeded permutation; with W processes, a step takes W * batch_size consecutive items and
    process r takes its r-th slice. Yields (index, flip, position), position counting items from the start of
    training, so that augmentation is also fixed by the step.
    """

    def __init__(self, size: int, batch_size: int, seed: int, start_step: int, rank: int = 0, world: int = 1,
                 hflip: bool = False):
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start_step, self.rank, self.world, self.hflip = start_step, rank, world, hflip

    def _epoch(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.size, generator=g), torch.rand(self.size, generator=g) < 0.5

    def __iter__(self):
        step = self.start_step
        cached_epoch, order, flips = -1, None, None
        while True:
            first = (step * self.world + self.rank) * self.batch_size
            for position in range(first, first + self.batch_size):
                epoch, offset = divmod(position, self.size)
                if epoch != cached_epoch:
                    cached_epoch, (order, flips) = epoch, self._epoch(epoch)
                yield int(order[offset]), bool(flips[offset]) and self.hflip, position
            step += 1


def lr_factor(step: int, steps: int, decay_from: float) -> float:
    """Constant, then linear decay to 0 (the reference's 100k + 100k schedule, as fractions)."""
    start = int(steps * decay_from)
    return 1.0 if step < start else max(0.0, (steps - step) / max(1, steps - start))


def grid_regularization(grid: torch.Tensor) -> torch.Tensor:
    """CP-VTON+ style smoothness: mean absolute second difference of the TPS grid along x and y."""
    d2x = grid[:, :, 2:] - 2 * grid[:, :, 1:-1] + grid[:, :, :-2]
    d2y = grid[:, 2:] - 2 * grid[:, 1:-1] + grid[:, :-2]
    return d2x.abs().mean() + d2y.abs().mean()


def load_trained(path: str | Path, stage: str, device="cpu") -> GMM | TOM:
    """A trained GMM or TOM from a run folder (its model/), a pipeline folder (its gmm/ or tom/) or a model folder."""
    path = Path(path)
    for candidate in (path / "model", path / stage, path):
        if (candidate / "config.json").is_file():
            return load_model(candidate, stage, device)
    raise FileNotFoundError(f"no trained {stage.upper()} in {path} (expected model/, {stage}/ or config.json there)")


def build_model(args) -> GMM | TOM | HumanParser:
    if args.stage == "parser":
        w = args.parser_width
        return HumanParser(ParserConfig(widths=(w, 2 * w, 4 * w, 8 * w, 12 * w, 16 * w)))
    if args.stage == "gmm":
        return GMM(GMMConfig(ngf=args.ngf, garment_channels=3 if args.garment_input == "rgb" else 1))
    channels = {"head": 25, "head+lower": 26, "agnostic": 27}[args.tom_input]
    return TOM(TOMConfig(ngf=args.ngf, in_channels=channels, output_norm=args.tom_output_norm,
                         person_input=args.tom_input))


def widen_input(state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A TOM state_dict with fewer input channels than ``model`` (25 or 26 -> 27): the first convolution gets zero
    weights for the new channels, so fine-tuning starts from the trained network's output."""
    key = "model.model.0.weight"
    target = model.state_dict().get(key)
    if key in state and target is not None and state[key].shape[1] < target.shape[1]:
        weight = torch.zeros_like(target)
        weight[:, :state[key].shape[1]] = state[key]
        state = {**state, key: weight}
    return state


def dice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice, averaged over the labels present in the batch (prediction or target): thin parts (arms,
    neck) weigh as much as the background. logits (B, K, H, W), labels (B, H, W) int64."""
    probs = logits.softmax(1)
    target = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).float()
    inter = (probs * target).sum((0, 2, 3))
    total = probs.sum((0, 2, 3)) + target.sum((0, 2, 3))
    present = target.sum((0, 2, 3)) > 0
    return 1 - (2 * inter[present] / total[present].clamp(min=1e-6)).mean()


def gmm_garment_input(batch: dict, garment_input: str) -> torch.Tensor:
    return batch["garment"] if garment_input == "rgb" else batch["garment_mask"] * 2 - 1


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast speeds this device up: CUDA with bf16 support, or a CPU with bf16 instructions."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def atomic_save(obj, path: Path) -> None:
    """torch.save through a temporary file; a failure (a full disk) ends the run with one line and leaves the last
    checkpoint as it was."""
    try:
        atomic_write(path, lambda tmp: torch.save(obj, tmp))
    except OSError as err:
        raise SystemExit(f"could not write {path} ({err.strerror or err}): stopping; the last checkpoint is "
                         "intact, free some space and --resume") from None


def truncate_log(log_file: Path, step: int) -> None:
    """Drop the log rows after ``step`` (logged after the checkpoint a resumed run starts from)."""
    if not log_file.is_file():
        return
    with log_file.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or all(int(r["step"]) <= step for r in rows):
        return
    kept = [r for r in rows if int(r["step"]) <= step]
    with log_file.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)


def main(args: argparse.Namespace) -> Path:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    main_process = rank == 0
    out = Path(args.out)
    if main_process:
        (out / "samples").mkdir(parents=True, exist_ok=True)

    # 1. data: rank 0 builds the detection cache first, the others then read it
    def make_dataset():
        if args.stage == "parser":
            return ParsingDataset(args.dataroot, args.split, args.pairs, seed=args.seed, cache_dir=args.cache_dir,
                                  completed=args.parse_completed)
        human_parser = load_trained(args.parse_with, "parser") if args.parse_with else None
        return VitonDataset(args.dataroot, args.split, args.pairs, args.representation, args.cache_dir,
                            garment_masks=args.garment_masks, with_lower_body=args.stage == "tom", parser=human_parser,
                            garment_unseen=args.stage == "tom",
                            backgrounds=args.backgrounds, uncover=args.uncover, uncover_band=args.uncover_band,
                            seed=args.seed)
    if distributed and not main_process:
        dist.barrier()
    dataset = make_dataset()
    if distributed and main_process:
        dist.barrier()
    if len(dataset) == 0:
        raise SystemExit("no training pairs")

    # 2. model, optimiser, schedule; resume restores all of them and the RNG
    torch.manual_seed(args.seed)
    model = build_model(args).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, args.steps, args.decay_from))
    discriminator = d_optimizer = None
    if args.stage == "tom" and args.adv_weight:
        discriminator = PatchDiscriminator().to(device)
        d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    step = 0
    checkpoint_file = out / "checkpoint.pt"
    if args.resume and checkpoint_file.is_file():
        state = torch.load(checkpoint_file, map_location="cpu", weights_only=True)
        if state["stage"] != args.stage:
            raise SystemExit(f"{checkpoint_file} is a {state['stage']} run, not {args.stage}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if discriminator is not None and "discriminator" in state:
            discriminator.load_state_dict(state["discriminator"])
            d_optimizer.load_state_dict(state["d_optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        torch.set_rng_state(state["rng"])
        if main_process:
            log.info("resumed %s at step %d", checkpoint_file, step)
            truncate_log(out / "log.csv", step)
    elif args.init:
        init = load_trained(args.init, args.stage)
        load_state_dict_checked(model, widen_input(init.state_dict(), model), str(args.init))
        if main_process:
            log.info("initialised from %s", args.init)
    elif args.resume and main_process:
        log.info("no checkpoint in %s: starting from scratch", out)
    raw_model = model
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    if args.stage == "parser":
        args.hflip = True  # mirrored photos with left/right labels swapped are always right
    teacher = None
    if args.stage == "parser" and args.teacher:  # its labels at several scales, learnt at one (the try-on's)
        teacher = load_trained(args.teacher, "parser", device).eval().requires_grad_(False)
    gmm = load_trained(args.gmm, "gmm", device) if args.stage == "tom" else None
    if args.stage == "tom" and gmm is None:
        raise SystemExit("the TOM trains on warps of a trained GMM: pass --gmm")
    perceptual = VGGPerceptualLoss(args.vgg_weights).to(device) if args.vgg_weights else None
    garment_input = args.garment_input if gmm is None else ("rgb" if gmm.config.garment_channels == 3 else "mask")

    sampler = StepSampler(len(dataset), args.batch_size, args.seed, step, rank, world, args.hflip)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers,
                        pin_memory=device.type == "cuda", persistent_workers=args.workers > 0)
    use_bf16 = args.precision == "bf16" or (args.precision == "auto" and fast_bf16(device))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    if main_process:
        log.info("%d pairs, device %s, %s, world size %d", len(dataset), device, "bf16" if use_bf16 else "fp32", world)

    log_file = out / "log.csv"
    progress = tqdm(total=args.steps, initial=step, desc=args.stage, disable=not main_process, dynamic_ncols=True)
    model.train()
    started, window = time.time(), []
    batches = iter(loader)
    last = min(args.steps, args.stop_at or args.steps)
    first_step, first_time = step, None
    while step < last:
        if args.time_limit and step == first_step + 5:
            first_time = time.time()  # past the workers' start
        if args.time_limit and step == first_step + 105:
            per_step = (time.time() - first_time) / 100
            fits = torch.tensor(step + int((0.9 * args.time_limit - (time.time() - PROCESS_START)) / per_step))
            if distributed:  # every process stops at the same step: rank 0's estimate
                fits = fits.to(device)
                dist.broadcast(fits, 0)
            if int(fits) < args.steps:
                args.steps = max(step + 1, int(fits))
                last = min(args.steps, args.stop_at or args.steps)
                progress.total = args.steps
                if main_process:
                    log.info("%.3f s per step: %d steps fit in %.0f s (resume with --steps %d)", per_step,
                             args.steps, args.time_limit, args.steps)
        batch = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in next(batches).items()}
        # 3. forward and losses
        with autocast:
            if args.stage == "parser":
                logits = model(batch["image"]).float()
                losses = {"ce": F.cross_entropy(logits, batch["labels"])}
                if args.dice_weight:
                    losses["dice"] = args.dice_weight * dice_loss(logits, batch["labels"])
                if teacher is not None:
                    with torch.no_grad():
                        target = teacher.probabilities(batch["image"], True, tuple(args.teacher_scales))
                    losses["distil"] = args.distil_weight * -(target * logits.log_softmax(1)).sum(1).mean()
            elif args.stage == "gmm":
                grid, _ = model(batch["representation"], gmm_garment_input(batch, garment_input))
                warped = warp(batch["garment"], grid, "border")
                warped_mask = warp(batch["garment_mask"], grid, "zeros")
                losses = {"l1": F.l1_loss(warped.float(), batch["target_garment"])}
                if args.mask_weight:
                    losses["mask"] = args.mask_weight * F.l1_loss(warped_mask.float(), batch["garment_region"])
                if args.grid_reg:
                    losses["grid"] = args.grid_reg * grid_regularization(grid.float())
            else:
                with torch.no_grad():  # the library's try-on, as the pipeline runs it (mirror-averaged warp)
                    warped, warped_mask, _ = warp_garment(gmm, batch["representation"], batch["garment"],
                                                          batch["garment_mask"], unseen=batch["garment_unseen"])
                result = render(model, PersonTensors.from_batch(batch), warped, warped_mask)
                rendered, mask = result.rendered, result.comp
                tryon = result.network if args.tom_loss_on == "all" else result.tryon
                person = batch["person"]
                mask_target = batch["garment_region"] if args.tom_mask_target == "region" else warped_mask
                losses = {"l1": F.l1_loss(tryon, person), "mask": F.l1_loss(mask, mask_target)}
                if args.ssim_weight:
                    losses["ssim"] = args.ssim_weight * (1 - ssim((tryon + 1) / 2, (person + 1) / 2, data_range=1.0))
                if args.tom_loss_on == "both":  # the losses above on the try-on as shown, these on every pixel
                    losses["l1_all"] = F.l1_loss(result.network, person)
                    if args.ssim_weight:
                        losses["ssim_all"] = args.ssim_weight * (
                            1 - ssim((result.network + 1) / 2, (person + 1) / 2, data_range=1.0))
                if perceptual is not None:
                    losses["vgg"] = perceptual(tryon, person)
                if discriminator is not None:
                    losses["adv"] = args.adv_weight * lsgan_loss(discriminator(tryon), real=True)
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise SystemExit(f"loss is {loss.item()} at step {step}: stopping (last checkpoint is intact)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if discriminator is not None:  # the discriminator's step, on the try-on just made and the photo
            for group in d_optimizer.param_groups:
                group["lr"] = args.d_lr_ratio * scheduler.get_last_lr()[0]
            d_optimizer.zero_grad(set_to_none=True)
            with autocast:
                d_loss = (lsgan_loss(discriminator(person), real=True)
                          + lsgan_loss(discriminator(tryon.detach()), real=False)) / 2
            d_loss.backward()
            d_optimizer.step()
            losses["d"] = d_loss.detach()
        step += 1
        progress.update(1)
        window.append({k: v.item() for k, v in losses.items()})

        # 4. logs, samples, checkpoints (main process only)
        if main_process and (step % args.log_every == 0 or step == args.steps):
            elapsed = time.time() - started
            row = {"step": step, "loss": sum(sum(v for k, v in w.items() if k != "d") for w in window) / len(window),
                   **{k: sum(w[k] for w in window) / len(window) for k in window[0]},
                   "lr": scheduler.get_last_lr()[0], "s_per_step": elapsed / len(window)}
            new_file = not log_file.is_file()
            with log_file.open("a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(row))
                if new_file:
                    writer.writeheader()
                writer.writerow(row)
            progress.set_postfix(loss=f"{row['loss']:.4f}", lr=f"{row['lr']:.2e}")
            started, window = time.time(), []
        if main_process and (step % args.sample_every == 0 or step == args.steps):
            if args.stage == "parser":
                palette = torch.tensor(PALETTE, dtype=torch.float32, device=device) / 127.5 - 1
                rows = [batch["image"]] + [palette[labels].permute(0, 3, 1, 2)
                                           for labels in (logits.argmax(1), batch["labels"])]
            elif args.stage == "gmm":
                rows = [batch["garment"], warped.float(), batch["target_garment"],
                        (warped.float() + batch["person"]) / 2]
            else:
                rows = [batch["person"], warped, rendered, mask.expand(-1, 3, -1, -1) * 2 - 1, tryon]
            grid_image = torch.cat([r.detach()[:4].cpu() for r in rows], 0)
            save_image((grid_image + 1) / 2, out / "samples" / f"step_{step:07d}.png", nrow=min(4, rows[0].shape[0]))
        if main_process and (step % args.save_every == 0 or step == last):
            state = {"stage": args.stage, "step": step, "model": raw_model.state_dict(),
                     "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                     "rng": torch.get_rng_state(), "args": {k: v for k, v in vars(args).items()}}
            if discriminator is not None:
                state |= {"discriminator": discriminator.state_dict(), "d_optimizer": d_optimizer.state_dict()}
            atomic_save(state, checkpoint_file)
    progress.close()
    if main_process and step >= args.steps:
        save_model(raw_model, out / "model")
        (out / "args.json").write_text(json.dumps(vars(args), indent=2) + "\n")
        log.info("done: %d steps, model in %s", step, out / "model")
    if distributed:
        dist.destroy_process_group()
    return out


if __name__ == "__main__":
    main(parse_args(sys.argv[1:]))
