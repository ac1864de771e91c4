"""A readable diff of two texts, as HTML: what the revisions' comparison shows.

Lines are matched with difflib; a changed line shows its removed words in ``<del>`` and its
added ones in ``<ins>``; unchanged stretches are cut to a few lines around each change; every
piece of text is escaped.

Cost is bounded whatever the texts (difflib's matchers cost up to the square of their input):
the common start and end are set aside first (an edit in one place of a long post costs
linear time); beyond MAX_MATCHED_LINES changed lines on a side, the changed stretch is shown
as removed and added without matching lines; words are matched only until WORD_BUDGET (the
sum, over the changed lines, of the product of their token counts) is spent, later changed
lines being shown whole; and at most MAX_SHOWN_LINES lines are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from difflib import SequenceMatcher

from markupsafe import Markup, escape

CONTEXT_LINES = 2
MAX_MATCHED_LINES = 3_000  # about 0.3 s for difflib at worst
WORD_BUDGET = 250_000  # about 0.25 s at worst
MAX_SHOWN_LINES = 2_000
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")
_SKIP = Markup('<div class="diff-line diff-skip">⋯</div>')

Opcode = tuple[str, int, int, int, int]


def diff_html(old: str, new: str) -> Markup:
    """The diff of ``old`` to ``new``: one ``<div class="diff-line ...">`` per line shown
    (``diff-equal``, ``diff-changed``, ``diff-removed``, ``diff-added``, and ``diff-skip``
    where unchanged lines are left out)."""
    a, b = old.splitlines(), new.splitlines()
    if a == b:
        return Markup('<div class="diff-line diff-same">No changes.</div>')
    words = _WordMatcher(WORD_BUDGET)
    shown: list[Markup] = []
    for line in _shown_lines(_opcodes(a, b), a, b, words):
        if len(shown) == MAX_SHOWN_LINES:
            shown.append(Markup('<div class="diff-line diff-skip">⋯ (the rest not shown)</div>'))
            break
        shown.append(line)
    return Markup("").join(shown)


def _opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """difflib's opcodes for the lines, the common start and end set aside first."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_end, b_end = len(a) - tail, len(b) - tail
    middle: list[Opcode]
    if max(a_end - head, b_end - head) > MAX_MATCHED_LINES:
        middle = [("replace", head, a_end, head, b_end)]
    else:
        matched = SequenceMatcher(None, a[head:a_end], b[head:b_end]).get_opcodes()
        middle = [(t, i1 + head, i2 + head, j1 + head, j2 + head) for t, i1, i2, j1, j2 in matched]
    edges: list[Opcode] = [("equal", 0, head, 0, head)]
    ends: list[Opcode] = [("equal", a_end, len(a), b_end, len(b))]
    return [op for op in edges + middle + ends if op[2] > op[1] or op[4] > op[3]]


def _shown_lines(
    opcodes: list[Opcode], a: list[str], b: list[str], words: _WordMatcher
) -> Iterator[Markup]:
    last = len(opcodes) - 1
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag != "equal":
            yield from _changed(a[i1:i2], b[j1:j2], words)
            continue
        before = CONTEXT_LINES if n > 0 else 0  # context after the change before it
        after = CONTEXT_LINES if n < last else 0  # and before the next change
        same = a[i1:i2]
        if len(same) <= before + after:
            yield from (_line("diff-equal", escape(line)) for line in same)
            continue
        yield from (_line("diff-equal", escape(line)) for line in same[:before])
        yield _SKIP
        yield from (_line("diff-equal", escape(line)) for line in same[len(same) - after :])


def _changed(old: list[str], new: list[str], words: _WordMatcher) -> Iterator[Markup]:
    paired = min(len(old), len(new))
    for before, after in zip(old[:paired], new[:paired], strict=True):
        yield _line("diff-changed", words.diff(before, after))
    yield from (_line("diff-removed", _marked("del", line)) for line in old[paired:])
    yield from (_line("diff-added", _marked("ins", line)) for line in new[paired:])


def _line(kind: str, html: Markup) -> Markup:
    return Markup('<div class="diff-line {}">{}</div>').format(kind, html)


def _marked(tag: str, text: str) -> Markup:
    if not text:
        return Markup("")
    return Markup("<{0}>{1}</{0}>").format(Markup(tag), text)


class _WordMatcher:
    """Word-level diffs of changed lines, until the budget is spent."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def diff(self, old: str, new: str) -> Markup:
        """The line with its unchanged words as they are, removed ones in <del>, added in
        <ins>; removed whole and added whole once the budget is spent."""
        a, b = _TOKENS.findall(old), _TOKENS.findall(new)
        cost = len(a) * len(b)
        if cost > self.budget:
            return _marked("del", old) + _marked("ins", new)
        self.budget -= cost
        pieces: list[Markup] = []
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                pieces.append(escape("".join(a[i1:i2])))
                continue
            pieces.append(_marked("del", "".join(a[i1:i2])))
            pieces.append(_marked("ins", "".join(b[j1:j2])))
        return Markup("").join(pieces)
