"""The middleware every request passes: admin token, body limit, errors, journal and access log.

A provider may render the server's 400/404/405/413 in its own error shape
(``Provider.http_error``); otherwise they are small JSON bodies. An exception no handler
expected is answered as the nearest documented error, a 400 (every one found so far was
input no check had foreseen), and logged with its traceback: no traceback goes on the wire,
and no input gets a 500.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import inspect
import json
import logging
import time as _perf
from http import HTTPStatus
from typing import Any, Callable

import orjson

from aiohttp import web

from .journal import ACCOUNT_KEY, redact   # noqa: F401 (ACCOUNT_KEY: the providers import it from here)
from .keys import SIM

log = logging.getLogger("simulator.http")

SNAPSHOT_PATH = "/_sim/snapshot"   # imports whole states: exempt from the request body limit

_REASONS = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
            500: "Internal Server Error"}


def error_response(request: web.Request, status: int) -> web.StreamResponse:
    provider = request.app[SIM].provider_for_path(request.path)
    if provider is not None:
        custom = provider.http_error(request, status)
        if custom is not None:
            return custom
    return web.json_response({"status": status, "error": _REASONS.get(status, "Error"),
                              "path": request.path}, status=status)


def reason(status: int) -> str:
    """The HTTP reason phrase of ``status`` ("Service Unavailable"), or "Error"."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    """A JSON answer as every provider gives it: ``application/json; charset=utf-8``, UTF-8
    text (Cyrillic as is, not ``\\u`` escapes). orjson: JSON encoding was a quarter of a
    list request's CPU with the standard library."""
    try:
        body = orjson.dumps(data)
    except TypeError:   # non-string keys (twice as slow to allow), integers past 64 bits ...
        try:
            body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return web.Response(body=body, status=status, headers=headers, content_type="application/json",
                        charset="utf-8")


def account_endpoint(handler: Callable, authenticate: Callable[[web.Request], Any],
                     error: type[Exception]) -> Callable[[web.Request], Any]:
    """An aiohttp handler made of a provider's ``handler(request, account)`` (a coroutine
    function or a plain one): ``authenticate`` finds the account, and an ``error`` raised on
    the way (the provider's error class, which knows its wire body) becomes its ``response()``."""
    @functools.wraps(handler)
    async def endpoint(request: web.Request) -> web.StreamResponse:
        try:
            response = handler(request, authenticate(request))
            return await response if inspect.isawaitable(response) else response
        except error as err:
            return err.response()
    return endpoint


# What a browser opens (the inspector page, its files, the live event stream) cannot carry an
# Authorization header: there the token may come as ?token= once (the page then keeps it in a
# same-site cookie) or in that cookie. Only for GET: nothing that changes state takes the cookie.
PAGE_PATHS = ("/_sim/ui", "/_sim/events")
PAGE_COOKIE = "pbx_sim_admin"


def _page_token(request: web.Request, token: str) -> bool:
    if request.method != "GET" or not request.path.startswith(PAGE_PATHS):
        return False
    given = request.cookies.get(PAGE_COOKIE) or (request.query.get("token", "")
                                                 if request.path.startswith(PAGE_PATHS[0]) else "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def token_page(request: web.Request) -> web.Response:
    """401 for a browser: a form that asks for the admin token."""
    wrong = "token" in request.query
    html = ("<!doctype html><html lang='en'><meta charset='utf-8'><meta name='viewport' content="
            "'width=device-width'><title>pbx-simulator: admin token</title><body style='font:16px "
            "system-ui;margin:3em auto;max-width:28em'><h1>pbx-simulator</h1><p>This server asks for "
            "its admin token.</p>" + ("<p style='color:#a00'>That token is not it.</p>" if wrong else "")
            + "<form method='get' action='/_sim/ui'><input name='token' type='password' autofocus "
            "aria-label='admin token' style='font:inherit;width:100%'><p><button>Open the inspector"
            "</button></p></form></body></html>")
    return web.Response(text=html, status=401, content_type="text/html")


def _refusal(sim, request: web.Request) -> web.StreamResponse | None:
    """What is answered before any handler runs: the admin token, then the body limit."""
    server = sim.config.server
    if server.admin_token:
        path = request.path
        if path.startswith("/_sim") and path != "/_sim/health":
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {server.admin_token}".encode()) \
                    and not _page_token(request, server.admin_token):
                if path.startswith(PAGE_PATHS[0]):
                    return token_page(request)
                return web.json_response({"error": "admin token required (Authorization: Bearer …)"}, status=401)
    length = request.content_length
    if length is not None and length > server.body_limit \
            and not (request.method == "PUT" and request.path == SNAPSHOT_PATH):
        return error_response(request, 413)
    return None


def request_middleware(sim) -> Any:
    """The middleware of ``sim``'s application. Every request: admin token, body limit, errors
    in the provider's shape, then the journal entry (which brings the access line). One
    middleware, not three, closed over what it uses: each aiohttp middleware layer costs a
    request about 15 k instructions."""
    server, add, perf_counter, now = sim.config.server, sim.requests.add, _perf.perf_counter, sim.clock.timestamp
    provider_of = sim.provider_id_for_path
    faults = sim.faults
    from .preflight import NOTES_KEY, NoAnswer, preflight

    @web.middleware
    async def answer(request: web.Request, handler):
        started = perf_counter()
        status = 500
        if sim.seeding and request.path != "/_sim/health":
            await sim.ready()          # the accounts' past calls first (pbx-sim serve's start)
        try:
            response = _refusal(sim, request) if server.admin_token or request.content_length else None
            if response is None and (faults.api_providers or sim.strict_providers):
                response = await preflight(request)   # faults, strict mode: only while there are any
            if response is None:
                try:
                    response = await handler(request)
                except web.HTTPRequestEntityTooLarge:
                    response = error_response(request, 413)
                except web.HTTPNotFound as exc:
                    if exc.text and exc.text != "404: Not Found":   # a handler's own 404 body
                        raise
                    response = error_response(request, 404)
                except web.HTTPMethodNotAllowed as exc:
                    response = error_response(request, 405)
                    response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
                except web.HTTPException:
                    raise
                except Exception:
                    log.exception("unhandled error on %s %s (answered 400)", request.method,
                                  redact(request.path_qs))
                    response = error_response(request, 400)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except (NoAnswer, asyncio.CancelledError):   # a reset or timeout fault, a client gone: no answer
            status = 0
            raise
        finally:
            ended = perf_counter()
            account = request.get(ACCOUNT_KEY)
            if account is not None:
                account_id, provider = account.id, account.provider
            else:
                account_id, provider = None, provider_of(request.path)
            # the path as sent: redacted when written out
            add(now(), request.method, request.raw_path, status, (ended - started) * 1000, account_id, provider,
                request.remote, ended, request.get(NOTES_KEY))

    return answer
