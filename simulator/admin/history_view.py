"""``GET /_sim/calls/{call_id}/history?account=``: a finished call as its provider shows it — the
answer of the provider's own history endpoint for the seconds the call lasted, asked over
HTTP of this server with the account's credentials, exactly as a CRM would ask (the body,
status and content type as the provider gives them; the request made in ``X-Pbx-Sim-Request``).

Each provider's request is a recipe below: the documented endpoint and parameters, and how
the account authenticates. t2 and every other provider answer from their own handlers: this
module only asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from ..journal import redact
from ..sim import SIM

if TYPE_CHECKING:
    from ..core.accounts import Account
    from ..core.models import CallRecord

routes = web.RouteTableDef()


@dataclass
class Ask:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    json: dict | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def target(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")


def _utc(ts: float, fmt: str) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime(fmt)


def _window(cdr: "CallRecord") -> tuple[float, float]:
    return int(cdr.started_at) - 1, int(cdr.ended_at) + 2


def _vats(account: "Account", cdr: "CallRecord") -> list[Ask]:
    start, end = _window(cdr)
    path = "/crmapi/v1/history/inner/json" if cdr.direction == "internal" else "/crmapi/v1/history/json"
    return [Ask("GET", path, {"start": _utc(start, "%Y%m%dT%H%M%SZ"), "end": _utc(end, "%Y%m%dT%H%M%SZ")},
                headers={"X-API-KEY": account.credentials.get("api_key", "")})]


def _cloudpbx(account: "Account", cdr: "CallRecord") -> list[Ask]:
    start, end = _window(cdr)
    return [Ask("POST", "/sys/crm_api.wcgp", form={
        "cmd": "history", "token": account.credentials.get("token", ""),
        "start": _utc(start, "%Y%m%dT%H%M%SZ"), "end": _utc(end, "%Y%m%dT%H%M%SZ")})]


def _t2(account: "Account", cdr: "CallRecord") -> list[Ask]:
    start, end = _window(cdr)
    return [Ask("GET", "/crm/openapi/call-records/info",
                {"start": _utc(start, "%Y-%m-%dT%H:%M:%SZ"), "end": _utc(end, "%Y-%m-%dT%H:%M:%SZ")},
                headers={"Authorization": account.credentials.get("access_token", "")})]


def _phonet(account: "Account", cdr: "CallRecord") -> list[Ask]:
    start, end = _window(cdr)
    host = {"Host": account.domain}   # phonet checks the domain it is asked at
    return [Ask("POST", "/rest/security/authorize", json={"domain": account.domain,
                                                          "apiKey": account.credentials.get("api_key", "")},
                headers=host),
            Ask("GET", "/rest/calls/company.api", {"timeFrom": str(int(start * 1000)),
                                                   "timeTo": str(int(end * 1000))}, headers=host)]


RECIPES: dict[str, Callable[["Account", "CallRecord"], list[Ask]]] = {
    "vats": _vats, "cloudpbx": _cloudpbx, "t2": _t2, "phonet": _phonet}


def _here(request: web.Request) -> str:
    """This server's address as the request reached it (whatever name the browser used)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    if not sockname:
        return str(request.url.origin())
    host, port = sockname[0], sockname[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@routes.get("/_sim/calls/{call_id}/history")
async def call_history(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM]
    account = sim.accounts.get(request.query.get("account", ""))
    if account is None:
        return web.json_response({"error": f"no account {request.query.get('account', '')!r}"}, status=404)
    cdr = account.state.cdrs.get(request.match_info["call_id"])
    if cdr is None:
        return web.json_response({"error": "no finished call with this id"}, status=404)
    recipe = RECIPES.get(account.provider)
    if recipe is None:
        return web.json_response({"error": f"no history endpoint known for provider {account.provider!r}"},
                                 status=404)
    base = _here(request)
    asked: list[str] = []
    # a jar that keeps cookies of an IP address host (phonet's session)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        for ask in recipe(account, cdr):
            asked.append(f"{ask.method} {redact(ask.target())}")
            async with session.request(ask.method, base + ask.target(), json=ask.json, data=ask.form,
                                       headers=ask.headers, allow_redirects=False) as answer:
                body = await answer.read()
                status, ctype = answer.status, answer.headers.get("Content-Type", "")
    headers = {"X-Pbx-Sim-Request": " | ".join(asked)}
    if ctype:
        headers["Content-Type"] = ctype
    return web.Response(body=body, status=status, headers=headers)


__all__ = ["RECIPES", "routes"]
