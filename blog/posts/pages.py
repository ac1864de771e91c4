"""Pages: WordPress's pages, kept as posts of the kind "page" (``Post.kind``).

A page shares everything a post has that a page needs (title, slug, body, status, comments and
their counts, the authoring rules), so comments, moderation and the admin's form serve both.
What differs lives here: a page sits below an optional parent page and answers at its path
(``/about/team/``), it is in no list, feed or date archive, and the sitemap and the site menu
lead to it. Pages are few (a site has tens, not thousands), so their tree is read whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from blog.extensions import db
from blog.links import path_for
from blog.models import Post, PostKind
from blog.posts.reading import Crumb, is_published

MAX_DEPTH = 20  # a parent chain longer than this is cut (and a loop never walked forever)


@dataclass(frozen=True)
class PageRow:
    """A page in the admin's list or the parent select: indented by its depth."""

    id: int
    title: str
    path: str
    depth: int
    status: str


def _tree() -> dict[int, tuple[str, int | None, str, str]]:
    """Every page: id -> (slug, parent id, title, status); one query."""
    rows = db.session.execute(
        select(Post.id, Post.slug, Post.parent_id, Post.title, Post.status).where(
            Post.kind == PostKind.PAGE
        )
    )
    return {pid: (slug, parent, title, str(status)) for pid, slug, parent, title, status in rows}


def _chain_ids(page_id: int, tree: dict[int, tuple[str, int | None, str, str]]) -> list[int]:
    """The page and its ancestors, outermost first (stops at a loop or a missing parent)."""
    chain: list[int] = []
    current: int | None = page_id
    while current is not None and current in tree and current not in chain:
        chain.append(current)
        current = tree[current][1]
        if len(chain) >= MAX_DEPTH:
            break
    return list(reversed(chain))


def page_paths() -> dict[int, str]:
    """Every page's path below the site root (``about/team``), by id: one query."""
    tree = _tree()
    return {pid: "/".join(tree[i][0] for i in _chain_ids(pid, tree)) for pid in tree}


def page_path(page: Post) -> str:
    """The page's path below the site root, ``about/team``."""
    if page.parent_id is None:
        return page.slug
    return page_paths().get(page.id, page.slug)


def page_url(page: Post, **values: Any) -> str:  # Any: url_for's values
    return path_for("public.page", path=page_path(page), **values)


def address_of(post: Post, **values: Any) -> str:  # Any: url_for's values
    """Where a post or a page answers (a path of this site); ``values`` go to the query."""
    if post.kind == PostKind.PAGE:
        return page_url(post, **values)
    return path_for("public.post", slug=post.slug, **values)


def find_page(path: str) -> Post | None:
    """The published page at ``/<path>/``, checking its whole parent chain, or None."""
    slugs = [s for s in path.strip("/").split("/") if s]
    if not slugs or len(slugs) > MAX_DEPTH:
        return None
    page = db.session.scalars(
        select(Post).where(Post.slug == slugs[-1], Post.kind == PostKind.PAGE, is_published())
    ).first()
    if page is None:
        return None
    if len(slugs) == 1 and page.parent_id is None:
        return page
    return page if page_path(page) == "/".join(slugs) else None


def page_crumbs(page: Post, site_title: str) -> list[Crumb]:
    """Site title > parent pages > the page."""
    tree = _tree()
    crumbs = [Crumb(site_title, path_for("public.home"))]
    chain = _chain_ids(page.id, tree)
    for depth, pid in enumerate(chain[:-1]):
        path = "/".join(tree[i][0] for i in chain[: depth + 1])
        crumbs.append(Crumb(tree[pid][2], path_for("public.page", path=path)))
    crumbs.append(Crumb(page.title, None))
    return crumbs


def child_pages(page: Post) -> list[tuple[str, str]]:
    """The published pages right below this one, as (title, url), in menu order."""
    prefix = page_path(page)
    rows = db.session.execute(
        select(Post.title, Post.slug)
        .where(Post.parent_id == page.id, Post.kind == PostKind.PAGE, is_published())
        .order_by(Post.menu_order, Post.title)
    )
    return [(title, path_for("public.page", path=f"{prefix}/{slug}")) for title, slug in rows]


def page_rows(exclude_id: int | None = None) -> list[PageRow]:
    """Every page as a tree (parents before their children), for the admin's list and the
    parent select; ``exclude_id`` leaves out a page and everything below it."""
    tree = _tree()
    children: dict[int | None, list[int]] = {}
    for pid, (_slug, parent, _title, _status) in tree.items():
        children.setdefault(parent if parent in tree else None, []).append(pid)
    rows: list[PageRow] = []

    def walk(parent: int | None, depth: int, path: str) -> None:
        for pid in sorted(children.get(parent, []), key=lambda i: tree[i][2].casefold()):
            if pid == exclude_id or depth >= MAX_DEPTH:
                continue
            slug, _parent, title, status = tree[pid]
            own = f"{path}/{slug}" if path else slug
            rows.append(PageRow(pid, title, own, depth, status))
            walk(pid, depth + 1, own)

    walk(None, 0, "")
    return rows


def parent_error(page_id: int | None, parent_id: int | None) -> str:
    """Why ``parent_id`` cannot be the parent of page ``page_id`` (None: a new page), or ""."""
    if parent_id is None:
        return ""
    tree = _tree()
    if parent_id not in tree:
        return "Choose the parent from the list of pages."
    if page_id is not None and page_id in _chain_ids(parent_id, tree):
        return "A page cannot be placed below itself or one of its own subpages."
    return ""


def descendants(page_id: int) -> list[int]:
    """The ids of every page below this one."""
    tree = _tree()
    return [pid for pid in tree if pid != page_id and page_id in _chain_ids(pid, tree)]


def lift_children(page: Post) -> None:
    """Before a page is deleted: its children move up to its parent (no foreign key does it)."""
    db.session.execute(
        update(Post)
        .where(Post.parent_id == page.id)
        .values(parent_id=page.parent_id)
        .execution_options(synchronize_session=False)
    )
