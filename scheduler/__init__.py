"""Ticks. The database holds what is due; these jobs only look at it now and then."""

from __future__ import annotations

from scheduler.jobs import schedule

__all__ = ["schedule"]
