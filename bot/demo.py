"""A small demo organisation for the sandbox: a team with its manager and reps. Later features
add customers, follow-ups and surveys here."""

from __future__ import annotations

from bot.runtime import Kehu
from crm.members import NewMember, Role

DEMO_TEAM = "华东区"
EXTRA_REPS = ((20_001, "王强"), (20_002, "赵敏"))


async def load_demo(kehu: Kehu, manager: tuple[int, str], rep: tuple[int, str]) -> str:
    """``manager`` and ``rep`` are (Telegram id, name) of the sandbox's people. Idempotent:
    running it twice adds nothing the second time."""
    people = [
        (*manager, Role.MANAGER),
        (*rep, Role.REP),
        *((user_id, name, Role.REP) for user_id, name in EXTRA_REPS),
    ]
    added = []
    async with kehu.unit_of_work() as uow:
        team = await uow.teams.by_name(DEMO_TEAM) or await uow.teams.add(DEMO_TEAM)
        for telegram_id, name, role in people:
            if await uow.members.by_telegram_id(telegram_id) is None:
                await uow.members.add(
                    NewMember(
                        telegram_id=telegram_id,
                        name=name,
                        username=None,
                        role=role,
                        team_id=team.id,
                        language=kehu.settings.language,
                    )
                )
                added.append(f"{name} ({role})")
        await uow.commit()
    if not added:
        return f"Demo data already loaded: team {DEMO_TEAM}."
    return f"Demo data loaded: team {DEMO_TEAM} with {', '.join(added)}."
