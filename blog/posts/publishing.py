"""The post form's publish box, as WordPress has it: "Save Draft" and one primary button.

The primary button reads "Publish" for a post not yet public, "Schedule" when the chosen date
lies ahead, and "Update" once the post is published (or scheduled). One click on it publishes
a new post. A writer whose role may not publish the post gets only "Save Draft": there is no
"pending review" status to submit a post to. A public post offers "Switch to Draft" instead
of "Save Draft", which takes it off the site.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from blog.models import Post, PostStatus, User, utcnow
from blog.permissions import Action, can


class FormAction(enum.StrEnum):
    """The buttons of the post form (the ``action`` field)."""

    PREVIEW = "preview"
    SAVE_DRAFT = "draft"
    PUBLISH = "publish"


@dataclass(frozen=True)
class PublishBox:
    primary: str | None  # "Publish", "Schedule", "Update"; None when the role may not publish
    draft: str | None  # "Save Draft", "Switch to Draft"; None when the post may not be unpublished
    is_public: bool  # published or scheduled already

    @property
    def may_publish(self) -> bool:
        return self.primary is not None


def may_publish(actor: User, post: Post | None) -> bool:
    """Whether ``actor`` may publish this post (a new one of their own when None)."""
    return can(actor, Action.PUBLISH_POST, post if post is not None else Post(author_id=actor.id))


def primary_label(post: Post | None, published_at: datetime | None, now: datetime) -> str:
    """ "Update" for a public post, "Schedule" when the chosen date lies ahead, else "Publish"."""
    if post is not None and post.status == PostStatus.PUBLISHED:
        return "Update"
    if published_at is not None:
        aware = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
        if aware > now:
            return "Schedule"
    return "Publish"


def publish_box(
    actor: User, post: Post | None, published_at: datetime | None, now: datetime | None = None
) -> PublishBox:
    """The buttons ``actor`` gets on the form of ``post`` (None: a new post) with this date."""
    allowed = may_publish(actor, post)
    public = post is not None and post.status == PostStatus.PUBLISHED
    primary = primary_label(post, published_at, now or utcnow()) if allowed else None
    draft = "Save Draft" if not public else "Switch to Draft" if allowed else None
    return PublishBox(primary, draft, public)


def status_for(action: str, post: Post | None, typed_status: str | None) -> PostStatus:
    """The status a save asks for: the button pressed decides ("Publish" and its other labels
    publish, "Save Draft" keeps a draft). Without one of them (a client that sends the status
    field instead), the typed status, else the post's own, else draft."""
    if action == FormAction.PUBLISH:
        return PostStatus.PUBLISHED
    if action == FormAction.SAVE_DRAFT:
        return PostStatus.DRAFT
    if typed_status in {s.value for s in PostStatus}:
        return PostStatus(typed_status)
    return post.status if post is not None else PostStatus.DRAFT
