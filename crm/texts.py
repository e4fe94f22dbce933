"""A message the domain wants shown, as a catalogue key and its variables (rendered later, in the
reader's language, by the bot layer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    """``key`` names a catalogue entry; a variable may itself be a ``Text`` (e.g. a role name)."""

    key: str
    vars: Mapping[str, str | int | float | Text] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "vars": {
                name: value.to_json() if isinstance(value, Text) else value
                for name, value in self.vars.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Text:
        raw_vars: Mapping[str, Any] = data.get("vars") or {}
        return cls(
            key=str(data["key"]),
            vars={
                name: cls.from_json(value) if isinstance(value, dict) else value
                for name, value in raw_vars.items()
            },
        )
