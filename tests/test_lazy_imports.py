"""The plugin costs nothing when unused: importing it (as pytest does in every run) loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("httpx", "httpcore", "websockets", "jsonschema", "yaml", "starlette", "uvicorn", "rapidfuzz")
# Our own modules that a run without spec files or the fixture never needs (each name covers its submodules):
# the spec model alone costs a quarter of what the plugin cost at import before it was left out.
OURS = (
    "pytest_flowai.spec",
    "pytest_flowai.transcript",
    "pytest_flowai.chat",
    "pytest_flowai.session",
    "pytest_flowai.conversation",
    "pytest_flowai.expect",
    "pytest_flowai.schemas",
    "pytest_flowai.emulator",
    "pytest_flowai.record",
    "pytest_flowai.coverage",
    "pytest_flowai.preflight",
    "pytest_flowai.report.text",
    "pytest_flowai.report.wording",
    "pytest_flowai.report.coverage",
    "pytest_flowai.report.html_reporter",
    "pytest_flowai.report.html_page",
    "pytest_flowai.report.records",
    "pytest_flowai.transports.",  # the init is light (the transport kinds); its modules are not
)


def _modules_after(code: str) -> list[str]:
    """Every module loaded once `code` ran in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return modules


def _heavy(modules: list[str]) -> list[str]:
    return sorted({name.split(".")[0] for name in modules} & set(HEAVY))


def _ours(modules: list[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == name or m.startswith(name.rstrip(".") + ".") for name in OURS)
    )


def _loaded_after(code: str) -> list[str]:
    """The heavy modules loaded once `code` ran in a fresh interpreter."""
    return _heavy(_modules_after(code))


def test_importing_the_plugin_loads_no_heavy_module() -> None:
    """`import pytest_flowai.plugin` loads none of httpx, websockets, jsonschema, yaml, starlette, uvicorn."""
    assert _loaded_after("import pytest_flowai.plugin") == []


def test_importing_the_plugin_loads_none_of_our_spec_side_modules() -> None:
    """`import pytest_flowai.plugin` leaves the spec model, the runner, the report text and the coverage, HTML
    and record plugins unloaded: they load when a spec is collected, the fixture used or the option given."""
    assert _ours(_modules_after("import pytest_flowai.plugin")) == []


def test_the_checks_of_our_modules_see_a_loaded_one() -> None:
    """The filter above names a lazy module and its submodules, so the test before it can fail."""
    assert _ours(["pytest_flowai.spec.model", "pytest_flowai.transports.ws", "pytest_flowai.transports"]) == [
        "pytest_flowai.spec.model",
        "pytest_flowai.transports.ws",
    ]
    assert "pytest_flowai.spec.model" in _ours(
        _modules_after("import pytest_flowai.fixtures, pytest_flowai.chat")
    )


def test_the_public_package_loads_the_spec_model_on_first_use() -> None:
    """`import pytest_flowai` is light; touching `load_spec` brings in the YAML and schema libraries."""
    assert _loaded_after("import pytest_flowai") == []
    assert "yaml" in _loaded_after("import pytest_flowai; pytest_flowai.load_spec")


def test_a_pytest_run_of_python_tests_loads_no_heavy_module(pytester: pytest.Pytester) -> None:
    """A whole pytest run with only Python tests leaves httpx, websockets, yaml, the spec model and the rest
    unloaded."""
    pytester.makepyfile(
        "import json, sys\ndef test_modules():\n    print('MODULES', json.dumps(sorted(sys.modules)))\n"
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:xdist", "-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=1)
    # With -s the test's output follows pytest's progress on the same line.
    line = next(line for line in result.outlines if "MODULES " in line)
    modules = json.loads(line.partition("MODULES ")[2])
    assert "pytest_flowai.plugin" in modules
    assert _heavy(modules) == []
    # Configure, session start, the header and the reports of a Python test need none of them either.
    assert _ours(modules) == []


def test_a_valid_spec_loads_without_jsonschema() -> None:
    """A valid spec with text and type expectations loads without jsonschema; a `schema` key loads it."""
    plain = "steps: [{say: hi, expect: [{text: {contains: Pizza}}, {type: text}]}]"
    load = "from pytest_flowai.spec.load import load_spec_text\nload_spec_text({!r})"
    assert "jsonschema" not in _loaded_after(load.format(plain))
    with_schema = "steps: [{say: hi, expect: [{schema: {type: object}}]}]"
    assert "jsonschema" in _loaded_after(load.format(with_schema))
