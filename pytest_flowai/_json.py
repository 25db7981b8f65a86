"""The one JSON type alias shared by every module; a leaf that imports nothing of ours."""

from __future__ import annotations

from typing import TypeAlias

JSON: TypeAlias = "dict[str, JSON] | list[JSON] | str | int | float | bool | None"
JSONObject: TypeAlias = "dict[str, JSON]"

__all__ = ["JSON", "JSONObject"]
