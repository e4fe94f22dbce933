from __future__ import annotations

from telegram import User

from crm.members import Person


def person_from(user: User) -> Person:
    return Person(
        telegram_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )
