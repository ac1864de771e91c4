"""The public reading side: home, blog, posts, pages, archives, and old addresses.

Pages answer at their own path (``/about/team/``), which no route can claim without shadowing
the others: they are looked up when nothing else answered, in the 404 handler, with the old
addresses of :mod:`blog.posts.redirects` after them. Pages and redirects cost nothing to any
other page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from blog.cache.conditional import conditional
from blog.comments.edits import editable_ids
from blog.comments.pages import comment_section
from blog.comments.policy import max_thread_depth
from blog.links import this_page
from blog.models import Post
from blog.posts import pages, redirects
from blog.posts import reading as posts
from blog.posts.reading import PageNotFound, PostFilter
from blog.posts.social import home_metadata, post_metadata
from blog.settings import site_settings
from blog.web.commenter import own_comment_ids
from blog.web.errors import http_error
from blog.web.memoized import count_published

bp = Blueprint("public", __name__)
# Only to build a page's address: pages are found by the 404 handler (see the docstring).
bp.add_url_rule("/<path:path>/", endpoint="page", build_only=True)
# WordPress's query names that lead elsewhere when they come to the home page.
OLD_QUERY_NAMES = frozenset({*redirects.QUERY_KEYS, "feed", "s"})
PER_PAGE = 10


def _page_number() -> int:
    try:
        return posts.parse_page(request.args.get("page"))
    except PageNotFound:
        abort(404)


def _render_list(template: str, where: PostFilter | None = None, **context: object) -> str:
    try:
        page = posts.list_published(_page_number(), PER_PAGE, where, count_published)
    except PageNotFound:
        abort(404)
    return render_template(template, page=page, **context)


def _render_home(**context: object) -> str:
    """The home page: the posts with the sticky ones first (posts.list_home)."""
    try:
        page = posts.list_home(_page_number(), PER_PAGE, count_published)
    except PageNotFound:
        abort(404)
    return render_template("home.html", page=page, **context)


def old_query_address(view: Callable[..., Any]) -> Callable[..., Any]:
    """A home page asked with WordPress's query (``/?p=12``, ``?feed=rss2``): a 301 to where
    that content is now, when there is such a place."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not OLD_QUERY_NAMES.isdisjoint(request.args.keys()):
            target = redirects.resolve(request.path, request.args)
            if target is not None:
                return redirect(target, 301)
        return view(*args, **kwargs)

    return wrapped


@bp.app_errorhandler(NotFound)
def not_found(error: NotFound) -> Any:
    """A page at this path, else a 301 from an old address, else the 404 page."""
    if request.method in ("GET", "HEAD") and not request.path.startswith(("/api/", "/static/")):
        if request.url_rule is None and request.path.endswith("/"):
            page = pages.find_page(request.path)
            if page is not None:
                return page_view(page)
        target = redirects.resolve(request.path, request.args)
        if target is None and not request.path.endswith("/"):  # /about: the page at /about/
            page = pages.find_page(request.path)
            target = pages.page_url(page) if page is not None else None
        if target is not None:
            return redirect(target, 301)
    return http_error(error)


@conditional
def page_view(page: Post) -> str:
    return render_post(page)


@bp.route("/")
@old_query_address
@conditional
def home() -> str:
    return _render_home(social=home_metadata(site_settings(), this_page()))


@bp.route("/blog/")
@conditional
def blog() -> str:
    return _render_list("archive.html", heading="Blog", kind="blog")


@bp.route("/blog/<slug>/")
@conditional
def post(slug: str) -> str | Response:
    found = posts.get_published_post(slug)
    if found is None:
        abort(404)
    if found.is_page:  # a page reached through the posts' address (a comment's link)
        query = request.query_string.decode("utf-8", "replace")
        return redirect(pages.page_url(found) + (f"?{query}" if query else ""), 301)
    return render_post(found)


@bp.route("/blog/<slug>/<int:number>/")
@conditional
def post_page(slug: str, number: int) -> str | Response:
    """Page ``number`` of a post split by ``<!--nextpage-->``; page 1 is the post's own
    address, as WordPress redirects it."""
    found = posts.get_published_post(slug)
    if found is None:
        abort(404)
    if number == 1:
        return redirect(url_for("public.post", slug=slug), 301)
    return render_post(found, number=number)


def render_post(found: Post, comment_form: Any = None, number: int = 1) -> str:
    """The post page (page ``number`` of its body). ``comment_form`` (values, errors, message,
    preview) brings a rejected or previewed reply back. ``?cpage=N`` chooses the comment page
    (404 past the last)."""
    settings = site_settings()
    own = own_comment_ids()
    try:
        content = posts.post_page(found, number)
        cpage = posts.parse_page(request.args.get("cpage")) if request.args.get("cpage") else None
        section = comment_section(found, own, settings, cpage)
    except PageNotFound:
        abort(404)
    depth = max_thread_depth(settings)
    wanted = (comment_form.values.get("parent_id") if comment_form else None) or request.args.get(
        "replytocom", ""
    )
    extra: dict[str, Any] = {}
    if found.is_page:
        template, crumbs = "page.html", pages.page_crumbs(found, settings.site_title)
        extra = {"children": pages.child_pages(found), "page_url": pages.page_url(found)}
    else:
        template, crumbs = "post.html", posts.breadcrumbs_for(found, settings.site_title)
    return render_template(
        template,
        **extra,
        post=found,
        social=post_metadata(found, settings),
        content=content,
        breadcrumbs=crumbs,
        thread=section.thread,
        section=section,
        editable=editable_ids(section.comments, own, settings),
        comments_label=posts.comments_label(found.comment_count),
        thread_depth=depth,
        comment_form=comment_form,
        replying_to=next((c for c in section.comments if str(c.id) == wanted), None),
    )


@bp.route("/category/<path:path>/")
@conditional
def category(path: str) -> str:
    found = posts.find_category(path)
    if found is None:
        abort(404)
    where = PostFilter(category_ids=posts.descendant_ids(found))
    crumbs = posts.category_chain(found)
    return _render_list(
        "archive.html", where, heading=found.name, kind="category", category=found, chain=crumbs
    )


@bp.route("/tag/<slug>/")
@conditional
def tag(slug: str) -> str:
    found = posts.find_tag(slug)
    if found is None:
        abort(404)
    return _render_list("archive.html", PostFilter(tag_id=found.id), heading=found.name, kind="tag")


@bp.route("/author/<slug>/")
@conditional
def author(slug: str) -> str:
    found = posts.find_public_author(slug)
    if found is None:
        abort(404)
    return _render_list(
        "archive.html",
        PostFilter(author_id=found.id),
        heading=found.display_name,
        kind="author",
        author=found,
    )


@bp.route("/archive/<int:year>/")
@bp.route("/archive/<int:year>/<int:month>/")
@conditional
def date_archive(year: int, month: int | None = None) -> str:
    zone = site_settings().zone
    try:
        start, end = posts.month_range(year, month, zone)
    except ValueError:
        abort(404)
    heading = start.astimezone(zone).strftime("%B %Y") if month else str(year)
    return _render_list(
        "archive.html", PostFilter(start=start, end=end), heading=heading, kind="date"
    )
