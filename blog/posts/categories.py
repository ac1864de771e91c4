"""Managing categories: the nested tree, adding, renaming, moving and deleting.

"Uncategorized" (the default category) can be renamed but keeps its address and cannot be
deleted. Deleting a category moves the posts that had no other category to "Uncategorized",
gives its sub-categories to its parent, and re-points primary categories, all in one
transaction of a few set-based statements (as WordPress does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Integer, and_, delete, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from blog.database import begin_write, rows_changed
from blog.extensions import db
from blog.models import Category, Post, User, post_categories
from blog.permissions import Action, ensure
from blog.posts import redirects
from blog.posts.authoring import (
    DEFAULT_CATEGORY_SLUG,
    MAX_CATEGORY_NAME,
    clean_text,
    default_category,
    render_description,
    slug_of_typed,
    unique_slug,
)
from blog.refusals import Refused
from blog.sanitize import SanitizeFailed

MAX_DESCRIPTION = 5_000
NOT_SAVED = "The category was not saved: please correct the marked fields."
SLUG_RACE = "Another category took this address just now; choose another."


class CategoryRejected(Refused, ValueError):
    """The category change was refused; ``fields`` maps form fields to messages."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, status_code: int = 400):
        super().__init__(message, status_code)
        self.fields = fields or {}


@dataclass(frozen=True)
class CategoryRow:
    category: Category
    depth: int
    posts: int  # posts filed under it, any status


def is_default(category: Category) -> bool:
    return category.slug == DEFAULT_CATEGORY_SLUG


def category_tree() -> list[CategoryRow]:
    """Every category, parents before their children, siblings by name; two queries."""
    counts: dict[int, int] = dict(
        db.session.execute(
            select(post_categories.c.category_id, func.count()).group_by(
                post_categories.c.category_id
            )
        )
        .tuples()
        .all()
    )
    everything = list(db.session.scalars(select(Category).order_by(Category.name, Category.id)))
    ids = {c.id for c in everything}
    children: dict[int | None, list[Category]] = {}
    for category in everything:
        parent = category.parent_id if category.parent_id in ids else None
        children.setdefault(parent, []).append(category)
    rows: list[CategoryRow] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for category in children.get(parent, []):
            if category.id in seen:
                continue
            seen.add(category.id)
            rows.append(CategoryRow(category, depth, int(counts.get(category.id, 0))))
            walk(category.id, depth + 1)

    walk(None, 0)
    for category in everything:  # a cycle left by hand in the database: still listed
        if category.id not in seen:
            seen.add(category.id)
            rows.append(CategoryRow(category, 0, int(counts.get(category.id, 0))))
    return rows


def _descendants(category_id: int) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for cid, parent_id in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(cid)
    found: set[int] = set()
    stack = [category_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


@dataclass(frozen=True)
class _Fields:
    name: str
    slug: str
    parent: Category | None
    description: str
    description_html: str

    def apply(self, category: Category) -> None:
        category.name, category.slug, category.parent = self.name, self.slug, self.parent
        category.description = self.description
        category.description_html = self.description_html


def _validated(
    name: str, slug: str, parent_id: int | None, description: str, own_id: int | None
) -> _Fields:
    fields: dict[str, str] = {}
    name = " ".join(clean_text(name).split())
    description = clean_text(description, keep_newlines=True).strip()
    typed_slug = clean_text(slug).strip()
    if not name:
        fields["name"] = "Please give the category a name."
    elif len(name) > MAX_CATEGORY_NAME:
        fields["name"] = f"Category names have at most {MAX_CATEGORY_NAME} characters."
    if len(description) > MAX_DESCRIPTION:
        fields["description"] = f"Descriptions have at most {MAX_DESCRIPTION:,} characters."
    shown = _rendered_description(description, fields)
    parent = _checked_parent(parent_id, own_id, fields)
    final = _chosen_slug(typed_slug, name, own_id, fields)
    if fields:
        raise CategoryRejected(NOT_SAVED, fields)
    return _Fields(name, final, parent, description, shown)


def _rendered_description(description: str, fields: dict[str, str]) -> str:
    if "description" in fields:
        return ""
    try:
        return render_description(description)
    except SanitizeFailed as error:
        fields["description"] = error.message
        return ""


def _checked_parent(
    parent_id: int | None, own_id: int | None, fields: dict[str, str]
) -> Category | None:
    """The parent category; a message in ``fields`` when it is gone or would make a loop."""
    if parent_id is None:
        return None
    parent = db.session.get(Category, parent_id)
    if parent is None:
        fields["parent"] = "That parent category no longer exists."
    elif own_id is not None and parent.id in _descendants(own_id):
        fields["parent"] = "A category cannot sit inside itself or one of its own children."
    return parent


def _chosen_slug(typed_slug: str, name: str, own_id: int | None, fields: dict[str, str]) -> str:
    """The typed slug (a message in ``fields`` when another category has it), or a free one
    made from the name."""
    if not typed_slug:
        return unique_slug(Category, name or "category", exclude_id=own_id)
    final, other = slug_of_typed(Category, Category.name, typed_slug, own_id)
    if other is not None:
        fields["slug"] = f"The address “{final}” is used by the category “{other}”."
    return final


@contextmanager
def _writing() -> Iterator[None]:
    """A write transaction that commits, or rolls back; a slug taken meanwhile by another
    request (the unique index) becomes CategoryRejected."""
    begin_write()
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CategoryRejected(SLUG_RACE, {"slug": SLUG_RACE}) from None
    except Exception:
        db.session.rollback()
        raise


def create_category(
    actor: User, name: str, slug: str = "", parent_id: int | None = None, description: str = ""
) -> Category:
    """Add a category. Raises NotAllowed or CategoryRejected."""
    ensure(actor, Action.MANAGE_CATEGORIES)
    with _writing():
        category = Category()
        _validated(name, slug, parent_id, description, None).apply(category)
        db.session.add(category)
    return category


def update_category(
    actor: User,
    category: Category,
    name: str,
    slug: str = "",
    parent_id: int | None = None,
    description: str = "",
) -> Category:
    """Rename, re-address, move or describe a category. The default keeps its address."""
    ensure(actor, Action.MANAGE_CATEGORIES)
    category_id = category.id
    with _writing():
        found = db.session.get(Category, category_id)
        if found is None:
            raise CategoryRejected("That category no longer exists.", status_code=404)
        if is_default(found):
            slug = DEFAULT_CATEGORY_SLUG
        fields = _validated(name, slug, parent_id, description, category_id)
        before = redirects.category_keys()
        fields.apply(found)
        db.session.flush()
        redirects.record_category_moves(before)
    return found


def delete_category(actor: User, category: Category) -> int:
    """Delete a category; returns how many posts moved to "Uncategorized" (their only category).

    Raises CategoryRejected (409) for the default category.
    """
    ensure(actor, Action.MANAGE_CATEGORIES)
    category_id = category.id
    begin_write()
    try:
        found = db.session.get(Category, category_id)
        if found is None:
            raise CategoryRejected("That category no longer exists.", status_code=404)
        if is_default(found):
            raise CategoryRejected(
                "“Uncategorized” is the default category and cannot be deleted.", status_code=409
            )
        fallback = default_category()
        moved = _move_orphans(category_id, fallback.id)
        _repoint_primaries(category_id, fallback.id)
        children = update(Category).where(Category.parent_id == category_id)
        db.session.execute(children.values(parent_id=found.parent_id))
        db.session.execute(delete(Category).where(Category.id == category_id))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()  # the ORM's loaded posts and categories predate the bulk statements
    return moved


def _move_orphans(category_id: int, fallback_id: int) -> int:
    """File under the fallback every post of this category that has no other category."""
    pc, other = post_categories, post_categories.alias("other")
    orphans = select(pc.c.post_id, literal(fallback_id, Integer)).where(
        pc.c.category_id == category_id,
        ~exists().where(and_(other.c.post_id == pc.c.post_id, other.c.category_id != category_id)),
    )
    return max(rows_changed(insert(pc).from_select(["post_id", "category_id"], orphans)) or 0, 0)


def _repoint_primaries(category_id: int, fallback_id: int) -> None:
    """Posts whose primary category goes away take their first remaining category."""
    remaining = (
        select(func.min(post_categories.c.category_id))
        .where(
            post_categories.c.post_id == Post.id,
            post_categories.c.category_id != category_id,
        )
        .scalar_subquery()
    )
    db.session.execute(
        update(Post)
        .where(Post.primary_category_id == category_id)
        .values(primary_category_id=func.coalesce(remaining, fallback_id)),
        execution_options={"synchronize_session": False},
    )


def find_category(category_id: int) -> Category | None:
    return db.session.get(Category, category_id)
