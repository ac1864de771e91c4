"""The generated data set: users of every role, nested categories, tags, posts and comments.

Deterministic (a fixed random seed). Comment statuses are drawn before any row is written, so each
post's ``comment_count`` (its approved comments) is known when the post row is generated. One post,
the newest, has exactly 50 approved comments threaded five deep; the benchmark reads its page.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from blog.accounts.users import hash_password
from blog.models import CommentStatus, PostStatus, Role, digest_of_body
from blog.sanitize import html_to_text, render_markdown, sanitize_comment

FIFTY_SLUG = "fifty-threaded-comments"
FIFTY_COMMENTS = 50
CATEGORY_PATH = "security"  # an archive with a sub-category ("security/malware")
MODERATOR = "moderator"
PASSWORD = "bench-password"

# Status codes drawn per comment, and their weights (most replies get approved).
STATUSES = (CommentStatus.APPROVED, CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.TRASH)
STATUS_WEIGHTS = (88, 8, 3, 1)
APPROVED = 0

USERS = (
    ("admin", Role.ADMIN),
    ("editor", Role.EDITOR),
    (MODERATOR, Role.MODERATOR),
    ("author1", Role.AUTHOR),
    ("author2", Role.AUTHOR),
    ("author3", Role.AUTHOR),
    ("author4", Role.AUTHOR),
)
POST_AUTHOR_IDS = (1, 2, 4, 5, 6, 7)  # everyone but the moderator writes

# (id, name, slug, parent id)
CATEGORIES = (
    (1, "Uncategorized", "uncategorized", None),
    (2, "News", "news", None),
    (3, "Security", "security", None),
    (4, "Malware", "malware", 3),
    (5, "Guides", "guides", None),
    (6, "Opinion", "opinion", None),
)
PRIMARY_CYCLE = (2, 3, 4, 5, 6, 3, 2, 1)

WORDS = (
    "patch", "ransomware", "browser", "update", "breach", "password", "phishing", "vendor",
    "firmware", "router", "cloud", "backup", "encryption", "privacy", "audit", "kernel", "exploit",
    "botnet", "token", "mailbox", "network", "server", "laptop", "policy", "incident", "report",
    "warning", "release", "support", "license", "market", "partner", "customer",
)  # fmt: skip
TAGS = WORDS[:24]
NAMES = (
    "Sarah Mensah",
    "Daniel Brooks",
    "Aiko Tanaka",
    "Marta Nowak",
    "Luis Ortega",
    "Priya Raman",
    "Tom Becker",
    "Ines Duarte",
    "Omar Haddad",
    "Grace Liu",
    "Jonas Berg",
    "Chloe Martin",
)

POST_BODY = """\
{lead} The {a} team published details this week, and the {b} question is back on the agenda.

Most readers will not notice a thing. Administrators should check their {c} settings, read the
vendor's notes and plan the update for the next maintenance window.

## What changes

- The {a} component gets a fix for the reported {b} issue.
- Older {c} versions keep working but lose support next year.
- A short guide explains how to check whether you are affected.

The full report is long; the summary above covers what matters for most small offices.
"""

COMMENT_BODIES = (
    "Thanks, this is the clearest summary I have read so far.",
    "We applied the update yesterday and nothing broke. Good to know it matters.",
    "Does this also affect the older versions? Our office still runs a few of those.",
    "I disagree with the conclusion: the risk is smaller than the headline suggests.",
    "Useful checklist. I would add: test your backups before you need them.",
    "Our vendor said nothing about this. I will ask them on Monday.",
    "Same here. It took an afternoon, most of it waiting for the restart.",
    "Good point about the maintenance window; people forget to plan for it.",
    "Is there a way to check this from the command line?\n\nAsking for a small team.",
    "The report itself is worth reading, especially the part about the timeline.",
)


@dataclass(frozen=True)
class Size:
    name: str
    posts: int
    comments: int


SIZES = {"small": Size("small", 200, 3_000), "large": Size("large", 100_000, 1_000_000)}


@dataclass
class Plan:
    """What will be written: per post, its comments' statuses; rows are generated on demand."""

    size: Size
    now: datetime
    comments_per_post: list[int]
    statuses: bytearray  # one status index per comment, post by post
    approved_per_post: list[int]
    rng_seed: int = 20241129
    drafts: set[int] = field(default_factory=set)

    @property
    def total_comments(self) -> int:
        return len(self.statuses)

    @property
    def fifty_post_id(self) -> int:
        return self.size.posts

    @property
    def fifty_root_comment_id(self) -> int:
        return self.total_comments - FIFTY_COMMENTS + 1

    def published_at(self, post_id: int) -> datetime:
        spacing = timedelta(days=5 * 365) / self.size.posts
        return self.now - timedelta(hours=1) - spacing * (self.size.posts - post_id)

    def tables(self) -> Iterator[tuple[str, Sequence[str], Iterator[Sequence[Any]]]]:
        """(table, columns, rows) in an order that satisfies the foreign keys."""
        yield "users", USER_COLUMNS, self._users()
        yield (
            "categories",
            ("id", "name", "slug", "parent_id", "description"),
            iter([(cid, name, slug, parent, "") for cid, name, slug, parent in CATEGORIES]),
        )
        yield (
            "tags",
            ("id", "name", "slug"),
            iter([(i + 1, word.title(), word) for i, word in enumerate(TAGS)]),
        )
        yield "posts", POST_COLUMNS, self._posts()
        yield "post_categories", ("post_id", "category_id"), self._post_categories()
        yield "post_tags", ("post_id", "tag_id"), self._post_tags()
        yield "comments", COMMENT_COLUMNS, self._comments()
        yield "settings", ("key", "value"), iter(self._settings())

    def _users(self) -> Iterator[Sequence[Any]]:
        password_hash = hash_password(PASSWORD)
        for i, (username, role) in enumerate(USERS, start=1):
            yield (
                i, username, username.title(), f"author-bench{i}", f"{username}@example.com",
                password_hash, role.value, True, f"bench-session-{username}", "", self.now,
            )  # fmt: skip

    def _posts(self) -> Iterator[Sequence[Any]]:
        bodies = [_post_body(i) for i in range(8)]
        for post_id in range(1, self.size.posts + 1):
            body_source, body_html, excerpt = bodies[post_id % len(bodies)]
            if post_id == self.fifty_post_id:
                title, slug = "Fifty threaded comments", FIFTY_SLUG
            else:
                n = len(WORDS)
                words = [
                    WORDS[post_id % n],
                    WORDS[(post_id // n + 7) % n],
                    WORDS[(post_id // 7 + 13) % n],
                ]
                title = f"{words[0].title()} {words[1]} and {words[2]}, part {post_id}"
                slug = f"{words[0]}-{words[1]}-and-{words[2]}-part-{post_id}"
            draft = post_id in self.drafts
            published = None if draft else self.published_at(post_id)
            created = published or self.now
            yield (
                post_id, title, slug, body_source, body_html, excerpt,
                POST_AUTHOR_IDS[post_id % len(POST_AUTHOR_IDS)],
                PRIMARY_CYCLE[post_id % len(PRIMARY_CYCLE)],
                (PostStatus.DRAFT if draft else PostStatus.PUBLISHED).value,
                published, created, created, True, self.approved_per_post[post_id - 1],
            )  # fmt: skip

    def _post_categories(self) -> Iterator[Sequence[Any]]:
        for post_id in range(1, self.size.posts + 1):
            primary = PRIMARY_CYCLE[post_id % len(PRIMARY_CYCLE)]
            yield post_id, primary
            if post_id % 4 == 0:
                yield post_id, 6 if primary != 6 else 2

    def _post_tags(self) -> Iterator[Sequence[Any]]:
        for post_id in range(1, self.size.posts + 1):
            first, second = post_id % len(TAGS), (post_id * 7 + 3) % len(TAGS)
            yield post_id, first + 1
            if second != first:
                yield post_id, second + 1

    def _comments(self) -> Iterator[Sequence[Any]]:
        rng = random.Random(self.rng_seed + 1)
        bodies = [(t, sanitize_comment(t), digest_of_body(t)) for t in COMMENT_BODIES]
        status_values = [s.value for s in STATUSES]
        comment_id = 0
        for post_index, count in enumerate(self.comments_per_post):
            if not count:
                continue
            post_id = post_index + 1
            published = self.published_at(post_id)
            step = (self.now - timedelta(minutes=1) - published) / (count + 1)
            fifty = post_id == self.fifty_post_id
            approved_ids: list[int] = []
            for j in range(count):
                comment_id += 1
                status = self.statuses[comment_id - 1]
                parent = None
                if fifty:
                    parent = comment_id - 1 if j % 5 else None
                elif approved_ids and rng.random() < 0.35:
                    parent = approved_ids[-1 - int(rng.random() * min(5, len(approved_ids)))]
                if status == APPROVED:
                    approved_ids.append(comment_id)
                reader = comment_id % 997
                user_id = POST_AUTHOR_IDS[reader % 6] if reader % 20 == 0 else None
                name = USERS[user_id - 1][0].title() if user_id else NAMES[reader % len(NAMES)]
                source, html, digest = bodies[(comment_id * 7) % len(bodies)]
                at = published + step * (j + 1)
                yield (
                    comment_id, post_id, parent, name, f"reader{reader}@example.com",
                    "https://example.com/" if reader % 10 == 1 else "", user_id, source, digest,
                    html, status_values[status],
                    "" if status == APPROVED else "Held for moderation",
                    f"10.{reader % 256}.{reader // 256}.{comment_id % 250 + 1}",
                    "Mozilla/5.0 (X11; Linux x86_64) bench", False, at, at,
                )  # fmt: skip

    def _settings(self) -> list[Sequence[Any]]:
        values = {
            "site_title": "Bench blog",
            "tagline": "A seeded blog for the benchmark",
            "comment_moderation": True,
            "flood_interval_seconds": 0,
            "content_version": {"at": self.now.isoformat()},
        }
        return [(key, json.dumps(value)) for key, value in values.items()]


USER_COLUMNS = (
    "id", "username", "display_name", "slug", "email", "password_hash", "role", "active",
    "session_token", "bio", "created_at",
)  # fmt: skip
POST_COLUMNS = (
    "id", "title", "slug", "body_source", "body_html", "excerpt", "author_id",
    "primary_category_id", "status", "published_at", "created_at", "updated_at", "comments_open",
    "comment_count",
)  # fmt: skip
COMMENT_COLUMNS = (
    "id", "post_id", "parent_id", "author_name", "author_email", "author_url", "user_id",
    "body_source", "body_digest", "body_html", "status", "held_reason", "ip_address", "user_agent",
    "notify_replies", "created_at", "updated_at",
)  # fmt: skip


def _post_body(variant: int) -> tuple[str, str, str]:
    a, b, c = (WORDS[(variant * k + 1) % len(WORDS)] for k in (2, 5, 9))
    source = POST_BODY.format(lead=f"Variant {variant}.", a=a, b=b, c=c)
    html = render_markdown(source)
    return source, html, html_to_text(html, limit=300)


def generate(size: Size, rng_seed: int = 20241129) -> Plan:
    """Decide how many comments each post gets and their statuses (the rows come later)."""
    rng = random.Random(rng_seed)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fifty = size.posts
    drafts = {p for p in range(97, size.posts, 97)}
    # Some posts draw many more replies than others (a Pareto weight per post).
    weights = [0.0 if p in drafts else rng.paretovariate(2.0) for p in range(1, fifty)]
    others = size.comments - FIFTY_COMMENTS
    per_post = [0] * size.posts
    for index in rng.choices(range(fifty - 1), weights=weights, k=others):
        per_post[index] += 1
    per_post[fifty - 1] = FIFTY_COMMENTS
    statuses = bytearray(rng.choices(range(len(STATUSES)), weights=STATUS_WEIGHTS, k=others))
    statuses.extend(bytes(FIFTY_COMMENTS))  # all approved
    approved: list[int] = []
    position = 0
    for count in per_post:
        approved.append(statuses[position : position + count].count(APPROVED))
        position += count
    return Plan(size, now, per_post, statuses, approved, rng_seed, drafts)
