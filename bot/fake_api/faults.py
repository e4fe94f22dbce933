"""Injected failures: flood control, server errors, hangs, dropped connections."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

from bot.fake_api.models import BLOCKED, NOT_MODIFIED, ApiError


class FaultKind(Enum):
    ERROR = "error"  # answer with an error body
    TIMEOUT = "timeout"  # hold the request, then answer or drop
    DISCONNECT = "disconnect"  # close the connection without answering


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering a call; build with the class methods."""

    kind: FaultKind
    error: ApiError | None = None
    seconds: float = 0.0
    answer: bool = True

    @classmethod
    def retry_after(cls, seconds: int) -> Fault:
        """429 flood control, ``parameters.retry_after`` = ``seconds``."""
        description = f"Too Many Requests: retry after {seconds}"
        return cls.error_reply(429, description, {"retry_after": seconds})

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx answer whose description is the status phrase ("Bad Gateway" for 502)."""
        return cls.error_reply(status, HTTPStatus(status).phrase)

    @classmethod
    def timeout(cls, seconds: float = 2.0, answer: bool = True) -> Fault:
        """Hold the request ``seconds``; then process and answer it normally, or drop it."""
        return cls(FaultKind.TIMEOUT, seconds=seconds, answer=answer)

    @classmethod
    def disconnect(cls) -> Fault:
        return cls(FaultKind.DISCONNECT)

    @classmethod
    def blocked(cls) -> Fault:
        return cls.error_reply(403, BLOCKED)

    @classmethod
    def not_modified(cls) -> Fault:
        return cls.error_reply(400, NOT_MODIFIED)

    @classmethod
    def bad_request(cls, description: str = "Bad Request") -> Fault:
        return cls.error_reply(400, description)

    @classmethod
    def error_reply(
        cls, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> Fault:
        """Any error answer."""
        return cls(FaultKind.ERROR, error=ApiError(status, description, parameters))


@dataclass
class _Rule:
    fault: Fault
    method: str | None
    chat_id: int | str | None
    remaining: int | None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id


class FaultBook:
    """Injected faults, matched in injection order and consumed ``times`` times each."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []

    def add(
        self, fault: Fault, method: str | None, times: int | None, chat_id: int | str | None
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        self._rules.append(_Rule(fault, method, chat_id, times))

    def take(self, method: str, params: dict[str, Any]) -> Fault | None:
        """The first matching fault, consuming one use of it."""
        for rule in self._rules:
            if rule.matches(method, params):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                return rule.fault
        return None

    def clear(self) -> None:
        self._rules.clear()

    def __len__(self) -> int:
        return len(self._rules)
