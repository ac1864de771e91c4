"""Automatic excerpts keep block boundaries (headings, paragraphs, items, cells, quotations,
code blocks stay apart; words never join), and ``<!--more-->`` ends the excerpt."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post, Role, User
from blog.porting.demo import OTHER_POSTS
from blog.posts.excerpts import automatic_excerpt, readable_text, split_more
from blog.sanitize import render_markdown
from tests import factories
from tests.posts.test_public_pages import text_of

WORDS = st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)
BLOCK = st.lists(WORDS, min_size=1, max_size=5)


def test_the_issue_s_table_reads_apart() -> None:
    """The demo's incident plan once read "Step Who Isolate the machine IT lead Call the
    insurer Director ..."."""
    (body,) = [p.body for p in OTHER_POSTS if p.title.endswith("incident plan")]
    excerpt = automatic_excerpt(body, render_markdown(body))
    assert "Step Who" not in excerpt and "machine IT" not in excerpt
    assert excerpt.endswith(
        "goes wrong. Step · Who · Isolate the machine · IT lead · Call the insurer · Director"
        " · Tell staff · Office manager"
    )


def test_headings_items_and_quotes_stay_apart_and_sentences_need_no_separator() -> None:
    body = "## Why it matters\n\nPlans fail.\n\n- first\n- second\n\n> Quoted\n\n```\ncode\n```"
    text = readable_text(render_markdown(body))
    assert text == "Why it matters · Plans fail. first · second · Quoted · code"


def _markdown_of(kind: str, words: list[str]) -> tuple[str, list[list[str]]]:
    """A Markdown block of this kind made of ``words``, and the blocks a reader should see."""
    line = " ".join(words)
    if kind == "heading":
        return f"## {line}", [words]
    if kind == "item":
        return "\n".join(f"- {w}" for w in words), [[w] for w in words]
    if kind == "cells":
        head = "| " + " | ".join(words) + " |"
        rule = "|" + " --- |" * len(words)
        return f"{head}\n{rule}\n{head}", [[w] for w in words] * 2
    if kind == "quote":
        return f"> {line}", [words]
    if kind == "code":
        return f"```\n{line}\n```", [words]
    return line, [words]


KINDS = st.sampled_from(["heading", "item", "cells", "quote", "code", "paragraph"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KINDS, BLOCK), min_size=1, max_size=8))
def test_no_two_words_from_different_blocks_are_ever_joined(
    blocks: list[tuple[str, list[str]]],
) -> None:
    parts = [_markdown_of(kind, words) for kind, words in blocks]
    source = "\n\n".join(markdown for markdown, _ in parts)
    expected = [words for _, seen in parts for words in seen]
    # Letters only: no block ends a sentence, so every boundary shows the separator.
    assert readable_text(render_markdown(source)) == " · ".join(" ".join(w) for w in expected)
    excerpt = automatic_excerpt(source, render_markdown(source))
    full = " · ".join(" ".join(w) for w in expected)
    assert excerpt == full or (
        excerpt.endswith("…") and full.startswith(excerpt[:-1]) and len(excerpt) <= 300
    )


CONTAINERS = {
    "p": ("", ""),
    "h3": ("", ""),
    "pre": ("", ""),
    "blockquote": ("", ""),
    "li": ("<ul>", "</ul>"),
    "td": ("<table><tbody><tr>", "</tr></tbody></table>"),
    "th": ("<table><thead><tr>", "</tr></thead></table>"),
    "dd": ("<dl>", "</dl>"),
    "figcaption": ("<figure>", "</figure>"),
}


@settings(max_examples=100, deadline=None)
@given(st.lists(BLOCK, min_size=1, max_size=6), st.sampled_from(sorted(CONTAINERS)))
def test_words_of_html_blocks_never_join(blocks: list[list[str]], tag: str) -> None:
    start, end = CONTAINERS[tag]
    inline = "".join(f"<{tag}><em>{' '.join(words)}</em></{tag}>" for words in blocks)
    html = start + inline + end
    words = readable_text(html).replace(" · ", " ").split()
    assert words == [w for block in blocks for w in block]


def test_the_more_tag_ends_the_excerpt_only_outside_code() -> None:
    body = "Intro **here**.\n\n<!--more-->\n\nThe rest of the story."
    assert split_more(body) == ("Intro **here**.\n\n", "\n\nThe rest of the story.")
    assert automatic_excerpt(body, render_markdown(body)) == "Intro here."
    inline = "Teaser words<!--more Read on--> and more"
    assert automatic_excerpt(inline, render_markdown(inline)) == "Teaser words"
    in_code = "```\n<!--more-->\n```\n\nUse `<!--more-->` to cut. " + "word " * 100
    assert split_more(in_code) is None
    excerpt = automatic_excerpt(in_code, render_markdown(in_code))
    assert excerpt.startswith("<!--more--> · Use <!--more--> to cut.") and excerpt.endswith("…")
    # The sanitizer drops HTML comments: the split is made on the source, before rendering.
    assert "more" not in render_markdown(body)


def test_the_home_page_shows_the_part_before_more_and_the_post_page_shows_all(
    client: FlaskClient, users: dict[Role, User]
) -> None:
    body = "The opening *teaser*.\n\n<!--more-->\n\nThe part only the post page shows."
    post = factories.make_post(author=users[Role.AUTHOR], title="Teased", body=body)
    assert post.excerpt == "The opening teaser."
    home = text_of(client.get("/"))
    assert "The opening teaser." in home and "Continue reading Teased" in home
    assert "The part only the post page shows." not in home
    page = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    assert "The opening <em>teaser</em>." in page and "The part only the post page shows." in page
    feed = client.get("/feed/").get_data(as_text=True)
    assert "<description>The opening teaser.</description>" in feed
    api = client.get(f"/api/v1/posts/{post.slug}").get_json()
    assert api["excerpt"] == "The opening teaser."


def test_a_typed_excerpt_wins_and_an_automatic_one_follows_the_text(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    author = client_as(Role.AUTHOR)
    fields: dict[str, Any] = {"title": "Own words", "body": "# Head\n\nBody", "action": "draft"}
    author.post("/admin/posts/new", data={**fields, "excerpt": "Mine."})
    author.post("/admin/posts/new", data={**fields, "title": "Automatic"})
    excerpts = {p.title: p.excerpt for p in db.session.scalars(select(Post))}
    assert excerpts == {"Own words": "Mine.", "Automatic": "Head · Body"}


def test_an_excerpt_made_by_the_old_rule_still_counts_as_automatic(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    """Posts saved before blocks were kept apart have "Head Body": the form leaves the excerpt
    field empty for them, so the next save makes the new automatic excerpt."""
    post = factories.make_post(author=users[Role.AUTHOR], title="Old", body="# Head\n\nBody")
    post.excerpt = "Head Body"
    db.session.commit()
    author = client_as(Role.AUTHOR)
    form = author.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert '<textarea id="f-excerpt" name="excerpt"' in form
    assert "Head Body</textarea>" not in form
    saved = author.post(
        f"/admin/posts/{post.id}/edit",
        data={"title": "Old", "slug": post.slug, "body": post.body_source, "action": "publish"},
    )
    assert saved.status_code == 303
    db.session.expire_all()
    saved_post = db.session.get(Post, post.id)
    assert saved_post is not None and saved_post.excerpt == "Head · Body"
