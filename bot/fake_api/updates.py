"""Getting updates to the bot: long polling and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.fake_api.models import ApiError, ApiRequest
from bot.fake_api.state import Handler, TelegramState, WebhookConfig

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def get_updates(state: TelegramState, request: ApiRequest) -> list[dict[str, Any]]:
    """Long polling: answer as soon as updates exist, the timeout passes or the server stops."""
    if state.webhook is not None:
        raise ApiError(409, WEBHOOK_ACTIVE)
    params = request.params
    state.updates.confirm(params.get("offset"))
    if "allowed_updates" in params:
        state.allowed_updates = params["allowed_updates"]
    limit = min(max(int(params.get("limit", 100)), 1), 100)
    state.poll_generation += 1
    generation = state.poll_generation
    state.changed()  # an older poll still waiting learns it was superseded

    def done() -> bool:
        superseded = generation != state.poll_generation
        return bool(state.updates) or state.stopping or superseded or request.is_closed()

    await state.signal.wait_until(done, max(float(params.get("timeout", 0)), 0.0))
    if generation != state.poll_generation:
        raise ApiError(409, TERMINATED)
    return [] if request.is_closed() else state.updates.take(limit)


async def set_webhook(state: TelegramState, request: ApiRequest) -> bool:
    params = request.params
    if params.get("drop_pending_updates"):
        state.updates.clear()
    url = str(params.get("url") or "")
    state.webhook = None
    if url:
        state.webhook = WebhookConfig(
            url=url,
            secret_token=params.get("secret_token"),
            max_connections=int(params.get("max_connections", 40)),
            allowed_updates=params.get("allowed_updates"),
        )
    state.changed()
    return True


async def delete_webhook(state: TelegramState, request: ApiRequest) -> bool:
    if request.params.get("drop_pending_updates"):
        state.updates.clear()
    state.webhook = None
    state.changed()
    return True


async def get_webhook_info(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    hook = state.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }
    if hook is None:
        return info
    info |= {"ip_address": "127.0.0.1", "max_connections": hook.max_connections}
    if hook.allowed_updates is not None:
        info["allowed_updates"] = hook.allowed_updates
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    return info


class WebhookDelivery:
    """POSTs queued updates to the webhook, in order, one at a time, retrying failures."""

    def __init__(self, state: TelegramState, retry_delay: Callable[[], float]) -> None:
        self._state = state
        self._retry_delay = retry_delay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        client: httpx.AsyncClient | None = None  # created once a webhook is first set
        try:
            while True:
                await self._state.signal.wait_until(self._has_work, None)
                client = client or httpx.AsyncClient(timeout=10.0, trust_env=False)
                await self._deliver_first(client)
        finally:
            if client is not None:
                await client.aclose()

    async def _deliver_first(self, client: httpx.AsyncClient) -> None:
        state = self._state
        hook, update = state.webhook, state.updates.first()
        if hook is None or update is None:
            return
        error = await _post(client, hook, update)
        if error is None:
            state.updates.remove(update["update_id"])
            state.changed()
            return
        hook.last_error_date = state.timestamp()
        hook.last_error_message = error
        state.changed()
        await asyncio.sleep(self._retry_delay())

    def _has_work(self) -> bool:
        return self._state.webhook is not None and bool(self._state.updates)


async def _post(
    client: httpx.AsyncClient, hook: WebhookConfig, update: dict[str, Any]
) -> str | None:
    """Deliver one update; the error text Telegram would report, or None on success."""
    headers = {"Content-Type": "application/json"}
    if hook.secret_token:
        headers[SECRET_HEADER] = hook.secret_token
    try:
        response = await client.post(hook.url, content=json.dumps(update), headers=headers)
    except httpx.HTTPError as error:
        return f"Connection failed: {error.__class__.__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"


METHODS: dict[str, Handler] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
