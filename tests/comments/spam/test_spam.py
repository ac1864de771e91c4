"""The spam filter: naive Bayes taught by moderators' decisions, used as rule 4b of SPEC section 6.

The labelled comments come from tests/spam_corpus.py (fixed seed): the filter is trained on one
half and judged on the other, whose spam links to domains it has never seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.comments.counts import find_drift
from blog.comments.moderation import ModerationAction, moderate_comments
from blog.comments.policy import History, decide
from blog.comments.spam.features import Sample, features
from blog.comments.spam.filter import (
    HAM,
    MAX_FEATURES,
    MODEL_KEY,
    SPAM,
    SpamModel,
    load_model,
    scores_for,
)
from blog.comments.spam.learning import IMPORTED_REASON, retrain
from blog.comments.transitions import create_comments
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role, Setting, User
from blog.settings import CONTENT_VERSION_KEY, Settings, save_settings
from tests import factories
from tests.commenting import comment_id, reader
from tests.comments.test_moderation_decide import a_candidate, a_post
from tests.paths import WXR_FIXTURE
from tests.spam_corpus import Labelled, corpus

P, A, S = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM


def sample(item: Labelled) -> Sample:
    return Sample(item.name, item.email, item.url, item.body_html, item.user_agent)


def trained_on(items: Iterable[Labelled]) -> SpamModel:
    model = SpamModel()
    for item in items:
        model.learn(features(sample(item)), SPAM if item.spam else HAM)
    return model


def judged(model: SpamModel, items: list[Labelled], threshold: float = 0.9) -> tuple[float, float]:
    """(share of the spam flagged, share of the ham flagged)."""
    flagged = [(item.spam, model.score(features(sample(item))) > threshold) for item in items]
    spam = [hit for is_spam, hit in flagged if is_spam]
    ham = [hit for is_spam, hit in flagged if not is_spam]
    return sum(spam) / len(spam), sum(ham) / len(ham)


# --- The classifier on its own ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [7, 2024])
def test_trained_on_one_half_it_flags_the_spam_of_the_other_half(seed: int) -> None:
    train, held_out = corpus(seed)
    caught, false_alarms = judged(trained_on(train), held_out)
    assert caught >= 0.9, caught
    assert false_alarms <= 0.05, false_alarms


def test_a_few_examples_of_each_already_tell_most_spam_apart() -> None:
    train, held_out = corpus(11)
    spam = [i for i in train if i.spam][:20]
    ham = [i for i in train if not i.spam][:20]
    caught, false_alarms = judged(trained_on(spam + ham), held_out)
    assert caught >= 0.8, caught
    assert false_alarms <= 0.05, false_alarms


def test_features_are_the_words_links_names_and_metadata() -> None:
    found = features(
        Sample(
            name="Cheap Pills 24",
            email="promo123@mail.example.ru",
            url="https://www.shop.pills-example.xyz/buy/now",
            body_html='<p>Best <b>CASINO</b> bonus: <a href="http://spins.example.top/go" '
            'rel="nofollow ugc noopener">here</a> and '
            '<a href="https://Example.org/?a=1&amp;b=2">there</a> for $50!!!</p>',
            user_agent="python-requests/2.31",
        )
    )
    assert {"w:best", "w:casino", "w:bonus", "w:here", "w:there"} <= found
    assert {"link:spins.example.top", "linkdomain:example.top", "linktld:top"} <= found
    assert {"link:example.org", "links:2"} <= found
    assert {"email:mail.example.ru", "emailtld:ru", "emaillocal:digits"} <= found
    assert {"url:shop.pills-example.xyz", "urltld:xyz", "url:path"} <= found
    assert {"name:cheap", "name:pills", "name:digits", "namewords:3"} <= found
    assert {"money", "exclamations", "ua:script", "os:other"} <= found
    assert not any(token.startswith("w:http") for token in found)  # links are not words


def test_a_plain_comment_has_none_of_the_tell_tale_features() -> None:
    found = features(
        Sample(
            "Ann Lee",
            "ann@example.com",
            "",
            "<p>Thanks, this helped.</p>",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
    )
    assert {"links:0", "url:none", "ua:firefox", "os:linux", "length:20-49"} <= found
    assert not {"money", "shouting", "exclamations", "name:digits"} & found


def test_what_the_model_never_saw_leans_nowhere() -> None:
    model = trained_on(corpus(3)[0])
    prior = model.examples[SPAM] / sum(model.examples)
    assert model.score({"w:zyzzyva", "link:never-seen.example"}) == pytest.approx(prior)


def test_taking_an_example_back_leaves_the_model_as_before() -> None:
    train, _ = corpus(5)
    model = trained_on(train[:50])
    before = SpamModel.from_json(model.to_json())
    extra = features(sample(train[60]))
    model.learn(extra, SPAM)
    model.learn(extra, SPAM, -1)
    assert (model.examples, model.counts, model.totals) == (
        before.examples,
        before.counts,
        before.totals,
    )


def test_counts_never_go_below_zero_when_taking_back_what_was_not_learned() -> None:
    model = SpamModel()
    model.learn({"w:hello"}, HAM)
    model.learn({"w:hello", "w:other"}, SPAM, -1)
    assert model.examples == [0, 1]
    assert model.counts == {"w:hello": [0, 1]}
    assert model.totals == [0, 1]


def test_the_model_is_kept_to_a_bounded_size() -> None:
    model = SpamModel()
    for i in range(MAX_FEATURES + 500):
        model.learn({f"w:word{i}", "w:common"}, i % 2)
        model.forget_rare()
    assert len(model.counts) <= MAX_FEATURES
    assert "w:common" in model.counts
    assert model.totals[SPAM] == sum(c[SPAM] for c in model.counts.values())


def test_the_model_reads_back_what_it_wrote() -> None:
    model = trained_on(corpus(9)[0])
    again = SpamModel.from_json(model.to_json())
    assert (again.examples, again.counts, again.totals) == (
        model.examples,
        model.counts,
        model.totals,
    )


# --- Rule 4b in the decision (pure) ----------------------------------------------------------

OPEN = Settings(comment_moderation=False, spam_threshold=0.9)


def test_rule_4b_a_score_above_the_threshold_is_spam_and_says_so() -> None:
    decision = decide(a_candidate(spam_score=0.976), a_post(), OPEN, _known())
    assert (decision.status, decision.rule) == (S, 4)
    assert decision.reason == "spam score 0.97"


@pytest.mark.parametrize("score", [None, 0.0, 0.5, 0.9])
def test_rule_4b_lets_a_score_at_or_below_the_threshold_through(score: float | None) -> None:
    decision = decide(a_candidate(spam_score=score), a_post(), OPEN, _known())
    assert (decision.status, decision.rule) == (A, 8)


def test_rule_4b_is_off_at_threshold_one() -> None:
    decision = decide(
        a_candidate(spam_score=1.0), a_post(), OPEN.replace(spam_threshold=1.0), _known()
    )
    assert decision.status == A


def test_rule_4b_comes_after_rule_4_and_before_rules_5_to_8() -> None:
    spammy = a_candidate(spam_score=0.99)
    # Rules 1 to 3 refuse first, whatever the score.
    assert decide(replace(spammy, errors={"email": "bad"}), a_post(), OPEN, _known()).rule == 1
    assert decide(spammy, a_post(comments_open=False), OPEN, _known()).rule == 2
    duplicate = decide(spammy, a_post(), OPEN, replace(_known(), duplicate=True))
    assert (duplicate.rule, duplicate.http_status) == (3, 409)
    # Rule 4 keeps its own reason.
    honeypot = decide(replace(spammy, honeypot="x"), a_post(), OPEN, _known())
    assert honeypot.reason == "spam: the hidden field was filled in"
    disallowed = decide(spammy, a_post(), OPEN.replace(disallowed_keys="kind"), _known())
    assert disallowed.reason.startswith("spam: disallowed word")
    # Rule 4b before rule 5 (a moderator's comment), 6 (manual moderation), 7 and 8.
    for candidate, settings in [
        (replace(spammy, by_moderator=True), OPEN),
        (spammy, Settings()),
        (spammy, OPEN.replace(moderation_keys="kind")),
        (spammy, OPEN),
    ]:
        decision = decide(candidate, a_post(), settings, _known())
        assert (decision.status, decision.reason) == (S, "spam score 0.99")


def _known() -> History:
    return History(has_approved=True)


# --- Taught by moderators, used on new comments ----------------------------------------------


def unique(items: Iterable[Labelled]) -> list[Labelled]:
    seen: set[str] = set()
    kept = []
    for item in items:
        if item.body not in seen:
            seen.add(item.body)
            kept.append(item)
    return kept


def submit(app: Flask, post: Post, item: Labelled) -> int:
    client = reader(app)
    response = client.post(
        f"/blog/{post.slug}/comments",
        data={"name": item.name, "email": item.email, "url": item.url, "body": item.body},
        headers={"User-Agent": item.user_agent},
    )
    return comment_id(response)


def bulk(moderator: FlaskClient, action: str, ids: list[int]) -> None:
    response = moderator.post("/admin/comments/bulk", data={"action": action, "ids": ids})
    assert response.status_code == 303


def status_and_reason(cid: int) -> tuple[CommentStatus, str]:
    row = db.session.execute(
        select(Comment.status, Comment.held_reason).where(Comment.id == cid)
    ).one()
    return row[0], row[1]


def test_moderators_teach_the_filter_and_it_catches_the_next_wave_through_the_form(
    app: Flask, moderator: FlaskClient
) -> None:
    save_settings({"flood_interval_seconds": 0})
    post = factories.make_post()
    train, held_out = corpus(21)
    spam_train = unique(i for i in train if i.spam)[:30]
    ham_train = unique(i for i in train if not i.spam)[:30]
    spam_ids = [submit(app, post, item) for item in spam_train]
    ham_ids = [submit(app, post, item) for item in ham_train]
    assert {status_and_reason(cid) for cid in spam_ids} == {(P, "held: manual moderation is on")}
    bulk(moderator, "spam", spam_ids)
    bulk(moderator, "approve", ham_ids)
    assert load_model().examples == [30, 30]

    spam_test = unique(i for i in held_out if i.spam)[:25]
    ham_test = unique(i for i in held_out if not i.spam)[:25]
    caught = [status_and_reason(submit(app, post, item)) for item in spam_test]
    passed = [status_and_reason(submit(app, post, item)) for item in ham_test]
    flagged = [reason for status, reason in caught if status == S]
    assert len(flagged) >= 0.9 * len(spam_test), caught
    assert all(re.fullmatch(r"spam score (0\.9\d|1\.00)", reason) for reason in flagged)
    assert sum(status == S for status, _ in passed) <= 0.05 * len(ham_test), passed
    assert find_drift() == []
    # Its own decisions taught it nothing.
    assert load_model().examples == [30, 30]
    assert retrain().spam == 30


def test_the_filter_waits_until_it_has_seen_enough_of_each(
    app: Flask, users: dict[Role, User]
) -> None:
    save_settings({"flood_interval_seconds": 0, "spam_min_examples": 20})
    post = factories.make_post()
    train, held_out = corpus(4)
    store_all(post, [i for i in train if i.spam][:20], S)
    store_all(post, [i for i in train if not i.spam][:19], A)
    retrain()
    spam = next(i for i in held_out if i.spam)
    assert status_and_reason(submit(app, post, spam)) == (P, "held: manual moderation is on")
    store_all(post, [i for i in train if not i.spam][19:20], A)
    retrain()
    assert status_and_reason(submit(app, post, replace(spam, body=spam.body + " Now!")))[0] == S


def store_all(post: Post, items: Iterable[Labelled], status: CommentStatus) -> list[Comment]:
    """Comments as an import leaves them: a status decided elsewhere."""
    made = []
    for item in items:
        comment = Comment(
            post_id=post.id,
            author_name=item.name,
            author_email=item.email,
            author_url=item.url,
            body_source=item.body,
            body_html=item.body_html,
            user_agent=item.user_agent,
            ip_address="192.0.2.1",
        )
        create_comments([(comment, status)], IMPORTED_REASON, at=comment.created_at)
        made.append(comment)
    db.session.commit()
    return made


def model_state() -> tuple[list[int], dict[str, list[int]]]:
    model = load_model()
    return list(model.examples), {k: list(v) for k, v in model.counts.items()}


def test_queue_actions_and_retrain_agree(app: Flask, users: dict[Role, User]) -> None:
    post = factories.make_post()
    train, _ = corpus(8)
    pending = store_all(post, train[:40], P)
    imported = store_all(post, train[40:60], A)
    retrain()  # what an import brought is learned by retraining
    moderator = users[Role.MODERATOR]
    spam_ids = [c.id for c, item in zip(pending, train, strict=False) if item.spam]
    ham_ids = [c.id for c, item in zip(pending, train, strict=False) if not item.spam]
    moderate_comments(spam_ids, ModerationAction.SPAM, moderator)
    moderate_comments(ham_ids, ModerationAction.APPROVE, moderator)
    # Undo some: not spam (back to pending), unapprove, spam an approved one, trash an import.
    moderate_comments(spam_ids[:3], ModerationAction.NOT_SPAM, moderator)
    moderate_comments(ham_ids[:2], ModerationAction.UNAPPROVE, moderator)
    moderate_comments(ham_ids[2:4], ModerationAction.SPAM, moderator)
    moderate_comments([imported[0].id], ModerationAction.TRASH, moderator)
    incremental = model_state()
    training = retrain()
    assert model_state() == incremental
    n_spam = len(spam_ids) - 3 + 2
    n_ham = len(ham_ids) - 4 + len(imported) - 1
    assert (training.spam, training.ham) == (n_spam, n_ham)


def test_the_system_moving_a_comment_teaches_nothing(app: Flask, users: dict[Role, User]) -> None:
    post = factories.make_post()
    item = corpus(8)[0][0]
    (comment,) = store_all(post, [item], P)
    moderate_comments([comment.id], ModerationAction.APPROVE, None)  # a rule, not a person
    assert load_model().examples == [0, 0]
    assert retrain().ham == 0
    moderate_comments([comment.id], ModerationAction.SPAM, users[Role.EDITOR])
    assert load_model().examples == [1, 0]


def test_retrain_command_says_what_it_learned(app: Flask) -> None:
    post = factories.make_post()
    train, _ = corpus(12)
    store_all(post, [i for i in train if i.spam][:25], S)
    store_all(post, [i for i in train if not i.spam][:22], A)
    result = app.test_cli_runner().invoke(args=["blog", "spam", "retrain"])
    assert result.exit_code == 0, result.output
    assert "learned from 25 spam and 22 approved comment(s)" in result.output
    assert "the filter is on: comments scoring above 0.9 are spam" in result.output
    assert "most telling of spam: " in result.output
    save_settings({"spam_min_examples": 30})
    result = app.test_cli_runner().invoke(args=["blog", "spam", "retrain"])
    assert "the filter acts once it has seen 30 of each" in result.output


def test_an_unreadable_stored_model_counts_as_empty(app: Flask) -> None:
    db.session.add(Setting(key=MODEL_KEY, value="{not json"))
    db.session.commit()
    assert load_model().examples == [0, 0]
    post = factories.make_post()
    store_all(post, corpus(1)[0][:10], A)
    assert retrain().ham == 10


def test_the_settings_page_and_command_check_the_threshold(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    runner = app.test_cli_runner()
    for bad in ("1.5", "-0.1", "nan", "high"):
        result = runner.invoke(args=["blog", "settings", "--set", f"spam_threshold={bad}"])
        assert result.exit_code != 0
        assert "spam_threshold must be a number from 0 to 1" in result.output
    result = runner.invoke(args=["blog", "settings", "--set", "spam_threshold=0.95"])
    assert "spam_threshold = 0.95  (changed)" in result.output


# --- In the queue ----------------------------------------------------------------------------


def ready_filter(post: Post) -> None:
    train, _ = corpus(13)
    store_all(post, [i for i in train if i.spam][:25], S)
    store_all(post, [i for i in train if not i.spam][:25], A)
    retrain()


def test_the_queue_shows_each_comment_spam_score(moderator: FlaskClient) -> None:
    post = factories.make_post()
    ready_filter(post)
    _, held_out = corpus(13)
    spam = next(i for i in held_out if i.spam)
    ham = next(i for i in held_out if not i.spam)
    spam_comment, ham_comment = store_all(post, [spam, ham], P)
    page = moderator.get("/admin/comments/").text
    assert "Spam filter: on, learned from 25 spam and 25 approved comments" in " ".join(
        page.split()
    )
    scores = dict(re.findall(r'id="comment-(\d+)".*?Spam score (\d\.\d\d)', page, flags=re.S))
    assert float(scores[str(spam_comment.id)]) >= 0.9
    assert float(scores[str(ham_comment.id)]) <= 0.1
    assert 'class="spam-score spam-score-high"' in page


def test_the_queue_says_how_far_the_filter_has_come(moderator: FlaskClient) -> None:
    page = " ".join(moderator.get("/admin/comments/").text.split())
    assert "it acts once it has seen 20 spam and 20 approved comments (so far 0 and 0)" in page
    assert "Spam score" not in page


def test_scoring_the_queue_costs_one_query_whatever_the_number_of_comments(
    app: Flask, moderator: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post()
    ready_filter(post)
    moderator.get("/admin/comments/")  # this process now holds the model

    def measure(n: int) -> int:
        store_all(post, corpus(n)[1][:n], P)
        with count_queries() as counter:
            assert moderator.get("/admin/comments/").status_code == 200
        return counter.count

    assert measure(3) == measure(20)
    settings = load_settings_or_default()
    with count_queries() as counter:
        state, scores = scores_for([], settings)
    assert counter.count == 1 and state.ready and scores == {}


def load_settings_or_default() -> Settings:
    from blog.settings import load_settings

    return load_settings()


def test_a_retrain_reaches_every_process_through_the_revision(app: Flask) -> None:
    post = factories.make_post()
    ready_filter(post)
    first = load_model()
    assert load_model() is first  # parsed once, kept while the revision holds
    store_all(post, corpus(2)[0][:3], A)
    retrain()
    assert load_model() is not first
    assert load_model().examples[HAM] == first.examples[HAM] + 3


def test_learning_leaves_the_cached_pages_alone(app: Flask) -> None:
    post = factories.make_post()
    store_all(post, corpus(2)[0][:30], A)
    version = select(Setting.value).where(Setting.key == CONTENT_VERSION_KEY)
    before = db.session.scalar(version)
    retrain()
    assert db.session.scalar(version) == before
    assert load_model().examples[HAM] == 30


def test_a_wordpress_import_teaches_the_filter_its_statuses_on_retrain(app: Flask) -> None:
    fixture = WXR_FIXTURE
    result = app.test_cli_runner().invoke(args=["blog", "import-wxr", str(fixture)])
    assert result.exit_code == 0, result.output
    statuses = db.session.scalars(select(Comment.status)).all()
    training = retrain()
    assert (training.spam, training.ham) == (statuses.count(S), statuses.count(A))
    assert training.spam and training.ham
