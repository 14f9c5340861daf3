"""The application key of the simulator object, apart from the simulator module: the providers'
handlers read ``request.app[SIM]`` and must not import ``sim.py`` (which imports them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .sim import Simulator

SIM: web.AppKey[Simulator] = web.AppKey("simulator")
