"""What pages draw from the posts alone, worked out once per posts version in each worker
(blog.cache.memo): the sidebar, the total of a post archive, the admin's posts by state. The
domain (blog.posts) works each out; the web layer decides to keep it. An approval leaves the posts
version alone, so these survive a stream of comments; any change to posts, categories, tags,
users or settings, or a scheduled post coming due, moves it."""

from __future__ import annotations

from blog.cache.memo import per_posts_version
from blog.models import User
from blog.posts import dashboards, reading
from blog.posts.reading import PostFilter, SidebarData


def sidebar_data() -> SidebarData:
    """The sidebar (its category counts read every published post)."""
    return per_posts_version("sidebar", reading.sidebar_data)


def count_published(where: PostFilter) -> int:
    """The number of posts in an archive (counting reads every post in it)."""
    return per_posts_version(("published", where), lambda: reading.count_published(where))


def post_state_counts(user: User) -> dict[str, int]:
    """The posts ``user`` may edit, by state (one query over every post in reach)."""
    key = ("post_state_counts", user.id, user.role)
    return per_posts_version(key, lambda: dashboards.post_state_counts(user))
