"""The posts list and the post form: write, preview, save, publish, unpublish, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from blog.extensions import db
from blog.models import Post, PostKind, PostStatus, Role, User
from blog.permissions import ALL, Action, can, may_stick, scope
from blog.posts import authoring, media, pages, publishing, revisions
from blog.posts.categories import category_tree
from blog.posts.dashboards import PostListFilter, PostState, post_list, post_state
from blog.posts.excerpts import typed_excerpt
from blog.posts.images import MediaRejected
from blog.posts.reading import PageNotFound, parse_page
from blog.settings import site_settings
from blog.web.access import authorize, require
from blog.web.admin.blueprint import ID, actor, bp, csrf_expired, form_refusal, parse_id
from blog.web.admin.forms import ActionForm, PostForm, first_errors
from blog.web.admin.media import upload_from_request
from blog.web.auth import csrf_failed
from blog.web.memoized import post_state_counts
from blog.web.templating import format_time

FIELD_MESSAGES = {
    "categories": "Choose categories from the list.",
    "primary_category": "Choose the primary category from the list.",
    "author": "Choose an author from the list.",
    "status": "Choose Draft or Published.",
    "published_at": "Enter a date and time such as 2025-03-01 09:30, or leave it empty.",
    "parent": "Choose the parent from the list of pages.",
}
DATE_INPUT = "%Y-%m-%dT%H:%M"
RECENT_REVISIONS = 10  # on the edit page; the rest on the revisions page


@bp.route("/posts/")
@require(Action.CREATE_POST)
def posts() -> str:
    state = request.args.get("status", "")
    if state not in ("", *PostState.ALL):
        abort(400, "Unknown status: choose draft, published or scheduled.")
    try:
        page = parse_page(request.args.get("page"))
        where = PostListFilter(
            state=state,
            category_id=parse_id(request.args.get("category"), "category"),
            author_id=parse_id(request.args.get("author"), "author"),
            page=page,
        )
        listing = post_list(actor(), where, state_counts=post_state_counts)
    except PageNotFound:
        abort(404)
    return render_template(
        "admin/posts.html",
        listing=listing,
        has_queue="moderation.queue" in current_app.view_functions,
    )


def _load(post_id: int) -> Post:
    post = db.session.scalars(
        select(Post)
        .where(Post.id == post_id)
        .options(selectinload(Post.categories), selectinload(Post.tags))
    ).one_or_none()
    if post is None:
        abort(404)
    return post


def _authors() -> list[User]:
    """Who may be chosen as a post's author: active users of the writing roles."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role != Role.MODERATOR)
            .order_by(User.display_name, User.id)
        )
    )


def _values_of(post: Post) -> dict[str, Any]:
    return {
        "title": post.title,
        "slug": post.slug,
        "body": post.body_source,
        "excerpt": typed_excerpt(post),
        "categories": [str(c.id) for c in post.categories],
        "primary_category": str(post.primary_category_id or ""),
        "new_category": "",
        "tags": ", ".join(t.name for t in post.tags),
        "status": post.status.value,
        "published_at": _local_input(post.published_at),
        "comments_open": "y" if post.comments_open else "",
        "sticky": "y" if post.sticky else "",
        "author": str(post.author_id),
        "parent": str(post.parent_id or ""),
    }


def _local_input(value: datetime | None) -> str:
    """A stored (UTC) time as the form's date field shows it: on the site's clock."""
    return value.astimezone(site_settings().zone).strftime(DATE_INPUT) if value else ""


def _typed() -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {name: form.get(name, "") for name in FIELDS}
    values["categories"] = form.getlist("categories")
    return values


FIELDS = (
    "title",
    "slug",
    "body",
    "excerpt",
    "primary_category",
    "new_category",
    "tags",
    "status",
    "published_at",
    "comments_open",
    "sticky",
    "author",
    "parent",
)


def form_page(
    post: Post | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str = "",
    preview: str | None = None,
    status: int = 200,
    upload: dict[str, Any] | None = None,
    kind: PostKind = PostKind.POST,
) -> tuple[str, int]:
    """The post (or page) form, with what was typed, its errors, a preview or an upload."""
    user = actor()
    kind = post.kind if post is not None else kind
    page = render_template(
        "admin/post_form.html",
        is_page=kind == PostKind.PAGE,
        parents=pages.page_rows(exclude_id=post.id if post else None),
        page_url=pages.page_url(post) if post is not None and post.is_page else None,
        post=post,
        state=post_state(post) if post is not None else None,
        box=publishing.publish_box(user, post, _typed_date(values)),
        revisions=revisions.revisions_of(post, per_page=RECENT_REVISIONS) if post else None,
        values=values,
        errors=errors or {},
        message=message,
        preview=preview,
        categories=category_tree(),
        authors=_authors() if scope(user, Action.EDIT_POST) == ALL else None,
        may_stick=may_stick(user) and kind == PostKind.POST,
        may_add_category=can(user, Action.MANAGE_CATEGORIES),
        may_upload=can(user, Action.UPLOAD_MEDIA),
        no_alt_in_text=media.NO_ALT_IN_TEXT,
        upload=upload,
    )
    return page, status


def _typed_date(values: dict[str, Any]) -> datetime | None:
    """The form's publish date, for the label of the publish button; None when unreadable."""
    try:
        return datetime.strptime(str(values.get("published_at") or ""), DATE_INPUT)
    except ValueError:
        return None


def _changes(form: PostForm, post: Post | None, kind: PostKind) -> authoring.PostChanges:
    return authoring.PostChanges(
        title=form.title.data or "",
        body=form.body.data or "",
        excerpt=form.excerpt.data or "",
        slug=form.slug.data or "",
        category_ids=tuple(form.categories.data or ()),
        primary_category_id=form.primary_category.data,
        new_category=form.new_category.data or "",
        tags=authoring.parse_tags(form.tags.data or ""),
        status=publishing.status_for(
            request.form.get("action", ""), post, request.form.get("status")
        ),
        # The typed date is on the site's clock (the field says which zone).
        published_at=(
            form.published_at.data.replace(tzinfo=site_settings().zone)
            if form.published_at.data
            else None
        ),
        comments_open=bool(form.comments_open.data),
        sticky=bool(form.sticky.data),
        author_id=form.author.data if "author" in request.form else None,
        kind=kind,
        parent_id=form.parent.data,
    )


def submit_form(post: Post | None, kind: PostKind = PostKind.POST) -> Response | tuple[str, int]:
    """Handle a POST of the post (or page) form: preview, or save and go back to the form."""
    form = PostForm()
    values = _typed()
    # A refused request (blog.web.admin: stale token, another site) never saves, whatever
    # its fields.
    valid = not csrf_expired() and form.validate_on_submit()
    if not valid and (csrf_failed(form) or csrf_expired()):
        return form_page(post, values, first_errors(form), form_refusal(), status=400, kind=kind)
    if request.form.get("action") == "upload":
        return _upload_into(post, values, kind)
    if not valid:
        errors = {name: FIELD_MESSAGES.get(name, msg) for name, msg in first_errors(form).items()}
        return form_page(post, values, errors, "The post was not saved.", status=400, kind=kind)
    changes = _changes(form, post, kind)
    was_public = post is not None and post.status == PostStatus.PUBLISHED
    try:
        if request.form.get("action") == "preview":
            return form_page(post, values, preview=authoring.preview_html(changes.body), kind=kind)
        if post is None:
            saved = authoring.write_post(actor(), changes)
        else:
            saved = authoring.update_post(actor(), post, changes)
    except authoring.PostRejected as rejected:
        return form_page(post, values, rejected.fields, rejected.message, status=400, kind=kind)
    flash(_saved_message(saved, was_public), "success")
    return redirect(url_for("admin.post_edit", post_id=saved.id), 303)


def _upload_into(post: Post | None, values: dict[str, Any], kind: PostKind) -> tuple[str, int]:
    """The post form's "Upload" button without the script: the image stored, the form again
    with what was typed and the image's Markdown added at the end of the text (nothing saved)."""
    try:
        uploaded = upload_from_request()
    except MediaRejected as rejected:
        errors = {"file": rejected.message}
        values["alt_text"] = request.form.get("alt_text", "")
        refused = "The image was not uploaded."
        return form_page(post, values, errors, refused, status=rejected.status_code, kind=kind)
    snippet = media.markdown_for(uploaded.media)
    body = str(values.get("body", "")).rstrip()
    values["body"] = f"{body}\n\n{snippet}\n" if body else f"{snippet}\n"
    values["alt_text"] = ""
    upload = {"snippet": snippet, "warnings": uploaded.warnings, "id": uploaded.media.id}
    return form_page(post, values, upload=upload, kind=kind)


def _saved_message(saved: Post, was_public: bool) -> str:
    state = post_state(saved)
    if state == PostState.SCHEDULED:
        return f"Post scheduled for {format_time(saved.published_at)} ({site_settings().timezone})."
    if state == PostState.PUBLISHED:
        return "Post updated." if was_public else "Post published."
    return "Post moved back to drafts." if was_public else "Draft saved."


@bp.route("/posts/new", methods=["GET", "POST"])
@require(Action.CREATE_POST)
def post_new() -> Response | tuple[str, int]:
    if request.method == "POST":
        return submit_form(None)
    return form_page(
        None, {"status": PostStatus.DRAFT.value, "comments_open": "y", "categories": []}
    )


@bp.route(f"/posts/<{ID}:post_id>/edit", methods=["GET", "POST"])
@require(Action.CREATE_POST)
def post_edit(post_id: int) -> Response | tuple[str, int]:
    post = _load(post_id)
    authorize(Action.EDIT_POST, post)
    if request.method == "POST":
        return submit_form(post)
    return form_page(post, _values_of(post))


@bp.route(f"/posts/<{ID}:post_id>/delete", methods=["GET", "POST"])
@require(Action.CREATE_POST)
def post_delete(post_id: int) -> Response | str:
    """GET asks "are you sure?"; POST deletes."""
    post = _load(post_id)
    authorize(Action.DELETE_POST, post)
    if request.method != "POST" or not ActionForm().validate_on_submit():
        return render_template("admin/post_delete.html", post=post)
    title = post.title
    authoring.delete_post(actor(), post)
    flash(f"“{title}” was deleted, with its comments.", "success")
    return redirect(url_for("admin.posts"), 303)


@bp.route(f"/posts/<{ID}:post_id>/publish", methods=["POST"])
@require(Action.CREATE_POST)
def post_publish(post_id: int) -> Response:
    post = _load(post_id)
    authorize(Action.PUBLISH_POST, post)
    if ActionForm().validate_on_submit():
        saved = authoring.publish_post(actor(), post)
        scheduled = post_state(saved) == PostState.SCHEDULED
        flash("Post scheduled." if scheduled else "Post published.", "success")
    return redirect(url_for("admin.posts"), 303)


@bp.route(f"/posts/<{ID}:post_id>/unpublish", methods=["POST"])
@require(Action.CREATE_POST)
def post_unpublish(post_id: int) -> Response:
    post = _load(post_id)
    authorize(Action.PUBLISH_POST, post)
    if ActionForm().validate_on_submit():
        authoring.unpublish_post(actor(), post)
        flash("Post moved back to drafts.", "success")
    return redirect(url_for("admin.posts"), 303)
