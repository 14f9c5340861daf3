"""The admin API under ``/_sim``: what the CLI, the pytest plugin and CI drive."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import assets
from ..body import BodyError, read_json
from ..config import HTTP_URL, AccountConfig, ConfigError, CrmTarget
from ..core.clock import parse_duration
from ..core.engine import Call, CallScript, Conference, Hold, Transfer
from ..core.handset import CallActionError
from ..core.recordings import mp3_bytes
from ..sim import SIM, AccountNotFound, Simulator, iso

routes = web.RouteTableDef()

# The largest history POST /_sim/accounts generates while the request waits (about ten seconds
# here; the server stays responsive, the history runs in a worker thread). The configuration
# file, generated at start, takes up to GenerateSeed's 2,000,000.
ADMIN_MAX_GENERATED_CALLS = 50_000


def _sim(request: web.Request) -> Simulator:
    return request.app[SIM]


def _error(status: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def _json_body(request: web.Request) -> dict:
    try:
        body = await read_json(request, empty={})
    except BodyError as err:
        raise web.HTTPBadRequest(text=json.dumps({"error": str(err), "field": err.field}),
                                 content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                 content_type="application/json")
    return body


def wants_secrets(request: web.Request) -> bool:
    """``?secrets=1``: credentials and CRM tokens in full (masked otherwise: an account list
    pasted into a ticket or a CI log gives nothing away)."""
    return request.query.get("secrets", "").lower() in ("1", "true", "yes")


def _validation_message(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors())


def _account(request: web.Request, key: str = "id"):
    try:
        return _sim(request).account(request.match_info[key])
    except AccountNotFound:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no account {request.match_info[key]!r}"}),
                               content_type="application/json") from None


# ---- health ----------------------------------------------------------------------------------

@routes.get("/_sim/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).health())


# ---- accounts --------------------------------------------------------------------------------

@routes.get("/_sim/accounts")
async def list_accounts(request: web.Request) -> web.Response:
    secrets = wants_secrets(request)
    return web.json_response([a.public(secrets) for a in _sim(request).accounts.values()])


@routes.post("/_sim/accounts")
async def create_account(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        cfg = AccountConfig.model_validate(body)
    except ValidationError as err:
        return _error(400, _validation_message(err))
    if cfg.seed.generate.calls > ADMIN_MAX_GENERATED_CALLS:
        return _error(400, f"seed.generate.calls: at most {ADMIN_MAX_GENERATED_CALLS:,} through the admin API "
                           f"(a history of {cfg.seed.generate.calls:,} calls takes minutes to generate); "
                           "give larger ones in the configuration file, generated at start", field="seed.generate.calls")
    try:
        account = await _sim(request).add_account(cfg)
    except ConfigError as err:
        return _error(409 if "exists" in str(err) else 400, str(err))
    return web.json_response(account.public(wants_secrets(request)), status=201)


@routes.get("/_sim/accounts/{id}")
async def get_account(request: web.Request) -> web.Response:
    return web.json_response(_account(request).public(wants_secrets(request)))


class _CrmPatch(BaseModel):
    """CrmTarget's fields, each optional; null puts one back to its default."""
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    crm_token: str | None = None
    encoding: str | None = Field(None, pattern="^(json|form)$")
    timeout: float | None = Field(None, gt=0, le=120)
    retries: int | None = Field(None, ge=0, le=10)
    lookup_url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    events_url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    utm_url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    headers: dict[str, str] | None = Field(None, json_schema_extra={
        k: v for k, v in CrmTarget.model_json_schema()["properties"]["headers"].items() if k in ("propertyNames", "additionalProperties")})
    auth: str | None = Field(None, pattern="^(basic|bearer)$")
    auth_user: str | None = None


class _AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    domain: str | None = None
    crm: _CrmPatch | None = None
    switches: dict | None = None
    settings: dict | None = None
    strict: Literal["warn", "reject", "off"] | None = Field(
        None, description="strict mode: check each request against the provider's OpenAPI document")


@routes.patch("/_sim/accounts/{id}")
async def patch_account(request: web.Request) -> web.Response:
    account = _account(request)
    body = await _json_body(request)
    try:
        patch = _AccountPatch.model_validate(body)
        if patch.crm is not None:
            merged = account.crm.model_dump()
            changes = patch.crm.model_dump(exclude_unset=True)
            for name, value in changes.items():
                if value is None:      # null: back to the default (no extra headers, 3 s, …)
                    changes[name] = CrmTarget.model_fields[name].get_default(call_default_factory=True)
            merged.update(changes)
            crm = CrmTarget.model_validate(merged)
        else:
            crm = account.crm
    except ValidationError as err:
        return _error(400, _validation_message(err))
    sim = _sim(request)
    problem = sim.providers[account.provider].crm_problem(crm)
    if problem:
        return _error(400, problem)
    if patch.name is not None:
        account.name = patch.name
    if patch.domain is not None:
        account.domain = patch.domain
    account.crm = crm
    for url in (crm.url, crm.lookup_url, crm.events_url, crm.utm_url):
        if url:
            sim.webhooks.allowed_urls.add(url)
    if patch.switches is not None:
        account.switches.update(patch.switches)
    if patch.settings is not None:
        account.settings.update(patch.settings)
    if patch.strict is not None:
        account.switches["strict"] = None if patch.strict == "off" else patch.strict
        sim.refresh_strict()
    return web.json_response(account.public(wants_secrets(request)))


@routes.post("/_sim/accounts/{id}/credentials/regenerate")
async def regenerate(request: web.Request) -> web.Response:
    account = _account(request)
    creds = _sim(request).regenerate(account.id)
    return web.json_response({"id": account.id, "credentials": creds})


@routes.get("/_sim/accounts/{id}/state")
async def account_state(request: web.Request) -> web.Response:
    account = _account(request)
    limit = request.query.get("cdr_limit")
    try:
        cdr_limit = int(limit) if limit is not None else 100
    except ValueError:
        return _error(400, "cdr_limit must be a number")
    return web.json_response({"id": account.id, "provider": account.provider,
                              **account.state.to_json(cdr_limit=cdr_limit)})


# ---- clock -----------------------------------------------------------------------------------

def _clock(sim: Simulator, account: object):
    """The server clock, or with ``account`` that account's own (an offset over the server's)."""
    if account is None:
        return sim.clock
    if not isinstance(account, str) or account not in sim.accounts:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no account {account!r}"}),
                               content_type="application/json")
    return sim.account_clock(account)


def _clock_json(clock, account: str | None) -> dict:
    return clock.snapshot() if account is None else {**clock.snapshot(), "account": account}


@routes.get("/_sim/clock")
async def get_clock(request: web.Request) -> web.Response:
    account = request.query.get("account") or None
    return web.json_response(_clock_json(_clock(_sim(request), account), account))


@routes.post("/_sim/clock")
async def move_clock(request: web.Request) -> web.Response:
    body = await _json_body(request)
    account = body.get("account")
    clock = _clock(_sim(request), account)
    try:
        if "advance" in body:
            await clock.advance(parse_duration(body["advance"]))
        elif "set" in body:
            when = datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00"))
            await clock.set(when)
        else:
            return _error(400, "give {\"advance\": seconds | \"25h\"} or {\"set\": ISO-8601}"
                          " (and \"account\" to move that account's time alone)")
    except (ValueError, TypeError, OverflowError) as err:
        return _error(400, str(err))
    return web.json_response(_clock_json(clock, account))


# ---- reset, journals -------------------------------------------------------------------------

@routes.post("/_sim/reset")
async def reset(request: web.Request) -> web.Response:
    sim = _sim(request)
    account = request.query.get("account")
    if account and account not in sim.accounts:
        return _error(404, f"no account {account!r}")
    ids = await sim.reset(account or None)
    return web.json_response({"reset": ids})


def _limit(request: web.Request, default: int = 100) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return default
    try:
        return max(0, int(raw))
    except ValueError:
        raise web.HTTPBadRequest(text=json.dumps({"error": "limit must be a number"}),
                                 content_type="application/json") from None


@routes.get("/_sim/requests")
async def requests_journal(request: web.Request) -> web.Response:
    entries = _sim(request).requests.entries(request.query.get("account") or None, _limit(request))
    return web.json_response([e.to_json() for e in entries])


@routes.get("/_sim/webhooks")
async def webhook_journal(request: web.Request) -> web.Response:
    sim = _sim(request)
    entries = sim.webhook_journal.entries(request.query.get("account") or None,
                                          request.query.get("call") or None,
                                          request.query.get("hook") or None, _limit(request, 1000))
    return web.json_response([e.to_json() for e in entries])


@routes.get("/_sim/webhooks/dead")
async def dead_letters(request: web.Request) -> web.Response:
    """Webhooks that failed every attempt (their last attempt), until a resend is delivered."""
    sim = _sim(request)
    entries = sim.webhook_journal.dead_letters(request.query.get("account") or None,
                                               request.query.get("hook") or None, _limit(request, 1000))
    return web.json_response([e.to_json() for e in entries])


@routes.post("/_sim/webhooks/{id}/resend")
async def resend_webhook(request: web.Request) -> web.Response:
    """Send a journaled webhook again (same URL, headers, body): a new attempt, journaled."""
    sim = _sim(request)
    raw = request.match_info["id"]
    entry = sim.webhook_journal.get(int(raw)) if raw.isdigit() and len(raw) < 19 else None
    if entry is None:
        return _error(404, f"no webhook attempt {raw!r} in the journal")
    try:
        again = await sim.webhooks.resend(entry)
    except LookupError as err:
        return _error(409, str(err))
    return web.json_response(again.to_json())


@routes.post("/_sim/webhooks/drain")
async def webhook_drain(request: web.Request) -> web.Response:
    sim = _sim(request)
    try:
        timeout = float(request.query.get("timeout", "10"))
    except ValueError:
        return _error(400, "timeout must be a number of seconds")
    if not 0 <= timeout <= 600:
        return _error(400, "timeout must be between 0 and 600 seconds")
    done = await sim.webhooks.drain(timeout)
    return web.json_response({"drained": done, **sim.webhooks.stats, "pending": sim.webhooks.pending})


# ---- calls -----------------------------------------------------------------------------------

def call_json(call: Call) -> dict:
    return {
        "call_id": call.id, "account": call.account_id, "direction": call.direction,
        "from": call.caller, "to": call.callee, "client": call.client, "trunk": call.trunk,
        "state": call.state, "outcome": call.outcome, "employee_id": call.employee_id,
        "department_id": call.department_id, "created_at": iso(call.created_at),
        "answered_at": iso(call.answered_at) if call.answered_at else None,
        "ended_at": iso(call.ended_at) if call.ended_at else None,
        "legs": [{"id": leg.id, "kind": leg.kind, "number": leg.number, "employee_id": leg.employee_id,
                  "parent_id": leg.parent_id, "result": leg.result, "rang_at": iso(leg.rang_at),
                  "answered_at": iso(leg.answered_at) if leg.answered_at is not None else None,
                  "ended_at": iso(leg.ended_at) if leg.ended_at is not None else None} for leg in call.legs],
        "on_hold": call.on_hold,
        "manual": call.script.manual,
        # a manual call waiting for a person: the actions it takes now (answer / transfer)
        "waiting_for": list(call.handset.expects) if call.handset is not None else [],
    }


def cdr_json(cdr, account: str | None = None) -> dict:
    data = dataclasses.asdict(cdr)
    if account is not None:
        data["account"] = account
    data.update(call_id=cdr.id, wait_s=cdr.wait_s, talk_s=cdr.talk_s, duration_s=cdr.duration_s,
                started=iso(cdr.started_at), ended=iso(cdr.ended_at))
    return data


class _HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_s: float = Field(10.0, ge=0, le=86400)
    hold_s: float = Field(20.0, ge=0, le=86400)


class _ConferenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    with_: str = Field(alias="with", description="employee (login, ext) or an outside number")
    after_s: float = Field(10.0, ge=0, le=86400)


class _TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(description="the employee (login, ext, id or number) the call goes to")
    after_s: float = Field(10.0, ge=0, le=86400, description="seconds into the conversation")


class _CallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    account: str
    direction: str = Field(pattern="^(in|out|internal)$")
    from_: str = Field("", alias="from")
    to: str
    employee: str | None = None
    outcome: str | None = Field(None, pattern="^(answered|missed|cancelled|busy|unavailable|forbidden|not_found"
                                              "|congestion|max_sessions|not_in_white_list|only_internal)$")
    answer: str | None = None
    ring_s: float | None = Field(None, ge=0, le=3600)
    talk_s: float | None = Field(None, ge=0, le=86400)
    hangup: str | None = Field(None, pattern="^(A|B)$")
    transfers: list[_TransferRequest] = Field(default_factory=list)
    ivr: str | None = None
    rating: int | None = Field(None, ge=1, le=5)
    record: bool | None = None
    utm: dict | None = None
    click_to_call: bool = False
    manual: bool = False
    holds: list[_HoldRequest] = Field(default_factory=list, description="the client put on hold during the talk")
    pickup: str | None = Field(None, description="the employee who picks the ringing call up (at ring_s)")
    conference: list[_ConferenceRequest] = Field(default_factory=list,
                                                 description="a third party joins the conversation")
    queue_s: float | None = Field(None, ge=0, le=3600, description="seconds in the department's queue first")


@routes.post("/_sim/calls")
async def place_call(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        req = _CallRequest.model_validate(body)
    except ValidationError as err:
        return _error(400, _validation_message(err))
    transfers = [Transfer(t.to, t.after_s) for t in req.transfers]
    sim = _sim(request)
    if req.account not in sim.accounts:
        return _error(404, f"no account {req.account!r}")
    if req.manual and req.click_to_call:
        return _error(400, "a manual call is dialled from a phone: click_to_call cannot be manual")
    script = CallScript(outcome=req.outcome, answer=req.answer, ring_s=req.ring_s, talk_s=req.talk_s,
                        hangup=req.hangup, transfers=transfers, ivr=req.ivr, rating=req.rating,
                        record=req.record, utm=req.utm, manual=req.manual,
                        holds=[Hold(h.after_s, h.hold_s) for h in req.holds], pickup=req.pickup,
                        conference=[Conference(c.with_, c.after_s) for c in req.conference], queue_s=req.queue_s)
    try:
        call = sim.place_call(req.account, req.direction, req.from_, req.to, req.employee, script,
                              click_to_call=req.click_to_call)
    except ValueError as err:
        return _error(400, str(err))
    return web.json_response({"call_id": call.id}, status=201)


@routes.get("/_sim/calls")
async def list_calls(request: web.Request) -> web.Response:
    sim = _sim(request)
    account = request.query.get("account") or None
    if account and account not in sim.accounts:
        return _error(404, f"no account {account!r}")
    if request.query.get("live") in ("1", "true", "yes"):
        return web.json_response([call_json(c) for c in sim.engine.live_calls(account)])
    out = []
    limit = _limit(request, 100)
    for acc in ([sim.account(account)] if account else sim.accounts.values()):
        out.extend(cdr_json(c, acc.id) for c in acc.state.cdrs.window()[-limit:] if limit)
    return web.json_response(out)


class _CallAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = None
    by: str | None = None          # who acts: an employee (ext, login, id, number) or "client"
    side: str | None = Field(None, pattern="^(A|B)$")   # hang-up: the caller (A) or callee (B)
    to: str | None = None          # transfer: the employee the call goes to
    on: bool = True                # hold: on hold (true) or off it (false)


async def _action(request: web.Request) -> tuple[Simulator, Call, _CallAction] | web.Response:
    """The live call a call action names and what the body (or, for hang-up, the query) says."""
    sim = _sim(request)
    body = await _json_body(request)
    for key in ("account", "side", "by"):
        if key in request.query and key not in body:
            body[key] = request.query[key]
    try:
        action = _CallAction.model_validate(body)
    except ValidationError as err:
        return _error(400, _validation_message(err))
    if action.account and action.account not in sim.accounts:
        return _error(404, f"no account {action.account!r}")
    call = sim.engine.find_live(action.account, request.match_info["call_id"])
    if call is None:
        return _error(404, "no such live call")
    return sim, call, action


def _side(sim: Simulator, call: Call, by: str) -> str | None:
    """Which side (A caller, B callee) the party ``by`` is on ``call``; None if on neither."""
    if by == "client":
        return {"in": "A", "out": "B"}.get(call.direction)
    emp = sim.account(call.account_id).state.find_employee(by)
    if emp is None:
        return None
    if call.direction == "internal":
        return "A" if emp.ext == call.caller else "B"
    if call.direction == "out":
        return "A" if emp.id == call.employee_id or emp.ext == call.caller else "B"
    return "B"


@routes.post("/_sim/calls/{call_id}/hangup")
async def hangup_call(request: web.Request) -> web.Response:
    found = await _action(request)
    if isinstance(found, web.Response):
        return found
    sim, call, action = found
    side = action.side or "B"
    if action.by and not action.side:
        side = _side(sim, call, action.by)
        if side is None:
            return _error(409, f"{action.by!r} is not a party of this call")
    await sim.engine.hangup(call.account_id, call.id, side)
    return web.json_response({"call_id": call.id, "state": "ended", "hangup_side": side})


async def _act(request: web.Request, name: str) -> web.Response:
    found = await _action(request)
    if isinstance(found, web.Response):
        return found
    sim, call, action = found
    if name == "transfer" and not action.to:
        return _error(400, "to: name the employee the call goes to")
    try:
        call = await sim.engine.act(call.account_id, call.id, name, action.by,
                                    **({"to": action.to} if action.to else {}))
    except CallActionError as err:
        return _error(err.status, str(err))
    return web.json_response(call_json(call))


@routes.post("/_sim/calls/{call_id}/hold")
async def hold_call(request: web.Request) -> web.Response:
    """Put an answered call on hold or take it off (any live call: the engine's own hold)."""
    found = await _action(request)
    if isinstance(found, web.Response):
        return found
    sim, call, action = found
    if action.by and _side(sim, call, action.by) is None:
        return _error(409, f"{action.by!r} is not a party of this call")
    if call.answered_at is None:
        return _error(409, f"the call is not answered yet (state {call.state}): nothing to hold")
    if not sim.engine.hold(call.account_id, call.id, action.on):
        return _error(409, "the call is on hold already" if action.on else "the call is not on hold")
    return web.json_response(call_json(call))


@routes.post("/_sim/calls/{call_id}/answer")
async def answer_call(request: web.Request) -> web.Response:
    return await _act(request, "answer")


@routes.post("/_sim/calls/{call_id}/transfer")
async def transfer_call(request: web.Request) -> web.Response:
    return await _act(request, "transfer")


@routes.get("/_sim/calls/{call_id}/recording")
async def call_recording(request: web.Request) -> web.Response:
    """A finished call's recording: the MP3 its provider serves for it."""
    sim = _sim(request)
    account = request.query.get("account", "")
    if account not in sim.accounts:
        return _error(404, f"no account {account!r}")
    cdr = sim.account(account).state.cdrs.get(request.match_info["call_id"])
    if cdr is None or not cdr.record_file:
        return _error(404, "no recording of such a call")
    return web.Response(body=mp3_bytes(cdr.talk_s), content_type="audio/mpeg",
                        headers={"Content-Disposition": f'inline; filename="{cdr.id}.mp3"'})


# ---- OpenAPI documents -----------------------------------------------------------------------

@routes.get(r"/_sim/openapi/{name:[A-Za-z0-9_-]+}.json")
async def openapi_document(request: web.Request) -> web.Response:
    """``schemas/openapi/{name}.json``: ``admin`` (this API) and the providers' documents."""
    name = request.match_info["name"]
    if name not in assets.openapi_names(request.app[SIM].providers):
        return _error(404, f"no OpenAPI document {name!r}")
    return web.Response(body=assets.openapi_document(name), content_type="application/json", charset="utf-8")
