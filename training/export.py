"""Export trained runs as a Hub-ready pipeline folder (gmm/, tom/ and parser/: config.json + model.safetensors,
README.md).

    python -m training.export --gmm runs/gmm --tom runs/tom --parser runs/parser --out vton/weights/cp-vton-viton \
        --fp16 --metrics artifacts/eval_val.json --metrics artifacts/eval_val_auto.json \
        --parser-metrics artifacts/parser_val.json
    # only a new parser: the folder's GMM, TOM and model card stay, the card's parser section is replaced
    python -m training.export --parser runs/parser --out vton/weights/cp-vton-viton --fp16 \
        --parser-metrics artifacts/parser_val.json
    # several runs of one network fine-tuned from the same weights: their average (a "model soup")
    python -m training.export --parser runs/parser-ft runs/parser-gpu --out vton/weights/cp-vton-viton --fp16

The folder loads with ``TryOnPipeline.from_pretrained(folder)`` and uploads with ``python -m training.push_to_hub``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from vton.hub import save_model

from .train import load_trained


def average_weights(models: list[torch.nn.Module]) -> torch.nn.Module:
    """The first model with the mean of all the models' weights (a "model soup", Wortsman et al. 2022): fine-tunes
    of one network from the same weights stay in one basin, and their average can keep what each learned (the
    human parser: one fine-tune's better held-out IoU and the other's behaviour on photos unlike VITON). Float
    tensors (weights, BatchNorm statistics) are averaged, counters are the first model's."""
    states = [m.state_dict() for m in models]
    if any(s.keys() != states[0].keys() or any(s[k].shape != states[0][k].shape for k in s) for s in states):
        raise SystemExit("the models to average differ in architecture")
    average = {k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v
               for k, v in states[0].items()}
    models[0].load_state_dict(average)
    return models[0]


def run_summary(path: Path) -> dict:
    """Steps and training arguments of a run folder, if it has them."""
    args_file = Path(path) / "args.json"
    return json.loads(args_file.read_text()) if args_file.is_file() else {}


PARSER_HEADING = "## Human parser"


def parser_section(args: dict, config, metrics: dict | None, history: str | None = None) -> str:
    """The model card's section on the human parser (ends before the next '## ' heading)."""
    lines = [
        PARSER_HEADING,
        "`parser/`: photo -> 20 LIP labels (label 10: neck and bare torso skin), a U-Net of widths "
        f"{list(config.widths)} at 256x192 trained from scratch on the VITON parses (completed with the neck) of "
        f"`{args.get('pairs', '?')}`: {args.get('steps', '?')} steps, batch {args.get('batch_size', '?')}, Adam lr "
        f"{args.get('lr', '?')} with linear decay from {args.get('decay_from', '?')} of the steps, cross-entropy + "
        f"{args.get('dice_weight', '?')} x soft Dice; persons cut out by the parse and put on random backgrounds, "
        "zoomed out and in, rotated, mirrored with left/right labels swapped, colour, blur, noise and JPEG changes.",
        "",
    ]
    if history:
        lines += [history, ""]
    if metrics:
        groups = ("background", "head", "upper", "arms", "lower", "neck", "mean")
        lines += [
            f"IoU per label group on {metrics['persons']} held-out persons of `{metrics['pairs_file']}` "
            "(dataset-level: the sum of intersections over the sum of unions; the mean is over the first five):",
            "",
            "| setting | " + " | ".join(groups) + " |",
            "|---" * (len(groups) + 1) + "|",
        ]
        for setting, label in (("plain", "as photographed"), ("background", "random backgrounds, zoomed out"),
                               ("plain_dataset_parse", "as photographed, vs the dataset's parse as is")):
            lines.append(f"| {label} | " + " | ".join(f"{metrics[setting][g]:.4f}" for g in groups) + " |")
        mirror = " --parser-mirror-average" if metrics.get("mirror_average") else ""
        lines += ["", f"`python -m training.evaluate --parser --model <this folder> --dataroot {metrics['dataroot']} "
                      f"--split {metrics['split']} --pairs {metrics['pairs_file']}{mirror} --json parser.json`", ""]
    return "\n".join(lines) + "\n"


def with_parser_section(card: str, section: str) -> str:
    """``card`` with its parser section replaced by ``section`` (inserted before the licence if it had none)."""
    if PARSER_HEADING in card:
        start = card.index(PARSER_HEADING)
        end = card.find("\n## ", start + 1)
        return card[:start] + section + (card[end + 1:] if end >= 0 else "")
    at = card.find("## Licence")
    return card + "\n" + section if at < 0 else card[:at] + section + "\n" + card[at:]


def model_card(gmm_args: dict, tom_args: dict, metrics: list[dict], gmm_config, tom_config,
               history: str | None = None) -> str:
    loss_pixels = {"shown": "losses on the try-on as shown (the photo outside the region a try-on changes)",
                   "both": "losses on the try-on as shown and on every pixel of the TOM's output"}.get(
                       tom_args.get("tom_loss_on"), "losses on every pixel")
    shows = {"head": "the head (CP-VTON)", "head+lower": "the head and the lower body (CP-VTON+)",
             "agnostic": "the photo but the old garment, torso skin and arms (clothing-agnostic, as VITON-HD)"}
    lines = [
        "---",
        "license: other",
        "license_name: research-only",
        "tags: [virtual-try-on, cp-vton, image-to-image]",
        "library_name: pytorch",
        "---",
        "",
        "# CP-VTON (GMM + TOM) trained on VITON, person representation from one photo",
        "",
        "Weights for the `vton` library: a Geometric Matching Module (TPS warp, 5x5 control points) and a Try-On",
        "Module (U-Net) after CP-VTON (Wang et al., ECCV 2018), trained with the person representation that the",
        "library computes from a single photo (MediaPipe pose + segmentation + face landmarks), and, in `parser/`",
        "when present, the project's own human parser, so no OpenPose or downloaded parser is needed at inference.",
        "Upper-body garments, 256x192 network resolution.",
        "",
        "```python",
        "from vton import TryOnPipeline",
        "pipe = TryOnPipeline.from_pretrained('<this folder or repo id>')",
        "result = pipe('person.jpg', 'garment.jpg')  # result.image: the photo, wearing the garment",
        "```",
        "",
        "## Training",
        f"- Data: VITON pairs (Han et al., CVPR 2018) in CP-VTON layout, pairs file `{gmm_args.get('pairs', '?')}`, "
        f"representation `{gmm_args.get('representation', 'photo')}`.",
        f"- GMM: width ngf={gmm_config.ngf}, garment input {gmm_config.garment_channels} ch, {gmm_args.get('steps', '?')} "
        f"steps, batch {gmm_args.get('batch_size', '?')}, Adam lr {gmm_args.get('lr', '?')} betas (0.5, 0.999), "
        f"linear decay from {gmm_args.get('decay_from', '?')} of the steps; loss L1(warped, worn garment) + "
        f"{gmm_args.get('mask_weight', 0)} x L1(warped mask, worn region) + {gmm_args.get('grid_reg', 0)} x grid "
        "second differences.",
        f"- TOM: width ngf={tom_config.ngf}, {tom_config.in_channels} input channels, {tom_args.get('steps', '?')} steps, "
        f"batch {tom_args.get('batch_size', '?')}; loss L1 + {tom_args.get('ssim_weight', 0)} x (1 - SSIM) + "
        f"L1(mask, {tom_args.get('tom_mask_target', '?')})"
        f"{' + ' + str(tom_args['adv_weight']) + ' x LSGAN (patch discriminator)' if tom_args.get('adv_weight') else ''}"
        f"; no VGG loss; persons on other backgrounds with probability {tom_args.get('backgrounds', 0)}; "
        f"{loss_pixels}, garment masks `{tom_args.get('garment_masks', 'dataset')}`. Output InstanceNorm "
        f"{'on (reference)' if tom_config.output_norm else 'off'}; the representation shows the "
        f"{shows[tom_config.person_input]}.",
        "- Weights stored as float16 safetensors; loaded as float32.",
        "",
    ]
    if history:
        lines += ["History: " + history, ""]
    if metrics:
        first = metrics[0]
        lines += [
            "## Evaluation",
            f"{first['paired']} same-garment pairs of `{first['pairs_file']}` (split `{first['split']}`), "
            f"representation `{first['representation']}`, 256x192. SSIM, PSNR and L1 are of the try-on as the "
            "pipeline makes it (the photo's own head, and its lower body where the new garment is not); the last "
            "column is the TOM's output alone, every pixel rendered or warped, as CP-VTON papers measure it.",
            "",
            "| | garment masks | warp IoU | SSIM | PSNR | L1 | SSIM, TOM output alone |",
            "|---|---|---|---|---|---|---|",
        ]
        for result in metrics:
            m = result["metrics"]
            for name, label in (("model", "this model"), ("identity", "identity warp (baseline)")):
                lines.append(
                    f"| {label} | {result.get('garment_masks', 'dataset')} | {m[f'{name}/warp_iou']:.4f} | "
                    f"{m[f'{name}/ssim']:.4f} | {m[f'{name}/psnr']:.2f} | {m[f'{name}/l1']:.4f} | "
                    f"{m[f'{name}/network_ssim']:.4f} |")
        lines += [
            "",
            f"Settings: {first['settings']}. Command (`--garment-masks auto` for the automatic garment masks the app "
            "uses):",
            "",
            "```",
            f"python -m training.evaluate --dataroot {first['dataroot']} --split {first['split']} "
            f"--pairs {first['pairs_file']} --model <this folder> --representation {first['representation']} "
            "--json eval.json",
            "```",
            "",
        ]
    lines += [
        "## Licence",
        "Trained on VITON (Zalando product images), which was published for research use only: these weights are for",
        "research use only. The code is the `vton` project's; MediaPipe models are Apache-2.0 (Google).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gmm", help="GMM run folder (or model folder)")
    p.add_argument("--tom", help="TOM run folder (or model folder)")
    p.add_argument("--parser", nargs="+", help="human parser run folder (or model folder); several: their weights "
                                                 "averaged (fine-tunes of the same weights)")
    p.add_argument("--parser-metrics", help="JSON written by training.evaluate --parser, for the model card")
    p.add_argument("--parser-history", help="how the parser was trained, for the model card")
    p.add_argument("--out", required=True)
    p.add_argument("--fp16", action="store_true", help="store float16 weights (half the size)")
    p.add_argument("--metrics", action="append", default=[],
                   help="JSON written by training.evaluate, for the model card (repeat: one per garment-mask setting)")
    p.add_argument("--history", help="how the runs were trained, for the model card (resumes with other settings, "
                                     "fine-tuning)")
    args = p.parse_args(argv)
    if (args.gmm is None) != (args.tom is None) or not (args.gmm or args.parser):
        p.error("give --gmm and --tom (a whole pipeline), --parser, or all three")
    out = Path(args.out)
    dtype = torch.float16 if args.fp16 else None
    card_file = out / "README.md"
    if args.gmm:
        gmm, tom = load_trained(args.gmm, "gmm"), load_trained(args.tom, "tom")
        save_model(gmm, out / "gmm", dtype)
        save_model(tom, out / "tom", dtype)
        metrics = [json.loads(Path(path).read_text()) for path in args.metrics]
        card_file.write_text(model_card(run_summary(Path(args.gmm)), run_summary(Path(args.tom)), metrics,
                                        gmm.config, tom.config, args.history))
    if args.parser:
        parser = average_weights([load_trained(run, "parser") for run in args.parser])
        save_model(parser, out / "parser", dtype)
        metrics = json.loads(Path(args.parser_metrics).read_text()) if args.parser_metrics else None
        section = parser_section(run_summary(Path(args.parser[0])), parser.config, metrics, args.parser_history)
        card = card_file.read_text() if card_file.is_file() else ""
        card_file.write_text(with_parser_section(card, section))
    size = sum(f.stat().st_size for f in out.rglob("*.safetensors")) / 2**20
    print(f"exported to {out} ({size:.1f} MiB of weights)")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
