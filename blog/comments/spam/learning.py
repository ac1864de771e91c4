"""What the spam filter learns from: the decisions people made.

A comment is an example of spam or of a good comment (ham) when it is in ``spam`` or
``approved`` and a person put it there (a moderator in the queue or the API), or it came from
elsewhere (imported, or with no moderation event). The rules' own first decision at submission,
the filter's included, never teaches it, so it cannot teach itself. Status changes update the
model in their own transaction (:func:`learn_changes`, called by
``blog.comments.transitions``); edits and erasures revise it (:func:`revise_examples`);
:func:`retrain` rebuilds it from the comments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import aliased

from blog.comments.spam.features import Sample, features
from blog.comments.spam.filter import HAM, SPAM, SpamModel, load_for_update, save_model
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, User

LABEL_OF = {CommentStatus.SPAM: SPAM, CommentStatus.APPROVED: HAM}
# The reason of the event an import writes (blog/porting/wxr_import.py): a decision made elsewhere.
IMPORTED_REASON = "imported"


def _decided_by_people(event: type[ModerationEvent]) -> ColumnElement[bool]:
    """SQL: the comment's latest event (``event``, outer-joined) leaves its status a decision
    made by a person or elsewhere, not by the rules at submission."""
    return or_(
        event.id.is_(None),
        event.actor_id.is_not(None),
        event.reason == IMPORTED_REASON,
        event.to_status != Comment.status,
    )


def _examples_among(comment_ids: Sequence[int]) -> set[int]:
    """Which of these comments are examples now (their status was decided by people)."""
    if not comment_ids:
        return set()
    latest = (
        select(ModerationEvent.comment_id, func.max(ModerationEvent.id).label("event_id"))
        .where(ModerationEvent.comment_id.in_(comment_ids))
        .group_by(ModerationEvent.comment_id)
        .subquery()
    )
    event = aliased(ModerationEvent)
    rows = db.session.scalars(
        select(Comment.id)
        .outerjoin(latest, latest.c.comment_id == Comment.id)
        .outerjoin(event, event.id == latest.c.event_id)
        .where(Comment.id.in_(comment_ids), _decided_by_people(event))
    )
    return set(rows)


def learn_changes(changes: Sequence[tuple[Comment, CommentStatus]], actor: User | None) -> None:
    """Update the model for status changes about to be made, in the caller's transaction.

    Call it before the statuses change. A change teaches the filter when a person (``actor``)
    moves a comment into spam or approved, and takes back what the comment taught it before
    when it leaves a status a person had decided. Nothing to learn costs no query.
    """
    moving = [(c, to) for c, to in changes if c.status != to]
    by_person = actor is not None
    if not any(c.status in LABEL_OF or (by_person and to in LABEL_OF) for c, to in moving):
        return
    taught = _examples_among([c.id for c, _ in moving if c.status in LABEL_OF])
    updates: list[tuple[frozenset[str], int | None, int | None]] = []
    for comment, to_status in moving:
        before = LABEL_OF.get(comment.status) if comment.id in taught else None
        after = LABEL_OF.get(to_status) if by_person else None
        if before != after:
            updates.append((features(Sample.of(comment)), before, after))
    if not updates:
        return
    model = load_for_update()
    for tokens, before, after in updates:
        if before is not None:
            model.learn(tokens, before, -1)
        if after is not None:
            model.learn(tokens, after, 1)
    model.forget_rare()
    save_model(model)


def revise_examples(
    revisions: Sequence[tuple[Comment, Sample | None]], forget_hosts: Iterable[str] = ()
) -> None:
    """Before comments are rewritten or deleted, in the caller's transaction: take back what
    each taught the filter and learn its new version (None: deleted, nothing to learn), then
    forget every feature naming one of ``forget_hosts`` (an erased commenter's website)."""
    hosts = {host for host in forget_hosts if host}
    taught = _examples_among([c.id for c, _ in revisions if c.status in LABEL_OF])
    if not taught and not hosts:
        return
    model = load_for_update()
    for comment, revised in revisions:
        if comment.id in taught:
            label = LABEL_OF[comment.status]
            model.learn(features(Sample.of(comment)), label, -1)
            if revised is not None:
                model.learn(features(revised), label)
    for token in [t for t in model.counts if t.partition(":")[2] in hosts]:
        spam, ham = model.counts.pop(token)
        model.totals = [model.totals[SPAM] - spam, model.totals[HAM] - ham]
    save_model(model)


@dataclass(frozen=True)
class Training:
    """What :func:`retrain` learned."""

    spam: int
    ham: int
    features: int
    spam_features: list[str]
    ham_features: list[str]


def retrain() -> Training:
    """Rebuild the model from every comment that is an example now, and commit."""
    begin_write()
    load_for_update()  # hold the row: a concurrent action's update waits for this one
    latest = (
        select(ModerationEvent.comment_id, func.max(ModerationEvent.id).label("event_id"))
        .group_by(ModerationEvent.comment_id)
        .subquery()
    )
    event = aliased(ModerationEvent)
    rows = db.session.execute(
        select(
            Comment.status,
            Comment.author_name,
            Comment.author_email,
            Comment.author_url,
            Comment.body_html,
            Comment.user_agent,
        )
        .outerjoin(latest, latest.c.comment_id == Comment.id)
        .outerjoin(event, event.id == latest.c.event_id)
        .where(Comment.status.in_(list(LABEL_OF)), _decided_by_people(event))
        .order_by(Comment.id)
        .execution_options(yield_per=500)
    )
    model = SpamModel()
    for status, *fields in rows:
        model.learn(features(Sample(*fields)), LABEL_OF[status])
        model.forget_rare()
    save_model(model)
    db.session.commit()
    return Training(
        spam=model.examples[SPAM],
        ham=model.examples[HAM],
        features=len(model.counts),
        spam_features=model.telling(SPAM),
        ham_features=model.telling(HAM),
    )
