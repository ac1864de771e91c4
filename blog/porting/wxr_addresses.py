"""What an import does once every item has its new address: old addresses, links, the menu.

- Pages find their parent pages (a parent may come after its child in the file).
- Every old address of an imported item becomes a redirect (:mod:`blog.posts.redirects`): its
  permalink (``<link>``, whatever structure the site used: ``/2024/03/05/slug/``,
  ``/archives/123``, ``/news/slug/``...), its guid (``/?p=12``), ``/?p=ID`` and ``/?page_id=ID``,
  a post's bare ``/slug/`` (WordPress guesses it too), an attachment page's addresses (to the
  post it belongs to), ``/?cat=ID``, ``/?tag=slug``, ``/?author=ID`` and ``/author/login/``.
  Addresses already recorded are left alone, so a second run adds nothing.
- Links inside the new posts' content to old addresses (absolute with the old site's address,
  or root-relative) are rewritten to the new ones, and the content rendered again. With
  ``--uploads``, links and images pointing at an imported file (its resized copies too) lead
  to its media address, in every post of the file (one imported before without the files
  too), rendered again with the images' srcset; and each old upload address redirects to
  the file.
- The export's navigation menu (its ``nav_menu_item`` items) becomes the site menu
  (:mod:`blog.posts.menus`) unless one is set already. With several menus, the largest.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select, update

from blog.extensions import db
from blog.links import path_for
from blog.models import Category, Post, PostKind, Redirect, RedirectTarget, Setting, Tag, User
from blog.porting.wxr_media import UploadMap
from blog.porting.wxr_read import WxrDocument, WxrItem
from blog.posts.authoring import make_slug
from blog.posts.excerpts import automatic_excerpt, is_automatic
from blog.posts.media import render_post_body
from blog.posts.menus import MenuItem, menu_text
from blog.posts.pages import address_of
from blog.posts.reading import category_path
from blog.posts.redirects import address_key, address_of_target, key_of_url
from blog.sanitize import html_to_text

MENU_SETTING = "site_menu"
_LINK = re.compile(r"""(\b(?:href|src)\s*=\s*)(["'])(.*?)\2""", re.I | re.S)

Target = tuple[RedirectTarget, int]


@dataclass
class Imported:
    """What the import made of the document, for the passes here."""

    document: WxrDocument
    posts: dict[int, Post]  # by WordPress post id, created or found already there
    new_posts: list[Post]
    users: dict[int, User]  # by WordPress author id
    categories: dict[str, Category]  # by slug
    category_slugs: dict[int, str]  # WordPress term id -> slug
    tags: dict[str, Tag]  # by the export's slug (percent-decoded)
    uploads: UploadMap = field(default_factory=UploadMap)  # with --uploads: the files' media
    report_created: Counter[str] = field(default_factory=Counter)
    report_existing: Counter[str] = field(default_factory=Counter)

    @property
    def site(self) -> str:
        return self.document.blog_url or self.document.site_url


def finish_import(imported: Imported) -> None:
    """The passes of the module's docstring, in order (no commit)."""
    _page_parents(imported)
    stored = dict(db.session.execute(select(Redirect.old_path, Redirect.id)).tuples().all())
    addresses = _record_redirects(imported, stored)
    _record_upload_redirects(imported, stored)
    _rewrite_links(imported, addresses)
    _import_menu(imported, addresses)


def _page_parents(imported: Imported) -> None:
    for item in imported.document.items:
        page = imported.posts.get(item.wp_id or 0)
        if page is None or page not in imported.new_posts or page.kind != PostKind.PAGE:
            continue
        parent = imported.posts.get(item.parent_wp_id)
        if parent is not None and parent.kind == PostKind.PAGE and parent is not page:
            _keep_modified(page, parent_id=parent.id)


def _keep_modified(post: Post, **values: object) -> None:
    """Change an imported post in SQL, keeping WordPress's modification time (updated_at's
    onupdate would make it the import's)."""
    db.session.flush()
    db.session.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(updated_at=Post.updated_at, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(post)


# --- redirects -----------------------------------------------------------------------------


def _item_keys(item: WxrItem, site: str) -> Iterator[str | None]:
    yield key_of_url(item.link, site)
    if item.post_type != "attachment":  # an attachment's guid is its file, not a page
        yield key_of_url(item.guid, site)
    if item.wp_id is not None:
        yield address_key("/", {"p": str(item.wp_id)})
        if item.post_type == "page":
            yield address_key("/", {"page_id": str(item.wp_id)})
        if item.post_type == "attachment":
            yield address_key("/", {"attachment_id": str(item.wp_id)})


def _wanted(imported: Imported) -> Iterator[tuple[str | None, Target]]:
    """(old address, target) for every item and term, the surest first."""
    guesses: list[tuple[str | None, Target]] = []
    for item in imported.document.items:
        owner = imported.posts.get(
            item.parent_wp_id if item.post_type == "attachment" else (item.wp_id or 0)
        )
        if owner is None or item.post_type not in ("post", "page", "attachment"):
            continue
        target = (RedirectTarget.POST, owner.id)
        yield from ((key, target) for key in _item_keys(item, imported.site))
        if item.post_type == "post" and item.post_name:
            guesses.append((address_key(f"/{owner.slug}"), target))
    yield from _term_keys(imported)
    yield from guesses


def _term_keys(imported: Imported) -> Iterator[tuple[str | None, Target]]:
    for term_id, slug in imported.category_slugs.items():
        category = imported.categories.get(slug)
        if category is not None:
            yield address_key("/", {"cat": str(term_id)}), (RedirectTarget.CATEGORY, category.id)
    for slug, tag in imported.tags.items():
        yield address_key("/", {"tag": slug}), (RedirectTarget.TAG, tag.id)
    logins = {a.wp_id: a.login for a in imported.document.authors}
    for wp_id, user in imported.users.items():
        target = (RedirectTarget.AUTHOR, user.id)
        yield address_key("/", {"author": str(wp_id)}), target
        yield address_key(f"/author/{make_slug(logins.get(wp_id, '') or user.username)}"), target


def _record_redirects(imported: Imported, stored: dict[str, int]) -> dict[str, str]:
    """Store the old addresses not stored yet (``stored``: those stored, updated); returns
    every old address of the document with its new path (for the links and the menu)."""
    addresses: dict[str, str] = {}
    for key, target in _wanted(imported):
        path = address_of_target(*target, public_only=False)
        if key is None or path is None or key in addresses:
            continue
        addresses[key] = path  # for links, even to an address that stays the same
        if address_key(path) == key:
            continue
        if key in stored:
            imported.report_existing["redirects"] += 1
            continue
        db.session.add(Redirect(old_path=key, target_kind=target[0], target_id=target[1]))
        stored[key] = 0
        imported.report_created["redirects"] += 1
    db.session.flush()
    return addresses


# --- links inside content ------------------------------------------------------------------


def new_address(url: str, site: str, addresses: dict[str, str]) -> str | None:
    """The new path of a link to an old address (its #fragment kept), or None."""
    key = key_of_url(url, site)
    if key is None or key.startswith("/wp-content/"):  # files: the media import's
        return None
    found = addresses.get(key)
    if found is None and urlsplit(url).netloc and key == "/":
        found = path_for("public.home")  # the old site's home page
    if found is None:
        return None
    fragment = urlsplit(url).fragment
    return f"{found}#{fragment}" if fragment else found


def _record_upload_redirects(imported: Imported, stored: dict[str, int]) -> None:
    """Each old upload address (a resized copy's too) leads to its file's media address."""
    for path, address in imported.uploads.by_path.items():
        key = address_key(path)
        if key is None:
            continue
        if key in stored:
            imported.report_existing["redirects"] += 1
            continue
        db.session.add(Redirect(old_path=key, target_kind=RedirectTarget.PATH, target_path=address))
        stored[key] = 0
        imported.report_created["redirects"] += 1
    db.session.flush()


def _link_rewriter(
    imported: Imported, addresses: dict[str, str], new: bool
) -> Callable[[re.Match[str]], str]:
    """The substitution for one post's links: uploads to their media address; in a new
    post, old addresses to the new ones too."""
    site = imported.site

    def rewrite(match: re.Match[str]) -> str:
        found, kind = imported.uploads.address(match[3], site), "media links rewritten"
        if found is None and new:
            found, kind = new_address(match[3], site, addresses), "links rewritten"
        if found is None or found == match[3]:
            return match[0]
        imported.report_created[kind] += 1
        return f"{match[1]}{match[2]}{found}{match[2]}"

    return rewrite


def _rewrite_links(imported: Imported, addresses: dict[str, str]) -> None:
    """Links in the new posts; with uploads, links to the files in the posts that were there
    already too (imported once without --uploads)."""
    new = set(imported.new_posts)
    posts = list(imported.new_posts)
    if imported.uploads.by_path:
        posts += [p for p in dict.fromkeys(imported.posts.values()) if p not in new]
    for post in posts:
        source = _LINK.sub(_link_rewriter(imported, addresses, post in new), post.body_source)
        if source != post.body_source:
            body_html = render_post_body(source)
            excerpt = post.excerpt
            if is_automatic(excerpt, post.body_source, post.body_html):  # made from the body
                excerpt = automatic_excerpt(source, body_html)
            _keep_modified(post, body_source=source, body_html=body_html, excerpt=excerpt)


# --- the menu ------------------------------------------------------------------------------


def _menu_items(imported: Imported) -> list[WxrItem]:
    """The nav_menu_item items of the largest menu, in their order."""
    menus: dict[str, list[WxrItem]] = {}
    for item in imported.document.items:
        if item.post_type == "nav_menu_item" and item.status == "publish":
            menus.setdefault(item.menus[0] if item.menus else "", []).append(item)
    if not menus:
        return []
    largest = max(menus.values(), key=len)
    return sorted(largest, key=lambda i: (i.menu_order, i.wp_id or 0))


def _menu_link(imported: Imported, item: WxrItem, addresses: dict[str, str]) -> tuple[str, str]:
    """(address, the label of what it leads to) of a menu item; ("", "") when it leads
    nowhere this site has."""
    meta = item.meta
    kind, obj = meta.get("_menu_item_type", ""), meta.get("_menu_item_object", "")
    object_id = int(meta.get("_menu_item_object_id", "0") or 0)
    if kind == "post_type":
        post = imported.posts.get(object_id)
        if post is not None and post.status == "published":
            return address_of(post), post.title
    elif kind == "taxonomy" and obj == "category":
        category = imported.categories.get(imported.category_slugs.get(object_id, ""))
        if category is not None:
            return path_for("public.category", path=category_path(category)), category.name
    elif kind == "custom":
        url = meta.get("_menu_item_url", "").strip()
        new = new_address(url, imported.site, addresses)
        if new is None and key_of_url(url, imported.site) is not None:  # the site's own
            parts = urlsplit(url)
            new = parts.path + (f"?{parts.query}" if parts.query else "")
        return (new or url, "") if url.startswith(("http://", "https://", "/")) else ("", "")
    return "", ""


def _import_menu(imported: Imported, addresses: dict[str, str]) -> None:
    items = _menu_items(imported)
    if not items:
        return
    depth: dict[int, int] = {}
    menu: list[MenuItem] = []
    for item in items:
        url, label = _menu_link(imported, item, addresses)
        parent = int(item.meta.get("_menu_item_menu_item_parent", "0") or 0)
        depth[item.wp_id or 0] = depth[parent] + 1 if parent in depth else 0
        label = " ".join(html_to_text(item.title).split()) or label
        if not url or not label:
            imported.report_existing["menu items skipped"] += 1
            continue
        menu.append(MenuItem(label, url, depth[item.wp_id or 0]))
    stored = db.session.get(Setting, MENU_SETTING)
    if menu and (stored is None or not json.loads(stored.value or '""').strip()):
        db.session.merge(Setting(key=MENU_SETTING, value=json.dumps(menu_text(menu))))
        imported.report_created["menu items"] += len(menu)
    elif menu:
        imported.report_existing["menu items"] += len(menu)
