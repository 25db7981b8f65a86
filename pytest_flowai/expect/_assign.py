"""Assigning expectations to bubbles: in order (a subsequence) or in any order (bipartite matching).

Pure functions over an "entry i fits bubble j" relation; they know nothing of what an entry is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def assign_in_order(fits: Sequence[Sequence[bool]], bubble_count: int) -> dict[int, int]:
    """The largest in-order assignment (entry -> bubble, both increasing), the earliest one among equals.

    ``fits[i][j]`` tells whether entry i fits bubble j. When every entry can be placed this is the earliest
    feasible subsequence; when not, as many entries as possible are placed, so the report names fewest.
    """
    entries = len(fits)
    greedy = _earliest_in_order(fits, bubble_count)
    if greedy is not None:
        return greedy
    # best[i][j]: how many of entries i.. can be placed on bubbles j.. (a longest-common-subsequence table).
    best = [[0] * (bubble_count + 1) for _ in range(entries + 1)]
    for i in range(entries - 1, -1, -1):
        for j in range(bubble_count - 1, -1, -1):
            take = best[i + 1][j + 1] + 1 if fits[i][j] else 0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    assignment: dict[int, int] = {}
    i = j = 0
    while i < entries and j < bubble_count:
        if fits[i][j] and best[i][j] == best[i + 1][j + 1] + 1:
            assignment[i] = j
            i, j = i + 1, j + 1
        elif best[i][j] == best[i][j + 1]:
            j += 1
        else:
            i += 1
    return assignment


def _earliest_in_order(fits: Sequence[Sequence[bool]], bubble_count: int) -> dict[int, int] | None:
    """Each entry on the first fitting bubble after the previous one's, or None when one finds none.

    When it places every entry this is the earliest feasible subsequence, which the table below would
    find too (taking the earliest fit leaves the most bubbles to the entries after), without the table.
    """
    assignment: dict[int, int] = {}
    j = 0
    for i, row in enumerate(fits):
        while j < bubble_count and not row[j]:
            j += 1
        if j == bubble_count:
            return None
        assignment[i] = j
        j += 1
    return assignment


def assign_any_order(fits: Sequence[Sequence[bool]], bubble_count: int) -> dict[int, int]:
    """A maximum one-to-one assignment (entry -> bubble) in any order, by augmenting paths (Kuhn).

    Unlike a greedy pass it always finds a complete assignment when one exists. Entries are tried in order
    and bubbles in arrival order, so the result is deterministic.
    """
    options = [[j for j in range(bubble_count) if row[j]] for row in fits]
    owner: dict[int, int] = {}  # bubble -> entry
    partner: dict[int, int] = {}  # entry -> bubble
    for entry in range(len(options)):
        _augment(entry, options, owner, partner)
    return dict(sorted(partner.items()))


def _augment(start: int, options: list[list[int]], owner: dict[int, int], partner: dict[int, int]) -> bool:
    """Find an alternating path from ``start`` to a free bubble and flip it; iterative, so deep is fine."""
    reached_from: dict[int, int] = {}  # bubble -> the entry whose search reached it
    stack: list[tuple[int, Iterator[int]]] = [(start, iter(options[start]))]
    while stack:
        entry, candidates = stack[-1]
        for bubble in candidates:
            if bubble in reached_from:
                continue
            reached_from[bubble] = entry
            if bubble not in owner:
                _flip(bubble, start, reached_from, owner, partner)
                return True
            holder = owner[bubble]
            stack.append((holder, iter(options[holder])))
            break
        else:
            stack.pop()
    return False


def _flip(
    bubble: int, start: int, reached_from: dict[int, int], owner: dict[int, int], partner: dict[int, int]
) -> None:
    """Walk back from the free ``bubble`` to ``start``, giving each entry the bubble that reached it."""
    while True:
        entry = reached_from[bubble]
        previous = partner.get(entry)
        owner[bubble] = entry
        partner[entry] = bubble
        if entry == start or previous is None:
            return
        bubble = previous
