"""Regenerate schemas/openapi/admin.json (the admin API's OpenAPI 3.1 document).

    .venv/bin/python schemas/openapi/make_admin.py

Request and record schemas come from the code (pydantic models and the domain dataclasses);
paths, responses and the admin-only shapes are written here. tests/test_admin_openapi.py
checks that every /_sim route is documented and that real answers validate.
"""
import json
import sys
from pathlib import Path
from pydantic import TypeAdapter
from simulator.config import AccountConfig
from simulator.admin.routes import _CallRequest, _AccountPatch
from simulator.core.models import (Employee, Department, CompanyNumber, SimCard, BlacklistEntry,
    PersonalManager, Contact, CallRecord)
from simulator.core.faults import FaultSpec
from simulator.verify import VerifySpec
from simulator.core.webhooks import WebhookAttempt
from simulator.journal import RequestEntry
from simulator.scenarios.report import ScenarioReport

REF = "#/components/schemas/{model}"
components = {}

def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node

def add(name, schema):
    schema = strip(schema)
    for k, v in schema.pop("$defs", {}).items():
        components.setdefault(k, v)
    if "$ref" in schema and len(schema) == 1:
        return
    components[name] = schema

add("AccountConfig", AccountConfig.model_json_schema(ref_template=REF))
add("AccountPatch", _AccountPatch.model_json_schema(ref_template=REF))
add("CallRequest", _CallRequest.model_json_schema(ref_template=REF, by_alias=True))
add("FaultSpec", FaultSpec.model_json_schema(ref_template=REF, by_alias=True))
add("VerifySpec", VerifySpec.model_json_schema(ref_template=REF))
for model in (Employee, Department, CompanyNumber, SimCard, BlacklistEntry, PersonalManager, Contact,
              CallRecord, WebhookAttempt, RequestEntry, ScenarioReport):
    add(model.__name__, TypeAdapter(model).json_schema(ref_template=REF))
# the journal keeps simulator time as epoch seconds; to_json writes it as ISO-8601
components["RequestEntry"]["properties"]["at"] = {"type": "string", "format": "date-time"}
# ``ended`` (the access line's clock) stays inside the server: to_json leaves it out
del components["RequestEntry"]["properties"]["ended"]
# pydantic names the nested patch model _CrmPatch
if "_CrmPatch" in components:
    components["CrmPatch"] = components.pop("_CrmPatch")
# what the models' validators add to their schemas: one of two fields
def one_of(*names):
    return [{"required": [n], "properties": {n: {"not": {"type": "null"}}}} for n in names]


def given(n):
    return {"required": [n], "properties": {n: {"not": {"type": "null"}}}}


def absent(n):
    return {"properties": {n: {"type": "null"}}}


def on(n):
    return {"required": [n], "properties": {n: {"const": True}}}


# durations (simulator.core.clock.parse_duration): seconds ≥ 0 or a number with a unit
# (at most 200 years: up to four digits before a unit, whatever the unit, stays below it)
from simulator.core.faults import MAX_DURATION_S
DURATION = "^ *[0-9]{1,4}(\\.[0-9]+)? *(ms|s|m|h|d|w)? *$"
for name in ("latency", "delay", "for"):
    components["FaultSpec"]["properties"][name] = {
        **{k: v for k, v in components["FaultSpec"]["properties"][name].items() if k in ("description", "default")},
        "anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_DURATION_S}, {"type": "string", "pattern": DURATION},
                  {"type": "null"}]}
# Respond._one: exactly one of status, error, reset, timeout; a body only with a status
components["Respond"]["oneOf"] = [given("status"), given("error"), on("reset"), on("timeout")]
components["Respond"]["allOf"] = [{"if": given("body"), "then": given("status")}]
# RateLimit: a window longer than zero, and at most 200 years as every duration
components["RateLimit"]["properties"]["window"] = {
    "anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION_S},
              {"type": "string", "pattern": "^ *0*([1-9][0-9]{0,3}(\\.[0-9]+)?|0\\.[0-9]*[1-9][0-9]*) *(ms|s|m|h|d|w)? *$"}],
    "description": "seconds or e.g. '1s', '1m'; longer than zero, at most 200 years"}
# FaultSpec._kind: an API fault (match + respond, rate_limit or a latency) or a webhook fault
# (webhook + action; delay only with delay/reorder)
components["FaultSpec"]["oneOf"] = [
    {"title": "API fault", "allOf": [given("match"), absent("webhook"), absent("action"), absent("delay"),
                                     {"not": {"allOf": [given("respond"), given("rate_limit")]}},
                                     {"anyOf": [given("respond"), given("rate_limit"),
                                                {"required": ["latency"], "properties": {"latency": {
                                                    "anyOf": [{"type": "number", "exclusiveMinimum": 0},
                                                              {"type": "string", "pattern": "[1-9]"}]}}}]}]},
    {"title": "webhook fault", "allOf": [given("webhook"), given("action"), absent("match"), absent("respond"),
                                         absent("rate_limit"), absent("latency"),
                                         {"if": given("delay"), "then": {"properties": {"action": {"enum": ["delay", "reorder"]}}}}]}]
components["VerifySpec"]["oneOf"] = one_of("webhooks", "requests")
text = json.dumps(components).replace("#/components/schemas/_CrmPatch", "#/components/schemas/CrmPatch")
components = json.loads(text)

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def nullable(t): return {"type": [t, "null"]}
obj = lambda props, required=(), extra=True, **kw: {"type": "object", "properties": props,
        "required": list(required), **({} if extra else {"additionalProperties": False}), **kw}

components.update({
    "Error": obj({"error": {"type": "string", "description": "what is wrong, for a person"},
                  "field": {"type": "string", "description": "the body field refused (dotted: `crm.timeout`), or `body`"}}, ["error"],
                 description="An admin API error (other fields may name details)."),
    "HttpError": obj({"status": {"type": "integer"}, "error": {"type": "string"}, "path": {"type": "string"}},
                     ["status", "error", "path"], description="The server's own 400 / 404 / 405 / 413 body (400: a request no check foresaw; the log has the detail)."),
    "Clock": obj({"now": {"type": "string", "format": "date-time"},
                  "mode": {"type": "string", "pattern": "^(real|manual|instant|scale:.+)$"},
                  "account": {"type": "string", "description": "with ?account= / \"account\": whose time this is"},
                  "offset_s": {"type": "number", "description": "with an account: how far its time is from the server's"}},
                 ["now", "mode"]),
    "ClockMove": {"type": "object", "anyOf": [{"required": ["advance"]}, {"required": ["set"]}], "description": "Give `advance` (seconds or a duration like \"25h\", \"90s\", \"2d\") or `set` (ISO-8601); with `account`, only that account's time moves (its tokens, sessions, periods and calls), else the whole server's.",
                  "properties": {"advance": {"type": ["number", "string"], "examples": [90, "25h"],
                                             "pattern": "^ *[0-9]+(\\.[0-9]+)? *(ms|s|m|h|d|w)? *$",
                                             "description": "seconds, or a number with ms/s/m/h/d/w; the clock after the move must be in 1970-01-02 … 3000-01-01 (else 400, nothing moves)"},
                                 "set": {"type": "string", "examples": ["2026-01-15T09:00:00Z"]},
                                 "account": {"type": "string", "examples": ["t2"]}}},
    "Fault": obj({**components["FaultSpec"]["properties"],
        "id": {"type": "string"}, "kind": {"enum": ["status", "error", "reset", "timeout", "latency", "rate_limit",
                                                    "drop", "duplicate", "delay", "reorder"]},
        "provider": ref("Provider"), "used": {"type": "integer", "minimum": 0, "description": "injections so far"},
        "added_at": {"type": "string", "format": "date-time", "description": "on the account's clock"},
        "expires_at": {"type": ["string", "null"], "format": "date-time", "description": "with `for`"},
        "remaining": nullable("integer")},
        ["id", "kind", "provider", "account", "probability", "used", "added_at", "expires_at", "remaining"],
        description="A fault as added (durations in seconds), with what it did so far. It is gone once `times` are used or `for` is over."),
    "NamedError": obj({"provider": ref("Provider"), "name": {"type": "string"}, "status": {"type": "integer"},
                       "content_type": {"type": "string"},
                       "body": {"description": "the wire body: JSON, or text for a text answer"}},
                      ["provider", "name", "status", "content_type", "body"]),
    "Verified": obj({"ok": {"const": True}, "matched": {"type": "integer", "minimum": 0}}, ["ok", "matched"], extra=False),
    "NotVerified": obj({"ok": {"const": False}, "matched": {"type": "integer", "minimum": 0},
                        "near_misses": {"type": "array", "maxItems": 3, "items": obj({
                            "id": {"type": "integer"},
                            "differences": {"type": "array", "items": obj({
                                "field": {"type": "string", "description": "account, hook, fields.status, path, query.x ..."},
                                "expected": {}, "actual": {}, "missing": {"const": True}}, ["field", "expected", "actual"])}},
                            ["id", "differences"],
                            description="a journal entry (its main fields) that came closest, and what differed")}},
                       ["ok", "matched", "near_misses"], extra=False),
    "FaultsRemoved": obj({"removed": {"type": "integer", "minimum": 0}, "id": {"type": "string"}}, ["removed"]),
    "Health": obj({
        "status": {"const": "ok"}, "accounts": {"type": "integer", "minimum": 0},
        "seeding": {"type": "boolean", "description": "pbx-sim serve answers at once and seeds the accounts' past calls meanwhile; until false, every other request waits for it"},
        "live_calls": {"type": "integer", "minimum": 0}, "clock": ref("Clock"),
        "webhooks": obj({k: {"type": "integer"} for k in ("queued", "delivered", "failed", "overflow", "attempts", "pending")},
                        ["queued", "delivered", "failed", "overflow", "attempts", "pending"]),
        "uptime_s": {"type": "number"}}, ["status", "seeding", "accounts", "live_calls", "clock", "webhooks", "uptime_s"]),
    "CrmView": obj({
        "url": nullable("string"), "crm_token": {"type": "string"},
        "encoding": {"enum": ["json", "form", None]}, "timeout": {"type": "number"},
        "retries": {"type": "integer"}, "lookup_url": nullable("string"), "events_url": nullable("string"),
        "utm_url": nullable("string"),
        "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "sent with every webhook; secret-looking values shown as ***"},
        "auth": {"enum": ["basic", "bearer", None]}, "auth_user": {"type": "string"}},
        ["url", "crm_token", "encoding", "timeout", "retries", "lookup_url", "events_url", "utm_url",
         "headers", "auth", "auth_user"]),
    "Account": obj({
        "id": {"type": "string"}, "provider": ref("Provider"), "name": {"type": "string"},
        "domain": {"type": "string"},
        "credentials": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "t2: access_token, refresh_token; vats, phonet: api_key; cloudpbx: token"},
        "crm": ref("CrmView"), "switches": {"type": "object"}, "settings": {"type": "object"},
        "strict": {"enum": ["warn", "reject", None], "description": "strict mode: requests checked against the provider's OpenAPI document"}},
        ["id", "provider", "name", "domain", "credentials", "crm", "switches", "settings"]),
    "Provider": {"enum": ["t2", "vats", "phonet", "cloudpbx"]},
    "Credentials": obj({"id": {"type": "string"},
                        "credentials": {"type": "object", "additionalProperties": {"type": "string"}}},
                       ["id", "credentials"]),
    "StateParts": obj({
        "employees": {"type": "array", "items": ref("Employee")},
        "departments": {"type": "array", "items": ref("Department")},
        "numbers": {"type": "array", "items": ref("CompanyNumber")},
        "sims": {"type": "array", "items": ref("SimCard")},
        "blacklist": {"type": "array", "items": ref("BlacklistEntry")},
        "block_anonymous": {"type": "boolean"},
        "managers": {"type": "array", "items": ref("PersonalManager")},
        "contacts": {"type": "array", "items": ref("Contact")},
        "cdr_count": {"type": "integer", "minimum": 0, "description": "all records; `cdrs` may hold only the last ones"},
        "cdrs": {"type": "array", "items": ref("CallRecord")},
        "next_ids": {"type": "object", "additionalProperties": {"type": "integer"}}},
        ["employees", "departments", "numbers", "sims", "blacklist", "block_anonymous", "managers",
         "contacts", "cdr_count", "cdrs", "next_ids"]),
    "AccountState": {"allOf": [ref("StateParts"),
                               obj({"id": {"type": "string"}, "provider": ref("Provider")}, ["id", "provider"])]},
    "Reset": obj({"reset": {"type": "array", "items": {"type": "string"}}}, ["reset"]),
    "Drained": obj({"drained": {"type": "boolean"}, **{k: {"type": "integer"} for k in
                   ("queued", "delivered", "failed", "overflow", "attempts", "pending")}}, ["drained", "pending"]),
    "CallPlaced": obj({"call_id": {"type": "string"}}, ["call_id"]),
    "CallView": {"allOf": [ref("CallRecord"), obj({
        "account": {"type": "string"}, "call_id": {"type": "string"}, "wait_s": {"type": "integer"}, "talk_s": {"type": "integer"},
        "duration_s": {"type": "integer"}, "started": {"type": "string", "format": "date-time"},
        "ended": {"type": "string", "format": "date-time"}},
        ["call_id", "wait_s", "talk_s", "duration_s", "started", "ended"])],
        "description": "A finished call: its record (CDR) with derived times."},
    "LiveCall": obj({
        "call_id": {"type": "string"}, "account": {"type": "string"},
        "direction": {"enum": ["in", "out", "internal"]}, "from": {"type": "string"}, "to": {"type": "string"},
        "client": {"type": "string"}, "trunk": {"type": "string"},
        "state": {"enum": ["created", "ringing", "answered", "ended"]}, "outcome": nullable("string"),
        "employee_id": nullable("integer"), "department_id": nullable("string"),
        "created_at": {"type": "string", "format": "date-time"},
        "answered_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "legs": {"type": "array", "items": obj({
            "id": {"type": "string"}, "kind": {"enum": ["employee", "client"]}, "number": {"type": "string"},
            "employee_id": nullable("integer"), "parent_id": nullable("string"), "result": {"type": "string"},
            "rang_at": {"type": "string", "format": "date-time"},
            "answered_at": {"type": ["string", "null"], "format": "date-time"},
            "ended_at": {"type": ["string", "null"], "format": "date-time"}},
            ["id", "kind", "number", "employee_id", "parent_id", "result", "rang_at", "answered_at", "ended_at"])},
        "on_hold": {"type": "boolean"},
        "manual": {"type": "boolean", "description": "placed with manual: driven by the call actions, not a script"},
        "waiting_for": {"type": "array", "items": {"enum": ["answer", "transfer"]},
                        "description": "a manual call waiting for a person: the actions it takes now"}},
        ["call_id", "account", "direction", "from", "to", "state", "outcome", "created_at", "legs",
         "on_hold", "manual", "waiting_for"]),
    "CallAction": obj({
        "account": {"type": "string", "description": "the call's account (optional: call ids are unique)"},
        "by": {"type": "string", "description": "who acts: an employee (ext, login, id or number) or client"},
        "side": {"enum": ["A", "B"], "description": "hang-up: the caller (A) or the callee (B); by names a party instead"},
        "to": {"type": "string", "description": "transfer: the employee the call goes to"},
        "on": {"type": "boolean", "default": True, "description": "hold: on hold (true) or off it (false)"}}, extra=False,
        description="Who acts on a live call. Answer: a ringing party (by, which may be left out when one party rings). Transfer: to. Hold: on. Hang-up: by or side (default B)."),
    "Office": obj({
        "id": {"type": "string"}, "provider": ref("Provider"), "name": {"type": "string"},
        "utc_offset": {"type": "number"}, "live_calls": {"type": "integer", "minimum": 0},
        "employees": {"type": "array", "items": obj({
            "id": {"type": "integer"}, "login": {"type": "string"}, "ext": {"type": "string"}, "name": {"type": "string"},
            "position": {"type": "string"}, "direct_number": {"type": "string"}, "dnd": {"type": "boolean"},
            "status": {"type": "string"}, "enabled": {"type": "boolean"},
            "paused": {"type": "boolean"},
            "state": {"enum": ["talking", "on_hold", "calling", "ringing", "dnd", "paused", "offline", "idle"],
                      "description": "what the employee is doing now (busiest of their calls first): calling is dialling out, waiting for the other side"},
            "calls": {"type": "array", "items": {"type": "string"}, "description": "the live calls they are on"},
            "lines": obj({"total": {"type": "integer"}, "busy": {"type": "integer"}, "full": {"type": "boolean"}},
                         ["total", "busy", "full"])},
            ["id", "login", "ext", "name", "dnd", "status", "enabled", "state", "calls", "lines"])},
        "departments": {"type": "array", "items": obj({
            "id": {"type": "string"}, "name": {"type": "string"}, "ext": {"type": "string"},
            "call_order": {"type": "string"}, "members": {"type": "array", "items": {"type": "integer"}},
            "queue": {"type": "array", "items": {"type": "string"}, "description": "the calls waiting in it"}},
            ["id", "name", "ext", "call_order", "members", "queue"])},
        "numbers": {"type": "array", "items": obj({
            "number": {"type": "string"}, "name": {"type": "string"}, "enabled": {"type": "boolean"},
            "route": {"type": "string", "description": "where its calls go, in words"}},
            ["number", "name", "enabled", "route"])}},
        ["id", "provider", "name", "utc_offset", "live_calls", "employees", "departments", "numbers"]),
    "ScenarioRun": obj({
        "scenario": {"type": "string", "minLength": 1, "description": "the scenario's YAML text"},
        "source": {"type": "string", "description": "a file name for messages"},
        "provider": {"type": "string", "description": "one id, a comma list, or all (default)"},
        "crm_url": {"type": "string", "pattern": "^https?://", "description": "default: a recording CRM inside the server"},
        "crm_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120}}, ["scenario"]),
    "ScenarioReports": obj({"passed": {"type": "boolean"},
                            "reports": {"type": "array", "items": {"allOf": [ref("ScenarioReport"), obj({"passed": {"type": "boolean"}}, ["passed"])]}}},
                           ["passed", "reports"]),
    "ScenarioProblems": {"allOf": [ref("Error"), obj({"problems": {"type": "array", "items": obj({
        "line": nullable("integer"), "field": {"type": "string"}, "reason": {"type": "string"}}, ["line", "field", "reason"])}})]},
    "HungUp": obj({"call_id": {"type": "string"}, "state": {"const": "ended"},
                   "hangup_side": {"enum": ["A", "B"]}}, ["call_id", "state", "hangup_side"]),
    "SnapshotAccount": obj({
        "id": {"type": "string"}, "provider": ref("Provider"), "name": {"type": "string"},
        "domain": {"type": "string"}, "config": ref("AccountConfig"),
        "credentials": {"type": "object", "additionalProperties": {"type": "string"}},
        "crm": ref("CrmTarget"), "settings": {"type": "object"}, "switches": {"type": "object"},
        "state": {"allOf": [ref("StateParts"), obj({"provider_data": {"type": "object"}}, ["provider_data"])]},
        "clock_offset_s": {"type": "number", "description": "the account's own clock offset (default 0)"}},
        ["id", "provider", "name", "domain", "config", "credentials", "crm", "settings", "switches", "state"],
        extra=False),
    "Snapshot": obj({
        "format": {"const": "pbx-simulator/snapshot"},
        "version": {"type": "integer", "minimum": 1, "description": "1; a newer version is refused"},
        "generator": {"type": "string"}, "seed": {"type": "integer"},
        "clock": obj({"now": {"type": "string", "format": "date-time"}, "mode": {"type": "string"},
                      "timestamp": {"type": "number"}}, ["now", "mode", "timestamp"], extra=False),
        "accounts": {"type": "array", "items": ref("SnapshotAccount")},
        "skipped": {"type": "array", "items": {"type": "string"},
                    "description": "provider_data entries left out: JSON would not bring them back as they are"},
        "secrets": {"enum": ["included", "masked"], "default": "included",
                    "description": "masked: exported without secrets=1; credentials and CRM tokens are masks, and importing keeps the accounts' own"}},
        ["format", "version", "seed", "clock", "accounts"], extra=False,
        description="The whole simulator: every account's configuration, credentials, CRM target, switches, settings and state, and the clock. Live calls are not in it."),
    "SnapshotRestored": obj({
        "restored": {"type": "array", "items": {"type": "string"}},
        "removed": {"type": "array", "items": {"type": "string"}},
        "kept": {"type": "array", "items": {"type": "string"}},
        "clock": ref("Clock"), "skipped": {"type": "array", "items": {"type": "string"}}},
        ["restored", "removed", "kept", "clock", "skipped"]),
})

def jresp(desc, schema):
    return {"description": desc, "content": {"application/json": {"schema": schema}}}

R = {
    "Unauthorized": jresp("The server runs with --admin-token and the request lacks `Authorization: Bearer <token>`.", ref("Error")),
    "BadRequest": jresp("Bad input; the message says what is wrong. Nothing was changed.", ref("Error")),
    "NoAccount": jresp("No such account.", ref("Error")),
    "TooLarge": jresp("The body is larger than the server's body_limit.", ref("HttpError")),
}
rr = lambda name: {"$ref": f"#/components/responses/{name}"}
P = {
    "account": {"name": "account", "in": "query", "required": False, "schema": {"type": "string"},
                "description": "only this account"},
    "limit": {"name": "limit", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^-?[0-9]+$"},
              "description": "the newest N entries"},
    "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "account id"},
    "secrets": {"name": "secrets", "in": "query", "required": False,
                "schema": {"type": "string"},
                "description": "1, true or yes (any case): credentials and CRM tokens in full; anything else masks them (`****` and the last four characters)"},
}
pr = lambda name: {"$ref": f"#/components/parameters/{name}"}

def op(summary, responses, *, tag, params=None, body=None, body_optional=None, secured=True, opid, description=None):
    o = {"operationId": opid, "summary": summary, "tags": [tag]}
    if description:
        o["description"] = description
    if params:
        o["parameters"] = params
    if body:
        o["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if body_optional:
        o["requestBody"] = {"required": False, "content": {"application/json": {"schema": body_optional}}}
    if secured:
        responses = {**responses, "401": rr("Unauthorized")}
    else:
        o["security"] = [{}]
    o["responses"] = responses
    return o

CALL_ID = {"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}
q = lambda name, desc, schema=None: {"name": name, "in": "query", "required": False,
                                      "schema": schema or {"type": "string"}, "description": desc}
paths = {
    "/_sim/health": {"get": op("Health check (open even with --admin-token)", {"200": jresp("Running.", ref("Health"))},
                               tag="server", secured=False, opid="health")},
    "/_sim/accounts": {
        "get": op("List accounts with their credentials and CRM targets",
                  {"200": jresp("Every account.", {"type": "array", "items": ref("Account")})}, tag="accounts", opid="listAccounts",
                  params=[P["secrets"]]),
        "post": op("Create an account (as in the configuration file)",
                   {"201": jresp("Created, seeded.", ref("Account")), "400": rr("BadRequest"),
                    "409": jresp("An account with this id exists.", ref("Error")), "413": rr("TooLarge")},
                   tag="accounts", body=ref("AccountConfig"), opid="createAccount", params=[P["secrets"]],
                   description="seed.generate.calls is at most 50,000 here (400 above it): a larger history takes minutes; the configuration file, generated at start, takes up to 2,000,000.")},
    "/_sim/accounts/{id}": {
        "parameters": [pr("id")],
        "get": op("One account", {"200": jresp("The account.", ref("Account")), "404": rr("NoAccount")},
                  tag="accounts", opid="getAccount", params=[P["secrets"]]),
        "patch": op("Change name, domain, CRM target, switches or settings",
                    {"200": jresp("The account as it is now.", ref("Account")), "400": rr("BadRequest"),
                     "404": rr("NoAccount"), "413": rr("TooLarge")},
                    tag="accounts", body=ref("AccountPatch"), opid="patchAccount", params=[P["secrets"]],
                    description="A CRM URL set here is added to the webhook allow-list.")},
    "/_sim/accounts/{id}/credentials/regenerate": {
        "parameters": [pr("id")],
        "post": op("New credentials; the old ones stop working",
                   {"200": jresp("The new credentials.", ref("Credentials")), "404": rr("NoAccount")},
                   tag="accounts", opid="regenerateCredentials")},
    "/_sim/accounts/{id}/state": {
        "parameters": [pr("id")],
        "get": op("The account's state: employees, departments, numbers, SIMs, blacklist, managers, contacts, calls",
                  {"200": jresp("The state.", ref("AccountState")), "400": rr("BadRequest"), "404": rr("NoAccount")},
                  tag="accounts", opid="getAccountState",
                  params=[q("cdr_limit", "how many of the newest call records (default 100)",
                            {"type": "string", "pattern": "^-?[0-9]+$"})])},
    "/_sim/clock": {
        "get": op("The simulator's time and clock mode (or one account's time)",
                  {"200": jresp("The clock.", ref("Clock")), "404": rr("NoAccount")},
                  tag="clock", opid="getClock", params=[{**P["account"], "description": "this account's time"}]),
        "post": op("Move the clock (or one account's): advance or set", {"200": jresp("The clock after the move.", ref("Clock")),
                                                     "400": rr("BadRequest"), "404": rr("NoAccount"), "413": rr("TooLarge")},
                   tag="clock", body=ref("ClockMove"), opid="moveClock")},
    "/_sim/faults": {
        "get": op("The faults in force", {"200": jresp("In the order they were added (the first that matches applies).",
                                                       {"type": "array", "items": ref("Fault")})},
                  tag="faults", opid="listFaults", params=[P["account"]]),
        "post": op("Add a fault: an API answer (status, named error, reset, timeout, latency, rate limit) or a webhook action (drop, duplicate, delay, reorder)",
                   {"201": jresp("Added.", ref("Fault")), "400": rr("BadRequest"), "404": rr("NoAccount"),
                    "413": rr("TooLarge")},
                   tag="faults", body=ref("FaultSpec"), opid="addFault",
                   description="API faults match the account's requests by method and path glob; webhook faults match its webhooks by hook name. "
                               "`probability` draws from a generator seeded by the server seed and the account id. Every injection is marked in the journal entry (`fault`)."),
        "delete": op("Remove every fault (of one account with ?account=)", {"200": jresp("How many were removed.", ref("FaultsRemoved")),
                                                                            "404": rr("NoAccount")},
                     tag="faults", opid="clearFaults", params=[P["account"]])},
    "/_sim/faults/errors": {
        "get": op("The named errors a fault may answer with (`respond.error`)",
                  {"200": jresp("Each with its status and wire body.", {"type": "array", "items": ref("NamedError")}),
                   "404": jresp("No such provider.", ref("Error"))},
                  tag="faults", opid="listFaultErrors", params=[q("provider", "only this provider's")])},
    "/_sim/faults/{fault_id}": {
        "parameters": [{"name": "fault_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": op("One fault", {"200": jresp("The fault.", ref("Fault")), "404": jresp("No such fault.", ref("Error"))},
                  tag="faults", opid="getFault"),
        "delete": op("Remove one fault", {"200": jresp("Removed.", ref("FaultsRemoved")),
                                          "404": jresp("No such fault.", ref("Error"))},
                     tag="faults", opid="removeFault")},
    "/_sim/verify": {
        "post": op("Verify what the CRM got (webhooks) or did (requests): a count over the journals",
                   {"200": jresp("The count is right.", ref("Verified")),
                    "422": jresp("It is not (after waiting `within`): the closest entries and which fields differed.", ref("NotVerified")),
                    "400": rr("BadRequest"), "413": rr("TooLarge")},
                   tag="journals", body=ref("VerifySpec"), opid="verify",
                   description="`webhooks` matches every attempt in the webhook journal (fields: the payload, dotted for nested); "
                               "`requests` every provider request in the request journal. `count` defaults to at least one. "
                               "`within` waits on the simulator clock (a manual clock is moved) for the count to come right.")},
    "/_sim/reset": {"post": op("Back to the configured seed state (credentials stay)",
                               {"200": jresp("The accounts reset.", ref("Reset")), "404": rr("NoAccount")},
                               tag="server", opid="reset", params=[P["account"]])},
    "/_sim/requests": {"get": op("The request journal (credentials in queries masked)",
                                 {"200": jresp("Newest last.", {"type": "array", "items": ref("RequestEntry")}),
                                  "400": rr("BadRequest")}, tag="journals", opid="listRequests",
                                 params=[P["account"], P["limit"]])},
    "/_sim/webhooks": {"get": op("The webhook journal: every attempt, the CRM's answer and the contract check",
                                 {"200": jresp("Newest last.", {"type": "array", "items": ref("WebhookAttempt")}),
                                  "400": rr("BadRequest")}, tag="journals", opid="listWebhooks",
                                 params=[P["account"], q("call", "only this call id"), q("hook", "only this hook (history, contact, call.dial ...)"),
                                         {**P["limit"], "description": "the newest N entries (default 1000)"}])},
    "/_sim/webhooks/dead": {"get": op("Dead letters: webhooks that failed every attempt",
                                      {"200": jresp("The last attempt of each webhook that failed every attempt (dead: true) and has no delivered resend since; newest last.",
                                                    {"type": "array", "items": ref("WebhookAttempt")}),
                                       "400": rr("BadRequest")}, tag="journals", opid="listDeadLetters",
                                      params=[P["account"], q("hook", "only this hook (history, contact, call.dial ...)"),
                                              {**P["limit"], "description": "the newest N entries (default 1000)"}],
                                      description="A dead letter leaves this list once a resend of it (POST /_sim/webhooks/{id}/resend) is delivered. Entries with may_have_been_received: true timed out or lost the connection after the request was written: the CRM may have seen them.")},
    "/_sim/webhooks/{id}/resend": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                        "description": "a webhook attempt's id (GET /_sim/webhooks, /_sim/webhooks/dead)"}],
        "post": op("Send a journaled webhook again, as the Stripe CLI resends events",
                   {"200": jresp("The new attempt, already made: same URL, headers and body, once (no retries); resend_of names the attempt repeated (the first of a chain of resends).",
                                 ref("WebhookAttempt")),
                    "404": jresp("No attempt with this id in the journal.", ref("Error")),
                    "409": jresp("The attempt cannot be sent again.", ref("Error"))},
                   tag="journals", opid="resendWebhook",
                   description="Goes only to an allowed CRM URL (else journaled as refused). The answer is checked against the hook's contract as for any attempt; a lookup's answer steers nothing now.")},
    "/_sim/webhooks/drain": {"post": op("Wait (real time) until every queued webhook was attempted",
                                        {"200": jresp("Whether the queue emptied in time, and the counters.", ref("Drained")),
                                         "400": rr("BadRequest")},
                                        tag="journals", opid="drainWebhooks",
                                        params=[q("timeout", "seconds to wait, 0 to 600 (default 10); else 400", {"type": "string", "pattern": "^(600(\\.0+)?|[1-5]?[0-9]{1,2}(\\.[0-9]+)?)$"})])},
    "/_sim/calls": {
        "post": op("Place an ad-hoc call", {"201": jresp("The call started.", ref("CallPlaced")), "400": rr("BadRequest"),
                                            "404": rr("NoAccount"), "413": rr("TooLarge")},
                   tag="calls", body=ref("CallRequest"), opid="placeCall"),
        "get": op("Finished calls (records), or live calls with live=1",
                  {"200": jresp("Calls.", {"type": "array", "items": {"anyOf": [ref("CallView"), ref("LiveCall")]}}),
                   "400": rr("BadRequest"), "404": rr("NoAccount")},
                  tag="calls", opid="listCalls", params=[P["account"], q("live", "1: the calls going on now"),
                                                         {**P["limit"], "description": "the newest N records per account (default 100)"}])},
    "/_sim/calls/{call_id}/hangup": {
        "parameters": [CALL_ID],
        "post": op("End a live call now", {"200": jresp("Ended.", ref("HungUp")), "400": rr("BadRequest"),
                                          "404": rr("NoAccount"), "409": jresp("by names no party of this call.", ref("Error"))},
                   tag="calls", opid="hangupCall", body_optional=ref("CallAction"),
                   description="Who hangs up: by (client or an employee) or side in the body or the query.",
                   params=[q("account", "the call's account (optional: call ids are unique)"),
                           q("side", "who hangs up: A (caller) or B (callee, default)", {"enum": ["A", "B"]}),
                           q("by", "who hangs up: client or an employee")])},
    "/_sim/calls/{call_id}/hold": {
        "parameters": [CALL_ID],
        "post": op("Put an answered call on hold (on: true, the default) or take it off (on: false)",
                   {"200": jresp("The call as it is now.", ref("LiveCall")), "400": rr("BadRequest"), "404": rr("NoAccount"),
                    "409": jresp("Not answered yet, already in that state, or by names no party of the call.", ref("Error")),
                    "413": rr("TooLarge")},
                   tag="calls", opid="holdCall", body=ref("CallAction"),
                   description="Any live call, scripted or manual: the engine's hold (the time on hold is in the record's holds).")},
    "/_sim/calls/{call_id}/answer": {
        "parameters": [CALL_ID],
        "post": op("Answer a manual call as one of its ringing parties",
                   {"200": jresp("The call as it is now.", ref("LiveCall")), "400": rr("BadRequest"), "404": rr("NoAccount"),
                    "409": jresp("Not now, or not that party; the message says why. Nothing changed.", ref("Error")),
                    "413": rr("TooLarge")},
                   tag="calls", opid="answerCall", body=ref("CallAction"),
                   description="For a call placed with \"manual\": true: an employee ringing on it, or the client of an outgoing call (by: client).")},
    "/_sim/calls/{call_id}/transfer": {
        "parameters": [CALL_ID],
        "post": op("Transfer an answered manual call to an employee (who then answers it)",
                   {"200": jresp("The call as it is now: the new party rings.", ref("LiveCall")), "400": rr("BadRequest"),
                    "404": rr("NoAccount"), "409": jresp("Not now, or no such employee; the message says why.", ref("Error")),
                    "413": rr("TooLarge")},
                   tag="calls", opid="transferCall", body=ref("CallAction"))},
    "/_sim/calls/{call_id}/recording": {
        "parameters": [CALL_ID],
        "get": op("A finished call's recording (the MP3 its provider serves)",
                  {"200": {"description": "The recording.", "content": {"audio/mpeg": {"schema": {"type": "string", "format": "binary"}}}},
                   "404": jresp("No such account, call or recording.", ref("Error"))},
                  tag="calls", opid="callRecording", params=[{"name": "account", "in": "query", "required": True, "schema": {"type": "string"}}])},
    "/_sim/calls/{call_id}/history": {
        "parameters": [CALL_ID],
        "get": op("A finished call as its provider shows it: the answer of the provider's own history endpoint",
                  {"200": {"description": "The provider's answer for the seconds the call lasted, as the provider gives it (its body, status and content type), asked over HTTP of this server with the account's credentials, as a CRM would ask (vats GET /crmapi/v1/history/json, cloudpbx cmd=history, t2 GET /crm/openapi/call-records/info, phonet GET /rest/calls/company.api after authorize). X-Pbx-Sim-Request names the requests made (credentials masked). The request shows in the request journal like any other.",
                           "headers": {"X-Pbx-Sim-Request": {"schema": {"type": "string"}}},
                           "content": {"application/json": {"schema": {}}, "text/csv": {"schema": {"type": "string"}}}},
                   "404": jresp("No such account or finished call.", ref("Error"))},
                  tag="calls", opid="callHistory", params=[{"name": "account", "in": "query", "required": True, "schema": {"type": "string"}}])},
    "/_sim/accounts/{id}/office": {
        "parameters": [pr("id")],
        "get": op("The office now: each employee's state, departments with their queues, numbers and routes",
                  {"200": jresp("The office.", ref("Office")), "404": rr("NoAccount")}, tag="accounts", opid="getOffice")},
    "/_sim/events": {
        "get": op("The live event stream (server-sent events)",
                  {"200": {"description": "Unnamed events, each a `data:` line of JSON whose `type` says what it is: hello (with the clock); each call engine event (call.created, leg.ringing, leg.answered, leg.ended, call.answered, call.transferred, call.queued, call.dequeued, call.ended, call.rated, call.held, call.unheld …) with account, call, state, leg, at; employee.paused / employee.unpaused (account, employee, at); webhook (id, account, call, hook, status, delivered, ok) for each attempt the webhook journal records; requests (accounts, count) for the CRM's requests into the PBX; overflow when a listener fell behind (reread).",
                           "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                   "404": rr("NoAccount")},
                  tag="inspector", opid="events", params=[P["account"]],
                  description="A browser's EventSource cannot send a header: with an admin token the stream also takes the inspector's cookie.")},
    "/_sim/ui": {
        "get": op("The inspector: a live web page of the office, its calls, webhooks, requests, with a phone, the clock, scenarios and accounts",
                  {"200": {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}},
                   "303": {"description": "?token= was right: it is kept in a same-site cookie, and the page opens without it in the address."},
                   "401": {"description": "A form asking for the admin token.", "content": {"text/html": {"schema": {"type": "string"}}}}},
                  tag="inspector", opid="inspector", secured=False,
                  params=[q("token", "the admin token, once (a browser cannot send the header)")])},
    "/_sim/ui/part/{view}": {
        "parameters": [{"name": "view", "in": "path", "required": True,
                        "schema": {"enum": ["board", "calls", "webhooks", "requests", "handset", "clock", "accounts"]}}],
        "get": op("One view of the inspector, as HTML (the page fetches it again when the live stream says it changed)",
                  {"200": {"description": "The view.", "content": {"text/html": {"schema": {"type": "string"}}}},
                   "404": jresp("No such view.", ref("Error"))},
                  tag="inspector", opid="inspectorView",
                  params=[P["account"], q("hook", "webhooks: only this hook"), q("verdict", "webhooks: ok, violations or failed"),
                          q("call", "webhooks: only this call")])},
    "/_sim/ui/static/{name}": {
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"enum": ["app.js", "style.css"]}}],
        "get": op("The inspector's script and style sheet",
                  {"200": {"description": "The file.", "content": {"application/javascript": {"schema": {"type": "string"}},
                                                                   "text/css": {"schema": {"type": "string"}}}},
                   "404": jresp("No such file.", ref("Error"))}, tag="inspector", opid="inspectorFile")},
    "/_sim/ui/examples/{name}": {
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "\\.yaml$"}}],
        "get": op("An example scenario's YAML (the inspector's scenarios view)",
                  {"200": {"description": "The scenario.", "content": {"text/yaml": {"schema": {"type": "string"}}}},
                   "404": jresp("No such example.", ref("Error"))}, tag="inspector", opid="inspectorExample")},
    "/_sim/scenarios/run": {
        "post": op("Run a YAML scenario inside this server (pbx-sim run --server)",
                   {"200": jresp("A report per provider; each runs on a fresh account scenario-<provider>.", ref("ScenarioReports")),
                    "400": jresp("Not a valid scenario, provider or CRM URL: each problem with its line.", ref("ScenarioProblems")),
                    "413": rr("TooLarge")},
                   tag="scenarios", body=ref("ScenarioRun"), opid="runScenario")},
    "/_sim/snapshot": {
        "get": op("Export the whole simulator as a snapshot", {"200": jresp("The snapshot.", ref("Snapshot"))},
                  tag="snapshot", opid="exportSnapshot", params=[P["secrets"]],
                  description="Without secrets=1 credentials and CRM tokens are masked and the document says `\"secrets\": \"masked\"`; importing such a snapshot keeps each account's own secrets (an account new to the server gets new credentials)."),
        "put": op("Import a snapshot (all or nothing)",
                  {"200": jresp("What was restored.", ref("SnapshotRestored")),
                   "400": jresp("Not a usable snapshot (corrupt, foreign, newer version, bad field); nothing was changed.", ref("Error")),
                   "413": rr("TooLarge")},
                  tag="snapshot", body=ref("Snapshot"), opid="importSnapshot",
                  description="Accounts the snapshot does not hold are removed unless keep_others=1. Live calls of the replaced accounts are hung up.",
                  params=[q("clock", "forward (default): move the clock up to the snapshot's time if it is behind, never back; exact: set it to the snapshot's time; keep: leave it",
                            {"enum": ["forward", "exact", "keep"]}),
                          q("keep_others", "1, true or yes: keep accounts the snapshot does not hold; anything else removes them", {"type": "string"})])},
    "/_sim/openapi/{name}.json": {
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                        "description": "admin, or a provider's id"}],
        "get": op("An OpenAPI document: this one (admin) or a provider's",
                  {"200": jresp("The document.", {"type": "object", "required": ["openapi"]}),
                   "404": jresp("No such document.", ref("Error"))}, tag="server", opid="openapiDocument")},
}

doc = {
    "openapi": "3.1.0",
    "info": {"title": "pbx-simulator admin API", "version": "1",
             "description": "The simulator's own API under /_sim: health, accounts and credentials, clock, reset, journals, ad-hoc calls and the actions that drive them by hand, snapshots, the live event stream and the inspector page (/_sim/ui). The CLI, the pytest plugin and CI use it. With `pbx-sim serve --admin-token TOKEN` (or PBX_SIM_ADMIN_TOKEN) every path but /_sim/health needs `Authorization: Bearer TOKEN`."},
    "servers": [{"url": "http://127.0.0.1:8080", "description": "pbx-sim serve (default)"}],
    "tags": [{"name": t} for t in ("server", "accounts", "clock", "faults", "journals", "calls", "scenarios", "snapshot", "inspector")],
    "security": [{}, {"adminToken": []}],
    "paths": paths,
    "components": {
        "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer",
                                           "description": "the --admin-token / PBX_SIM_ADMIN_TOKEN value"}},
        "parameters": {"id": P["id"]},
        "responses": R,
        "schemas": dict(sorted(components.items())),
    },
}
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("admin.json")
OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
