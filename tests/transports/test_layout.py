"""The transport package's layering: a light registry, and no module importing those above it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(module: str) -> set[str]:
    """The modules of interest that importing ``module`` in a fresh interpreter loads."""
    code = (
        f"import sys, {module}\n"
        "names = ('httpx', 'websockets', 'asyncio', 'pytest_flowai.spec',"
        " 'pytest_flowai.transports.rest', 'pytest_flowai.transports.ws', 'pytest_flowai.transports.http')\n"
        "print(' '.join(n for n in names if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_registry_imports_no_network_library() -> None:
    """Importing the transports package (for TRANSPORT_KINDS) loads neither httpx nor websockets."""
    assert loaded_after("pytest_flowai.transports") & {"httpx", "websockets"} == set()


@pytest.mark.parametrize(
    "module",
    [
        "pytest_flowai.transports.base",
        "pytest_flowai.transports.checks",
        "pytest_flowai.transports.outgoing",
        "pytest_flowai.transports.socket_protocol",
    ],
)
def test_the_pure_modules_import_no_io_and_no_transport(module: str) -> None:
    """The interface, the checks, the wire shaping and the socket protocol load no I/O library, no spec
    code and none of the transports built on them."""
    assert loaded_after(module) == set()
