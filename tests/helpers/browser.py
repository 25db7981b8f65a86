"""Headless Chromium for the HTML report's tests: the DOM after the page's scripts ran, its console, a PNG.

No network: every host name resolves to nothing, so a page that tried to load a resource could not.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="headless Chromium is not installed (/usr/bin/chromium; Debian package `chromium`)",
)
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass(slots=True)
class Element:
    """One element of the dumped DOM: its tag, attributes, text and the classes of its ancestors."""

    tag: str
    attrs: dict[str, str]
    ancestors: list[Element]
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def inside(self, cls: str) -> Element | None:
        """The nearest ancestor with this class."""
        return next((a for a in reversed(self.ancestors) if cls in a.classes), None)


class _DomParser(HTMLParser):
    _VOID = frozenset({"img", "br", "hr", "input", "meta", "link", "source", "wbr", "area", "col", "embed"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        self.elements.append(element)
        if tag not in self._VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)


@dataclass(slots=True)
class Page:
    """The page as Chromium left it: its elements, and the console lines it printed."""

    html: str
    console: list[str]
    elements: list[Element] = field(init=False)

    def __post_init__(self) -> None:
        parser = _DomParser()
        parser.feed(self.html)
        self.elements = parser.elements

    def select(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        """Elements by tag, class and attribute values (`data_type="card"` is `data-type`)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and (cls is None or cls in e.classes)
            and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def visible_tests(self) -> list[str]:
        """The node ids of the test entries the filters left shown."""
        return [e.attrs["data-nodeid"] for e in self.select("article") if "hidden" not in e.attrs]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )


def load(path: Path, fragment: str = "") -> Page:
    """The DOM of `path` after its scripts ran, opened as file://...#fragment."""
    url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = _run(["--dump-dom", url])
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return Page(html=done.stdout, console=console)


def screenshot(path: Path, png: Path, fragment: str = "", size: tuple[int, int] = (1200, 2000)) -> Path:
    """A PNG of the page as a person sees it in a window of `size`."""
    url = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = _run([f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", url])
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.exists(), done.stderr[-2000:]
    return png
