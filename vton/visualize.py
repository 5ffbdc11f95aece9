"""Pictures of the intermediate steps, for users who want to understand a result."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

# COCO-18 limbs, as OpenPose draws them
SKELETON = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
            (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
COLORS = [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
          (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
          (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85)]


def draw_keypoints(image: Image.Image, keypoints: np.ndarray) -> Image.Image:
    """Draw COCO-18 keypoints (18, 3) in the image's pixels, with limbs, on a copy of the image."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    size = max(2.0, max(out.size) / 150)
    present = keypoints[:, 2] > 0
    for (a, b), color in zip(SKELETON, COLORS):
        if present[a] and present[b]:
            draw.line([tuple(keypoints[a, :2]), tuple(keypoints[b, :2])], fill=color, width=max(1, int(size)))
    for j, (x, y, _) in enumerate(keypoints):
        if present[j]:
            draw.ellipse((x - size, y - size, x + size, y + size), fill=COLORS[j], outline=(0, 0, 0))
    return out


def representation_preview(representation: torch.Tensor) -> Image.Image:
    """(22, H, W) representation in [-1, 1] -> RGB picture: body shape grey, head in colour, pose squares coloured."""
    rep = representation.detach().float().cpu().numpy()
    shape = (rep[0] + 1) / 2  # [0, 1]
    canvas = np.repeat(shape[..., None] * 0.6 * 255, 3, axis=2)
    head = rep[1:4].transpose(1, 2, 0)
    on_head = (head > -1).any(axis=2)
    canvas[on_head] = (head[on_head] + 1) * 127.5
    for j in range(18):
        square = rep[4 + j] > 0
        canvas[square] = COLORS[j]
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """(3, H, W) in [-1, 1] or (1, H, W) in [0, 1] -> PIL RGB / L."""
    t = tensor.detach().float().cpu()
    if t.shape[0] == 1:
        return Image.fromarray((t[0].clamp(0, 1) * 255 + 0.5).byte().numpy(), mode="L")
    return Image.fromarray(((t.clamp(-1, 1) + 1) * 127.5 + 0.5).byte().permute(1, 2, 0).numpy())
