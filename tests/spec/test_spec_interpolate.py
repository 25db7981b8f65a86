"""`{var}` interpolation: escapes, regex quantifiers, env variables, types, nesting."""

from __future__ import annotations

import pytest

from pytest_flowai._json import JSON
from pytest_flowai.errors import SpecError, UndefinedVariable
from pytest_flowai.spec import interpolate, placeholders

VARIABLES: dict[str, JSON] = {"order": "1234", "count": 3, "price": 9.5, "ok": True, "user": {"name": "Ann"}}
ENV = {"SHOP": "north"}


def test_placeholders_lists_names_in_order_once() -> None:
    """placeholders() finds `{name}` and `{env.NAME}` in order, each once, and skips everything else."""
    text = "{order} {{literal}} {env.SHOP} \\d{4} x{2,3} {order} {user.name} { spaced } {1abc}"
    assert placeholders(text) == ["order", "env.SHOP", "user.name"]


def test_substitutes_inside_text() -> None:
    """A placeholder inside longer text is replaced by the variable's text."""
    assert interpolate("Order {order} placed", VARIABLES, ENV) == "Order 1234 placed"


def test_double_braces_are_literal() -> None:
    """`{{` and `}}` stand for literal braces, and `{{order}}` is the literal text `{order}`."""
    assert interpolate("{{order}} is {order}, }} and {{", VARIABLES, ENV) == "{order} is 1234, } and {"


def test_regex_quantifiers_are_left_alone() -> None:
    """`{4}` and `{2,3}` in a regex are not placeholders."""
    pattern = r"^\d{4}-[a-z]{2,3} {order}$"
    assert interpolate(pattern, VARIABLES, ENV) == r"^\d{4}-[a-z]{2,3} 1234$"


def test_env_placeholder_reads_the_environment_mapping() -> None:
    """`{env.NAME}` takes its value from the env mapping given."""
    assert interpolate("shop {env.SHOP}", VARIABLES, ENV) == "shop north"


def test_whole_value_placeholder_keeps_its_type() -> None:
    """A string that is exactly one placeholder becomes the variable's value, number or mapping included."""
    assert interpolate("{count}", VARIABLES, ENV) == 3
    assert interpolate("{price}", VARIABLES, ENV) == 9.5
    assert interpolate("{ok}", VARIABLES, ENV) is True
    assert interpolate("{user}", VARIABLES, ENV) == {"name": "Ann"}


def test_non_strings_inside_text_read_as_json() -> None:
    """Inside longer text, numbers read as written and booleans as true/false."""
    assert interpolate("{count} x {price}, ok={ok}", VARIABLES, ENV) == "3 x 9.5, ok=true"


def test_dotted_name_walks_into_a_mapping() -> None:
    """`{user.name}` reads the key of a mapping variable."""
    assert interpolate("hi {user.name}", VARIABLES, ENV) == "hi Ann"


def test_nested_values_are_interpolated_but_not_keys() -> None:
    """Every string value of nested mappings and lists is filled in; keys stay as written."""
    value: JSON = {"{order}": ["{order}", {"n": "{count}"}, 7, None], "text": {"contains": "#{order}"}}
    assert interpolate(value, VARIABLES, ENV) == {
        "{order}": ["1234", {"n": 3}, 7, None],
        "text": {"contains": "#1234"},
    }


def test_undefined_variable_raises_with_its_name() -> None:
    """An unknown name raises UndefinedVariable (a SpecError: the spec author's) carrying the name."""
    with pytest.raises(UndefinedVariable) as info:
        interpolate(["ok", "{missing}"], VARIABLES, ENV)
    assert info.value.name == "missing"
    assert isinstance(info.value, SpecError)
    assert str(info.value) == "undefined variable 'missing'"


def test_undefined_env_variable_raises() -> None:
    """An env name missing from the env mapping raises, naming the environment variable."""
    with pytest.raises(UndefinedVariable) as info:
        interpolate("{env.NOPE}", VARIABLES, ENV)
    assert info.value.name == "env.NOPE"
    assert str(info.value) == "undefined environment variable 'NOPE'"


def test_missing_key_of_a_dotted_name_raises() -> None:
    """`{user.age}` with no such key raises for the full name."""
    with pytest.raises(UndefinedVariable) as info:
        interpolate("{user.age}", VARIABLES, ENV)
    assert info.value.name == "user.age"
