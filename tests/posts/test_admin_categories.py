"""Categories in the admin: nesting, unique addresses, the protected default, and deletion
that moves posts to "Uncategorized"."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from blog.extensions import db
from blog.models import Category, Post, Role
from blog.posts.authoring import default_category
from tests import factories


def category(slug: str) -> Category:
    db.session.expire_all()
    return db.session.scalars(select(Category).where(Category.slug == slug)).one()


def test_an_editor_adds_nested_categories_that_readers_can_browse(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    client = client_as(Role.EDITOR)
    assert client.post("/admin/categories/", data={"name": "Security"}).status_code == 303
    parent = category("security")
    added = client.post(
        "/admin/categories/",
        data={"name": "Malware & Ransomware", "parent": str(parent.id), "description": "Bad code"},
    )
    assert added.status_code == 303
    child = category("malware-ransomware")
    assert child.parent_id == parent.id and child.description == "Bad code"
    listing = client.get("/admin/categories/").get_data(as_text=True)
    assert listing.index("Security") < listing.index("— <a")  # the child is indented below
    post = factories.make_post(categories=[child])
    page = client.application.test_client().get("/category/security/malware-ransomware/")
    assert page.status_code == 200 and post.title in page.get_data(as_text=True)


def test_a_taken_or_missing_name_or_address_is_refused_with_the_typed_text_kept(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    factories.make_category("News")
    client = client_as(Role.ADMIN)
    taken = client.post(
        "/admin/categories/", data={"name": "Other", "slug": "news", "description": "Kept text"}
    )
    assert taken.status_code == 400
    html = taken.get_data(as_text=True)
    assert "is used by the category “News”" in html and "Kept text" in html
    blank = client.post("/admin/categories/", data={"name": "  "})
    assert blank.status_code == 400
    assert "Please give the category a name." in blank.get_data(as_text=True)
    bad_parent = client.post("/admin/categories/", data={"name": "X", "parent": "abc"})
    assert bad_parent.status_code == 400
    assert len(db.session.scalars(select(Category)).all()) == 1


def test_a_category_cannot_move_inside_its_own_child(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    parent = factories.make_category("Parent")
    child = factories.make_category("Child", parent=parent)
    response = client_as(Role.EDITOR).post(
        f"/admin/categories/{parent.id}/", data={"name": "Parent", "parent": str(child.id)}
    )
    assert response.status_code == 400
    assert "cannot sit inside itself" in response.get_data(as_text=True)
    assert category("parent").parent_id is None


def test_uncategorized_can_be_renamed_but_keeps_its_address_and_cannot_be_deleted(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    default = default_category()
    db.session.commit()
    client = client_as(Role.ADMIN)
    renamed = client.post(
        f"/admin/categories/{default.id}/", data={"name": "General", "slug": "general"}
    )
    assert renamed.status_code == 303
    assert category("uncategorized").name == "General"
    assert client.get(f"/admin/categories/{default.id}/delete").status_code == 409
    assert client.post(f"/admin/categories/{default.id}/delete").status_code == 409
    assert category("uncategorized") is not None


def test_deleting_a_category_moves_its_only_posts_to_uncategorized(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    doomed = factories.make_category("Doomed")
    sub = factories.make_category("Sub", parent=doomed)
    other = factories.make_category("Other")
    alone = factories.make_post(title="Alone", categories=[doomed])
    shared = factories.make_post(title="Shared", categories=[doomed, other])
    client = client_as(Role.EDITOR)
    question = client.get(f"/admin/categories/{doomed.id}/delete")
    assert question.status_code == 200 and "Are you sure" in question.get_data(as_text=True)
    assert category("doomed") is not None
    done = client.post(f"/admin/categories/{doomed.id}/delete")
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Category).where(Category.slug == "doomed")) is None
    alone_now = db.session.get(Post, alone.id)
    shared_now = db.session.get(Post, shared.id)
    assert [c.slug for c in alone_now.categories] == ["uncategorized"]
    assert alone_now.primary_category is not None
    assert alone_now.primary_category.slug == "uncategorized"
    assert [c.slug for c in shared_now.categories] == ["other"]
    assert shared_now.primary_category is not None and shared_now.primary_category.slug == "other"
    assert category("sub").parent_id is None  # children move up a level
    page = client.application.test_client().get(f"/blog/{alone_now.slug}/")
    crumbs = re.search(r'<nav class="breadcrumbs.*?</nav>', page.get_data(as_text=True), re.S)
    assert crumbs is not None and "Uncategorized" in crumbs.group(0)
    assert sub.id is not None


def test_authors_and_moderators_cannot_manage_categories(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    for role in (Role.AUTHOR, Role.MODERATOR):
        response = client_as(role).post("/admin/categories/", data={"name": "Sneaky"})
        assert response.status_code == 403
    assert db.session.scalar(select(Category).where(Category.name == "Sneaky")) is None


def test_an_author_cannot_add_a_category_through_the_post_form(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    response = client_as(Role.AUTHOR).post(
        "/admin/posts/new", data={"title": "T", "body": "b", "new_category": "Sneaky"}
    )
    assert response.status_code == 400
    assert "Only editors and admins may add categories." in response.get_data(as_text=True)
    assert db.session.scalar(select(Category).where(Category.name == "Sneaky")) is None
    assert db.session.scalar(select(Post)) is None
