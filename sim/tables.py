"""Build a frozen parameter dataclass from a TOML table, with errors that name the key."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

__all__ = ["dataclass_from_table"]


def dataclass_from_table(cls: type, d: Any, where: str):
    """``cls(**d)``; missing keys take the defaults. Unknown keys and bad values raise
    ValueError naming ``where`` (and the key), what was expected and what came."""
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a table, got {type(d).__name__}")
    known = [f.name for f in fields(cls)]
    extra = sorted(set(d) - set(known))
    if extra:
        raise ValueError(f"{where}: unknown key(s) {extra}; expected some of {known}")
    try:
        return cls(**d)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
