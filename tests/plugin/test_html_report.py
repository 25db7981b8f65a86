"""The HTML report (--flowai-html) end to end: a suite against a bot that answers with every template type,
the page in headless Chromium (DOM after its scripts, console, filters, a screenshot), xdist, pytest-html.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.browser import Page, load, needs_chromium, screenshot
from tests.helpers.plugin import output

SUITE = Path(__file__).parent / "html_suite"
INI = """
[pytest]
flowai_emulator_flows = bot
flowai_transport = rest
flowai_settle = 0.05
markers =
    smoke: a quick one
"""
PYTHON_TESTS = '''
def test_fixture_chat(flowai):
    """A Python test's conversation shows as a chat too."""
    flowai.say("show location", expect=[{"type": "location"}])


def test_plain_failure():
    """A Python test without a conversation: its traceback is the entry."""
    assert 1 + 1 == 3
'''
FAILING = "test_templates.flowai.yaml::a wrong <i>greeting</i>\\x1b[31m"
EVERY = "test_templates.flowai.yaml::every template"
# The key the embedded emulator is given: a word the bot says, so the page must hide it.
SECRET = "mozzarella"


def write_suite(where: Path) -> None:
    """The test bot, its spec file, Python tests and the ini file, in `where`."""
    shutil.copytree(SUITE / "bot", where / "bot", dirs_exist_ok=True)
    shutil.copy(SUITE / "templates.spec.yaml", where / "test_templates.flowai.yaml")
    (where / "test_chat.py").write_text(textwrap.dedent(PYTHON_TESTS))
    (where / "pytest.ini").write_text(textwrap.dedent(INI))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite run once with --flowai-html; the path of the page it wrote."""
    where = tmp_path_factory.mktemp("html-suite")
    write_suite(where)
    env = {**os.environ, "FLOWAI_API_KEY": SECRET}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--flowai-html=out/report.html"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "2 failed, 2 passed, 1 skipped" in done.stdout, done.stdout + done.stderr
    assert f"flowai HTML report: {where / 'out' / 'report.html'}" in done.stdout
    return where / "out" / "report.html"


@pytest.fixture(scope="module")
def page(report: Path) -> Page:
    """The report as Chromium left it after its scripts ran."""
    return load(report)


def test_the_page_is_self_contained(report: Path) -> None:
    """The page loads nothing of its own from anywhere: no stylesheet link, no script source, no CSS URL."""
    html = report.read_text(encoding="utf-8")
    assert "<link" not in html
    assert "<script src" not in html
    assert "@import" not in html
    assert "url(" not in html


@needs_chromium
def test_the_page_loads_without_console_errors(page: Page) -> None:
    """Chromium reports no console message and no uncaught error, and the page's script ran to its end."""
    assert page.console == []
    body = page.select("body")[0]
    assert body.attrs.get("data-ready") == "1"
    assert "data-errors" not in body.attrs


@needs_chromium
def test_the_summary_counts_and_header(page: Page) -> None:
    """The header names target, transport and seed; the summary counts each outcome."""
    counts = {e.attrs["data-outcome"]: "".join(e.text).split()[0] for e in page.select(cls="count")}
    assert counts == {"failed": "2", "passed": "2", "skipped": "1", "rerun": "0"}
    assert "embedded emulator" in "".join(page.select(id="run-target")[0].text)
    assert "".join(page.select(id="run-transport")[0].text) == "rest"
    assert "".join(page.select(id="run-seed")[0].text) == "0"


@needs_chromium
def test_the_failing_turn_shows_its_diff(page: Page) -> None:
    """Failures come first, open; the failed turn is marked, with expected and closest below it."""
    outcomes = [e.attrs["data-outcome"] for e in page.select("article")]
    assert outcomes[:2] == ["failed", "failed"]
    first = next(e for e in page.select("article") if e.attrs["data-nodeid"] == FAILING)
    turn = next(e for e in page.select("section", cls="fa-failed") if e.inside("test") is first)
    failure = "".join(
        next(e for e in page.select("pre", cls="fa-failure") if e.inside("fa-failed") is turn).text
    )
    assert "turn 1 of 'a wrong <i>greeting</i>\\x1b[31m' failed" in failure
    assert "expected: a text reply 'Hello there'" in failure
    assert "closest: bubble #1 (text 'Hello <b>there</b> & welcome!\\nA second line.')" in failure
    assert any(e.tag == "details" and "open" in e.attrs for e in page.elements if e.ancestors[-1:] == [first])


@needs_chromium
def test_every_template_type_renders(page: Page) -> None:
    """Each response template of the bot is drawn as its own kind of element in the chat."""
    every = next(e for e in page.select("article") if e.attrs["data-nodeid"] == EVERY)
    mine = [e for e in page.elements if every in e.ancestors]
    types = {e.attrs["data-type"] for e in mine if "fa-response" in e.classes}
    assert types == {
        "text", "image", "video", "audio", "file", "location", "card", "buttons", "carousel", "list",
        "note", "handover", "json",
    }  # fmt: skip
    chips = ["".join(e.text) for e in mine if "fa-chip" in e.classes]
    assert chips == ["Yes please", "No thanks"]
    images = [e for e in mine if e.tag == "img"]
    assert {e.attrs["src"] for e in images} >= {"https://media.invalid/pizza.jpg"}
    assert all(e.attrs.get("loading") == "lazy" for e in images)
    media = [e for e in mine if e.tag in ("video", "audio")]
    assert [e.attrs.get("preload") for e in media] == ["none", "none"]
    coords = "".join(next(e for e in mine if "fa-coords" in e.classes).text)
    assert coords.strip() == "52.3760, 4.8975"
    json_text = "".join(t for e in mine if "fa-json" in e.classes for t in e.text)
    assert '"kind": "order-summary"' in json_text
    assert "whatsapp_list" in json_text
    # Flow and step under each message, and the time since the conversation started.
    assert any("".join(e.text).startswith("Templates / Show card") for e in mine if "fa-meta" in e.classes)


@needs_chromium
def test_bot_content_is_text_not_markup(page: Page, report: Path) -> None:
    """HTML in a bot's text and a javascript: link stay text: no element, no script, no href."""
    html = report.read_text(encoding="utf-8")
    assert "<b>there</b>" not in html
    assert "Hello &lt;b&gt;there&lt;/b&gt; &amp; welcome!" in html
    assert "<script>alert" not in html
    assert not [e for e in page.select("a") if e.attrs.get("href", "").lower().startswith("javascript")]
    assert len(page.select("script")) == 1


def test_the_secret_never_reaches_the_page(report: Path) -> None:
    """The API key, here a word the bot says, is hidden in chats and failures as everywhere else."""
    html = report.read_text(encoding="utf-8")
    assert SECRET not in html.lower()
    assert "Tomato, ***, basil" in html


def test_control_characters_are_shown_escaped(report: Path) -> None:
    """A conversation name with an escape character shows as `\\x1b`, never as the raw character."""
    html = report.read_text(encoding="utf-8")
    assert "\x1b" not in html
    assert "a wrong &lt;i&gt;greeting&lt;/i&gt;\\x1b[31m" in html


@needs_chromium
@pytest.mark.parametrize(
    ("fragment", "shown"),
    [
        ("", {FAILING, EVERY, "test_templates.flowai.yaml::skipped one", "test_chat.py::test_fixture_chat",
              "test_chat.py::test_plain_failure"}),
        ("status=failed", {FAILING, "test_chat.py::test_plain_failure"}),
        ("status=passed", {EVERY, "test_chat.py::test_fixture_chat"}),
        ("mark=smoke", {EVERY}),
        ("transport=socket", {FAILING}),
        ("q=quattro%20formaggi", {EVERY}),
        ("status=passed&transport=rest&q=FIXTURE_chat", {"test_chat.py::test_fixture_chat"}),
        ("q=nothing%20matches%20this", set()),
    ],
)  # fmt: skip
def test_filters_hide_and_show(report: Path, fragment: str, shown: set[str]) -> None:
    """Status, mark, transport and search filters (set from the URL fragment) leave only matching tests."""
    page = load(report, fragment)
    assert set(page.visible_tests()) == shown
    nothing = page.select(id="nothing")[0]
    assert ("hidden" in nothing.attrs) == bool(shown)
    assert page.console == []


@needs_chromium
def test_screenshot(report: Path, tmp_path: Path) -> None:
    """A screenshot of the whole report, every test open, kept as an artifact (its path is printed)."""
    png = screenshot(report, tmp_path / "html-report.png", fragment="expand=1", size=(1200, 5200))
    print(f"HTML report screenshot: {png}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_xdist_workers_send_their_chats_to_the_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under -n 2 the controller writes one page with every worker's conversations, keys hidden."""
    write_suite(pytester.path)
    monkeypatch.setenv("FLOWAI_API_KEY", SECRET)
    result = pytester.runpytest_subprocess("-n", "2", "--flowai-html=report.html", timeout=120)
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert "Pizza Bella Damrak" in html  # a bubble of the REST conversation
    assert "Quattro Formaggi" in html
    assert "expected: a text reply &#39;Hello there&#39;" in html
    assert SECRET not in html.lower()


def test_the_ini_option_writes_the_report(pytester: pytest.Pytester) -> None:
    """`flowai_html` in the ini file writes the page, relative to the working directory."""
    write_suite(pytester.path)
    (pytester.path / "pytest.ini").write_text(textwrap.dedent(INI) + "flowai_html = reports/flowai.html\n")
    result = pytester.runpytest_subprocess("-k", "every", timeout=120)
    result.assert_outcomes(passed=1)
    assert "every template" in (pytester.path / "reports" / "flowai.html").read_text(encoding="utf-8")


def test_pytest_html_rows_carry_the_chat(pytester: pytest.Pytester) -> None:
    """With pytest-html, each spec's row in its report holds the same chat as an extra."""
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess(
        "--html=ph.html", "--self-contained-html", "-k", "every", timeout=120
    )
    result.assert_outcomes(passed=1)
    html = (pytester.path / "ph.html").read_text(encoding="utf-8")
    assert "fa-chat" in html
    assert "Pizza Bella Damrak" in html
    assert "Quattro Formaggi" in html


def test_without_jinja2_the_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Without the html extra, --flowai-html stops the run at once, saying what to install."""
    write_suite(pytester.path)
    # Jinja2 made unimportable for this run only (a subprocess): as if the extra were not installed.
    pytester.makeconftest("import sys\nsys.modules['jinja2'] = None\n")
    result = pytester.runpytest_subprocess("--flowai-html=report.html", timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the flowai HTML report needs Jinja2: pip install pytest-flowai[html]" in output(result)
    assert "Traceback" not in output(result)
    assert not (pytester.path / "report.html").exists()


def test_collection_errors_are_entries(pytester: pytest.Pytester) -> None:
    """A spec that does not load is an error entry of the page (and pytest runs nothing), with its message."""
    write_suite(pytester.path)
    pytester.makefile(".flowai.yaml", test_broken="name: broken\nsteps: 3\n")
    result = pytester.runpytest_subprocess("--flowai-html=report.html", timeout=120)
    result.assert_outcomes(errors=1)
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert (
        'data-outcome="error" data-marks="" data-transports="" data-nodeid="test_broken.flowai.yaml"' in html
    )
    assert "test_broken.flowai.yaml:2:" in html
