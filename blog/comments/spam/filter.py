"""A spam filter of our own (rule 4b of SPEC section 6): no captcha, no third-party service.

Naive Bayes, multinomial with Laplace smoothing and log probabilities, over the features of a
comment (:mod:`blog.comments.spam.features`): the words of its text, the domains it links to, the
number
of links, the commenter's name, email domain and website, its length and the browser family.
Each feature counts once per comment (binarized multinomial naive Bayes, which suits short
texts better). What it learns from is :mod:`blog.comments.spam.learning`.

The model (examples and feature counts per class) is JSON in the settings table under
``spam_model``, with a revision beside it: no schema change.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from blog.comments.spam.features import Sample, features
from blog.extensions import db
from blog.models import Comment, Setting
from blog.settings import Settings

log = logging.getLogger(__name__)

MODEL_KEY = "spam_model"
REVISION_KEY = "spam_model_revision"  # changes with every write; lets a process keep its copy
MODEL_FORMAT = 1
SPAM, HAM = 0, 1
# Past this many features the rarest are forgotten (down to 90%), which bounds the stored JSON
# to a few hundred kilobytes however much the filter has seen.
MAX_FEATURES = 20_000

# --- The model -------------------------------------------------------------------------------


@dataclass
class SpamModel:
    """Examples per class and, per feature, the examples of each class that had it."""

    examples: list[int] = field(default_factory=lambda: [0, 0])  # [spam, ham]
    counts: dict[str, list[int]] = field(default_factory=dict)  # feature -> [spam, ham]
    totals: list[int] = field(default_factory=lambda: [0, 0])  # sum of counts per class

    @classmethod
    def from_json(cls, text: str) -> SpamModel:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ValueError("not a spam model of this format")
        names, spam, ham = data["features"], data["spam"], data["ham"]
        counts = {str(k): [s, h] for k, s, h in zip(names, spam, ham, strict=True)}
        spam_examples, ham_examples = data["examples"]
        examples = [max(0, int(spam_examples)), max(0, int(ham_examples))]
        return cls(examples, counts, [int(sum(spam)), int(sum(ham))])

    def to_json(self) -> str:
        """Features and counts as three flat lists: about three times quicker to read back than
        a list per feature."""
        names = list(self.counts)
        data = {
            "format": MODEL_FORMAT,
            "examples": self.examples,
            "features": names,
            "spam": [self.counts[k][SPAM] for k in names],
            "ham": [self.counts[k][HAM] for k in names],
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    def ready(self, min_examples: int) -> bool:
        """Has it seen enough examples of each class to be trusted?"""
        return min(self.examples) >= max(1, min_examples)

    def learn(self, tokens: Iterable[str], label: int, sign: int = 1) -> None:
        """Add (``sign`` 1) or take back (-1) one example; counts never go below zero."""
        self.examples[label] = max(0, self.examples[label] + sign)
        for token in tokens:
            count = self.counts.get(token)
            if count is None:
                if sign < 0:
                    continue
                count = self.counts[token] = [0, 0]
            new = max(0, count[label] + sign)
            self.totals[label] += new - count[label]
            count[label] = new
            if count[SPAM] == count[HAM] == 0:
                del self.counts[token]

    def forget_rare(self, limit: int = MAX_FEATURES) -> None:
        """Past ``limit`` features, keep the 90% most frequent (so it does not happen each time)."""
        if len(self.counts) <= limit:
            return
        keep = sorted(self.counts.items(), key=lambda item: (-sum(item[1]), item[0]))
        self.counts = dict(keep[: limit * 9 // 10])
        self.totals = [sum(c[SPAM] for c in self.counts.values()), 0]
        self.totals[HAM] = sum(c[HAM] for c in self.counts.values())

    def score(self, tokens: Iterable[str]) -> float:
        """The probability that a comment with these features is spam (0 to 1).

        Features the model has never seen are left out: with Laplace smoothing alone, each
        would lean towards whichever class has seen fewer features.
        """
        spam_examples, ham_examples = self.examples
        if not spam_examples or not ham_examples:
            return 0.5
        vocabulary = len(self.counts)
        spam_norm = math.log(max(1, self.totals[SPAM] + vocabulary))
        ham_norm = math.log(max(1, self.totals[HAM] + vocabulary))
        log_odds = math.log(spam_examples) - math.log(ham_examples)
        for token in tokens:
            count = self.counts.get(token)
            if count is not None:
                log_odds += math.log(count[SPAM] + 1) - spam_norm
                log_odds -= math.log(count[HAM] + 1) - ham_norm
        return _logistic(log_odds)

    def telling(self, label: int, n: int = 10, min_count: int = 3) -> list[str]:
        """The ``n`` features that most point to ``label``, among those seen ``min_count`` times."""
        vocabulary = len(self.counts)
        norms = [math.log(max(1, self.totals[k] + vocabulary)) for k in (SPAM, HAM)]
        other = 1 - label

        def leaning(count: list[int]) -> float:
            mine = math.log(count[label] + 1) - norms[label]
            return mine - (math.log(count[other] + 1) - norms[other])

        common = [(t, c) for t, c in self.counts.items() if c[label] >= min_count]
        common.sort(key=lambda item: (-leaning(item[1]), item[0]))
        return [token for token, _ in common[:n]]


def _logistic(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


# --- Storage ---------------------------------------------------------------------------------


def load_model() -> SpamModel:
    """The stored model, for reading only; an empty one when there is none or it is unreadable.

    One query: the revision, and the model's text only when this process does not hold that
    revision already, so the model is parsed once per process and revision, not per request.
    """
    global _cached
    cached = _cached
    held = cached[0] if cached else ""
    rows = dict(db.session.execute(_model_statement(held)).tuples().all())
    revision = rows.get(REVISION_KEY)
    if MODEL_KEY not in rows:
        if revision and cached is not None and cached[0] == revision:
            return cached[1]
        return SpamModel()
    model = _parse(rows[MODEL_KEY])
    if revision:
        _cached = (revision, model)
    return model


_cached: tuple[str, SpamModel] | None = None


def _model_statement(held: str) -> Select[tuple[str, str]]:
    """The revision row, and the model's row unless the revision is ``held``."""
    is_held = select(Setting.key).where(Setting.key == REVISION_KEY, Setting.value == held).exists()
    return select(Setting.key, Setting.value).where(
        or_(Setting.key == REVISION_KEY, and_(Setting.key == MODEL_KEY, ~is_held))
    )


def _parse(text: str | None) -> SpamModel:
    if not text:
        return SpamModel()
    try:
        return SpamModel.from_json(text)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        log.warning("the stored spam model cannot be read; run `flask blog spam retrain`")
        return SpamModel()


def _upsert(key: str, value: str, replace: bool = True) -> None:
    """Insert or overwrite one settings row with a Core statement (the model is not public
    content: writing it leaves the pages' cache alone)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Setting).values(key=key, value=value)
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=[Setting.key], set_={"value": value}
        )
    else:
        statement = statement.on_conflict_do_nothing()
    db.session.execute(statement)


def load_for_update() -> SpamModel:
    """A fresh copy of the model, its row locked until the commit (PostgreSQL; on SQLite the
    write transaction already holds the lock)."""
    _upsert(MODEL_KEY, SpamModel().to_json(), replace=False)
    text = db.session.scalar(
        select(Setting.value).where(Setting.key == MODEL_KEY).with_for_update()
    )
    return _parse(text)


def save_model(model: SpamModel) -> None:
    """Write the model and a new revision in the caller's transaction."""
    _upsert(MODEL_KEY, model.to_json())
    _upsert(REVISION_KEY, uuid.uuid4().hex)


# --- Scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterState:
    """How far the filter has come, for the queue and the command line."""

    spam: int
    ham: int
    needed: int
    threshold: float

    @property
    def ready(self) -> bool:
        return min(self.spam, self.ham) >= max(1, self.needed)


def state_of(model: SpamModel, settings: Settings) -> FilterState:
    return FilterState(
        model.examples[SPAM],
        model.examples[HAM],
        settings.spam_min_examples,
        settings.spam_threshold,
    )


def submission_score(sample: Sample, settings: Settings) -> float | None:
    """The spam score of a new comment, or None while the filter has too few examples.

    Loads the model (one query); it never fails a submission.
    """
    model = load_model()
    if not model.ready(settings.spam_min_examples):
        return None
    return model.score(features(sample))


def scores_for(
    comments: Iterable[Comment], settings: Settings
) -> tuple[FilterState, dict[int, float]]:
    """The filter's state and the score of each comment (none while it is not ready); the
    model is loaded once (one query), whatever the number of comments."""
    model = load_model()
    state = state_of(model, settings)
    if not state.ready:
        return state, {}
    return state, {c.id: model.score(features(Sample.of(c))) for c in comments}


def describe_score(score: float) -> str:
    """``0.97`` style, never rounded up to a certainty it does not have."""
    return f"{math.floor(score * 100) / 100:.2f}"
