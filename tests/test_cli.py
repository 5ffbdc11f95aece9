import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import DEMO_GARMENTS, DEMO_PERSON, ROOT, VITON, person_path, viton_pairs


def run(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "vton", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def test_pose_writes_dataset_json_in_input_pixels(tmp_path, astronaut):
    person = viton_pairs(0, 1)[0][0]
    astronaut.save(tmp_path / "astronaut.png")
    proc = run("pose", person_path(person), tmp_path / "astronaut.png", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # MediaPipe's C++ log lines and teardown stay quiet
    data = json.loads((tmp_path / "out" / f"{person[:-4]}_keypoints.json").read_text())
    ours = np.array(data["people"][0]["pose_keypoints"]).reshape(18, 3)
    truth = np.array(json.loads((VITON / "train" / "pose" / f"{person[:-4]}_keypoints.json").read_text())
                     ["people"][0]["pose_keypoints"]).reshape(18, 3)
    both = (ours[:, 2] > 0) & (truth[:, 2] > 0)
    assert np.median(np.linalg.norm(ours[both, :2] - truth[both, :2], axis=1)) < 8
    astro = np.array(json.loads((tmp_path / "out" / "astronaut_keypoints.json").read_text())
                     ["people"][0]["pose_keypoints"]).reshape(18, 3)
    assert astro[0, 2] > 0 and 150 < astro[0, 0] < 320  # the nose, in the 512x512 photo's pixels


def test_garment_mask_command(tmp_path):
    garment = DEMO_GARMENTS[0]
    proc = run("garment-mask", garment, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    mask = np.asarray(Image.open(tmp_path / f"{garment.stem}.png"))
    assert mask.shape == (256, 192) and set(np.unique(mask)) == {0, 255}


def test_tryon_command_and_bad_input(tmp_path, tiny_model_dir, astronaut):
    astronaut.save(tmp_path / "astronaut.jpg")
    garment = DEMO_GARMENTS[0]
    proc = run("tryon", tmp_path / "astronaut.jpg", garment, "-o", tmp_path / "out.png", "--model", tiny_model_dir,
               "--steps", tmp_path / "steps")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "out.png").size == (512, 512)
    assert (tmp_path / "steps" / "warped_garment.png").is_file()

    Image.new("RGB", (300, 300), "white").save(tmp_path / "empty.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    for args, message in [
        (("tryon", tmp_path / "empty.jpg", garment, "-o", tmp_path / "x.png", "--model", tiny_model_dir), "no person"),
        (("tryon", tmp_path / "broken.jpg", garment, "-o", tmp_path / "x.png", "--model", tiny_model_dir), "not a readable image"),
        (("tryon", tmp_path / "astronaut.jpg", garment, "-o", tmp_path / "x.png", "--model", "nobody/nothing"), "Hugging Face cache"),
        (("pose", tmp_path / "missing.jpg", "--out", tmp_path), "no such file"),
    ]:
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_prepare_builds_a_cp_vton_dataset(tmp_path, astronaut):
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    persons.mkdir()
    garments.mkdir()
    astronaut.save(persons / "astronaut.png")
    Image.new("RGB", (100, 100), "white").save(persons / "empty.png")
    for g in DEMO_GARMENTS[:2]:
        Image.open(g).save(garments / g.name)
    proc = run("prepare", "--persons", persons, "--garments", garments, "--out", tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stderr and "empty.png" in proc.stderr
    root = tmp_path / "data" / "test"
    assert Image.open(root / "image" / "astronaut.jpg").size == (192, 256)
    assert len(list((root / "cloth").iterdir())) == 2 and len(list((root / "cloth-mask").iterdir())) == 2
    pairs = (tmp_path / "data" / "test_pairs.txt").read_text().split()
    assert len(pairs) == 4 and pairs[0] == "astronaut.jpg"
    pose = json.loads((root / "pose" / "astronaut_keypoints.json").read_text())
    assert len(pose["people"][0]["pose_keypoints"]) == 54
    parse = Image.open(root / "image-parse" / "astronaut.png")  # what the GMM's training target needs
    assert parse.mode == "P" and parse.size == (192, 256)
    assert np.isin(np.array(parse), (1, 2, 13)).sum() > 1000 and np.isin(np.array(parse), (5, 6, 7)).sum() > 1000
    # ... so the folder of plain photos is a dataset the GMM trains on
    from training import train

    run_dir = train.main(train.parse_args([
        "gmm", "--dataroot", str(tmp_path / "data"), "--split", "test", "--pairs", "test_pairs.txt", "--out",
        str(tmp_path / "gmm"), "--cache-dir", str(tmp_path / "cache"), "--steps", "1", "--ngf", "8",
        "--batch-size", "2", "--workers", "0"]))
    assert (run_dir / "model" / "model.safetensors").is_file()


def bomb_png(path, width, height):
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 50_000))
                     + chunk(b"IEND", b""))
    return path


def test_bad_inputs_outputs_and_devices_get_one_line(tmp_path, tiny_model_dir):
    person, garment = DEMO_PERSON, DEMO_GARMENTS[0]
    bomb, big = bomb_png(tmp_path / "bomb.png", 60000, 60000), bomb_png(tmp_path / "big.png", 7000, 7000)
    (tmp_path / "folder").mkdir()
    model = ("--model", tiny_model_dir)
    cases = [
        (("tryon", bomb, garment, "-o", tmp_path / "o.png", *model), "larger than the 40 megapixels"),
        (("tryon", big, garment, "-o", tmp_path / "o.png", *model), "7000x7000 pixels, more than the 40 megapixels"),
        (("tryon", tmp_path / "folder", garment, "-o", tmp_path / "o.png", *model), "is a folder, expected an image"),
        (("tryon", person, garment, "-o", tmp_path / "o.xyz", *model), "unknown image extension '.xyz'"),
        (("tryon", person, garment, "-o", tmp_path / "out", *model), "unknown image extension '(none)'"),
        (("tryon", person, garment, "-o", tmp_path, *model), "is a folder; give an output file name"),
        (("tryon", person, garment, "-o", tmp_path / "o.png", "--device", "potato", *model), "'potato' is not valid"),
    ]
    if not __import__("torch").cuda.is_available():
        cases.append((("tryon", person, garment, "-o", tmp_path / "o.png", "--device", "cuda", *model),
                      "CUDA is not available"))
    for args, message in cases:
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "out").exists()
    # in a folder, the bomb is one line and the other images are still processed
    for name in ("a.png", "b.png"):
        Image.open(garment).save(tmp_path / "folder" / name)
    bomb_png(tmp_path / "folder" / "bomb.png", 60000, 60000)
    proc = run("garment-mask", tmp_path / "folder", "--out", tmp_path / "masks")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "bomb.png" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["a.png", "b.png"]


def test_corrupt_exif_is_read_without_warnings(tmp_path):
    # 5 tags announced, 1 there: orientation 1 (upright; 6 would lay the person on her side, refused for the head)
    corrupt = b"Exif\0\0MM\0*\0\0\0\x08\0\x05\x01\x12\0\x03\0\0\0\x01\0\x01\xff\xff\xff\xff"
    Image.open(DEMO_PERSON).save(tmp_path / "exif.jpg", exif=corrupt)
    proc = run("pose", tmp_path / "exif.jpg", "--out", tmp_path / "out")
    assert proc.returncode == 0 and proc.stderr == ""  # Pillow's "Corrupt EXIF data" warning is not the user's


def test_outputs_are_written_atomically(tmp_path):
    """A write that fails half-way (a full disk) keeps the existing file and leaves no temporary one."""
    import errno

    import pytest

    from vton.hub import atomic_write

    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def fails(tmp):
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, fails)
    assert target.read_bytes() == b"previous result" and list(tmp_path.iterdir()) == [target]


def test_tryon_over_or_replacing_the_clothes_is_one_choice():
    """`vton tryon --over-clothes` wears the garment over the photo's clothes, `--replace-clothes` replaces them
    (a dress too), neither leaves it to the pipeline (over a dress, or where replacing would leave much to draw);
    both at once is one usage line."""
    from vton.cli import build_parser

    def over(*flags):
        return build_parser().parse_args(["tryon", "me.jpg", "top.jpg", "-o", "out.png", *flags]).over_clothes

    assert over() is None and over("--over-clothes") is True and over("--replace-clothes") is False
    proc = run("tryon", "me.jpg", "top.jpg", "-o", "out.png", "--over-clothes", "--replace-clothes", timeout=60)
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr



def test_tryon_says_when_it_chose_to_wear_the_garment_over_the_clothes(tmp_path):
    """A wild photo in a red long-sleeved top, a short-sleeved tee: the pipeline layers it (the arms would be drawn)
    and the command says so, with the flag that replaces the top instead."""
    from conftest import SHARED, require_shared

    wild = require_shared(SHARED / "data" / "wild")
    args = ("tryon", wild / "persons" / "01861_00.jpg", wild / "garments" / "00055_00.jpg", "-o", tmp_path / "o.jpg")
    chosen = run(*args, timeout=120)
    assert chosen.returncode == 0 and "worn over the photo's clothes; --replace-clothes" in chosen.stdout
    replaced = run(*args, "--replace-clothes", timeout=120)
    assert replaced.returncode == 0 and "worn over" not in replaced.stdout
