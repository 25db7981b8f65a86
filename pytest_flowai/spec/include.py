"""``include: other.flowai.yaml#name`` turns: find the named conversation, build it, hand back its turns.

Each conversation is built on demand (never a whole included file), so cycles are found by the chain of
conversations that led to an include, and reported at the first include of that chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pytest_flowai.errors import Span, SpecError, display_path
from pytest_flowai.spec import reuse
from pytest_flowai.spec.build import Included, default_name
from pytest_flowai.spec.didyoumean import did_you_mean
from pytest_flowai.spec.limits import SpecLimits
from pytest_flowai.spec.model import Conversation
from pytest_flowai.spec.yamlload import Document, MarkedDict, load_documents, node_span

# A conversation as the chain of includes names it: the file's real path and the conversation's name.
IncludeKey = tuple[str, str]
Build = Callable[
    [MarkedDict, str, int, int, "Includes", tuple[IncludeKey, ...]],
    tuple[list[Conversation], list[SpecError]],
]


def include_key(path: str, name: str) -> IncludeKey:
    """The key of a conversation in a file, the same however the file's path was written."""
    return os.path.realpath(path), name


class IncludeCycle(SpecError):
    """An include leads back to a conversation that is already being built."""


@dataclass(frozen=True, slots=True)
class _Target:
    root: MarkedDict
    ordinal: int
    index: int


@dataclass(slots=True, kw_only=True)
class Includes:
    """The include turns of one collection: files read once, conversations built once."""

    limits: SpecLimits
    build: Build
    read: Callable[[str, SpecLimits], str]
    _files: dict[str, dict[str, _Target] | list[SpecError]] = field(default_factory=dict)
    _built: dict[IncludeKey, Included] = field(default_factory=dict)

    def remember(self, path: str, documents: Sequence[Document]) -> None:
        """The documents of a file being loaded, so that `#name` includes of the same file read it once."""
        self._files.setdefault(os.path.realpath(path), _targets(documents))

    def resolve(
        self, root: Mapping[str, object], path: str, name: str, chain: tuple[IncludeKey, ...]
    ) -> tuple[dict[int, Included], list[SpecError]]:
        """The turns each include turn of a document splices in, by turn index; or the problems."""
        steps = root.get("steps")
        found: dict[int, Included] = {}
        problems: list[SpecError] = []
        for index, turn in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(turn, Mapping) or not isinstance(turn.get("include"), str):
                continue
            span = node_span(path, root, ("steps", index, "include"))
            try:
                found[index] = self._one(str(turn["include"]), path, span, chain)
            except IncludeCycle as cycle:
                # Reported where the chain starts, not deep in the files it went through.
                problems.append(IncludeCycle(cycle.message, span=span, hint=cycle.hint))
            except _Failed as failed:
                problems.extend(failed.problems)
        return found, problems

    def _one(self, reference: str, path: str, span: Span, chain: tuple[IncludeKey, ...]) -> Included:
        file, _, name = reference.partition("#")
        target = (
            path if not file else file if os.path.isabs(file) else os.path.join(os.path.dirname(path), file)
        )
        key = include_key(target, name)
        if key in chain:
            shown = " -> ".join(_label(each) for each in (*chain[chain.index(key) :], key))
            raise IncludeCycle(
                f"include cycle: {shown}", span=span, hint="an include must not lead back to itself"
            )
        done = self._built.get(key)
        if done is not None:
            return done
        targets = self._targets(target, reference, span)
        found = targets.get(name)
        if found is None:
            hint = did_you_mean(name, targets) or (
                f"its conversations: {', '.join(sorted(targets))}" if targets else None
            )
            raise _Failed(
                [
                    SpecError(
                        f"include: {display_path(target)} has no conversation {name!r}", span=span, hint=hint
                    )
                ]
            )
        if reuse.expands(found.root):
            raise _Failed(
                [
                    SpecError(
                        f"include: {reference!r} is parametrized or uses one_of_file, so it has no one list"
                        " of turns to splice",
                        span=span,
                        hint="include a conversation without parametrize and one_of_file",
                    )
                ]
            )
        built, problems = self.build(found.root, target, found.ordinal, found.index, self, chain)
        cycle = next((p for p in problems if isinstance(p, IncludeCycle)), None)
        if cycle is not None:
            raise cycle
        if problems:
            raise _Failed(problems)
        conversation = built[0]
        self._built[key] = Included(turns=conversation.turns, vars=conversation.vars)
        return self._built[key]

    def _targets(self, target: str, reference: str, span: Span) -> dict[str, _Target]:
        real = os.path.realpath(target)
        known = self._files.get(real)
        if known is None:
            try:
                text = self.read(target, self.limits)
                documents, problems = load_documents(text, target, self.limits)
            except SpecError as exc:
                problems = [
                    SpecError(f"include {reference!r}: {exc.message}", span=span, hint=exc.hint)
                    if exc.span is not None and exc.span.line == 1 and "cannot read" in exc.message
                    else exc
                ]
                documents = []
            known = problems if problems else _targets(documents)
            self._files[real] = known
        if isinstance(known, list):
            raise _Failed(list(known))
        return known


class _Failed(Exception):
    """The include cannot be resolved: these problems (in whichever file they are) say why."""

    def __init__(self, problems: list[SpecError]) -> None:
        super().__init__(problems)
        self.problems = problems


def _targets(documents: Sequence[Document]) -> dict[str, _Target]:
    targets: dict[str, _Target] = {}
    for ordinal, document in enumerate(documents, start=1):
        root = document.root
        if isinstance(root, MarkedDict):
            written = root.get("name")
            name = written if isinstance(written, str) else default_name(ordinal)
            targets.setdefault(name, _Target(root=root, ordinal=ordinal, index=document.index))
    return targets


def _label(key: IncludeKey) -> str:
    return f"{display_path(key[0])}#{key[1]}"


__all__ = ["IncludeCycle", "IncludeKey", "Includes", "include_key"]
