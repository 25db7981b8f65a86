"""Shared fixtures of the project's own tests."""

from __future__ import annotations
