"""Call events → the PBX's requests to the CRM (seed §2): ``contact``, ``event``, ``history``,
``rating``. Each carries ``cmd`` and ``crm_token``; form fields unless the account says json.

One ``callid`` (the call's id) in every hook of a call, in its history and its recording.
Events are per employee leg: INCOMING when a phone starts ringing, ACCEPTED when it is picked
up, then COMPLETED (talked), TRANSFERRED (handed on) or CANCELLED (never answered: the client
hung up, another member answered, or nobody did). An outgoing call's client leg gives
OUTGOING instead of INCOMING. Internal calls send nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.engine import Leg
from ...core.webhooks import Webhook
from ..base import apply_contact_answer
from .models import call_user, compact_z, record_url

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import Call, CallEvent
    from ...core.models import CallRecord, Employee
    from ...sim import Simulator

PROVIDER_ID = "vats"

# the documented values of the webhooks' fields (seed §2)
EVENT_TYPES = ("INCOMING", "ACCEPTED", "COMPLETED", "CANCELLED", "OUTGOING", "TRANSFERRED")
HISTORY_HOOK_STATUSES = ("Success", "Missed", "Cancel", "Busy", "NotAvailable", "NotAllowed", "NotFound")

# core outcome → history status (seed §2.1). Busy, NotAvailable, NotAllowed and NotFound are
# "только исходящий" (outgoing only) in the seed, so an incoming call never gets them: an
# incoming call the client hung up is Cancel, every other incoming call nobody answered —
# blocked, refused, busy, unreachable — is Missed ("пропущенный входящий": the client did not
# get through, which is how receivers read it, observed.md).
HISTORY_STATUS = {
    "answered": "Success",
    "missed": "Missed",
    "dnd": "Missed",
    "voicemail": "Missed",
    "out_of_hours": "Missed",
    "cancelled": "Cancel",
    "busy": "Busy",
    "unavailable": "NotAvailable",
    "forbidden": "NotAllowed",
    "blocked_blacklist": "NotAllowed",
    "blocked_anonymous": "NotAllowed",
    "not_found": "NotFound",
    "congestion": "Busy",             # no free line
    "max_sessions": "NotAllowed",
    "not_in_white_list": "NotAllowed",
    "only_internal": "NotAllowed",
}
OUTGOING_ONLY = frozenset({"Busy", "NotAvailable", "NotAllowed", "NotFound"})
# an outgoing call the PBX refused before the client's phone rang
REFUSED = frozenset({"forbidden", "not_found", "blocked_blacklist", "blocked_anonymous", "congestion",
                     "max_sessions", "only_internal", "not_in_white_list"})


def history_status(cdr: "CallRecord") -> str:
    status = HISTORY_STATUS.get(cdr.outcome, "Missed")
    if cdr.direction != "out" and status in OUTGOING_ONLY:
        return "Missed"
    return status


def crm_hook(account: "Account", name: str, body: dict, call_id: str | None,
             expects_json: bool = False) -> Webhook | None:
    """A request to the account's CRM, or None when no CRM is configured."""
    crm = account.crm
    if not crm.url:
        return None
    return Webhook(account_id=account.id, provider=PROVIDER_ID, hook=name, url=crm.url,
                   body={"cmd": name, **body, "crm_token": crm.crm_token},
                   encoding=crm.encoding or "form", call_id=call_id, timeout=crm.timeout,
                   retries=crm.retries, expects_json=expects_json, headers=crm.webhook_headers(),
                   # the PBX routes the call after crm.timeout with or without an answer
                   answer_within=crm.timeout if expects_json else None)


def _employee_fields(emp: "Employee | None") -> dict:
    if emp is None:
        return {"user": ""}
    out = {"user": emp.login, "ext": emp.ext}
    if emp.direct_number:
        out["telnum"] = emp.direct_number
    return out


def _group_name(account: "Account", department_id: str | None) -> str:
    dept = account.state.departments.get(department_id) if department_id else None
    return dept.name if dept else ""


# ---- contact: awaited before an incoming call is routed ---------------------------------------

async def contact_lookup(sim: "Simulator", account: "Account", call: "Call") -> None:
    """Ask the CRM who calls; its ``responsible`` (login, ext or direct number) is rung first."""
    if call.direction != "in":
        return
    body: dict[str, Any] = {"phone": call.client}
    if call.trunk:
        body["diversion"] = call.trunk
    body["callid"] = call.id
    hook = crm_hook(account, "contact", body, call.id, expects_json=True)
    if hook is None:
        return
    attempt = await sim.webhooks.send(hook)
    if attempt.delivered:
        state = account.state
        apply_contact_answer(call, attempt.answer, lambda ref: (
            state.employee_by_login(ref) or state.employee_by_ext(ref) or state.employee_by_number(ref)))


# ---- event -----------------------------------------------------------------------------------

def _event_type(event: "CallEvent") -> str | None:
    call, leg = event.call, event.leg
    if leg is None:
        return None
    if leg.kind == "employee" and call.click_to_call and call.legs and leg is call.legs[0]:
        return None   # the PBX ringing the manager for a click-to-call: the CRM asked for it
    if event.type == "leg.ringing":
        return "OUTGOING" if leg.kind == "client" else "INCOMING"
    if event.type == "leg.answered":
        return "ACCEPTED"
    if event.type == "leg.ended":
        if leg.result == "ended":
            return "COMPLETED"
        if leg.result == "transferred":
            return "TRANSFERRED"
        return "CANCELLED"
    return None


def event_body(account: "Account", call: "Call", leg: "Leg", kind: str) -> dict:
    employee_id = leg.employee_id if leg.kind == "employee" else call.employee_id
    emp = account.state.employees.get(employee_id) if employee_id is not None else None
    body: dict[str, Any] = {"type": kind, "phone": call.client}
    if call.trunk:
        body["diversion"] = call.trunk
    people = _employee_fields(emp)
    body["user"] = people.pop("user")
    group = _group_name(account, call.department_id)
    if group:
        body["groupRealName"] = group
    body.update(people)
    body["direction"] = call.direction
    body["callid"] = call.id
    return body


def refused_events(call: "Call") -> tuple[str, ...]:
    """An outgoing call refused before the client's phone rang (forbidden, not found,
    blocked) still shows the CRM an OUTGOING and a closing CANCELLED, so a pop-up that the
    employee's dialling opened is closed (no client leg: nothing else was sent)."""
    if call.direction != "out" or call.outcome not in REFUSED or any(lg.kind == "client" for lg in call.legs):
        return ()
    return ("OUTGOING", "CANCELLED")


def client_leg(call: "Call") -> Leg:
    return Leg(id=call.id, kind="client", number=call.client, rang_at=call.created_at,
               ended_at=call.ended_at, result="cancelled")


# ---- history and rating ----------------------------------------------------------------------

def history_body(account: "Account", cdr: "CallRecord", base_url: str) -> dict:
    emp = call_user(account.state, cdr)
    people = _employee_fields(emp)
    body: dict[str, Any] = {"type": cdr.direction, "user": people.pop("user")}
    body.update(people)
    group = _group_name(account, cdr.department_id)
    if group:
        body["groupRealName"] = group
    body.update({"phone": cdr.client, "diversion": cdr.via, "start": compact_z(cdr.started_at),
                 "duration": cdr.duration_s, "callid": cdr.id})
    link = record_url(base_url, cdr)
    if link:
        body["link"] = link
    if cdr.rating is not None:
        body["rating"] = cdr.rating
    body["status"] = history_status(cdr)
    if cdr.missed_callback:
        body["missedStatus"] = "2"   # read by some receivers: a call-back of a missed call
    return body


def rating_body(account: "Account", cdr: "CallRecord") -> dict:
    emp = account.state.employees.get(cdr.employee_id) if cdr.employee_id is not None else None
    body: dict[str, Any] = {"phone": cdr.client, "rating": cdr.rating, "user": emp.login if emp else ""}
    if emp is not None:
        body["ext"] = emp.ext
    body["callid"] = cdr.id
    return body


def on_event(sim: "Simulator", account: "Account", event: "CallEvent") -> None:
    call = event.call
    if call.direction == "internal":
        return
    hook: Webhook | None = None
    if event.type == "call.ended" and call.cdr is not None:
        for kind in refused_events(call):
            refused = crm_hook(account, "event", event_body(account, call, client_leg(call), kind), call.id)
            if refused is not None:
                sim.webhooks.enqueue(refused)
        hook = crm_hook(account, "history", history_body(account, call.cdr, sim.public_url), call.id)
    elif event.type == "call.rated" and call.cdr is not None and call.cdr.rating is not None:
        hook = crm_hook(account, "rating", rating_body(account, call.cdr), call.id)
    else:
        kind = _event_type(event)
        if kind is not None and event.leg is not None:
            hook = crm_hook(account, "event", event_body(account, call, event.leg, kind), call.id)
    if hook is not None:
        sim.webhooks.enqueue(hook)
