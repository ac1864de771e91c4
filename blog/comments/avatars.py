"""Commenters' pictures: identicons drawn here, from a keyed hash of the email address.

A page links ``/avatar/<key>.svg``, where the key is an HMAC of the address under the site's
secret: it stands for the address without revealing it (a plain hash of an email, as Gravatar
uses, can be matched against a list of addresses). The picture is a pure function of the key, so
it is served without touching the database and cached for a year. Only when the operator turns
``show_gravatar`` on do pages point at gravatar.com (with its own identicons as the fallback).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlencode

from flask import current_app, url_for

from blog.models import Comment
from blog.settings import Settings

KEY_LENGTH = 32  # hex characters: 128 bits
KEY = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")
GRID = 5  # cells a side; the left half is mirrored onto the right
GRAVATAR = "https://secure.gravatar.com/avatar/"
SIZE = 48  # CSS pixels on the page (the Gravatar request asks for twice that)


def avatar_key(email: str, name: str = "") -> str:
    """The key of a commenter's picture: their email address, or their name without one."""
    who = f"email:{email.strip().casefold()}" if email.strip() else f"name:{name.strip()}"
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, who.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return digest[:KEY_LENGTH]


def gravatar_url(email: str) -> str:
    """Gravatar's address for an email (SHA-256 of the trimmed, lower-cased address)."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    query = urlencode({"s": SIZE * 2, "d": "identicon", "r": "g"})
    return f"{GRAVATAR}{digest}?{query}"


def avatar_url(comment: Comment, settings: Settings) -> str:
    """The picture a comment shows: local unless the operator chose Gravatar."""
    if settings.show_gravatar and comment.author_email:
        return gravatar_url(comment.author_email)
    key = avatar_key(comment.author_email, comment.author_name)
    return url_for("reader.identicon", key=key)


def identicon_svg(key: str) -> str:
    """A 5x5 symmetric identicon for a key (hex), as SVG. Raises ValueError for a bad key.

    The first bits pick the cells, the last ones the colour (GitHub's identicons work alike).
    """
    if not KEY.fullmatch(key):
        raise ValueError(f"not an avatar key: {key!r}")
    value = int(key, 16)
    half = (GRID + 1) // 2
    cells: list[str] = []
    for column in range(half):
        for row in range(GRID):
            if value >> (column * GRID + row) & 1:
                for x in {column, GRID - 1 - column}:
                    cells.append(f"M{x} {row}h1v1h-1z")
    hue = (value >> 96) % 360
    saturation = 45 + (value >> 88) % 20
    lightness = 45 + (value >> 80) % 15
    colour = f"hsl({hue}, {saturation}%, {lightness}%)"
    path = "".join(sorted(cells)) or "M2 2h1v1h-1z"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 6 6" '
        f'width="{SIZE}" height="{SIZE}" shape-rendering="crispEdges">'
        '<rect x="-0.5" y="-0.5" width="6" height="6" fill="#f0f0f0"/>'
        f'<path fill="{colour}" d="{path}"/></svg>'
    )
