"""Values drawn from the posts alone (the sidebar, the number of posts in an archive, the
admin's posts by state), each kept in the worker until the posts version moves."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from flask import Flask, current_app

from blog.cache.lru import LRU
from blog.cache.versions import posts_version

T = TypeVar("T")
_EXTENSION = "blog_version_memo"


class VersionMemo:
    """Values kept under the posts version they were worked out at; least recently used entries
    go first."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._values: LRU[Hashable, tuple[str, Any]] = LRU(max_entries)

    def get(self, key: Hashable, version: str) -> tuple[bool, Any]:
        found = self._values.get(key)
        if found is None or found[0] != version:
            return False, None
        return True, found[1]

    def set(self, key: Hashable, version: str, value: Any) -> None:
        self._values.set(key, (version, value))


def per_posts_version(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, worked out once per posts version in this worker.

    Only for values that depend on posts, categories, tags, users or settings (any change to
    one moves the posts version) and the time at which scheduled posts come due, never on
    comments (an approval leaves the posts version alone), and that hold no database objects.
    """
    memo: VersionMemo | None = current_app.extensions.get(_EXTENSION)
    version = posts_version()
    if memo is None or not version:
        return compute()
    found, value = memo.get(key, version)
    if found:
        return cast(T, value)
    value = compute()
    memo.set(key, version, value)
    return value


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = VersionMemo()
