"""Texts by key, in Chinese and English. Nothing the user reads is written anywhere else."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from crm.members import LANGUAGES
from crm.texts import Text


class MissingText(KeyError):
    """A key (or one of its variables) is missing from a catalogue: a bug, never shown silently."""


class Catalogue:
    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts

    @classmethod
    def load(cls) -> Catalogue:
        return _bundled()

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._texts)

    def keys(self, language: str) -> frozenset[str]:
        return frozenset(self._texts[language])

    def raw(self, language: str, key: str) -> str:
        try:
            return self._texts[language][key]
        except KeyError:
            raise MissingText(f"{language}:{key}") from None

    def t(self, language: str, key: str, **variables: Any) -> str:
        template = self.raw(language, key)
        rendered = {
            name: self.render(language, value) if isinstance(value, Text) else value
            for name, value in variables.items()
        }
        try:
            return template.format_map(rendered)
        except KeyError as missing:
            raise MissingText(f"{language}:{key} needs variable {missing}") from None

    def render(self, language: str, text: Text) -> str:
        return self.t(language, text.key, **dict(text.vars))


def placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = str(value)
    return flat


@cache
def _bundled() -> Catalogue:
    """``zh.toml`` / ``en.toml`` hold the core texts; a feature may keep its own texts in
    ``<feature>.zh.toml`` / ``<feature>.en.toml``. A key may be defined once only."""
    folder = resources.files(__package__)
    texts: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        merged: dict[str, str] = {}
        names = sorted(
            entry.name
            for entry in folder.iterdir()
            if entry.name == f"{language}.toml" or entry.name.endswith(f".{language}.toml")
        )
        for name in names:
            flat = _flatten(tomllib.loads((folder / name).read_text("utf-8")))
            clash = merged.keys() & flat.keys()
            if clash:
                raise MissingText(f"{name} defines keys again: {sorted(clash)[:5]}")
            merged.update(flat)
        texts[language] = merged
    return Catalogue(texts)
