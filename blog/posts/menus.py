"""The site menu: the links of the header's navigation, in order.

Kept as a setting (``site_menu``), one item a line, ``Label | address``, a leading ``-`` for a
subitem: the settings form edits it as an ordered list, it is read with the settings (no query
of its own on any page), and a change moves the content version like any setting. An item
leads to an address, not to an object: when a page moves, its old address redirects
(blog.posts.redirects), so the menu never breaks. WordPress's menus (``nav_menu_item``) are
turned into this text on import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from blog.sanitize import safe_http_url

MAX_ITEMS = 50
MAX_DEPTH = 3
MAX_LABEL = 100


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    depth: int = 0


class MenuRejected(ValueError):
    """A line of the menu cannot be used; the message says which and why."""


def _parse_line(number: int, line: str) -> MenuItem:
    stripped = line.strip()
    depth = len(stripped) - len(stripped.lstrip("-"))
    label, sep, url = stripped.lstrip("-").partition("|")
    label, url = " ".join(label.split()), url.strip()
    if not sep or not label or not url:
        raise MenuRejected(f"Line {number}: write “Label | /address/”.")
    if len(label) > MAX_LABEL:
        raise MenuRejected(f"Line {number}: labels have at most {MAX_LABEL} characters.")
    if not url.startswith("/") or url.startswith("//"):
        checked = safe_http_url(url) if url.lower().startswith(("http://", "https://")) else None
        if checked is None:
            raise MenuRejected(f"Line {number}: the address must start with / or http(s)://.")
        url = checked
    return MenuItem(label, url, min(depth, MAX_DEPTH))


def parse_menu(text: str) -> list[MenuItem]:
    """The menu's items; raises MenuRejected for a line that is not ``Label | address``."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > MAX_ITEMS:
        raise MenuRejected(f"A menu has at most {MAX_ITEMS} items.")
    return [_parse_line(n, line) for n, line in lines]


@lru_cache(maxsize=8)
def _cached(text: str) -> tuple[MenuItem, ...]:
    try:
        return tuple(parse_menu(text))
    except MenuRejected:  # stored before a rule changed: show what can be shown
        return ()


def menu_items(text: str) -> tuple[MenuItem, ...]:
    """The stored menu's items (parsed once per text, as every page shows them)."""
    return _cached(text) if text.strip() else ()


def menu_text(items: Iterable[MenuItem]) -> str:
    """The setting's text for these items (the import writes WordPress's menu with it)."""
    lines = []
    for item in items:
        label = " ".join(item.label.replace("|", "/").split())[:MAX_LABEL]
        lines.append(f"{'-' * min(item.depth, MAX_DEPTH)}{label} | {item.url}")
    return "\n".join(lines)
