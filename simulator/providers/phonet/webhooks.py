"""Domain events → Phonet's webhooks (JSON, spec §3).

- ``call.settings``: the lookup, awaited before an external call is routed (the engine calls
  ``account.lookup``); answers cached 60 s (new contact) / 300 s (existing) on the clock.
- ``call.dial`` / ``call.bridge`` / ``call.hangup``: per Phonet leg. Incoming calls: one leg
  per employee rung (a direct leg has the root uuid, group and transfer legs their own uuid
  with ``parentUuid`` = root). Outgoing and internal calls: the caller's leg has the root
  uuid (the uuid ``makeCall`` returned), transfer legs follow. Sent in order per root call.
- UTM batches: tagged calls that ended, once per simulated minute (one-shot sleep to the
  next minute boundary, only when there is something to send).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ...core.webhooks import Webhook
from .models import LG_DIRECTION, TelerIndex, company_name, contact_name, digits, event_leg, ms
from .state import CachedLookup, LiveLeg, PhonetState, phonet_state, setting

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import Call, CallEvent
    from ...core.models import PauseRecord
    from ...sim import Simulator

log = logging.getLogger("simulator.phonet")
PROVIDER = "phonet"
NOT_SET = "(not set)"


def _at(unit: object, ts: float | None) -> int | None:
    if ts is None:
        return None
    return ms(ts) if str(unit).lower() == "ms" else int(ts)


def event_time(account: "Account", ts: float | None) -> int | None:
    """dialAt / bridgeAt / serverTime of webhooks: epoch ms (observed.md: a widely used receiver
    switched to ms against the live service); ``webhook_time_unit: s`` switches."""
    return _at(setting(account, "webhook_time_unit"), ts)


def active_time(account: "Account", ts: float | None) -> int | None:
    """dialAt / bridgeAt of ``/rest/calls/active/v3``: epoch seconds (observed.md: the client
    library reads seconds, the document's examples are seconds); ``active_calls_time_unit: ms``
    switches."""
    return _at(setting(account, "active_calls_time_unit"), ts)


def _headers(account: "Account") -> dict[str, str]:
    headers = account.crm.webhook_headers()
    fwd = setting(account, "webhook_forwarded_for")
    if fwd:
        headers["X-Forwarded-For"] = str(fwd)
    return headers


# ---- call.settings ----------------------------------------------------------------------------

# a flat answer carries the otherLeg keys at the top level: a CRM bug observed.md names
FLAT_KEYS = ("name", "url", "urlText", "newEntry", "newEntity", "responsibleEmployeeExt",
             "responsibleEmployeeEmail")
FLAT_ANSWER = ("call.settings: flat answer (a CRM bug): the document's shape is "
               "{\"otherLeg\": {...}} or {\"otherLeg\": null}; the call routes as for an unknown client")


def _read_other_leg(answer) -> tuple[bool, dict | None]:
    """(understood, otherLeg). Both ``newEntry`` (doc) and ``newEntity`` (seen live) are read."""
    if not isinstance(answer, dict) or "otherLeg" not in answer:
        return False, None
    leg = answer["otherLeg"]
    if leg is None:
        return True, None
    if not isinstance(leg, dict):
        return False, None
    leg = dict(leg)
    new = leg.get("newEntry", leg.get("newEntity", False))
    leg["newEntry"] = bool(new) if isinstance(new, bool) else False
    return True, leg


def _violations(entry, answer, understood: bool) -> list[str]:
    """What the journal says about an answer that is not the documented shape."""
    if isinstance(answer, dict) and "otherLeg" not in answer and any(k in answer for k in FLAT_KEYS):
        return [FLAT_ANSWER]
    if entry.error is None and entry.contract["ok"] and not understood:
        return ["call.settings: otherLeg missing"]
    return []


async def lookup(sim: "Simulator", account: "Account", call: "Call") -> None:
    """The engine's lookup hook: ask the CRM (or the cache) who ``call.client`` is."""
    if call.direction not in ("in", "out") or not call.client:
        return
    st = phonet_state(account)
    number = call.client
    now = account.clock.timestamp()
    use_cache = bool(setting(account, "lookup_cache"))
    cached = st.lookups.get(number) if use_cache else None
    if cached is not None and cached.expires_at > now:
        other_leg = cached.other_leg
    else:
        st.lookups.pop(number, None)
        url = account.crm.lookup_url or account.crm.url
        if not url:
            return
        body = {"request": "call.settings", "otherLegNum": number,
                "trunkNum": (call.trunk or None) if call.direction == "in" else None}
        entry = await sim.webhooks.send(Webhook(
            account_id=account.id, provider=PROVIDER, hook="call.settings", url=url, body=body,
            call_id=call.id, headers=_headers(account), expects_json=True,
            timeout=float(setting(account, "lookup_timeout_ms")) / 1000,
            # the call proceeds without the answer after lookup_timeout_ms (spec §3.1.1, A17)
            answer_within=float(setting(account, "lookup_timeout_ms")) / 1000))
        understood, other_leg = _read_other_leg(entry.answer)
        if not (entry.delivered and entry.status == 200 and entry.contract["ok"] and understood):
            named = _violations(entry, entry.answer, understood)
            if named:
                entry.contract = {"ok": False, "violations": named + [
                    v for v in entry.contract.get("violations", []) if v not in named]}
            other_leg = None   # treated as "no contact", not cached
        else:
            if other_leg is None and setting(account, "chrome_extension_mode"):
                entry.contract = {"ok": False, "violations": [
                    "call.settings: otherLeg null is unsuitable for the Chrome extension (needs url, urlText)"]}
            existing = other_leg is not None and not other_leg["newEntry"]
            ttl = float(setting(account, "lookup_cache_existing_s" if existing else "lookup_cache_new_s"))
            if use_cache and ttl > 0:
                st.lookups[number] = CachedLookup(other_leg, now + ttl)
                if len(st.lookups) >= st.lookups_sweep_at:
                    forget_expired_lookups(st, now)
    call.lookup = {"otherLeg": other_leg}
    name = other_leg.get("name") if other_leg else None
    if isinstance(name, str) and name:
        call.contact_name = name
        if call.direction == "in":
            call.caller_name = name
        else:
            call.callee_name = name
    if call.direction == "in" and other_leg:
        call.responsible_id = _responsible(account, other_leg)


def _responsible(account: "Account", other_leg: dict) -> int | None:
    """``responsibleEmployeeExt`` wins over ``responsibleEmployeeEmail``; unknown → next rule."""
    state = account.state
    ext = other_leg.get("responsibleEmployeeExt")
    if isinstance(ext, str) and ext:
        emp = state.employee_by_ext(ext)
        if emp is not None:
            return emp.id
        log.warning("%s: responsibleEmployeeExt %r matches no employee", account.id, ext)
    email = other_leg.get("responsibleEmployeeEmail")
    if isinstance(email, str) and email:
        for emp in state.employees.values():
            if emp.email and emp.email.lower() == email.lower():
                return emp.id
        log.warning("%s: responsibleEmployeeEmail %r matches no employee", account.id, email)
    return None


def forget_expired_lookups(st: PhonetState, now: float) -> int:
    """Drop the cached answers whose time is over. A number that never calls again would keep
    its answer for ever; swept when the cache has doubled since the last sweep, so a lookup
    costs O(1) on average and the cache stays within twice the numbers answered lately."""
    expired = [number for number, cached in st.lookups.items() if cached.expires_at <= now]
    for number in expired:
        del st.lookups[number]
    st.lookups_sweep_at = max(256, 2 * len(st.lookups))
    return len(expired)


def flush_lookup_cache(account: "Account") -> None:
    phonet_state(account).lookups.clear()


# ---- call events -------------------------------------------------------------------------------

def other_legs(account: "Account", call: "Call") -> list | None:
    """Client details from each connection, by priority: the webhook CRM, then Teler. An
    external call always has the client in it (observed.md: receivers read
    ``otherLegs[0].num``), with ``id``/``name``/``url`` null when no connection knows them."""
    if call.direction == "internal":
        return None
    entries = []
    priority = 0
    if account.crm.lookup_url or account.crm.url:
        priority += 1
        leg = (call.lookup or {}).get("otherLeg")
        if leg:
            entries.append({"id": None, "name": leg.get("name"), "num": call.client, "companyName": None,
                            "url": leg.get("url"), "priority": priority})
    if setting(account, "teler_in_other_legs"):
        contact = TelerIndex(account).find(call.client)
        if contact is not None:
            priority += 1
            entries.append({"id": contact.id, "name": contact_name(account, contact), "num": call.client,
                            "companyName": company_name(account, contact),
                            "url": f"https://{account.domain}/features/crm/contacts/edit.jsp#/?id={contact.id}",
                            "priority": priority})
    if not entries:
        entries.append({"id": None, "name": None, "num": call.client, "companyName": None, "url": None,
                        "priority": 1})
    return entries


def _trunk(account: "Account", call: "Call") -> tuple[str | None, str | None]:
    if call.direction == "internal" or not call.trunk:
        return None, None
    return call.trunk, trunk_name(account, call.trunk)


def trunk_name(account: "Account", number: str) -> str:
    """The company number's name, else the number."""
    found = account.state.company_number(number)
    return found.name if found is not None and found.name else number


class CallEvents:
    """Turns one account's engine events into Phonet legs and their webhooks."""

    def __init__(self, sim: "Simulator", account: "Account"):
        self.sim = sim
        self.account = account
        self.st = phonet_state(account)

    # -- legs
    def _dial(self, call: "Call", uuid: str, employee_id: int | None, at: float) -> None:
        account, state = self.account, self.account.state
        if call.id not in self.st.other_legs:
            self.st.other_legs[call.id] = other_legs(account, call)
        leg2 = None
        if call.direction == "internal":
            leg = state.employee_by_ext(call.caller)
            leg2 = state.employee_by_ext(call.callee)
        else:
            leg = state.employees.get(employee_id) if employee_id is not None else None
        trunk_num, trunk_name = _trunk(account, call)
        fields = {
            "uuid": uuid,
            "parentUuid": None if uuid == call.id else call.id,
            "lgDirection": LG_DIRECTION[call.direction],
            "leg": event_leg(leg),
            "leg2": event_leg(leg2),
            "otherLegs": self.st.other_legs[call.id],
            "trunkNum": trunk_num,
            "trunkName": trunk_name,
        }
        live = LiveLeg(uuid=uuid, call_id=call.id, fields=fields, dial_at=at)
        self.st.legs[uuid] = live
        if uuid == call.id:
            self.st.dialled.add(call.id)
        self._send(call, live, "call.dial")

    def _bridge(self, call: "Call", uuid: str, at: float) -> None:
        live = self.st.legs.get(uuid)
        if live is None or live.bridge_at is not None:
            return
        live.bridge_at = at
        live.last_event = "call.bridge"
        self._send(call, live, "call.bridge")

    def _hangup(self, call: "Call", uuid: str) -> None:
        live = self.st.legs.pop(uuid, None)
        if live is not None:
            self._send(call, live, "call.hangup")

    def _send(self, call: "Call", live: LiveLeg, event: str) -> None:
        account = self.account
        if call.direction == "internal" and not setting(account, "emit_internal_events"):
            return
        url = account.crm.events_url or account.crm.url
        if not url:
            return
        f = live.fields
        body = {
            "event": event,
            "accountDomain": account.domain,
            "uuid": f["uuid"],
            "parentUuid": f["parentUuid"],
            "dialAt": event_time(account, live.dial_at),
            "bridgeAt": event_time(account, live.bridge_at),
            "serverTime": event_time(account, account.clock.timestamp()),
            "lgDirection": f["lgDirection"],
            "leg": f["leg"],
            "leg2": f["leg2"],
            "otherLegs": f["otherLegs"],
            "trunkNum": f["trunkNum"],
            "trunkName": f["trunkName"],
        }
        times = 2 if self._duplicate() else 1
        for _ in range(times):   # a duplicate is byte-identical (§3.2.6)
            self.sim.webhooks.enqueue(Webhook(
                account_id=account.id, provider=PROVIDER, hook=event, url=url, body=body,
                call_id=call.id, headers=_headers(account), retries=account.crm.retries,
                timeout=float(setting(account, "event_timeout_ms")) / 1000))

    def _duplicate(self) -> bool:
        if setting(self.account, "duplicate_events"):
            return True
        rate = float(setting(self.account, "duplicate_event_rate") or 0)
        return rate > 0 and self.account.rng.random() < rate

    # -- the engine's events
    def handle(self, event: "CallEvent") -> None:
        call, leg, kind = event.call, event.leg, event.type
        root = call.id
        if kind == "leg.ringing" and leg is not None:
            if call.direction == "in":
                if leg.kind == "employee":
                    self._dial(call, leg.id, leg.employee_id, leg.rang_at)
            elif root not in self.st.dialled:
                self._dial(call, root, self._caller_id(call), leg.rang_at)
            elif leg.kind == "employee" and leg.id != root and call.answered_at is not None:
                self._dial(call, leg.id, leg.employee_id, leg.rang_at)   # a transfer target
        elif kind == "leg.answered" and leg is not None:
            # outgoing/internal: the root leg answers when the client / callee picks up;
            # a click-to-call's own ringing of the employee is not a bridge
            if call.direction == "in" or leg.id == root or leg.id in self.st.legs:
                self._bridge(call, leg.id, event.at)
        elif kind == "leg.ended" and leg is not None:
            if call.direction == "in" or leg.id != root:
                self._hangup(call, leg.id)          # only legs that were dialled are live
            elif leg.result == "transferred":
                self._hangup(call, root)            # the caller's part ends at the transfer
        elif kind == "call.ended":
            if call.direction != "in" and root not in self.st.dialled:
                # failed before anything rang (forbidden, dnd…): the caller still dialled
                self._dial(call, root, self._caller_id(call), call.created_at)
            for uuid in [u for u, live in self.st.legs.items() if live.call_id == root]:
                self._hangup(call, uuid)
            self.st.dialled.discard(root)
            self.st.other_legs.pop(root, None)
            if call.cdr is not None and call.cdr.utm:
                utm_add(self.sim, self.account, call)

    def _caller_id(self, call: "Call") -> int | None:
        emp = self.account.state.employee_by_ext(call.caller)
        return emp.id if emp is not None else call.employee_id


# ---- pause ------------------------------------------------------------------------------------

PAUSE_DIRECTION = {True: 32, False: 64}   # pause set ("not at desk") / removed ("at desk")


def pause_events(sim: "Simulator", account: "Account", record: "PauseRecord") -> None:
    """§3.2.1: a pause toggle is ``call.dial`` at once followed by ``call.hangup``; only the
    employee's leg, nothing else."""
    if not setting(account, "emit_pause_events"):
        return
    url = account.crm.events_url or account.crm.url
    if not url:
        return
    emp = account.state.employees.get(record.employee_id)
    for event in ("call.dial", "call.hangup"):
        body = {
            "event": event, "accountDomain": account.domain, "uuid": record.id, "parentUuid": None,
            "dialAt": event_time(account, record.at), "bridgeAt": None,
            "serverTime": event_time(account, account.clock.timestamp()),
            "lgDirection": PAUSE_DIRECTION[record.on], "leg": event_leg(emp), "leg2": None,
            "otherLegs": None, "trunkNum": None, "trunkName": None,
        }
        sim.webhooks.enqueue(Webhook(
            account_id=account.id, provider=PROVIDER, hook=event, url=url, body=body, call_id=record.id,
            headers=_headers(account), retries=account.crm.retries,
            timeout=float(setting(account, "event_timeout_ms")) / 1000))


# ---- UTM batches -------------------------------------------------------------------------------

UTM_KEYS = ("utmSource", "utmMedium", "utmCampaign", "utmContent", "utmTerm", "googleClientId",
            "clientIp", "referrer")
_SNAKE = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign",
          "utmContent": "utm_content", "utmTerm": "utm_term", "googleClientId": "google_client_id",
          "clientIp": "client_ip", "referrer": "referrer"}


def utm_record(account: "Account", call: "Call") -> dict:
    utm = call.cdr.utm or {}
    cdr = call.cdr
    rec = {}
    for key in UTM_KEYS:
        value = utm.get(key, utm.get(_SNAKE[key]))
        rec[key] = str(value) if value not in (None, "") else NOT_SET
    rec.update({
        "otherLegNum": cdr.client,
        "trunkSource": digits(cdr.trunk),
        "label": str(utm.get("label", "")),
        "callDate": ms(cdr.ended_at),
        "callStart": ms(cdr.started_at),
        "callParentUuid": cdr.id,
    })
    if setting(account, "utm_extra_field"):
        rec["simExtraField"] = "ignore me"   # CRMs must ignore keys they do not know
    return rec


def utm_add(sim: "Simulator", account: "Account", call: "Call") -> None:
    if not (account.crm.utm_url or account.crm.url):
        return
    st = phonet_state(account)
    st.utm_pending.append(utm_record(account, call))
    if st.utm_task is None or st.utm_task.done():
        now = account.clock.timestamp()
        wait = 60 - (now % 60) or 60
        st.utm_task = asyncio.get_running_loop().create_task(_utm_flush(sim, account, wait))


async def _utm_flush(sim: "Simulator", account: "Account", wait: float) -> None:
    await account.clock.sleep(wait)
    st = phonet_state(account)
    batch, st.utm_pending = st.utm_pending, []
    st.utm_task = None
    url = account.crm.utm_url or account.crm.url
    if batch and url:
        sim.webhooks.enqueue(Webhook(account_id=account.id, provider=PROVIDER, hook="utm", url=url,
                                     body=batch, headers=_headers(account),
                                     timeout=float(setting(account, "event_timeout_ms")) / 1000))
