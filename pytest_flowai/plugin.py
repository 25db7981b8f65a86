"""pytest hooks of pytest-flowai: options, collection entry, session start and stop. Hooks only."""

from __future__ import annotations
