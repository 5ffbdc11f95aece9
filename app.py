"""Gradio demo: a person photo + a garment -> the person wearing the garment.

    python app.py [--model FOLDER_OR_REPO_ID] [--host 0.0.0.0] [--port 7860] [--share]

``--model`` (or the VTON_MODEL environment variable) picks the weights; default: the shipped ones in weights/.
Every event has an api_name, so ``gradio_client`` users call the same functions as the page.
"""
from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from vton.errors import ModelLoadError, VtonError
from vton.pipeline import TryOnPipeline

DEMO = Path(__file__).resolve().parent / "demo"
log = logging.getLogger("app")

INTRO = """
# Virtual try-on
Upload a photo of a person (or use your webcam), pick a garment, and see the person wearing it.
CP-VTON (geometric matching + try-on module) with the person's pose, body shape and head found by MediaPipe from
your one photo. The result keeps your photo's resolution; only the region the new garment changes is replaced.
"""
SCOPE = """
**Scope.** Upper-body garments (tops, shirts, t-shirts) photographed flat or on a plain light background; people
photographed from the front, upper body visible. The weights were trained on VITON (Zalando product photos):
expect the best results on similar photos. Research use only (VITON's licence).
"""


def upload_path(payload) -> str | None:
    """The file behind an image input. Events run with ``preprocess=False``: Gradio's own preprocessing opens the
    image with PIL and fails with a generic server error on a broken file; our loader says what is wrong and also
    handles EXIF, 16-bit and CMYK images."""
    if payload is None:
        return None
    if isinstance(payload, dict):
        return payload.get("path")
    return getattr(payload, "path", payload)


def garment_examples() -> list[str]:
    return sorted(str(p) for p in (DEMO / "garments").glob("*.jpg"))


def person_examples() -> list[str]:
    return sorted(str(p) for p in (DEMO / "persons").glob("*.jpg"))


def build_demo(pipeline: TryOnPipeline) -> gr.Blocks:
    """The page, with its functions bound to one loaded pipeline."""
    garments = garment_examples()

    def show_garment_mask(garment_file):
        """Garment photo -> its automatic mask (shown so that users can check it, or replace it)."""
        garment_file = upload_path(garment_file)
        if not garment_file:
            return None
        try:
            garment = pipeline.prepare_garment(garment_file)
        except VtonError as err:
            raise gr.Error(str(err)) from None
        return Image.fromarray(garment.mask_full.astype(np.uint8) * 255)

    def pick_garment(evt: gr.SelectData):
        """A gallery click -> that garment and its automatic mask."""
        return garments[evt.index], show_garment_mask(garments[evt.index])

    def tryon(person_file, garment_file, mask_file):
        """Person photo + garment photo (+ optional garment mask) -> try-on and intermediate steps."""
        person_file, garment_file, mask_file = map(upload_path, (person_file, garment_file, mask_file))
        if not person_file:
            raise gr.Error("Upload a photo of a person first (or take one with the webcam).")
        if not garment_file:
            raise gr.Error("Pick a garment from the gallery or upload one.")
        start = time.perf_counter()
        try:
            result = pipeline(person_file, garment_file, mask_file or None)
        except VtonError as err:
            raise gr.Error(str(err)) from None
        if result.num_persons > 1:
            gr.Warning(f"{result.num_persons} persons in the photo: dressed the largest one.")
        total = time.perf_counter() - start
        steps = " · ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in result.timings.items())
        timing = f"**{total:.2f} s** on {pipeline.device.type.upper()} — {steps}"
        return (result.image, result.keypoints_image, result.representation, result.warped_garment,
                result.composition_mask, timing)

    with gr.Blocks(title="Virtual try-on (CP-VTON)") as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                person = gr.Image(label="Person photo", sources=["upload", "webcam"], type="filepath", height=400)
            with gr.Column():
                garment = gr.Image(label="Garment", sources=["upload"], type="filepath", height=260)
                gallery = gr.Gallery(value=garments, label="Example garments (click one)", columns=4, height=200,
                                     allow_preview=False)
                mask = gr.Image(label="Garment mask: automatic, upload your own to replace it", type="filepath",
                                image_mode="L", sources=["upload"], height=200)
            with gr.Column():
                result = gr.Image(label="Try-on", type="pil", format="png", height=400, interactive=False,
                                  elem_id="tryon-result")
                run = gr.Button("Try on", variant="primary")
                timing = gr.Markdown(elem_id="tryon-timing")
        with gr.Accordion("Intermediate steps", open=False):
            gr.Markdown("How the model saw your photo: a wrong keypoint or head mask explains most bad results.")
            with gr.Row():
                keypoints = gr.Image(label="Keypoints", interactive=False)
                representation = gr.Image(label="Body shape, head and pose (network input)", interactive=False)
                warped = gr.Image(label="Warped garment", interactive=False)
                composition = gr.Image(label="Composition mask", interactive=False)
        outputs = [result, keypoints, representation, warped, composition, timing]
        examples = [[p, g, None] for p, g in zip(person_examples(), garments[::2] + garments[1::2])]
        # the button's event is registered first, so that it owns the api_name "tryon"
        run.click(tryon, [person, garment, mask], outputs, api_name="tryon", preprocess=False)
        gr.Examples(examples=examples, inputs=[person, garment, mask], outputs=outputs, fn=tryon,
                    run_on_click=True, cache_examples=False, label="Examples: click to run", api_name="example",
                    preprocess=False)
        gr.Markdown(SCOPE)

        gallery.select(pick_garment, None, [garment, mask], api_name="pick_garment")
        garment.upload(show_garment_mask, garment, mask, api_name="garment_mask", preprocess=False)
        garment.clear(lambda: None, None, mask, api_name="clear_garment")
    return demo


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.environ.get("VTON_MODEL"),
                   help="local folder or Hugging Face Hub repo id (default: $VTON_MODEL, else the shipped weights)")
    p.add_argument("--host", default=None, help="address to listen on (default: Gradio's, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: Gradio's, 7860)")
    p.add_argument("--share", action="store_true", help="create a public gradio.live link")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        pipeline = TryOnPipeline.from_pretrained(args.model, device=args.device)
    except (ModelLoadError, VtonError) as err:
        raise SystemExit(f"error: {err}") from None
    log.info("models loaded on %s", pipeline.device)
    demo = build_demo(pipeline)
    # one try-on at a time per CPU (it already uses every core); a GPU overlaps two
    demo.queue(default_concurrency_limit=2 if pipeline.device.type == "cuda" else 1, max_size=64)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, theme=gr.themes.Soft())


if __name__ == "__main__":
    main()
