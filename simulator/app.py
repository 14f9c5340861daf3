"""The aiohttp application: one server, every provider at its real path, the admin API."""

from __future__ import annotations

import json
import logging

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import _default_expect_handler

from .admin.routes import routes as admin_routes
from .config import SimConfig
from .core.clock import Clock
from .http import request_middleware
from .journal import RedactingFilter
from .sim import SIM, Simulator, build_simulator


# aiohttp refuses request and header lines over 8 KiB in its own text/plain shape, before
# any provider could answer; real PBX front ends take longer query strings
MAX_LINE_BYTES = 64 * 1024


async def expect_continue(request: web.Request) -> None:
    """``Expect: 100-continue`` as aiohttp does; any other expectation is ignored, as the
    providers' nginx front ends do (RFC 9110 §10.1.1 lets a server answer 417 or not), instead of
    aiohttp's own undocumented 417 sent before any middleware could shape it."""
    if request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
        await _default_expect_handler(request)


def make_app(sim: Simulator) -> web.Application:
    app = web.Application(
        middlewares=[request_middleware(sim)],
        client_max_size=sim.config.server.body_limit,
        handler_args={"max_line_size": MAX_LINE_BYTES, "max_field_size": MAX_LINE_BYTES},
    )
    app[SIM] = sim
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, RedactingFilter) for f in server_log.filters):
        server_log.addFilter(RedactingFilter())
    app.add_routes(admin_routes)
    from .admin.faults import routes as fault_routes   # /_sim/faults
    app.add_routes(fault_routes)
    from .admin.verify import routes as verify_routes   # /_sim/verify
    app.add_routes(verify_routes)
    from .snapshot import routes as snapshot_routes   # GET/PUT /_sim/snapshot
    app.add_routes(snapshot_routes)
    from .scenarios.routes import routes as scenario_routes   # POST /_sim/scenarios/run
    app.add_routes(scenario_routes)
    from .admin.office import routes as office_routes         # GET /_sim/accounts/{id}/office
    app.add_routes(office_routes)
    from .admin.history_view import routes as history_routes  # GET /_sim/calls/{id}/history
    app.add_routes(history_routes)
    from .admin.events import setup_events                    # GET /_sim/events (live stream)
    setup_events(app)
    from .inspector.routes import setup_inspector             # GET /_sim/ui (the inspector page)
    setup_inspector(app)
    for provider in sim.providers.values():
        provider.setup_routes(app)
    for route in app.router.routes():
        route._expect_handler = expect_continue   # aiohttp has no app-wide setting for it

    async def _close(app: web.Application) -> None:
        await app[SIM].close()

    app.on_cleanup.append(_close)
    return app


async def create_app(config: SimConfig, clock: Clock | None = None, seed: int | None = None,
                     history_later: bool = False) -> web.Application:
    """Build the simulator (seed data, past calls: later with ``history_later``) and its
    application."""
    sim = await build_simulator(config, clock, seed, history_later)
    return make_app(sim)


__all__ = ["make_app", "create_app", "json"]
