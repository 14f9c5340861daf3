"""``POST /_sim/verify``: count what the journals hold against what a test expects."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..sim import SIM
from ..verify import VerifySpec, verify
from .routes import _error, _json_body, _validation_message

routes = web.RouteTableDef()


@routes.post("/_sim/verify")
async def verify_journal(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        spec = VerifySpec.model_validate(body)
    except ValidationError as err:
        return _error(400, _validation_message(err))
    result = await verify(request.app[SIM], spec)
    return web.json_response(result, status=200 if result["ok"] else 422)
