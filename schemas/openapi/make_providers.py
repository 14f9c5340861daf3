"""Builds schemas/openapi/{cloudpbx,t2,phonet}.json, the providers' OpenAPI 3.1 documents.

    .venv/bin/python schemas/openapi/make_providers.py

Each document is written from what the provider's contract (shared/specs/<id>.md, observed.md)
and its implementation's README say: paths, parameters, bodies, every answer and documented
error with the seeds' examples, security schemes, and the PBX → CRM webhooks (``webhooks``).
``vats.json`` is maintained as JSON by hand (it began as the vats provider's own document).
tests/contracts checks that
the files are what this script builds, that they are valid OpenAPI 3.1, in step with the routes,
and validates every provider answer of the test suite against them.

Why this is written out rather than generated from the providers' routes and models: the
documents are the *provider's* contract, and most of it is not in our code. The answers are
rendered dicts in each provider's own casing (no answer model to export), the error bodies are
the seeds' verbatim texts, the examples are the seeds' examples, and a description, parameter
or webhook the real PBX documents belongs here even where the simulator reads it loosely (the
document must describe what the real PBX accepts). A generator would move this text into the
handlers without removing any of it. What would drift is checked instead: every served route
is documented and nothing else (``test_every_served_endpoint_is_documented_and_nothing_else``),
every documented example matches its schema, and every answer the test suite gets from a
provider is validated against its document (tests/contracts/openapi_check.py).
"""

from __future__ import annotations

import inspect
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def calendar_date(sep: str) -> str:
    """A regular expression of the real dates of years 0001–9999 (``YYYY<sep>MM<sep>DD``, leap
    days only in leap years): a date the server's calendar refuses is not in the document."""
    year = "([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
    month_day = (f"((0[1-9]|1[0-2]){sep}(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2]){sep}(29|30)"
                 f"|(0[13578]|1[02]){sep}31)")
    leap = f"([0-9]{{2}}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00){sep}02{sep}29"
    return f"({year}{sep}{month_day}|{leap})"


CLOCK = "([01][0-9]|2[0-3])"          # hours of a day
SIXTY = "[0-5][0-9]"                  # minutes, seconds


def render(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def build_cloudpbx() -> dict:
    ERR400 = {"error": "Invalid parameters: [user]"}
    CMD_SPELLINGS = {
        "accounts": ["accounts"],
        "groups": ["groups"],
        "makeCall": ["makeCall", "makecall"],
        "history": ["history"],
        "subscribeOnCalls": ["subscribeOnCalls", "subscribeoncalls"],
        "subscriptionStatus": ["subscriptionStatus", "subscribtionstatus"],
        "set_dnd": ["set_dnd"],
        "get_dnd": ["get_dnd"],
    }
    ISO = f"{calendar_date('-')}T{CLOCK}:{SIXTY}:{SIXTY}"
    WHEN = f"^({calendar_date('')}T{CLOCK}{SIXTY}{SIXTY}Z|{ISO}(Z|[+-](0[0-9]|1[0-7]):{SIXTY}))$"
    P = {
        "user": {"type": "string", "minLength": 1,
                 "description": "The PBX employee: login, extension or direct number (`telnum`). Unknown → 400 `Invalid parameters: [user]`."},
        "phone": {"type": "string", "pattern": "^[0-9]{2,20}$",
                  "description": "Number to call: 2–20 digits; a leading `+` is refused (400 `[phone]`), as the live service does."},
        "start": {"type": "string", "pattern": WHEN, "description": "Window start, UTC `YYYYmmddTHHMMSSZ` (documented); `YYYY-MM-DDTHH:MM:SSZ` and ISO-8601 with an offset are accepted too. Unreadable → 400 `[start]`, also beside `period` (which then sets the window).",
                  "examples": ["20170703T000000Z"]},
        "end": {"type": "string", "pattern": WHEN, "description": "Window end, same formats as `start`; default now. Unreadable → 400 `[end]`, also beside `period`.",
                "examples": ["20170704T000000Z"]},
        "period": {"type": "string", "enum": ["today", "yesterday", "this_week", "last_week", "this_month", "last_month"],
                   "description": "Named period in the account's time zone; overrides `start`/`end`."},
        "type": {"type": "string", "enum": ["all", "in", "out", "missed"], "default": "all"},
        "limit": {"type": "string", "pattern": "^[0-9]*[1-9][0-9]*$", "description": "At most this many calls (≥ 1), oldest first."},
        "group_id": {"type": "string", "description": "Department id; must be one the user belongs to (else 400 `[group_id]`)."},
        "status": {"type": "string", "enum": ["on", "off"]},
        "state": {"type": "string", "enum": ["true", "false"]},
    }
    COMMAND_PARAMS = {   # cmd -> (required, optional)
        "accounts": ([], []),
        "groups": ([], ["user"]),
        "makeCall": (["user", "phone"], []),
        "history": ([], ["start", "end", "period", "type", "limit"]),
        "subscribeOnCalls": (["user", "status"], ["group_id"]),
        "subscriptionStatus": (["user", "group_id"], []),
        "set_dnd": (["user", "state"], []),
        "get_dnd": (["user"], []),
    }
    ANSWERS = {
        "accounts": "JSON array `AccountsAnswer`",
        "groups": "JSON array `GroupsAnswer`",
        "makeCall": "JSON `MakeCallAnswer`",
        "history": "`text/csv` history",
        "subscribeOnCalls": "`text/plain` `OK`",
        "subscriptionStatus": "JSON `SubscriptionStatusAnswer`",
        "set_dnd": "`text/plain` `OK`",
        "get_dnd": "JSON `DndAnswer`",
    }

    def command_schema(cmd, token=True):
        req, opt = COMMAND_PARAMS[cmd]
        props = {"cmd": {"type": "string", "enum": CMD_SPELLINGS[cmd],
                         "description": "Command name; matched case-insensitively."}}
        if token:
            props["token"] = ref("Token")
        for name in req:
            props[name] = P[name]
        for name in opt:   # models.optional: a field sent empty (limit=) counts as not sent
            spec = dict(P[name])
            text = spec.pop("description", "")
            props[name] = {"anyOf": [spec, {"const": ""}], "description": (text + " " if text else "") + "Sent empty: as if not sent."}
        schema = {"title": f"cmd={cmd}", "type": "object", "required": ["cmd"] + (["token"] if token else []) + req,
                  "properties": props, "description": f"`{cmd}`: answers {ANSWERS[cmd]}."}
        if cmd == "groups":     # optional here: empty is "every department"
            props["user"] = {**P["user"], "minLength": 0, "description": "Only this employee's departments; absent or empty: all."}
        return schema

    schemas = {
        "Token": {"type": "string", "minLength": 1, "description": "The PBX key from the web cabinet. Missing or wrong → 401 `Invalid token`, checked before anything else."},
        "Account": {"type": "object", "required": ["name", "realName", "ext"],
                    "properties": {"name": {"type": "string", "description": "login"},
                                   "realName": {"type": "string"},
                                   "ext": {"type": "string"},
                                   "telnum": {"type": "string", "description": "direct number, when the employee has one"},
                                   "email": {"type": "string", "description": "when set (observed.md)"}}},
        "AccountsAnswer": {"type": "array", "items": ref("Account")},
        "Group": {"type": "object", "required": ["id", "realName", "ext"],
                  "properties": {"id": {"type": "string"}, "realName": {"type": "string"},
                                 "ext": {"type": ["integer", "string"], "description": "a JSON number when all digits (the document's `ext: 701`), else a string"}}},
        "GroupsAnswer": {"type": "array", "items": ref("Group")},
        "MakeCallAnswer": {"type": "object", "required": ["CallID"], "properties": {"CallID": {"type": "string", "minLength": 1}}},
        "SubscriptionStatusAnswer": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["on", "off"]}}},
        "DndAnswer": {"type": "object", "required": ["state"], "properties": {"state": {"type": "boolean"}}},
        "HistoryCsv": {"type": "string",
                       "description": "Headerless CSV, one call per `\\n`-terminated line: `UID,type,client,account,via,start,wait,duration,record` (type in/out/missed; account `login@host`, `g_<id>@host`, `ivr` or `fax`; start ISO-8601 with offset; record may be empty). No field contains a comma.",
                       "pattern": "^([^,\\n]*,(in|out|missed),[^,\\n]*,[^,\\n]*,[^,\\n]*,[^,\\n]*,[0-9]+,[0-9]+,[^,\\n]*\\n)*$"},
        "Ok": {"type": "string", "const": "OK"},
        "InvalidParameters": {"type": "object", "required": ["error"], "additionalProperties": False,
                              "properties": {"error": {"type": "string", "pattern": "^Invalid parameters(: \\[[A-Za-z_]+\\])?$"}}},
        "InvalidToken": {"type": "object", "required": ["error"], "additionalProperties": False,
                         "properties": {"error": {"const": "Invalid token"}}},
        "HttpError": {"type": "object", "required": ["error"], "additionalProperties": False,
                      "properties": {"error": {"type": "string"}}},
        "CommandForm": {"oneOf": [ref(f"Cmd_{c}") for c in COMMAND_PARAMS],
                        "description": "One parameter set per `cmd` (the document's command table)."},
    }
    for c in COMMAND_PARAMS:
        schemas[f"Cmd_{c}"] = command_schema(c)
        schemas[f"Query_{c}"] = command_schema(c, token=False)
    schemas["CommandQuery"] = {"oneOf": [ref(f"Query_{c}") for c in COMMAND_PARAMS],
                               "description": "The query string of a GET: one parameter set per `cmd`, as `CommandForm` without `token` (the `token` security scheme)."}

    ok200 = {
        "description": "Success. The shape depends on `cmd`: " + "; ".join(f"`{c}` → {a}" for c, a in ANSWERS.items()) + ".",
        "content": {
            "application/json": {
                "schema": {"anyOf": [ref("AccountsAnswer"), ref("GroupsAnswer"), ref("MakeCallAnswer"),
                                     ref("SubscriptionStatusAnswer"), ref("DndAnswer")]},
                "examples": {
                    "accounts": {"summary": "cmd=accounts (document §5.1)", "value": [
                        {"name": "test", "realName": "Тестовый пользователь", "ext": "701"},
                        {"name": "daria", "realName": "Иванова Дарья", "ext": "705"},
                        {"name": "andy", "realName": "Петров Андрей", "ext": "708", "telnum": "79261234567"},
                        {"name": "mike", "realName": "Семенов Михаил", "ext": "702"}]},
                    "groups": {"summary": "cmd=groups (document §5.2)", "value": [
                        {"id": "sales", "realName": "Отдел продаж", "ext": 701},
                        {"id": "gr001", "realName": "Бухгалтерия", "ext": 705}]},
                    "makeCall": {"summary": "cmd=makeCall", "value": {"CallID": "B10D0EB124F4E64AF4EA-1511"}},
                    "subscriptionStatus": {"summary": "cmd=subscriptionStatus", "value": {"status": "on"}},
                    "get_dnd": {"summary": "cmd=get_dnd", "value": {"state": True}},
                }},
            "text/csv": {"schema": ref("HistoryCsv"), "example":
                         "B10D0EB124F4E64AF4EA-1511,out,79101234567,andy@test.cloudpbx.ru,74950000001,2017-07-03T15:11:10+03:00,5,124,https://test.cloudpbx.ru/sys/crm_api.wcgp/records/B10D0EB124F4E64AF4EA-1511.mp3?key=0123456789abcdef0123456789abcdef\n"},
            "text/plain": {"schema": ref("Ok"), "example": "OK"},
        }}
    err400 = {"description": "Wrong parameters. The simulator names the first bad one (`Invalid parameters: [name]`); an unreadable body gets the bare documented text.",
               "content": {"application/json": {"schema": ref("InvalidParameters"), "examples": {
                   "documented": {"value": {"error": "Invalid parameters"}},
                   "unknown cmd (live service)": {"value": {"error": "Invalid parameters: [cmd]"}},
                   "missing user": {"value": ERR400}}}}}
    err401 = {"description": "Missing or wrong `token`.",
              "content": {"application/json": {"schema": ref("InvalidToken"), "example": {"error": "Invalid token"}}}}
    err413 = {"description": "Body over the server's limit (1 MiB by default): the documented 400 text with status 413.",
              "content": {"application/json": {"schema": ref("InvalidParameters"), "example": {"error": "Invalid parameters"}}}}

    # one exploded object: each command's own parameters (the POST body's sets) in the query string
    get_params = [{"name": "command", "in": "query", "required": True, "style": "form", "explode": True,
                   "schema": ref("CommandQuery"),
                   "description": "The command's fields as query parameters (`?cmd=makeCall&user=…&phone=…`), one set per `cmd` (`Query_*`)."}]

    DESC = """The CRM → PBX command API of CommuniGate-based cloud PBXs ("Облачная АТС": MegaFon before v1, Gravitel, MTS Exolve, Kcell, Moldcell), as the pbx-simulator serves it. Contract: shared/specs/cloudpbx.md (seed 004), observed.md, simulator/providers/cloudpbx/README.md.

    **How the single endpoint is modelled.** The API is one URL, `/sys/crm_api.wcgp`, whose `cmd` field selects one of eight commands. OpenAPI keys operations by path and method only, so:
    - `POST` (the documented form) has one request body schema, `CommandForm`, a `oneOf` with one parameter set per command (`Cmd_accounts` … `Cmd_get_dnd`), each fixing `cmd` to its spellings and listing that command's required and optional fields; `token` is a required field of every set (the document's "token form field").
    - `GET` (accepted for every command, observed.md) carries the same fields in the query string: one exploded object parameter, `CommandQuery`, the same `oneOf` of parameter sets without `token`; `token` is the `token` security scheme (apiKey in query).
    - The 200 answer depends on `cmd`: JSON (`anyOf` the five JSON answers), `text/csv` (history) or `text/plain` `OK` (subscribeOnCalls, set_dnd).
    Errors: 400 `{"error": "Invalid parameters…"}`, 401 `{"error": "Invalid token"}`, both `application/json`; 413 for an oversized body. The recording links handed out in webhooks and the history CSV are a second path.

    The PBX → CRM webhooks (`history`, `event`, `contact`, form-encoded, `crm_token`) are under `webhooks`."""

    def hook(name, fields, required, answer, example):
        props = {"cmd": {"const": name}, "crm_token": {"type": "string", "description": "the key the CRM chose"}}
        props.update(fields)
        return {"post": {
            "summary": f"{name} (PBX → CRM)",
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["cmd", "crm_token"] + required,
                                                                 "properties": props}, "example": example}}},
            "responses": {
                "200": answer,
                "400": {"description": "CRM: wrong parameters", "content": {"application/json": {"schema": ref("InvalidParameters")}}},
                "401": {"description": "CRM: wrong crm_token", "content": {"application/json": {"schema": ref("InvalidToken")}}},
            }}}

    S = lambda d="": {"type": "string", "description": d} if d else {"type": "string"}
    webhooks = {
        "history": hook("history", {
            "type": {"enum": ["in", "out"]}, "user": S("PBX user: login, `g_<dept>`, `ivr` or `fax`"),
            "ext": S(), "groupRealName": S(), "telnum": S(), "phone": S("client's number"), "diversion": S(),
            "start": {"type": "string", "pattern": "^[0-9]{8}T[0-9]{6}Z$", "description": "UTC YYYYmmddTHHMMSSZ"},
            "duration": {"type": "string", "pattern": "^[0-9]+$", "description": "whole call, seconds"},
            "callid": S(), "link": S("recording URL"),
            "status": {"enum": ["Success", "Missed", "Cancel", "Busy", "NotAvailable", "NotAllowed", "NotFound"]}},
            ["type", "user", "phone", "start", "duration", "callid", "status"],
            {"description": "OK (ignored by the PBX)"},
            {"cmd": "history", "type": "out", "status": "Success", "phone": "79101234567", "user": "user",
             "start": "20170703T121110Z", "duration": "124", "link": "https://link/file.mp3",
             "crm_token": "76fsd7tfs-fhjdgfdjsfsk-hfgsdguuuwoeiwey1111", "callid": "B10D0EB124F4E64AF4EA-1511"}),
        "event": hook("event", {
            "type": {"enum": ["INCOMING", "ACCEPTED", "COMPLETED", "CANCELLED", "OUTGOING", "TRANSFERRED"]},
            "phone": S(), "diversion": S(), "user": S(), "groupRealName": S(), "ext": S(), "telnum": S(),
            "direction": {"enum": ["in", "out"]}, "callid": S("the same for all related calls")},
            ["type", "phone", "user", "direction", "callid"],
            {"description": "OK (ignored by the PBX)"},
            {"cmd": "event", "type": "INCOMING", "phone": "79101234567", "diversion": "74950000001", "user": "andy",
             "direction": "in", "callid": "B10D0EB124F4E64AF4EA-1511", "crm_token": "76fsd7tfs-fhjdgfdjsfsk-hfgsdguuuwoeiwey1111"}),
        "contact": hook("contact", {"phone": S(), "callid": S()}, ["phone", "callid"],
            {"description": "Who is calling; `{}` for an unknown contact.",
             "content": {"application/json": {"schema": {"type": "object", "properties": {
                 "contact_name": {"type": "string"}, "responsible": {"type": "string", "description": "login, extension or direct number"}}},
                 "example": {"contact_name": "Менеджер ЗАО Рога и копыта", "responsible": "andy"}}}},
            {"cmd": "contact", "phone": "79101234567", "callid": "B10D0EB124F4E64AF4EA-1511",
             "crm_token": "76fsd7tfs-fhjdgfdjsfsk-hfgsdguuuwoeiwey1111"}),
    }

    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Облачная АТС command API (crm_api.wcgp) — pbx-simulator", "version": "1.0.0", "description": inspect.cleandoc(DESC)},
        "servers": [{"url": "/", "description": "the simulator (the real service is https://{domain})"}],
        "tags": [{"name": "commands"}, {"name": "recordings"}],
        "paths": {
            "/sys/crm_api.wcgp": {
                "post": {
                    "operationId": "command",
                    "tags": ["commands"],
                    "summary": "Run a command (form fields `cmd`, `token` and the command's parameters)",
                    "description": "The documented way: a form-encoded POST. A JSON object body and a query string on the POST are read too (simulator); body fields win over the query string.",
                    "requestBody": {"required": True, "content": {
                        "application/x-www-form-urlencoded": {"schema": ref("CommandForm"), "examples": {
                            "accounts": {"value": {"cmd": "accounts", "token": "5f317b9f-e86c-41f7-a6fc-c76eb0da0000"}},
                            "makeCall": {"value": {"cmd": "makeCall", "token": "5f317b9f-e86c-41f7-a6fc-c76eb0da0000", "user": "andy", "phone": "79101234567"}},
                            "history": {"value": {"cmd": "history", "token": "5f317b9f-e86c-41f7-a6fc-c76eb0da0000", "period": "today", "type": "missed"}},
                            "subscribeOnCalls": {"value": {"cmd": "subscribeOnCalls", "token": "5f317b9f-e86c-41f7-a6fc-c76eb0da0000", "user": "andy", "group_id": "sales", "status": "off"}},
                            "set_dnd": {"value": {"cmd": "set_dnd", "token": "5f317b9f-e86c-41f7-a6fc-c76eb0da0000", "user": "andy", "state": "true"}}}},
                        "application/json": {"schema": ref("CommandForm"),
                                             "example": {"cmd": "get_dnd", "token": "5f317b9f-e86c-41f7-a6fc-c76eb0da0000", "user": "andy"}}}},
                    "security": [{}],
                    "responses": {"200": ok200, "400": err400, "401": err401, "413": err413},
                },
                "get": {
                    "operationId": "commandQuery",
                    "tags": ["commands"],
                    "summary": "Run a command with a query string (every command; clients use it for history)",
                    "parameters": get_params,
                    "security": [{"token": []}],
                    "responses": {"200": ok200, "400": err400, "401": err401},
                },
            },
            "/sys/crm_api.wcgp/records/{call_id}.mp3": {
                "get": {
                    "operationId": "recording",
                    "tags": ["recordings"],
                    "summary": "A call's recording (the `link` of the history webhook, the CSV's `record`)",
                    "description": "Fetched with a plain GET (no API token): `key` = first 32 hex digits of HMAC-SHA256(account token, call id); regenerating the token revokes old links.",
                    "security": [{}],
                    "parameters": [
                        {"name": "call_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9A-Za-z_-]+$"}},
                        {"name": "key", "in": "query", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "MP3 audio", "content": {"audio/mpeg": {"schema": {"contentMediaType": "audio/mpeg"}}}},
                        "401": {"description": "Wrong `key`", "content": {"application/json": {"schema": ref("InvalidToken"), "example": {"error": "Invalid token"}}}},
                        "404": {"description": "No such call, or it has no recording", "content": {"application/json": {"schema": ref("HttpError"), "example": {"error": "Not Found"}}}},
                    }}},
        },
        "webhooks": webhooks,
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "query", "name": "token",
                "description": "The PBX key (`token`). Documented as a form field of the POST body: there it is the required `token` property of every `Cmd_*` body schema; GET carries it in the query string."}},
            "schemas": schemas,
        },
    }
    return doc


def build_t2() -> dict:
    def err(details, message):
        return {"details": details, "message": message}

    def rref(name):
        return {"$ref": f"#/components/responses/{name}"}

    DATE_DESC = ("ISO-8601 date-time with an offset (`Z` or `±HH:MM`), seconds and a 1–9 digit fraction optional "
                 "(`2022-07-24T10:15:30+03:00`, `2024-06-22T10:15:30.000Z`). A `+` sent unencoded (arriving as a space) is read as `+`. "
                 "No offset, a date alone or garbage → 400 `Wrong parameter <name>`; absent → 400 `…is not present`; empty → 400 `…converted to null`.")

    # Java's OffsetDateTime: offsets up to ±18:00
    DATE_TIME = (f"^{calendar_date('-')}[Tt]{CLOCK}:{SIXTY}(:{SIXTY}([.,][0-9]{{1,9}})?)?"
                 f"([Zz]|[+-](0[0-9]|1[0-7]):?{SIXTY}|[+-]18:?00)$")

    def date_param(name, example):
        return {"name": name, "in": "query", "required": True, "description": DATE_DESC,
                "schema": {"type": "string", "pattern": DATE_TIME, "examples": [example]}, "example": example}

    def q(name, schema, desc, required=False, **extra):
        p = {"name": name, "in": "query", "required": required, "schema": schema, "description": desc}
        p.update(extra)
        return p

    INT_MAX = 2 ** 31 - 1     # Java's Integer: past it the backend cannot bind the parameter
    PAGE = q("page", {"type": "integer", "minimum": 0, "maximum": INT_MAX, "default": 0}, "Page number from 0. Not an integer, negative or past Java's Integer → 400 `Wrong parameter page`.")
    def SIZE(default): return q("size", {"type": "integer", "minimum": 1, "maximum": INT_MAX, "default": default},
                                 f"Page size (default {default}, capped at 2000). Not an integer, < 1 or past Java's Integer → 400 `Wrong parameter size`. `Size` is accepted too.")
    SIZE_ALIAS = q("Size", {"type": "integer", "minimum": 1, "maximum": INT_MAX}, "Seed 000's spelling of `size`.")
    def SORT(default, fields): return q("sort", {"type": "array", "default": [default], "items": {
        "type": "string", "pattern": f"^({'|'.join(fields)})(,({'|'.join(fields)}))*(,(ASC|DESC|asc|desc))?$"}},
        f"Spring sort: `field[,field…][,ASC|DESC]`, repeatable; fields: {', '.join(fields)}. Unknown field → 400 `Wrong parameter sort`.",
        style="form", explode=True)

    CALL_TYPES = ["SINGLE_CHANNEL", "MULTI_CHANNEL", "UNKNOWN_CALL", "INTERNAL", "HIMSELF", "INTERNAL_QUEUE",
                  "CRM_OUTGOING", "VOICEMAIL", "CONFERENCE", "CALLBACK", "PICKUP_CALL", "FAX", "OUTGOING", "CRM_CALLBACK"]
    CALL_STATUSES = ["ANSWERED_COMMON", "ANSWERED_BY_ORIGINAL_CLIENT", "ANSWERED_BY_BUSY_FORWARD_CLIENT",
                     "ANSWERED_BY_NO_ANSWER_FORWARD_CLIENT", "NOT_ANSWERED_COMMON", "CANCELLED_BY_CALLER",
                     "DENIED_DUE_TO_MAX_SESSION", "DENIED_DUE_TO_INCOMING_CALLS_BLOCKED",
                     "DENIED_DUE_TO_OUTGOING_CALLS_BLOCKED", "DENIED_DUE_TO_ONLY_INTERNAL_CALLS_ENABLED",
                     "DENIED_DUE_TO_BLACK_LISTED", "DENIED_NOT_IN_WHITE_LIST", "DENIED_DUE_TO_NOT_WORK_TIME",
                     "DENIED_DUE_TO_UNKNOWN_NUMBER", "DESTINATION_BUSY", "CANCELLED_BY_PICKUP"]
    RECORD_FIELDS = ["date", "callTimestamp", "callType", "destinationNumber", "callerNumber", "callerName", "calleeNumber",
                     "calleeName", "callDuration", "conversationDuration", "callStatus", "recordFileName"]
    MISSED_FIELDS = ["id", "startDate", "waitDuration", "callerNumber", "destinationNumber", "calleeCompanyId", "calleeNumber", "calleeName"]
    S = {"type": "string"}
    I = {"type": "integer"}
    MSISDN = {"type": "string", "pattern": "^7[0-9]{10}$"}
    TEXT = {"type": "string", "pattern": "\\S", "description": "Spring binds a blank value as null: refused as `…converted to null`"}

    schemas = {
        "Error": {"type": "object", "required": ["details", "message"], "additionalProperties": False,
                  "properties": {"details": S, "message": S}},
        "Forbidden": {"type": "object", "required": ["details", "message"], "additionalProperties": False,
                      "properties": {"details": {"enum": ["Authorization header required", "Bad token", "Invalid token type",
                                                          "The token has already been updated", "The token is expired"]},
                                     "message": {"const": "Forbidden"}}},
        "BadRequest": {"type": "object", "required": ["details", "message"], "additionalProperties": False,
                       "oneOf": [
                           {"title": "wrong value", "properties": {"details": {"const": "Bad request"},
                                                                   "message": {"type": "string", "pattern": "^Wrong parameter [A-Za-z_]+$"}}},
                           {"title": "required parameter absent or empty",
                            "properties": {"details": {"type": "string", "pattern": "^Required request parameter '[A-Za-z_]+' for method parameter type (OffsetDateTime|String|Integer|Long|Boolean) is (not present|present but converted to null)$"},
                                           "message": {"const": "Some of fields empty"}}}],
                       "properties": {"details": S, "message": S}},
        "NotFound": {"type": "object", "required": ["details", "message"], "additionalProperties": False,
                     "properties": {"details": S, "message": {"const": "Object not found"}}},
        "TooLarge": {"type": "object", "required": ["details", "message"], "additionalProperties": False,
                     "properties": {"details": {"const": "Maximum upload size exceeded"}, "message": {"const": "Payload Too Large"}}},
        "TokenPair": {"type": "object", "required": ["accessToken", "refreshToken"], "additionalProperties": False,
                      "properties": {"accessToken": {"type": "string", "description": "valid 1 day; every method below"},
                                     "refreshToken": {"type": "string", "description": "valid 7 days; only for this method"}}},
        "LiveCall": {"type": "object", "required": ["callType", "callerNumberFull"], "additionalProperties": False,
                     "properties": {"callType": {"enum": ["MULTI_CHANNEL", "INTERNAL", "SINGLE_CHANNEL", "CONFERENCE"]},
                                    "callerNumberShort": S, "callerNumberFull": S, "calledNumberShort": S, "calledNumberFull": S}},
        "Queue": {"type": "object", "required": ["queueName", "calls"], "additionalProperties": False,
                  "properties": {"queueName": {"type": "string", "description": "call-centre (department) name"},
                                 "calls": {"type": "array", "items": S, "description": "numbers waiting"}}},
        "Employee": {"type": "object", "required": ["employeeId"], "additionalProperties": False,
                     "properties": {"employeeId": I, "name": S, "surname": S, "fullNumber": S, "shortNumber": S,
                                    "email": S, "groupName": S},
                     "description": "Fields without a value are left out (seed example). `surname`, `shortNumber`, `groupName` as observed.md."},
        "CommonStatistics": {"type": "object", "additionalProperties": False,
                             "required": ["allCallCount", "successCallCount", "outgoingCallCount", "lostCallCount", "commonCallDuration",
                                          "averageCallDuration", "maxCallDuration", "callCountPerDay", "callCountPerHour",
                                          "mnAvgCallDuration", "mnMaxCallDuration", "averageCallCountPerHour", "transferCallCount",
                                          "transferCallDuration", "averageTransferCallDuration", "hangupACallCount", "hangupBCallCount",
                                          "uniqueCallCount", "redialCount", "internalCallCount", "internalCallDuration",
                                          "averageInternalCallDuration"],
                             "properties": {}},
        "JournalStatistics": {"type": "object", "additionalProperties": False,
                              "required": ["number", "startTimestamp", "endTimestamp", "numberOfCalls", "numberOfSuccessCalls"],
                              "properties": {"number": {"type": ["string", "null"]}, "startTimestamp": I, "endTimestamp": I,
                                             "numberOfCalls": I, "numberOfSuccessCalls": I}},
        "MissedCall": {"type": "object", "additionalProperties": False, "required": MISSED_FIELDS,
                       "properties": {"id": I, "startDate": {"type": "string", "description": "ISO OFFSET DATE TIME in the account's offset"},
                                      "waitDuration": I, "callerNumber": S, "destinationNumber": S, "calleeCompanyId": I,
                                      "calleeNumber": S, "calleeName": S}},
        "CallRecord": {"type": "object", "additionalProperties": False,
                       "required": ["callTimestamp", "date", "callType", "destinationNumber", "callerNumber", "callerName",
                                    "calleeNumber", "calleeName", "callDuration", "callStatus", "recordFileName"],
                       "properties": {"callTimestamp": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$",
                                                        "description": "UTC with milliseconds (seed 000)"},
                                      "date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$",
                                               "description": "the same value under seed 001's name"},
                                      "callType": {"enum": CALL_TYPES}, "destinationNumber": S, "callerNumber": S, "callerName": S,
                                      "calleeNumber": S, "calleeName": S,
                                      "callDuration": {"type": "integer", "description": "whole call, s"},
                                      "conversationDuration": {"type": "integer", "description": "talk, s; answered calls only"},
                                      "callStatus": {"enum": CALL_STATUSES},
                                      "recordFileName": {"type": "string", "description": "`YYYY-MM-DD/<digits>`, `\"\"` without a recording"}}},
        "TranscriptWord": {"type": "object", "additionalProperties": False, "required": ["channel", "startTime", "endTime", "word"],
                           "properties": {"channel": {"enum": ["A", "B"]}, "startTime": {"type": "number"}, "endTime": {"type": "number"}, "word": S}},
        "Customer": {"type": "object", "required": ["realNumber"],
                     "properties": {"id": I, "realNumber": {"type": "string", "minLength": 1}, "name": S, "companyName": S, "info": S,
                                    "isVip": {"type": "boolean"}, "isVIP": {"type": "boolean", "description": "seed table's spelling, accepted on input"}}},
        "CustomerOut": {"type": "object", "required": ["id", "realNumber", "isVip"], "additionalProperties": False,
                        "properties": {"id": I, "realNumber": S, "name": S, "companyName": S, "info": S, "isVip": {"type": "boolean"}}},
        "Manager": {"type": "object", "required": ["id", "employeeId", "companyId", "name", "customers", "handleAllCustomers"],
                    "additionalProperties": False,
                    "properties": {"id": I, "employeeId": I, "companyId": I, "name": S,
                                   "customers": {"type": "array", "items": ref("CustomerOut")}, "handleAllCustomers": {"type": "boolean"}}},
        "ManagerInput": {"type": "object", "required": ["id", "employeeId"],
                         "description": "«Менеджер». POST ignores `id`; PUT requires it. `companyId` and customers' `clientId`/`companyId` are ignored. Not a Manager (not JSON, wrong types, a customer without `realNumber`) → 400 `Wrong parameter manager`; unknown `employeeId` → 404.",
                         "properties": {"id": I, "employeeId": I, "companyId": I, "name": S,
                                        "customers": {"type": "array", "items": ref("Customer")},
                                        "handleAllCustomers": {"type": ["boolean", "null"]}}},
        "ManagerCreate": {"type": "object", "required": ["employeeId"],
                          "description": "«Менеджер» for POST: the PBX numbers it (an `id` sent is ignored; `GET /managers` lists it). Otherwise as `ManagerInput`.",
                          "properties": {"employeeId": I, "companyId": I, "name": S,
                                         "customers": {"type": "array", "items": ref("Customer")},
                                         "handleAllCustomers": {"type": ["boolean", "null"]}}},
        "SaveResult": {"enum": ["SUCCESS", "MANAGER_HANDLING_ALL_CUSTOMERS_ALREADY_EXISTS", "CUSTOMER_ALREADY_ASSIGNED"]},
        "BlacklistResult": {"enum": ["SUCCESS", "DUPLICATE_BLACK_LIST_NUMBER"]},
        "BlacklistEntry": {"type": "object", "required": ["id", "number", "sourceType"], "additionalProperties": False,
                           "properties": {"id": I, "number": S, "sourceType": {"enum": ["MANUAL", "FILE"]}}},
    }
    for f in schemas["CommonStatistics"]["required"]:
        schemas["CommonStatistics"]["properties"][f] = {"type": "number"} if f in ("callCountPerDay", "callCountPerHour") else I

    def content(schema, example=None, examples=None):
        m = {"schema": schema}
        if example is not None:
            m["example"] = example
        if examples:
            m["examples"] = {k: {"value": v} for k, v in examples.items()}
        return {"application/json": m}

    responses = {
        "Forbidden": {"description": "403: token missing, unparseable, of the wrong type, replaced, or expired (checked in that order).",
                      "content": content(ref("Forbidden"), examples={
                          "missing": err("Authorization header required", "Forbidden"),
                          "updated": err("The token has already been updated", "Forbidden"),
                          "expired": err("The token is expired", "Forbidden"),
                          "bad": err("Bad token", "Forbidden"),
                          "type": err("Invalid token type", "Forbidden")})},
        "BadRequest": {"description": "400: a parameter absent, empty, or not convertible.",
                       "content": content(ref("BadRequest"), examples={
                           "wrong": err("Bad request", "Wrong parameter start"),
                           "absent": err("Required request parameter 'start' for method parameter type OffsetDateTime is not present", "Some of fields empty"),
                           "empty": err("Required request parameter 'source' for method parameter type String is present but converted to null", "Some of fields empty")})},
        "TooLarge": {"description": "413: body over the server's limit (simulator; Spring's message in t2's shape).",
                     "content": content(ref("TooLarge"), example=err("Maximum upload size exceeded", "Payload Too Large"))},
    }
    def nf(details):
        return {"description": f"404 `{details}`", "content": content(ref("NotFound"), example=err(details, "Object not found"))}

    def op(opid, summary, ok, params=None, errors=(), security="accessToken", body=None, desc=None, tag=None):
        o = {"operationId": opid, "summary": summary, "tags": [tag] if tag else [],
             "security": [{security: []}], "responses": {"200": ok}}
        if desc: o["description"] = desc
        if params: o["parameters"] = params
        if body: o["requestBody"] = body
        for e in errors:
            if e == 400: o["responses"]["400"] = rref("BadRequest")
            elif e == 413: o["responses"]["413"] = rref("TooLarge")
            elif isinstance(e, tuple): o["responses"][str(e[0])] = e[1]
        o["responses"]["403"] = rref("Forbidden")
        return o

    def arr(name): return {"type": "array", "items": ref(name)}

    EMPTY_200 = {"description": "Done; empty body."}
    MANAGER_EX = {"id": 1, "employeeId": 433, "companyId": 391, "name": "Артем",
                  "customers": [{"id": 1, "realNumber": "79081581621", "companyName": "ММММ", "info": "специалист", "isVip": False},
                                {"id": 2, "realNumber": "79518045856", "companyName": "P&G", "isVip": False}],
                  "handleAllCustomers": False}
    # POST: the server numbers the manager (an `id` sent is ignored), so the document names none
    create_body = {"required": True, "content": {"application/json": {"schema": ref("ManagerCreate"), "example": {
        "employeeId": 433, "name": "Артем", "customers": [{"realNumber": "79081581621", "companyName": "ММММ", "info": "специалист", "isVip": False}],
        "handleAllCustomers": False}}}}
    manager_body = {"required": True, "content": {"application/json": {"schema": ref("ManagerInput"), "example": {"id": 1,
        "employeeId": 433, "name": "Артем", "customers": [{"realNumber": "79081581621", "companyName": "ММММ", "info": "специалист", "isVip": False}],
        "handleAllCustomers": False}}}}
    save_200 = {"description": "Save result (a JSON string); nothing is saved unless `SUCCESS`.",
                "content": content(ref("SaveResult"), example="SUCCESS")}

    paths = {
        "/crm/openapi/authorization/refresh/token": {"put": op(
            "refreshToken", "Refresh the token pair (the refresh token in Authorization, no body)",
            {"description": "A new pair; the previous one stops working.", "content": content(ref("TokenPair"), example={
                "accessToken": "eyJhbGciOiJIUzUxMiJ9.eyJVc2VyRGV0YWlsc0ltcGwiOnsiY29tcGFueUlkIjozOTEsInVzZXJJZCI6NTk3NiwibG9naW4iOiJwZ190ZXN0In0sImV4cCI6MTY2MzEzMDg5Nywic3ViIjoiQUNDRVNTX09QRU5BUElfVE9LRU4ifQ.sig",
                "refreshToken": "eyJhbGciOiJIUzUxMiJ9.eyJVc2VyRGV0YWlsc0ltcGwiOnsiY29tcGFueUlkIjozOTEsInVzZXJJZCI6NTk3NiwibG9naW4iOiJwZ190ZXN0In0sImV4cCI6MTY2MzczNTY5Nywic3ViIjoiUkVGUkVTSF9PUEVOQVBJX1RPS0VOIn0.sig"})},
            security="refreshToken", tag="authorization")},
        "/crm/openapi/monitoring/calls": {"get": op(
            "monitoringCalls", "Calls in progress",
            {"description": "Live calls; `called*` absent until the call reached B.", "content": content(arr("LiveCall"), example=[
                {"callType": "INTERNAL", "callerNumberShort": "0001", "callerNumberFull": "79535548834",
                 "calledNumberShort": "0002", "calledNumberFull": "79527745939"}])}, tag="monitoring")},
        "/crm/openapi/monitoring/calls/pending": {"get": op(
            "monitoringPending", "Callers waiting in call-centre queues",
            {"description": "One item per department with waiting callers.", "content": content(arr("Queue"), example=[
                {"queueName": "1", "calls": ["79527648162", "79527648163"]}])}, tag="monitoring")},
        "/crm/openapi/employees": {"get": op(
            "employees", "The company's employees",
            {"description": "Employees.", "content": content(arr("Employee"), example=[
                {"employeeId": 433, "name": "Артем", "fullNumber": "79081560008", "email": "asd@asd.ru"}, {"employeeId": 5412}])},
            tag="employees")},
        "/crm/openapi/call/outgoing": {"post": op(
            "callOutgoing", "Click-to-call: the PBX rings the employee (`source`), then the client (`destination`)",
            {"description": "Placed; empty body (no call id)."},
            params=[q("destination", TEXT, "Client's number; digits (a leading `+` dropped), else 400 `Wrong parameter destination`.", True, example="79101234567"),
                    q("source", TEXT, "Employee's full (7/8-prefixed) or short number; unknown → 404.", True, example="79081560008")],
            errors=[400, (404, nf("Employee not found by source number"))],
            desc="Also served as `/crm/openapi/call/outgoing/` (observed clients; every path answers with a trailing slash too). No body.",
            tag="calls")},
        "/crm/openapi/statistics/common": {"get": op(
            "statisticsCommon", "Call statistics over a period",
            {"description": "The 22 counters.", "content": content(ref("CommonStatistics"), example={
                "allCallCount": 22, "successCallCount": 8, "outgoingCallCount": 0, "lostCallCount": 5, "commonCallDuration": 178,
                "averageCallDuration": 10, "maxCallDuration": 72, "callCountPerDay": 4.333333333333333, "callCountPerHour": 0.18055555555555555,
                "mnAvgCallDuration": 22, "mnMaxCallDuration": 72, "averageCallCountPerHour": 0, "transferCallCount": 0,
                "transferCallDuration": 0, "averageTransferCallDuration": 0, "hangupACallCount": 5, "hangupBCallCount": 3,
                "uniqueCallCount": 6, "redialCount": 7, "internalCallCount": 9, "internalCallDuration": 717, "averageInternalCallDuration": 79})},
            params=[date_param("start", "2022-07-24T10:15:30+03:00"), date_param("end", "2022-07-26T10:15:30+03:00"),
                    q("subscriberNumber", S, "A number (7XXXXXXXXXX): only calls involving it. The seed lists it under path parameters; it is a query parameter.")],
            errors=[400], tag="statistics")},
        "/crm/openapi/statistics/journal": {"get": op(
            "statisticsJournal", "Number of calls (and successful ones) over a period",
            {"description": "Counts; `number` null without the parameter.", "content": content(ref("JournalStatistics"), example={
                "number": "7XXXXXXXXXX", "startTimestamp": 1486975130, "endTimestamp": 1487061531, "numberOfCalls": 6, "numberOfSuccessCalls": 3})},
            params=[date_param("start", "2023-03-21T10:15:30+03:00"), date_param("end", "2023-03-23T10:15:30+03:00"),
                    q("number", S, "Only calls involving this number.")],
            errors=[400], tag="statistics")},
        "/crm/openapi/statistics/missing": {"get": op(
            "statisticsMissing", "Missed calls to multichannel numbers (seed 000)",
            {"description": "Unanswered incoming calls to MCNs.", "content": content(arr("MissedCall"), example=[
                {"id": 31495476, "startDate": "2023-08-28T15:03:19.68+03:00", "waitDuration": 1, "callerNumber": "79365113627",
                 "destinationNumber": "79779117670", "calleeCompanyId": 559, "calleeNumber": "79779117670", "calleeName": " "}])},
            params=[date_param("start", "2023-08-01T13:54:21.699+00:00"), date_param("end", "2023-08-23T13:54:21.699+00:00"),
                    q("mcn_numbers", {"type": "array", "items": S}, "MCNs (7XXXXXXXXXX); repeated keys or comma-separated. Without it: every MCN.", style="form", explode=True),
                    q("mcn_numbers[]", {"type": "array", "items": S}, "The seed's bracketed spelling.", style="form", explode=True),
                    PAGE, SIZE(100), SORT("startDate", MISSED_FIELDS)],
            errors=[400], tag="statistics")},
        "/crm/openapi/call-records/info": {"get": op(
            "callRecordsInfo", "Call records over a period",
            {"description": "A bare array (the seed's example lacks the brackets).", "content": content(arr("CallRecord"), example=[
                {"callTimestamp": "2022-07-15T07:27:06.348Z", "date": "2022-07-15T07:27:06.348Z", "callType": "SINGLE_CHANNEL",
                 "destinationNumber": "79104739472", "callerNumber": "79000258890", "callerName": "Анастасия Исаева",
                 "calleeNumber": "79104739472", "calleeName": "Оля Заплаткина", "callDuration": 20, "conversationDuration": 6,
                 "callStatus": "ANSWERED_BY_ORIGINAL_CLIENT", "recordFileName": "2022-08-12/mo_166030684915821522"}])},
            params=[date_param("start", "2022-07-24T10:15:30+03:00"), date_param("end", "2022-07-26T10:15:30+03:00"),
                    q("caller", S, "Caller's number (full or short)."), q("callee", S, "Callee's or dialled number (full or short); with `caller`: calls between them only.", example="89056678798"),
                    q("is_recorded", {"type": "boolean", "default": False}, "Only recorded calls (`true/false/1/0/yes/no/on/off`; else 400 `Wrong parameter is_recorded`)."),
                    PAGE, SIZE(10), SIZE_ALIAS, SORT("date,ASC", RECORD_FIELDS)],
            errors=[400], tag="call-records")},
        "/crm/openapi/call-records/file": {"get": op(
            "callRecordsFile", "A call's recording",
            {"description": "MP3 (`Content-Disposition: attachment`).", "content": {"audio/mpeg": {"schema": {"contentMediaType": "audio/mpeg"}}},
             "headers": {"Content-Disposition": {"schema": {"type": "string", "pattern": "^attachment; filename=\".+\\.mp3\"$"}}}},
            params=[q("filename", TEXT, "`recordFileName` of a call record (`/` URL-encoded).", True, example="2022-08-12/mo_166030684915821522")],
            errors=[400, (404, nf("Record not found by filename"))], tag="call-records")},
        "/crm/openapi/call-records/file/stt": {"get": op(
            "callRecordsStt", "A call's transcript (speech to text)",
            {"description": "Words with channel and timing.", "content": content(arr("TranscriptWord"), example=[
                {"channel": "B", "startTime": 0.3, "endTime": 1.07998, "word": "информируем"},
                {"channel": "A", "startTime": 4.77, "endTime": 5.29985, "word": "двенадцать"}])},
            params=[q("filename", TEXT, "`recordFileName` (the seed's example double-encodes the `/`: `%252F`, also read). Required; the older spelling `Filename` stands in for it when absent.", True, example="2022-08-19/166243421852679930"),
                    q("Filename", S, "The older document's (seed 001) spelling of `filename`, read when `filename` is absent.", False)],
            errors=[400, (404, nf("Transcription not found for filename"))], tag="call-records")},
        "/crm/openapi/managers": {
            "get": op("managersList", "Personal managers", {"description": "Managers.", "content": content(arr("Manager"), example=[MANAGER_EX])}, tag="managers"),
            "post": op("managersCreate", "Create a personal manager", save_200, body=create_body,
                       errors=[(400, {"description": "400 `Wrong parameter manager`: the body is not a Manager.", "content": content(ref("BadRequest"), example=err("Bad request", "Wrong parameter manager"))}),
                               (404, nf("Object not found")), 413], tag="managers"),
            "put": op("managersUpdate", "Replace a personal manager (`id` required)", save_200, body=manager_body,
                      errors=[(400, {"description": "400 `Wrong parameter manager`", "content": content(ref("BadRequest"), example=err("Bad request", "Wrong parameter manager"))}),
                              (404, nf("Object not found")), 413], tag="managers"),
        },
        "/crm/openapi/managers/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": -(2 ** 63 - 1), "maximum": 2 ** 63 - 1},
                            "description": "Not an integer, or past Java's Long → 400 `Wrong parameter id`."}],
            "get": op("managersGet", "One personal manager", {"description": "The manager.", "content": content(ref("Manager"), example=MANAGER_EX)},
                      errors=[(400, {"description": "400 `Wrong parameter id`", "content": content(ref("BadRequest"), example=err("Bad request", "Wrong parameter id"))}),
                              (404, nf("Object not found"))], tag="managers"),
            "delete": op("managersDelete", "Delete a personal manager", EMPTY_200,
                         errors=[(400, {"description": "400 `Wrong parameter id`", "content": content(ref("BadRequest"), example=err("Bad request", "Wrong parameter id"))}),
                                 (404, nf("Object not found"))], tag="managers"),
        },
        "/crm/openapi/blacklist": {
            "get": op("blacklistList", "The blacklist", {"description": "Entries.", "content": content(arr("BlacklistEntry"), example=[
                {"id": 10622, "number": "79023581212", "sourceType": "MANUAL"}, {"id": 10700, "number": "79998889988", "sourceType": "MANUAL"}])}, tag="blacklist"),
            "post": op("blacklistAdd", "Add a number to the blacklist (the body is the bare number)",
                       {"description": "`SUCCESS` or `DUPLICATE_BLACK_LIST_NUMBER` (a JSON string).", "content": content(ref("BlacklistResult"), example="SUCCESS")},
                       params=[q("msisdn", S, "The number, read only when the body is empty (the seed's table lists it as a query parameter).")],
                       body={"required": True, "description": "The bare number 7XXXXXXXXXX, any content type (the seed sends `html/text`); whitespace, quotes, `+` and a `msisdn=` prefix tolerated. Not 7XXXXXXXXXX → 400 `Wrong parameter msisdn`; no body and no `msisdn` → 400 `…'msisdn'… is not present` (so the body is required unless `msisdn` is given).",
                             "content": {"text/plain": {"schema": MSISDN, "example": "79998887766"}}},
                       errors=[400, 413], tag="blacklist"),
        },
        "/crm/openapi/blacklist/all": {"delete": op(
            "blacklistDeleteAll", "Empty the blacklist", {"description": "`SUCCESS`", "content": content({"const": "SUCCESS"}, example="SUCCESS")}, tag="blacklist")},
        "/crm/openapi/blacklist/by-msisdn/{msisdn}": {"delete": op(
            "blacklistDelete", "Remove a number from the blacklist",
            {"description": "`SUCCESS`, also when the number was not listed.", "content": content({"const": "SUCCESS"}, example="SUCCESS")},
            params=[{"name": "msisdn", "in": "path", "required": True, "schema": S, "example": "79998887766"}], tag="blacklist")},
    }

    DESC = """t2 Corporate PBX CRM OpenAPI (seeds 000, ats2.t2.ru, and 001, ats2.tele2.ru) as the pbx-simulator serves it. Contract: shared/specs/t2.md, observed.md; resolutions: simulator/providers/t2/README.md.

    Authentication: `Authorization: <token>` (raw; `Bearer <token>` tolerated). Access tokens (1 day) for every method, the refresh token (7 days) only for `PUT /authorization/refresh/token`. Errors are `application/json` `{details, message}`: 403 (five documented reasons), 400 (`Wrong parameter <name>` / `Some of fields empty`), 404 (`Object not found`). Every path also answers with a trailing slash. t2 sends no webhooks."""

    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t2 Corporate PBX — CRM OpenAPI (pbx-simulator)", "version": "1.0.0", "description": inspect.cleandoc(DESC)},
        "servers": [{"url": "/", "description": "the simulator (the real service is https://ats2.t2.ru)"}],
        "security": [{"accessToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "accessToken": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "The access token (JWT, HS512), raw; `Bearer ` tolerated."},
                "refreshToken": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "The refresh token (only for the refresh method)."},
            },
            "schemas": schemas,
            "responses": responses,
        },
    }
    return doc


def build_phonet() -> dict:
    S = {"type": "string"}; I = {"type": "integer"}
    NS = {"type": ["string", "null"]}; NI = {"type": ["integer", "null"]}

    def text(desc, schema, example=None):
        m = {"schema": schema}
        if example is not None:
            m["example"] = example
        return {"description": desc, "content": {"text/plain": m}}

    def js(desc, schema, example=None, status_examples=None, headers=None):
        m = {"schema": schema}
        if example is not None:
            m["example"] = example
        r = {"description": desc, "content": {"application/json": m}}
        if headers:
            r["headers"] = headers
        return r

    def rr(name): return {"$ref": f"#/components/responses/{name}"}
    def q(name, schema, desc, required=False, **kw):
        p = {"name": name, "in": "query", "required": required, "schema": schema, "description": desc}
        p.update(kw); return p

    def op(opid, summary, ok, errors=(), params=None, body=None, security=True, desc=None, tag=None, ok_status="200"):
        o = {"operationId": opid, "summary": summary, "tags": [tag] if tag else [], "responses": {ok_status: ok}}
        if desc: o["description"] = desc
        if params: o["parameters"] = params
        if body:
            o["requestBody"] = body
        if not security:
            o["security"] = []
        for e in errors:
            if isinstance(e, tuple):
                o["responses"][str(e[0])] = e[1]
            else:
                o["responses"][str(e)] = rr({400: "BadRequest", 413: "TooLarge", 415: "UnsupportedMediaType", 404: "NotFound"}[e])
        if security:
            o["responses"]["403"] = rr("Forbidden")
        return o

    def body(schema, example):
        return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}

    LEG = {"type": ["object", "null"], "required": ["id", "ext", "displayName"], "additionalProperties": False,
           "properties": {"id": I, "ext": NS, "displayName": NS}}
    HLEG = {"type": "object", "required": ["id", "type", "displayName", "ext"], "additionalProperties": False,
            "properties": {"id": I, "type": {"enum": [1, 2, 4], "description": "1 employee, 2 department, 4 IVR/number"},
                           "displayName": NS, "ext": NS}}
    schemas = {
        "Authorize": {"type": "object", "required": ["domain", "apiKey"],
                      "properties": {"domain": {"type": "string", "pattern": "\\S", "description": "the account's domain (case-insensitive); blank → 400 `domain is required`"},
                                     "apiKey": {"type": "string", "minLength": 1, "description": "empty → 400 `apiKey is required`"}}},
        "MakeCall": {"type": "object", "required": ["legExt", "otherLegNum"],
                     "properties": {"legExt": {"type": ["string", "integer"], "pattern": "\\S", "description": "employee's extension (the doc's curl sends a number); blank → 400 `legExt is required`"},
                                    "otherLegNum": {"type": "string", "pattern": "[0-9]", "description": "number to call (must contain digits, else 400 `otherLegNum is invalid`); an employee's ext makes an internal call"}}},
        "Uuid": {"type": "object", "required": ["uuid"], "additionalProperties": False, "properties": {"uuid": S}},
        "ActiveLeg": {"type": "object", "additionalProperties": False,
                      "required": ["uuid", "parentUuid", "lastEvent", "dialAt", "bridgeAt", "lgDirection", "leg", "leg2", "otherLegs", "trunkNum", "trunkName"],
                      "properties": {"uuid": S, "parentUuid": NS, "lastEvent": {"enum": ["call.dial", "call.bridge"]},
                                     "dialAt": {"type": ["integer", "null"], "description": "epoch seconds (observed.md; account setting `active_calls_time_unit: ms` switches to ms)"},
                                     "bridgeAt": {"type": ["integer", "null"]},
                                     "lgDirection": {"enum": [1, 2, 4, 32, 64]}, "leg": LEG, "leg2": LEG,
                                     "otherLegs": {"type": ["array", "null"], "items": ref("OtherLeg")},
                                     "trunkNum": {"type": "string", "description": "the company line on internal calls too (observed.md: a null breaks the only real client)"},
                                     "trunkName": S}},
        "OtherLeg": {"type": "object", "additionalProperties": False, "required": ["id", "name", "num", "companyName", "url", "priority"],
                     "properties": {"id": NI, "name": NS, "num": NS, "companyName": NS, "url": NS, "priority": NI}},
        "CallRecord": {"type": "object", "additionalProperties": False,
                       "required": ["parentUuid", "uuid", "endAt", "lgDirection", "otherLegNum", "otherLegName", "leg", "leg2",
                                    "billSecs", "duration", "disposition", "transferHistory", "audioRecUrl", "trunk"],
                       "properties": {"parentUuid": NS, "uuid": S, "endAt": {"type": "integer", "description": "epoch ms"},
                                      "lgDirection": {"enum": [1, 2, 4, 32, 64], "description": "1 internal, 2 outgoing, 4 incoming, 32/64 pause"},
                                      "otherLegNum": NS, "otherLegName": NS, "leg": HLEG,
                                      "leg2": {"oneOf": [{"type": "null"}, HLEG]},
                                      "billSecs": {"type": "integer", "minimum": 0}, "duration": {"type": "integer", "minimum": 0},
                                      "disposition": {"enum": [0, 1, 2, 3, 4], "description": "0 answered, 1 no answer, 2 congestion, 3 failed, 4 busy"},
                                      "transferHistory": NS, "audioRecUrl": NS, "trunk": NS}},
        "User": {"type": "object", "additionalProperties": False, "required": ["id", "displayName", "ext", "email"],
                 "properties": {"id": I, "displayName": NS, "ext": NS, "email": NS}},
        "UserStatus": {"type": "object", "additionalProperties": False, "required": ["status"],
                       "properties": {"status": {"enum": [0, 1, 2], "description": "0 online, 1 offline, 2 not monitored"}}},
        "Value": {"type": "object", "required": ["value"],
                  "properties": {"id": NI, "enumValueCode": NS, "lastModified": NI, "value": S}},
        "Field": {"type": "object", "required": ["enumCode"],
                  "properties": {"id": NI, "enumCode": S, "values": {"type": "array", "items": ref("Value")}}},
        "ContactInput": {"type": "object",
                         "properties": {"id": NI, "firstName": NS, "lastName": NS, "companyTitle": NS, "responsibleUserId": NI,
                                        "createUserId": NI, "fields": {"type": ["array", "null"], "items": ref("Field")}},
                         "description": "Strict JSON types: a wrong type is 400 `Bad request: <field> is invalid`."},
        "ContactUpdate": {"allOf": [ref("ContactInput")], "required": ["id"],
                          "properties": {"id": {"type": "integer", "minimum": 1, "description": "the contact to update; absent, null or < 1 → 400 `id is required`"}}},
        "Contact": {"type": "object", "additionalProperties": False,
                    "required": ["id", "firstName", "lastName", "companyTitle", "lastModified", "responsibleUserId", "dateCreate", "createUserId", "fields"],
                    "properties": {"id": I, "firstName": NS, "lastName": NS, "companyTitle": NS, "lastModified": I,
                                   "responsibleUserId": I, "dateCreate": I, "createUserId": I,
                                   "fields": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                                          "required": ["id", "enumCode", "values"],
                                                                          "properties": {"id": I, "enumCode": S, "values": {"type": "array", "items": {
                                                                              "type": "object", "additionalProperties": False,
                                                                              "required": ["id", "enumValueCode", "lastModified", "value"],
                                                                              "properties": {"id": I, "enumValueCode": S, "lastModified": I, "value": S}}}}}}}},
        "Batch": {"type": "object", "required": ["contacts"],
                  "properties": {"merge": {"enum": [0, 1], "default": 0, "description": "0 create all; 1 update by id or merge by phone"},
                                 "contacts": {"type": "array", "items": {
                                     "type": "object", "description": "a `ContactInput`; one the server cannot take (a wrong type, no phone to merge by) is counted in `failed`, the rest are kept"}}}},
        "BatchResult": {"type": "object", "additionalProperties": False, "required": ["succeeded", "failed"],
                        "properties": {"succeeded": {"type": "integer", "minimum": 0}, "failed": {"type": "integer", "minimum": 0}}},
        "NoteInput": {"type": "object", "properties": {
            "id": NI, "elementId": NI, "elementType": NI, "noteType": NI, "dateCreate": NI, "lastModified": NI, "content": NS,
            "responsibleUserId": NI, "otherLegNum": NS, "otherLegName": NS, "status": {}, "errorMsg": NS, "uuid": NS, "end": NI,
            "legId": NI, "logicDirection": NI, "billSec": NI, "recordLink": NS, "trunk": NS, "tag": NS}},
        "NoteCreate": {"allOf": [ref("NoteInput")], "required": ["content"],
                       "properties": {"content": {"type": "string", "pattern": "\\S", "description": "the note's text; absent or blank → 400 `content is required`"}}},
        "NoteUpdate": {"allOf": [ref("NoteInput")], "required": ["id"],
                       "properties": {"id": {"type": "integer", "minimum": 1, "description": "the note to edit; absent, null or 0 → 400 `id is required`"}}},
        "Note": {"type": "object", "additionalProperties": False,
                 "required": ["id", "elementId", "elementType", "noteType", "dateCreate", "lastModified", "content", "responsibleUserId",
                              "otherLegNum", "otherLegName", "status", "errorMsg", "uuid", "end", "legId", "logicDirection", "billSec",
                              "recordLink", "trunk", "tag"],
                 "properties": {"id": I, "elementId": I, "elementType": I, "noteType": I, "dateCreate": I, "lastModified": I,
                                "content": NS, "responsibleUserId": I, "otherLegNum": NS, "otherLegName": NS, "status": {},
                                "errorMsg": NS, "uuid": NS, "end": I, "legId": I, "logicDirection": I, "billSec": I,
                                "recordLink": NS, "trunk": NS, "tag": NS}},
        "One": {"const": 1, "description": "success"},
    }
    responses = {
        "BadRequest": text("400: malformed JSON, a missing or invalid parameter (one line of plain text).",
                           {"type": "string", "pattern": "^Bad request: \\S+ .+$"}, "Bad request: timeFrom is required"),
        "Forbidden": text("403: no or no live `JSESSIONID` session; log in again.", {"const": "Forbidden"}, "Forbidden"),
        "NotFound": text("404: no such object (or no such path).", {"type": "string", "enum": ["Not Found", "Contact not found", "Note not found", "User not found", "Call not found", "Record not found"]}, "Not Found"),
        "TooLarge": text("413: body over the server's limit.", {"const": "Request Entity Too Large"}, "Request Entity Too Large"),
        "UnsupportedMediaType": text("415: not `application/json` (only with the account setting `strict_content_type`).", {"const": "Unsupported Media Type"}),
    }
    def nf(t): return (404, text(f"404 `{t}`", {"enum": [t, "Not Found"]}, t))

    HIST = [q("timeFrom", {"type": "integer", "minimum": 0}, "Window start, epoch **ms** (records whose end is in [timeFrom, timeTo)).", True, example=1435313000000),
            q("timeTo", {"type": "integer", "minimum": 0}, "Window end, epoch ms; not before `timeFrom`.", True, example=1435320000000),
            q("limit", {"type": "integer", "minimum": 1, "maximum": 50, "default": 50}, "1..50 (else 400, or clamped with `calls_limit_overflow: clamp`)."),
            q("offset", {"type": "integer", "minimum": 0, "default": 0}, "Records to skip.")]
    def DIRS(allowed): return q("directions", {"type": "array", "items": {"type": "integer", "enum": allowed}},
        f"lgDirection values to include ({', '.join(map(str, allowed))}); also `directions[0]=2&directions[1]=4`, comma lists and a summed bitmask (`directions=6`). Default 1|2|4.",
        style="form", explode=True)

    RECORD_EX = [{"parentUuid": None, "uuid": "d38f07d93b5947aac71194c6bebe1621", "endAt": 1435317888511, "lgDirection": 2,
                  "otherLegNum": "+380993034330", "otherLegName": "+380993034330",
                  "leg": {"id": 36, "type": 1, "displayName": "Васильев Андрей", "ext": "001"}, "leg2": None,
                  "billSecs": 4, "duration": 15, "disposition": 0, "transferHistory": "003 > 001",
                  "audioRecUrl": "https://podium.betell.com.ua/rest/public/calls/d38f07d93b5947aac71194c6bebe1621/audio", "trunk": "o=380442249895;"}]
    CONTACT_EX = {"id": 6137, "firstName": "Иван", "lastName": "Иванов", "companyTitle": "Telecom company", "lastModified": 1435317888511,
                  "responsibleUserId": 36, "dateCreate": 1435317888511, "createUserId": 36,
                  "fields": [{"id": 30001, "enumCode": "Телефон", "values": [{"id": 50001, "enumValueCode": "Рабочий", "lastModified": 1435317888511, "value": "+380442249895"}]}]}
    NOTE_EX = {"id": 1, "elementId": 6137, "elementType": 0, "noteType": 0, "dateCreate": 1435317888511, "lastModified": 1435317888511,
               "content": "Перезвонить", "responsibleUserId": 36, "otherLegNum": "", "otherLegName": None, "status": None, "errorMsg": None,
               "uuid": "", "end": 0, "legId": 0, "logicDirection": 0, "billSec": 0, "recordLink": "", "trunk": "", "tag": ""}
    ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}, "description": "contact id (digits; anything else is 404)"}
    CNT = {**ID, "name": "cntId"}    # a contact's notes: the path's id is the contact's, the body's the note's
    V2 = "/rest/crm/contacts/v2"
    LIST_PARAMS = [q("limit", {"type": "integer", "minimum": 0, "maximum": 60, "default": 30}, "0..60."),
                   q("offset", {"type": "integer", "minimum": 0, "default": 0}, "≥ 0.")]

    paths = {
        "/rest/security/authorize": {"post": op(
            "authorize", "Log in: domain + API key → JSESSIONID cookie",
            js("Logged in: `{}` and the session cookie (the only Set-Cookie; `JSESSIONID=…` first).", {"type": "object", "maxProperties": 0}, {},
               headers={"Set-Cookie": {"required": True, "schema": {"type": "string", "pattern": "^JSESSIONID=[0-9A-F]{32}; Path=/; HttpOnly$"},
                                       "example": "JSESSIONID=8D9B0A3C5E7F11223344556677889900; Path=/; HttpOnly"}}),
            errors=[(400, text("400: malformed body, or (with `strict_host`, the default) a Host that is not `domain`.", {"type": "string", "pattern": "^Bad request: "},
                               "Bad request: domain must equal the host the request was sent to (127.0.0.1); the account setting strict_host: false relaxes this")),
                    (401, text("401: unknown domain or wrong key (never 403 from the login).", {"const": "Invalid domain or apiKey"}, "Invalid domain or apiKey")), 413],
            body=body(ref("Authorize"), {"domain": "test4.phonet.com.ua", "apiKey": "bHGbn240QSjFJgydW0WyZ3v6UeNDT8CV"}),
            security=False, tag="session")},
        "/rest/user/makeCall": {"post": op(
            "makeCall", "Click-to-call: the employee (legExt) first, then the number",
            js("Placed.", ref("Uuid"), {"uuid": "47a968893984475bbca0e29dec144ce3"}),
            errors=[400, nf("User not found"), 413, 415],
            body=body(ref("MakeCall"), {"legExt": "001", "otherLegNum": "+380993034330"}), tag="calls")},
        "/rest/calls/active/v3": {"get": op(
            "activeCalls", "Calls in progress (one item per leg, dialAt descending)",
            js("Live legs.", {"type": "array", "items": ref("ActiveLeg")}, [
                {"uuid": "47a968893984475b8c20e29dec144ce3", "parentUuid": None, "lastEvent": "call.dial", "dialAt": 1431686100, "bridgeAt": None,
                 "lgDirection": 2, "leg": {"id": 36, "ext": "001", "displayName": "Иван Иванов"}, "leg2": None,
                 "otherLegs": [{"id": 6137, "name": "Telecom company", "num": "+380442249895", "companyName": None,
                                "url": "https://self.phonet.com.ua/features/crm/contacts/edit.jsp#/?id=6137", "priority": 1}],
                 "trunkNum": "+380442246595", "trunkName": "+380442246595"}]), tag="calls")},
        "/rest/calls/active/{uuid}/hangup": {"get": op(
            "hangup", "End a call (a state-changing GET)", {"description": "Ended; empty body."},
            params=[{"name": "uuid", "in": "path", "required": True, "schema": S, "description": "a live call's or leg's uuid (dashes and case ignored)"}],
            errors=[nf("Call not found")], tag="calls")},
        "/rest/calls/company.api": {"get": op(
            "companyCalls", "Completed calls of the company", js("Records, newest end first.", {"type": "array", "items": ref("CallRecord")}, RECORD_EX),
            params=HIST + [DIRS([1, 2, 4])], errors=[400], tag="history")},
        "/rest/calls/missed.api": {"get": op(
            "missedCalls", "Missed incoming calls not called back", js("Records, newest end first.", {"type": "array", "items": ref("CallRecord")}),
            params=HIST, errors=[400], tag="history")},
        "/rest/calls/users.api": {"get": op(
            "usersCalls", "Completed calls per employee leg", js("Records, newest end first.", {"type": "array", "items": ref("CallRecord")}),
            params=HIST + [DIRS([1, 2, 4, 32, 64])], errors=[400], tag="history")},
        "/rest/users": {"get": op(
            "users", "Employees (by ext)", js("Users.", {"type": "array", "items": ref("User")}, [
                {"id": 30, "displayName": "Иван Иванов", "ext": "901", "email": "ivan.ivanov@phonet.com.ua"}]), tag="users")},
        "/rest/user/status": {"get": op(
            "userStatus", "Status of the user the API acts as", js("Status.", ref("UserStatus"), {"status": 1}), tag="users")},
        V2 + "/searchByOLNum": {"get": op(
            "contactsByNumber", "Teler contacts with a phone number (digits; equal or ≥ 9-digit suffix)",
            js("Contacts (`[]` when none).", {"type": "array", "items": ref("Contact")}, [CONTACT_EX]),
            params=[q("otherLegNum", S, "The number.", True, example="+380442249895")] + LIST_PARAMS, errors=[400], tag="contacts")},
        V2 + "/batch": {"post": op(
            "contactsBatch", "Upload contacts (create, or merge by id / phone)", js("Counts.", ref("BatchResult"), {"succeeded": 2, "failed": 0}),
            ok_status="201", body=body(ref("Batch"), {"merge": 1, "contacts": [{"firstName": "Иван", "fields": [{"enumCode": "Телефон", "values": [{"value": "+380442249895"}]}]}]}),
            errors=[400, 413, 415], tag="contacts")},
        V2 + "/": {
            "get": op("contactsList", "List Teler contacts (by id)", js("Contacts.", {"type": "array", "items": ref("Contact")}, [CONTACT_EX]),
                      params=LIST_PARAMS + [
                          q("searchText", S, "Substring of field values (and names)."),
                          q("field", {"type": "array", "items": S}, "Restrict `searchText` to these enumCodes.", style="form", explode=True),
                          q("searchNoteText", S, "Substring of a note's content."),
                          q("filterBy", {"enum": [0, 1], "default": 1}, "1: `from`/`to` on lastModified; 0: on dateCreate."),
                          q("from", I, "ms, inclusive."), q("to", I, "ms, inclusive; not before `from`.")],
                      errors=[400], desc="Also served without the trailing slash.", tag="contacts"),
            "post": op("contactUpdate", "Update a contact (never creates; `id` required)", js("Updated.", ref("One"), 1),
                       body=body(ref("ContactUpdate"), {"id": 6137, "firstName": "Иван", "lastName": "Петров"}),
                       errors=[400, nf("Contact not found"), 413, 415], desc="Also served without the trailing slash.", tag="contacts"),
        },
        V2 + "/{id}": {
            "get": op("contactGet", "One contact", js("The contact.", ref("Contact"), CONTACT_EX), params=[ID], errors=[nf("Contact not found")], tag="contacts"),
            "delete": op("contactDelete", "Delete a contact (and its notes)", js("Deleted.", ref("One"), 1), params=[ID], errors=[nf("Contact not found")], tag="contacts"),
        },
        V2 + "/{cntId}/notes": {
            "get": op("notesList", "A contact's notes", js("Notes.", {"type": "array", "items": ref("Note")}, [NOTE_EX]), params=[CNT], errors=[nf("Contact not found")], tag="notes"),
            "post": op("noteCreate", "Add a note", js("The note (20 keys).", ref("Note"), NOTE_EX), params=[CNT],
                       body=body(ref("NoteCreate"), {"content": "Перезвонить", "responsibleUserId": 36}),
                       errors=[400, nf("Contact not found"), 413, 415], tag="notes"),
            "put": op("noteUpdate", "Edit a note (the body's `id` names it)", js("Updated.", ref("One"), 1), params=[CNT],
                      body=body(ref("NoteUpdate"), {"id": 1, "content": "Перезвонил"}),
                      errors=[400, (404, text("404 `Contact not found` / `Note not found`", {"enum": ["Contact not found", "Note not found", "Not Found"]}, "Note not found")), 413, 415], tag="notes"),
        },
        V2 + "/{cntId}/notes/{noteId}": {"delete": op(
            "noteDelete", "Delete a note", js("Deleted.", ref("One"), 1),
            params=[{"name": "cntId", "in": "path", "required": True, "schema": I}, {"name": "noteId", "in": "path", "required": True, "schema": I}],
            errors=[(400, rr("BadRequest")), (404, text("404 `Contact not found` / `Note not found`", {"enum": ["Contact not found", "Note not found", "Not Found"]}, "Note not found"))], tag="notes")},
        "/rest/public/calls/{name}/audio": {"get": op(
            "callAudio", "A call's recording (public, no session)",
            {"description": "MP3 of the talk.", "content": {"audio/mpeg": {"schema": {"contentMediaType": "audio/mpeg"}}}},
            params=[{"name": "name", "in": "path", "required": True, "schema": S, "description": "`<uuid>`, or `<uuid>-rx` / `<uuid>-tx` for one channel"}],
            errors=[nf("Record not found")], security=False, tag="recordings")},
    }

    DESC = """Phonet cloud PBX REST API (seed 003) as the pbx-simulator serves it. Contract: shared/specs/phonet.md (+ phonet.endpoints.yaml), observed.md; resolutions: simulator/providers/phonet/README.md.

    Authentication: `POST /rest/security/authorize` with `{domain, apiKey}` answers `{}` and `Set-Cookie: JSESSIONID=…`; every other method (but the public recording) needs `Cookie: JSESSIONID=<id>`, else 403 `Forbidden` (clients log in again). Answers are JSON; every error is one line of `text/plain; charset=UTF-8` (`Bad request: <param> <reason>`, `Invalid domain or apiKey`, `Forbidden`, `… not found`). Times: `endAt`, `timeFrom`/`timeTo` and contact times in epoch ms; `dialAt`/`bridgeAt` of active calls in epoch seconds, of webhooks (with `serverTime`) in epoch ms (observed.md; a switch per place: `active_calls_time_unit`, `webhook_time_unit`). The login must be sent to the host equal to `domain` (account setting `strict_host: false` relaxes it).

    The PBX → CRM webhooks (`call.settings` lookup, `call.dial`/`call.bridge`/`call.hangup`, UTM batches) are under `webhooks`."""

    EVENT_PROPS = {"event": {"enum": ["call.dial", "call.bridge", "call.hangup"]}, "accountDomain": S, "uuid": S, "parentUuid": NS,
                   "dialAt": I, "bridgeAt": NI, "serverTime": I,
                   "lgDirection": {"enum": [1, 2, 4, 32, 64]}, "leg": LEG, "leg2": LEG,
                   "otherLegs": {"type": ["array", "null"], "items": ref("OtherLeg")}, "trunkNum": NS, "trunkName": NS}
    UTM_FIELDS = ["utmSource", "utmMedium", "utmCampaign", "utmContent", "utmTerm", "googleClientId", "clientIp", "referrer",
                  "otherLegNum", "trunkSource", "label"]
    IGNORED = {"200": {"description": "Any 2xx; the answer is ignored (no retries for UTM)."}}
    webhooks = {
        "call.settings": {"post": {
            "summary": "Contact lookup (PBX → CRM), before routing; receivers tell it from an event by the missing `event` field",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object", "required": ["request", "otherLegNum", "trunkNum"],
                           "properties": {"request": {"const": "call.settings"}, "otherLegNum": S,
                                          "trunkNum": {"type": ["string", "null"], "description": "null on outgoing calls"}}},
                "example": {"request": "call.settings", "otherLegNum": "+380442246595", "trunkNum": "0800218500"}}}},
            "responses": {"200": {"description": "A CRM entry (`name`, `url`, `responsible`…), `newEntry`/`newEntity`, or the Chrome-extension shape: schemas/crm/phonet/call.settings.json. Anything else means no contact.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "call.event": {"post": {
            "summary": "`call.dial` / `call.bridge` / `call.hangup` (PBX → CRM); every key always present; receivers de-duplicate on (uuid, event)",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object", "required": list(EVENT_PROPS), "properties": EVENT_PROPS,
                           "description": "`dialAt`/`bridgeAt`/`serverTime` in epoch milliseconds (observed.md; `webhook_time_unit: s` switches). On external calls `otherLegs` always holds the client (`id`/`name`/`url` null when unknown)."}}}},
            "responses": IGNORED}},
        "utm": {"post": {
            "summary": "UTM-tag batch (PBX → CRM): a JSON array, once a minute, of the tagged calls that ended",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": UTM_FIELDS + ["callDate", "callStart", "callParentUuid"],
                    "properties": {**{f: S for f in UTM_FIELDS}, "callDate": {"type": "integer", "description": "end, epoch ms"},
                                   "callStart": {"type": "integer", "description": "start, epoch ms"}, "callParentUuid": S}}},
                "example": [{"utmSource": "google", "utmMedium": "cpc", "utmCampaign": "(not set)", "utmContent": "(not set)",
                             "utmTerm": "(not set)", "googleClientId": "1340605716.1544986520", "clientIp": "91.243.203.133",
                             "referrer": "https://www.google.com/", "otherLegNum": "+380505826633", "trunkSource": "380991280042",
                             "label": "callcatcher\n firstcall", "callDate": 1549954944251, "callStart": 1549954873000,
                             "callParentUuid": "005f1dfae76d4c379e1d4095c07a76a2"}]}}},
            "responses": IGNORED}},
    }

    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Phonet REST API (pbx-simulator)", "version": "1.0.0", "description": inspect.cleandoc(DESC)},
        "servers": [{"url": "/", "description": "the simulator (the real service is https://{domain})"}],
        "security": [{"session": []}],
        "paths": paths,
        "webhooks": webhooks,
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "JSESSIONID",
                                                       "description": "The session from `POST /rest/security/authorize` (32 upper-case hex digits); idle expiry 30 min on the simulator clock."}},
                       "schemas": schemas, "responses": responses},
    }
    return doc


BUILDERS = {"cloudpbx": build_cloudpbx, "t2": build_t2, "phonet": build_phonet}


def main(argv: list[str]) -> None:
    for name, build in BUILDERS.items():
        (OUT / f"{name}.json").write_text(render(build()), encoding="utf-8")


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
