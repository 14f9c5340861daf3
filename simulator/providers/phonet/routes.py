"""Phonet REST API handlers (spec §4). Thin: auth, parse, call the store / engine, render.

Every path of the inventory is in ``ROUTES`` at the bottom, in the order they must be
matched (``searchByOLNum`` and ``batch`` before ``{id}``).
"""

from __future__ import annotations

import heapq
import re
from functools import partial, wraps
from typing import TYPE_CHECKING, Callable

from aiohttp import web

from ...body import BodyError, read_json
from ...core.models import Contact, Note
from ...core.recordings import mp3_bytes
from ...http import ACCOUNT_KEY, account_endpoint, json_response
from ...keys import SIM
from . import auth
from .errors import (BadRequest, CallNotFound, ContactNotFound, NoteNotFound, PhonetError,
                     RecordNotFound, UnsupportedMediaType, UserNotFound)
from .models import (NOTE_TEMPLATE, AuthorizeBody, BatchBody, CallViews, ContactBody, MakeCallBody,
                     NoteBody, TelerIndex, add_fields, digits, ms, numbers_match, parse,
                     phone_digits, render_contact, render_note, replace_fields, sync_core, teler, users)
from .state import phonet_state, setting
from .webhooks import PAUSE_DIRECTION, active_time, trunk_name

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.models import CallRecord
    from ...sim import Simulator

PROVIDER = "phonet"
_INT = re.compile(r"^-?\d+$")


def reply(data, status: int = 200) -> web.Response:
    return json_response(data, status=status)


def endpoint(fn: Callable) -> Callable:
    """Errors become their plain-text answers."""
    @wraps(fn)
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except PhonetError as err:
            return err.response()
    return handler


def session(fn: Callable) -> Callable:
    """A live JSESSIONID is required (403 before any parameter is looked at); errors become
    their plain-text answers, as with ``endpoint`` (one wrapper, not two, on every request)."""
    return account_endpoint(fn, auth.authenticated, PhonetError)


async def json_body(request: web.Request, account: "Account | None" = None):
    if account is not None and setting(account, "strict_content_type") \
            and not request.content_type.startswith("application/json"):
        raise UnsupportedMediaType()
    try:
        return await read_json(request)
    except BodyError as err:
        raise BadRequest(err.field, err.reason) from None


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    """An integer of the query. Given twice it is refused, as phonet's Spring backend does: it
    joins the values with a comma (``offset=1&offset=2`` → "1,2"), which is no integer."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise BadRequest(name, "must be an integer")
    value = values[0] if values else None
    if value is None or value == "":
        if default is None:
            raise BadRequest(name, "is required")
        return default
    if not _INT.match(value.strip()):
        raise BadRequest(name, "must be an integer")
    return _int(value.strip(), name)


def path_int(request: web.Request, name: str) -> int:
    value = request.match_info.get(name, "")
    if not _INT.match(value):
        raise BadRequest(name, "must be an integer")
    return _int(value, name)


def _int(digits: str, name: str) -> int:
    try:
        return int(digits)
    except ValueError:   # past Python's 4300-digit conversion limit
        raise BadRequest(name, "is out of range") from None


def now_ms(account: "Account") -> int:
    return ms(account.clock.timestamp())


# ---- authorize ---------------------------------------------------------------------------------

@endpoint
async def authorize(request: web.Request) -> web.StreamResponse:
    body = parse(AuthorizeBody, await json_body(request))
    if not body.domain.strip():
        raise BadRequest("domain", "is required")
    if not body.apiKey:
        raise BadRequest("apiKey", "is required")
    _, sess = auth.login(request, body.domain, body.apiKey)
    # observed.md: clients parse every answer but hangup's as JSON, so the body is {}
    resp = reply({})
    resp.headers["Set-Cookie"] = auth.session_cookie(sess)
    return resp


# ---- calls -------------------------------------------------------------------------------------

@session
async def make_call(request: web.Request, account: "Account") -> web.StreamResponse:
    body = parse(MakeCallBody, await json_body(request, account))
    ext = str(body.legExt).strip()
    if not ext:
        raise BadRequest("legExt", "is required")
    number = body.otherLegNum.strip()
    if not digits(number):
        raise BadRequest("otherLegNum", "is invalid")
    sim: "Simulator" = request.app[SIM]
    employee = account.state.employee_by_ext(ext)
    if employee is None:
        raise UserNotFound()
    callee = account.state.employee_by_ext(number)
    if callee is not None:
        call = sim.engine.internal(account, employee, callee)
    else:
        call = sim.engine.click_to_call(account, employee, number)
    return reply({"uuid": call.id})


@session
async def active_calls(request: web.Request, account: "Account") -> web.StreamResponse:
    legs = sorted(phonet_state(account).legs.values(), key=lambda lg: (-lg.dial_at, lg.uuid))
    # observed.md: the only real client types trunkNum/trunkName as strings, internal calls
    # too; the document's internal-call example carries the company line there
    line = account.default_clid()
    out = []
    for live in legs:
        f = live.fields
        trunk_num = f["trunkNum"] or line
        out.append({
            "uuid": live.uuid, "parentUuid": f["parentUuid"], "lastEvent": live.last_event,
            "dialAt": active_time(account, live.dial_at), "bridgeAt": active_time(account, live.bridge_at),
            "lgDirection": f["lgDirection"], "leg": f["leg"], "leg2": f["leg2"],
            "otherLegs": f["otherLegs"], "trunkNum": trunk_num,
            "trunkName": f["trunkName"] or (trunk_name(account, trunk_num) if trunk_num else ""),
        })
    return reply(out)


def _uuid(value: str) -> str:
    return value.replace("-", "").lower()


@session
async def hangup(request: web.Request, account: "Account") -> web.StreamResponse:
    sim: "Simulator" = request.app[SIM]
    uuid = _uuid(request.match_info["uuid"])
    call = sim.engine.get_live(account.id, uuid)
    if call is None:
        raise CallNotFound()
    if uuid != call.id:
        leg = next((lg for lg in call.legs if lg.id == uuid), None)
        if leg is None or leg.ended_at is not None:
            raise CallNotFound()
    # as if the employee hung up: the callee side on incoming calls, the caller's otherwise
    await sim.engine.hangup(account.id, call.id, "B" if call.direction == "in" else "A")
    return web.Response(status=200)


# ---- call history ------------------------------------------------------------------------------

COMPANY_DIRECTIONS = 1 | 2 | 4
USERS_DIRECTIONS = 1 | 2 | 4 | 32 | 64
DIRECTION_BIT = {"internal": 1, "out": 2, "in": 4}


def parse_directions(request: web.Request, allowed: int) -> int:
    """``directions=4``, ``directions=2&directions=4``, ``directions[0]=2&directions[1]=4``,
    ``directions=2,4`` and the bitmask ``directions=6``: all OR-ed together."""
    raw = [v for k, v in request.query.items() if k == "directions" or re.fullmatch(r"directions\[\d*\]", k)]
    if not raw:
        return 1 | 2 | 4
    mask = 0
    for value in raw:
        for part in value.split(","):
            part = part.strip()
            if not part.isdigit() or int(part) <= 0:
                raise BadRequest("directions", "is invalid")
            mask |= int(part)
    if mask & ~allowed:
        raise BadRequest("directions", "is invalid")
    return mask


def _history_params(request: web.Request, account: "Account") -> tuple[float, float, int, int]:
    t_from = query_int(request, "timeFrom")
    t_to = query_int(request, "timeTo")
    if t_from < 0:
        raise BadRequest("timeFrom", "must not be negative")
    if t_to < t_from:
        raise BadRequest("timeTo", "must not be less than timeFrom")
    limit = query_int(request, "limit", 50)
    if limit < 1 or limit > 50:
        if setting(account, "calls_limit_overflow") != "clamp":
            raise BadRequest("limit", "must be between 1 and 50")
        limit = max(1, min(50, limit))
    offset = query_int(request, "offset", 0)
    if offset < 0:
        raise BadRequest("offset", "must not be negative")
    return t_from / 1000, t_to / 1000, limit, offset


def _max_duration(account: "Account") -> float:
    """The longest call (bounds how far before ``timeFrom`` a record can start)."""
    digest = phonet_state(account).digest
    cdrs = account.state.cdrs
    if digest.size != len(cdrs):
        digest.max_duration = max((c.ended_at - c.started_at for c in cdrs), default=0.0)
        digest.size = len(cdrs)
    return digest.max_duration


def _last_answered(account: "Account") -> dict[str, float]:
    """Client number (digits) → end of its last answered call, for missed.api."""
    digest = phonet_state(account).digest
    cdrs = account.state.cdrs
    if digest.answered_size != len(cdrs):
        last: dict[str, float] = {}
        for c in cdrs:
            if c.answered_at is not None and c.direction != "internal" and c.client:
                d = digits(c.client)
                if last.get(d, -1.0) < c.ended_at:
                    last[d] = c.ended_at
        digest.last_answered = last
        digest.answered_size = len(cdrs)
    return digest.last_answered


def _page(account: "Account", t_from: float, t_to: float, limit: int, offset: int,
          items_of: Callable[["CallRecord"], list[tuple[float, str, Callable[[], dict]]]],
          extra: list[tuple[float, str, Callable[[], dict]]] = ()) -> list[dict]:
    """Items whose end is in [t_from, t_to), newest end first (ties by uuid), paged.

    Walks the records backwards by start time (bisected) and stops as soon as no earlier
    record can end late enough to enter the page: a few thousand records at most, whatever
    the store's size."""
    need = offset + limit
    longest = _max_duration(account)
    found: list[tuple[float, str, Callable[[], dict]]] = list(extra)   # already in the window
    top: list[float] = heapq.nlargest(need, (end for end, _, _ in found))   # the ``need`` latest ends seen
    heapq.heapify(top)
    for cdr in account.state.cdrs.iter_window(t_from - longest, t_to, reverse=True):
        if len(top) >= need and cdr.started_at + longest < top[0]:
            break
        for end, uuid, render in items_of(cdr):
            if t_from <= end < t_to:
                found.append((end, uuid, render))
                if len(top) < need:
                    heapq.heappush(top, end)
                elif end > top[0]:
                    heapq.heapreplace(top, end)
    found.sort(key=lambda item: (-item[0], item[1]))
    return [render() for _, _, render in found[offset:need]]


def _views(request: web.Request, account: "Account") -> CallViews:
    return CallViews(account, setting(account, "public_base_url") or request.app[SIM].public_url)


@session
async def company_calls(request: web.Request, account: "Account") -> web.StreamResponse:
    t_from, t_to, limit, offset = _history_params(request, account)
    mask = parse_directions(request, COMPANY_DIRECTIONS)
    views = _views(request, account)

    def items(cdr):
        if not DIRECTION_BIT[cdr.direction] & mask:
            return ()
        # the root call, then each leg with its own uuid (a group member's, a transfer's)
        # with parentUuid = root, as the document's example has: every uuid a webhook carried
        # is found here (observed.md: receivers look the hangup's uuid up in company.api)
        out = [(cdr.ended_at, cdr.id, lambda: views.company(cdr))]
        for i, (uuid, _, _, _, end) in enumerate(views.user_legs(cdr)):
            if uuid != cdr.id:
                out.append((end, uuid, partial(lambda c, k: views.users(c)[k], cdr, i)))
        return out
    return reply(_page(account, t_from, t_to, limit, offset, items))


@session
async def missed_calls(request: web.Request, account: "Account") -> web.StreamResponse:
    t_from, t_to, limit, offset = _history_params(request, account)   # no directions here
    views = _views(request, account)
    last = _last_answered(account)

    def items(cdr):
        if cdr.direction != "in" or cdr.answered_at is not None:
            return ()
        if last.get(digits(cdr.client), -1.0) > cdr.ended_at:
            return ()   # called back (or called again and answered) since
        return ((cdr.ended_at, cdr.id, lambda: views.company(cdr)),)
    return reply(_page(account, t_from, t_to, limit, offset, items))


@session
async def users_calls(request: web.Request, account: "Account") -> web.StreamResponse:
    t_from, t_to, limit, offset = _history_params(request, account)
    mask = parse_directions(request, USERS_DIRECTIONS)
    views = _views(request, account)

    def items(cdr):
        if not DIRECTION_BIT[cdr.direction] & mask:
            return ()
        out = []
        for i, (uuid, _, _, _, end) in enumerate(views.user_legs(cdr)):
            out.append((end, uuid, partial(lambda c, k: views.users(c)[k], cdr, i)))
        return out
    pauses = []
    if mask & (PAUSE_DIRECTION[True] | PAUSE_DIRECTION[False]):
        for record in account.state.pauses:   # in time order: the window is a slice
            if t_from <= record.at < t_to and mask & PAUSE_DIRECTION[record.on]:
                pauses.append((record.at, record.id, partial(views.pause, record)))
    return reply(_page(account, t_from, t_to, limit, offset, items, pauses))


# ---- users -------------------------------------------------------------------------------------

@session
def users_list(request: web.Request, account: "Account") -> web.StreamResponse:
    return reply(users(account))


@session
async def user_status(request: web.Request, account: "Account") -> web.StreamResponse:
    # login names no user: the status is that of the configured api_user_id, else 2
    ref = setting(account, "api_user_id")
    emp = account.state.find_employee(ref) if ref not in (None, "") else None
    if emp is None:
        return reply({"status": 2})
    online = emp.enabled and emp.status != "offline"
    return reply({"status": 0 if online else 1})


# ---- Teler contacts ----------------------------------------------------------------------------

def _contact(account: "Account", contact_id: int) -> Contact:
    contact = account.state.contacts.get(contact_id)
    if contact is None:
        raise ContactNotFound()
    return contact


def _limit_offset(request: web.Request) -> tuple[int, int]:
    offset = query_int(request, "offset", 0)
    if offset < 0:
        raise BadRequest("offset", "must not be negative")
    limit = query_int(request, "limit", 30)
    if limit < 0 or limit > 60:
        raise BadRequest("limit", "must be between 0 and 60")
    return limit, offset


@session
async def contact_get(request: web.Request, account: "Account") -> web.StreamResponse:
    return reply(render_contact(account, _contact(account, int(request.match_info["id"]))))


@session
async def contacts_list(request: web.Request, account: "Account") -> web.StreamResponse:
    limit, offset = _limit_offset(request)
    q = request.query
    fields = {f.lower() for f in q.getall("field", []) if f}
    text = (q.get("searchText") or "").lower()
    note_text = (q.get("searchNoteText") or "").lower()
    filter_by = query_int(request, "filterBy", 1)
    if filter_by not in (0, 1):
        raise BadRequest("filterBy", "must be 0 or 1")
    # absent or empty: no bound (given twice is refused by query_int, even when the first is empty)
    t_from = query_int(request, "from") if q.getall("from", [""]) != [""] else None
    t_to = query_int(request, "to") if q.getall("to", [""]) != [""] else None
    if t_from is not None and t_to is not None and t_to < t_from:
        raise BadRequest("to", "must not be less than from")
    out = []
    for contact in sorted(account.state.contacts.values(), key=lambda c: c.id):
        data = teler(account, contact)
        if text:
            hay = [v["value"] for f in data["fields"] if not fields or f["enumCode"].lower() in fields
                   for v in f["values"]]
            if not fields:
                hay += [data.get("firstName") or "", data.get("lastName") or "", data.get("companyTitle") or ""]
            if not any(text in h.lower() for h in hay):
                continue
        if note_text and not any(note_text in (render_note(n).get("content") or "").lower()
                                 for n in contact.notes):
            continue
        stamp = data.get("lastModified" if filter_by == 1 else "dateCreate", 0)
        if (t_from is not None and stamp < t_from) or (t_to is not None and stamp > t_to):
            continue
        out.append(contact)
    return reply([render_contact(account, c) for c in out[offset:offset + limit]])


@session
async def contacts_by_number(request: web.Request, account: "Account") -> web.StreamResponse:
    number = request.query.get("otherLegNum")
    if number is None or not number.strip():
        raise BadRequest("otherLegNum", "is required")
    limit, offset = _limit_offset(request)
    wanted = digits(number)
    found = [c for c in sorted(account.state.contacts.values(), key=lambda c: c.id)
             if any(numbers_match(wanted, p) for p in phone_digits(account, c))]
    return reply([render_contact(account, c) for c in found[offset:offset + limit]])


def _apply_update(account: "Account", contact: Contact, body: ContactBody, now: int) -> None:
    data = teler(account, contact)
    sent = body.model_fields_set
    for key in ("firstName", "lastName", "companyTitle"):
        if key in sent:
            data[key] = getattr(body, key)
    if "responsibleUserId" in sent:
        contact.responsible_employee_id = body.responsibleUserId
    if body.fields is not None:
        replace_fields(account, data, body.fields, now)
    data["lastModified"] = now
    sync_core(contact)


@session
async def contact_update(request: web.Request, account: "Account") -> web.StreamResponse:
    body = parse(ContactBody, await json_body(request, account))
    if body.id is None or body.id <= 0:
        raise BadRequest("id", "is required")
    contact = _contact(account, body.id)   # never creates (creation is the batch's)
    _apply_update(account, contact, body, now_ms(account))
    return reply(1)


@session
async def contact_delete(request: web.Request, account: "Account") -> web.StreamResponse:
    contact_id = int(request.match_info["id"])
    _contact(account, contact_id)
    del account.state.contacts[contact_id]   # its notes go with it
    return reply(1)


def _create(account: "Account", body: ContactBody, now: int) -> Contact:
    state = account.state
    cid = state.next_id("contact")
    contact = Contact(id=cid, name="", responsible_employee_id=body.responsibleUserId)
    api_user = setting(account, "api_user_id")
    creator = state.find_employee(api_user) if api_user not in (None, "") else None
    contact.fields = {"firstName": body.firstName, "lastName": body.lastName,
                      "companyTitle": body.companyTitle,
                      "createUserId": creator.id if creator else (body.createUserId or 0),
                      "dateCreate": now, "lastModified": now, "fields": []}
    replace_fields(account, contact.fields, [f.model_copy(update={"id": None}) for f in body.fields or []], now)
    for f in contact.fields["fields"]:
        for v in f["values"]:
            v["lastModified"] = now
    sync_core(contact)
    state.contacts[cid] = contact
    return contact


@session
async def contacts_batch(request: web.Request, account: "Account") -> web.StreamResponse:
    body = parse(BatchBody, await json_body(request, account))
    now = now_ms(account)
    succeeded = failed = 0
    for element in body.contacts:
        try:
            item = parse(ContactBody, element)
        except BadRequest:
            failed += 1
            continue
        if body.merge == 1:
            existing = account.state.contacts.get(item.id) if item.id else None
            if existing is not None:
                _apply_update(account, existing, item, now)
                succeeded += 1
                continue
            phones = [v.value for f in item.fields or [] if f.enumCode.lower() == "телефон" for v in f.values]
            index = TelerIndex(account) if phones else None
            match = next((c for c in (index.find(p) for p in phones) if c is not None), None) if index else None
            if match is not None:
                data = teler(account, match)
                add_fields(account, data, item.fields or [], now)
                data["lastModified"] = now
                sync_core(match)
                succeeded += 1
                continue
        _create(account, item, now)
        succeeded += 1
    return reply({"succeeded": succeeded, "failed": failed}, status=201)


# ---- notes -------------------------------------------------------------------------------------

def _note_values(body: NoteBody) -> dict:
    return {k: v for k, v in body.model_dump().items() if k in body.model_fields_set}


@session
async def notes_list(request: web.Request, account: "Account") -> web.StreamResponse:
    contact = _contact(account, int(request.match_info["id"]))
    notes = sorted(contact.notes, key=lambda n: (render_note(n)["dateCreate"], n.id))
    return reply([render_note(n) for n in notes])


@session
async def note_create(request: web.Request, account: "Account") -> web.StreamResponse:
    contact = _contact(account, int(request.match_info["id"]))
    body = parse(NoteBody, await json_body(request, account))
    if not (body.content or "").strip():
        # the document: 400 "one of the parameters is missing"; a note is its text
        raise BadRequest("content", "is required")
    now = now_ms(account)
    note_id = account.state.next_id("note")
    data = dict(NOTE_TEMPLATE)
    data.update({k: v for k, v in _note_values(body).items() if v is not None or NOTE_TEMPLATE[k] is None})
    data.update({"id": note_id, "elementId": contact.id, "lastModified": now})
    if not data.get("dateCreate"):
        data["dateCreate"] = now
    note = Note(id=note_id, text=data["content"] or "", created_at=data["dateCreate"] / 1000,
                updated_at=now / 1000, author_id=data["responsibleUserId"] or None, extra={"phonet": data})
    contact.notes.append(note)
    return reply(render_note(note))


@session
async def note_update(request: web.Request, account: "Account") -> web.StreamResponse:
    contact_id = int(request.match_info["id"])
    body = parse(NoteBody, await json_body(request, account))
    if not body.id:
        raise BadRequest("id", "is required")
    contact = _contact(account, contact_id)
    note = next((n for n in contact.notes if n.id == body.id), None)
    if note is None:
        raise NoteNotFound()
    data = note.extra["phonet"]
    for key, value in _note_values(body).items():
        if key in ("id", "elementId", "dateCreate"):
            continue   # immutable
        data[key] = value if value is not None or NOTE_TEMPLATE[key] is None else NOTE_TEMPLATE[key]
    now = now_ms(account)
    data["lastModified"] = now
    note.text, note.updated_at = data["content"] or "", now / 1000
    note.author_id = data["responsibleUserId"] or None
    return reply(1)


@session
async def note_delete(request: web.Request, account: "Account") -> web.StreamResponse:
    contact_id = path_int(request, "cntId")
    note_id = path_int(request, "noteId")
    contact = _contact(account, contact_id)
    note = next((n for n in contact.notes if n.id == note_id), None)
    if note is None:
        raise NoteNotFound()
    contact.notes.remove(note)
    return reply(1)


# ---- recordings (public, no session) -----------------------------------------------------------

@endpoint
async def call_audio(request: web.Request) -> web.StreamResponse:
    sim: "Simulator" = request.app[SIM]
    name = request.match_info["name"].lower()
    channel = None
    if name.endswith(("-rx", "-tx")):
        name, channel = name[:-3], name[-2:]
    uuid = _uuid(name)
    for account in sim.accounts_of(PROVIDER):
        cdrs = account.state.cdrs
        cdr = cdrs.get(uuid) or cdrs.by_leg(uuid)
        if cdr is None:
            continue
        request[ACCOUNT_KEY] = account
        if channel and not setting(account, "split_recording"):
            raise RecordNotFound()
        if not cdr.record_file or cdr.answered_at is None:
            raise RecordNotFound()
        talk = cdr.talk_s
        if uuid != cdr.id:
            leg = next((lg for lg in cdr.legs if lg[0] == uuid), None)
            if leg is None or leg[3] is None:
                raise RecordNotFound()
            talk = max(1, int(round((leg[4] or cdr.ended_at) - leg[3])))
        # the mixed link has both sides (dual channel), -rx / -tx one side each
        return web.Response(body=mp3_bytes(talk, channel or "both"), content_type="audio/mpeg")
    raise RecordNotFound()


V2 = "/rest/crm/contacts/v2"
ROUTES = [
    ("POST", "/rest/security/authorize", authorize),
    ("POST", "/rest/user/makeCall", make_call),
    ("GET", "/rest/calls/active/v3", active_calls),
    ("GET", "/rest/calls/active/{uuid}/hangup", hangup),
    ("GET", "/rest/calls/company.api", company_calls),
    ("GET", "/rest/calls/missed.api", missed_calls),
    ("GET", "/rest/calls/users.api", users_calls),
    ("GET", "/rest/users", users_list),
    ("GET", "/rest/user/status", user_status),
    ("GET", V2 + "/searchByOLNum", contacts_by_number),
    ("POST", V2 + "/batch", contacts_batch),
    ("GET", V2 + "/", contacts_list),
    ("GET", V2, contacts_list),
    ("POST", V2 + "/", contact_update),
    ("POST", V2, contact_update),
    ("GET", V2 + r"/{id:\d+}", contact_get),
    ("DELETE", V2 + r"/{id:\d+}", contact_delete),
    ("GET", V2 + r"/{id:\d+}/notes", notes_list),
    ("POST", V2 + r"/{id:\d+}/notes", note_create),
    ("PUT", V2 + r"/{id:\d+}/notes", note_update),
    ("DELETE", V2 + "/{cntId}/notes/{noteId}", note_delete),
    ("GET", "/rest/public/calls/{name}/audio", call_audio),
]

__all__ = ["ROUTES"]
