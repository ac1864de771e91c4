"""Images decoded and written afresh with Pillow: the media library's codec (blog.posts.media).

Only JPEG, PNG, WebP and GIF are tried, by content. The header's size is checked before a pixel
is decoded (a decompression bomb costs its header). What is written back is the picture: no
EXIF, comment, XMP or text chunk, no bytes after the image; the colour profile and a palette's
transparency are kept, and a photo's EXIF orientation is applied first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image, ImageOps

from blog.refusals import Refused

# Pillow's format -> (MIME type, extension). Pillow is told to try only these decoders.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
JPEG_QUALITY = 85
WEBP_QUALITY = 85
# Every frame is re-encoded: tiny frames by the ten thousand would pass the pixel limit and still
# cost seconds. A long animated GIF has a few hundred.
MAX_FRAMES = 1000


class MediaRejected(Refused, ValueError):
    """The file was not stored; ``message`` says why, for people; ``status_code`` for HTTP."""


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """The image in ``data``, fully decoded, or MediaRejected. Its size is checked before its
    pixels are decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None  # Pillow's own ceiling, above ours
    except Exception:  # any decoder failure on hostile bytes is a refusal, never a 500
        raise MediaRejected(_NOT_AN_IMAGE) from None
    frames = int(getattr(image, "n_frames", 1))
    if frames > MAX_FRAMES:
        raise MediaRejected(
            f"The animation has {frames:,} frames; at most {MAX_FRAMES:,} are accepted.", 413
        )
    if image.width * image.height * frames > max_pixels or image.width * image.height == 0:
        raise _too_many_pixels(max_pixels)
    try:
        image.load()
    except Exception:
        raise MediaRejected(
            "The image could not be read to its end: the file is damaged or cut short. "
            "Save it again from an image editor and upload the new file."
        ) from None
    return image


_NOT_AN_IMAGE = (
    "This file is not a JPEG, PNG, WebP or GIF image (other formats, such as SVG, HEIC or "
    "documents renamed to .jpg, are not accepted). Convert it to one of those and upload it again."
)


def _too_many_pixels(max_pixels: int) -> MediaRejected:
    return MediaRejected(
        f"The image has too many pixels: at most {max_pixels:,} (width x height, times the "
        "frames of an animation) are accepted. Scale it down and upload it again.",
        413,
    )


def encode(image: Image.Image, format_name: str, animated: bool = False) -> bytes:
    """``image`` written afresh in ``format_name``, with no metadata but its colour profile (and
    a palette's transparency). An animation keeps its frames."""
    out = io.BytesIO()
    options: dict[str, Any] = {"icc_profile": image.info.get("icc_profile")}
    if "transparency" in image.info and image.mode in ("P", "L", "RGB"):
        options["transparency"] = image.info["transparency"]
    if animated:
        options.update(save_all=True, loop=image.info.get("loop", 0))
    _save(_for_format(image, format_name), out, format_name, options)
    return out.getvalue()


def upright(image: Image.Image) -> Image.Image:
    """The picture as the camera's EXIF orientation says it is seen (the EXIF is dropped)."""
    upright = ImageOps.exif_transpose(image)
    return image if upright is None else upright


def _for_format(image: Image.Image, format_name: str) -> Image.Image:
    if format_name == "JPEG" and image.mode not in ("L", "RGB"):
        return image.convert("RGB")
    if format_name == "WEBP" and image.mode not in ("RGB", "RGBA"):
        return image.convert("RGBA" if _has_alpha(image) else "RGB")
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _save(image: Image.Image, out: IO[bytes], format_name: str, options: dict[str, Any]) -> None:
    kept = {name: value for name, value in options.items() if value is not None}
    # Pillow writes some of an image's info back (a JPEG's comment, a GIF's comment and
    # extensions) unless told otherwise: saved from an image whose info holds nothing (the
    # info dict swapped, not the pixels copied), then put back.
    info = image.info
    if not kept.get("save_all"):
        image.info = {}
    if format_name == "JPEG":
        kept.update(quality=JPEG_QUALITY, optimize=True)
    elif format_name == "WEBP":
        kept.update(quality=WEBP_QUALITY)
    elif format_name == "GIF":
        kept["comment"] = b""
    try:
        image.save(out, format=format_name, **kept)
    finally:
        image.info = info


def resize(image: Image.Image, width: int, format_name: str) -> Encoded:
    """A copy ``width`` pixels wide (height in proportion), in the original's format."""
    height = max(1, round(image.height * width / image.width))
    source = image.convert("RGBA") if image.mode in ("P", "1", "LA", "PA") else image
    smaller = source.resize((width, height), Image.Resampling.LANCZOS)
    if format_name == "GIF":
        smaller = smaller.convert("RGB").quantize(256) if not _has_alpha(image) else smaller
    out = io.BytesIO()
    _save(_for_format(smaller, format_name), out, format_name, {})
    return Encoded(out.getvalue(), width, height)
