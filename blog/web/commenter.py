"""The commenter cookie: a signed record of the comments this browser submitted.

It lets a reader see their own comment while it waits for moderation, and nobody else, and edit
or delete it during the edit window. The signature (the site's secret) is what proves that a
browser wrote a comment: ids cannot be added by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Request, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

COOKIE_NAME = "blog_commenter"
MAX_REMEMBERED = 50


@dataclass
class CommenterCookie:
    comment_ids: list[int] = field(default_factory=list)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="blog.web.commenter")


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


def _remember_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="blog.remember")


def remembered_commenter() -> dict[str, str]:
    """Name, email and website saved by "Save my name..." (opt-in), to prefill the reply form."""
    raw = request.cookies.get(REMEMBER_COOKIE)
    if not raw:
        return {}
    try:
        data = _remember_serializer().loads(raw)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    found = {k: str(v) for k, v in data.items() if k in REMEMBERED_FIELDS and isinstance(v, str)}
    if found:
        found["remember"] = "yes"
    return found


OWN_COMMENTS_MAX_AGE = 30 * 24 * 3600  # long enough to see one's comment through moderation
REMEMBER_MAX_AGE = 30_000_000  # WordPress's comment cookie lifetime (about 347 days)


def _set(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def remember_own_comment(response: Response, comment_id: int) -> None:
    """Add a comment to this browser's signed list, so its author sees it while it is held."""
    cookie = read_commenter_cookie(request)
    ids = [i for i in cookie.comment_ids if i != comment_id] + [comment_id]
    _set(response, COOKIE_NAME, dump_commenter_cookie(CommenterCookie(ids)), OWN_COMMENTS_MAX_AGE)


def own_comment_ids() -> list[int]:
    """The comments this browser submitted, by its signed cookie: whose held comments it sees,
    and which comments it may edit or delete while the edit window lasts."""
    return read_commenter_cookie(request).comment_ids


def forget_own_comment(response: Response, comment_id: int) -> None:
    """Drop a comment (deleted by its author) from this browser's signed list."""
    cookie = read_commenter_cookie(request)
    if comment_id in cookie.comment_ids:
        ids = [i for i in cookie.comment_ids if i != comment_id]
        _set(
            response, COOKIE_NAME, dump_commenter_cookie(CommenterCookie(ids)), OWN_COMMENTS_MAX_AGE
        )


def save_commenter_details(response: Response, details: dict[str, str] | None) -> None:
    """Keep name, email and website for next time ("Save my name..."), or forget them."""
    kept = {k: v for k, v in (details or {}).items() if k in REMEMBERED_FIELDS and v}
    if kept:
        _set(response, REMEMBER_COOKIE, _remember_serializer().dumps(kept), REMEMBER_MAX_AGE)
    elif REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(REMEMBER_COOKIE, httponly=True, samesite="Lax")
