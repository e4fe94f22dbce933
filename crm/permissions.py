"""What each role may do. The command menu, /help and the use cases all ask here."""

from __future__ import annotations

from enum import StrEnum

from crm.errors import NotAllowed
from crm.members import Member, Role


class Action(StrEnum):
    INVITE_REP = "invite_rep"
    INVITE_MANAGER = "invite_manager"
    MANAGE_MEMBERS = "manage_members"
    RUN_SURVEYS = "run_surveys"
    EDIT_KEYWORDS = "edit_keywords"
    VIEW_REPORTS = "view_reports"
    EXPORT_DATA = "export_data"
    SEE_FULL_PHONES = "see_full_phones"
    IMPORT_CUSTOMERS = "import_customers"


_GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MANAGER: frozenset(
        {Action.INVITE_REP, Action.RUN_SURVEYS, Action.VIEW_REPORTS, Action.EXPORT_DATA}
    ),
    Role.REP: frozenset(),
}


def can(role: Role, action: Action) -> bool:
    return action in _GRANTS[role]


def require(member: Member, action: Action) -> None:
    if not can(member.role, action):
        raise NotAllowed("errors.not_allowed")


def invitable_roles(role: Role) -> tuple[Role, ...]:
    """Roles this role may hand out, in the order they are offered."""
    offered = []
    if can(role, Action.INVITE_REP):
        offered.append(Role.REP)
    if can(role, Action.INVITE_MANAGER):
        offered.append(Role.MANAGER)
    return tuple(offered)
