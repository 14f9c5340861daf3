"""Middlewares every request passes: journal and access log, body limit, errors.

A provider may render the server's 404/405/413/500 in its own error shape
(``Provider.http_error``); otherwise they are small JSON bodies. No traceback ever goes
on the wire: it goes to the log.
"""

from __future__ import annotations

import json
import logging
import time as _perf
from typing import Any

import orjson

from aiohttp import web

from .journal import redact
from .sim import SIM

log = logging.getLogger("simulator.http")
access = logging.getLogger("simulator.access")

# request keys handlers set once they know the account (for the journal)
ACCOUNT_KEY: web.RequestKey[str] = web.RequestKey("pbx_account", str)
PROVIDER_KEY: web.RequestKey[str] = web.RequestKey("pbx_provider", str)

SNAPSHOT_PATH = "/_sim/snapshot"   # imports whole states: exempt from the request body limit

_REASONS = {404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
            500: "Internal Server Error"}


def _provider_for(request: web.Request):
    sim = request.app[SIM]
    path = request.path
    for provider in sim.providers.values():
        if provider.base_path and path.startswith(provider.base_path):
            return provider
    return None


def error_response(request: web.Request, status: int) -> web.StreamResponse:
    provider = _provider_for(request)
    if provider is not None:
        custom = provider.http_error(request, status)
        if custom is not None:
            return custom
    return web.json_response({"status": status, "error": _REASONS.get(status, "Error"),
                              "path": request.path}, status=status)


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    """A JSON answer as every provider gives it: ``application/json; charset=utf-8``, UTF-8
    text (Cyrillic as is, not ``\\u`` escapes). orjson: JSON encoding was a quarter of a
    list request's CPU with the standard library."""
    try:
        body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:   # what orjson refuses (integers past 64 bits ...) json still writes
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return web.Response(body=body, status=status, headers=headers,
                        content_type="application/json", charset="utf-8")


@web.middleware
async def journal_middleware(request: web.Request, handler):
    started = _perf.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        sim = request.app[SIM]
        latency = round((_perf.perf_counter() - started) * 1000, 3)
        path = redact(request.path_qs)
        provider = request.get(PROVIDER_KEY)
        if provider is None:
            p = _provider_for(request)
            provider = p.id if p else None
        sim.requests.add(at=sim.clock.timestamp(), method=request.method,
                         path=path, status=status, latency_ms=latency, account=request.get(ACCOUNT_KEY),
                         provider=provider, remote=request.remote)
        if access.isEnabledFor(logging.INFO):
            access.info("%s %s %s %.1fms", request.method, path, status, latency)


@web.middleware
async def error_middleware(request: web.Request, handler):
    sim = request.app[SIM]
    limit = sim.config.server.body_limit
    if request.content_length is not None and request.content_length > limit \
            and not (request.method == "PUT" and request.path == SNAPSHOT_PATH):
        return error_response(request, 413)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error_response(request, 413)
    except web.HTTPNotFound as exc:
        if exc.text and exc.text != "404: Not Found":
            raise
        return error_response(request, 404)
    except web.HTTPMethodNotAllowed:
        return error_response(request, 405)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, redact(request.path_qs))
        return error_response(request, 500)
