"""A WordPress site's uploads brought into the media library: ``import-wxr FILE --uploads DIR``.

``DIR`` is a copy of the old site's ``wp-content/uploads``. Each attachment of the export
(``wp:post_type`` attachment) names its file: the ``_wp_attached_file`` postmeta
(``2023/05/photo.jpg``), else the part of its ``wp:attachment_url`` after ``/uploads/``.

- :func:`read_uploads` runs before the import's transaction: a file already imported (a media
  row with its :func:`origin`) is found; any other is read from ``DIR``, decoded, re-encoded
  and resized like an upload (:func:`blog.posts.media.prepare_image`) and its files written;
  its row waits. Decoding hundreds of pictures inside the transaction would hold SQLite's write
  lock for minutes.
- :func:`add_rows` adds the rows inside the import's transaction, each uploaded by the
  attachment's author when that author is imported; if the import fails, :meth:`Uploads.discard`
  deletes the files written.
- A file missing from ``DIR``, outside it, or refused by the media rules (too large, too many
  pixels, not a JPEG, PNG, WebP or GIF image: PDFs and other documents are left out) is listed
  with its reason, never fatal.
- :class:`UploadMap` tells the second pass (:mod:`.wxr_addresses`) the new address of an old
  upload address, WordPress's resized copies (``photo-300x200.jpg``) and its ``-scaled`` and
  ``-rotated`` files included: they all lead to the original's ``/media/<key>``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from blog.extensions import db
from blog.models import Media, User
from blog.porting.wxr_read import WxrDocument, WxrItem
from blog.posts.images import MediaRejected
from blog.posts.media import (
    Limits,
    clean_alt_text,
    delete_files,
    keys_of,
    limits,
    prepare_image,
    read_limited,
    storage,
    url_of,
    write_files,
)

UPLOADS = "/wp-content/uploads/"
MAX_ORIGIN = 1000  # bytes, as the redirects' addresses: PostgreSQL's index takes ~2,700
ALT_META_KEY = "_wp_attachment_image_alt"
FILE_META_KEY = "_wp_attached_file"
METADATA_META_KEY = "_wp_attachment_metadata"
NOT_AN_IMAGE = "not a JPEG, PNG, WebP or GIF image (the media library holds images only)"
# WordPress's resized copy ("photo-300x200.jpg") and its big-image and rotated files.
_SIZE_SUFFIX = re.compile(r"-[0-9]{1,5}x[0-9]{1,5}(?=\.[A-Za-z0-9]{1,5}$)")
_EDITED_SUFFIX = re.compile(r"-(?:scaled|rotated)(?=\.[A-Za-z0-9]{1,5}$)")
# The file names in the PHP-serialized _wp_attachment_metadata: its sizes and original image.
_METADATA_FILE = re.compile(r's:[0-9]+:"(?:file|original_image)";s:[0-9]+:"([^"]{1,255})"')

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Attachment:
    """An attachment of the export and where its file was."""

    item: WxrItem
    path: str  # under the uploads folder: "2023/05/photo.jpg"
    url: str  # its address on the old site

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    def old_paths(self) -> list[str]:
        """Every path the file had on the old site: itself, the original of a ``-scaled``
        file, and the resized copies its metadata lists."""
        path = urlsplit(self.url).path
        folder = path.rpartition("/")[0]
        names = _METADATA_FILE.findall(self.item.meta.get(METADATA_META_KEY, ""))
        found = [path, _EDITED_SUFFIX.sub("", path)]
        found += [f"{folder}/{PurePosixPath(name).name}" for name in names]
        return list(dict.fromkeys(unquote(p) for p in found))


@dataclass
class Uploads:
    """What :func:`read_uploads` found and made: the new media's files are written, their rows
    not yet added."""

    found: list[tuple[Attachment, str]] = field(default_factory=list)  # (attachment, address)
    new: list[tuple[Attachment, Media]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, why not imported)

    def discard(self) -> None:
        """Delete the files written for rows that were never stored."""
        for _attachment, media in self.new:
            delete_files(keys_of(media))
        self.new.clear()

    def map(self, document: WxrDocument) -> UploadMap:
        """The old addresses of the files, for the second pass."""
        sites = (document.site_url, document.blog_url)
        mapping = UploadMap(hosts={_host(urlsplit(site).netloc) for site in sites if site})
        for attachment, address in self.found:
            mapping.add(attachment, address)
        for attachment, media in self.new:
            mapping.add(attachment, url_of(media))
        return mapping


@dataclass
class UploadMap:
    """Old upload addresses (paths on the old site's hosts) and the media address each has."""

    hosts: set[str] = field(default_factory=set)  # the site's, and its files' (a CDN's)
    by_path: dict[str, str] = field(default_factory=dict)  # decoded path -> /media/<key>

    def add(self, attachment: Attachment, address: str) -> None:
        self.hosts.add(_host(urlsplit(attachment.url).netloc))
        for path in attachment.old_paths():
            self.by_path.setdefault(path, address)

    def address(self, url: str, site: str) -> str | None:
        """The media address of a link to an old upload (absolute, or root-relative on the
        old site), a resized copy's too; None for anything else."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("", "http", "https") or not parts.path.startswith("/"):
            return None
        if _host(parts.netloc or urlsplit(site).netloc) not in self.hosts:
            return None
        path = unquote(parts.path)
        return self.by_path.get(path) or self.by_path.get(_SIZE_SUFFIX.sub("", path))


def origin_of(url: str) -> str:
    """An upload's address without its scheme and ``www.``, as Media.origin keeps it."""
    parts = urlsplit(url.strip())
    return _host(parts.netloc) + unquote(parts.path)


def _host(netloc: str) -> str:
    host = netloc.lower().rsplit("@", 1)[-1].split(":", 1)[0]
    return host.removeprefix("www.")


# --- finding the files ---------------------------------------------------------------------


def attachments(document: WxrDocument) -> Iterator[Attachment | tuple[str, str]]:
    """Each attachment of the document with its file, or (title, why) when it names none."""
    site = (document.site_url or document.blog_url).rstrip("/")
    for item in document.items:
        if item.post_type != "attachment":
            continue
        url = item.attachment_url or (item.guid if UPLOADS in item.guid else "")
        path = _relative(item.meta.get(FILE_META_KEY, "")) or _relative(url.partition(UPLOADS)[2])
        if not path:
            yield (item.title or f"attachment {item.wp_id}", "the export names no file")
            continue
        yield Attachment(item, path, url or f"{site}{UPLOADS}{path}")


def _relative(path: str) -> str:
    """A path under uploads, from _wp_attached_file (old WordPress kept it absolute)."""
    path = unquote(path.strip()).replace("\\", "/")
    if "wp-content/uploads/" in path:
        path = path.split("wp-content/uploads/", 1)[1]
    return path.lstrip("/")


def _file_in(folder: Path, relative: str) -> Path | None:
    """The file at ``relative`` inside ``folder`` (or the original of a ``-scaled`` one),
    never a file outside it."""
    root = folder.resolve()
    for candidate in dict.fromkeys((relative, _EDITED_SUFFIX.sub("", relative))):
        path = (root / candidate).resolve()
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def read_uploads(document: WxrDocument, folder: Path, progress: Progress) -> Uploads:
    """Find or prepare the media of every attachment (see the module's docstring); one step of
    ``progress`` per attachment. On an error, the files written so far are deleted."""
    uploads = Uploads()
    stored = dict(
        db.session.execute(select(Media.origin, Media.key).where(Media.origin.is_not(None)))
        .tuples()
        .all()
    )
    bounds = limits()
    try:
        for found in attachments(document):
            if isinstance(found, Attachment):
                _one(uploads, found, folder, stored, bounds)
            else:
                uploads.problems.append(found)
            progress(1)
    except BaseException:
        uploads.discard()
        raise
    return uploads


def _one(
    uploads: Uploads,
    attachment: Attachment,
    folder: Path,
    stored: dict[str | None, str],
    bounds: Limits,
) -> None:
    origin_ = attachment.origin
    if origin_ in stored:
        uploads.found.append((attachment, storage().url(stored[origin_])))
        return
    if len(origin_.encode("utf-8", "surrogatepass")) > MAX_ORIGIN:
        uploads.problems.append((attachment.path, "its address is too long to keep"))
        return
    path = _file_in(folder, attachment.path)
    if path is None:
        uploads.problems.append((attachment.path, "missing from the uploads folder"))
        return
    try:
        with path.open("rb") as stream:
            data = read_limited(stream, bounds.max_bytes)
        prepared = prepare_image(data, path.name, alt_text(attachment.item), bounds)
    except MediaRejected as error:
        uploads.problems.append((attachment.path, _reason(error)))
        return
    except OSError as error:
        uploads.problems.append((attachment.path, f"cannot be read: {error.strerror or error}"))
        return
    write_files(prepared.files)
    prepared.media.origin = origin_
    stored[origin_] = prepared.media.key  # the same file twice in the export: one media
    uploads.new.append((attachment, prepared.media))


def _reason(error: MediaRejected) -> str:
    return NOT_AN_IMAGE if error.message.startswith("This file is not a JPEG") else error.message


def alt_text(item: WxrItem) -> str:
    """The image's alternative text in WordPress, else its title unless that is only the
    file's name (WordPress's default title, which describes nothing)."""
    alt = clean_alt_text(html.unescape(item.meta.get(ALT_META_KEY, "")))
    if alt:
        return alt
    title = clean_alt_text(html.unescape(item.title))
    name = PurePosixPath(item.meta.get(FILE_META_KEY, "") or urlsplit(item.attachment_url).path)
    stem = PurePosixPath(_EDITED_SUFFIX.sub("", name.name)).stem
    return "" if _words(title) == _words(stem) else title


def _words(text: str) -> str:
    return " ".join(re.split(r"[\s_-]+", text.lower())).strip()


# --- in the import's transaction -------------------------------------------------------------


def add_rows(uploads: Uploads, author_of: Callable[[WxrItem], User | None]) -> None:
    """Add the prepared rows (no commit), each uploaded by its attachment's author."""
    for attachment, media in uploads.new:
        author = author_of(attachment.item)
        media.uploaded_by_id = author.id if author is not None else None
        db.session.add(media)
    db.session.flush()
