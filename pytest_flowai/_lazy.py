"""Lazy re-exports for package inits (PEP 562): a name is imported from its module on first use.

The package inits use it so that importing the plugin loads no httpx, websockets, yaml or jsonschema.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping


def load_lazily(package: str, homes: Mapping[str, str], name: str) -> object:
    """``name`` of ``package``, imported from the module ``homes`` names (relative to ``package``, or absolute
    when it starts with ``pytest_flowai``) and kept in the package, so the next lookup is a plain one."""
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    module = home if home.startswith("pytest_flowai") else f"{package}.{home}"
    value = getattr(importlib.import_module(module), name)
    setattr(sys.modules[package], name, value)
    return value
