"""How a network failure's cause reads in a transport error."""

from __future__ import annotations

import errno
import os
import socket

import httpx

from pytest_flowai.transports.http import describe_cause


def _chained(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except OSError as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from exc
    except httpx.ConnectError as outer:
        return outer


def test_unresolvable_host_names_the_resolver_error() -> None:
    """A host name that does not resolve reads as such, not as an unknown errno."""
    text = describe_cause(_chained(socket.gaierror(socket.EAI_NONAME, "Name or service not known")))
    assert text == "cannot resolve the host name (Name or service not known)"


def test_refused_connection_reads_as_the_os_says() -> None:
    """A refused connection reads as the operating system's words for ECONNREFUSED."""
    text = describe_cause(_chained(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")))
    assert text == os.strerror(errno.ECONNREFUSED)
