"""Reading user images of any mode and size, and framing them to the network's 3:4 input.

Every image enters the library through :func:`load_image`: EXIF orientation is applied, and RGBA, palette,
greyscale, 16-bit and CMYK images become 8-bit RGB (alpha kept separately, garments use it as a mask).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

# network input size (H, W) of CP-VTON
NET_HEIGHT, NET_WIDTH = 256, 192
# Larger images are refused before they are decoded: a 40-megapixel RGB image is 120 MB in memory, and every step
# works on at most a 1024-pixel-high copy. (A PNG of a few hundred KB can claim 60000x60000 pixels.)
MAX_PIXELS = 40_000_000


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float greyscale ('I;16', 'I', 'F') -> 'L', scaled by the actual bit depth."""
    array = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
    if image.mode == "F" and array.max(initial=0) <= 1.0:
        top = 1.0
    return Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")


def load_image(source, *, name: str | None = None) -> tuple[Image.Image, Image.Image | None]:
    """Read an image as 8-bit RGB plus its alpha channel, if it has a meaningful one.

    Args:
        source: a path, a PIL image or an (H, W[, C]) uint8 / uint16 / float array.
        name: how to call the image in error messages.
    Returns:
        (rgb, alpha): rgb in mode 'RGB' with EXIF orientation applied; alpha in mode 'L' or None when the image
        has no alpha channel or it is fully opaque. Transparent pixels of rgb are composited onto white.
    Raises:
        InputError: unreadable, empty or too large (:data:`MAX_PIXELS`) image, a folder.
    """
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "image")
    with warnings.catch_warnings():  # Pillow warns of huge or corrupt-EXIF images: checked and reported here
        warnings.simplefilter("ignore")
        return _load_image(source, label)


def check_pixels(width: int, height: int, label: str) -> None:
    """Raise InputError for an image larger than :data:`MAX_PIXELS` (checked before it is decoded)."""
    if width * height > MAX_PIXELS:
        raise InputError(f"{label}: the image is {width}x{height} pixels, more than the {MAX_PIXELS // 10**6} "
                         "megapixels accepted: use a smaller copy")


def _load_image(source, label: str) -> tuple[Image.Image, Image.Image | None]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise InputError(f"{label}: is a folder, expected an image file")
        if not path.is_file():
            raise InputError(f"{label}: no such file")
        try:
            with Image.open(path) as opened:
                check_pixels(opened.width, opened.height, label)  # the header's size: nothing decoded yet
                opened.load()
                image = opened.copy()
                image.info.update(opened.info)
                exif = opened.getexif()
        except InputError:
            raise
        except Image.DecompressionBombError:
            raise InputError(f"{label}: the image is larger than the {MAX_PIXELS // 10**6} megapixels accepted: "
                             "use a smaller copy") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise InputError(f"{label}: not a readable image ({err.__class__.__name__})") from None
        if exif:
            image.info["exif"] = exif.tobytes()
            image = ImageOps.exif_transpose(image)
    elif isinstance(source, Image.Image):
        check_pixels(source.width, source.height, label)
        image = ImageOps.exif_transpose(source)
    elif isinstance(source, np.ndarray):
        array = source
        if array.ndim >= 2:
            check_pixels(array.shape[1], array.shape[0], label)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
            raise InputError(f"{label}: expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {array.shape}")
        if array.dtype == np.uint16:
            array = (array.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
        elif array.dtype.kind == "f":
            array = (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)
        image = Image.fromarray(np.ascontiguousarray(array.astype(np.uint8)))
    else:
        raise InputError(f"{label}: expected a file path, PIL image or numpy array, got {type(source).__name__}")

    if image.width < 8 or image.height < 8:
        raise InputError(f"{label}: image is too small ({image.width}x{image.height})")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "PA", "La"):
        image = image.convert("RGBA")
    alpha = None
    if image.mode in ("RGBA", "RGBa"):
        image = image.convert("RGBA")
        a = image.getchannel("A")
        if a.getextrema()[0] < 255:
            alpha = a
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(image.convert("RGB"), mask=a)
        image = white
    else:
        image = image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return image, alpha


@dataclass(frozen=True)
class Framing:
    """A 3:4 window of a photo, in the photo's pixel coordinates; it may reach outside the photo (padding).

    ``left, top`` is the window's top-left corner and ``scale`` is photo pixels per network pixel, so network
    pixel (u, v) of the 192x256 input is photo pixel (left + u * scale, top + v * scale) (pixel-corner convention).
    """

    left: float
    top: float
    scale: float
    image_width: int
    image_height: int

    @property
    def width(self) -> float:
        return NET_WIDTH * self.scale

    @property
    def height(self) -> float:
        return NET_HEIGHT * self.scale

    @classmethod
    def around(cls, box: tuple[float, float, float, float], image_width: int, image_height: int,
               margin: float = 0.05) -> "Framing":
        """The smallest 3:4 window around ``box`` (x0, y0, x1, y1) grown by ``margin`` of its size on each side
        that stays inside the photo, shifted into the photo where it fits, padded where it does not."""
        x0, y0, x1, y1 = box
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        x0, x1 = max(0.0, x0 - mx), min(float(image_width), x1 + mx)
        y0, y1 = max(0.0, y0 - my), min(float(image_height), y1 + my)
        height = max(y1 - y0, (x1 - x0) * NET_HEIGHT / NET_WIDTH)
        width = height * NET_WIDTH / NET_HEIGHT
        left = _place(0.5 * (x0 + x1) - width / 2, width, image_width)
        top = _place(y0 - (height - (y1 - y0)) / 2, height, image_height)
        return cls(left, top, height / NET_HEIGHT, image_width, image_height)

    @classmethod
    def whole(cls, image_width: int, image_height: int) -> "Framing":
        """The whole photo, padded to 3:4 (centred)."""
        return cls.around((0, 0, image_width, image_height), image_width, image_height, margin=0.0)

    def to_network(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) photo pixel coordinates -> 192x256 network pixel coordinates."""
        return (points - np.array([self.left, self.top])) / self.scale

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) network pixel coordinates -> photo pixel coordinates."""
        return points * self.scale + np.array([self.left, self.top])

    def crop(self, image: Image.Image, size: tuple[int, int] | None = None, fill=(255, 255, 255),
             resample=Image.Resampling.BICUBIC) -> Image.Image:
        """The window as an image of ``size`` (W, H), default 192x256; outside the photo is ``fill``."""
        size = size or (NET_WIDTH, NET_HEIGHT)
        box = (self.left, self.top, self.left + self.width, self.top + self.height)
        if image.mode == "L" and isinstance(fill, tuple):
            fill = fill[0]
        if size == self.photo_size():
            # one photo pixel per output pixel: a copy from the rounded corner (bicubic resampling of a 1024-px
            # window takes ~15 ms and only shifts it by under half a pixel)
            x0, y0 = round(self.left), round(self.top)
            out = Image.new(image.mode, size, fill)
            part = (max(0, x0), max(0, y0), min(image.width, x0 + size[0]), min(image.height, y0 + size[1]))
            if part[2] > part[0] and part[3] > part[1]:
                out.paste(image.crop(part), (part[0] - x0, part[1] - y0))
            return out
        if size[1] > 2 * NET_HEIGHT and image.mode in ("RGB", "L"):
            # a window at work resolution (the composition's): OpenCV resamples it ~10x faster than PIL (bilinear:
            # the scale is near 1 there)
            sx, sy = self.width / size[0], self.height / size[1]
            inverse = np.array([[sx, 0.0, self.left + 0.5 * sx - 0.5], [0.0, sy, self.top + 0.5 * sy - 0.5]])
            out = cv2.warpAffine(np.asarray(image), inverse, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
            return Image.fromarray(out)
        # transform() samples outside the photo as `fillcolor`, so windows that reach outside are padded.
        return image.transform(size, Image.Transform.EXTENT, box, resample=resample, fillcolor=fill)

    def photo_size(self) -> tuple[int, int]:
        """The window's size in photo pixels, rounded: (W, H)."""
        return round(self.width), round(self.height)

    def photo_box(self) -> tuple[int, int, int, int]:
        """The part of the photo inside the window, as integer (x0, y0, x1, y1)."""
        x0 = max(0, int(np.floor(self.left)))
        y0 = max(0, int(np.floor(self.top)))
        x1 = min(self.image_width, int(np.ceil(self.left + self.width)))
        y1 = min(self.image_height, int(np.ceil(self.top + self.height)))
        return x0, y0, x1, y1


def _place(start: float, length: float, limit: int) -> float:
    """Shift a window [start, start + length) into [0, limit) where it fits; centre it where it does not."""
    if length >= limit:
        return (limit - length) / 2
    return min(max(start, 0.0), limit - length)


def to_tensor_range(image: Image.Image) -> np.ndarray:
    """PIL RGB/L -> float32 array (C, H, W) in [-1, 1]."""
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
