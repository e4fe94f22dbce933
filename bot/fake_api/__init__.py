"""A fake Telegram Bot API server for end-to-end tests, the sandbox and benchmarks."""

from bot.fake_api.fake import CallHook, FakeTelegram
from bot.fake_api.faults import Fault, FaultKind
from bot.fake_api.models import BotMessage, Button, CallbackAnswer, RecordedCall
from bot.fake_api.users import UserHandle

__all__ = [
    "BotMessage",
    "Button",
    "CallHook",
    "CallbackAnswer",
    "FakeTelegram",
    "Fault",
    "FaultKind",
    "RecordedCall",
    "UserHandle",
]
