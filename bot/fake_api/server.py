"""The HTTP side: tornado handlers for ``/bot<token>/<method>`` and file downloads."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from bot.fake_api.models import Upload
from bot.fake_api.state import Signal

_LOG = logging.getLogger(__name__)
_NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
_STOP_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class RawCall:
    """A method call as it arrived, before parameters are decoded."""

    token: str
    method: str
    form: dict[str, str]
    json_body: dict[str, Any] | None = None
    uploads: dict[str, Upload] = field(default_factory=dict)
    is_closed: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class Reply:
    """What to answer; ``body`` None means close the connection without an HTTP response."""

    status: int
    body: dict[str, Any] | None


Dispatch = Callable[[RawCall], Awaitable[Reply]]
Download = Callable[[str, str], bytes | None]


class ApiServer:
    """Serves the Bot API on a local port; tracks in-flight calls for a clean stop."""

    def __init__(self, dispatch: Dispatch, download: Download, on_disconnect: Callable[[], None]):
        self.dispatch = dispatch
        self.download = download
        self.on_disconnect = on_disconnect
        self._active = 0
        self._idle = Signal()
        self._http: HTTPServer | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 = any free port); returns the bound port."""
        routes: list[Any] = [
            (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", _MethodHandler, {"server": self}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"server": self}),
            (r".*", _NotFoundHandler),
        ]
        app = Application(routes, log_function=lambda handler: None)
        sockets = bind_sockets(port, address=host)
        self._http = HTTPServer(app)
        self._http.add_sockets(sockets)
        return int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, let woken calls finish answering, then close every connection."""
        if self._http is None:
            return
        self._http.stop()
        await self._idle.wait_until(lambda: self._active == 0, _STOP_GRACE_SECONDS)
        await self._http.close_all_connections()
        self._http = None

    async def serve(self, call: RawCall) -> Reply:
        self._active += 1
        try:
            return await self.dispatch(call)
        finally:
            self._active -= 1
            self._idle.fire()


class _MethodHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST")

    def initialize(self, server: ApiServer) -> None:
        self._server = server
        self._closed = False

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        call = RawCall(
            token=token,
            method=method,
            form=self._form(),
            json_body=self._json_body(),
            uploads=self._uploads(),
            is_closed=lambda: self._closed,
        )
        reply = await self._server.serve(call)
        if reply.body is None or self._closed:
            self.detach().close()
            return
        self.set_status(reply.status)
        self.set_header("Content-Type", "application/json")
        try:
            await self.finish(json.dumps(reply.body, ensure_ascii=False))
        except StreamClosedError:
            _LOG.debug("client went away before the %s answer was written", method)

    def on_connection_close(self) -> None:
        self._closed = True
        self._server.on_disconnect()

    def _form(self) -> dict[str, str]:
        arguments = {**self.request.query_arguments, **self.request.body_arguments}
        return {name: values[-1].decode() for name, values in arguments.items() if values}

    def _json_body(self) -> dict[str, Any] | None:
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("application/json") or not self.request.body:
            return None
        try:
            body = json.loads(self.request.body)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _uploads(self) -> dict[str, Upload]:
        return {
            name: Upload(parts[0].filename, parts[0].body, parts[0].content_type)
            for name, parts in self.request.files.items()
            if parts
        }


class _FileHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, server: ApiServer) -> None:
        self._server = server

    def get(self, token: str, file_path: str) -> None:
        data = self._server.download(token, file_path)
        if data is None:
            _write_not_found(self)
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(data)


class _NotFoundHandler(RequestHandler):
    def prepare(self) -> None:
        _write_not_found(self)


def _write_not_found(handler: RequestHandler) -> None:
    handler.set_status(404)
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps(_NOT_FOUND))
