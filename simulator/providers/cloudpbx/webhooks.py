"""Domain events → the PBX's requests to the CRM: ``contact``, ``event``, ``history``.

All three go to the one CRM URL of the account (``account.crm.url``; none set → nothing is
sent), form-encoded unless the account says ``json``, ``crm_token`` first. A call's hooks share
its ``callid`` (the engine's call id, also makeCall's ``CallID`` and the CSV's ``UID``) and go out
in order. No ``rating``: receivers of this API reject it (observed.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.webhooks import Webhook
from ..base import apply_contact_answer
from .auth import PROVIDER_ID
from .models import compact_utc, find_user, party, record_link

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import Call, CallEvent, Leg
    from ...core.models import CallRecord, Employee
    from ...sim import Simulator

# the documented values of the webhooks' fields (cloudpbx.md)
EVENT_TYPES = ("INCOMING", "ACCEPTED", "COMPLETED", "CANCELLED", "OUTGOING", "TRANSFERRED")
HISTORY_STATUSES = ("Success", "Missed", "Cancel", "Busy", "NotAvailable", "NotAllowed", "NotFound")

# history status of a finished call by direction and engine outcome
IN_STATUS = {"answered": "Success", "cancelled": "Cancel"}            # anything else: Missed
OUT_STATUS = {"answered": "Success", "missed": "Missed", "cancelled": "Cancel", "dnd": "Cancel",
              "busy": "Busy", "unavailable": "NotAvailable", "forbidden": "NotAllowed",
              "not_found": "NotFound", "congestion": "Busy", "only_internal": "NotAllowed",
              "max_sessions": "NotAllowed"}
# blocked callers are refused by the PBX before anyone is involved: no webhooks
SILENT_OUTCOMES = ("blocked_blacklist", "blocked_anonymous")


def history_status(cdr: "CallRecord") -> str:
    if cdr.direction == "out":
        return OUT_STATUS.get(cdr.outcome, "Missed")
    return IN_STATUS.get(cdr.outcome, "Missed")


def crm_hook(account: "Account", cmd: str, fields: dict, call_id: str | None,
             expects_json: bool = False) -> Webhook:
    body = {"crm_token": account.crm.crm_token, "cmd": cmd}
    body.update((k, v) for k, v in fields.items() if v not in (None, ""))
    return Webhook(account_id=account.id, provider=PROVIDER_ID, hook=cmd, url=account.crm.url or "",
                   body=body, encoding=account.crm.encoding or "form", call_id=call_id,
                   headers=account.crm.webhook_headers(),
                   timeout=account.crm.timeout, retries=account.crm.retries, expects_json=expects_json,
                   # the PBX routes the call after crm.timeout with or without an answer
                   answer_within=account.crm.timeout if expects_json else None)


def _user_fields(user: str, emp: "Employee | None", group_name: str | None) -> dict:
    return {"user": user, "groupRealName": group_name,
            "ext": emp.ext if emp else None, "telnum": emp.direct_number if emp else None}


# ---- event -----------------------------------------------------------------------------------

def _event_type(call: "Call", event: "CallEvent") -> tuple[str, int | None] | None:
    """(event type, employee id) for a leg event, or None when the CRM is not told."""
    leg: "Leg | None" = event.leg
    if leg is None or event.type not in ("leg.ringing", "leg.answered", "leg.ended"):
        return None
    if call.direction == "in":
        if leg.kind != "employee":
            return None          # a forward to an outside number involves no employee
        employee_id = leg.employee_id
    elif leg.kind == "client":
        employee_id = call.employee_id
    elif leg.parent_id == call.id and event.type == "leg.ended" and leg.result == "ended":
        employee_id = leg.employee_id    # an outgoing call handed to a colleague, who ends it
    else:
        return None              # click-to-call: the employee's own phone ringing first
    if event.type == "leg.ringing":
        kind = "INCOMING" if call.direction == "in" else "OUTGOING"
    elif event.type == "leg.answered":
        kind = "ACCEPTED"
    elif leg.result == "ended":
        kind = "COMPLETED"
    elif leg.result == "transferred":
        kind = "TRANSFERRED"
    else:
        kind = "CANCELLED"       # caller left, another member answered, busy, no answer
    return kind, employee_id


def event_hook(account: "Account", event: "CallEvent") -> Webhook | None:
    call = event.call
    if call.direction not in ("in", "out") or not account.crm.url:
        return None
    mapped = _event_type(call, event)
    if mapped is None:
        return None
    kind, employee_id = mapped
    state = account.state
    emp = state.employees.get(employee_id) if employee_id is not None else None
    if emp is None:
        return None
    dept = state.departments.get(call.department_id) if call.department_id else None
    fields = {"type": kind, "phone": call.client, "diversion": call.trunk,
              **_user_fields(emp.login, emp, dept.name if dept else None),
              "direction": call.direction, "callid": call.id}
    return crm_hook(account, "event", fields, call.id)


# ---- history ---------------------------------------------------------------------------------

# an outgoing call the PBX refused before the client's phone rang
REFUSED = frozenset({"forbidden", "not_found", "blocked_blacklist", "blocked_anonymous", "congestion",
                     "max_sessions", "only_internal", "not_in_white_list"})


def refused_hooks(account: "Account", call: "Call") -> list[Webhook]:
    """A refused outgoing call (forbidden, not found, blocked) had no client leg, so nothing
    was sent: an OUTGOING and a closing CANCELLED tell the CRM, so a pop-up the employee's
    dialling opened closes."""
    if (call.direction != "out" or call.outcome not in REFUSED or not account.crm.url
            or any(lg.kind == "client" for lg in call.legs)):
        return []
    emp = account.state.employees.get(call.employee_id) if call.employee_id is not None else None
    if emp is None:
        return []
    return [crm_hook(account, "event", {"type": kind, "phone": call.client, "diversion": call.trunk,
                                        **_user_fields(emp.login, emp, None),
                                        "direction": call.direction, "callid": call.id}, call.id)
            for kind in ("OUTGOING", "CANCELLED")]


def history_hook(sim: "Simulator", account: "Account", cdr: "CallRecord") -> Webhook | None:
    if cdr.direction not in ("in", "out") or cdr.outcome in SILENT_OUTCOMES or not account.crm.url:
        return None
    who = party(account.state, cdr)
    fields = {"type": cdr.direction, "status": history_status(cdr), "phone": cdr.client,
              **_user_fields(who.name, who.employee, who.department.name if who.department else None),
              "diversion": cdr.via, "start": compact_utc(cdr.started_at),
              "duration": cdr.duration_s, "callid": cdr.id,
              "link": record_link(sim.public_url, account, cdr)}
    return crm_hook(account, "history", fields, cdr.id)


# ---- contact (awaited before the call is routed) -----------------------------------------------

def contact_lookup(sim: "Simulator"):
    """``account.lookup``: ask the CRM who calls; its ``responsible`` is rung first."""

    async def lookup(account: "Account", call: "Call") -> None:
        if call.direction != "in" or not account.crm.url:
            return
        hook = crm_hook(account, "contact", {"phone": call.client, "callid": call.id}, call.id,
                        expects_json=True)
        attempt = await sim.webhooks.send(hook)
        if not attempt.delivered:
            return
        # "route to the responsible manager" is "activated manually in the cabinet" (seed
        # 4.3): off until the account setting (or switch) route_to_responsible turns it on
        routes = bool(account.switches.get("route_to_responsible",
                                           account.settings.get("route_to_responsible", False)))
        apply_contact_answer(call, attempt.answer,
                             lambda ref: find_user(account.state, ref) if routes else None)

    return lookup
