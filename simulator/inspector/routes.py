"""The inspector's routes: ``GET /_sim/ui`` (the whole page), ``GET /_sim/ui/part/{view}`` (one
view, which the page fetches again when the live stream says it changed) and its two static
files. Every view is rendered from what the admin API answers (the same functions make both);
the page's buttons call the admin API itself."""

from __future__ import annotations

import hmac
import json
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .. import assets
from ..admin.office import STATES, office_json
from ..admin.routes import call_json, cdr_json
from ..http import PAGE_COOKIE, token_page
from ..sim import SIM, Simulator, iso

routes = web.RouteTableDef()

TABS = ("board", "calls", "webhooks", "requests", "phone", "scenarios", "faults", "accounts")
# what the page fetches again when the live stream says it changed
PARTS = ("board", "calls", "webhooks", "requests", "handset", "clock", "accounts", "faults")
STATE_TEXT = {"talking": "talking", "on_hold": "on hold", "calling": "dialling", "ringing": "ringing",
              "dnd": "DND", "paused": "paused", "offline": "offline", "idle": "idle"}
FINISHED_SHOWN = 25          # finished calls in the calls view
WEBHOOKS_SHOWN = 200         # newest webhook attempts in the webhooks view
REQUESTS_SHOWN = 200
STATIC = {"app.js": "application/javascript", "style.css": "text/css"}


class Templates:
    """The page's Jinja templates, made on the first page: importing jinja2 was 4-7 % of
    ``pbx-sim serve``'s start (paired runs), towards the < 0.5 s target (see
    ``Simulator._start_later``), and nobody may ever open the page."""

    def __init__(self) -> None:
        self._env = None

    def render(self, name: str, ctx: dict[str, Any]) -> web.Response:
        if self._env is None:
            import jinja2
            env = jinja2.Environment(loader=jinja2.PackageLoader("simulator.inspector", "templates"),
                                     autoescape=jinja2.select_autoescape(default=True),
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
            env.filters["pretty"] = _pretty
            env.globals.update(STATE_TEXT=STATE_TEXT, STATES=STATES)
            self._env = env
        return web.Response(text=self._env.get_template(name).render(ctx), content_type="text/html",
                            charset="utf-8")


TEMPLATES = web.AppKey("inspector_templates", Templates)


def setup_inspector(app: web.Application) -> None:
    app[TEMPLATES] = Templates()
    app.add_routes(routes)


# ---- what each view shows --------------------------------------------------------------------

class Zones:
    """Times in each account's zone: ``local(iso, account)`` → ``21:05:33`` (and the date when it
    is not the day of the simulator's now)."""

    def __init__(self, sim: Simulator):
        self.offsets = {a.id: a.utc_offset for a in sim.accounts.values()}
        self.now = sim.clock.timestamp()

    def zone(self, account: str | None) -> str:
        hours = self.offsets.get(account or "", 0.0)
        return f"UTC{hours:+g}" if hours else "UTC"

    def local(self, when: Any, account: str | None, seconds: bool = True) -> str:
        if when in (None, ""):
            return ""
        if isinstance(when, str):
            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        else:
            moment = datetime.fromtimestamp(float(when), tz=timezone.utc)
        tz = timezone(timedelta(hours=self.offsets.get(account or "", 0.0)))
        here, today = moment.astimezone(tz), datetime.fromtimestamp(self.now, tz=tz)
        text = here.strftime("%H:%M:%S" if seconds else "%H:%M")
        return text if here.date() == today.date() else here.strftime("%d.%m ") + text


def _pretty(text: Any) -> str:
    if not isinstance(text, str):
        return json.dumps(text, ensure_ascii=False, indent=2)
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        return text


def decoded_body(attempt: dict) -> dict:
    """The webhook's body as the CRM reads it: form fields as (name, value) pairs, JSON as JSON."""
    body = attempt.get("request_body") or ""
    ctype = next((v for k, v in (attempt.get("request_headers") or {}).items() if k.lower() == "content-type"), "")
    if "x-www-form-urlencoded" in ctype:
        return {"kind": "form", "fields": parse_qsl(body, keep_blank_values=True)}
    try:
        return {"kind": "json", "text": json.dumps(json.loads(body), ensure_ascii=False, indent=2)}
    except ValueError:
        return {"kind": "text", "text": body}


def verdict(attempt: dict) -> str:
    """ok: answered within the contract; violations: answered, breaking it; failed: no answer."""
    if attempt.get("error") or attempt.get("status") is None:
        return "failed"
    return "ok" if attempt.get("contract", {}).get("ok", True) else "violations"


def _signature(attempt) -> str:
    """What the webhook says, by its wire name (``event:INCOMING``, ``history:Success``, ``call.dial``)."""
    from ..scenarios.wire import read
    try:
        milestones = read(attempt)
    except Exception:   # a body the reader does not know: the hook's name says enough
        return attempt.hook
    return milestones[0].signature if milestones else attempt.hook


def names(sim: Simulator) -> dict[str, dict[int, str]]:
    return {a.id: {e.id: f"{e.name} ({e.ext})" for e in a.state.employees.values()} for a in sim.accounts.values()}


def has_route(app: web.Application, method: str, path: str) -> bool:
    """Whether the server has the admin endpoint a button would call (some come from later work)."""
    for resource in app.router.resources():
        info = resource.get_info()
        if info.get("path", info.get("formatter")) == path:
            return any(r.method == method for r in resource)
    return False


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query.get(k, "") for k in ("account", "hook", "verdict", "call")}


def context(request: web.Request, views: tuple[str, ...]) -> dict[str, Any]:
    sim: Simulator = request.app[SIM]
    filters = _filters(request)
    accounts = [a.public(secrets=True) for a in sim.accounts.values()]   # the copy buttons need them
    ctx: dict[str, Any] = {"accounts": accounts, "zones": Zones(sim), "names": names(sim),
                           "providers": {a.id: a.provider for a in sim.accounts.values()},
                           "clock": sim.clock.snapshot(), "filters": filters, "views": views,
                           "token": sim.config.server.admin_token or ""}
    only = filters["account"] or None
    if only is not None and only not in sim.accounts:
        only = filters["account"] = ""
    if {"board", "phone", "handset"} & set(views):
        ctx["offices"] = [office_json(a, sim.engine) for a in sim.accounts.values()
                          if only is None or a.id == only]
    if {"calls", "phone", "handset"} & set(views):
        ctx["live"] = [call_json(c) for c in sim.engine.live_calls(only)]
    if "calls" in views:
        finished = []
        for acc in sim.accounts.values():
            if only is None or acc.id == only:
                finished.extend(cdr_json(c, acc.id) for c in acc.state.cdrs.window()[-FINISHED_SHOWN:])
        finished.sort(key=lambda c: c["ended"], reverse=True)
        ctx["finished"] = finished[:FINISHED_SHOWN]
        counts: dict[str, int] = {}
        for attempt in sim.webhook_journal.entries(only):
            if attempt.call:
                counts[attempt.call] = counts.get(attempt.call, 0) + 1
        ctx["hook_counts"] = counts
    if "faults" in views:
        ctx["faults"] = [f.to_json(iso) for f in sim.faults.listed(only)]
        first = next((a for a in sim.accounts.values() if only is None or a.id == only), None)
        if first is not None:   # the add form starts from a fault that fits the first account
            ctx["fault_example"] = json.dumps({
                "account": first.id,
                "match": {"method": "GET", "path": sim.providers[first.provider].base_path + "/*"},
                "respond": {"status": 503}, "times": 3}, ensure_ascii=False)
    if "webhooks" in views:
        journal = sim.webhook_journal
        if filters["verdict"] == "dead":   # the dead letters, as GET /_sim/webhooks/dead lists them
            chosen = [a for a in journal.dead_letters(only, filters["hook"] or None)
                      if not filters["call"] or a.call == filters["call"]]
        else:
            chosen = journal.entries(only, filters["call"] or None, filters["hook"] or None)
        attempts = [dict(a.to_json(), signature=_signature(a)) for a in chosen]
        hooks = sorted({a.hook for a in journal.entries(only)})
        if filters["verdict"] in ("ok", "violations", "failed"):
            attempts = [a for a in attempts if verdict(a) == filters["verdict"]]
        ctx["dead"] = {a.id for a in journal.dead_letters(only)}
        attempts.reverse()
        for a in attempts:
            a["verdict"], a["decoded"] = verdict(a), decoded_body(a)
        ctx.update(attempts=attempts[:WEBHOOKS_SHOWN], attempts_total=len(attempts), hooks=hooks)
    if "requests" in views:
        rows = [e.to_json() for e in sim.requests.entries(only) if e.provider is not None]
        rows.reverse()
        ctx["requests"] = rows[:REQUESTS_SHOWN]
    if "scenarios" in views:
        ctx["examples"] = [node.name for node in assets.example_scenarios().values()]
    return ctx


# ---- routes ----------------------------------------------------------------------------------

@routes.get("/_sim/ui")
async def page(request: web.Request) -> web.StreamResponse:
    sim: Simulator = request.app[SIM]
    token = sim.config.server.admin_token
    if token and "token" in request.query:   # the token once in the address: keep it, drop it from there
        if not hmac.compare_digest(request.query["token"].encode(), token.encode()):
            return token_page(request)
        response = web.HTTPSeeOther("/_sim/ui")
        response.set_cookie(PAGE_COOKIE, token, path="/_sim", httponly=True, samesite="Strict")
        raise response
    ctx = context(request, TABS + PARTS)
    ctx["tabs"] = [t for t in TABS if t != "faults" or has_route(request.app, "GET", "/_sim/faults")]
    return request.app[TEMPLATES].render("page.html", ctx)


@routes.get("/_sim/ui/part/{view}")
async def part(request: web.Request) -> web.StreamResponse:
    view = request.match_info["view"]
    if view not in PARTS:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no view {view!r}"}), content_type="application/json")
    return request.app[TEMPLATES].render(f"{view}.html", context(request, (view,)))


@routes.get("/_sim/ui/static/{name}")
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no file {name!r}"}), content_type="application/json")
    data = resources.files("simulator.inspector").joinpath("static", name).read_bytes()
    return web.Response(body=data, content_type=STATIC[name], charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


@routes.get("/_sim/ui/examples/{name}")
async def example(request: web.Request) -> web.StreamResponse:
    """An example scenario's YAML, for the scenarios view to run or edit."""
    name = request.match_info["name"]
    node = assets.example_scenarios().get(name.removesuffix(".yaml")) if name.endswith(".yaml") else None
    if node is None:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no example {name!r}"}), content_type="application/json")
    return web.Response(text=node.read_text("utf-8"), content_type="text/yaml", charset="utf-8")


__all__ = ["PARTS", "TABS", "setup_inspector", "token_page", "decoded_body", "verdict"]
