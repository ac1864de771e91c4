"""The JSON shapes of the API (described in blog/api/openapi.py): posts, comments, lists.

Times are ISO 8601 in UTC with a ``Z`` (``2025-03-01T09:30:00Z``). Links are absolute: the
``SITE_URL`` setting, else this request's host. A public comment never carries an email, an IP
address or a user agent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import url_for

from blog import links
from blog.comments.recent import RecentComment
from blog.comments.threads import ThreadNode
from blog.models import Category, Comment, Post, Tag, User
from blog.posts.reading import breadcrumbs_for, category_path


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def absolute(path: str) -> str:
    """``path`` (as url_for builds it) as an absolute URL: blog.links."""
    return links.absolute(path)


def page_of(items: Sequence[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    """A list: ``pages`` is 0 when there is nothing, page 1 of it exists all the same."""
    return {
        "items": list(items),
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


def category_ref(category: Category) -> dict[str, Any]:
    path = category_path(category)
    return {
        "slug": category.slug,
        "name": category.name,
        "path": path,
        "url": absolute(url_for("public.category", path=path)),
    }


def tag_ref(tag: Tag) -> dict[str, Any]:
    return {
        "slug": tag.slug,
        "name": tag.name,
        "url": absolute(url_for("public.tag", slug=tag.slug)),
    }


def author_ref(user: User) -> dict[str, Any]:
    return {
        "slug": user.slug,
        "display_name": user.display_name,
        "url": absolute(url_for("public.author", slug=user.slug)),
    }


def post_summary(post: Post) -> dict[str, Any]:
    """A post in a list; categories and tags must be loaded with the list."""
    return {
        "id": post.id,
        "slug": post.slug,
        "title": post.title,
        "excerpt": post.excerpt,
        "url": absolute(url_for("public.post", slug=post.slug)),
        "author": author_ref(post.author),
        "published_at": iso(post.published_at),
        "updated_at": iso(post.updated_at),
        "primary_category": category_ref(post.primary_category) if post.primary_category else None,
        "categories": [category_ref(c) for c in post.categories],
        "tags": [tag_ref(t) for t in post.tags],
        "comment_count": post.comment_count,
    }


def post_detail(post: Post, site_title: str, comments_open: bool) -> dict[str, Any]:
    """One post: the summary plus the body, the breadcrumb trail and whether it takes replies."""
    crumbs = [
        {"label": c.label, "url": absolute(c.url) if c.url else None}
        for c in breadcrumbs_for(post, site_title)
    ]
    return {
        **post_summary(post),
        "body_html": post.body_html,
        "breadcrumbs": crumbs,
        "comments_open": comments_open,
    }


def post_for_writer(post: Post, site_title: str, comments_open: bool) -> dict[str, Any]:
    """What the writing endpoints answer: the post as readers will see it, its status and the
    Markdown source."""
    return {
        **post_detail(post, site_title, comments_open),
        "status": post.status.value,
        "body": post.body_source,
    }


def public_comment(node: ThreadNode) -> dict[str, Any]:
    """An approved comment as readers see it: ``parent_id`` is the approved comment it answers
    (null at the top level), ``depth`` its level on the post page (1 at the top), ``url`` its
    permalink (which redirects to the comment page that holds it)."""
    comment = node.comment
    parent = node.parent_node
    replied_to = comment.parent_id if parent is not None else None
    return {
        "id": comment.id,
        "parent_id": replied_to,
        "depth": node.depth,
        "author": {"name": comment.author_name, "url": comment.author_url or None},
        "body_html": comment.body_html,
        "created_at": iso(comment.created_at),
        "url": absolute(url_for("reader.permalink", comment_id=comment.id)),
    }


def moderated_comment(comment: Comment) -> dict[str, Any]:
    """A comment as moderators see it, with everything the queue shows."""
    post = comment.post
    return {
        "id": comment.id,
        "status": comment.status.value,
        "held_reason": comment.held_reason,
        "parent_id": comment.parent_id,
        "post": {"id": post.id, "slug": post.slug, "title": post.title},
        "author": {
            "name": comment.author_name,
            "email": comment.author_email,
            "url": comment.author_url or None,
            "ip_address": comment.ip_address,
            "user_agent": comment.user_agent,
        },
        "body": comment.body_source,
        "body_html": comment.body_html,
        "created_at": iso(comment.created_at),
    }


def recent_comment(found: RecentComment) -> dict[str, Any]:
    """A comment in the recent list: who, where, what, and its permalink (which redirects to
    the comment on its comment page)."""
    return {
        "id": found.id,
        "author": {"name": found.author_name, "url": found.author_url or None},
        "body_html": found.body_html,
        "created_at": iso(found.created_at),
        "url": absolute(url_for("reader.permalink", comment_id=found.id)),
        "post": {
            "slug": found.post_slug,
            "title": found.post_title,
            "url": absolute(url_for("public.post", slug=found.post_slug)),
        },
    }
