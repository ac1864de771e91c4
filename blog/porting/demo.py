"""Demo content: the reference post of SPEC section 1 and enough around it to fill every page.

Idempotent: everything is looked up by its slug or username first, so a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from blog.accounts.author_slugs import public_slug
from blog.comments.transitions import create_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role, User
from blog.posts import authoring
from blog.sanitize import sanitize_comment
from blog.settings import load_settings, save_settings

SITE_TITLE = "Cyber1Defense Communication Ltd"
TAGLINE = "Security news and analysis"

REFERENCE_SLUG = "kaspersky-closing-down-its-uk-office"
# The demo's authors, made without a password (`flask blog set-password NAME` gives one).
DEMO_AUTHORS = ("evans", "lena")

REFERENCE_BODY = """\
Kaspersky, the Moscow-founded security vendor, is winding down its office in the United Kingdom
and letting go of a few dozen employees. The news arrives roughly three months after the company
began dismantling its business in the United States.

According to a company spokesperson, British customers will from now on be served through
resellers and partners rather than a local team. Kaspersky describes the change as a way to
pursue opportunities in the UK more efficiently, and says customers keep access to its European
staff and partner network. Fewer than fifty people are said to have worked at the London site.

The retreat follows a difficult year. The firm has spent a long time rejecting claims that it is
too close to the Russian state, and in June American authorities prohibited the sale of its
software in the US. That ban pushed the company out of the American market entirely: its
customers there were handed over to a newly formed antivirus brand, UltraAV.

That handover was not smooth. Some users found that their Kaspersky software had removed itself
from their Windows machines and that UltraAV had appeared in its place. Kaspersky maintains that
it warned customers ahead of the switch, even though it did not ask each of them for consent.

## What it means for UK customers

- Existing licences keep working; renewals and support go through partners.
- Businesses with managed contracts should check who their partner of record is.
- Nothing changes overnight for home users, but it is a good moment to review your options.
"""

REFERENCE_COMMENTS = [
    (
        "Sarah Mensah",
        "sarah@example.com",
        "Not surprised after the US ban. I wonder how many partners will want to carry the "
        "brand now.",
    ),
    (
        "Daniel Brooks",
        "daniel@example.org",
        "The forced switch to UltraAV was the part that worried me most. Software that swaps "
        "itself out without asking is a hard sell to any IT team.",
    ),
]


@dataclass(frozen=True)
class DemoPost:
    title: str
    body: str
    category: tuple[str, ...]  # path of category names, outermost first
    tags: tuple[str, ...]
    days_ago: int


OTHER_POSTS = [
    DemoPost(
        "Five habits that stop most phishing attacks",
        "Most successful breaches still start with an email. A few habits go a long way:\n\n"
        "<!--more-->\n\n"
        "1. Hover before you click, and read the real address.\n"
        "2. Treat urgency as a warning sign, not a reason to hurry.\n"
        "3. Use a password manager: it will not fill in a look-alike site.\n"
        "4. Turn on multi-factor authentication everywhere you can.\n"
        "5. Report the message, even when you are not sure.\n",
        ("Security", "Awareness"),
        ("phishing", "email"),
        3,
    ),
    DemoPost(
        "Patch Tuesday: what to install first",
        "This month's updates fix several flaws that are already being exploited. Start with the "
        "browser and the operating system, then office software, then everything else.\n\n"
        "> Patch what faces the internet first; it is what attackers reach first.\n",
        ("Security",),
        ("patching", "windows"),
        7,
    ),
    DemoPost(
        "Why small businesses need an incident plan",
        "An incident plan does not have to be long. It needs names, phone numbers and the first "
        "three things to do when something goes wrong.\n\n"
        "| Step | Who |\n| --- | --- |\n| Isolate the machine | IT lead |\n"
        "| Call the insurer | Director |\n| Tell staff | Office manager |\n",
        ("Business",),
        ("incident-response", "smb"),
        12,
    ),
    DemoPost(
        "Data protection basics for newsletters",
        "If you send a newsletter you hold personal data. Keep only what you need, say why you "
        "keep it, and make unsubscribing a single click.\n",
        ("Privacy",),
        ("gdpr", "email"),
        20,
    ),
]


def load_demo() -> list[str]:
    """Create the demo content where it is missing; returns what was created, for the CLI."""
    created: list[str] = []
    settings = load_settings()
    if settings.site_title != SITE_TITLE:
        save_settings({"site_title": SITE_TITLE, "tagline": TAGLINE})
        created.append("site settings")

    evans = _user("evans", "Evans Asare", Role.AUTHOR, created)
    evans_bio = "Evans writes about security, privacy and the business of both."
    if not evans.bio:
        evans.bio = evans_bio
    editor = _user("lena", "Lena Okafor", Role.EDITOR, created)
    db.session.commit()
    now = datetime.now(UTC).replace(microsecond=0)
    _reference_post(evans, now, created)
    _other_posts(evans, editor, now, created)
    return created


def _reference_post(evans: User, now: datetime, created: list[str]) -> None:
    """The post the product was asked to look like, with its comments."""
    if _post(REFERENCE_SLUG) is None:
        post = authoring.create_post(
            evans,
            "Kaspersky closing down its UK office",
            REFERENCE_BODY,
            tags=("kaspersky", "uk"),
            published_at=now - timedelta(days=1),
            slug=REFERENCE_SLUG,
        )
        _approved_comments(post, REFERENCE_COMMENTS, post.published_at or now)
        created.append(f"post {post.slug}")


def _other_posts(evans: User, editor: User, now: datetime, created: list[str]) -> None:
    for index, item in enumerate(OTHER_POSTS):
        slug = authoring.make_slug(item.title)
        if _post(slug) is not None:
            continue
        parent = None
        for name in item.category:
            parent = authoring.get_or_create_category(name, parent=parent)
        author = evans if index % 2 == 0 else editor
        post = authoring.create_post(
            author,
            item.title,
            item.body,
            categories=[parent] if parent else [],
            tags=item.tags,
            published_at=now - timedelta(days=item.days_ago),
        )
        created.append(f"post {post.slug}")


def _user(username: str, name: str, role: Role, created: list[str]) -> User:
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        # No password: demo authors cannot sign in until an admin sets one.
        user = User(
            username=username,
            display_name=name,
            slug=public_slug(name, username),
            role=role,
            password_hash="!",
        )
        db.session.add(user)
        db.session.flush()
        created.append(f"user {username}")
    return user


def _post(slug: str) -> Post | None:
    return db.session.scalars(select(Post).where(Post.slug == slug)).first()


def _approved_comments(post: Post, comments: list[tuple[str, str, str]], after: datetime) -> None:
    begin_write()
    made = [
        Comment(
            post_id=post.id,
            author_name=name,
            author_email=email,
            body_source=body,
            body_html=sanitize_comment(body),
            created_at=after + timedelta(hours=offset * 3),
            ip_address="127.0.0.1",
        )
        for offset, (name, email, body) in enumerate(comments, start=1)
    ]
    create_comments([(c, CommentStatus.APPROVED) for c in made], "demo content")
    db.session.commit()
