"""How much one spec file may cost to load, so that a broken or hostile file cannot hang collection.

A leaf: dataclasses only (the plugin builds one from its options without importing the loader).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SPEC_BYTES = 1_048_576


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecLimits:
    """Bounds on one spec file; each has a message naming it when a file goes over."""

    max_bytes: int = MAX_SPEC_BYTES  # the file's size in bytes (ini flowai_max_spec_bytes)
    max_documents: int = 1000  # YAML documents (conversations) in one file
    max_depth: int = 64  # levels of nested mappings and lists, aliases followed
    max_alias_chars: int = 1_000_000  # characters aliases add to a file once expanded
    max_problems: int = 100  # problems reported for one file: checking stops there
    max_expansions: int = 20  # runs one_of_file utterances make of a conversation (ini flowai_max_expansions)


__all__ = ["MAX_SPEC_BYTES", "SpecLimits"]
