"""What happens to a provider request before its handler runs, when a test asked for it:
the faults of ``core/faults.py`` (an error in the provider's shape, latency, a reset
connection, no answer at all, the rate limit) and strict mode's check against the
provider's OpenAPI document. What was done goes into the request's journal entry.

The middleware calls ``preflight`` only while some fault or strict account exists, so an
ordinary request pays one set lookup.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .journal import ACCOUNT_KEY
from .keys import SIM

if TYPE_CHECKING:
    from .core.faults import Fault
    from .providers import Provider
    from .sim import Simulator

# what the journal entry of the request says beyond the usual: {"fault": …, "violations": […]}
NOTES_KEY: web.RequestKey[dict] = web.RequestKey("pbx_notes", dict)

TIMEOUT_POLL_S = 0.05   # how often a request that is never answered looks whether its client left


class NoAnswer(ConnectionResetError):
    """The request is not answered (a ``reset`` or ``timeout`` fault); aiohttp drops it
    quietly as a client that went away."""


def wanted(sim: "Simulator", path: str) -> "Provider | None":
    """The provider of ``path`` when one of its accounts has a fault or strict mode on."""
    provider = sim.provider_for_path(path)
    if provider is None:
        return None
    if provider.id in sim.faults.api_providers or provider.id in sim.strict_providers:
        return provider
    return None


async def preflight(request: web.Request) -> web.StreamResponse | None:
    """An answer that replaces the handler's, or None to let the handler answer."""
    sim: "Simulator" = request.app[SIM]
    provider = wanted(sim, request.path)
    if provider is None:
        return None
    account = await provider.identify(sim, request)
    if account is None:
        return None
    request[ACCOUNT_KEY] = account
    strict = account.strict
    if strict is not None:
        from .strict import check   # the OpenAPI documents are read only when strict mode is on
        violations = await check(sim, provider, request)
        if violations:
            request.setdefault(NOTES_KEY, {})["violations"] = violations
            # a path or method the document lacks gets the server's own 404 / 405
            refused = [v for v in violations if v["kind"] not in ("unknown_path", "unknown_method")]
            if strict == "reject" and refused:
                return provider.strict_error(refused)
    if provider.id in sim.faults.api_providers:
        found = sim.faults.for_request(account.id, request.method, request.path, account.clock.timestamp())
        if found is not None:
            return await inject(provider, request, *found)
    return None


async def inject(provider: "Provider", request: web.Request, fault: "Fault", why: str) -> web.StreamResponse | None:
    spec = fault.spec
    mark = fault.mark(why)
    request.setdefault(NOTES_KEY, {})["fault"] = mark
    if spec.latency:
        mark["latency_s"] = spec.latency
        # real time: a latency is about the CRM's HTTP client timeouts, which are real time
        await asyncio.sleep(float(spec.latency))
    if spec.rate_limit is not None:
        return provider.named_errors["too_many_requests"]().response()
    respond = spec.respond
    if respond is None:          # latency alone: the handler answers, late
        return None
    if respond.reset:
        _reset(request)
        raise NoAnswer("connection reset by a fault")
    if respond.timeout:
        await _until_client_leaves(request)
        raise NoAnswer("not answered (fault)")
    if respond.error is not None:
        return provider.named_errors[respond.error]().response()
    if respond.body is not None:
        return _body(respond.body, int(respond.status))
    return provider.status_error(int(respond.status))


def _body(body: Any, status: int) -> web.Response:
    if isinstance(body, str):
        return web.Response(text=body, status=status, content_type="text/plain", charset="utf-8")
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json", charset="utf-8")


def _reset(request: web.Request) -> None:
    """Close the connection with a TCP RST (linger 0), as a crashed front end does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError, TypeError):   # not a TCP socket: a plain close
            pass
    transport.abort()


async def _until_client_leaves(request: web.Request) -> None:
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(TIMEOUT_POLL_S)


__all__ = ["NOTES_KEY", "NoAnswer", "preflight", "wanted"]
