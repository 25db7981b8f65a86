"""Parse spec YAML into dicts and lists that remember where each node and key came from.

Scalars follow the YAML 1.2 core schema, not pyyaml's YAML 1.1: only ``true``/``false`` are booleans (so
``say: Yes`` and ``[Yes, No]`` stay strings), ``010`` is ten, ``1:30`` and ``2024-01-01`` stay strings.
Imports nothing of ours but ``errors`` and ``limits``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_flowai.errors import Span, SpecError, SpecSyntaxError, quote
from pytest_flowai.spec.limits import SpecLimits

Position = tuple[int, int]  # 1-based (line, column)
PathPart = str | int
_YAML11_ONLY = (":bool", ":int", ":float", ":timestamp")
_DEFAULT_LIMITS = SpecLimits()
# The characters YAML refuses in a stream (YAML 1.2, 5.1): control characters but tab and line breaks,
# surrogates, U+FFFE and U+FFFF. Found before the parser sees them, to name their line and column.
# PyYAML's reader refuses exactly these; its compiled class is used rather than building this large one
# again (~7 ms per run).
_UNPRINTABLE: re.Pattern[str] = yaml.reader.Reader.NON_PRINTABLE
_CONTROL_NAMES = {
    0: "NUL",
    7: "BEL",
    8: "backspace",
    11: "vertical tab",
    12: "form feed",
    27: "ESC",
    127: "DEL",
}
_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 11: "\\v", 12: "\\f", 27: "\\e"}


def _position(mark: yaml.Mark) -> Position:
    return mark.line + 1, mark.column + 1


def _last_line(node: Node) -> int:
    """1-based line of the node's last character (an end mark at column 0 sits on the next line)."""
    end = node.end_mark
    return end.line + 1 if end.column > 0 else max(end.line, node.start_mark.line + 1)


class MarkedDict(dict[str, object]):
    """A YAML mapping that knows where it starts and ends and where each of its keys and values is."""

    start: Position
    end_line: int
    key_positions: dict[str, Position]
    value_positions: dict[str, Position]


class MarkedList(list[object]):
    """A YAML sequence that knows where it starts and ends and where each item is."""

    start: Position
    end_line: int
    item_positions: list[Position]


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One non-empty YAML document of a file: its 0-based index in the file and its root value."""

    index: int
    root: object
    start: Position


if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    # libyaml parses several times faster; both build the same nodes with the same marks.
    _SafeLoader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class SpecLoader(_SafeLoader):
    """A safe loader building :class:`MarkedDict`/:class:`MarkedList` with YAML 1.2 core scalars.

    Duplicate and non-string keys do not stop the parse: they are collected in ``problems`` so that a file's
    errors are all reported together.
    """

    def __init__(self, stream: str, path: str) -> None:
        super().__init__(stream)
        self.path = path
        self.problems: list[SpecError] = []
        self._last_lines: dict[int, int] = {}

    def span(self, position: Position) -> Span:
        return Span(self.path, position[0], position[1])

    def last_line(self, node: Node) -> int:
        """1-based line of the node's last character, ignoring the blank lines and comments after it."""
        cached = self._last_lines.get(id(node))
        if cached is not None:
            return cached
        if isinstance(node, MappingNode) and not node.flow_style and node.value:
            line = max(max(self.last_line(k), self.last_line(v)) for k, v in node.value)
        elif isinstance(node, SequenceNode) and not node.flow_style and node.value:
            line = max(self.last_line(item) for item in node.value)
        else:
            line = _last_line(node)
        self._last_lines[id(node)] = line
        return line


# Our own copy of the resolver table (pyyaml's is shared by every SafeLoader), without YAML 1.1's booleans,
# numbers and timestamps; the YAML 1.2 core ones are added below. Dates stay strings.
SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(_YAML11_ONLY)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?i:true|false)$"), list("tTfF"))
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _construct_bool(loader: SpecLoader, node: ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


def _construct_int(loader: SpecLoader, node: ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    try:
        if text.startswith("0o"):
            number = int(text[2:], 8)
        elif text.startswith("0x"):
            number = int(text[2:], 16)
        else:
            number = int(text, 10)
    except ValueError:  # also past Python's 4300 digits for decimal text
        raise ConstructorError(None, None, f"{quote(text)} is not an integer", node.start_mark) from None
    # Seconds become floats and messages print numbers: past the float range neither works.
    try:
        float(number)
    except OverflowError:
        raise ConstructorError(None, None, f"{quote(text)} is too large a number", node.start_mark) from None
    return number


def _construct_float(loader: SpecLoader, node: ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    # JSON has neither infinities nor NaN, and a NaN timeout would never expire.
    if not math.isfinite(value):
        raise ConstructorError(None, None, f"{text!r} is not a finite number", node.start_mark)
    return value


def _reject_tag(loader: SpecLoader, node: Node) -> object:
    raise ConstructorError(
        None, None, f"the tag {node.tag!r} is not supported: a spec holds JSON values only", node.start_mark
    )


def _shown_key(key: object) -> str:
    if isinstance(key, bool) or key is None:
        return "true" if key is True else "false" if key is False else "null"
    return repr(key) if isinstance(key, str | int | float) else "a collection"


def _construct_mapping(loader: SpecLoader, node: MappingNode) -> Iterator[MarkedDict]:
    data = MarkedDict()
    data.start = _position(node.start_mark)
    data.end_line = loader.last_line(node)
    data.key_positions = {}
    data.value_positions = {}
    yield data
    # `<<` merge keys: pyyaml puts the merged pairs first so that explicit keys override them; only an
    # explicit key given twice is a duplicate.
    explicit = {id(key_node) for key_node, _ in node.value}
    loader.flatten_mapping(node)
    explicit_seen: dict[str, Position] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=False)
        key_position = _position(key_node.start_mark)
        if not isinstance(key, str):
            loader.problems.append(
                SpecError(
                    f"keys must be strings, got {_shown_key(key)}",
                    span=loader.span(key_position),
                    hint="quote the key",
                )
            )
            continue
        if id(key_node) in explicit:
            first = explicit_seen.setdefault(key, key_position)
            if first != key_position:
                loader.problems.append(
                    SpecError(
                        f"duplicate key {key!r} (first given at line {first[0]})",
                        span=loader.span(key_position),
                        hint="a mapping holds each key once: remove or rename one of them",
                    )
                )
        data[key] = loader.construct_object(value_node, deep=False)
        data.key_positions[key] = key_position
        data.value_positions[key] = _position(value_node.start_mark)


def _construct_sequence(loader: SpecLoader, node: SequenceNode) -> Iterator[MarkedList]:
    data = MarkedList()
    data.start = _position(node.start_mark)
    data.end_line = loader.last_line(node)
    data.item_positions = []
    yield data
    for item_node in node.value:
        data.append(loader.construct_object(item_node, deep=False))
        data.item_positions.append(_position(item_node.start_mark))


SpecLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
SpecLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
SpecLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
SpecLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
SpecLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    SpecLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _reject_tag)
SpecLoader.add_constructor(None, _reject_tag)


def load_documents(
    text: str, path: str, limits: SpecLimits = _DEFAULT_LIMITS
) -> tuple[list[Document], list[SpecError]]:
    """Every non-empty document of a YAML text, with the key problems found while building them.

    Raises:
        SpecSyntaxError: the text is not YAML (at the line and column pyyaml names), or it goes over one
            of ``limits``.
    """
    _check_characters(text, path)
    loader = SpecLoader(text, path)
    documents: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if index >= limits.max_documents:
                start = _position(node.start_mark) if node is not None else (1, 1)
                raise SpecSyntaxError(
                    f"the file holds more than {limits.max_documents} YAML documents (the limit per file)",
                    span=Span(path, *start),
                    hint="split its conversations over several spec files",
                )
            if node is not None and not _is_empty(node):
                _check_size(node, path, limits)
                root = loader.construct_document(node)
                documents.append(Document(index=index, root=root, start=_position(node.start_mark)))
            index += 1
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, path, text) from exc
    except yaml.YAMLError as exc:
        # Errors without a mark (a ReaderError: a character the scan above let through).
        position = getattr(exc, "position", None)
        line, column = _offset_position(text, position) if isinstance(position, int) else (1, 1)
        raise SpecSyntaxError(f"invalid YAML: {exc}", span=Span(path, line, column)) from exc
    except RecursionError:
        raise SpecSyntaxError(
            f"the YAML is nested more than {limits.max_depth} levels deep", span=Span(path, 1)
        ) from None
    finally:
        loader.dispose()
    return documents, loader.problems


def _offset_position(text: str, offset: int) -> Position:
    """1-based line and column of a character offset in ``text``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _check_characters(text: str, path: str) -> None:
    """Refuse a character YAML does not allow in a stream, at its place, saying how to write it instead."""
    found = _UNPRINTABLE.search(text)
    if found is None:
        return
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        what = f"a lone surrogate U+{code:04X}"
    elif code in (0xFFFE, 0xFFFF):
        what = f"the non-character U+{code:04X}"
    else:
        name = _CONTROL_NAMES.get(code)
        what = f"the control character U+{code:04X}" + (f" ({name})" if name else "")
    escape = _ESCAPES.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    raise SpecSyntaxError(
        f"the file holds {what}, which YAML does not allow",
        span=Span(path, *_offset_position(text, found.start())),
        hint=f'remove it, or write it as an escape inside double quotes: "{escape}"',
    )


def _check_size(root: Node, path: str, limits: SpecLimits) -> None:
    """Refuse recursive aliases, deep nesting and alias bombs before anything walks the document.

    An alias is the node it names, met again: each meeting adds that node's whole expansion (its scalars'
    characters, one per collection), and its height counts from the depth of the alias.
    """
    measured: dict[int, tuple[int, int]] = {}  # node id: (characters once expanded, height)
    added = 0

    def too_deep(span: Span) -> SpecSyntaxError:
        return SpecSyntaxError(f"the YAML is nested more than {limits.max_depth} levels deep", span=span)

    def visit(node: Node, depth: int, open_nodes: set[int]) -> tuple[int, int]:
        nonlocal added
        key = id(node)
        known = measured.get(key)
        if known is not None:
            chars, height = known
            added += chars
            if added > limits.max_alias_chars:
                raise SpecSyntaxError(
                    f"the document expands to more than {limits.max_alias_chars} characters through "
                    "aliases (the limit of what aliases may add)",
                    span=Span(path, *_position(node.start_mark)),
                    hint="write the repeated values out, or alias them fewer times",
                )
            if depth + height > limits.max_depth:
                raise too_deep(Span(path, *_position(node.start_mark)))
            return known
        if key in open_nodes:
            raise SpecSyntaxError(
                "an alias refers to a node that contains it (a recursive alias)",
                span=Span(path, *_position(node.start_mark)),
            )
        if depth > limits.max_depth:
            raise too_deep(Span(path, *_position(node.start_mark)))
        children: list[Node] = []
        chars, height = 1, 0
        if isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            chars += len(str(node.value))
        open_nodes.add(key)
        for child in children:
            child_chars, child_height = visit(child, depth + 1, open_nodes)
            chars += child_chars
            height = max(height, child_height + 1)
        open_nodes.discard(key)
        measured[key] = (chars, height)
        return chars, height

    visit(root, 0, set())


def _is_empty(node: Node) -> bool:
    # An empty document (`---` followed by nothing, or only comments) is an empty plain scalar.
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null" and node.value in ("", "~")


def _syntax_error(exc: yaml.MarkedYAMLError, path: str, text: str) -> SpecSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    span = Span(path, mark.line + 1, mark.column + 1) if mark else Span(path, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        problem = f"{problem} ({exc.context}{where})"
    lines = text.splitlines()
    at_tab = (
        mark is not None
        and mark.line < len(lines)
        and lines[mark.line][mark.column : mark.column + 1] == "\t"
    )
    hint = "YAML indents with spaces only: replace the tab" if at_tab else None
    return SpecSyntaxError(f"invalid YAML: {problem}", span=span, hint=hint)


def node_position(root: object, path: Sequence[PathPart], *, key: bool = False) -> Position | None:
    """Where the node at ``path`` is (or its key, with ``key=True``); None when the path leads nowhere."""
    node = root
    position = getattr(root, "start", None)
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, MarkedDict) and isinstance(part, str) and part in node:
            position = node.key_positions[part] if key and last else node.value_positions[part]
            node = node[part]
        elif isinstance(node, MarkedList) and isinstance(part, int) and 0 <= part < len(node):
            position = node.item_positions[part]
            node = node[part]
        else:
            return position
    return position


def node_span(file: str, root: object, path: Sequence[PathPart], *, key: bool = False) -> Span:
    """``node_position`` as a span in ``file`` (line 1, column 1 when it finds nothing)."""
    line, column = node_position(root, path, key=key) or (1, 1)
    return Span(file, line, column)


def end_line(node: object) -> int | None:
    """1-based line of the last character of a mapping or a list."""
    return node.end_line if isinstance(node, MarkedDict | MarkedList) else None
