"""Gradio demo: a person photo + a garment -> the person wearing the garment.

    python app.py [--model FOLDER_OR_REPO_ID] [--host 0.0.0.0] [--port 7860] [--share] [--device cpu|cuda]

``--model`` (or the VTON_MODEL environment variable) picks the weights; default: the shipped ones in vton/weights/.
The API (``gradio_client``): ``/tryon`` (person, garment, optional mask -> try-on, keypoints, representation,
warped garment, composition mask, timing) and ``/garment_mask`` (garment -> its automatic mask); both raise an
error with a one-sentence message for bad input. The page calls the same pipeline but shows errors as a message
instead of failing its output boxes.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from vton.errors import ModelLoadError, VtonError
from vton.image_io import MAX_PIXELS, load_image
from vton.garment import GarmentInput
from vton.live import LiveTryOn
from vton.pipeline import TryOnPipeline, TryOnResult

DEMO = Path(__file__).resolve().parent / "demo"
MAX_FILE_SIZE = "15mb"  # per upload; images are also refused above MAX_PIXELS before they are decoded
PREPARED_GARMENTS = 32  # garments kept prepared (mask, framing) from their choice to their try-ons
KEPT_RESULTS = 64  # result files kept for download; older ones are deleted
# how the garment is worn (TryOnPipeline's over_clothes): automatic, over the photo's clothes, or replacing the top
WEAR = {"Automatic": None, "Over my clothes": True, "Replacing my top": False}
LIVE_STREAMS = 4  # live webcam streams served at once (each holds its own MediaPipe tracker); the oldest is closed
LIVE_EVERY = 0.15  # seconds between the webcam frames sent (the try-on takes ~0.15 s per 640x480 frame here)
log = logging.getLogger("app")

INTRO = """
# Virtual try-on
1. **Your photo**: one person facing the camera, upper body visible — upload it, take it with the webcam, or click an
   example person.
2. **A garment**: click one of the example garments, or upload a photo of a top laid flat or on a hanger, on a plain
   light background.
3. **Try on**: you see yourself wearing it in about a second. Your photo keeps its size; only what the new garment
   changes is replaced.
"""
SCOPE = f"""
**Scope.** Upper-body garments (tops, shirts, t-shirts); people photographed from the front, upper body visible.
The weights were trained on VITON (Zalando product photos): expect the best results on similar photos. Research use
only (VITON's licence). Uploads: up to {MAX_FILE_SIZE.upper()} and {MAX_PIXELS // 10**6} megapixels per image.
"""
CSS = """
.tryon-error { color: #b91c1c; font-weight: 600; }
"""
LIVE_HELP = """
**Live**: pick a garment, then start your webcam (the button under the video). Stand facing the camera, head to
waist in view; every frame is dressed in the garment as you move. Nothing is stored.
"""
MASK_HELP = ("The mask says which pixels of the garment photo are the garment (white). If the one above is wrong, "
             "paint your own (white garment on black, the size of the garment photo) and upload it here.")
# A library error -> a sentence with advice for a visitor (the first matching phrase wins).
ADVICE = (
    ("no person found", "No person found in the photo: use a photo of one person, facing the camera, upper body "
                        "visible."),
    ("no garment found", "No garment found in the garment photo: use a photo of the garment alone on a plain light "
                         "background, or upload a mask for it."),
    ("no visible background", "The garment photo has no plain background to cut the garment from: use a photo of "
                              "the garment on a plain light background, or upload a mask for it."),
    ("shows a person", "The garment photo shows a person: use a photo of the garment alone, laid flat or on a "
                       "hanger, on a plain light background."),
    ("megapixels", f"The image is too large: use one of at most {MAX_PIXELS // 10**6} megapixels."),
    ("not a readable image", "The file could not be read as an image: use a JPEG, PNG or WebP photo."),
    ("garment mask is", "The mask must have the size of the garment photo: paint it on a copy of that photo."),
)


def upload_path(payload) -> str | None:
    """The file behind an image input. Events run with ``preprocess=False``: Gradio's own preprocessing opens the
    image with PIL and fails with a generic server error on a broken file; our loader says what is wrong and also
    handles EXIF, 16-bit and CMYK images."""
    if payload is None:
        return None
    if isinstance(payload, dict):
        return payload.get("path")
    return getattr(payload, "path", payload)


def advice(err: VtonError, *paths: str | None) -> str:
    """A visitor's message for a library error: advice for the known ones, never a server path."""
    text = str(err)
    for phrase, message in ADVICE:
        if phrase in text:
            return message
    for path in filter(None, paths):
        text = text.replace(path, "the image")
    return text[:1].upper() + text[1:] + "."


def garment_examples() -> list[str]:
    return sorted(str(p) for p in (DEMO / "garments").glob("*.jpg"))


def person_examples() -> list[str]:
    return sorted(str(p) for p in (DEMO / "persons").glob("*.jpg"))


def stage_timings(result: TryOnResult) -> str:
    return " · ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in result.timings.items())


def build_demo(pipeline: TryOnPipeline) -> gr.Blocks:
    """The page, with its functions bound to one loaded pipeline."""
    garments, persons = garment_examples(), person_examples()
    # Prepared garments by (garment file, mask file): choosing a garment shows its mask, and the try-on that follows
    # reuses it instead of finding the mask (and checking for a person) again. Uploads get new paths, so no key
    # ever stands for two different files.
    prepared: OrderedDict[tuple[str, str | None], GarmentInput] = OrderedDict()
    prepared_lock = threading.Lock()
    outputs = Path(tempfile.mkdtemp(prefix="vton-app-"))  # the results offered for download, newest kept

    def prepare(garment_file: str, mask_file: str | None = None) -> GarmentInput:
        key = (garment_file, mask_file)
        with prepared_lock:
            if key in prepared:
                prepared.move_to_end(key)
                return prepared[key]
        garment = pipeline.prepare_garment(garment_file, mask_file)
        with prepared_lock:
            prepared[key] = garment
            while len(prepared) > PREPARED_GARMENTS:
                prepared.popitem(last=False)
        return garment

    def garment_mask(garment_file):
        """Garment photo -> its automatic mask (API: raises for a bad garment)."""
        garment_file = upload_path(garment_file)
        if not garment_file:
            return None
        try:
            garment = prepare(garment_file)
        except VtonError as err:
            log.info("garment refused: %s", err)
            raise gr.Error(advice(err, garment_file), print_exception=False) from None
        return Image.fromarray(garment.mask_full.astype(np.uint8) * 255)

    def run_tryon(person_file, garment_file, mask_file, over_clothes=None) -> tuple[TryOnResult, float]:
        person_file, garment_file, mask_file = map(upload_path, (person_file, garment_file, mask_file))
        if not person_file:
            raise VtonError("no person photo yet: upload one, take one with the webcam or click an example person")
        if not garment_file:
            raise VtonError("no garment yet: click an example garment or upload a photo of one")
        start = time.perf_counter()
        try:
            result = pipeline(person_file, prepare(garment_file, mask_file or None), over_clothes=over_clothes)
        except VtonError as err:
            log.info("try-on refused: %s", err)
            raise VtonError(advice(err, person_file, garment_file, mask_file)) from None
        return result, time.perf_counter() - start

    def tryon(person_file, garment_file, mask_file):
        """API: person photo + garment photo (+ optional garment mask) -> try-on and intermediate steps."""
        try:
            result, seconds = run_tryon(person_file, garment_file, mask_file)
        except VtonError as err:
            raise gr.Error(str(err), print_exception=False) from None
        timing = f"**{seconds:.2f} s** on {pipeline.device.type.upper()} — {stage_timings(result)}"
        return (result.image, result.keypoints_image, result.representation, result.warped_garment,
                result.composition_mask, timing)

    def tryon_page(person_file, garment_file, mask_file, wear="Automatic"):
        """The page's try-on: the before/after slider, one message, a download, the steps; an error is one
        message and empty boxes. ``wear``: a key of WEAR (how the garment is worn; anything else: automatic)."""
        try:
            result, seconds = run_tryon(person_file, garment_file, mask_file, WEAR.get(wear))
        except VtonError as err:
            return None, f"<p class='tryon-error'>{err}</p>", gr.update(visible=False), None, [], ""
        before, _ = load_image(upload_path(person_file))  # as the library read it: EXIF-rotated, RGB
        out = outputs / f"tryon-{uuid.uuid4().hex}.png"
        result.image.save(out)
        for old in sorted(outputs.iterdir(), key=lambda f: f.stat().st_mtime)[:-KEPT_RESULTS]:
            old.unlink(missing_ok=True)
        message = f"Done in {seconds:.1f} s."
        if result.num_persons > 1:
            message += f" {result.num_persons} persons in the photo: the largest one is dressed."
        if result.over_clothes and WEAR.get(wear) is None:
            message += " Worn over your clothes (\"Wear it: Replacing my top\" replaces them)."
        steps = [(result.keypoints_image, "Pose"),
                 (result.parse, "Body parts") if result.parse is not None else (result.representation, "Body shape"),
                 (result.warped_garment, "Garment warped to you"),
                 (result.change_mask, "What changed (white); the rest is your photo")]
        return ((before, result.image), message, gr.update(value=str(out), visible=True), result.garment_mask,
                steps, f"{seconds:.2f} s on {pipeline.device.type.upper()}: {stage_timings(result)}")

    live_streams: OrderedDict[str, LiveTryOn] = OrderedDict()  # by session; the oldest closed beyond LIVE_STREAMS
    live_lock = threading.Lock()

    def live_frame(frame, garment_file, request: gr.Request):
        """One webcam frame -> the frame dressed in the chosen garment, and a status line. A frame without a
        person comes back as it is, with the reason."""
        if frame is None:
            return None, ""
        garment_file = upload_path(garment_file) or garments[0]
        key = request.session_hash or "local"
        try:
            garment = prepare(garment_file)
            with live_lock:
                live = live_streams.get(key)
                if live is None or live.garment is not garment:
                    if live is not None:
                        live.close()
                    live = live_streams[key] = LiveTryOn(pipeline, garment)
                live_streams.move_to_end(key)
                while len(live_streams) > LIVE_STREAMS:
                    live_streams.popitem(last=False)[1].close()
            start = time.perf_counter()
            result = live(np.asarray(frame))
        except VtonError as err:
            return frame, advice(err)
        return result.image, f"{(time.perf_counter() - start) * 1000:.0f} ms per frame"

    with gr.Blocks(title="Virtual try-on (CP-VTON)") as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Photo", elem_id="photo-tab"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=5, min_width=300):
                    person = gr.Image(label="1. Your photo", sources=["upload", "webcam"], type="filepath", height=340,
                                      elem_id="person-input")
                    gr.Markdown("**Example persons**: click one")
                    person_gallery = gr.Gallery(value=persons, show_label=False, columns=3, height=250,
                                                allow_preview=False, object_fit="contain", elem_id="person-gallery",
                                                buttons=[])
                with gr.Column(scale=5, min_width=300):
                    garment = gr.Image(label="2. Garment", sources=["upload"], type="filepath", height=340,
                                       elem_id="garment-input")
                    gr.Markdown("**Example garments**: click one")
                    gallery = gr.Gallery(value=garments, show_label=False, columns=3, height=370, allow_preview=False,
                                         object_fit="contain", elem_id="garment-gallery", buttons=[])
                    mask_used = gr.Image(label="Garment mask used", interactive=False, height=160, image_mode="L",
                                         elem_id="mask-used", buttons=[])
                    with gr.Accordion("Replace the garment mask", open=False):
                        gr.Markdown(MASK_HELP)
                        mask = gr.Image(label="Your own mask", sources=["upload"], type="filepath", image_mode="L",
                                        height=160, elem_id="mask-input")
                with gr.Column(scale=8, min_width=340):
                    over = gr.Radio(list(WEAR), value="Automatic", label="Wear it", elem_id="over-clothes",
                                    info="Automatic: over a dress, and over your top where replacing it would leave "
                                         "much skin to draw (a tee over long sleeves, a crop top over a tee)")
                    run = gr.Button("3. Try on", variant="primary", size="lg", elem_id="tryon-button")
                    result = gr.ImageSlider(label="Before / after: drag the handle", type="pil", height=600,
                                            interactive=False, elem_id="tryon-result", buttons=["fullscreen"])
                    status = gr.Markdown(elem_id="tryon-status")
                    download = gr.DownloadButton("Download the result (PNG)", visible=False, elem_id="tryon-download")
            with gr.Accordion("Intermediate steps: how the model saw your photo", open=False):
                steps = gr.Gallery(label="Steps", show_label=False, columns=4, height=360, object_fit="contain",
                                   elem_id="tryon-steps")
                timing = gr.Markdown(elem_id="tryon-timing")
        with gr.Tab("Live (webcam)", elem_id="live-tab"):
            gr.Markdown(LIVE_HELP)
            with gr.Row(equal_height=False):
                with gr.Column(scale=4, min_width=260):
                    live_garment = gr.Image(label="Garment", sources=["upload"], type="filepath", height=260,
                                            value=garments[0], elem_id="live-garment")
                    live_gallery = gr.Gallery(value=garments, show_label=False, columns=4, height=200,
                                              allow_preview=False, object_fit="contain", elem_id="live-gallery",
                                              buttons=[])
                with gr.Column(scale=5, min_width=300):
                    webcam = gr.Image(label="Your webcam", sources=["webcam"], streaming=True, type="numpy",
                                      height=420, elem_id="live-webcam")
                with gr.Column(scale=5, min_width=300):
                    live_out = gr.Image(label="You, wearing it", interactive=False, height=420, type="pil",
                                        elem_id="live-output", buttons=["fullscreen"])
                    live_status = gr.Markdown(elem_id="live-status")
        gr.Markdown(SCOPE)

        page_outputs = [result, status, download, mask_used, steps, timing]
        run.click(tryon_page, [person, garment, mask, over], page_outputs, api_visibility="private", preprocess=False)
        # the API endpoints, on hidden components so that their errors never mark the page's boxes
        with gr.Row(visible=False):
            api_button = gr.Button()
            api_outputs = [gr.Image(type="pil", format="png"), gr.Image(), gr.Image(), gr.Image(), gr.Image(),
                           gr.Markdown()]
            api_mask_button, api_mask = gr.Button(), gr.Image()
        api_button.click(tryon, [person, garment, mask], api_outputs, api_name="tryon", preprocess=False)
        api_mask_button.click(garment_mask, garment, api_mask, api_name="garment_mask", preprocess=False)

        def pick_person(evt: gr.SelectData):
            return persons[evt.index]

        def pick_garment(evt: gr.SelectData):
            return garments[evt.index]

        def show_mask(garment_file):
            """The mask the try-on will use, shown as soon as a garment is chosen; a bad garment shows none here
            (the try-on says what is wrong)."""
            try:
                return garment_mask(garment_file)
            except gr.Error:
                return None

        webcam.stream(live_frame, [webcam, live_garment], [live_out, live_status], stream_every=LIVE_EVERY,
                      time_limit=600, concurrency_limit=LIVE_STREAMS, api_visibility="private",
                      show_progress="hidden")
        live_gallery.select(pick_garment, None, live_garment, api_visibility="private")
        person_gallery.select(pick_person, None, person, api_visibility="private")
        gallery.select(pick_garment, None, garment, api_visibility="private")
        garment.change(show_mask, garment, mask_used, api_visibility="private", preprocess=False)
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
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, theme=gr.themes.Soft(),
                max_file_size=MAX_FILE_SIZE, css=CSS)


if __name__ == "__main__":
    main()
