"""t2 CRM OpenAPI handlers, one per endpoint of the inventory (``ROUTES`` at the bottom),
under ``/crm/openapi``. Thin: authenticate, read parameters, ask the core, render."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import web

from ...core.models import BlacklistEntry
from ...core.recordings import mp3_bytes, transcript
from ...keys import SIM
from .auth import ACCESS, REFRESH, company_id, issue_pair, requires
from .errors import (EMPLOYEE_NOT_FOUND, RECORD_NOT_FOUND, TRANSCRIPTION_NOT_FOUND, MissingParameter,
                     ObjectNotFound, WrongParameter, json_response)
from .models import (EMPLOYEE_ID, DUPLICATE_BLACK_LIST_NUMBER, JAVA_LONG_MAX, MISSED_SORT_FIELDS, RECORD_SORT_FIELDS, STRING, SUCCESS,
                     Directory, ManagerBody, Query, RecordFilter, blacklist_ids, blacklist_json, call_records,
                     common_statistics, employee_json, journal_statistics, live_call_json, manager_json,
                     missed_calls, parse_msisdn, save_manager)

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.models import CallRecord

BASE = "/crm/openapi"


# ---- authorization --------------------------------------------------------------------------

@requires(REFRESH)
async def refresh_token(request: web.Request, account: "Account") -> web.Response:
    """PUT /authorization/refresh/token — a new pair; the previous one stops working."""
    sim = request.app[SIM]
    pair = issue_pair(sim, account, account.rng)
    account.credentials = pair.credentials()
    return json_response(pair.to_json())


# ---- monitoring -----------------------------------------------------------------------------

@requires(ACCESS)
async def monitoring_calls(request: web.Request, account: "Account") -> web.Response:
    """GET /monitoring/calls — the account's live calls."""
    directory = Directory(account)
    calls = sorted(request.app[SIM].engine.live_calls(account.id), key=lambda c: c.created_at)
    return json_response([live_call_json(call, directory) for call in calls])


@requires(ACCESS)
async def monitoring_pending(request: web.Request, account: "Account") -> web.Response:
    """GET /monitoring/calls/pending — callers waiting in each department's queue."""
    engine = request.app[SIM].engine
    queues = []
    for dept in account.state.departments.values():
        waiting = engine.queue(account.id, dept.id)
        if waiting:
            queues.append({"queueName": dept.name, "calls": [c.caller.lstrip("+") for c in waiting]})
    return json_response(queues)


# ---- employees, click-to-call ---------------------------------------------------------------

@requires(ACCESS)
def employees(request: web.Request, account: "Account") -> web.Response:
    """GET /employees"""
    state = account.state

    groups = state.departments_by_employee()
    return json_response([employee_json(e, groups.get(e.id, ()))
                          for e in sorted(state.employees.values(), key=EMPLOYEE_ID)])


@requires(ACCESS)
async def call_outgoing(request: web.Request, account: "Account") -> web.Response:
    """POST /call/outgoing?destination&source — the PBX rings the employee, then the client."""
    query = Query(request.query)
    destination = query.text("destination")
    source = query.text("source")
    destination = destination.lstrip("+").strip()
    if not destination.isdigit():
        raise WrongParameter("destination")
    employee = Directory(account).find(source)
    if employee is None:
        raise ObjectNotFound(EMPLOYEE_NOT_FOUND)
    request.app[SIM].engine.click_to_call(account, employee, destination)
    return web.Response(status=200)


# ---- statistics -----------------------------------------------------------------------------

@requires(ACCESS)
async def statistics_common(request: web.Request, account: "Account") -> web.Response:
    """GET /statistics/common?start&end[&subscriberNumber]"""
    query = Query(request.query)
    start, end = query.date_time("start"), query.date_time("end")
    return json_response(common_statistics(account, start, end, query.text("subscriberNumber", False)))


@requires(ACCESS)
async def statistics_journal(request: web.Request, account: "Account") -> web.Response:
    """GET /statistics/journal?start&end[&number]"""
    query = Query(request.query)
    start, end = query.date_time("start"), query.date_time("end")
    return json_response(journal_statistics(account, start, end, query.text("number", False)))


@requires(ACCESS)
async def statistics_missing(request: web.Request, account: "Account") -> web.Response:
    """GET /statistics/missing?start&end[&mcn_numbers[]][&page&size&sort] (seed 000)"""
    query = Query(request.query)
    start, end = query.date_time("start"), query.date_time("end")
    page, size = query.page(100)
    order = query.sort(MISSED_SORT_FIELDS, "startDate")
    return json_response(missed_calls(account, start, end, query.many("mcn_numbers"), order, page, size,
                                      company_id(request.app[SIM], account)))


# ---- call records ---------------------------------------------------------------------------

@requires(ACCESS)
async def call_records_info(request: web.Request, account: "Account") -> web.Response:
    """GET /call-records/info?start&end[&caller&callee&is_recorded&page&size&sort]"""
    query = Query(request.query)
    start, end = query.date_time("start"), query.date_time("end")
    flt = RecordFilter(query.text("caller", False), query.text("callee", False),
                       query.boolean("is_recorded", False))
    page, size = query.page(10)
    order = query.sort(RECORD_SORT_FIELDS, "date")
    return json_response(call_records(account, start, end, flt, order, page, size))


def _recorded_call(request: web.Request, account: "Account", *aliases: str) -> "CallRecord | None":
    name = Query(request.query).text("filename", True, *aliases)
    cdrs = account.state.cdrs
    # the seed's own stt example double-encodes the slash (%252F): decode once more
    cdr = cdrs.by_file(name) or cdrs.by_file(unquote(name))
    return cdr if cdr is not None and cdr.answered else None


@requires(ACCESS)
async def call_records_file(request: web.Request, account: "Account") -> web.Response:
    """GET /call-records/file?filename — the recording, MP3."""
    cdr = _recorded_call(request, account)
    if cdr is None:
        raise ObjectNotFound(RECORD_NOT_FOUND)
    name = cdr.record_file.rsplit("/", 1)[-1]
    return web.Response(body=mp3_bytes(cdr.talk_s), content_type="audio/mpeg",
                        headers={"Content-Disposition": f'attachment; filename="{name}.mp3"'})


@requires(ACCESS)
async def call_records_stt(request: web.Request, account: "Account") -> web.Response:
    """GET /call-records/file/stt?filename — the transcript, word by word. The older document
    (seed 001) names the parameter ``Filename``: both are read."""
    cdr = _recorded_call(request, account, "Filename")
    if cdr is None:
        raise ObjectNotFound(TRANSCRIPTION_NOT_FOUND)
    return json_response(transcript(cdr.id, cdr.talk_s))


# ---- personal managers ----------------------------------------------------------------------

def _manager_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    try:
        value = int(raw)
    except ValueError:
        raise WrongParameter("id") from None
    if abs(value) > JAVA_LONG_MAX:
        raise WrongParameter("id")
    return value


@requires(ACCESS)
async def managers_list(request: web.Request, account: "Account") -> web.Response:
    """GET /managers"""
    cid = company_id(request.app[SIM], account)
    state = account.state
    return json_response([manager_json(m, state, cid) for m in sorted(state.managers.values(), key=lambda m: m.id)])


@requires(ACCESS)
async def managers_get(request: web.Request, account: "Account") -> web.Response:
    """GET /managers/{id}"""
    manager = account.state.managers.get(_manager_id(request))
    if manager is None:
        raise ObjectNotFound()
    return json_response(manager_json(manager, account.state, company_id(request.app[SIM], account)))


@requires(ACCESS)
async def managers_create(request: web.Request, account: "Account") -> web.Response:
    """POST /managers — a body's ``id`` is ignored."""
    body = ManagerBody.parse(await request.read())
    return json_response(save_manager(account.state, body, None))


@requires(ACCESS)
async def managers_update(request: web.Request, account: "Account") -> web.Response:
    """PUT /managers — ``id`` required (404 when missing or unknown)."""
    body = ManagerBody.parse(await request.read())
    if body.id is None:
        raise ObjectNotFound()
    return json_response(save_manager(account.state, body, body.id))


@requires(ACCESS)
async def managers_delete(request: web.Request, account: "Account") -> web.Response:
    """DELETE /managers/{id}"""
    if account.state.managers.pop(_manager_id(request), None) is None:
        raise ObjectNotFound()
    return web.Response(status=200)


# ---- blacklist ------------------------------------------------------------------------------

@requires(ACCESS)
async def blacklist_list(request: web.Request, account: "Account") -> web.Response:
    """GET /blacklist"""
    state = account.state
    ids = blacklist_ids(state)
    entries = sorted(state.blacklist.items(), key=lambda kv: ids[kv[0]])
    return json_response([blacklist_json(entry, ids[key]) for key, entry in entries])


@requires(ACCESS)
async def blacklist_add(request: web.Request, account: "Account") -> web.Response:
    """POST /blacklist — the bare number as the body (or ``?msisdn=``, as the table lists it)."""
    raw = (await request.read()).decode("utf-8", "replace")
    if not raw.strip():
        raw = request.query.get("msisdn", "")
        if not raw.strip():
            raise MissingParameter("msisdn", STRING)
    number = parse_msisdn(raw)
    if number is None:
        raise WrongParameter("msisdn")
    state = account.state
    if number in state.blacklist:
        return json_response(DUPLICATE_BLACK_LIST_NUMBER)
    state.blacklist[number] = BlacklistEntry(number=number, source="MANUAL",
                                             created_at=account.clock.timestamp())
    blacklist_ids(state)
    return json_response(SUCCESS)


@requires(ACCESS)
async def blacklist_delete(request: web.Request, account: "Account") -> web.Response:
    """DELETE /blacklist/by-msisdn/{msisdn} — SUCCESS also when the number was not listed."""
    number = request.match_info["msisdn"].strip().lstrip("+")
    account.state.blacklist.pop(number, None)
    blacklist_ids(account.state)
    return json_response(SUCCESS)


@requires(ACCESS)
async def blacklist_delete_all(request: web.Request, account: "Account") -> web.Response:
    """DELETE /blacklist/all"""
    account.state.blacklist.clear()
    blacklist_ids(account.state)
    return json_response(SUCCESS)


# (method, path under BASE, handler): the whole inventory; each path is served with and
# without a trailing slash
ROUTES = (
    ("PUT", "/authorization/refresh/token", refresh_token),
    ("GET", "/monitoring/calls", monitoring_calls),
    ("GET", "/monitoring/calls/pending", monitoring_pending),
    ("GET", "/employees", employees),
    ("POST", "/call/outgoing", call_outgoing),
    ("GET", "/statistics/common", statistics_common),
    ("GET", "/statistics/journal", statistics_journal),
    ("GET", "/statistics/missing", statistics_missing),
    ("GET", "/call-records/info", call_records_info),
    ("GET", "/call-records/file", call_records_file),
    ("GET", "/call-records/file/stt", call_records_stt),
    ("GET", "/managers", managers_list),
    ("POST", "/managers", managers_create),
    ("PUT", "/managers", managers_update),
    ("GET", "/managers/{id}", managers_get),
    ("DELETE", "/managers/{id}", managers_delete),
    ("GET", "/blacklist", blacklist_list),
    ("POST", "/blacklist", blacklist_add),
    ("DELETE", "/blacklist/all", blacklist_delete_all),
    ("DELETE", "/blacklist/by-msisdn/{msisdn}", blacklist_delete),
)


def add_routes(app: web.Application) -> None:
    by_path: dict[str, list] = {}
    for method, path, handler in ROUTES:
        by_path.setdefault(path, []).append((method, handler))
    for path, handlers in by_path.items():
        for variant in (BASE + path, BASE + path + "/"):
            resource = app.router.add_resource(variant)
            for method, handler in handlers:
                resource.add_route(method, handler)
