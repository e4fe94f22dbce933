from __future__ import annotations

import pytest

from crm.invitations import new_token, token_from_payload
from crm.members import Person, Role, resolve_language
from crm.permissions import Action, can, invitable_roles


@pytest.mark.parametrize(
    ("chosen", "telegram", "default", "expected"),
    [
        ("en", "zh-hans", "zh", "en"),
        (None, "zh-hans", "en", "zh"),
        (None, "zh-TW", "en", "zh"),
        (None, "de", "zh", "en"),
        (None, None, "en", "en"),
        (None, "", "zh", "zh"),
        ("xx", None, "zh", "zh"),
    ],
)
def test_language_resolution(chosen, telegram, default, expected) -> None:
    assert resolve_language(chosen, telegram, default) == expected


def test_tokens_fit_telegram_deep_links() -> None:
    for _ in range(200):
        payload = "inv_" + new_token()
        assert len(payload) <= 64
        assert token_from_payload(payload) is not None
        assert all(ch.isalnum() or ch in "_-" for ch in payload)


@pytest.mark.parametrize("payload", ["", "inv_", "inv_短", "survey_abc", "inv_" + "a" * 61, "x"])
def test_payloads_that_are_not_invitations(payload: str) -> None:
    assert token_from_payload(payload) is None


def test_roles() -> None:
    assert invitable_roles(Role.ADMIN) == (Role.REP, Role.MANAGER)
    assert invitable_roles(Role.MANAGER) == (Role.REP,)
    assert invitable_roles(Role.REP) == ()
    assert can(Role.ADMIN, Action.MANAGE_MEMBERS)
    assert not can(Role.MANAGER, Action.MANAGE_MEMBERS)


def test_display_names() -> None:
    assert Person(1, "芳", "王").display_name == "芳 王"
    assert Person(1, "", username="wf").display_name == "wf"
    assert Person(7, "").display_name == "7"
