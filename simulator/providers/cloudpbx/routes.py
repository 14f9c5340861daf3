"""``/sys/crm_api.wcgp``: one endpoint, one function per command (``COMMANDS`` below).

GET (query string) and POST (form fields) are both accepted for every command; ``cmd`` is
matched case-insensitively. The recording links the PBX hands out are served here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from aiohttp import web


from ...core.recordings import mp3_bytes
from ...http import ACCOUNT_KEY, json_response
from ...keys import SIM
from .auth import PROVIDER_ID, authenticate, record_key_valid
from .errors import CloudPbxError, InvalidParameters, InvalidToken, RecordingNotFound
from .models import (
    BASE_PATH,
    RECORD_PATH,
    employee_json,
    group_json,
    group_param,
    history_query,
    history_rows,
    phone_param,
    read_params,
    switch_param,
    user_param,
)

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...sim import Simulator

Params = dict[str, str]


def ok() -> web.Response:
    return web.Response(text="OK", content_type="text/plain")


# ---- commands ---------------------------------------------------------------------------------

async def accounts(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    employees = sorted(account.state.employees.values(), key=lambda e: e.id)
    return json_response([employee_json(e) for e in employees])


async def groups(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    state = account.state
    if params.get("user", "").strip():
        depts = state.departments_of(user_param(state, params).id)
    else:
        depts = list(state.departments.values())
    return json_response([group_json(d) for d in depts])


async def make_call(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    employee = user_param(account.state, params)
    phone = phone_param(params)
    call = sim.engine.click_to_call(account, employee, phone)
    return json_response({"CallID": call.id})


async def history(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    query = history_query(params, account.clock.timestamp(), account.utc_offset)
    lines = list(history_rows(account, query, sim.public_url))
    body = "".join(line + "\n" for line in lines)
    return web.Response(text=body, content_type="text/csv", charset="utf-8")


async def subscribe_on_calls(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    state = account.state
    employee = user_param(state, params)
    dept = group_param(state, params, employee, needed=False)
    enabled = switch_param(params, "status", "on", "off")
    # without group_id the employee is switched in every department they belong to
    for d in [dept] if dept is not None else state.departments_of(employee.id):
        d.member(employee.id).calls_enabled = enabled
    return ok()


async def subscription_status(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    state = account.state
    employee = user_param(state, params)
    dept = group_param(state, params, employee, needed=True)
    return json_response({"status": "on" if dept.member(employee.id).calls_enabled else "off"})


async def set_dnd(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    employee = user_param(account.state, params)
    employee.dnd = switch_param(params, "state", "true", "false")
    return ok()


async def get_dnd(sim: "Simulator", account: "Account", params: Params) -> web.Response:
    employee = user_param(account.state, params)
    return json_response({"state": employee.dnd})


Command = Callable[["Simulator", "Account", Params], Awaitable[web.Response]]

# lower-cased cmd → function; the document spells two commands two ways, both are accepted
COMMANDS: dict[str, Command] = {
    "accounts": accounts,
    "groups": groups,
    "makecall": make_call,
    "history": history,
    "subscribeoncalls": subscribe_on_calls,
    "subscriptionstatus": subscription_status,
    "subscribtionstatus": subscription_status,
    "set_dnd": set_dnd,
    "get_dnd": get_dnd,
}


# ---- HTTP -------------------------------------------------------------------------------------

async def crm_api(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    try:
        params = await read_params(request)
        account = authenticate(sim, params)
        request[ACCOUNT_KEY] = account
        command = COMMANDS.get(params.get("cmd", "").strip().lower())
        if command is None:
            raise InvalidParameters("cmd")
        return await command(sim, account, params)
    except CloudPbxError as err:
        return err.response()


async def recording(request: web.Request) -> web.Response:
    """A recording link from a webhook or the history CSV: the call's MP3."""
    sim = request.app[SIM]
    call_id = request.match_info["call_id"]
    try:
        for account in sim.accounts_of(PROVIDER_ID):
            cdr = account.state.cdrs.get(call_id)
            if cdr is None:
                continue
            request[ACCOUNT_KEY] = account
            if not record_key_valid(account, call_id, request.query.get("key", "")):
                raise InvalidToken()
            if not cdr.record_file:
                raise RecordingNotFound()
            return web.Response(body=mp3_bytes(cdr.talk_s), content_type="audio/mpeg")
        raise RecordingNotFound()
    except CloudPbxError as err:
        return err.response()


def setup(app: web.Application) -> None:
    app.router.add_get(BASE_PATH, crm_api)
    app.router.add_post(BASE_PATH, crm_api)
    app.router.add_get(RECORD_PATH.replace("{call_id}", "{call_id:[0-9A-Za-z_-]+}"), recording)
