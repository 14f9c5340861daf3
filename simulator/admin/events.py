"""``GET /_sim/events``: one live stream (server-sent events) of what happens in the simulator —
the call engine's domain events, each webhook attempt as the webhook journal records it, and
the CRM's requests into the PBX as the request journal records them. The inspector page
listens to it; so can any other client. Events say what changed, with the ids to read the
rest from the admin API (no second record of anything).

Nothing is formatted while nobody listens: each source's listener returns at once then.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp_sse import sse_response

from ..sim import SIM, iso

if TYPE_CHECKING:
    from ..core.engine import CallEvent
    from ..journal import RequestEntry
    from ..core.models import PauseRecord
    from ..core.webhooks import WebhookAttempt
    from ..sim import Simulator

QUEUE_SIZE = 2000   # events a slow listener may fall behind by; past that it is told to reread


class LiveEvents:
    """Fans the simulator's events out to each listening stream (one bounded queue each)."""

    def __init__(self, sim: "Simulator"):
        self.sim = sim
        self._queues: set[asyncio.Queue] = set()
        sim.engine.subscribe(self._on_call)
        sim.engine.subscribe_office(self._on_office)
        sim.webhook_journal.listeners.append(self._on_webhook)
        sim.requests.listeners.append(self._on_requests)

    def detach(self) -> None:
        with contextlib.suppress(ValueError):
            self.sim.engine.listeners.remove(self._on_call)
        with contextlib.suppress(ValueError):
            self.sim.engine.office_listeners.remove(self._on_office)
        with contextlib.suppress(ValueError):
            self.sim.webhook_journal.listeners.remove(self._on_webhook)
        with contextlib.suppress(ValueError):
            self.sim.requests.listeners.remove(self._on_requests)
        for queue in list(self._queues):
            self._put(queue, None)

    # ---- listening ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def listen(self):
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._queues):
            self._put(queue, event)

    @staticmethod
    def _put(queue: asyncio.Queue, event: dict | None) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:   # a stream that does not keep up: it rereads what it shows
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    queue.get_nowait()
            queue.put_nowait({"type": "overflow"} if event is not None else None)

    # ---- sources -----------------------------------------------------------------------------
    def _on_call(self, event: "CallEvent") -> None:
        if not self._queues:
            return
        call = event.call
        self.publish({"type": event.type, "account": call.account_id, "call": call.id,
                      "state": call.state, "leg": event.leg.id if event.leg is not None else None,
                      "at": iso(event.at)})

    def _on_office(self, account_id: str, kind: str, record: "PauseRecord") -> None:
        if not self._queues:
            return
        self.publish({"type": kind, "account": account_id, "employee": record.employee_id, "at": iso(record.at)})

    def _on_webhook(self, attempt: "WebhookAttempt") -> None:
        if not self._queues:
            return
        self.publish({"type": "webhook", "id": attempt.id, "account": attempt.account, "call": attempt.call,
                      "hook": attempt.hook, "status": attempt.status, "delivered": attempt.delivered,
                      "ok": bool(attempt.contract.get("ok", True)), "at": attempt.at})

    def _on_requests(self, entries: list["RequestEntry"]) -> None:
        if not self._queues:
            return
        # the CRM's requests into the PBX (those under a provider's path), not the admin API's
        accounts = sorted({e.account or e.provider for e in entries if e.provider is not None})
        if accounts:
            self.publish({"type": "requests", "accounts": accounts,
                          "count": sum(1 for e in entries if e.provider is not None)})


LIVE_EVENTS: web.AppKey[LiveEvents] = web.AppKey("live_events", LiveEvents)

routes = web.RouteTableDef()


def setup_events(app: web.Application) -> None:
    """Attach the stream to ``app``'s simulator (the sources are the simulator's)."""
    app[LIVE_EVENTS] = LiveEvents(app[SIM])
    app.add_routes(routes)

    async def _stop(app: web.Application) -> None:   # open streams end before the server waits on them
        app[LIVE_EVENTS].detach()

    app.on_shutdown.append(_stop)


@routes.get("/_sim/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events, each one ``data:`` line of JSON whose ``type`` says what happened
    (unnamed events: a browser's ``onmessage`` sees every kind, those added later too).
    ``?account=`` keeps one account's."""
    hub = request.app[LIVE_EVENTS]
    account = request.query.get("account") or None
    if account and account not in request.app[SIM].accounts:
        return web.json_response({"error": f"no account {account!r}"}, status=404)
    with hub.listen() as queue:
        async with sse_response(request) as stream:
            await stream.send(_dumps({"type": "hello", "clock": request.app[SIM].clock.snapshot()}))
            closed = asyncio.ensure_future(stream.wait())   # done when the listener goes away
            try:
                while True:
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break
                    event = getter.result()
                    if event is None:
                        break
                    if account is None or _concerns(event, account):
                        try:
                            await stream.send(_dumps(event))
                        except (ConnectionResetError, RuntimeError):   # the listener went away
                            break
            finally:
                closed.cancel()
    return stream


def _concerns(event: dict, account: str) -> bool:
    if "accounts" in event:
        return account in event["accounts"]
    return event.get("account") in (None, account)


def _dumps(data: dict) -> str:
    return orjson.dumps(data).decode()


__all__ = ["LIVE_EVENTS", "LiveEvents", "setup_events"]
