"""The Gradio app on a real local server: gradio_client round trips, errors, parallel clients, a real browser."""
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT

pytestmark = pytest.mark.slow
DEMO = ROOT / "demo"
SERVER_LOG = {}  # where the module's server writes its log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict, log, *args: str) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free localhost port with ``env``; waits until it listens. Returns (process, url)."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), *args],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 600  # seconds on a loaded machine; about 15 on an idle one
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(1)
    proc.kill()
    raise RuntimeError(f"app did not start in 600 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    """`python app.py` as a user starts it, on localhost, with small random weights (the shipped ones are tested
    in test_default_weights)."""
    env = dict(os.environ, VTON_MODEL=str(tiny_model_dir), PYTHONUNBUFFERED="1")
    SERVER_LOG["path"] = tmp_path_factory.mktemp("app") / "server.log"
    proc, url = start_app(env, SERVER_LOG["path"])
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_fresh_clone_starts_offline_with_nothing_set(tmp_path):
    """The README's first command on a machine with no VTON_* variables, an empty home (no model cache) and no
    network for the Hub: the shipped weights and MediaPipe bundles are enough to serve the page."""
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTON_", "XDG_"))}
    env.update(HOME=str(tmp_path), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc, url = start_app(env, tmp_path / "server.log")
    try:
        page = urllib.request.urlopen(url, timeout=60).read().decode()
        assert "Virtual try-on" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not (tmp_path / ".cache" / "vton").exists()  # nothing was downloaded


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def tryon(client, person, garment, mask=None):
    from gradio_client import handle_file

    return client.predict(handle_file(str(person)), handle_file(str(garment)), handle_file(str(mask)) if mask else None,
                          api_name="/tryon")


def test_round_trip_keeps_the_photo_size(client, astronaut, tmp_path):
    person, garment = tmp_path / "astronaut.jpg", DEMO / "garments" / "000257_1.jpg"
    astronaut.save(person)
    result, keypoints, representation, warped, composition, timing = tryon(client, person, garment)
    assert Image.open(result).size == Image.open(person).size
    assert Image.open(keypoints).size == Image.open(person).size
    assert Image.open(warped).size == (192, 256)
    assert " s** on CPU" in timing and "warp" in timing
    mask = client.predict(__import__("gradio_client").handle_file(str(garment)), api_name="/garment_mask")
    assert Image.open(mask).size == (192, 256)


def test_errors_come_back_as_advice_and_the_server_keeps_serving(client, server, tmp_path):
    from gradio_client.exceptions import AppError

    empty = tmp_path / "empty.jpg"
    Image.new("RGB", (300, 300), "white").save(empty)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    person, garment = DEMO / "persons" / "000117_0.jpg", DEMO / "garments" / "000257_1.jpg"
    for person_file, garment_file, message in [
            (empty, garment, "No person found in the photo: use a photo of one person, facing the camera"),
            (broken, garment, "The file could not be read as an image"),
            (person, empty, "No garment found in the garment photo"),
            (person, person, "The garment photo shows a person")]:
        with pytest.raises(AppError, match=message) as caught:
            tryon(client, person_file, garment_file)
        assert "/tmp" not in str(caught.value) and "gradio" not in str(caught.value)  # no server paths
    result = tryon(client, person, garment)[0]
    assert Image.open(result).size == (192, 256)
    # the log has one line per refused try-on, no traceback
    log = SERVER_LOG["path"].read_text()
    assert "Traceback" not in log and log.count("try-on refused") >= 4
    # an upload over the limit is refused before it reaches the model
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\0" * 16 * 2**20)
    with pytest.raises(Exception, match="(?i)size|large|413"):
        tryon(client, huge, garment)
    # only the public endpoints are listed, and every listed one works
    assert sorted(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == [
        "/garment_mask", "/tryon"]


def test_wrong_device_is_one_line(tiny_model_dir):
    proc = subprocess.run([sys.executable, "app.py", "--device", "potato", "--model", str(tiny_model_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == "error: device 'potato' is not valid: use 'cpu' or 'cuda'"
    assert "Traceback" not in proc.stderr


def test_eight_parallel_clients(server):
    from gradio_client import Client

    persons = sorted((DEMO / "persons").glob("*.jpg"))
    garments = sorted((DEMO / "garments").glob("*.jpg"))

    def one(i):
        c = Client(server, verbose=False)
        person = persons[i % len(persons)]
        out = tryon(c, person, garments[i % len(garments)])[0]
        return Image.open(out).size == Image.open(person).size

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(one, range(8)))


def test_browser_picks_examples_and_shows_a_result(server):
    """The page as a visitor uses it, in a real browser at 1400 px and at phone width; the screenshots are in
    artifacts/ to look at."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server, wait_until="load")
        page.locator("#garment-gallery img").first.wait_for()
        assert page.locator("#person-gallery img").count() == len(list((DEMO / "persons").glob("*.jpg")))
        assert page.locator("#garment-gallery img").count() == len(list((DEMO / "garments").glob("*.jpg")))
        page.screenshot(path=str(artifacts / "app_loaded.png"), full_page=True)
        # trying on with nothing chosen: one message, no error badges on the boxes
        page.locator("#tryon-button").click()
        page.locator("#tryon-status").get_by_text("no person photo yet").wait_for(timeout=60_000)
        assert page.get_by_text("Error", exact=True).count() == 0
        # an example person and garment, then the try-on
        page.locator("#person-gallery img").first.click()
        page.locator("#garment-gallery img").nth(1).click()
        page.locator("#mask-used img").first.wait_for(timeout=60_000)  # the mask that will be used, shown at once
        page.locator("#tryon-button").click()
        page.locator("#tryon-status").get_by_text("Done in").wait_for(timeout=120_000)
        images = page.locator("#tryon-result img")
        assert images.count() == 2  # before and after
        sizes = [images.nth(i).evaluate("img => [img.naturalWidth, img.naturalHeight]") for i in range(2)]
        assert sizes == [[192, 256], [192, 256]]
        assert page.locator("#tryon-download").is_visible()
        page.get_by_text("Intermediate steps").click()
        page.locator("#tryon-steps img").first.wait_for()
        page.screenshot(path=str(artifacts / "app_result.png"), full_page=True)
        # another garment, worn over the clothes as asked: a new result, without the note that the app chose it
        before = images.nth(1).get_attribute("src")
        page.locator("#over-clothes").get_by_text("Over my clothes").click()
        page.locator("#garment-gallery img").nth(2).click()
        page.locator("#tryon-button").click()
        page.wait_for_function("s => { const i = document.querySelectorAll('#tryon-result img');"
                               " return i.length == 2 && i[1].src != s; }", arg=before, timeout=120_000)
        status = page.locator("#tryon-status").inner_text()
        assert "Done in" in status and "Worn over" not in status
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.goto(server, wait_until="load")
        phone.locator("#garment-gallery img").first.wait_for()
        phone.screenshot(path=str(artifacts / "app_phone.png"), full_page=True)
        browser.close()


def write_y4m(path: Path, image: Image.Image, frames: int = 30) -> None:
    """A still video (YUV 4:2:0, 10 fps) of ``image`` on a grey canvas: Chromium's fake webcam plays it in a loop."""
    import cv2

    canvas = Image.new("RGB", (640, 512), (235, 235, 235))
    person = image.convert("RGB").resize((384, 512))
    canvas.paste(person, (128, 0))
    yuv = cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2YUV_I420)
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W640 H512 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            f.write(b"FRAME\n" + yuv.tobytes())


def test_browser_live_tab_dresses_the_webcam_stream(server, tmp_path):
    """The live tab in a real browser whose webcam is a video of an example person: the stream starts with the
    page's own button, and dressed frames of the webcam's size come back with their time per frame."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    video = tmp_path / "webcam.y4m"
    write_y4m(video, Image.open(DEMO / "persons" / "000227_0.jpg"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"]).new_page()
        page.goto(server, wait_until="load")
        page.get_by_role("tab", name="Live (webcam)").click()
        page.locator("#live-webcam").get_by_text("Click to Access Webcam").click()
        page.locator("#live-webcam button[aria-label='capture photo']").click()
        status = page.locator("#live-status").get_by_text("ms per frame")
        status.wait_for(timeout=120_000)
        frame = page.locator("#live-output img").first
        assert frame.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [640, 512]
        page.wait_for_timeout(2000)  # more frames keep coming: the status is rewritten with each
        assert status.count() == 1
        page.screenshot(path=str(ROOT / "artifacts" / "app_live.png"))
        browser.close()
