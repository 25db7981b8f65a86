"""The plugin costs nothing when unused: importing it (as pytest does in every run) loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("httpx", "httpcore", "websockets", "jsonschema", "yaml", "starlette", "uvicorn", "rapidfuzz")


def _loaded_after(code: str) -> list[str]:
    """The heavy modules loaded once `code` ran in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    return sorted({name.split(".")[0] for name in modules} & set(HEAVY))


def test_importing_the_plugin_loads_no_heavy_module() -> None:
    """`import pytest_flowai.plugin` loads none of httpx, websockets, jsonschema, yaml, starlette, uvicorn."""
    assert _loaded_after("import pytest_flowai.plugin") == []


def test_the_public_package_loads_the_spec_model_on_first_use() -> None:
    """`import pytest_flowai` is light; touching `load_spec` brings in the YAML and schema libraries."""
    assert _loaded_after("import pytest_flowai") == []
    assert "yaml" in _loaded_after("import pytest_flowai; pytest_flowai.load_spec")


def test_a_pytest_run_of_python_tests_loads_no_heavy_module(pytester: pytest.Pytester) -> None:
    """A whole pytest run with only Python tests leaves httpx, websockets, yaml and the rest unloaded."""
    pytester.makepyfile(
        "import json, sys\n"
        "def test_modules():\n"
        f"    heavy = {HEAVY!r}\n"
        "    loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "    print('LOADED', json.dumps(loaded))\n"
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:xdist", "-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=1)
    assert "LOADED []" in result.stdout.str()


def test_a_valid_spec_loads_without_jsonschema() -> None:
    """A valid spec with text and type expectations loads without jsonschema; a `schema` key loads it."""
    plain = "steps: [{say: hi, expect: [{text: {contains: Pizza}}, {type: text}]}]"
    load = "from pytest_flowai.spec.load import load_spec_text\nload_spec_text({!r})"
    assert "jsonschema" not in _loaded_after(load.format(plain))
    with_schema = "steps: [{say: hi, expect: [{schema: {type: object}}]}]"
    assert "jsonschema" in _loaded_after(load.format(with_schema))
