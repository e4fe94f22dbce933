"""Who sees what: a rep their own customers, a manager their team's, an admin everyone's. Every
customer query goes through a ``Visibility`` (storage turns it into one WHERE clause)."""

from __future__ import annotations

from dataclasses import dataclass

from crm.members import Member, Role


@dataclass(frozen=True)
class Visibility:
    member_id: int
    role: Role
    team_id: int | None

    @classmethod
    def of(cls, member: Member) -> Visibility:
        return cls(member_id=member.id, role=member.role, team_id=member.team_id)

    @classmethod
    def own(cls, member: Member) -> Visibility:
        """Only the member's own customers, whatever the role (a personal agenda)."""
        return cls(member_id=member.id, role=Role.REP, team_id=None)

    @property
    def sees_everything(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def sees_team(self) -> bool:
        """Managers see their team's customers (their own included)."""
        return self.role is Role.MANAGER and self.team_id is not None
