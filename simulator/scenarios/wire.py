"""What went over the wire, in neutral terms.

Each provider's webhooks are read back from the webhook journal and turned into
``Milestone``s — ``lookup``, ``ringing``, ``answered``, ``transferred``, ``completed``,
``cancelled``, ``ended``, ``history``, ``rating``, ``utm`` — with neutral fields (``phone``,
``employee``, ``department``, ``trunk``, ``direction``, ``outcome``, ``duration``,
``recording``, ``rating``, ``name``), so one expectation reads the same on every provider.

| milestone   | vats / cloudpbx (form, ``cmd``)        | phonet (JSON)                          |
|-------------|-----------------------------------------|----------------------------------------|
| lookup      | ``contact``                             | ``call.settings``                      |
| ringing     | ``event`` INCOMING / OUTGOING           | ``call.dial``                          |
| answered    | ``event`` ACCEPTED                      | ``call.bridge``                        |
| transferred | ``event`` TRANSFERRED                   | — (a new leg's dial + bridge)          |
| completed   | ``event`` COMPLETED (+ ended)           | ``call.hangup`` with ``bridgeAt``      |
| cancelled   | ``event`` CANCELLED (+ ended)           | ``call.hangup`` without ``bridgeAt``   |
| history     | ``history``                             | —                                      |
| rating      | ``rating`` (vats only)                  | —                                      |
| utm         | —                                       | UTM batch (a JSON array)               |

t2 sends no webhooks. A milestone a provider never sends is "not applicable" there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..core.webhooks import WebhookAttempt

ALL_MILESTONES = ("lookup", "ringing", "answered", "transferred", "completed", "cancelled", "ended",
                  "history", "rating", "utm")

_FORM_EVENTS = {"INCOMING": ["ringing"], "OUTGOING": ["ringing"], "ACCEPTED": ["answered"],
                "COMPLETED": ["completed", "ended"], "CANCELLED": ["cancelled", "ended"],
                "TRANSFERRED": ["transferred"]}
HISTORY_STATUS = {"success": "answered", "missed": "missed", "cancel": "cancelled", "busy": "busy",
                  "notavailable": "unavailable", "notallowed": "forbidden", "notfound": "not_found"}
_PHONET_DIRECTION = {1: "internal", 2: "out", 4: "in"}


def capabilities(provider: str, direction: str | None = None) -> set[str]:
    """The milestones ``provider`` sends for a call in ``direction`` (None: any call)."""
    if provider in ("vats", "cloudpbx"):
        if direction == "internal":
            return set()   # their webhooks cover external calls (inner calls have their own history)
        caps = {"ringing", "answered", "transferred", "completed", "cancelled", "ended", "history"}
        if direction in (None, "in"):
            caps.add("lookup")
        if provider == "vats":
            caps.add("rating")
        return caps
    if provider == "phonet":
        caps = {"ringing", "answered", "completed", "cancelled", "ended"}
        if direction != "internal":
            caps |= {"lookup", "utm"}
        return caps
    return set()


@dataclass
class Milestone:
    name: str
    signature: str            # the wire name: event:INCOMING, history:Success, call.dial ...
    attempt: WebhookAttempt
    wire: Any                 # the request body as the CRM read it
    fields: dict = field(default_factory=dict)
    ids: set = field(default_factory=set)   # call / leg ids the body names


def request_data(attempt: WebhookAttempt) -> Any:
    ctype = attempt.request_headers.get("Content-Type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(attempt.request_body, keep_blank_values=True))
    try:
        return json.loads(attempt.request_body)
    except ValueError:
        return attempt.request_body


def _leg_ref(leg: Any) -> str | None:
    if isinstance(leg, dict):
        return leg.get("ext") or (str(leg["id"]) if leg.get("id") is not None else None)
    return None


def read(attempt: WebhookAttempt) -> list[Milestone]:
    """The milestones one journal entry stands for (usually one; a form event two)."""
    wire = request_data(attempt)
    out: list[Milestone] = []
    if isinstance(wire, list):      # phonet UTM batch
        ids = {str(r.get("callParentUuid")) for r in wire if isinstance(r, dict) and r.get("callParentUuid")}
        phones = [r.get("otherLegNum") for r in wire if isinstance(r, dict)]
        return [Milestone("utm", "utm", attempt, wire, {"phone": phones[0] if phones else None,
                                                         "count": len(wire)}, ids)]
    if not isinstance(wire, dict):
        return out
    if "cmd" in wire:               # vats / cloudpbx
        cmd = str(wire.get("cmd"))
        ids = {str(wire["callid"])} if wire.get("callid") else set()
        common = {"phone": wire.get("phone"), "employee": wire.get("user") or wire.get("ext") or None,
                  "department": wire.get("groupRealName") or None, "trunk": wire.get("diversion") or None,
                  "call_id": wire.get("callid")}
        if cmd == "contact":
            out.append(Milestone("lookup", "contact", attempt, wire, common, ids))
        elif cmd == "event":
            kind = str(wire.get("type", "")).upper()
            fields = {**common, "direction": wire.get("direction"), "type": kind}
            for name in _FORM_EVENTS.get(kind, []):
                out.append(Milestone(name, f"event:{kind}", attempt, wire, fields, ids))
        elif cmd == "history":
            status = str(wire.get("status", ""))
            fields = {**common, "direction": wire.get("type"),
                      "outcome": HISTORY_STATUS.get(status.lower(), status.lower()),
                      "status": status, "duration": wire.get("duration"),
                      "recording": bool(wire.get("link")), "rating": wire.get("rating") or None}
            out.append(Milestone("history", f"history:{status}", attempt, wire, fields, ids))
        elif cmd == "rating":
            out.append(Milestone("rating", "rating", attempt, wire, {**common, "rating": wire.get("rating")}, ids))
        return out
    if wire.get("request") == "call.settings":
        return [Milestone("lookup", "call.settings", attempt, wire,
                          {"phone": wire.get("otherLegNum"), "trunk": wire.get("trunkNum")}, set())]
    event = wire.get("event")
    if isinstance(event, str) and event.startswith("call."):
        direction = _PHONET_DIRECTION.get(wire.get("lgDirection"))
        if direction is None:
            return out      # pause toggles (32 / 64)
        ids = {str(wire[k]) for k in ("uuid", "parentUuid") if wire.get(k)}
        legs = wire.get("otherLegs") or []
        fields = {"phone": legs[0].get("num") if legs and isinstance(legs[0], dict) else None,
                  "employee": _leg_ref(wire.get("leg")), "callee": _leg_ref(wire.get("leg2")),
                  "trunk": wire.get("trunkNum"), "direction": direction, "call_id": wire.get("uuid"),
                  "name": legs[0].get("name") if legs and isinstance(legs[0], dict) else None}
        if event == "call.dial":
            out.append(Milestone("ringing", event, attempt, wire, fields, ids))
        elif event == "call.bridge":
            out.append(Milestone("answered", event, attempt, wire, fields, ids))
        elif event == "call.hangup":
            name = "completed" if wire.get("bridgeAt") else "cancelled"
            out.append(Milestone(name, event, attempt, wire, fields, ids))
            out.append(Milestone("ended", event, attempt, wire, fields, ids))
    return out


def lookup_answer(provider: str, answer: Any) -> dict:
    """What the CRM's lookup answer named: ``{"name", "responsible"}`` (None when absent)."""
    if not isinstance(answer, dict):
        return {"name": None, "responsible": None}
    if provider == "phonet":
        leg = answer.get("otherLeg")
        if not isinstance(leg, dict):
            return {"name": None, "responsible": None}
        return {"name": leg.get("name"),
                "responsible": leg.get("responsibleEmployeeExt") or leg.get("responsibleEmployeeEmail") or None}
    return {"name": answer.get("contact_name") or None, "responsible": answer.get("responsible") or None}


def digits(number: Any) -> str:
    """A phone number for comparison: digits only, a Russian trunk prefix 8 read as 7."""
    d = "".join(ch for ch in str(number or "") if ch.isdigit())
    if len(d) == 11 and d.startswith("8"):
        d = "7" + d[1:]
    return d
