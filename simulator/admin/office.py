"""``GET /_sim/accounts/{id}/office``: the office at this moment — each employee's state, the
departments with their queues, the company numbers and where they route. Read from the
account's state and the engine's live calls (what the inspector's board shows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..sim import SIM

if TYPE_CHECKING:
    from ..core.accounts import Account
    from ..core.engine import CallEngine
    from ..core.models import Route

routes = web.RouteTableDef()

# what an employee is doing, busiest first: a state named earlier wins
STATES = ("talking", "on_hold", "calling", "ringing", "dnd", "paused", "offline", "idle")


def office_json(account: "Account", engine: "CallEngine") -> dict:
    state = account.state
    doing: dict[int, list[tuple[str, str]]] = {}   # employee id → (state, call id) per live call
    for call in engine.live_calls(account.id):
        for leg in call.legs:
            if leg.employee_id is None or leg.ended_at is not None:
                continue
            if leg.result == "ringing":
                what = "ringing"
            elif leg.result == "answered":
                what = "on_hold" if call.on_hold else "talking"
            else:
                continue
            doing.setdefault(leg.employee_id, []).append((what, call.id))
        # the caller of an outgoing or internal call is on it from the first ring
        if call.direction in ("out", "internal") and call.employee_id is not None and not call.click_to_call:
            caller = state.employee_by_ext(call.caller) if call.direction == "internal" else \
                state.employees.get(call.employee_id)
            if caller is not None and all(cid != call.id for _, cid in doing.get(caller.id, [])):
                doing.setdefault(caller.id, []).append(
                    ("talking" if call.state == "answered" else "calling", call.id))
    employees = []
    for emp in state.employees.values():
        calls = doing.get(emp.id, [])
        kinds = {k for k, _ in calls}
        if calls:
            current = next(s for s in STATES if s in kinds)
        elif emp.dnd:
            current = "dnd"
        elif emp.paused:
            current = "paused"
        elif not emp.enabled or emp.status == "offline":
            current = "offline"
        else:
            current = "idle"
        lines = engine.office.capacity(account, emp)
        busy = len(engine.office.lines.get((account.id, emp.id), ()))
        employees.append({
            "id": emp.id, "login": emp.login, "ext": emp.ext, "name": emp.name, "position": emp.position,
            "direct_number": emp.direct_number, "dnd": emp.dnd, "paused": emp.paused, "status": emp.status,
            "enabled": emp.enabled,
            "state": current, "calls": [cid for _, cid in calls],
            "lines": {"total": lines, "busy": busy, "full": busy >= lines},
        })
    departments = []
    for dept in state.departments.values():
        departments.append({
            "id": dept.id, "name": dept.name, "ext": dept.ext, "call_order": dept.call_order,
            "members": [m.employee_id for m in dept.members],
            "queue": [c.id for c in engine.queue(account.id, dept.id)],
        })
    numbers = [{"number": n.number, "name": n.name, "enabled": n.enabled,
                "route": route_text(account, n.route)} for n in state.numbers.values()]
    return {"id": account.id, "provider": account.provider, "name": account.name,
            "utc_offset": account.utc_offset, "employees": employees, "departments": departments,
            "numbers": numbers, "live_calls": len(engine.live_calls(account.id))}


def route_text(account: "Account", route: "Route", depth: int = 0) -> str:
    """Where a company number's calls go, in words."""
    state = account.state
    kind = route.type
    if depth > 4:
        return "…"
    if kind == "employee":
        emp = state.find_employee(route.target)
        return f"employee {emp.name} ({emp.ext})" if emp is not None else f"employee {route.target} (missing)"
    if kind == "department":
        dept = state.departments.get(route.target) or next(
            (d for d in state.departments.values() if route.target in (d.ext, d.name)), None)
        return f"department {dept.name}" if dept is not None else f"department {route.target} (missing)"
    if kind == "ivr":
        choices = "; ".join(f"{digit} → {route_text(account, r, depth + 1)}" for digit, r in sorted(route.ivr.items()))
        return f"IVR ({choices})" if choices else "IVR"
    if kind == "schedule":
        work = route_text(account, route.work, depth + 1) if route.work is not None else "voicemail"
        other = route_text(account, route.other, depth + 1) if route.other is not None else "out of hours"
        return f"working hours → {work}; otherwise → {other}"
    if kind == "external":
        return f"external number {route.target}"
    return kind


@routes.get("/_sim/accounts/{id}/office")
async def office(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    account = sim.accounts.get(request.match_info["id"])
    if account is None:
        return web.json_response({"error": f"no account {request.match_info['id']!r}"}, status=404)
    return web.json_response(office_json(account, sim.engine))


__all__ = ["STATES", "office_json", "route_text", "routes"]
