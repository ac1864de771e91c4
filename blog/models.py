"""Typed SQLAlchemy 2 models: the data model of SPEC section 3."""

from __future__ import annotations

import enum
import hashlib
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from blog.extensions import Base


def utcnow() -> datetime:
    """Timezone-aware now in UTC; used as a column default callable."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and returns aware UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    AUTHOR = "author"
    MODERATOR = "moderator"


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class PostKind(enum.StrEnum):
    """A dated post in the blog, or a page: outside the lists, feeds and date archives, served
    at its own path (``/about/team/``) below its parent page."""

    POST = "post"
    PAGE = "page"


class RedirectTarget(enum.StrEnum):
    """What an old address leads to: an object (resolved to its address at request time, so a
    later change of slug needs no update) or a fixed path."""

    POST = "post"  # a post or a page
    CATEGORY = "category"
    TAG = "tag"
    AUTHOR = "author"
    PATH = "path"


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    TRASH = "trash"
    # Waiting for its author to click the link mailed to them (require_email_confirmation).
    UNCONFIRMED = "unconfirmed"


class CommentType(enum.StrEnum):
    """WordPress's comment_type: a reader's comment, or a notice that another site linked here
    (pingback, trackback), which has no reply, report or edit link."""

    COMMENT = "comment"
    PINGBACK = "pingback"
    TRACKBACK = "trackback"

    @property
    def label(self) -> str:
        """What the post page shows beside a linkback ("Pingback"), nothing for a comment."""
        return "" if self is CommentType.COMMENT else self.value.capitalize()


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as VARCHAR with a CHECK constraint: portable, and adding a value is a plain migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def generated_author_slug() -> str:
    """A public slug that says nothing about the account: for a user whose display name gives
    none of its own (blog.accounts.author_slugs), and the column default for code that sets none."""
    return f"author-{secrets.token_hex(4)}"


post_categories = Table(
    "post_categories",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    # A category's posts: covering, so an archive's count never reads the table.
    Index("ix_post_categories_category_id_post_id", "category_id", "post_id"),
)

post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_post_tags_tag_id_post_id", "tag_id", "post_id"),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(250))
    # The author archive's address, /author/<slug>/: public, unlike the username (SPEC 4, 11).
    slug: Mapped[str] = mapped_column(String(200), unique=True, default=generated_author_slug)
    email: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.AUTHOR)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the login session id: rotating it signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    bio: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    posts: Mapped[list[Post]] = relationship(back_populates="author")

    # Flask-Login protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown or HTML, as typed
    # The description rendered and sanitized like a post body (render_markdown).
    description_html: Mapped[str] = mapped_column(Text, default="", server_default="")

    parent: Mapped[Category | None] = relationship(remote_side=[id], lazy="joined", join_depth=4)

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)

    def __repr__(self) -> str:
        return f"<Tag {self.slug}>"


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        # Published posts, newest first. The id makes it cover counts and joins on PostgreSQL
        # (index-only scans) and completes the order (published_at DESC, id DESC).
        # The kind last: the lists leave pages out (reading.is_listed) and stay index-only.
        Index("ix_posts_status_published_at_id", "status", "published_at", "id", "kind"),
        Index(
            "ix_posts_author_id_status_published_at_id",
            "author_id",
            "status",
            "published_at",
            "id",
            "kind",
        ),
        # A page's children, and its lookup by slug within its parent.
        Index("ix_posts_parent_id", "parent_id"),
        # The sticky posts the home page shows first (blog.posts.reading.list_home): the few
        # sticky ones are found without walking the published posts.
        Index("ix_posts_sticky_status_published_at_id", "sticky", "status", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    primary_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[PostStatus] = mapped_column(
        _enum(PostStatus, "post_status"), default=PostStatus.DRAFT
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    comments_open: Mapped[bool] = mapped_column(Boolean, default=True)
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kind: Mapped[PostKind] = mapped_column(
        _enum(PostKind, "post_kind"), default=PostKind.POST, server_default=PostKind.POST.value
    )
    # Pages only: the page above this one (its address is the parent's path and this slug).
    # No foreign key: SQLite cannot add one to an existing table without copying it; deleting
    # a page moves its children up (blog.posts.pages).
    parent_id: Mapped[int | None] = mapped_column(Integer)
    menu_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # WordPress's sticky flag and post format ("" for the standard format, else "aside",
    # "gallery", "quote", ...): shown as classes on the post.
    sticky: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    post_format: Mapped[str] = mapped_column(String(20), default="", server_default="")

    author: Mapped[User] = relationship(back_populates="posts")
    primary_category: Mapped[Category | None] = relationship(foreign_keys=[primary_category_id])
    categories: Mapped[list[Category]] = relationship(secondary=post_categories)
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags)

    @property
    def is_page(self) -> bool:
        return self.kind == PostKind.PAGE

    def __repr__(self) -> str:
        return f"<Post {self.slug}>"


class PostRevision(Base):
    """A post's title, text and excerpt as one save left them, with who saved and when.

    Every save writes one (blog.posts.authoring), so the newest is the post as it is now;
    restoring an older one is itself a save. All are kept, as WordPress keeps them by default.
    """

    __tablename__ = "post_revisions"
    __table_args__ = (Index("ix_post_revisions_post_id_id", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    body_source: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # Who saved: the name is kept as it was, and stays when the account is deleted.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(250), default="")
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post] = relationship()
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<PostRevision {self.id} of post {self.post_id}>"


# The admin's posts list, newest first by publish date (else creation date): without it, every
# post was read and sorted for each page (about 250 ms at 100,000 posts).
# The kind last: the list leaves pages out, and reads it from the index.
Index(
    "ix_posts_listed_at_id",
    func.coalesce(Post.published_at, Post.created_at),
    Post.id,
    Post.kind,
)


# Characters that show nothing: text differing only by them is the same text to a reader.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"))


def digest_of_body(body: str) -> str:
    """The digest of a comment's text as the duplicate rule compares it (SPEC 5): Unicode
    compatibility forms folded (NFKC), invisible characters dropped, every run of whitespace
    (newlines included) one space, the ends trimmed."""
    text = " ".join(unicodedata.normalize("NFKC", body).translate(_INVISIBLE).split())
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        # The post page: approved comments of a post, in order.
        Index("ix_comments_post_id_status_created_at", "post_id", "status", "created_at"),
        # The moderation queue: comments of a status, newest first.
        Index("ix_comments_status_created_at", "status", "created_at"),
        # Flood and previously-approved checks: the status lets "approved before?" seek
        # (email, status); a status-only index would walk every approved comment.
        Index("ix_comments_author_email_status_created_at", "author_email", "status", "created_at"),
        Index("ix_comments_ip_address_created_at", "ip_address", "created_at"),
        # The duplicate rule: the same text on the same post.
        Index("ix_comments_post_id_body_digest", "post_id", "body_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), index=True
    )
    author_name: Mapped[str] = mapped_column(String(245), default="")
    author_email: Mapped[str] = mapped_column(String(100), default="")
    author_url: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # digest_of_body(body_source), kept in step by _digest_body.
    body_digest: Mapped[str] = mapped_column(String(32), default=lambda: digest_of_body(""))
    status: Mapped[CommentStatus] = mapped_column(
        _enum(CommentStatus, "comment_status"), default=CommentStatus.PENDING
    )
    comment_type: Mapped[CommentType] = mapped_column(
        _enum(CommentType, "comment_type"),
        default=CommentType.COMMENT,
        server_default=CommentType.COMMENT.value,
    )
    held_reason: Mapped[str] = mapped_column(String(200), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    notify_replies: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_approved: Mapped[bool] = mapped_column(  # "Email me when my comment is approved"
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last edit of the text
    # Deleted by its author while it had approved replies: the text is gone, the thread stays.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()
    user: Mapped[User | None] = relationship()

    @validates("body_source")
    def _digest_body(self, _key: str, body: str) -> str:
        self.body_digest = digest_of_body(body)
        return body

    def __repr__(self) -> str:
        return f"<Comment {self.id} on post {self.post_id} ({self.status})>"


class ModerationEvent(Base):
    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    # NULL actor means the system (the moderation rules, an import, a CLI command).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[CommentStatus | None] = mapped_column(
        _enum(CommentStatus, "event_from_status")
    )
    to_status: Mapped[CommentStatus] = mapped_column(_enum(CommentStatus, "event_to_status"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class CommentRevision(Base):
    """The text a comment had before one edit (by its author or a moderator), kept for
    moderators. The comment holds the current text; its revisions, what it said before."""

    __tablename__ = "comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who made the edit that replaced this text: a signed-in user, or None for an anonymous
    # reader (the comment's author, known by the commenter cookie). The name is kept as it was.
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    editor_name: Mapped[str] = mapped_column(String(245), default="")

    editor: Mapped[User | None] = relationship()


class CommentReport(Base):
    """A reader's report of a comment ("Report"), with the reason they gave."""

    __tablename__ = "comment_reports"
    __table_args__ = (
        Index("ix_comment_reports_comment_id_created_at", "comment_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Setting(Base):
    """One site or discussion setting; values are JSON text, typed by :mod:`blog.settings`."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token of the JSON API. Only the SHA-256 of the token is stored (see
    blog.accounts.tokens);
    it acts as its user, with that user's current role, while the user is active."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16), default="")  # its first characters, to tell it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} of user {self.user_id}>"


class SignInFailure(Base):
    """A refused sign-in (or one under way), for the limit on failed sign-ins per client
    address: shared by every worker and host through the database (blog.accounts.sign_in)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_client_at", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))  # a keyed hash of the address, not the address
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMessage(Base):
    """A notification waiting to be sent, or sent: written in the transaction of the change
    that caused it, so that it is committed with it or not at all (see blog.mail.outbox)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # Every other header (From, Message-ID, List-Unsubscribe...), as a JSON object.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A sender owns the message until then; past it, the message is anybody's to send again.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # given up for good
    last_error: Mapped[str] = mapped_column(String(500), default="")


class Media(Base):
    """An uploaded image (blog.posts.media): decoded and re-encoded on upload, stored under
    ``key`` by blog.posts.media_storage, with smaller copies listed in ``variants``."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Where the storage keeps the file and the end of its address (/media/<key>): unique and
    # never reused, so the file behind an address never changes (served as immutable).
    key: Mapped[str] = mapped_column(String(100), unique=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    mime: Mapped[str] = mapped_column(String(30))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(String(1000), default="")
    # Where an imported file came from: the old site's upload address without its scheme
    # ("old.example.org/wp-content/uploads/2023/05/photo.jpg"), so that a second import finds
    # it (blog.porting.wxr_media); None for an upload.
    origin: Mapped[str | None] = mapped_column(String(1000), unique=True, index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The resized copies, narrowest first: [{"key": ..., "width": ..., "height": ...}, ...].
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    uploaded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Media {self.id} {self.key}>"


class Redirect(Base):
    """An old address (a WordPress permalink, ``/?p=12``, a slug changed in the admin) and where
    its content lives now: answered with a 301 when nothing else lives at the address."""

    __tablename__ = "redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The path without its trailing slash, and ``?name=value`` for WordPress's query addresses
    # (blog.posts.redirects.address_key): one unique index serves the lookup.
    old_path: Mapped[str] = mapped_column(String(1000), unique=True)
    target_kind: Mapped[RedirectTarget] = mapped_column(_enum(RedirectTarget, "redirect_target"))
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_path: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return (
            f"<Redirect {self.old_path} -> {self.target_kind} {self.target_id or self.target_path}>"
        )
