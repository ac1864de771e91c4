"""The commenter cookie: a signed record of the comments this browser submitted.

It lets a reader see their own comment while it waits for moderation, and nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Request, current_app
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "blog_commenter"
MAX_REMEMBERED = 50


@dataclass
class CommenterCookie:
    comment_ids: list[int] = field(default_factory=list)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="blog.commenter")


def read_commenter_cookie(request: Request) -> CommenterCookie:
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return CommenterCookie()
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return CommenterCookie()
    ids = data.get("ids") if isinstance(data, dict) else None
    if not isinstance(ids, list):
        return CommenterCookie()
    return CommenterCookie([i for i in ids if isinstance(i, int)][-MAX_REMEMBERED:])


def dump_commenter_cookie(cookie: CommenterCookie) -> str:
    return _serializer().dumps({"ids": cookie.comment_ids[-MAX_REMEMBERED:]})


REMEMBER_COOKIE = "blog_comment_author"
REMEMBERED_FIELDS = ("name", "email", "url")


def remembered_commenter() -> dict[str, str]:
    """Name, email and website saved by "Save my name..." (opt-in), to prefill the reply form."""
    from flask import request

    raw = request.cookies.get(REMEMBER_COOKIE)
    if not raw:
        return {}
    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="blog.remember").loads(raw)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    found = {k: str(v) for k, v in data.items() if k in REMEMBERED_FIELDS and isinstance(v, str)}
    if found:
        found["remember"] = "yes"
    return found
