"""``POST /_sim/scenarios/run``: run a scenario inside this server (``pbx-sim run --server``).

Body (JSON): ``scenario`` (the YAML text), ``source`` (a file name for messages),
``provider`` (one id, a comma list or ``all``; default all), ``crm_url`` (default: a
recording CRM inside the server), ``crm_timeout`` (seconds). Each provider's run uses a
fresh account ``scenario-<provider>`` on the server's clock. Answers ``{"passed", "reports"}``;
an invalid scenario gets 400 with ``problems`` (line, field, reason).
"""

from __future__ import annotations

from aiohttp import web

from ..admin.routes import _json_body
from ..sim import SIM

routes = web.RouteTableDef()


@routes.post("/_sim/scenarios/run")
async def run_scenario_route(request: web.Request) -> web.Response:
    # imported here: a server that never runs a scenario does not load the runner at start-up
    from .loader import ScenarioError, parse_scenario
    from .runner import providers_of, run_on

    body = await _json_body(request)
    text = body.get("scenario")
    if not isinstance(text, str) or not text.strip():
        return web.json_response({"error": "give the scenario's YAML text in 'scenario'"}, status=400)
    source = str(body.get("source") or "<scenario>")
    if body.get("provider") is not None and not isinstance(body["provider"], str):
        return web.json_response({"error": "provider must be a string: an id, a comma list or all"}, status=400)
    try:
        providers = providers_of(body.get("provider"))
    except ValueError as err:
        return web.json_response({"error": str(err)}, status=400)
    crm_url = body.get("crm_url") or None
    if crm_url is not None and (not isinstance(crm_url, str) or not crm_url.startswith(("http://", "https://"))):
        return web.json_response({"error": "crm_url must be an http:// or https:// URL"}, status=400)
    timeout = body.get("crm_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= 120):
        return web.json_response({"error": "crm_timeout must be a number of seconds in (0, 120]"}, status=400)
    try:
        scenario = parse_scenario(text, source)
    except ScenarioError as err:
        return web.json_response({"error": str(err), "problems": [
            {"line": line, "field": where, "reason": reason} for line, where, reason in err.problems]}, status=400)
    sim = request.app[SIM]
    async with sim.scenario_lock:   # runs reuse the account scenario-<provider>: one at a time
        reports = [await run_on(sim, scenario, p, crm_url, timeout) for p in providers]
    return web.json_response({"passed": all(r.passed for r in reports), "reports": [r.to_json() for r in reports]})
