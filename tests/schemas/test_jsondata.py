"""schemas.json_problems: what parsed YAML or lenient JSON holds that JSON cannot, named by path."""

from __future__ import annotations

import yaml

from pytest_flowai import schemas


def problems(data: object, *, string_keys: bool = True) -> list[str]:
    return [str(v) for v in schemas.json_problems(data, string_keys=string_keys)]


def test_plain_json_has_no_problems() -> None:
    """Ordinary JSON values, nested, pass."""
    assert problems({"a": [1, 2.5, "x", None, True, {"b": []}]}) == []


def test_every_leaf_problem_is_listed_in_document_order() -> None:
    """NaN, infinity, a set and bytes are each named at their path, first to last."""
    data = {"a": float("nan"), "b": [1, float("inf")], "c": {1, 2}, "d": b"hi"}
    assert problems(data) == [
        "a: NaN is not a JSON number",
        "b[1]: infinity (YAML .inf, or a number as huge as 1e999) is not a JSON number",
        "c: a YAML !!set value has no JSON form",
        "d: a YAML !!binary value has no JSON form",
    ]


def test_non_string_keys_are_problems_unless_allowed() -> None:
    """A number as a mapping key is named, unless the caller lets such keys through."""
    data = yaml.safe_load("extra: {1: one}\n")
    assert problems(data) == ["extra: key 1 is not a string"]
    assert problems(data, string_keys=False) == []


def test_a_shared_anchor_is_fine_and_a_self_containing_one_is_not() -> None:
    """An alias used twice is ordinary data; an anchor holding an alias to itself is a cycle."""
    assert problems(yaml.safe_load("a: &x [1, 2]\nb: *x\nc: *x\n")) == []
    assert problems(yaml.safe_load("a: &x {again: [*x]}\n")) == [
        "a.again[0]: holds itself (a YAML alias inside its own anchor), which JSON cannot"
    ]


def test_expansion_is_bounded_without_expanding() -> None:
    """A structure that shares subtrees past the bound is refused at the first place it passes it."""
    level: object = list(range(10))
    for _ in range(6):
        level = [level] * 10
    found = schemas.json_problems({"bomb": level}, max_values=100_000)
    assert [v.message for v in found] == ["more than 100000 values once its YAML aliases are expanded"]
