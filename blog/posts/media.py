"""The media library: images uploaded by authors, re-encoded, resized, inserted into posts.

Every file is decoded with Pillow and written again from its pixels (blog.posts.images), so
nothing of the upload but the picture survives: no EXIF (GPS position, camera serial), no
comment, no XMP, no trailing bytes (a polyglot HTML or ZIP file). Only JPEG, PNG, WebP and GIF
are accepted, by their content, never by their name. Before a single pixel is decoded the
header's size is checked against ``MEDIA_MAX_PIXELS`` (width x height x frames), so a
decompression bomb (a few kilobytes that decode to gigabytes) is refused at the cost of reading
its header. The files are kept behind blog.posts.media_storage.

Resized copies (WordPress's thumbnail, medium, medium_large and large widths, only those
narrower than the original) let a post's image carry a ``srcset``. An animated GIF or WebP keeps
its animation and gets no resized copies (docs/admin.md).

The WordPress import (blog.porting) brings attachments in through :func:`store_image`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from flask import current_app
from PIL import Image
from sqlalchemy import func, select

from blog.database import begin_write
from blog.extensions import db
from blog.links import script_root
from blog.models import Media, Post, User
from blog.permissions import ALL, Action, ensure, scope
from blog.posts.images import FORMATS, MediaRejected, decode, encode, resize, upright
from blog.posts.media_storage import URL_PREFIX, LocalStorage, Storage
from blog.sanitize import MEDIA_KEY, render_markdown

# WordPress's default image sizes: thumbnail (cropped there, scaled here), medium,
# medium_large, large, and 2x medium_large.
VARIANT_WIDTHS = (300, 768, 1024, 1536)
MAX_ALT_TEXT = 1000
MAX_FILENAME = 255
PER_PAGE = 40
# The media address inside a post's Markdown: an image's src, or a link to the file.
_MEDIA_IN_TEXT = re.compile(rf"(?:/[A-Za-z0-9._~-]+)*/media/({MEDIA_KEY.pattern})")
_VARIANT_SUFFIX = re.compile(r"-[1-9][0-9]{0,4}(?=\.)")
NO_ALT_WARNING = (
    "This image has no alternative text: readers who cannot see it (screen readers, images "
    "turned off) learn nothing from it. Describe it below unless it is only decoration."
)

NO_ALT_IN_TEXT = (
    "The image has no alternative text: readers who cannot see it learn nothing from it. "
    "Write what it shows between the square brackets of its Markdown: ![what it shows](...)."
)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass
class Uploaded:
    media: Media
    warnings: list[str] = field(default_factory=list)


def limits() -> Limits:
    """The configured limits (BLOG_MEDIA_MAX_BYTES, BLOG_MEDIA_MAX_PIXELS)."""
    config = current_app.config
    return Limits(int(config["MEDIA_MAX_BYTES"]), int(config["MEDIA_MAX_PIXELS"]))


def storage() -> Storage:
    """The configured storage: the local folder MEDIA_PATH, addressed under the script root."""
    root = script_root(current_app.config.get("SITE_URL"))
    return LocalStorage(Path(current_app.config["MEDIA_PATH"]), root + URL_PREFIX)


def read_limited(stream: IO[bytes], max_bytes: int) -> bytes:
    """The whole of ``stream``, or MediaRejected (413) as soon as it passes ``max_bytes``."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise MediaRejected(
            f"The file is larger than {_size(max_bytes)}, the largest accepted. "
            "Make it smaller (fewer pixels or more compression) and upload it again.",
            413,
        )
    if not data:
        raise MediaRejected("The file is empty: choose an image to upload.")
    return data


# --- Storing ------------------------------------------------------------------------------------


def new_key(extension: str) -> str:
    """A fresh key: never reused, so a file's address always names the same bytes."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}.{extension}"


def variant_key(key: str, width: int) -> str:
    stem, _, extension = key.rpartition(".")
    return f"{stem}-{width}.{extension}"


def upload(actor: User, stream: IO[bytes], filename: str, alt_text: str = "") -> Uploaded:
    """Check, re-encode and store an uploaded image as ``actor``. Raises NotAllowed or
    MediaRejected. A missing alt text is a warning, not a refusal (WordPress's way)."""
    ensure(actor, Action.UPLOAD_MEDIA)
    bounds = limits()
    media = store_image(read_limited(stream, bounds.max_bytes), filename, alt_text, actor, bounds)
    return Uploaded(media, [] if media.alt_text else [NO_ALT_WARNING])


def store_image(
    data: bytes, filename: str, alt_text: str, uploaded_by: User | None, bounds: Limits
) -> Media:
    """Decode, re-encode, resize and store ``data``; the new Media row, committed."""
    prepared = prepare_image(data, filename, alt_text, bounds)
    prepared.media.uploaded_by_id = uploaded_by.id if uploaded_by is not None else None
    return _save_files_and_row(prepared.files, prepared.media)


@dataclass
class Prepared:
    """An image ready to store: its files by key (the original's and the resized copies'),
    and its row, not yet in a session."""

    media: Media
    files: dict[str, bytes]


def prepare_image(data: bytes, filename: str, alt_text: str, bounds: Limits) -> Prepared:
    """Decode, re-encode and resize ``data``; nothing is stored. Raises MediaRejected.

    :func:`store_image` stores the result at once; the WordPress import writes the files
    first and adds the rows in its own transaction (blog.porting.wxr_media)."""
    if len(data) > bounds.max_bytes:
        raise MediaRejected(f"The file is larger than {_size(bounds.max_bytes)}.", 413)
    image = decode(data, bounds.max_pixels)
    format_name = str(image.format)
    mime, extension = FORMATS[format_name]
    animated = int(getattr(image, "n_frames", 1)) > 1
    picture = image if animated else upright(image)
    del image  # the upright copy is all that is needed: one decoded copy fewer in memory
    key = new_key(extension)
    files, variants = _encoded_files(picture, format_name, animated, key)
    media = Media(
        key=key,
        original_name=_filename(filename),
        mime=mime,
        width=picture.width,
        height=picture.height,
        bytes=len(files[key]),
        alt_text=clean_alt_text(alt_text),
        variants=variants,
    )
    return Prepared(media, files)


def _encoded_files(
    picture: Image.Image, format_name: str, animated: bool, key: str
) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """The file to store under ``key`` and its resized copies, by key; the copies' list."""
    try:
        files = {key: encode(picture, format_name, animated)}
        variants: list[dict[str, Any]] = []
        for width in [] if animated else _variant_widths(picture.width):
            copy = resize(picture, width, format_name)
            files[variant_key(key, width)] = copy.data
            variants.append({"key": variant_key(key, width), "width": width, "height": copy.height})
    except Exception:  # an encoder's failure on a decoded oddity is a refusal, never a 500
        raise MediaRejected(
            "The image could be read but not converted for the web. Save it again as an "
            "ordinary JPEG or PNG and upload the new file."
        ) from None
    return files, variants


def _variant_widths(width: int) -> list[int]:
    return [w for w in VARIANT_WIDTHS if w < width]


def _save_files_and_row(files: dict[str, bytes], media: Media) -> Media:
    """The files first, then the row: a row never names a missing file. If the row cannot be
    written, the files go again."""
    try:
        write_files(files)
        begin_write()
        db.session.add(media)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        delete_files(files)
        raise
    return media


def write_files(files: dict[str, bytes]) -> None:
    """Store files by key, and no row: the caller adds the row (files first, so that a row
    never names a missing file) and deletes the files with :func:`delete_files` when the row
    cannot be written."""
    store = storage()
    try:
        for key, data in files.items():
            store.save(key, data)
    except BaseException:
        delete_files(files)
        raise


def delete_files(keys: Iterable[str]) -> None:
    store = storage()
    for key in keys:
        store.delete(key)


def _filename(name: str) -> str:
    """The name the file had on the uploader's machine, for display only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:MAX_FILENAME]


def clean_alt_text(text: str) -> str:
    """One line of printable text: runs of white space (line breaks too) become one space."""
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())[:MAX_ALT_TEXT]


# --- Reading, editing, deleting -----------------------------------------------------------------


def get_media(media_id: int) -> Media | None:
    return db.session.get(Media, media_id)


def media_list(actor: User, page: int = 1) -> tuple[list[Media], int]:
    """The files ``actor`` may manage (an author: their own), newest first; and how many."""
    where = Media.uploaded_by_id == actor.id if scope(actor, Action.MANAGE_MEDIA) != ALL else None
    query = select(Media).order_by(Media.created_at.desc(), Media.id.desc())
    count = select(func.count(Media.id))
    if where is not None:
        query, count = query.where(where), count.where(where)
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return list(rows), int(db.session.scalar(count) or 0)


def set_alt_text(actor: User, media: Media, alt_text: str) -> Media:
    ensure(actor, Action.MANAGE_MEDIA, media)
    begin_write()
    media.alt_text = clean_alt_text(alt_text)
    db.session.commit()
    return media


def thumbnail_key(media: Media) -> str:
    """The narrowest copy (300 pixels wide when the original is wider), else the original."""
    return str(media.variants[0]["key"]) if media.variants else media.key


def keys_of(media: Media) -> list[str]:
    """The original's key and every resized copy's."""
    return [media.key, *(str(v["key"]) for v in media.variants)]


def posts_using(media: Media) -> list[Post]:
    """Posts whose text names this file (its original or a resized copy), any status."""
    stem = media.key.rpartition(".")[0].rpartition("/")[2]  # the 32 hex digits, unique
    query = select(Post).where(Post.body_source.contains(stem, autoescape=True))
    return list(db.session.scalars(query.order_by(Post.id)))


def delete_media(actor: User, media: Media) -> None:
    """Delete the row, then the files (a reader still fetching one gets it or a 404)."""
    ensure(actor, Action.MANAGE_MEDIA, media)
    keys = keys_of(media)
    begin_write()
    db.session.delete(db.session.merge(media))
    db.session.commit()
    delete_files(keys)


# --- In posts -----------------------------------------------------------------------------------


def url_of(media: Media, key: str | None = None) -> str:
    return storage().url(key or media.key)


def markdown_for(media: Media) -> str:
    """The Markdown that shows this image: ``![alt](url)``."""
    alt = media.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}]({url_of(media)})"


def render_post_body(source: str) -> str:
    """A post's Markdown as safe HTML, its images of the media library with their srcset.
    Raises SanitizeFailed as render_markdown does."""
    return render_markdown(source, image_attributes(source))


def image_attributes(source: str) -> dict[str, dict[str, str]]:
    """For each media address in a post's Markdown, the attributes its image gains: srcset
    (the resized copies and the original), sizes (the page's width up to the original's), and
    width and height (the browser keeps the space while it loads). One query for the text."""
    found = {match[0]: _VARIANT_SUFFIX.sub("", match[1]) for match in _addresses(source)}
    if not found:
        return {}
    rows = db.session.scalars(select(Media).where(Media.key.in_(set(found.values()))))
    by_key = {media.key: media for media in rows}
    attributes: dict[str, dict[str, str]] = {}
    for src, key in found.items():
        media = by_key.get(key)
        if media is not None:
            attributes[src] = _responsive(media, src.removesuffix(key))
    return attributes


def _addresses(source: str) -> Iterable[re.Match[str]]:
    return _MEDIA_IN_TEXT.finditer(source)


def _responsive(media: Media, prefix: str) -> dict[str, str]:
    attributes = {"width": str(media.width), "height": str(media.height)}
    if media.variants:
        candidates = [f"{prefix}{v['key']} {v['width']}w" for v in media.variants]
        candidates.append(f"{prefix}{media.key} {media.width}w")
        attributes["srcset"] = ", ".join(candidates)
        attributes["sizes"] = f"(max-width: {media.width}px) 100vw, {media.width}px"
    return attributes


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.0f} MB"
    return f"{count / 1024:.0f} kB"
