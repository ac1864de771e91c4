"""How readers and machines find the content: search, feeds, the sitemap and robots.txt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)

from blog import links
from blog.cache.conditional import conditional
from blog.posts import feeds, search, sitemap
from blog.posts import reading as posts
from blog.posts.feeds import FeedFormat
from blog.posts.reading import Crumb, PageNotFound
from blog.settings import site_settings

bp = Blueprint("discovery", __name__)

SEARCH_PER_PAGE = 10
RSS = {"fmt": FeedFormat.RSS.value}
ATOM = {"fmt": FeedFormat.ATOM.value}


def absolute(endpoint: str, **values: Any) -> str:  # Any: url_for's values
    """The absolute URL of an endpoint (blog.links: SITE_URL's scheme and host when set)."""
    return links.absolute(url_for(endpoint, **values))


@bp.route("/search/")
@conditional
def search_results() -> str:
    raw = request.args.get("q", "")
    try:
        page_number = posts.parse_page(request.args.get("page"))
        query, page = search.search_posts(raw, page_number, SEARCH_PER_PAGE)
    except PageNotFound:
        abort(404)
    settings = site_settings()
    label = f"Search results for “{query.text}”" if query.text else "Search"
    crumbs = [Crumb(settings.site_title, url_for("public.home")), Crumb(label, None)]
    return render_template("search.html", query=query, page=page, crumbs=crumbs, heading=label)


# --- feeds ---------------------------------------------------------------------------------------


def _site() -> feeds.Site:
    settings = site_settings()
    return feeds.Site(links.site_origin(), settings.site_title, settings.tagline, settings.zone)


def _feed_response(body: bytes, fmt: FeedFormat) -> Response:
    return Response(body, content_type=f"{fmt.mimetype}; charset=utf-8")


def _format(fmt: str) -> FeedFormat:
    return FeedFormat(fmt)


@bp.route("/feed/", defaults=RSS)
@bp.route("/feed/atom/", defaults=ATOM)
@conditional
def posts_feed(fmt: str) -> Response:
    return _feed_response(feeds.posts_feed(_format(fmt), _site()), _format(fmt))


@bp.route("/category/<path:path>/feed/", defaults=RSS)
@bp.route("/category/<path:path>/feed/atom/", defaults=ATOM)
@conditional
def category_feed(path: str, fmt: str) -> Response:
    category = posts.find_category(path)
    if category is None:
        abort(404)
    return _feed_response(feeds.posts_feed(_format(fmt), _site(), category), _format(fmt))


@bp.route("/blog/<slug>/feed/", defaults=RSS)
@bp.route("/blog/<slug>/feed/atom/", defaults=ATOM)
@conditional
def post_comments_feed(slug: str, fmt: str) -> Response:
    post = posts.get_published_post(slug)
    if post is None:
        abort(404)
    return _feed_response(feeds.comments_feed(_format(fmt), _site(), post), _format(fmt))


@bp.route("/comments/feed/", defaults=RSS)
@bp.route("/comments/feed/atom/", defaults=ATOM)
@conditional
def comments_feed(fmt: str) -> Response:
    return _feed_response(feeds.comments_feed(_format(fmt), _site()), _format(fmt))


# --- crawlers ------------------------------------------------------------------------------------


def _xml(body: bytes) -> Response:
    return Response(body, content_type="application/xml; charset=utf-8")


def _per_file() -> int:
    return int(current_app.config.get("SITEMAP_URLS_PER_FILE", sitemap.URLS_PER_FILE))


@bp.route("/sitemap.xml")
@conditional
def sitemap_xml() -> Response:
    return _xml(sitemap.sitemap(absolute, _per_file()))


@bp.route("/sitemap-archives.xml")
@conditional
def sitemap_archives() -> Response:
    return _xml(sitemap.archives_sitemap(absolute, _per_file()))


@bp.route("/sitemap-posts-<int:number>.xml")
@conditional
def sitemap_posts(number: int) -> Response:
    try:
        return _xml(sitemap.posts_sitemap(absolute, number, _per_file()))
    except sitemap.SitemapNotFound:
        abort(404)


@bp.route("/robots.txt")
@conditional
def robots() -> Response:
    body = sitemap.robots_txt(absolute("discovery.sitemap_xml"))
    return Response(body, content_type="text/plain; charset=utf-8")


# The address /favicon.ico never changes with a release (unlike the fingerprinted
# /static/favicon.ico?v=... that the pages link, which nginx keeps a year): a week, so that a
# new icon reaches returning readers within one, while a browser asks at most once a week.
FAVICON_MAX_AGE = 7 * 24 * 3600


@bp.route("/favicon.ico")
def favicon() -> Response:
    """The site's icon where browsers and feed readers look for it whatever the page links."""
    # The bytes themselves (a few KB), not an open file: a browser that drops the request
    # midway would otherwise leave the file open.
    icon = Path(current_app.static_folder or "", "favicon.ico").read_bytes()
    response = Response(icon, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = FAVICON_MAX_AGE
    response.add_etag()
    response.make_conditional(request)
    return response
