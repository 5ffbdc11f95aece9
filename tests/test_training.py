"""A fresh clone trains a tiny run end to end: GMM, resume, TOM, evaluate, export, load, DDP on CPU."""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, VITON, viton_pairs
from training import evaluate, export, train
from vton.pipeline import TryOnPipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs") / "pairs.txt"
    path.write_text("".join(f"{p} {g}\n" for p, g in viton_pairs(40, 6)))
    return path


def common(pairs_file, out, cache, *extra):
    return ["--dataroot", str(VITON), "--split", "train", "--pairs", str(pairs_file), "--out", str(out),
            "--cache-dir", str(cache), "--ngf", "8", "--batch-size", "2", "--workers", "0", "--log-every", "1",
            "--sample-every", "2", "--save-every", "2", *extra]


def test_train_resume_evaluate_export(pairs_file, tmp_path):
    cache = tmp_path / "cache"
    # 1. GMM in one go, and the same run stopped at step 2 then resumed: identical weights
    whole = train.main(train.parse_args(["gmm", *common(pairs_file, tmp_path / "gmm", cache, "--steps", "4", "--hflip")]))
    assert len(list(cache.rglob("*.npz"))) == 6  # detections cached once per photo
    train.main(train.parse_args(["gmm", *common(pairs_file, tmp_path / "gmm2", cache, "--steps", "4", "--hflip",
                                                "--stop-at", "2")]))
    assert torch.load(tmp_path / "gmm2" / "checkpoint.pt", weights_only=True)["step"] == 2
    assert not (tmp_path / "gmm2" / "model").exists()
    train.main(train.parse_args(["gmm", *common(pairs_file, tmp_path / "gmm2", cache, "--steps", "4", "--hflip",
                                                "--resume")]))
    a = torch.load(whole / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "gmm2" / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert a["optimizer"]["state"][0]["exp_avg"].equal(b["optimizer"]["state"][0]["exp_avg"])
    # the learning rate really decays (linear from half of the steps), the log and samples are written
    rows = list(csv.DictReader((whole / "log.csv").open()))
    assert [float(r["lr"]) for r in rows] == pytest.approx([1e-4, 1e-4, 5e-5, 0.0])
    assert {"l1", "mask", "grid"} <= set(rows[0])
    assert (whole / "samples" / "step_0000004.png").is_file()

    # 2. TOM on the GMM's warps
    tom = train.main(train.parse_args(["tom", *common(pairs_file, tmp_path / "tom", cache, "--steps", "2",
                                                      "--gmm", str(whole), "--adv-weight", "0.05",
                                                      "--backgrounds", "0.5")]))
    rows = list(csv.DictReader((tom / "log.csv").open()))
    assert {"l1", "mask", "ssim", "adv", "d"} <= set(rows[0])
    assert float(rows[0]["loss"]) == pytest.approx(sum(float(rows[0][k]) for k in ("l1", "mask", "ssim", "adv")),
                                                   rel=1e-4)  # the discriminator's loss is logged apart
    assert {"discriminator", "d_optimizer"} <= set(torch.load(tom / "checkpoint.pt", weights_only=True))
    config = json.loads((tom / "model" / "config.json").read_text())
    assert config["person_input"] == "agnostic" and config["in_channels"] == 27 and not config["output_norm"]
    # fine-tuning starts from the given weights: after one Adam step (at most ~lr per value) they are still close
    tuned = train.main(train.parse_args(["tom", *common(pairs_file, tmp_path / "tuned", cache, "--steps", "1",
                                                        "--gmm", str(whole), "--init", str(tom), "--seed", "1",
                                                        "--tom-loss-on", "both")]))
    row = next(csv.DictReader((tuned / "log.csv").open()))  # losses on the try-on as shown and on every pixel
    assert float(row["loss"]) == pytest.approx(sum(float(row[k]) for k in ("l1", "mask", "ssim", "l1_all",
                                                                             "ssim_all")), rel=1e-4)
    assert float(row["l1_all"]) > float(row["l1"])  # the TOM's own drawing of what the try-on keeps is worse
    before, after = train.load_trained(tom, "tom").state_dict(), train.load_trained(tuned, "tom").state_dict()
    assert max((before[k] - after[k]).abs().max().item() for k in before) < 1e-3
    assert any(not torch.equal(before[k], after[k]) for k in before)

    # 3. export, then evaluate the exported folder: paired metrics and the identity baseline
    folder = export.main(["--gmm", str(whole), "--tom", str(tom), "--out", str(tmp_path / "export"), "--fp16"])
    result = evaluate.main(evaluate.parse_args([
        "--dataroot", str(VITON), "--split", "train", "--pairs", str(pairs_file), "--model", str(folder),
        "--cache-dir", str(cache), "--json", str(tmp_path / "eval.json"), "--workers", "0",
        "--images", str(tmp_path / "images")]))
    assert result["paired"] == 6 and result["unpaired"] == 0
    m = result["metrics"]
    for key in ("model/warp_iou", "identity/warp_iou", "model/ssim", "model/psnr", "model/l1"):
        assert key in m
    assert 0 < m["model/warp_iou"] < 1 and 0 < m["identity/warp_iou"] < 1 and -1 < m["model/ssim"] < 1
    assert json.loads((tmp_path / "eval.json").read_text())["metrics"] == m
    assert (tmp_path / "eval.png").is_file() and len(list((tmp_path / "images").iterdir())) == 6

    # 4. the exported folder: fp16 safetensors, a model card, and it loads into the pipeline
    assert (folder / "gmm" / "model.safetensors").is_file() and (folder / "tom" / "config.json").is_file()
    export.main(["--gmm", str(whole), "--tom", str(tom), "--out", str(folder), "--fp16",
                 "--metrics", str(tmp_path / "eval.json")])
    card = (folder / "README.md").read_text()
    assert "research use only" in card and "training.evaluate" in card and f"{m['model/ssim']:.4f}" in card
    with TryOnPipeline.from_pretrained(folder, device="cpu") as pipe:
        assert pipe.gmm.config.ngf == 8


def test_annotation_representation_and_torchrun_ddp(pairs_file, tmp_path):
    """The reference setting (parse + OpenPose) trains too; two CPU processes with gloo run DDP."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or "torchrun"
    args = ["gmm", *common(pairs_file, tmp_path / "ddp", tmp_path / "cache", "--steps", "2",
                           "--representation", "annotations")]
    proc = subprocess.run([torchrun, "--nproc_per_node=2", "--master_port=29517", "-m", "training.train", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world size 2" in proc.stderr
    state = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2
    assert (tmp_path / "ddp" / "model" / "model.safetensors").is_file()


def test_push_to_hub_offline_is_a_clear_error(tmp_path, tiny_model_dir):
    from training import push_to_hub

    folder = tmp_path / "export"
    shutil.copytree(tiny_model_dir, folder)
    assert push_to_hub.main(["--folder", str(folder), "--repo-id", "someone/vton"]) == 2  # no model card
    (folder / "README.md").write_text("# card\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", HF_TOKEN="hf_dummy")
    proc = subprocess.run([sys.executable, "-m", "training.push_to_hub", "--folder", str(folder), "--repo-id",
                           "someone/vton"], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: upload to someone/vton failed") and "Traceback" not in proc.stderr


def test_parser_train_resume_evaluate_export(pairs_file, tmp_path, tiny_model_dir):
    """The human parser trains on augmented photos (resumable exactly), evaluates per label group in both
    settings, and exports into a pipeline folder that the pipeline loads with it."""
    def args(out, *extra):
        return train.parse_args(["parser", "--dataroot", str(VITON), "--split", "train", "--pairs", str(pairs_file),
                                 "--out", str(out), "--parser-width", "4", "--batch-size", "2", "--workers", "0",
                                 "--log-every", "1", "--sample-every", "2", "--save-every", "2", "--lr", "1e-3",
                                 "--steps", "4", "--cache-dir", str(tmp_path / "cache"), *extra])

    whole = train.main(args(tmp_path / "parser"))
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 6  # MediaPipe's person masks complete the parse
    train.main(args(tmp_path / "parser2", "--stop-at", "2"))
    with (tmp_path / "parser2" / "log.csv").open() as f:  # a row logged after the last checkpoint, then a crash
        last = f.read().strip().splitlines()[-1]
    with (tmp_path / "parser2" / "log.csv").open("a") as f:
        f.write(last.replace("2,", "3,", 1) + "\n")
    train.main(args(tmp_path / "parser2", "--resume"))
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "parser2" / "log.csv").open())]
    assert steps == [1, 2, 3, 4]  # the resumed run logs step 3 again, once
    a = torch.load(whole / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "parser2" / "checkpoint.pt", weights_only=True)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key  # same augmented items after the resume
    rows = list(csv.DictReader((whole / "log.csv").open()))
    assert {"ce", "dice"} <= set(rows[0]) and len(rows) == 4
    assert (whole / "samples" / "step_0000004.png").is_file()

    result = evaluate.main(evaluate.parse_args([
        "--parser", str(whole), "--dataroot", str(VITON), "--split", "train", "--pairs", str(pairs_file),
        "--workers", "0", "--json", str(tmp_path / "parser.json"), "--cache-dir", str(tmp_path / "cache")]))
    assert result["persons"] == 6
    for setting in ("plain", "background", "plain_dataset_parse"):
        assert set(result[setting]) == {"background", "head", "upper", "arms", "lower", "neck", "mean"}
        assert all(0 <= v <= 1 for v in result[setting].values())

    folder = tmp_path / "pipeline"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "README.md").write_text("# card\n\n## Licence\nresearch\n")
    export.main(["--parser", str(whole), "--out", str(folder), "--fp16", "--parser-metrics", str(tmp_path / "parser.json")])
    card = (folder / "README.md").read_text()
    assert card.index("## Human parser") < card.index("## Licence") and f"{result['plain']['mean']:.4f}" in card
    export.main(["--parser", str(whole), "--out", str(folder)])  # again: the section is replaced, not added
    assert (folder / "README.md").read_text().count("## Human parser") == 1
    with TryOnPipeline.from_pretrained(folder, device="cpu") as pipe:
        assert pipe.parser is not None and pipe.parser.config.widths[0] == 4
    # two fine-tunes of the same weights export as their average; this one also distils the labels its start
    # gives at three scales (mirror-averaged) into one
    tuned = train.main(args(tmp_path / "tuned", "--init", str(whole), "--seed", "1", "--steps", "1",
                            "--teacher", str(whole)))
    distil = float(next(csv.DictReader((tuned / "log.csv").open()))["distil"])
    assert 0 < distil < 10  # cross-entropy against the teacher's probabilities
    soup = export.main(["--parser", str(whole), str(tuned), "--out", str(tmp_path / "soup")])
    a, b = (train.load_trained(run, "parser").state_dict() for run in (whole, tuned))
    averaged = train.load_trained(soup, "parser").state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)
    for key in a:
        if a[key].is_floating_point():
            assert torch.allclose(averaged[key], (a[key] + b[key]) / 2, atol=1e-6), key


def test_completed_parses_train_the_parser_without_mediapipe(pairs_file, tmp_path):
    """write_completed writes the labels ParsingDataset completes with MediaPipe's masks, so a machine without
    MediaPipe (a GPU box) trains on the same targets with --parse-completed; completing them again would not."""
    from training.parsing_data import ParsingDataset, write_completed

    cache, data = tmp_path / "cache", tmp_path / "data"
    written = write_completed(VITON, "train", pairs_file, cache, data)
    here = ParsingDataset(VITON, "train", pairs_file, settings=None, cache_dir=cache)
    there = ParsingDataset(data, "train", pairs_file, settings=None, completed=True)
    assert written == len(here) == len(there) > 0
    for i in range(len(here)):
        assert torch.equal(here[i]["labels"], there[i]["labels"]) and torch.equal(here[i]["image"], there[i]["image"])
    twice = ParsingDataset(data, "train", pairs_file, settings=None)  # the labels grow into the background
    assert sum(int((twice[i]["labels"] != there[i]["labels"]).sum()) for i in range(len(there))) > 0
    run = train.main(train.parse_args([
        "parser", "--dataroot", str(data), "--split", "train", "--pairs", str(pairs_file), "--out", str(tmp_path / "r"),
        "--parser-width", "4", "--batch-size", "2", "--workers", "0", "--steps", "2", "--cache-dir", "",
        "--parse-completed"]))
    assert (run / "model" / "model.safetensors").is_file() and not list(tmp_path.glob("r/**/*.npz"))


def test_uncover_makes_the_tom_draw_what_a_smaller_garment_uncovers(pairs_file, tmp_path):
    """--uncover: the region the try-on changes grows from the worn garment to everything the TOM does not see
    (arms, bare skin) plus a band of the trousers or skirt under the hem; the TOM's input and the photo stay."""
    from training.dataset import VitonDataset
    from vton.hub import load_parser

    cache, parser = tmp_path / "cache", load_parser(device="cpu")  # the masks as the app computes them
    plain = VitonDataset(VITON, "train", pairs_file, cache_dir=cache, parser=parser)
    uncovered = VitonDataset(VITON, "train", pairs_file, cache_dir=cache, parser=parser, uncover=1.0,
                             uncover_band=0.15)
    bands = []
    for index in range(len(plain)):
        a, b = plain[(index, False, index)], uncovered[(index, False, index)]
        assert torch.equal(a["person"], b["person"]) and torch.equal(a["representation"], b["representation"])
        upper, hidden = b["upper"] > 0.5, b["hidden"] > 0.5
        assert torch.equal(upper, hidden) and (hidden >= (a["hidden"] > 0.5)).all()
        grown = upper & ~(a["hidden"] > 0.5)  # the band: lower body only, below the garment's top
        assert (grown <= (a["lower_body"] > 0.5)).all()
        if grown.any():
            assert grown.nonzero()[:, 1].min() > (a["upper"] > 0.5).nonzero()[:, 1].min()
        bands.append(int(grown.sum()))
        # the arms are now to be drawn: the worn garment alone was a fraction of it
        assert upper.sum() > (a["upper"] > 0.5).sum()
    assert sum(b > 0 for b in bands) >= len(bands) // 2  # a band of random height, mostly > 0


def test_time_limit_shortens_the_run_and_its_schedule(pairs_file, tmp_path):
    out = train.main(train.parse_args([
        "parser", "--dataroot", str(VITON), "--split", "train", "--pairs", str(pairs_file), "--out", str(tmp_path),
        "--parser-width", "4", "--batch-size", "1", "--workers", "0", "--log-every", "1", "--sample-every", "1000",
        "--save-every", "1000", "--steps", "100000", "--time-limit", "0.01"]))
    rows = list(csv.DictReader((out / "log.csv").open()))
    # 100 steps are timed, then the run ends at once with its learning rate decayed to 0
    assert len(rows) == 106 and float(rows[-1]["lr"]) == 0.0 and float(rows[50]["lr"]) > 0
    assert json.loads((out / "args.json").read_text())["steps"] == 106
    assert (out / "model" / "config.json").is_file()


def test_full_disk_stops_training_with_one_line_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    import errno

    checkpoint = tmp_path / "checkpoint.pt"
    train.atomic_save({"step": 1}, checkpoint)

    def no_space(obj, path):
        open(path, "wb").write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(SystemExit, match="could not write .*checkpoint.pt \\(No space left on device\\)"):
        train.atomic_save({"step": 2}, checkpoint)
    assert torch.load(checkpoint, weights_only=True) == {"step": 1} and list(tmp_path.iterdir()) == [checkpoint]
