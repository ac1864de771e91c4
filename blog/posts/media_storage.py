"""Where uploaded files live: a small interface (save, open, delete, url by key) and the local
disk that implements it now, under the instance folder's ``media/`` (``MEDIA_PATH``).

Object storage (S3 and the like) would implement the same four methods; nothing else in the
application touches the files. A key is a relative path such as ``3f/3fa2...c1.jpg`` (see
:func:`blog.posts.media.new_key`): :func:`checked_key` refuses anything else, so no key ever
leaves the media folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from blog.sanitize import MEDIA_KEY

# Two hex digits (a folder, so that no folder holds more than a few thousand files), 32 hex
# digits, an optional width (a resized copy) and the format's extension. Defined with the
# sanitizer, which lets srcset name only these files.
KEY = MEDIA_KEY
URL_PREFIX = "/media/"


class BadKey(ValueError):
    """Not a key this storage could have made."""


def checked_key(key: str) -> str:
    """``key`` itself when it has the shape of a media key; else BadKey."""
    if not KEY.fullmatch(key):
        raise BadKey(f"not a media key: {key!r}")
    return key


class Storage(Protocol):
    """Files by key. Saving a key that exists replaces it; deleting a missing key does nothing."""

    def save(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...


class LocalStorage:
    """Files in a folder on this machine, at ``<root>/<key>``: the folder that nginx serves at
    ``/media/`` (deploy/nginx/blog.conf) and ``flask blog backup`` copies."""

    def __init__(self, root: Path, url_prefix: str = URL_PREFIX) -> None:
        self.root = root
        self.url_prefix = url_prefix

    def path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def save(self, key: str, data: bytes) -> None:
        """Written to a temporary file and renamed into place: a reader (nginx) never sees a
        half-written file. Mode 0644, so that the web server's user may read it."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        """The file for reading; FileNotFoundError when there is none."""
        return self.path(key).open("rb")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self.url_prefix + checked_key(key)
