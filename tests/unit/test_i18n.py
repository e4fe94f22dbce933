"""Both catalogues hold the same keys with the same variables, and every key the code asks for
exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.i18n import Catalogue, MissingText, placeholders
from crm.members import Role
from crm.texts import Text
from handlers.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
catalogue = Catalogue.load()


def test_same_keys_in_every_language() -> None:
    zh, en = catalogue.keys("zh"), catalogue.keys("en")
    assert sorted(zh - en) == [], "in zh only"
    assert sorted(en - zh) == [], "in en only"


@pytest.mark.parametrize("key", sorted(catalogue.keys("zh")))
def test_same_variables_in_every_language(key: str) -> None:
    assert placeholders(catalogue.raw("zh", key)) == placeholders(catalogue.raw("en", key))


def test_no_empty_texts() -> None:
    for language in catalogue.languages:
        for key in catalogue.keys(language):
            assert catalogue.raw(language, key).strip(), f"{language}:{key} is empty"


def _keys_used_in_code() -> set[str]:
    callers = r"(?:\bt|DomainError|NotAllowed|NotFound|InvalidInput|Text)"
    pattern = re.compile(callers + r"""\(\s*f?["']([a-z_]+\.[a-z_.{}]+)["']""")
    used: set[str] = set()
    for folder in ("bot", "handlers", "crm", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(pattern.findall(path.read_text("utf-8")))
    return used


def _expand(key: str) -> list[str]:
    """``roles.{member.role}`` stands for one key per role (and so on)."""
    if "{" not in key:
        return [key]
    prefix = key.split("{", 1)[0]
    return [candidate for candidate in catalogue.keys("en") if candidate.startswith(prefix)]


def test_every_key_the_code_uses_exists() -> None:
    used = _keys_used_in_code()
    assert len(used) > 20, "the scan found suspiciously few keys"
    missing = [key for key in sorted(used) if not _expand(key)]
    assert missing == []
    for key in used:
        for concrete in _expand(key):
            catalogue.raw("zh", concrete)


def test_dynamic_keys_are_complete() -> None:
    for role in Role:
        for language in catalogue.languages:
            catalogue.raw(language, f"roles.{role}")
            catalogue.raw(language, f"help.header_{role}")
    for command in COMMANDS:
        catalogue.raw("zh", command.description_key)


def test_missing_key_or_variable_is_loud() -> None:
    with pytest.raises(MissingText):
        catalogue.t("zh", "no.such.key")
    with pytest.raises(MissingText):
        catalogue.t("zh", "invite.accepted_notice", name="李")


def test_nested_texts_render_in_the_same_language() -> None:
    text = Text("invite.accepted_notice", {"name": "Li", "role": Text("roles.manager")})
    assert catalogue.render("en", text) == "Li joined through your invitation as manager."
    assert (
        catalogue.render("zh", Text.from_json(text.to_json()))
        == "Li 已通过您的邀请加入，角色：经理。"
    )


def _key_like_strings_in_code() -> set[str]:
    """Every string literal shaped like a key (``a.b``), and the literal head of f-strings
    such as ``f"card.saved_{kind}"`` (as ``card.saved_{``): keys also travel in variables."""
    shape = re.compile(r"^[a-z_]+\.[A-Za-z0-9_]+$")
    found: set[str] = set()
    for folder in ("bot", "handlers", "crm", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if shape.match(node.value):
                        found.add(node.value)
                elif isinstance(node, ast.JoinedStr) and node.values:
                    head = node.values[0]
                    if isinstance(head, ast.Constant) and re.match(r"^[a-z_]+\.", str(head.value)):
                        found.add(f"{head.value}{{")
    return found


def test_no_text_is_left_unused() -> None:
    used = _keys_used_in_code() | _key_like_strings_in_code()
    covered = {concrete for key in used for concrete in _expand(key)}
    covered |= {command.description_key for command in COMMANDS}
    assert sorted(catalogue.keys("en") - covered) == []
