"""Load a spec file: parse the YAML, check grammar and rules on every document, build the model.

Every problem of a file is reported at once, as one ``SpecSchemaError`` sorted by line.
"""

from __future__ import annotations

import os

from pytest_flowai.errors import Span, SpecError, SpecSchemaError, SpecSyntaxError, quote
from pytest_flowai.spec.build import ConversationBuilder, default_name
from pytest_flowai.spec.grammar import grammar_problems
from pytest_flowai.spec.model import Conversation, SpecFile
from pytest_flowai.spec.rules import RuleChecker
from pytest_flowai.spec.yamlload import MarkedDict, load_documents, node_position


def load_spec(path: str | os.PathLike[str]) -> SpecFile:
    """Load and check a spec file.

    Raises:
        SpecSyntaxError: the file cannot be read or is not YAML.
        SpecSchemaError: the YAML breaks the spec format; carries every problem of the file.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as stream:
            text = stream.read()
    except UnicodeDecodeError as exc:
        raise SpecSyntaxError(f"the file is not UTF-8 text ({exc.reason})", span=Span(name, 1)) from exc
    except OSError as exc:
        raise SpecSyntaxError(
            f"cannot read the spec file: {exc.strerror or exc}", span=Span(name, 1)
        ) from exc
    return load_spec_text(text, name)


def load_spec_text(text: str, path: str = "<string>") -> SpecFile:
    """Load and check spec YAML given as text; ``path`` names it in spans.

    Raises:
        SpecSyntaxError: the text is not YAML.
        SpecSchemaError: the YAML breaks the spec format; carries every problem of the text.
    """
    documents, problems = load_documents(text, path)
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
        problems.extend(_duplicate_name(root, ordinal, first_lines, path))
        found = grammar_problems(root, path)
        if not found:
            found = RuleChecker(root, path).check()
        problems.extend(found)
        if not found:
            builder = ConversationBuilder(root, path=path, document=document.index, ordinal=ordinal)
            conversations.append(builder.build())
    if not documents and not problems:
        problems.append(
            SpecError(
                "the file holds no conversation",
                span=Span(path, 1),
                hint="write a spec document, e.g. steps: [{say: hello}]",
            )
        )
    if problems:
        raise SpecSchemaError(problems)
    return SpecFile(path=path, conversations=tuple(conversations))


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


__all__ = ["load_spec", "load_spec_text"]
