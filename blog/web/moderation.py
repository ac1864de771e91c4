"""The moderation queue (SPEC section 6): list, row and bulk actions, reply and edit.

Every form posts to its action's URL with the queue's current filters in the query string, so
the reader lands back on the same view of the queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from blog.comments.cleanup import (
    CleanupAction,
    CleanupRejected,
    Criteria,
    Criterion,
    clean_up,
    parse_criteria,
    preview,
)
from blog.comments.moderation import (
    ACTION_LABELS,
    REPLYABLE,
    ModerationAction,
    ModerationError,
    actions_for,
    moderate_comment,
    moderate_comments,
)
from blog.comments.queue import QUEUE_STATUSES, QueueFilter, moderation_queue
from blog.comments.spam.filter import describe_score
from blog.comments.submit import (
    MAX_ID,
    CommentForm,
    CommentRejected,
    Submitter,
    edit_comment,
    parse_id,
    reply_as_moderator,
)
from blog.extensions import db
from blog.models import Comment, CommentStatus, User
from blog.permissions import Action
from blog.posts.reading import PageNotFound, parse_page
from blog.settings import site_settings
from blog.web.access import authorize, require, signed_in_user
from blog.web.auth import safe_next
from blog.web.errors import render_error

bp = Blueprint("moderation", __name__, url_prefix="/admin/comments")

ACTIONS = ",".join(a.value for a in ModerationAction)
FILTER_ARGS = ("status", "post", "q", "page")
EDIT_FIELDS = ("name", "email", "url", "body")


@dataclass(frozen=True)
class Editor:
    """The edit or reply panel above the queue, for one comment."""

    mode: str  # "edit" or "reply"
    comment: Comment
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


def kept_filters() -> dict[str, str]:
    """The queue's filters from this request, to carry through forms and redirects."""
    return {k: v for k in FILTER_ARGS if (v := request.args.get(k, ""))}


def _back() -> Response:
    # Flask types url_for's keyword-only _external as bool; these are the queue's query words.
    return redirect(url_for("moderation.queue", **kept_filters()), 303)  # type: ignore[arg-type]


def _filter() -> QueueFilter:
    try:
        status = CommentStatus(request.args.get("status") or CommentStatus.PENDING)
    except ValueError:
        abort(400, "Unknown status: choose pending, approved, spam or trash.")
    post_id = _parse_id(request.args.get("post", ""), "post")
    q = " ".join(request.args.get("q", "").replace("\x00", "").split())[:200]
    try:
        page = parse_page(request.args.get("page"))
    except PageNotFound:
        abort(404)
    return QueueFilter(status=status, post_id=post_id, q=q, page=page)


def _parse_id(raw: str, what: str) -> int | None:
    try:
        return parse_id(raw)
    except ValueError:
        abort(400, f"The {what} must be given by its number.")


def _moderator() -> User:
    user = signed_in_user()
    assert user is not None  # every view here is behind require()
    return user


def _comment(comment_id: int) -> Comment:
    """The comment, if it exists (404) and the signed-in user may moderate it (403)."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    authorize(Action.MODERATE, comment)
    return comment


# A value written into a URL as it is, in a path and in a query string alike (werkzeug leaves
# these characters unquoted in both): a row's value of this kind can replace a stand-in.
_PLAIN = re.compile(r"[A-Za-z0-9._~:-]+")
_NOT_BUILT: Literal[False] = False  # a kind of link whose pattern is not built yet


class RowLinks:
    """``url_for`` for the links of the queue's rows, each kind built once per page.

    A kind of link is its endpoint, its argument names in order, and the values that are the
    same on every row (``action="spam"``). A row's numbers and plain words (ids, a slug, an IP
    address) are stand-ins while the kind's pattern is built; each row's own are put in their
    place. Values that are neither, and links whose pattern would be ambiguous, go through
    ``url_for``.

    Earns its keep: the queue page (20 rows) at 9.0 ms with it, 10.5 ms with ``url_for`` for
    every link, 14.5 % of the page (13.5 % in a second run; python -m bench.machinery, CPU per
    request in process, SQLite, 2026-12-07; docs/benchmark.md).
    """

    def __init__(self) -> None:
        self._patterns: dict[tuple[object, ...], tuple[str, ...] | None] = {}
        self._fixed_words: set[tuple[str, str]] = set()  # (endpoint, name): no stand-in fits

    def __call__(self, endpoint: str, /, **values: Any) -> str:  # Any: url_for's values
        key: list[object] = [endpoint]
        row_values: list[str] = []
        for name, value in values.items():
            if self._varies(endpoint, name, value):
                key.append((name, type(value)))
                row_values.append(str(value))
            else:
                key.append((name, value))
        try:
            found = self._patterns.get(tuple(key), _NOT_BUILT)
        except TypeError:  # a value that cannot be a key: not a row's link
            return url_for(endpoint, **values)
        if found is False:
            found = self._pattern(endpoint, values)
            if found is False:  # a word that no stand-in can take: build with it fixed
                return self(endpoint, **values)
            self._patterns[tuple(key)] = found
        if found is None:
            return url_for(endpoint, **values)
        if len(row_values) == 1:  # the usual link: one id or word
            return found[0] + row_values[0] + found[1]
        link = [found[0]]
        for value, text_after in zip(row_values, found[1:], strict=True):
            link += (value, text_after)
        return "".join(link)

    def _varies(self, endpoint: str, name: str, value: object) -> bool:
        if type(value) is int:  # not a bool: True is no row's id
            return 0 < value <= MAX_ID
        return (
            type(value) is str
            and (endpoint, name) not in self._fixed_words
            and _PLAIN.fullmatch(value) is not None
        )

    def _pattern(
        self, endpoint: str, values: dict[str, Any]
    ) -> tuple[str, ...] | Literal[False] | None:
        """The link's text around the row's values, which stand-ins held while it was built;
        None when a stand-in would not be found exactly once; False when a word had to be fixed
        instead."""
        with_stand_ins: dict[str, Any] = {}
        stand_ins: list[str] = []
        words: list[str] = []
        for name, value in values.items():
            if self._varies(endpoint, name, value):
                n = len(stand_ins)
                if type(value) is int:
                    stand_in: object = MAX_ID - n
                else:
                    stand_in = f"zStandIn{n}z"
                    words.append(name)
                stand_ins.append(str(stand_in))
                with_stand_ins[name] = stand_in
            else:
                with_stand_ins[name] = value
        try:
            pattern = url_for(endpoint, **with_stand_ins)
        except (BuildError, ValueError):
            if not words:
                return None
            self._fixed_words.update((endpoint, name) for name in words)
            return False
        if any(pattern.count(stand_in) != 1 for stand_in in stand_ins):
            return None
        if sorted(stand_ins, key=pattern.index) != stand_ins:
            return None  # the values would be put in out of order
        parts: list[str] = []
        rest = pattern
        for stand_in in stand_ins:
            before, _, rest = rest.partition(stand_in)
            parts.append(before)
        return (*parts, rest)


def _render(editor: Editor | None = None, status: int = 200) -> Response | tuple[str, int]:
    where = _filter()
    try:
        queue = moderation_queue(signed_in_user(), where, settings=site_settings())
    except PageNotFound:
        if where.page == 1:
            abort(404)
        # The page emptied (its comments were moderated away): show the first one instead.
        first = {k: v for k, v in kept_filters().items() if k != "page"}
        # Flask types url_for's keyword-only _external as bool; these are the query's words.
        return redirect(url_for("moderation.queue", **first), 303)  # type: ignore[arg-type]
    if editor is None:
        for mode in ("edit", "reply"):
            wanted = _parse_id(request.args.get(mode, ""), "comment")
            if wanted is not None:
                comment = _comment(wanted)
                values = {"body": ""} if mode == "reply" else _current_values(comment)
                editor = Editor(mode, comment, values)
                break
    page = render_template(
        "admin/comment_queue.html",
        queue=queue,
        editor=editor,
        statuses=QUEUE_STATUSES,
        actions_for=actions_for,
        replyable=REPLYABLE,
        labels=ACTION_LABELS,
        keep=kept_filters(),
        describe_score=describe_score,
        row_url=RowLinks(),
    )
    return page, status


def _current_values(comment: Comment) -> dict[str, str]:
    return {
        "name": comment.author_name,
        "email": comment.author_email,
        "url": comment.author_url,
        "body": comment.body_source,
    }


@bp.route("/")
@require(Action.MODERATE)
def queue() -> Response | tuple[str, int]:
    return _render()


@bp.route(f"/<int(max={MAX_ID}):comment_id>/<any({ACTIONS}):action>", methods=["POST"])
@require(Action.MODERATE)
def act(comment_id: int, action: str) -> Response | tuple[str | Response, int]:
    """One comment's action, from a row of the queue or from beside the comment on its post
    page, whose form sends ``next`` (a path on this site) to land back on the comment."""
    _comment(comment_id)
    chosen = ModerationAction(action)
    try:
        moderate_comment(comment_id, chosen, signed_in_user())
    except ModerationError as error:
        return render_error(error.status_code, error.message)
    flash(f"Comment {ACTION_LABELS[chosen][1]}.", "success")
    back_to = safe_next(request.form.get("next"))
    return redirect(back_to, 303) if back_to else _back()


@bp.route("/bulk", methods=["POST"])
@require(Action.MODERATE)
def bulk() -> Response | tuple[str | Response, int]:
    try:
        chosen = ModerationAction(request.form.get("action", ""))
    except ValueError:
        return render_error(400, "Choose a bulk action.")
    raw_ids = request.form.getlist("ids")
    ids = [_parse_id(raw, "comment") for raw in raw_ids]
    if not raw_ids:
        return render_error(400, "Select at least one comment.")
    result = moderate_comments([i for i in ids if i is not None], chosen, signed_in_user())
    done = f"{result.done} comment{'s' if result.done != 1 else ''} {ACTION_LABELS[chosen][1]}"
    skipped = f"; {result.skipped} left as they were" if result.skipped else ""
    flash(done + skipped + ".", "success")
    return _back()


@bp.route(f"/<int(max={MAX_ID}):comment_id>/edit", methods=["POST"])
@require(Action.MODERATE)
def edit(comment_id: int) -> Response | tuple[str | Response, int]:
    comment = _comment(comment_id)
    values = {name: request.form.get(name, "") for name in EDIT_FIELDS}
    form = CommentForm(
        name=values["name"], email=values["email"], url=values["url"], body=values["body"]
    )
    try:
        edit_comment(comment_id, form, _moderator())
    except CommentRejected as rejected:
        if rejected.status_code == 404:
            abort(404)
        editor = Editor("edit", comment, values, rejected.fields, rejected.message)
        return _render(editor, rejected.status_code)
    flash("Comment updated.", "success")
    return _back()


@bp.route(f"/<int(max={MAX_ID}):comment_id>/reply", methods=["POST"])
@require(Action.MODERATE)
def reply(comment_id: int) -> Response | tuple[str | Response, int]:
    parent = _comment(comment_id)
    body = request.form.get("body", "")
    submitter = Submitter(_moderator(), request.remote_addr or "", request.user_agent.string)
    try:
        reply_as_moderator(comment_id, body, submitter)
    except ModerationError as error:
        return render_error(error.status_code, error.message)
    except CommentRejected as rejected:
        editor = Editor("reply", parent, {"body": body}, rejected.fields, rejected.message)
        return _render(editor, rejected.status_code)
    flash("Reply posted.", "success")
    return _back()


# --- Clean-up after a spam wave --------------------------------------------------------------

CLEANUP_DONE = {CleanupAction.SPAM: "marked as spam", CleanupAction.DELETE: "deleted permanently"}


def _render_cleanup(
    values: dict[str, str], criteria: Criteria | None = None, error: CleanupRejected | None = None
) -> tuple[str, int]:
    found = preview(_moderator(), criteria) if criteria is not None else None
    page = render_template(
        "admin/comment_cleanup.html",
        values=values,
        kinds=Criterion,
        found=found,
        error=error,
        actions=CleanupAction,
        statuses=QUEUE_STATUSES,
    )
    return page, error.status_code if error is not None else 200


@bp.route("/cleanup")
@require(Action.MODERATE)
def cleanup() -> tuple[str, int]:
    """The form, and with criteria the preview of what they match: nothing changes on GET."""
    values = {name: request.args.get(name, "") for name in ("kind", "value")}
    if not values["value"] and not request.args.get("kind"):
        return _render_cleanup(values)
    try:
        criteria = parse_criteria(values["kind"], values["value"])
    except CleanupRejected as rejected:
        return _render_cleanup(values, error=rejected)
    return _render_cleanup(values, criteria)


@bp.route("/cleanup", methods=["POST"])
@require(Action.MODERATE)
def cleanup_apply() -> Response | tuple[str, int]:
    """Mark as spam or delete every comment the previewed criteria match, up to ``upto``."""
    values = {name: request.form.get(name, "") for name in ("kind", "value")}
    criteria = None
    try:
        criteria = parse_criteria(values["kind"], values["value"])
        action = _cleanup_action(request.form.get("action", ""))
        upto = _upto(request.form.get("upto", ""))
        cleaned = clean_up(_moderator(), criteria, action, upto)
    except CleanupRejected as rejected:
        return _render_cleanup(values, criteria, rejected)
    count = f"{cleaned.done} comment{'s' if cleaned.done != 1 else ''}"
    skipped = ""
    if cleaned.skipped:
        skipped = f"; {cleaned.skipped} already in spam or trash left as they were"
    flash(f"{count} {CLEANUP_DONE[action]}{skipped}.", "success")
    again = url_for("moderation.cleanup", kind=criteria.kind.value, value=values["value"])
    return redirect(again, 303)


def _cleanup_action(raw: str) -> CleanupAction:
    try:
        return CleanupAction(raw)
    except ValueError:
        raise CleanupRejected("Choose Mark as spam or Delete permanently.", "action") from None


def _upto(raw: str) -> int:
    try:
        upto = parse_id(raw)
    except ValueError:
        upto = None
    if upto is None:
        raise CleanupRejected("Preview the matching comments first, then choose an action.")
    return upto
