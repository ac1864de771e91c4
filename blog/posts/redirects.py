"""Old addresses that keep working: a 301 from where content used to live to where it is now.

The ``redirects`` table holds the addresses (:func:`address_key`: the path without its trailing
slash, plus ``?p=12`` for WordPress's query addresses) and what each leads to: a post, page,
category, tag or author by id, turned into its current address when asked, so that a later
change of slug needs no update; or a fixed path. The import fills it with every address the
export's items had; changing a post's, page's or category's slug in the admin adds the old one.

:func:`resolve` is asked only when nothing else answered (a 404, or the home page with a
WordPress query): one indexed query for the address, one to load its target. A few WordPress
addresses need no row: ``/wp-admin/`` and ``/wp-login.php``, ``?feed=``, ``?s=``, the date
archives (``/2024/03/``) and any old address followed by ``feed/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import ColumnElement, delete, or_, select, update

from blog.extensions import db
from blog.links import path_for
from blog.models import Category, Post, Redirect, RedirectTarget, Tag, User
from blog.posts.pages import address_of
from blog.posts.reading import category_path, is_visible

# WordPress's query addresses, in the order WordPress reads them.
QUERY_KEYS = ("p", "page_id", "attachment_id", "cat", "tag", "author")
MAX_KEY = 1000
_FEED_SUFFIX = re.compile(r"^(.*?)/feed(?:/(?:rss2?|rdf|atom))?/?$")
_DATE_ARCHIVE = re.compile(r"^/(\d{4})(?:/(\d{1,2}))?(?:/(\d{1,2}))?/?$")
_SITE_FEED = re.compile(r"^/(comments/)?feed/(rss2?|rdf|atom)/?$")
_FEEDS = {"rss2": "rss", "rss": "rss", "rdf": "rss", "atom": "atom"}
_COMMENT_FEEDS = {"comments-rss2": "rss", "comments-atom": "atom"}


def address_key(path: str, query: Mapping[str, str] | None = None) -> str | None:
    """The table's key for a request path (decoded) and its query: the path without its
    trailing slash (``/`` stays), ``/index.php`` as ``/``, then ``?name=value`` for the first
    WordPress query name present. None when the key would be too long to be an address."""
    path = "/" + path.strip("/") if path.strip("/") else "/"
    if path == "/index.php":
        path = "/"
    for name in QUERY_KEYS:
        value = (query or {}).get(name, "").strip()
        if value:
            path = f"{path}?{name}={value}"
            break
    # Bytes, not characters: PostgreSQL's index takes at most about 2,700 bytes an entry.
    fits = len(path.encode("utf-8", "surrogatepass")) <= MAX_KEY
    return path if fits and "\x00" not in path else None


def key_of_url(url: str, site_url: str) -> str | None:
    """The key of an absolute or root-relative link of the old site, or None for a link to
    another site (or no link at all)."""
    parts = urlsplit(url.strip())
    site = urlsplit(site_url.strip())
    if parts.scheme not in ("", "http", "https") or (parts.netloc and not site.netloc):
        return None
    if parts.netloc and _host(parts.netloc) != _host(site.netloc):
        return None
    if not parts.netloc and not parts.path.startswith("/"):
        return None
    return address_key(unquote(parts.path), dict(parse_qsl(parts.query)))


def _host(netloc: str) -> str:
    host = netloc.lower().rsplit("@", 1)[-1].split(":", 1)[0]
    return host.removeprefix("www.")


def add_redirect(
    old_key: str, kind: RedirectTarget, target_id: int | None = None, target_path: str = ""
) -> bool:
    """Record that ``old_key`` now leads to the target (no commit). An address already
    recorded is pointed at the new target; addresses that led to ``old_key`` lead straight to
    the target (no chain); an address that would lead to itself is not recorded. True when
    something changed."""
    if kind == RedirectTarget.PATH and address_key(urlsplit(target_path).path) == old_key:
        return False
    # A -> old_key and now old_key -> target: A -> target.
    db.session.execute(
        update(Redirect)
        .where(Redirect.target_kind == RedirectTarget.PATH, _path_is(old_key))
        .values(target_kind=kind, target_id=target_id, target_path=target_path)
        .execution_options(synchronize_session=False)
    )
    if kind == RedirectTarget.PATH:  # and drop any address that now leads to itself
        db.session.execute(
            delete(Redirect)
            .where(Redirect.target_kind == kind, Redirect.old_path == address_key(target_path))
            .execution_options(synchronize_session=False)
        )
    found = db.session.scalars(select(Redirect).where(Redirect.old_path == old_key)).first()
    if found is None:
        db.session.add(
            Redirect(
                old_path=old_key, target_kind=kind, target_id=target_id, target_path=target_path
            )
        )
        return True
    if (found.target_kind, found.target_id, found.target_path) == (kind, target_id, target_path):
        return False
    found.target_kind, found.target_id, found.target_path = kind, target_id, target_path
    return True


def _path_is(key: str) -> ColumnElement[bool]:
    return or_(Redirect.target_path == key, Redirect.target_path == key + "/")


def forget(key: str | None) -> None:
    """Something lives at this address again (a slug given back): it redirects no more."""
    if key is not None:
        db.session.execute(
            delete(Redirect)
            .where(Redirect.old_path == key)
            .execution_options(synchronize_session=False)
        )


def category_keys() -> dict[int, str]:
    """Every category's archive address as a redirect key (``/category/parent/child``): one
    query."""
    rows = {
        cid: (slug, parent)
        for cid, slug, parent in db.session.execute(
            select(Category.id, Category.slug, Category.parent_id)
        )
    }

    def path(cid: int) -> str:
        chain: list[str] = []
        current: int | None = cid
        while current is not None and current in rows and len(chain) < 20:
            chain.append(rows[current][0])
            current = rows[current][1]
        return "/".join(reversed(chain))

    return {cid: f"/category/{path(cid)}" for cid in rows}


def record_category_moves(before: dict[int, str]) -> None:
    """After categories changed slug or parent: each old archive address leads to its
    category (and the new ones redirect no more). ``before``: :func:`category_keys` then."""
    after = category_keys()
    for cid, old in before.items():
        new = after.get(cid)
        if new is not None and new != old:
            forget(new)
            add_redirect(old, RedirectTarget.CATEGORY, cid)


def target_url(redirect: Redirect) -> str | None:
    """Where a recorded address leads now; None when its target is gone or not public."""
    kind, target_id = redirect.target_kind, redirect.target_id
    if kind == RedirectTarget.PATH:
        return redirect.target_path or None
    if target_id is None:
        return None
    return address_of_target(kind, target_id, public_only=True)


def address_of_target(kind: RedirectTarget, target_id: int, public_only: bool) -> str | None:
    """The address of a post or page, category, tag or author by id; None when it is gone (or,
    ``public_only``, a post not visible to readers)."""
    if kind == RedirectTarget.POST:
        post = db.session.get(Post, target_id)
        if post is None or (public_only and not is_visible(post)):
            return None
        return address_of(post)
    if kind == RedirectTarget.CATEGORY:
        category = db.session.get(Category, target_id)
        return path_for("public.category", path=category_path(category)) if category else None
    if kind == RedirectTarget.TAG:
        tag = db.session.get(Tag, target_id)
        return path_for("public.tag", slug=tag.slug) if tag else None
    user = db.session.get(User, target_id)
    return path_for("public.author", slug=user.slug) if user is not None else None


def recorded(key: str) -> str | None:
    """The current address of a recorded old address, or None."""
    found = db.session.scalars(select(Redirect).where(Redirect.old_path == key)).first()
    return target_url(found) if found is not None else None


def resolve(path: str, query: Mapping[str, str]) -> str | None:
    """Where an address nothing answered now lives, or None: a recorded address, the feed of
    one, or one of WordPress's own addresses (see the module's docstring)."""
    key = address_key(path, query)
    if key is None:
        return None
    return recorded(key) or _feed_of_recorded(key) or wordpress_address(path, query)


def _feed_of_recorded(key: str) -> str | None:
    """``<old address>/feed/``: the feed of what the old address leads to."""
    matched = _FEED_SUFFIX.match(key)
    if matched is None or "?" in key:
        return None
    prefix = matched[1] or "/"
    found = db.session.scalars(select(Redirect).where(Redirect.old_path == prefix)).first()
    if found is None or found.target_id is None:
        return None
    if found.target_kind == RedirectTarget.CATEGORY:
        category = db.session.get(Category, found.target_id)
        if category is not None:
            return path_for("discovery.category_feed", path=category_path(category), fmt="rss")
    if found.target_kind == RedirectTarget.POST:
        post = db.session.get(Post, found.target_id)
        if post is not None and is_visible(post):
            return path_for("discovery.post_comments_feed", slug=post.slug, fmt="rss")
    return None


def wordpress_address(path: str, query: Mapping[str, str]) -> str | None:
    """Addresses every WordPress site has, which need no row: its admin and sign-in, its feeds
    and search by query, its date archives."""
    if path.startswith("/wp-admin"):
        return path_for("admin.dashboard")
    if path.startswith("/wp-login.php"):
        return path_for("auth.login")
    site_feed = _SITE_FEED.match(path)
    if site_feed is not None:
        endpoint = "discovery.comments_feed" if site_feed[1] else "discovery.posts_feed"
        return path_for(endpoint, fmt=_FEEDS[site_feed[2]])
    feed = query.get("feed", "")
    if feed in _FEEDS:
        return path_for("discovery.posts_feed", fmt=_FEEDS[feed])
    if feed in _COMMENT_FEEDS:
        return path_for("discovery.comments_feed", fmt=_COMMENT_FEEDS[feed])
    if query.get("s", "").strip():
        return path_for("discovery.search_results", q=query["s"])
    matched = _DATE_ARCHIVE.match(path)
    if matched is not None and 1 <= int(matched[2] or 1) <= 12:
        year = int(matched[1])
        if matched[2]:
            return path_for("public.date_archive", year=year, month=int(matched[2]))
        return path_for("public.date_archive", year=year)
    return None
