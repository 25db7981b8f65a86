"""Load a spec file: parse the YAML, check grammar and rules on every document, build the model.

Every problem of a file is reported at once, as one ``SpecSchemaError`` sorted by line.
"""

from __future__ import annotations

import os

from pytest_flowai.errors import Span, SpecError, SpecSchemaError, SpecSyntaxError, quote
from pytest_flowai.spec import reuse
from pytest_flowai.spec.build import ConversationBuilder, default_name
from pytest_flowai.spec.grammar import grammar_problems
from pytest_flowai.spec.include import IncludeKey, Includes, include_key
from pytest_flowai.spec.limits import SpecLimits
from pytest_flowai.spec.model import Conversation, SpecFile
from pytest_flowai.spec.rules import RuleChecker
from pytest_flowai.spec.yamlload import MarkedDict, load_documents, node_position

_DEFAULT_LIMITS = SpecLimits()
# Byte-order marks of the other encodings YAML allows; UTF-32 first (its LE mark starts like UTF-16's).
_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def load_spec(
    path: str | os.PathLike[str], limits: SpecLimits = _DEFAULT_LIMITS, *, _includes: Includes | None = None
) -> SpecFile:
    """Load and check a spec file.

    Raises:
        SpecSyntaxError: the file cannot be read, is not UTF-8 YAML, or goes over one of ``limits``.
        SpecSchemaError: the YAML breaks the spec format; carries every problem of the file.
    """
    name = os.fspath(path)
    return load_spec_text(read_spec(name, limits), name, limits, _includes=_includes)


def read_spec(name: str, limits: SpecLimits = _DEFAULT_LIMITS) -> str:
    """A spec file's text, checked for size and encoding.

    Raises:
        SpecSyntaxError: the file cannot be read, is not UTF-8, or is over ``limits.max_bytes``.
    """
    try:
        with open(name, "rb") as stream:
            # Read one byte past the limit, never the whole of a huge file.
            data = stream.read(limits.max_bytes + 1)
            size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise SpecSyntaxError(
            f"cannot read the spec file: {exc.strerror or exc}", span=Span(name, 1)
        ) from exc
    if len(data) > limits.max_bytes:
        raise _too_big(name, max(size, len(data)), limits)
    return _decode(data, name)


def _too_big(path: str, size: int, limits: SpecLimits) -> SpecSyntaxError:
    return SpecSyntaxError(
        f"the spec file is {size} bytes, over the limit of {limits.max_bytes} bytes",
        span=Span(path, 1),
        hint="split it into smaller spec files, or raise the ini option flowai_max_spec_bytes",
    )


def _decode(data: bytes, path: str) -> str:
    """The file's text; an encoding other than UTF-8 is named, and a bad byte is given its line and column."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise SpecSyntaxError(
                f"the file is {encoding} text (it starts with a {encoding} byte-order mark), not UTF-8",
                span=Span(path, 1),
                hint="save it as UTF-8",
            )
    # Text of UTF-16 or UTF-32 without a mark decodes as UTF-8 full of NUL bytes.
    if data.count(0) * 4 >= len(data) > 0:
        raise SpecSyntaxError(
            "the file is not UTF-8 text: it is full of NUL bytes "
            "(UTF-16 or UTF-32 without a byte-order mark?)",
            span=Span(path, 1),
            hint="save it as UTF-8",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise SpecSyntaxError(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02X} ({exc.reason})",
            span=Span(path, line, column),
            hint="save it as UTF-8",
        ) from exc


def load_spec_text(
    text: str,
    path: str = "<string>",
    limits: SpecLimits = _DEFAULT_LIMITS,
    *,
    _includes: Includes | None = None,
) -> SpecFile:
    """Load and check spec YAML given as text; ``path`` names it in spans.

    Raises:
        SpecSyntaxError: the text is not YAML, or it goes over one of ``limits``.
        SpecSchemaError: the YAML breaks the spec format; carries every problem of the text.
    """
    # Counted as UTF-8, as the file would be (a lone surrogate is refused later, at its place).
    if len(text) > limits.max_bytes or len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise _too_big(path, len(text.encode("utf-8", "surrogatepass")), limits)
    includes = _includes or Includes(limits=limits, build=build_document, read=read_spec)
    documents, problems = load_documents(text, path, limits)
    includes.remember(path, documents)
    conversations: list[Conversation] = []
    first_lines: dict[str, int] = {}
    for ordinal, document in enumerate(documents, start=1):
        root = document.root
        if not isinstance(root, MarkedDict):
            problems.append(
                SpecError(
                    f"a spec document must be a mapping, got {_noun(root)}",
                    span=Span(path, *document.start),
                    hint="write one conversation per document: name, steps, ...",
                )
            )
            continue
        if len(problems) >= limits.max_problems:
            break
        problems.extend(_duplicate_name(root, ordinal, first_lines, path))
        # One over what is left, so that `_capped` knows more followed.
        built, found = build_document(
            root,
            path,
            ordinal,
            document.index,
            includes,
            (),
            limit=limits.max_problems - len(problems) + 1,
        )
        problems.extend(found)
        conversations.extend(built)
    if not documents and not problems:
        problems.append(
            SpecError(
                "the file holds no conversation",
                span=Span(path, 1),
                hint="write a spec document, e.g. steps: [{say: hello}]",
            )
        )
    if problems:
        raise SpecSchemaError(_capped(problems, limits.max_problems))
    return SpecFile(path=path, conversations=tuple(conversations))


def build_document(
    root: MarkedDict,
    path: str,
    ordinal: int,
    index: int,
    includes: Includes,
    chain: tuple[IncludeKey, ...],
    *,
    limit: int | None = None,
) -> tuple[list[Conversation], list[SpecError]]:
    """The conversations of one document (one per variant), or the problems found; ``chain`` names the
    conversations whose includes led here."""
    found = grammar_problems(root, path, limit)
    if found:
        return [], found
    name = _name(root, ordinal)
    included, found = includes.resolve(root, path, name, (*chain, include_key(path, name)))
    rows = reuse.row_names(root, path)
    defines = {at: frozenset(d for turn in each.turns for d in turn.defines) for at, each in included.items()}
    checker = RuleChecker(root, path, row_names=rows, included_defines=defines)
    found += checker.check()
    if found:
        return [], found
    runs, found = reuse.variants(root, path, name, includes.limits.max_expansions)
    if found:
        return [], found
    builder = ConversationBuilder(
        root, path=path, document=index, ordinal=ordinal, variables=checker.variables
    )
    return [
        builder.build(variant_id=run.id, row=run.vars, utterances=run.utterances, included=included)
        for run in runs
    ], []


def _name(root: MarkedDict, ordinal: int) -> str:
    written = root.get("name")
    return written if isinstance(written, str) else default_name(ordinal)


def _capped(problems: list[SpecError], limit: int) -> list[SpecError]:
    """The first ``limit`` problems by place, and a last line saying that checking stopped there."""
    if len(problems) <= limit:
        return problems
    ordered = sorted(problems, key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0))[:limit]
    note = SpecError(
        f"checking stopped after {limit} problems (the limit per file); more may follow",
        span=ordered[-1].span,
        hint="fix these and collect again",
    )
    return [*ordered, note]


def _noun(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    return f"the value {quote(value)}"


def _duplicate_name(
    root: MarkedDict, ordinal: int, first_lines: dict[str, int], path: str
) -> list[SpecError]:
    """A problem when this document's name was taken by an earlier one; records the name otherwise."""
    written = root.get("name")
    name = written if isinstance(written, str) else default_name(ordinal)
    line, column = (node_position(root, ("name",)) if isinstance(written, str) else None) or root.start
    first = first_lines.setdefault(name, line)
    if first == line:
        return []
    return [
        SpecError(
            f"duplicate conversation name {name!r} (first at line {first})",
            span=Span(path, line, column),
            hint="names identify tests: give each conversation of a file its own name",
        )
    ]


__all__ = ["build_document", "load_spec", "load_spec_text", "read_spec"]
