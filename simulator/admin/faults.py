"""``/_sim/faults``: faults on the PBX API and on webhooks (``core/faults.py``)."""

from __future__ import annotations

import json

from aiohttp import web
from pydantic import ValidationError

from ..core.faults import FaultSpec
from ..sim import SIM, Simulator, iso
from .routes import _error, _json_body, _validation_message

routes = web.RouteTableDef()


def _sim(request: web.Request) -> Simulator:
    return request.app[SIM]


@routes.post("/_sim/faults")
async def add_fault(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        spec = FaultSpec.model_validate(body)
    except ValidationError as err:
        return _error(400, _validation_message(err))
    sim = _sim(request)
    if spec.account not in sim.accounts:
        return _error(404, f"no account {spec.account!r}")
    try:
        fault = sim.add_fault(spec)
    except ValueError as err:
        return _error(400, str(err))
    return web.json_response(fault.to_json(iso), status=201)


@routes.get("/_sim/faults")
async def list_faults(request: web.Request) -> web.Response:
    sim = _sim(request)
    account = request.query.get("account") or None
    return web.json_response([f.to_json(iso) for f in sim.faults.listed(account)])


@routes.delete("/_sim/faults")
async def clear_faults(request: web.Request) -> web.Response:
    sim = _sim(request)
    account = request.query.get("account") or None
    if account is not None and account not in sim.accounts:
        return _error(404, f"no account {account!r}")
    return web.json_response({"removed": sim.faults.clear(account)})


@routes.get("/_sim/faults/errors")
async def named_errors(request: web.Request) -> web.Response:
    """The errors a fault's ``respond.error`` may name, with the status and body each answers."""
    sim = _sim(request)
    wanted = request.query.get("provider") or None
    if wanted is not None and wanted not in sim.providers:
        return _error(404, f"no provider {wanted!r} (there are {', '.join(sim.providers)})")
    out = []
    for provider in sim.providers.values():
        if wanted is not None and provider.id != wanted:
            continue
        for name, make in provider.named_errors.items():
            answer = make().response()
            text = answer.body.decode("utf-8") if isinstance(answer.body, bytes) else (answer.text or "")
            try:
                body = json.loads(text) if answer.content_type == "application/json" else text
            except ValueError:
                body = text
            out.append({"provider": provider.id, "name": name, "status": answer.status,
                        "content_type": answer.content_type, "body": body})
    return web.json_response(out)


@routes.get("/_sim/faults/{fault_id}")
async def get_fault(request: web.Request) -> web.Response:
    fault = _sim(request).faults.faults.get(request.match_info["fault_id"])
    if fault is None:
        return _error(404, f"no fault {request.match_info['fault_id']!r}")
    return web.json_response(fault.to_json(iso))


@routes.delete("/_sim/faults/{fault_id}")
async def remove_fault(request: web.Request) -> web.Response:
    fault_id = request.match_info["fault_id"]
    if not _sim(request).faults.remove(fault_id):
        return _error(404, f"no fault {fault_id!r}")
    return web.json_response({"removed": 1, "id": fault_id})
