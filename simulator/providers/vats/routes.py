"""Every endpoint of the vats CRM API v1 under ``/crmapi/v1`` (seed 002 §4–§11), in seed order.

Handlers are thin: authenticate (``authorized``), parse with ``models``, change the account's
state or place a call through the engine, render. The endpoint inventory is in README.md.
"""

from __future__ import annotations

from aiohttp import web

from ...http import json_response
from ...core.accounts import Account
from ...core.numbers import route_settled, sim_settled
from ...core.recordings import mp3_bytes
from ...keys import SIM
from .auth import authorized
from .errors import NotFound, ValidationFailed
from .models import (
    BASE_PATH,
    GROUP_SEARCH,
    SIM_SEARCH,
    TELNUM_SEARCH,
    USER_SEARCH,
    GroupCreate,
    GroupMembersEdit,
    GroupUpdate,
    HistoryQuery,
    MakeCallIn,
    TelnumRouteIn,
    UserCreate,
    UserUpdate,
    add_blacklist,
    find_group,
    find_number,
    find_sim,
    find_user,
    history_csv_line,
    inner_csv_line,
    list_params,
    page,
    parse_blacklist,
    read_body,
    render_blacklist,
    render_group,
    render_history,
    render_inner,
    render_sim,
    render_telnum,
    render_user,
    user_by_ref,
)

routes = web.RouteTableDef()


def ok(data, status: int = 200) -> web.Response:
    return json_response(data, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


def csv(lines: list[str]) -> web.Response:
    text = "".join(line + "\n" for line in lines)
    return web.Response(text=text, content_type="text/csv", charset="utf-8")


# ---- 4. history ------------------------------------------------------------------------------

async def _history(request: web.Request, account: Account, inner: bool) -> tuple[HistoryQuery, str]:
    sim = request.app[SIM]
    params = await list_params(request)
    return HistoryQuery(params, account.clock.timestamp(), account.utc_offset, inner), sim.public_url


@routes.get(BASE_PATH + "/history/csv")
@authorized
async def history_csv(request: web.Request, account: Account) -> web.Response:
    query, base = await _history(request, account, inner=False)
    return csv([history_csv_line(account, cdr, base) for cdr in query.records(account)])


@routes.get(BASE_PATH + "/history/json")
@authorized
async def history_json(request: web.Request, account: Account) -> web.Response:
    query, base = await _history(request, account, inner=False)
    return ok([render_history(account, cdr, base) for cdr in query.records(account)])


@routes.get(BASE_PATH + "/history/inner/csv")
@authorized
async def history_inner_csv(request: web.Request, account: Account) -> web.Response:
    query, base = await _history(request, account, inner=True)
    return csv([inner_csv_line(account, cdr, base) for cdr in query.records(account)])


@routes.get(BASE_PATH + "/history/inner/json")
@authorized
async def history_inner_json(request: web.Request, account: Account) -> web.Response:
    query, base = await _history(request, account, inner=True)
    return ok([render_inner(account, cdr, base) for cdr in query.records(account)])


@routes.get(BASE_PATH + "/records/{callid}.mp3")
@authorized
async def recording(request: web.Request, account: Account) -> web.Response:
    """The ``link``/``record`` of a call: served with the same X-API-KEY (observed.md)."""
    cdr = account.state.cdrs.get(request.match_info["callid"])
    if cdr is None or not cdr.record_file:
        raise NotFound()
    return web.Response(body=mp3_bytes(cdr.talk_s), content_type="audio/mpeg",
                        headers={"Content-Disposition": f'attachment; filename="{cdr.id}.mp3"'})


# ---- 5. makecall -----------------------------------------------------------------------------

@routes.post(BASE_PATH + "/makecall")
@authorized
async def makecall(request: web.Request, account: Account) -> web.Response:
    body = MakeCallIn.parse(await read_body(request))
    emp = user_by_ref(account.state, body.user)
    if emp is None:
        raise NotFound()
    call = request.app[SIM].engine.click_to_call(account, emp, body.phone, None, clid=body.clid or "")
    return ok({"callid": call.id})


# ---- 6–7. users ------------------------------------------------------------------------------

@routes.get(BASE_PATH + "/users")
@authorized
async def users_list(request: web.Request, account: Account) -> web.Response:
    return page(await list_params(request), [render_user(e) for e in account.state.employees.values()],
                USER_SEARCH)


@routes.post(BASE_PATH + "/users")
@authorized
async def users_create(request: web.Request, account: Account) -> web.Response:
    emp = UserCreate.parse(await read_body(request)).create(account)
    return ok(render_user(emp))


@routes.get(BASE_PATH + "/users/{login}")
@authorized
async def users_get(request: web.Request, account: Account) -> web.Response:
    return ok(render_user(find_user(account.state, request.match_info["login"])))


@routes.put(BASE_PATH + "/users/{login}")
@authorized
async def users_update(request: web.Request, account: Account) -> web.Response:
    emp = find_user(account.state, request.match_info["login"])
    UserUpdate.parse(await read_body(request)).update(account.state, emp)
    return ok(render_user(emp))


@routes.delete(BASE_PATH + "/users/{login}")
@authorized
async def users_delete(request: web.Request, account: Account) -> web.Response:
    emp = find_user(account.state, request.match_info["login"])
    account.state.remove_employee(emp.id)
    return no_content()


@routes.get(BASE_PATH + "/users/{login}/groups")
@authorized
async def users_groups(request: web.Request, account: Account) -> web.Response:
    emp = find_user(account.state, request.match_info["login"])
    return ok([{"id": d.id, "name": d.name, "ext": d.ext} for d in account.state.departments_of(emp.id)])


def _memberships(request: web.Request, account: Account) -> list:
    """The user's membership in ``group_id``, or in every department without it."""
    state = account.state
    emp = find_user(state, request.match_info["login"])
    group_id = request.query.get("group_id")
    if group_id:
        member = find_group(state, group_id).member(emp.id)
        if member is None:
            raise NotFound()
        return [member]
    return [d.member(emp.id) for d in state.departments_of(emp.id)]


@routes.get(BASE_PATH + "/users/{login}/subscription")
@authorized
async def subscription_state(request: web.Request, account: Account) -> web.Response:
    return ok({"state": any(m.calls_enabled for m in _memberships(request, account))})


@routes.post(BASE_PATH + "/users/{login}/subscription")
@authorized
async def subscription_on(request: web.Request, account: Account) -> web.Response:
    for member in _memberships(request, account):
        member.calls_enabled = True
    return no_content()


@routes.delete(BASE_PATH + "/users/{login}/subscription")
@authorized
async def subscription_off(request: web.Request, account: Account) -> web.Response:
    for member in _memberships(request, account):
        member.calls_enabled = False
    return no_content()


@routes.get(BASE_PATH + "/users/{login}/dnd")
@authorized
async def dnd_state(request: web.Request, account: Account) -> web.Response:
    return ok({"state": find_user(account.state, request.match_info["login"]).dnd})


@routes.post(BASE_PATH + "/users/{login}/dnd")
@authorized
async def dnd_on(request: web.Request, account: Account) -> web.Response:
    find_user(account.state, request.match_info["login"]).dnd = True
    return no_content()


@routes.delete(BASE_PATH + "/users/{login}/dnd")
@authorized
async def dnd_off(request: web.Request, account: Account) -> web.Response:
    find_user(account.state, request.match_info["login"]).dnd = False
    return no_content()


# ---- 8. departments (groups) -----------------------------------------------------------------

@routes.get(BASE_PATH + "/groups")
@authorized
async def groups_list(request: web.Request, account: Account) -> web.Response:
    state = account.state
    return page(await list_params(request), [render_group(state, d) for d in state.departments.values()],
                GROUP_SEARCH)


@routes.post(BASE_PATH + "/groups")
@authorized
async def groups_create(request: web.Request, account: Account) -> web.Response:
    dept = GroupCreate.parse(await read_body(request)).create(account)
    return ok(render_group(account.state, dept))


@routes.get(BASE_PATH + "/groups/{groupId}")
@authorized
async def groups_get(request: web.Request, account: Account) -> web.Response:
    return ok(render_group(account.state, find_group(account.state, request.match_info["groupId"])))


@routes.put(BASE_PATH + "/groups/{groupId}")
@authorized
async def groups_update(request: web.Request, account: Account) -> web.Response:
    dept = find_group(account.state, request.match_info["groupId"])
    GroupUpdate.parse(await read_body(request)).update(account.state, dept)
    return ok(render_group(account.state, dept))


@routes.delete(BASE_PATH + "/groups/{groupId}")
@authorized
async def groups_delete(request: web.Request, account: Account) -> web.Response:
    dept = find_group(account.state, request.match_info["groupId"])
    del account.state.departments[dept.id]
    return no_content()


@routes.post(BASE_PATH + "/groups/{groupId}/users")
@authorized
async def groups_members(request: web.Request, account: Account) -> web.Response:
    dept = find_group(account.state, request.match_info["groupId"])
    GroupMembersEdit.parse(await read_body(request)).apply(account.state, dept)
    return no_content()


# ---- 9. company numbers (telnums) ------------------------------------------------------------

@routes.get(BASE_PATH + "/telnums")
@authorized
async def telnums_list(request: web.Request, account: Account) -> web.Response:
    return page(await list_params(request), [render_telnum(account, n) for n in account.state.numbers.values()],
                TELNUM_SEARCH)


@routes.get(BASE_PATH + "/telnums/{telnum}")
@authorized
async def telnums_get(request: web.Request, account: Account) -> web.Response:
    return ok(render_telnum(account, find_number(account.state, request.match_info["telnum"])))


@routes.post(BASE_PATH + "/telnums/{telnum}")
@authorized
async def telnums_route(request: web.Request, account: Account) -> web.Response:
    number = find_number(account.state, request.match_info["telnum"])
    number.route = TelnumRouteIn.parse(await read_body(request)).build(account, number)
    route_settled(account.state, number)   # routed to a user: it is that user's telnum
    return ok(render_telnum(account, number))


@routes.post(BASE_PATH + "/telnums/{telnum}/enabled")
@authorized
async def telnums_enable(request: web.Request, account: Account) -> web.Response:
    find_number(account.state, request.match_info["telnum"]).enabled = True
    return no_content()


@routes.delete(BASE_PATH + "/telnums/{telnum}/enabled")
@authorized
async def telnums_disable(request: web.Request, account: Account) -> web.Response:
    find_number(account.state, request.match_info["telnum"]).enabled = False
    return no_content()


# ---- 10. SIM cards ---------------------------------------------------------------------------

@routes.get(BASE_PATH + "/sims")
@authorized
async def sims_list(request: web.Request, account: Account) -> web.Response:
    state = account.state
    return page(await list_params(request), [render_sim(state, s) for s in state.sims.values()], SIM_SEARCH)


@routes.get(BASE_PATH + "/sims/{telnum}")
@authorized
async def sims_get(request: web.Request, account: Account) -> web.Response:
    return ok(render_sim(account.state, find_sim(account.state, request.match_info["telnum"])))


@routes.post(BASE_PATH + "/sims/{telnum}/user/{login}")
@authorized
async def sims_assign_user(request: web.Request, account: Account) -> web.Response:
    sim = find_sim(account.state, request.match_info["telnum"])
    emp = find_user(account.state, request.match_info["login"])
    sim.state, sim.employee_id = "user", emp.id
    sim_settled(account.state, sim)        # the SIM's number is its user's mobile
    return no_content()


@routes.post(BASE_PATH + "/sims/{telnum}/company")
@authorized
async def sims_company(request: web.Request, account: Account) -> web.Response:
    sim = find_sim(account.state, request.match_info["telnum"])
    sim.state, sim.employee_id = "company", None
    return no_content()


@routes.post(BASE_PATH + "/sims/{telnum}/disable")
@authorized
async def sims_disable(request: web.Request, account: Account) -> web.Response:
    find_sim(account.state, request.match_info["telnum"]).state = "disabled"
    return no_content()


@routes.delete(BASE_PATH + "/sims/{telnum}")
@authorized
async def sims_delete(request: web.Request, account: Account) -> web.Response:
    sim = find_sim(account.state, request.match_info["telnum"])
    del account.state.sims[sim.number]
    return no_content()


# ---- 11. blacklist ---------------------------------------------------------------------------

@routes.get(BASE_PATH + "/blacklist/telnums")
@authorized
async def blacklist_list(request: web.Request, account: Account) -> web.Response:
    with_ = (await list_params(request)).get("with", "")
    if with_ not in ("", "statistics"):
        raise ValidationFailed.field("with", "must be statistics")
    now = account.clock.timestamp()
    return ok([render_blacklist(e, now, with_ == "statistics") for e in account.state.blacklist.values()])


@routes.post(BASE_PATH + "/blacklist/telnums")
@authorized
async def blacklist_add(request: web.Request, account: Account) -> web.Response:
    items = parse_blacklist(await read_body(request))
    add_blacklist(account.state, items, account.clock.timestamp())
    return no_content()


@routes.delete(BASE_PATH + "/blacklist/telnums")
@authorized
async def blacklist_delete(request: web.Request, account: Account) -> web.Response:
    numbers = request.query.getall("telnum", []) + request.query.getall("telnum[]", [])
    if not numbers:
        # documented as repeated query parameters; a JSON body {"telnum": [...]} is accepted too
        body = await read_body(request)
        given = body.get("telnum", []) if isinstance(body, dict) else body
        numbers = [given] if isinstance(given, (str, int)) else given if isinstance(given, list) else []
    numbers = [str(n).strip() for n in numbers if isinstance(n, (str, int)) and str(n).strip()]
    if not numbers:
        raise ValidationFailed.field("telnum", "Field required")
    for number in numbers:   # numbers not in the list are ignored: the delete is idempotent
        account.state.blacklist.pop(number.lstrip("+"), None)
    return no_content()


@routes.get(BASE_PATH + "/blacklist/block-anonymous")
@authorized
async def block_anonymous_state(request: web.Request, account: Account) -> web.Response:
    return ok({"state": account.state.block_anonymous})


@routes.post(BASE_PATH + "/blacklist/block-anonymous")
@authorized
async def block_anonymous_on(request: web.Request, account: Account) -> web.Response:
    account.state.block_anonymous = True
    return no_content()


@routes.delete(BASE_PATH + "/blacklist/block-anonymous")
@authorized
async def block_anonymous_off(request: web.Request, account: Account) -> web.Response:
    account.state.block_anonymous = False
    return no_content()
