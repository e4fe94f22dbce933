"""The domain's use cases, bound to one unit of work (one update or one job)."""

from __future__ import annotations

from dataclasses import dataclass

from crm.clock import Clock
from crm.onboarding import MemberService, OnboardingPolicy
from crm.ports import UnitOfWork


@dataclass(frozen=True)
class DomainConfig:
    onboarding: OnboardingPolicy


class Services:
    def __init__(self, uow: UnitOfWork, clock: Clock, config: DomainConfig) -> None:
        self.members = MemberService(uow, clock, config.onboarding)
