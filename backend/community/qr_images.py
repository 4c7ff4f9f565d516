"""Uploaded group QR images: decoded and drawn again as a clean PNG.

What an operator uploads is never served as it came: anything after the image (an
HTML page appended to a PNG), its text chunks, EXIF and colour profile are dropped.
Pillow decodes the upload; what it cannot decode, or an image larger than
``MAX_SIDE`` pixels a side, is refused with INVALID_QR_IMAGE before it is decoded
(the size is read from the header, so a decompression bomb is never expanded).
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings

from PIL import Image, UnidentifiedImageError

from backend.errors import ApiError

PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
MAX_SIDE = 4096  # a QR photo is far smaller; bigger is a mistake or a bomb
_KEPT_MODES = ("1", "L", "RGB", "RGBA")


def _refuse(message: str) -> ApiError:
    return ApiError("INVALID_QR_IMAGE", message)


def clean_png(data: str) -> bytes:
    """The base64 upload ``data`` (PNG or JPEG) as a PNG of its pixels only."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _refuse("qr_image must be base64") from exc
    if not (raw.startswith(PNG_MAGIC) or raw.startswith(JPEG_MAGIC)):
        raise _refuse("qr_image must be a PNG or JPEG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=("PNG", "JPEG")) as probe:
                if probe.width > MAX_SIDE or probe.height > MAX_SIDE:
                    raise _refuse(f"qr_image is {probe.width}×{probe.height} pixels: at most {MAX_SIDE}×{MAX_SIDE}")
                probe.verify()
            with Image.open(io.BytesIO(raw), formats=("PNG", "JPEG")) as image:
                image.load()
                has_alpha = "A" in image.getbands() or "transparency" in image.info
                pixels = image if image.mode in _KEPT_MODES else image.convert("RGBA" if has_alpha else "RGB")
                pixels.info = {}
                out = io.BytesIO()
                pixels.save(out, format="PNG", optimize=True)
    except ApiError:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise _refuse("qr_image is not an image that can be decoded") from exc
    return out.getvalue()
