"""VITON data in the CP-VTON layout, with the person representation the app computes from a photo.

    DATAROOT/
      PAIRS                               "person.jpg garment.jpg" per line
      SPLIT/image/NNNNNN_0.jpg            person photo, 192x256
      SPLIT/cloth/NNNNNN_1.jpg            in-shop garment
      SPLIT/cloth-mask/NNNNNN_1.jpg       garment mask (JPEG: threshold at 128)
      SPLIT/image-parse/NNNNNN_0.png      LIP labels (needed for the GMM target and the metrics)
      SPLIT/pose/NNNNNN_0_keypoints.json  OpenPose COCO-18 (needed for representation='annotations' only)

representation='photo' (default) reads MediaPipe detections cached once per image under ``cache_dir`` (built by
:func:`build_person_cache`), then draws them with the library's :func:`vton.person.draw_person`, so training sees
exactly what inference computes. representation='annotations' draws the dataset's parse and pose instead.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from vton.garment import auto_garment_mask, unseen_by_gmm
from vton.image_io import NET_HEIGHT, NET_WIDTH
from vton.person import draw_person
from vton.pose import PersonDetection
from vton.representation import PersonMasks, garment_region, masks_from_parse, mirror_representation, person_representation

log = logging.getLogger(__name__)


def read_pairs(dataroot: str | Path, pairs: str | Path) -> list[tuple[str, str]]:
    """Pairs file (a path, or a name relative to dataroot) -> [(person file, garment file)]."""
    path = Path(pairs)
    if not path.is_file():
        path = Path(dataroot) / pairs
    if not path.is_file():
        raise FileNotFoundError(f"pairs file not found: {pairs} (nor under {dataroot})")
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected 'person garment', got {line!r}")
        out.append((fields[0], fields[1]))
    return out


def stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def read_openpose(path: Path) -> np.ndarray:
    """OpenPose JSON (``pose_keypoints`` or ``pose_keypoints_2d``) -> (18, 3) float32."""
    person = json.loads(path.read_text())["people"][0]
    values = person.get("pose_keypoints", person.get("pose_keypoints_2d"))
    return np.asarray(values, dtype=np.float32).reshape(-1, 3)[:18]


def cache_path(cache_dir: Path, split: str, person: str) -> Path:
    return Path(cache_dir) / split / f"{stem(person)}.npz"


def save_detection(path: Path, detection: PersonDetection | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    if detection is None:  # no person found: remembered, so the image is skipped without detecting again
        np.savez_compressed(tmp, found=np.array(False))
    else:
        np.savez_compressed(
            tmp, found=np.array(True), landmarks=detection.landmarks,
            mask=np.round(detection.mask * 255).astype(np.uint8),
            face=detection.face if detection.face is not None else np.zeros((0, 2), np.float32),
            num_persons=np.array(detection.num_persons),
        )
    tmp.replace(path)


def load_detection(path: Path) -> PersonDetection | None:
    with np.load(path) as data:
        if not bool(data["found"]):
            return None
        face = data["face"]
        return PersonDetection(data["landmarks"], data["mask"].astype(np.float32) / 255.0,
                               face if len(face) else None, int(data["num_persons"]))


def build_person_cache(dataroot: str | Path, split: str, persons: list[str], cache_dir: str | Path,
                       pose_model=None, face_model=None) -> int:
    """Run MediaPipe once on every person photo that has no cached detection. Returns how many were computed."""
    from vton.errors import InputError
    from vton.pose import PersonDetector

    todo = [p for p in dict.fromkeys(persons) if not cache_path(Path(cache_dir), split, p).is_file()]
    if not todo:
        return 0
    with PersonDetector(pose_model, face_model) as detector:
        for person in tqdm(todo, desc=f"detecting persons ({split})"):
            image = np.asarray(Image.open(Path(dataroot) / split / "image" / person).convert("RGB"))
            try:
                detection = detector.detect(image)
            except InputError:
                detection = None
            save_detection(cache_path(Path(cache_dir), split, person), detection)
    return len(todo)


def build_parse_cache(dataroot: str | Path, split: str, persons: list[str], cache_dir: str | Path,
                      parser) -> Path:
    """Run the human parser once on every person photo without cached labels (mirror-averaged, as the pipeline
    does); returns the cache folder.

    The folder is keyed by a hash of the parser's weights (CACHE/parse/<hash>/<split>/<stem>.png), so labels of
    another parser are never reused.
    """
    from vton.parsing import labels_to_image

    digest = hashlib.sha1()
    for key, value in parser.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().float().numpy().tobytes())
    folder = Path(cache_dir) / "parse" / digest.hexdigest()[:12] / split
    folder.mkdir(parents=True, exist_ok=True)
    todo = [p for p in dict.fromkeys(persons) if not (folder / f"{stem(p)}.png").is_file()]
    for start in tqdm(range(0, len(todo), 16), desc=f"parsing persons ({split})", disable=not todo):
        names = todo[start:start + 16]
        images = np.stack([np.asarray(Image.open(Path(dataroot) / split / "image" / n).convert("RGB")) for n in names])
        for name, labels in zip(names, parser.predict(images, mirror_average=True).argmax(1).cpu().numpy()):
            labels_to_image(labels).save(folder / f"{stem(name)}.png")
    return folder


def _to_unit(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0)


@dataclass
class VitonDataset(Dataset):
    """Items are dicts of tensors at 256x192:

    person (3, H, W) [-1, 1]; representation (22, H, W) [-1, 1]; lower_body (1, H, W) {0, 1}: the lower body
    that the TOM may keep (see ``vton.tom.tom_input``); head (1, H, W) {0, 1}: hair, face and neck, which the
    pipeline keeps from the photo; upper, hidden (1, H, W) {0, 1}: the worn garment as the person analysis finds
    it and what the TOM does not see (``vton.representation.PersonMasks``); garment (3, H, W) [-1, 1];
    garment_mask (1, H, W) {0, 1}; garment_unseen (1, H, W) [0, 1], with ``garment_unseen``: what the GMM is
    not shown of the garment (``vton.garment.unseen_by_gmm``, as the pipeline); garment_region (1, H, W) {0, 1}:
    the worn garment in the parse;
    target_garment (3, H, W) [-1, 1]: the photo inside garment_region, white outside (the GMM target);
    person_name, garment_name: file names.

    Args:
        representation: 'photo' (MediaPipe, cached) or 'annotations' (parse + OpenPose JSON).
        cache_dir: where 'photo' detections are cached; built on first use.
        hflip: mirror half of the items (person, garment, masks and left/right joints together).
        garment_masks: 'dataset' (cloth-mask/) or 'auto' (the library's automatic mask, what the app uses; some
            dataset masks of pale garments are wrong).
        with_lower_body: False leaves lower_body all 0 and skips computing it (the GMM does not use it).
        garment_unseen: add ``garment_unseen`` (~25 ms per item): for the library's try-on as the pipeline runs it
            (evaluation, the TOM's training); the GMM's own training shows it the whole garment.
        parser: with representation='photo', the human parser whose labels give the person, head and lower-body
            masks, as the pipeline does when its weights have one (labels cached once per image); None: MediaPipe
            and the heuristics.
        backgrounds: probability of putting the person on another background (cut out by the dataset's parse,
            ``training.parsing_data``), so that a TOM trained on it does not expect VITON's white wall; drawn from
            (seed, position), position from the sampler, so a resumed run sees the same items.
        uncover: probability of training as if the person wore a bigger garment than the new one
            (:func:`bigger_old_garment`), seeded like ``backgrounds``; uncover_band: its ``max_band``.
    """

    dataroot: str | Path
    split: str = "train"
    pairs: str | Path = "train_pairs.txt"
    representation: str = "photo"
    cache_dir: str | Path = "cache/persons"
    hflip: bool = False
    garment_masks: str = "dataset"
    pose_model: str | None = None
    face_model: str | None = None
    with_lower_body: bool = True
    garment_unseen: bool = False
    parser: object = None
    backgrounds: float = 0.0
    uncover: float = 0.0
    uncover_band: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if self.garment_masks not in ("dataset", "auto"):
            raise ValueError(f"expected garment_masks 'dataset' or 'auto', got {self.garment_masks!r}")
        if self.representation not in ("photo", "annotations"):
            raise ValueError(f"expected representation 'photo' or 'annotations', got {self.representation!r}")
        self.root = Path(self.dataroot) / self.split
        self.items = read_pairs(self.dataroot, self.pairs)
        if self.representation == "photo":
            build_person_cache(self.dataroot, self.split, [p for p, _ in self.items], self.cache_dir,
                               self.pose_model, self.face_model)
            found = [load_detection(cache_path(Path(self.cache_dir), self.split, p)) is not None for p, _ in self.items]
            skipped = len(found) - sum(found)
            if skipped:
                log.warning("%d of %d pairs skipped: no person found in the photo", skipped, len(found))
            self.items = [item for item, ok in zip(self.items, found) if ok]
        self.parse_dir = None
        if self.representation == "photo" and self.parser is not None:
            self.parse_dir = build_parse_cache(self.dataroot, self.split, [p for p, _ in self.items], self.cache_dir,
                                               self.parser)
            self.parser = None  # the labels are cached; workers need not carry the network
        self.textures = sorted({self.root / "cloth" / g for _, g in self.items})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int | tuple[int, bool]) -> dict:
        """``index``, or ``(index, flip, position)`` from a sampler that decides the mirroring (train.StepSampler)."""
        if isinstance(index, tuple):
            index, flip, position = index
        else:
            flip, position = self.hflip and bool(torch.rand(()) < 0.5), index
        person_name, garment_name = self.items[index]
        photo = Image.open(self.root / "image" / person_name).convert("RGB")
        garment = Image.open(self.root / "cloth" / garment_name).convert("RGB")
        if self.garment_masks == "auto":
            garment_mask = auto_garment_mask(np.asarray(garment))
        else:
            garment_mask = np.asarray(Image.open(self.root / "cloth-mask" / garment_name).convert("L")) >= 128
        parse_file = self.root / "image-parse" / f"{stem(person_name)}.png"
        parse = np.array(Image.open(parse_file)) if parse_file.is_file() else None
        for name, image in (("person", photo), ("garment", garment)):
            if image.size != (NET_WIDTH, NET_HEIGHT):
                raise ValueError(f"{name} {image.size} is not {NET_WIDTH}x{NET_HEIGHT}: frame it first")
        image = np.asarray(photo)
        detection = None
        if self.representation == "photo":
            detection = load_detection(cache_path(Path(self.cache_dir), self.split, person_name))
        if self.backgrounds and parse is not None:
            from .parsing_data import complete_parse, random_background, replace_background

            rng = np.random.default_rng([self.seed, position])
            if rng.random() < self.backgrounds:
                person = complete_parse(image, parse, detection.mask if detection is not None else None) > 0
                image = replace_background(image, person, random_background(rng, self.textures))
                image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
                photo = Image.fromarray(image)
        if self.representation == "photo":
            labels = None
            if self.parse_dir is not None:
                labels = np.array(Image.open(self.parse_dir / f"{stem(person_name)}.png"))
            _, masks, representation = draw_person(image, detection, lower_body=self.with_lower_body, labels=labels)
        else:
            if parse is None:
                raise FileNotFoundError(f"representation='annotations' needs {parse_file}")
            keypoints = read_openpose(self.root / "pose" / f"{stem(person_name)}_keypoints.json")
            masks = masks_from_parse(parse, keypoints)
            if not self.with_lower_body:
                masks.lower = np.zeros_like(masks.lower)
            representation = person_representation(image, masks, keypoints)
        if self.uncover and np.random.default_rng([self.seed, position, 1]).random() < self.uncover:
            bigger_old_garment(masks, np.random.default_rng([self.seed, position, 2]), self.uncover_band)

        person_t = _to_unit(photo)
        region = torch.from_numpy(garment_region(parse)[None].astype(np.float32)) if parse is not None \
            else torch.zeros(1, NET_HEIGHT, NET_WIDTH)
        item = {
            "person": person_t,
            "representation": representation,
            "lower_body": torch.from_numpy(masks.lower[None].astype(np.float32)),
            "head": torch.from_numpy(masks.head[None].astype(np.float32)),
            "upper": torch.from_numpy(masks.upper[None].astype(np.float32)),
            "hidden": torch.from_numpy(masks.hidden[None].astype(np.float32)),
            "garment": _to_unit(garment),
            "garment_mask": torch.from_numpy(garment_mask[None].astype(np.float32)),
            **({"garment_unseen": torch.from_numpy(unseen_by_gmm(np.asarray(garment), garment_mask)[None])}
               if self.garment_unseen else {}),
            "garment_region": region,
            "target_garment": person_t * region + (1 - region),
            "person_name": person_name,
            "garment_name": garment_name,
        }
        return mirror(item) if flip else item


def bigger_old_garment(masks: PersonMasks, rng: np.random.Generator, max_band: float = 0.0) -> None:
    """Train the TOM for what a paired photo never shows it: the skin and clothes that a new garment uncovers when
    it is smaller than the photographed one (a cami tried on a person in a T-shirt, a crop top on a long top).

    In a VITON pair the worn garment is the new garment, so the region a try-on changes (``upper``) is the
    garment itself and the TOM is never asked to draw the arms, the shoulders or the waistband that a smaller
    garment shows: in the wild it then paints pink or grey blobs there. Here the old garment is made as large as
    everything the TOM does not see (``hidden``: the garment, the bare torso skin and the arms but the hands) plus
    a band of the lower body under the garment's hem, up to ``max_band`` of the image height, drawn from ``rng``;
    the TOM must draw them, and the photo is the ground truth. Changes ``masks.upper`` and ``masks.hidden`` in
    place (the representation is unchanged: it never shows the garment).

    The band is off by default: a TOM trained with bands up to 0.15 (H200, 4,744 steps of 16) learned to extend
    the trousers upwards, and under a crop top tried on a long top drew a dark blob where the belly shows; a
    reviewer preferred the TOM before it in 28 of 81 wild try-ons and it in 20.
    """
    rows = int(rng.integers(0, int(max_band * masks.upper.shape[0]) + 1))
    band = np.zeros_like(masks.upper)
    if rows:
        kernel = np.zeros((2 * rows + 1, 1), np.uint8)
        kernel[:rows + 1] = 1  # anchored at the centre: each pixel takes the maximum of the rows above it
        band = (cv2.dilate(masks.upper.astype(np.uint8), kernel) > 0) & masks.lower & ~masks.upper
    masks.hidden = masks.hidden | band
    masks.upper = masks.hidden.copy()


def mirror(item: dict) -> dict:
    """Mirror every image of an item left-right; pose maps of left and right joints swap places."""
    out = {key: value.flip(-1) if isinstance(value, torch.Tensor) else value for key, value in item.items()}
    out["representation"] = mirror_representation(item["representation"])
    return out
