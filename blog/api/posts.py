"""Posts over the API: the public list and post, and writing with a bearer token.

Reading uses blog.posts.reading (and blog.posts.search for ``q``); writing goes through
blog.posts.authoring's
``write_post``/``update_post``/``delete_post``, which check the role matrix themselves, the same
functions the admin's post form calls.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from flask import jsonify, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from blog.api import bp
from blog.api.errors import ApiError
from blog.api.http import cached_read, cors, private, token_user
from blog.api.inputs import Fields, json_object, paging, past_the_end, query_text
from blog.api.schemas import absolute, page_of, post_detail, post_for_writer, post_summary
from blog.comments.policy import _closed_reason
from blog.extensions import db
from blog.models import Category, Post, PostStatus, User, utcnow
from blog.permissions import Action, ensure
from blog.posts import authoring
from blog.posts import reading as posts
from blog.posts.reading import PageNotFound, PostFilter
from blog.sanitize import html_to_text
from blog.settings import Settings
from blog.web.templating import site_settings

POSTS_PER_PAGE = 10
MAX_SLUG = 200
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def clean_slug(slug: str) -> str | None:
    """A slug as it may be stored, or None for one that cannot exist (too long, control
    characters: PostgreSQL refuses NUL, so such a value never reaches a query)."""
    if not slug or len(slug) > MAX_SLUG or _UNPRINTABLE.search(slug):
        return None
    return slug


def visible_post(slug: str) -> Post:
    """The published post with this slug, or 404."""
    found = posts.get_published_post(clean) if (clean := clean_slug(slug)) else None
    if found is None:
        raise ApiError(404, "No published post has this address.")
    return found


def comments_open(post: Post, settings: Settings) -> bool:
    """Whether a reply would be taken now: the post's switch and the close-after-days setting
    (the same rule blog.comments.policy.decide applies)."""
    return _closed_reason(post, settings, utcnow()) is None


def _with_terms(found: list[Post]) -> list[Post]:
    """Load the categories and tags of a page of posts: two queries, whatever the page size."""
    if found:
        db.session.scalars(
            select(Post)
            .where(Post.id.in_([p.id for p in found]))
            .options(selectinload(Post.categories), selectinload(Post.tags))
        ).all()
    return found


def _filter() -> PostFilter:
    """``category`` (a slug, sub-categories included), ``tag`` (a slug), ``author`` (a username)."""
    errors: dict[str, str] = {}
    where = PostFilter()
    if category_slug := query_text("category"):
        category = db.session.scalars(
            select(Category).where(Category.slug == category_slug)
        ).first()
        if category is None:
            errors["category"] = f"No category has the slug {category_slug!r}."
        else:
            where = dataclasses.replace(where, category_ids=posts.descendant_ids(category))
    if tag_slug := query_text("tag"):
        tag = posts.find_tag(tag_slug)
        if tag is None:
            errors["tag"] = f"No tag has the slug {tag_slug!r}."
        else:
            where = dataclasses.replace(where, tag_id=tag.id)
    if author_slug := query_text("author"):
        # An author with nothing visible and a slug nobody has give the same empty list: the
        # answer says nothing about which accounts exist (SPEC 11).
        author = posts.find_public_author(author_slug)
        where = dataclasses.replace(where, author_id=author.id if author is not None else 0)
    if errors:
        raise ApiError(400, "Unknown filter.", errors)
    return where


@bp.get("/posts")
@cors("GET")
@cached_read
def list_posts() -> Response:
    wanted = paging(POSTS_PER_PAGE)
    q = query_text("q")
    if q:
        return _search(q, wanted.page, wanted.per_page)
    try:
        found = posts.list_published(wanted.page, wanted.per_page, _filter())
    except PageNotFound:
        raise past_the_end(wanted.page) from None
    items = [post_summary(p) for p in _with_terms(found.items)]
    return jsonify(page_of(items, found.page, found.per_page, found.total))


def _search(q: str, page: int, per_page: int) -> Response:
    from blog.posts.search import search_posts

    if any(query_text(name) for name in ("category", "tag", "author")):
        raise ApiError(
            400, "q cannot be combined with category, tag or author.", {"q": "q is alone."}
        )
    try:
        _query, found = search_posts(q, page, per_page)
    except PageNotFound:
        raise past_the_end(page) from None
    _with_terms([hit.post for hit in found.items])
    items = [
        {
            **post_summary(hit.post),
            "highlight": {"title_html": str(hit.title_html), "snippet_html": str(hit.snippet_html)},
        }
        for hit in found.items
    ]
    return jsonify(page_of(items, found.page, found.per_page, found.total))


@bp.get("/posts/<slug>")
@cors("GET")
@cached_read
def get_post(slug: str) -> Response:
    post = visible_post(slug)
    settings = site_settings()
    return jsonify(post_detail(post, settings.site_title, comments_open(post, settings)))


# --- writing -------------------------------------------------------------------------------------


def _any_post(slug: str) -> Post:
    """A post of any status by slug (for its writers), or 404."""
    clean = clean_slug(slug)
    found = (
        db.session.scalars(
            select(Post)
            .where(Post.slug == clean)
            .options(selectinload(Post.categories), selectinload(Post.tags))
        ).one_or_none()
        if clean
        else None
    )
    if found is None:
        raise ApiError(404, "No post has this address.")
    return found


def _current(post: Post) -> authoring.PostChanges:
    """The post as it is, in the form of changes: what a PATCH starts from."""
    automatic = html_to_text(post.body_html, limit=300)
    return authoring.PostChanges(
        title=post.title,
        body=post.body_source,
        excerpt="" if post.excerpt == automatic else post.excerpt,
        slug=post.slug,
        category_ids=tuple(c.id for c in post.categories),
        primary_category_id=post.primary_category_id,
        tags=tuple(t.name for t in post.tags),
        status=post.status,
        published_at=post.published_at,
        comments_open=post.comments_open,
        kind=post.kind,
        parent_id=post.parent_id,  # a page stays below its parent
    )


def _ids_by(model: type[Category] | type[User], column: Any, names: list[str]) -> dict[str, int]:
    clean = [n for n in names if clean_slug(n)]
    if not clean:
        return {}
    return dict(
        db.session.execute(select(column, model.id).where(column.in_(clean))).tuples().all()
    )


def _changes(data: dict[str, Any], base: authoring.PostChanges) -> authoring.PostChanges:
    """Apply the JSON members that are present to ``base``; 400 with every bad field."""
    f = Fields(data)
    changed = _plain_changes(f, base)
    changed |= _category_changes(f, base)
    if f.has("author"):
        username = f.text("author")
        found = _ids_by(User, User.username, [username])
        if username not in found:
            f.errors["author"] = f"No user has the username {username!r}."
        else:
            changed["author_id"] = found[username]
    f.check()
    return dataclasses.replace(base, **changed)


def _plain_changes(f: Fields, base: authoring.PostChanges) -> dict[str, Any]:
    """The members that need no lookup: texts, status, date, comments and tags."""
    changed: dict[str, Any] = {}
    for name in ("title", "body", "excerpt", "slug"):
        if f.has(name):
            changed[name] = f.text(name)
    if f.has("status"):
        status = f.text("status")
        if status not in {s.value for s in PostStatus}:
            f.errors["status"] = "status must be draft or published."
        else:
            changed["status"] = PostStatus(status)
    if f.has("published_at"):
        changed["published_at"] = f.moment("published_at")
    if f.has("comments_open"):
        changed["comments_open"] = f.boolean("comments_open", base.comments_open)
    tags = f.strings("tags", authoring.MAX_TAGS)
    if tags is not None:
        changed["tags"] = authoring.parse_tags(",".join(tags))
    return changed


def _category_changes(f: Fields, base: authoring.PostChanges) -> dict[str, Any]:
    """``categories`` and ``primary_category``, by slug, as ids."""
    changed: dict[str, Any] = {}
    categories = f.strings("categories")
    primary = f.text("primary_category") if f.has("primary_category") else None
    wanted = [*(categories or []), *([primary] if primary else [])]
    ids = _ids_by(Category, Category.slug, wanted)
    unknown = [slug for slug in wanted if slug not in ids]
    if unknown:
        f.errors["categories"] = f"No category has the slug {unknown[0]!r}."
    elif categories is not None:
        changed["category_ids"] = tuple(ids[slug] for slug in categories)
        if primary is None and base.primary_category_id not in changed["category_ids"]:
            changed["primary_category_id"] = None
    if primary and not unknown:
        changed["primary_category_id"] = ids[primary]
    return changed


def _written(post: Post, status: int) -> Response:
    settings = site_settings()
    response = jsonify(post_for_writer(post, settings.site_title, comments_open(post, settings)))
    response.status_code = status
    return private(response)


@bp.post("/posts")
def create_post() -> Response:
    user = token_user()
    ensure(user, Action.CREATE_POST)
    changes = _changes(json_object(), authoring.PostChanges(title="", body=""))
    assert user is not None
    post = authoring.write_post(user, changes)
    response = _written(post, 201)
    response.headers["Location"] = absolute(url_for("api.get_post", slug=post.slug))
    return response


@bp.patch("/posts/<slug>")
def update_post(slug: str) -> Response:
    user = token_user()
    post = _any_post(slug)
    ensure(user, Action.EDIT_POST, post)
    changes = _changes(json_object(), _current(post))
    assert user is not None
    return _written(authoring.update_post(user, post, changes), 200)


@bp.delete("/posts/<slug>")
def delete_post(slug: str) -> Response:
    user = token_user()
    post = _any_post(slug)
    ensure(user, Action.DELETE_POST, post)
    assert user is not None
    authoring.delete_post(user, post)
    return private(Response(status=204))
