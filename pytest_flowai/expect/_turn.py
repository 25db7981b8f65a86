"""Matching one turn: a sans-I/O matcher fed bubbles as they arrive, and the verdict it reaches.

Pure: no I/O, clock or asyncio; the conversation runner pumps bubbles in and decides when to stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from pytest_flowai._json import JSON
from pytest_flowai.errors import Span
from pytest_flowai.expect._assign import assign_any_order, assign_in_order
from pytest_flowai.expect._entry import Expectation
from pytest_flowai.expect._values import Bubble, Mismatch
from pytest_flowai.spec.model import ExtraMode

_OUT_OF_ORDER = (
    "it matches, but out of order: entries match replies in order (set `unordered: true` to allow any order)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryFailure:
    """An entry no bubble was assigned to, with the closest unused bubble (or None) and how it differs."""

    index: int
    entry: Expectation
    bubble: Bubble | None
    mismatches: tuple[Mismatch, ...]
    note: str = ""

    @property
    def span(self) -> Span:
        """Where to point the author: the first failing key's line, else the entry's."""
        return self.entry.span_of(self.mismatches[0]) if self.mismatches else self.entry.span


@dataclass(frozen=True, slots=True, kw_only=True)
class ForbiddenReply:
    """A bubble that matched a `forbid` entry: the turn fails on it, before any expectation is weighed."""

    index: int
    entry: Expectation
    bubble: Bubble

    @property
    def span(self) -> Span:
        """The forbid entry's own line."""
        return self.entry.span

    def reason(self) -> str:
        """The failure's headline: which bubble matched which forbid entry."""
        return (
            f"a forbidden reply arrived: {self.bubble.number} ({self.bubble.summary()})"
            f" matches forbid entry {self.index + 1}"
        )

    def describe(self) -> str:
        """The lines under the headline: what the entry forbids."""
        return f"  forbidden: {self.entry.describe()}"


def _closeness(mismatches: tuple[Mismatch, ...]) -> float:
    return sum(mismatch.closeness for mismatch in mismatches)


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnResult:
    """The verdict on a turn: which entry took which bubble, what is unmet or extra, what was captured."""

    ok: bool
    matches: tuple[tuple[int, int], ...]  # (entry index, bubble index)
    failures: tuple[EntryFailure, ...]
    extras: tuple[Bubble, ...]
    extra_mode: ExtraMode
    captures: Mapping[str, JSON] = field(default_factory=lambda: MappingProxyType({}))
    received: tuple[Bubble, ...] = ()
    forbidden: ForbiddenReply | None = None

    def describe_failure(self) -> str:
        """A few lines saying what was expected and what came closest; "" for a turn that passed."""
        if self.ok:
            return ""
        if self.forbidden is not None:
            return self.forbidden.describe()
        lines: list[str] = []
        if not self.received and self.failures:
            lines.append("  no reply arrived")
        for failure in self.failures:
            lines.append(f"  expected: {failure.entry.describe()}")
            if failure.bubble is None:
                if self.received:
                    lines.append("  closest: none (every reply was taken by another entry)")
                continue
            lines.append(f"  closest: {failure.bubble.number} ({failure.bubble.summary()})")
            lines.extend(f"    {mismatch}" for mismatch in failure.mismatches)
            if failure.note:
                lines.append(f"    {failure.note}")
        # A bubble already shown as some entry's closest candidate is not listed again as unexpected.
        shown = {failure.bubble.index for failure in self.failures if failure.bubble is not None}
        unexpected = [bubble for bubble in self.extras if bubble.index not in shown]
        if self.extra_mode is ExtraMode.FAIL and unexpected:
            lines.extend(f"  unexpected: {bubble.number} ({bubble.summary()})" for bubble in unexpected)
            lines.append(
                "  hint: every reply must match an entry; set `extra: warn` or `extra: ignore` to allow more"
            )
        return "\n".join(lines)


class TurnMatcher:
    """Assigns a turn's entries to its bubbles as they arrive; sans-I/O, the runner feeds it and asks.

    ``forbid`` entries are checked on every bubble first: the first bubble one of them matches decides the
    turn (``forbidden``), so the runner can stop at once instead of waiting for settle, patience or timeout.
    """

    def __init__(
        self,
        entries: Sequence[Expectation],
        *,
        forbid: Sequence[Expectation] = (),
        unordered: bool = False,
        extra: ExtraMode = ExtraMode.FAIL,
    ) -> None:
        self.entries = tuple(entries)
        self.forbid = tuple(forbid)
        self.unordered = unordered
        self.extra = extra if type(extra) is ExtraMode else ExtraMode(extra)
        self.forbidden: ForbiddenReply | None = None
        self._bubbles: list[Bubble] = []
        # _mismatches[j][i]: how bubble j differs from entry i; each pair is checked once, when j arrives.
        self._mismatches: list[tuple[tuple[Mismatch, ...], ...]] = []
        # The assignment of what arrived so far: the runner asks `satisfied` several times between feeds.
        self._assignment: dict[int, int] | None = None

    def feed(self, bubbles: Sequence[Bubble]) -> None:
        """Take bubbles that just arrived, in arrival order."""
        for bubble in bubbles:
            if self.forbid and self.forbidden is None:
                self.forbidden = self._forbidden(bubble)
            self._bubbles.append(bubble)
            self._mismatches.append(tuple(tuple(entry.check(bubble)) for entry in self.entries))
            self._assignment = None

    def _forbidden(self, bubble: Bubble) -> ForbiddenReply | None:
        for index, entry in enumerate(self.forbid):
            if not entry.check(bubble):
                return ForbiddenReply(index=index, entry=entry, bubble=bubble)
        return None

    @property
    def satisfied(self) -> bool:
        """Every entry can be assigned a bubble now, extras aside (then the runner waits `settle`)."""
        if len(self._bubbles) < len(self.entries):
            return False  # each entry takes a bubble of its own: too few have come
        return len(self._assign()) == len(self.entries)

    def _assign(self) -> dict[int, int]:
        if self._assignment is None:
            fits = [[not row[i] for row in self._mismatches] for i in range(len(self.entries))]
            assign = assign_any_order if self.unordered else assign_in_order
            self._assignment = assign(fits, len(self._bubbles))
        return self._assignment

    def result(self) -> TurnResult:
        """The verdict on what arrived so far."""
        assignment = self._assign()
        bubbles = self._bubbles
        pairs = sorted(assignment.items())
        used = set(assignment.values())
        # A turn that passed has every entry placed, and usually no bubble left over: nothing to search.
        failures = (
            tuple(self._failure(i, used) for i in range(len(self.entries)) if i not in assignment)
            if len(assignment) < len(self.entries)
            else ()
        )
        extras = (
            tuple(bubble for j, bubble in enumerate(bubbles) if j not in used)
            if len(used) < len(bubbles)
            else ()
        )
        captures: dict[str, JSON] = {}
        for i, j in pairs:
            entry = self.entries[i]
            if entry.captures_any:
                captures.update(entry.captures(bubbles[j]))
        return TurnResult(
            ok=self.forbidden is None and not failures and not (extras and self.extra is ExtraMode.FAIL),
            matches=tuple((i, bubbles[j].index) for i, j in pairs),
            failures=failures,
            extras=extras,
            extra_mode=self.extra,
            captures=MappingProxyType(captures),
            received=tuple(bubbles),
            forbidden=self.forbidden,
        )

    def finish(self) -> TurnResult:
        """The verdict when the turn ends (the name docs/ARCHITECTURE.md uses); same as ``result()``."""
        return self.result()

    def _failure(self, entry: int, used: set[int]) -> EntryFailure:
        """The closest bubble no other entry took: fewest mismatches, then the most similar, the earliest."""
        free = [j for j in range(len(self._bubbles)) if j not in used]
        if not free:
            return EntryFailure(index=entry, entry=self.entries[entry], bubble=None, mismatches=())
        closest = min(
            free, key=lambda j: (len(self._mismatches[j][entry]), -_closeness(self._mismatches[j][entry]), j)
        )
        mismatches = self._mismatches[closest][entry]
        return EntryFailure(
            index=entry,
            entry=self.entries[entry],
            bubble=self._bubbles[closest],
            mismatches=mismatches,
            # A bubble that fits but was left unused can only mean the in-order rule kept it out.
            note="" if mismatches else _OUT_OF_ORDER,
        )
