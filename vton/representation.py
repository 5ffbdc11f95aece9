"""The 22-channel person representation of CP-VTON (body shape, head RGB, 18 pose maps), drawn at 256x192.

The same drawing code serves two sources of masks and keypoints:
    * a photo, through MediaPipe (:func:`masks_from_detection`): what the app and the default training use;
    * the VITON annotations, LIP parse + OpenPose JSON (:func:`masks_from_parse`): the reference setting.

Channel order and ranges (all in [-1, 1], background -1):
    0      body shape: the person silhouette downsampled to 12x16 and back (a blur that hides the old garment)
    1-3    head RGB: the photo inside the head mask (hair, face, hat, sunglasses), -1 elsewhere
    4-21   pose maps in COCO-18 order: +1 on an 11x11 square at the joint, -1 elsewhere; missing joints all -1

The TOM may also see the lower body (CP-VTON+): its channels 1-3 then show the photo on the head and on the lower
body (:attr:`PersonMasks.lower`), which the try-on of an upper garment does not change (see
:func:`vton.tom.tom_input`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from .image_io import NET_HEIGHT, NET_WIDTH

POSE_RADIUS = 5  # half-width of the pose squares (reference: radius 5, an 11x11 square)
SHAPE_DOWNSAMPLE = 16  # body shape is resized to (W/16, H/16) and back
HEAD_LABELS = (1, 2, 4, 13)  # LIP: hat, hair, sunglasses, face
GARMENT_LABELS = (5, 6, 7)  # LIP: upper-clothes, dress, coat
LOWER_BODY_LABELS = (8, 9, 12, 16, 17, 18, 19)  # LIP: socks, pants, skirt, legs, shoes
NECK_LABEL = 10  # our parser's neck and bare torso skin (see vton.parsing)
UPPER_CLOTHES_LABEL, DRESS_LABEL, COAT_LABEL, SKIRT_LABEL = 5, 6, 7, 12
WAIST_ABOVE_HIPS = 0.25  # without a top to end it, a dress's waist: this fraction of shoulder-to-hip above the hips
LONG_GARMENT = 0.5  # an upper garment reaching this fraction of shoulder-to-hip below the hips is a dress
ARM_LABELS = (3, 14, 15)  # LIP: glove, left arm, right arm
# The lower body of a photo starts this many torso lengths (neck to hips) below the hips. On 1,500 VITON training
# photos the worn garment ends at a median of 0.03 torso lengths below the hips and above 0.25 in 94% of them;
# 0.25 keeps 37% of the parsed lower body and 0.5% of the garment's pixels (training/splits, MediaPipe joints).
HEM_MARGIN = 0.25
# Above the hem margin the lower body is segmented by colour (GrabCut) up to this many torso lengths above the hips,
# and only when the lower body and the garment differ in colour: at least LOWER_CONTRAST (RGB distance of their
# median colours, 0-255 units). On 300 held-out VITON photos this keeps 69% of the parsed lower body (the margin alone:
# 37%) and 0.8% of the garment's pixels (0.4%).
WAIST_BAND = 0.15
LOWER_CONTRAST = 40.0
NUM_CHANNELS = 22
# pose channel of each COCO-18 joint after a left-right mirror (right and left shoulders, elbows, ... swap)
MIRRORED_JOINTS = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)


# The region hidden from the TOM reaches this many network pixels past the old garment, torso skin and arms, so
# their fringe (the parse's edge is a pixel or two off) is redrawn, not left as a halo of the old garment.
HIDDEN_MARGIN = 2


@dataclass
class PersonMasks:
    """Boolean (H, W) masks of one person at network resolution.

    person: the silhouette; head: hair, face, neck; lower: the lower body that an upper-garment try-on keeps;
    upper: the upper garment the person wears, which a try-on replaces; hidden: what the TOM must draw anew and so
    does not see (:func:`hidden_region`: the old garment, the torso's bare skin, the arms but the hands).
    """

    person: np.ndarray
    head: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    hidden: np.ndarray


def body_shape(person: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) float32 blurred silhouette in [-1, 1]."""
    height, width = person.shape
    image = Image.fromarray(person.astype(np.uint8) * 255)
    small = image.resize((width // SHAPE_DOWNSAMPLE, height // SHAPE_DOWNSAMPLE), Image.Resampling.BILINEAR)
    back = small.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(back, dtype=np.float32) / 127.5 - 1.0


def head_rgb(photo: np.ndarray, head: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 photo and (H, W) bool head mask -> (3, H, W) float32: photo in [-1, 1] on the head, -1 off."""
    rgb = photo.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    return np.where(head[None], rgb, -1.0).astype(np.float32)


def pose_maps(keypoints: np.ndarray, height: int = NET_HEIGHT, width: int = NET_WIDTH,
              radius: int = POSE_RADIUS) -> np.ndarray:
    """(18, 2+) keypoints in pixels -> (18, H, W) float32 maps, +1 on a (2r+1)^2 square, -1 elsewhere.

    Joints with x <= 1 or y <= 1 are missing (the OpenPose convention the reference follows).
    """
    maps = np.full((len(keypoints), height, width), -1.0, dtype=np.float32)
    for j, (x, y) in enumerate(np.asarray(keypoints, dtype=np.float64)[:, :2]):
        if x > 1 and y > 1:
            canvas = Image.new("L", (width, height))
            ImageDraw.Draw(canvas).rectangle((x - radius, y - radius, x + radius, y + radius), fill=255, outline=255)
            maps[j] = np.asarray(canvas, dtype=np.float32) / 127.5 - 1.0
    return maps


def person_representation(photo: np.ndarray, masks: PersonMasks, keypoints: np.ndarray) -> torch.Tensor:
    """Build the 22-channel representation.

    Args:
        photo: (H, W, 3) uint8 RGB at network resolution (256x192).
        masks: person and head masks at the same resolution.
        keypoints: (18, 3) COCO-18 (x, y, confidence) in the photo's pixels.
    Returns:
        (22, H, W) float32 tensor in [-1, 1].
    """
    height, width = photo.shape[:2]
    if masks.person.shape != (height, width):
        raise ValueError(f"expected masks of shape {(height, width)}, got {masks.person.shape}")
    channels = np.concatenate([
        body_shape(masks.person)[None],
        head_rgb(photo, masks.head),
        pose_maps(keypoints, height, width),
    ])
    return torch.from_numpy(channels)


def mirror_representation(representation: torch.Tensor) -> torch.Tensor:
    """The representation of the left-right mirrored photo: (..., 22, H, W) flipped along W, the pose maps of
    left and right joints swapped."""
    flipped = representation.flip(-1)
    return torch.cat([flipped[..., :4, :, :], flipped[..., 4:, :, :][..., list(MIRRORED_JOINTS), :, :]], dim=-3)


def hands(arms: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The arm pixels past each wrist (along the elbow -> wrist direction, within a forearm's length of the
    wrist): the hands, which show the person's skin tone and stay in view of the TOM.

    Args:
        arms: (H, W) bool; keypoints: (18, 3) COCO-18 in the same pixels (missing joints have confidence 0).
    """
    out = np.zeros_like(arms)
    ys, xs = np.nonzero(arms)
    for elbow, wrist in ((3, 4), (6, 7)):
        if keypoints[elbow, 2] <= 0 or keypoints[wrist, 2] <= 0:
            continue
        e, w = keypoints[elbow, :2].astype(np.float64), keypoints[wrist, :2].astype(np.float64)
        d = w - e
        length2 = float(d @ d)
        if length2 < 1.0:
            continue
        t = ((xs - e[0]) * d[0] + (ys - e[1]) * d[1]) / length2
        near = (xs - w[0]) ** 2 + (ys - w[1]) ** 2 <= length2
        out[ys[(t > 0.9) & near], xs[(t > 0.9) & near]] = True
    return out


def hidden_region(labels: np.ndarray, keypoints: np.ndarray | None, head: np.ndarray) -> np.ndarray:
    """What the TOM must draw anew for an upper-garment try-on, so its input does not show it (VITON-HD's
    "clothing-agnostic" person): the old upper garment, the bare torso skin (label 10 outside the head), the arms
    except the hands, grown by :data:`HIDDEN_MARGIN`, never the head. Hiding the arms matters: a TOM that sees them
    learns to keep them, and then drops the long sleeves of a new garment.

    Args:
        labels: (H, W) LIP labels; keypoints: (18, 3) COCO-18 or None (then the hands are hidden too);
        head: (H, W) bool, the head as kept.
    """
    arms = np.isin(labels, ARM_LABELS)
    if keypoints is not None:
        arms &= ~hands(arms, keypoints)
    region = np.isin(labels, GARMENT_LABELS) | ((labels == NECK_LABEL) & ~head) | arms
    size = 2 * HIDDEN_MARGIN + 1
    region = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) > 0
    return region & ~head


def masks_from_parse(parse: np.ndarray, keypoints: np.ndarray | None = None) -> PersonMasks:
    """LIP label map (H, W) of VITON's annotations -> person (label > 0), head (hat, hair, sunglasses, face),
    lower-body, upper-garment and hidden masks: the reference setting. ``keypoints``: (18, 3), to keep the hands
    in view of the TOM (see :func:`hidden_region`)."""
    head = np.isin(parse, HEAD_LABELS)
    return PersonMasks(person=parse > 0, head=head, lower=np.isin(parse, LOWER_BODY_LABELS),
                       upper=garment_region(parse), hidden=hidden_region(parse, keypoints, head))


def masks_from_labels(labels: np.ndarray, keypoints: np.ndarray, with_hidden: bool = True) -> PersonMasks:
    """Masks from our parser's labels (:mod:`vton.parsing`) of a photo.

    person: any label; head: hat, hair, sunglasses, face, and the neck (label 10) above the shoulder line (the
    COCO neck joint), not the skin a neckline shows below it; lower: trousers, skirt, legs, socks and shoes;
    upper: upper-clothes, dress, coat; hidden: :func:`hidden_region`.

    A dress below the waist is the lower body (:func:`dress_below_waist_as_skirt`).

    Args:
        labels: (H, W) uint8 labels; keypoints: (18, 3) COCO-18 in the same pixels.
        with_hidden: False leaves ``hidden`` empty (it is the TOM's input; the composition at photo resolution
            needs only the head and the upper garment, and the hands and dilation cost ~10 ms at 1024 px).
    """
    labels = dress_below_waist_as_skirt(labels, keypoints)
    head = np.isin(labels, HEAD_LABELS)
    neck = labels == NECK_LABEL
    if keypoints[1, 2] > 0:
        neck &= np.arange(labels.shape[0])[:, None] <= keypoints[1, 1]
    head |= neck
    return PersonMasks(person=labels > 0, head=head, lower=np.isin(labels, LOWER_BODY_LABELS),
                       upper=garment_region(labels),
                       hidden=hidden_region(labels, keypoints, head) if with_hidden else np.zeros_like(head))


def dress_below_waist_as_skirt(labels: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Relabel a dress below the waist as skirt: an upper-garment try-on keeps it.

    Why: a top replaces what is above the waist. The skirt of a dress stays in the photo, and so does a skirt or
    trousers that the parser half-labels "dress" under a top (seen on wild photos: the top of a patterned skirt
    becomes dress, and was repainted). A dress is the "dress" label, or any upper garment reaching more than
    LONG_GARMENT of the torso below the hip joints (the parser often calls a plain dress upper-clothes; in VITON 97%
    of the tops end above that). The waist is the bottom of the upper-clothes (98th percentile of its rows) when a
    top covers a real area beside a "dress", else WAIST_ABOVE_HIPS of the torso above the hip joints. Without hips
    or shoulders (a photo cropped at the chest), only the first case applies.

    With a dress, the upper-clothes below its waist are skirt too (a V-necked dress's neckline, labelled
    upper-clothes down into the skirt, left a skin-coloured triangle there). Pieces of upper garment wholly below the
    waist (or, without a dress, the hip joints) are the lower body: the parser's stray upper-clothes labels on a
    skirt, trousers or beside the hands, which the try-on would otherwise repaint as blobs. A top is one piece that
    starts above the hips.

    Args:
        labels: (H, W) uint8 LIP labels; keypoints: (18, 3) COCO-18 in the same pixels.
    Returns:
        a copy of ``labels`` (or ``labels`` itself when nothing changes).
    """
    rows = np.arange(labels.shape[0])[:, None]
    hips, shoulders = keypoints[[8, 11]], keypoints[[2, 5]]
    hip = torso = None
    if (hips[:, 2] > 0).any() and (shoulders[:, 2] > 0).any():
        hip = float(hips[hips[:, 2] > 0, 1].mean())
        torso = hip - float(shoulders[shoulders[:, 2] > 0, 1].mean())
    dress = labels == DRESS_LABEL
    top_rows = np.nonzero(labels == UPPER_CLOTHES_LABEL)[0]
    out, waist = labels, hip
    if dress.any():
        if top_rows.size > 0.2 * dress.sum():
            waist = np.percentile(top_rows, 98)
        elif hip is not None:
            waist = hip - WAIST_ABOVE_HIPS * torso
        else:
            return labels
        out = labels.copy()
        # the upper-clothes below that waist too: pieces of the dress (its neckline, seen on a V-necked dress)
        out[(dress | (labels == UPPER_CLOTHES_LABEL)) & (rows > waist)] = SKIRT_LABEL
    if hip is not None and torso > 0:
        garment = np.isin(out, GARMENT_LABELS)
        garment_rows = np.nonzero(garment)[0]
        if garment_rows.size and np.percentile(garment_rows, 99) > hip + LONG_GARMENT * torso:
            out = out.copy() if out is labels else out
            out[garment & (rows > hip - WAIST_ABOVE_HIPS * torso)] = SKIRT_LABEL
    if waist is not None:
        count, parts, stats, _ = cv2.connectedComponentsWithStats(np.isin(out, GARMENT_LABELS).astype(np.uint8))
        stray = [c for c in range(1, count) if stats[c, cv2.CC_STAT_TOP] > waist]
        if stray:
            out = out.copy() if out is labels else out
            out[np.isin(parts, stray)] = SKIRT_LABEL
    return out


DRESS_BAND = 0.08  # the lower body compared: this fraction of the height below the upper garment's bottom
DRESS_COLOUR_DISTANCE = 8.0  # a dress: its median colour this close to that band's (CIELAB delta E), one garment


def wears_a_dress(image: np.ndarray, labels: np.ndarray, keypoints: np.ndarray) -> bool:
    """Whether the old upper garment is a dress: what lies just below it (the lower body, after
    :func:`dress_below_waist_as_skirt`) continues it in the same colour. The parser calls the skirt of a dress
    "dress", "skirt" or "upper-clothes", and a skirt or the waist of trousers under a top "dress" too: the colour
    tells one garment from two. (On the wild photos the 7 dresses measure 0.5-1.9; a black top over black
    trousers 9.4, a white tank top over light jeans 16.6, a grey tee over black trousers 32.)

    A top tried on over a dress is worn over it (:meth:`vton.pipeline.TryOnPipeline._paste`): around the top the
    dress stays as photographed, as its skirt always did. Painted instead, the bare shoulders, arms and midriff
    that a crop top or a bandeau leaves read as flat blocks of skin down to the dress's waist.

    Args:
        image: (H, W, 3) uint8 RGB; labels: (H, W) uint8 LIP labels; keypoints: (18, 3) COCO-18 in its pixels.
    """
    relabelled = dress_below_waist_as_skirt(labels, keypoints)
    top, lower = np.isin(relabelled, GARMENT_LABELS), np.isin(relabelled, LOWER_BODY_LABELS)
    if not top.any() or not lower.any():
        return False
    bottom = np.nonzero(top.any(1))[0].max()
    rows = np.arange(labels.shape[0])[:, None]
    below = lower & (rows > bottom - 2) & (rows <= bottom + max(2, round(DRESS_BAND * labels.shape[0])))
    parts = [cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for m in (top, below)]
    if min(m.sum() for m in parts) < 20:
        return False
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    medians = [np.median(lab[m], axis=0) for m in parts]
    return float(np.linalg.norm(medians[0] - medians[1])) < DRESS_COLOUR_DISTANCE


def garment_region(parse: np.ndarray) -> np.ndarray:
    """LIP label map -> (H, W) bool mask of the worn upper garment (upper-clothes, dress, coat): the GMM target."""
    return np.isin(parse, GARMENT_LABELS)


def _polygon_mask(points: np.ndarray, height: int, width: int) -> np.ndarray:
    canvas = Image.new("L", (width, height))
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in points.astype(np.float64)], fill=255, outline=255)
    return np.asarray(canvas) > 0


def head_mask(photo: np.ndarray, person: np.ndarray, keypoints: np.ndarray, face: np.ndarray | None,
              face_outline: list[int] | None = None) -> np.ndarray:
    """Head (hair + face + neck, as LIP labels them) from a person mask, keypoints and optional face landmarks.

    1. Face: the polygon of the face-outline landmarks (without them: an ellipse from nose, eyes and ears).
    2. Above the chin: the person mask within a band around the face (hair, hat).
    3. Below the chin, down to just under the neck: person pixels whose colour is nearer to the hair or skin
       colour (sampled above and inside the face) than to the garment colour (sampled on the chest): long hair
       and the neck, which LIP labels face.

    Args:
        photo: (H, W, 3) uint8.
        person: (H, W) bool person mask.
        keypoints: (18, 3) COCO-18 in pixels.
        face: (478, 2) face landmarks in pixels, or None.
        face_outline: indices of the outline landmarks (see :func:`vton.pose.face_oval_indices`).
    Returns:
        (H, W) bool.
    """
    height, width = person.shape
    ys = np.arange(height)[:, None]
    xs = np.arange(width)[None, :]
    present = keypoints[:, 2] > 0
    if face is not None and face_outline:
        outline = face[face_outline]
        face_area = _polygon_mask(outline, height, width)
        cx = float(outline[:, 0].mean())
        half_width = 0.5 * float(outline[:, 0].max() - outline[:, 0].min())
        chin, brow = float(outline[:, 1].max()), float(outline[:, 1].min())
    else:
        head_points = [j for j in (0, 14, 15, 16, 17) if present[j]]
        if not head_points:
            return np.zeros_like(person)
        pts = keypoints[head_points, :2]
        cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
        spread = float(pts[:, 0].max() - pts[:, 0].min()) if len(pts) > 1 else 0.0
        half_width = max(0.65 * spread, 0.08 * width)
        neck_y = float(keypoints[1, 1]) if present[1] else cy + 3 * half_width
        chin = cy + 0.55 * (neck_y - cy)
        brow = cy - 1.3 * half_width
        face_area = ((xs - cx) / half_width) ** 2 + ((ys - cy) / (1.3 * half_width)) ** 2 <= 1
    band = np.abs(xs - cx) <= 1.6 * half_width
    head = face_area | (person & band & (ys <= chin))

    # 3. below the chin: the neck (a column under the face) and long hair (hair-coloured person pixels)
    if present[1] and present[2] and present[5]:
        neck_y = float(keypoints[1, 1])
        shoulder_width = float(abs(keypoints[2, 0] - keypoints[5, 0]))
        neck = person & (ys > chin) & (ys <= chin + 0.35 * max(neck_y - chin, 0.0)) & (np.abs(xs - cx) <= 0.6 * half_width)
        head |= neck
        image = photo.astype(np.float32)
        hair = person & band & (ys < brow) & ~face_area
        skin = face_area & (ys > brow + 0.3 * (chin - brow))
        chest = person & (ys >= neck_y + 0.35 * shoulder_width) & (ys <= neck_y + 0.8 * shoulder_width) \
            & (np.abs(xs - keypoints[1, 0]) <= 0.25 * shoulder_width)
        if min(hair.sum(), skin.sum(), chest.sum()) >= 10:
            d_hair, d_skin, d_chest = (np.linalg.norm(image - image[m].mean(axis=0), axis=2) for m in (hair, skin, chest))
            below = person & (ys > chin) & (ys <= neck_y + 0.1 * shoulder_width) & (np.abs(xs - cx) <= 2.0 * half_width)
            head |= below & (d_hair < 0.7 * d_chest) & (d_hair < d_skin)
    return head


def lower_body_mask(photo: np.ndarray, person: np.ndarray, keypoints: np.ndarray,
                    margin: float = HEM_MARGIN) -> np.ndarray:
    """The lower body of a photographed person, without a parser.

    1. Person pixels more than ``margin`` torso lengths below the hips, away from the arms (a sleeve or a hand may
       hang there): below almost every upper garment's hem.
    2. If that lower body differs in colour from the garment (sampled on the belly), GrabCut extends it over the
       person pixels from ``WAIST_BAND`` torso lengths above the hips down: trousers or a skirt up to the real hem,
       and the legs beside the hands. The garment above the band, the belly and the background are fixed as not
       lower body; only regions connected to step 1 are kept.

    Args:
        photo: (H, W, 3) uint8 RGB.
        person: (H, W) bool person mask.
        keypoints: (18, 3) COCO-18 in pixels; without the neck and both hips the mask is empty.
    Returns:
        (H, W) bool.
    """
    height, width = person.shape
    present = keypoints[:, 2] > 0
    if not (present[1] and present[8] and present[11]):
        return np.zeros_like(person)
    hip_y = float(keypoints[[8, 11], 1].mean())
    torso = hip_y - float(keypoints[1, 1])
    if torso <= 0:
        return np.zeros_like(person)
    ys = np.arange(height)[:, None]
    # arms: capsules along shoulder-elbow-wrist, a bit wider than an arm, extended past the wrist for the hand
    canvas = Image.new("L", (width, height))
    draw = ImageDraw.Draw(canvas)
    radius = 0.3 * torso
    for shoulder, elbow, wrist in ((2, 3, 4), (5, 6, 7)):
        chain = [keypoints[j, :2].astype(np.float64) for j in (shoulder, elbow, wrist) if present[j]]
        if len(chain) >= 2:
            chain.append(chain[-1] + 0.5 * (chain[-1] - chain[-2]))  # the hand
        for a, b in itertools.pairwise(chain):
            draw.line([tuple(a), tuple(b)], fill=255, width=int(2 * radius))
        for point in chain:
            draw.ellipse([point[0] - radius, point[1] - radius, point[0] + radius, point[1] + radius], fill=255)
    arms = np.asarray(canvas) > 0
    lower = person & ~arms & (ys > hip_y + margin * torso)

    hip_x = float(keypoints[[8, 11], 0].mean())
    belly = person & (ys >= hip_y - 0.45 * torso) & (ys <= hip_y - 0.25 * torso) \
        & (np.abs(np.arange(width)[None, :] - hip_x) <= 0.15 * torso)
    if lower.sum() < 30 or belly.sum() < 10:
        return lower
    image = photo.astype(np.float32)
    if np.linalg.norm(np.median(image[lower], axis=0) - np.median(image[belly], axis=0)) < LOWER_CONTRAST:
        return lower  # trousers like the garment: colour cannot tell where the garment ends

    band = person & (ys > hip_y - WAIST_BAND * torso)
    labels = np.full((height, width), cv2.GC_BGD, np.uint8)
    labels[band] = cv2.GC_PR_BGD
    labels[band & ~arms & (ys > hip_y)] = cv2.GC_PR_FGD
    labels[belly] = cv2.GC_BGD
    labels[lower] = cv2.GC_FGD
    cv2.setRNGSeed(0)  # GrabCut's k-means initialisation draws from OpenCV's RNG: same photo, same mask
    cv2.grabCut(np.ascontiguousarray(photo[:, :, ::-1]), labels, None, np.zeros((1, 65)), np.zeros((1, 65)), 4,
                cv2.GC_INIT_WITH_MASK)
    found = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    _, parts = cv2.connectedComponents(found.astype(np.uint8), connectivity=4)
    touching = np.unique(parts[lower])
    return np.isin(parts, touching[touching > 0])


def smooth_mask(mask: np.ndarray, radius: float = 1.0) -> np.ndarray:
    """Light clean-up of a binary mask (Gaussian blur + threshold)."""
    image = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(image) >= 128
