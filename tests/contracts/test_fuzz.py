"""Schemathesis against each provider's OpenAPI document, on a simulator served on a loopback
port, with every check schemathesis registers: no 5xx, every answer conforms to the document
(status, content type, headers, body schema), schema-valid requests are accepted and
schema-violating ones refused, nothing deleted is still there and nothing created is missing.

Bounded and repeatable: a few derandomized examples per operation and generation mode
(positive: data the document allows; negative: data it forbids), no example database.
Credentials come from schemathesis auth hooks (``schema.auth()``): t2 access token in
``Authorization``, vats ``X-API-KEY``, phonet ``JSESSIONID`` cookie from
``/rest/security/authorize``, cloudpbx ``token`` field (query string or form body).
Findings go to ``schemas/openapi/FINDINGS.md`` with a strict xfail in ``XFAIL`` (none open). A check
that does not apply to one operation is listed in ``NOT_APPLICABLE`` with its reason. A stateful
phase follows the links schemathesis infers in each document (``test_stateful_sequences``), a few
short sequences each, with the recorder the stateful checks read. The admin API (``/_sim``) is fuzzed
the same way on a server of its own (``test_fuzz_admin``, ``test_stateful_admin``). cloudpbx has
one command endpoint: no answer names another operation's parameter (a recording link needs a key
no answer holds), so it has no links and its stateful test is skipped.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from collections.abc import MutableMapping
from functools import lru_cache
from typing import Any

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTRY, is_check_class, load_all_checks
from schemathesis.core.failures import FailureGroup

from simulator.snapshot import Snapshot

from .live import LiveSimulator
from .openapi_check import PROVIDERS, document

MAX_EXAMPLES = 12
load_all_checks()
# every check schemathesis registers (its own registry, not a hand list)
CHECKS = [check for check in REGISTRY.get_all() if not is_check_class(check)]

# (provider, operation label, mode) → reason: open findings (schemas/openapi/FINDINGS.md)
XFAIL: dict[tuple[str, str, str], str] = {
}
# /_sim is a test API with many operations: fewer examples each keep the module's time bounded
ADMIN_EXAMPLES = 6
# fewer examples where one is slow to draw (a whole snapshot)
EXAMPLES = {("admin", "PUT /_sim/snapshot"): 3}

# (provider, operation label) → {check name: why it does not apply there}
NOT_APPLICABLE: dict[tuple[str, str], dict[str, str]] = {
    ("vats", "GET /crmapi/v1/users/{login}/subscription"): {
        "use_after_free": "DELETE …/subscription switches the employee's call receiving off (seed 002 §6.9); "
                          "it removes nothing, so GET then answers {\"state\": false} (§6.7)"},
    ("phonet", "POST /rest/crm/contacts/v2/"): {
        "ensure_resource_availability": "this POST updates a contact (the provider's verb; it never creates, seed §4.13), "
                                        "so there is no new resource for a later call to find"},
    ("admin", "POST /_sim/clock"): {
        "positive_data_acceptance": "how far the clock may move depends on where it is now (the result must be in "
                                    "1970-01-02 … 3000-01-01); a schema cannot relate a value to the server's time"},
    ("admin", "POST /_sim/scenarios/run"): {
        "positive_data_acceptance": "the body's scenario is YAML text; its own schema (schemas/scenario.schema.json) "
                                    "applies to the parsed document, which JSON Schema cannot reach inside a string"},
    ("admin", "POST /_sim/accounts"): {
        "positive_data_acceptance": "an account's seed is a small world whose parts name each other (department "
                                    "members, managers, routes' targets are its seeded logins and numbers; traffic "
                                    "weights need one above 0); the schema gives each part's shape, not those ties"},
    ("admin", "POST /_sim/calls"): {
        "positive_data_acceptance": "a call's parties are the account's own employees and numbers, which by "
                                    "direction (in: a company number, internal: two employees …); the schema gives "
                                    "strings, not which ones name them (unknown ones are 400/404, documented)"},
    **{("admin", f"GET /_sim/calls/{{call_id}}/{what}"): {
        "ensure_resource_availability": f"a call has a {what} once it has ended; one just placed is live (this "
                                        "server's clock is manual), so 404 is the documented answer"}
       for what in ("history", "recording")},
    **{("admin", f"POST /_sim/calls/{{call_id}}/{action}"): {
        "ensure_resource_availability": "a placed call lives only until its outcome (busy, forbidden, not found … end "
                                        "at once); acting on one that ended is the documented 404 no such live call"}
       for action in ("hangup", "hold", "answer", "transfer")},
    ("admin", "POST /_sim/verify"): {
        "positive_data_acceptance": "422 is this operation's answer \"not verified\" to a well-formed question "
                                    "(documented), not a refusal of the request"},
    ("admin", "PUT /_sim/snapshot"): {
        "positive_data_acceptance": "a snapshot is this server's own export: records that name each other and a clock "
                                    "in range; the schema gives its shape, not that consistency (bad ones are 400)"},
}


def excluded(provider: str, label: str) -> list:
    names = NOT_APPLICABLE.get((provider, label), {})
    return [check for check in CHECKS if check.__name__ in names]


def fuzz_config() -> dict:
    gen = {"employees": 4, "departments": 2, "numbers": 2, "blacklist": 2, "sims": 2,
           "managers": 1, "contacts": 3, "calls": 6}
    return {
        "server": {"seed": 11},
        "accounts": [
            {"id": "t2", "provider": "t2", "domain": "ats2.t2.ru", "seed": {"generate": gen}},
            {"id": "vats", "provider": "vats", "domain": "test.megapbx.ru", "seed": {"generate": gen}},
            {"id": "phonet", "provider": "phonet", "domain": "test4.phonet.com.ua",   # Host is 127.0.0.1
             "settings": {"strict_host": False}, "seed": {"generate": gen}},
            {"id": "cloudpbx", "provider": "cloudpbx", "domain": "test.cloudpbx.ru", "seed": {"generate": gen}},
        ],
    }


@pytest.fixture(scope="module")
def live():
    server = LiveSimulator(fuzz_config()).start()
    yield server
    server.stop()


def known_values(live: LiveSimulator, provider: str) -> dict[str, list]:
    """Values that name something in the live account, by parameter or body field name: without
    them nearly every generated id names nothing and only the 404 / "unknown user" branch runs."""
    state = live.sim.account(provider).state
    employees = sorted(state.employees.values(), key=lambda e: e.id)
    logins = [e.login for e in employees]
    exts = [e.ext for e in employees]
    calls = [c.id for c in state.cdrs]
    recorded = [c.id for c in state.cdrs if c.record_file]
    contacts = sorted(state.contacts)
    return {
        "t2": {"id": sorted(state.managers), "msisdn": sorted(state.blacklist),
               "source": [e.direct_number or e.mobile for e in employees] + exts,
               "employeeId": [e.id for e in employees], "destination": ["79101234567"],
               "filename": [c.record_file for c in state.cdrs if c.record_file and c.answered_at is not None]},
        "vats": {"login": logins, "groupId": sorted(state.departments), "user": logins, "phone": ["79101234567"],
                 "telnum": sorted(state.numbers) + sorted(state.sims), "callid": recorded,
                 "add": logins, "remove": logins, "calls_disable": logins, "group": sorted(state.departments)},
        "phonet": {"id": contacts, "cntId": contacts, "legExt": exts, "otherLegNum": ["+380993034330"],
                   "noteId": sorted(n.id for c in state.contacts.values() for n in c.notes),
                   "uuid": calls, "name": recorded + [f"{c}-rx" for c in recorded[:2]]},
        "cloudpbx": {"call_id": recorded, "user": logins + exts, "group_id": sorted(state.departments),
                     "phone": ["79101234567"]},
    }[provider]


@lru_cache(maxsize=None)
def schema_of(provider: str):
    schema = schemathesis.openapi.from_dict(document(provider))
    # NUL is refused in every text field by every provider and /_sim (simulator/body.py: their
    # stores cannot hold it), as each document's description says; JSON Schema has no short way
    # to say "no U+0000 in any string or key", so generation leaves it out
    schema.config.generation.update(allow_x00=False)
    return schema


def labels(provider: str) -> list[str]:
    doc = document(provider)
    if doc is None:
        return []
    return [f"{method.upper()} {path}" for path, item in doc["paths"].items()
            for method in item if method in ("get", "post", "put", "patch", "delete")]


def _set(container: Any, name: str, value: str) -> Any:
    if container is None:
        return {name: value}
    if isinstance(container, MutableMapping):
        container[name] = value
    return container


# ---- auth hooks: credentials of the live simulator's account ---------------------------------

def credentials(live: LiveSimulator, provider: str) -> dict:
    return dict(live.sim.account(provider).credentials)


def install_auth(schema, live: LiveSimulator, provider: str) -> None:
    creds = credentials(live, provider)

    if provider == "cloudpbx":
        @schema.auth()
        class CloudPbxToken:
            def get(self, case, ctx):
                return creds["token"]

            def set(self, case, token, ctx):
                if case.method == "GET":
                    case.query = _set(case.query, "token", token)
                else:
                    case.body = _set(case.body, "token", token)

    elif provider == "t2":
        @schema.auth()
        class T2Token:
            """The account's current pair, read at each request: fuzzing the refresh endpoint
            replaces it."""
            def get(self, case, ctx):
                return "current"

            def set(self, case, _, ctx):
                pair = live.sim.account("t2").credentials
                token = pair["refresh_token"] if case.path.endswith("/refresh/token") else pair["access_token"]
                case.headers = _set(case.headers, "Authorization", token)

    elif provider == "vats":
        @schema.auth()
        class VatsKey:
            def get(self, case, ctx):
                return creds["api_key"]

            def set(self, case, key, ctx):
                case.headers = _set(case.headers, "X-API-KEY", key)

    elif provider == "phonet":
        @schema.auth()
        class PhonetSession:
            """The session the test logged in with (``login_phonet``) after resetting the
            account: a reset ends every session."""
            def get(self, case, ctx):
                return "current"

            def set(self, case, _, ctx):
                if "security/authorize" not in case.path:
                    case.cookies = _set(case.cookies, "JSESSIONID", _phonet_session["id"])


_phonet_session: dict[str, str] = {}


def login_phonet(live: LiveSimulator) -> None:
    account = live.sim.account("phonet")
    resp = requests.post(f"{live.url}/rest/security/authorize",
                         json={"domain": account.domain, "apiKey": account.credentials["api_key"]}, timeout=10)
    assert resp.status_code == 200, resp.text
    _phonet_session["id"] = resp.cookies["JSESSIONID"]


CASES = []
for _provider in PROVIDERS:
    for _label in labels(_provider):
        for _mode in ("positive", "negative"):
            reason = XFAIL.get((_provider, _label, _mode))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            CASES.append(pytest.param(_provider, _label, _mode, id=f"{_provider}-{_label}-{_mode}", marks=marks))


_installed: set[tuple[str, int]] = set()


# Pairs a server refuses out of order (a window whose end is before its start): JSON Schema cannot
# relate two fields, so positive data is drawn in order; negative data is left alone.
ORDERED = {"phonet": [("timeFrom", "timeTo"), ("from", "to")], "vats": [("start", "end")]}
# top-level body fields that name the thing being made: never one that exists (the examples of
# one operation run on one account, so an earlier example may have made it)
def memberships(live: LiveSimulator, provider: str) -> list[tuple[str, str]]:
    """(login, department id) of every department member of the account."""
    state = live.sim.account(provider).state
    return sorted((state.employees[m.employee_id].login, d.id) for d in state.departments.values()
                  for m in d.members if m.employee_id in state.employees)


def taken_values(live: LiveSimulator, provider: str) -> dict[str, set[str]]:
    """What a create body may not name again, in the seeded account."""
    if provider != "vats":
        return {}
    state = live.sim.account(provider).state
    return {"login": {e.login for e in state.employees.values()},
            "ext": {e.ext for e in state.employees.values()} | {d.ext for d in state.departments.values()}}


NEW_IN_BODY = {"vats": ("login", "ext")}
# operations whose examples each start from the seeded account: their bodies make things whose
# names must be unique (a login, an extension), and one example must not take another's
FRESH_EACH_EXAMPLE = {("vats", "POST /crmapi/v1/users"), ("vats", "PUT /crmapi/v1/users/{login}"),
                      ("vats", "POST /crmapi/v1/groups"), ("vats", "PUT /crmapi/v1/groups/{groupId}")}


def _moment(value: Any) -> Any:
    """A comparable reading of a window bound: an integer, or a vats date in one of its forms."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) != 8:
        return int(value)
    text = str(value)
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _in_order(provider: str, values: Any) -> bool:
    """No window (at any depth) ends before it starts; an unreadable bound is left to the server."""
    if isinstance(values, list):
        return all(_in_order(provider, item) for item in values)
    if not isinstance(values, dict):
        return True
    for first, then in ORDERED.get(provider, ()):
        try:
            if values.get(first) not in (None, "") and values.get(then) in (None, "") and provider == "vats":
                if isinstance(values[first], str) and _moment(values[first]) > _now[provider]:
                    return False       # no end is "now"
            if values.get(first) not in (None, "") and values.get(then) not in (None, ""):
                if _moment(values[then]) < _moment(values[first]) or (
                        isinstance(values[first], int) and provider == "vats" and values[then] == values[first]):
                    return False
        except (TypeError, ValueError, OverflowError):
            continue
    return all(_in_order(provider, item) for item in values.values())


def install_known_values(schema, live: LiveSimulator, provider: str) -> None:
    if getattr(schema, "_known_values_hook", False):
        return      # reads ``_known`` (refreshed by each test): installed once per schema
    schema._known_values_hook = True

    def with_known(values, where):
        """Positive data names what exists: every field whose name is a reference (a login, a
        department, a call id …), at any depth and in lists, is set to a real one. The document
        can say what shape a login has, not which logins exist; an unknown one is the server's
        400 or 404, which negative data covers (left as drawn: a real value there would replace
        the very one made invalid)."""
        if not isinstance(values, dict):
            return st.just(values)
        # a snapshot per test (shrinking replays must draw alike); a sequence reads the account
        known = known_values(live, provider) if provider in _live_known else _known[provider]
        new = NEW_IN_BODY.get(provider, ()) if where == "body" else ()
        fixed = {name: values[name] for name in new if name in values}   # top level: the thing made
        taken = taken_values(live, provider) if provider in _live_known else _taken[provider]
        drawn = real({k: v for k, v in values.items() if k not in fixed}, known).map(lambda v: {**v, **fixed})
        if provider == "cloudpbx" and "user" in values and "group_id" in values:
            # a group_id must be a department of the user (seed: else 400 [group_id]): a real pair
            pairs = memberships(live, provider)
            drawn = drawn.flatmap(lambda v: st.sampled_from(pairs).map(lambda p: {**v, "user": p[0], "group_id": p[1]}))
        return drawn.filter(lambda values: _in_order(provider, values) and all(
            str(values[name]) not in taken.get(name, ()) for name in new if name in values))

    @schema.hook
    def flatmap_case(context, case):
        if case.meta is not None and case.meta.generation.mode.is_negative:
            return st.just(without_winning_period(case))
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return st.just(case)

        def put(parts):
            case.path_parameters, case.query, case.body = parts
            return case
        return st.tuples(with_known(case.path_parameters, "path"), with_known(case.query, "query"),
                         with_known(case.body, "body")).map(put)


PERIODS = {"today", "yesterday", "this_week", "last_week", "this_month", "last_month"}


def without_winning_period(case):
    """A negative vats/cloudpbx history case with a valid ``period`` beside ``start``/``end``,
    without the period. The seeds export the period "независимо от значения start и end"
    (whatever start and end hold), so beside one a malformed start is rightly accepted; without
    it the case stays as negative as drawn (the period was valid, the invalid part is elsewhere)
    and the server's check of start/end is what it meets."""
    for part in ("query", "body"):
        values = getattr(case, part)
        period = values.get("period") if isinstance(values, dict) else None
        if isinstance(period, str) and period in PERIODS and ("start" in values or "end" in values):
            setattr(case, part, {k: v for k, v in values.items() if k != "period"})
    return case


def real(value: Any, known: dict[str, list]) -> st.SearchStrategy:
    """``value`` with each reference in it (a dict key named in ``known``) drawn from ``known``."""
    if isinstance(value, dict):
        parts = {}
        for name, item in value.items():
            scalars = isinstance(item, (str, int)) or (isinstance(item, list) and all(isinstance(i, (str, int)) for i in item))
            if known.get(name) and scalars:
                pick = st.sampled_from(known[name])
                parts[name] = st.lists(pick, min_size=len(item), max_size=len(item)) if isinstance(item, list) else pick
            else:
                parts[name] = real(item, known)
        return st.fixed_dictionaries(parts)
    if isinstance(value, list):
        return st.tuples(*(real(item, known) for item in value)).map(list)
    return st.just(value)


_known: dict[str, dict[str, list]] = {}
_taken: dict[str, dict[str, set[str]]] = {}
_live_known: set[str] = set()     # providers whose references are read live (a stateful sequence)
_now: dict[str, datetime] = {}


def prepare(schema, live: LiveSimulator, provider: str) -> None:
    """Hooks on ``schema`` (once per server), then the provider's account back to its seed."""
    if (id(schema), id(live)) not in _installed:
        schema.auth.providers.clear()            # a new server: new credentials
        install_auth(schema, live, provider)
        install_known_values(schema, live, provider)
        _installed.add((id(schema), id(live)))
    # every operation starts from the seeded account (destructive operations ran before)
    live.run(live.sim.reset(provider))
    if provider == "phonet":
        login_phonet(live)
    _known[provider] = known_values(live, provider)
    _taken[provider] = taken_values(live, provider)
    _now[provider] = live.sim.account(provider).clock.now()


def run_fuzz(live: LiveSimulator, schema, label: str, mode: str, max_examples: int = MAX_EXAMPLES,
             provider: str = "") -> list[int]:
    """Generate, send and check; raises on the first failing example (after shrinking)."""
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    auth = schema.auth if schema.auth.providers else None      # /_sim without --admin-token: none
    strategy = operation.as_strategy(generation_mode=generation, auth_storage=auth, hooks=schema.hooks)
    session = requests.Session()
    seen: list[int] = []

    @settings(max_examples=max_examples, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case):
        if (provider, label) in FRESH_EACH_EXAMPLE:
            live.run(live.sim.reset(provider))
        response = case.call(base_url=live.url, session=session, timeout=10)
        seen.append(response.status_code)
        case.validate_response(response, checks=CHECKS, excluded_checks=excluded(provider, label))

    fuzz()
    return seen


@pytest.mark.parametrize("provider,label,mode", CASES)
def test_fuzz(live, provider, label, mode):
    schema = schema_of(provider)
    prepare(schema, live, provider)
    fuzz_operation(live, schema, label, mode, provider)


def fuzz_operation(live, schema, label: str, mode: str, provider: str, max_examples: int = MAX_EXAMPLES) -> None:
    """One operation in one mode: requests made, and not every one a 5xx (the checks ran on each)."""
    try:
        seen = run_fuzz(live, schema, label, mode, provider=provider, max_examples=max_examples)
    except Unsatisfiable:
        if mode == "negative":
            pytest.skip("the document leaves nothing to negate here (every value of every parameter is valid)")
        raise
    assert seen, "no request was made"
    assert any(status < 500 for status in seen)


def test_the_harness_catches_a_document_mismatch(live):
    """The same run against a copy of t2's document that types ``employeeId`` as a string: the
    simulator's (correct) integers must fail the response schema check."""
    doc = copy.deepcopy(document("t2"))
    doc["components"]["schemas"]["Employee"]["properties"]["employeeId"] = {"type": "string"}
    schema = schemathesis.openapi.from_dict(doc)
    prepare(schema, live, "t2")
    with pytest.raises(FailureGroup) as caught:
        run_fuzz(live, schema, "GET /crm/openapi/employees", "positive", max_examples=3)
    assert "Response violates schema" in str(caught.value)


# ---- the stateful phase ------------------------------------------------------------------------

STATEFUL_EXAMPLES = 6     # sequences per document
STATEFUL_STEPS = 5        # calls per sequence, following the links schemathesis infers (list → item)


def run_workflow(machine, url: str, document: str, setup, teardown=None) -> list[int]:
    """Run schemathesis' state machine ``machine`` against ``url`` with every check (less the
    document's exclusions), ``setup``/``teardown`` around each sequence; the statuses seen."""
    from hypothesis.stateful import run_state_machine_as_test

    session = requests.Session()
    statuses: list[int] = []

    class Workflow(machine):
        def setup(self):
            super().setup()
            setup()

        def teardown(self):
            super().teardown()
            if teardown is not None:
                teardown()

        def get_call_kwargs(self, case):
            return {"base_url": url, "session": session, "timeout": 10}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            statuses.append(response.status_code)
            # the recorder lets use_after_free / ensure_resource_availability see earlier steps
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None,
                                   recorder=getattr(self, "recorder", None),
                                   excluded_checks=excluded(document, case.operation.label))

    run_state_machine_as_test(Workflow, settings=settings(
        max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, derandomize=True, deadline=None,
        database=None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
    return statuses


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stateful_sequences(live, provider):
    """Sequences of calls along the links schemathesis infers from each document (a list's ids
    into the item's operations: GET /users → PUT /users/{login} → DELETE …), every answer
    checked as above: no 5xx, nothing outside the document."""
    from schemathesis.core.errors import NoLinksFound

    schema = schema_of(provider)
    prepare(schema, live, provider)

    def setup():
        # each sequence starts from the seeded account, and references are read as it goes
        prepare(schema, live, provider)
        _live_known.add(provider)

    try:
        statuses = run_workflow(schema.as_state_machine(), live.url, provider, setup,
                                teardown=lambda: _live_known.discard(provider))
    except NoLinksFound:
        pytest.skip("one command endpoint (cloudpbx): no operation's answer names another's parameter "
                    "(a recording link needs a key no answer holds), so there is no truthful link")
    assert statuses and all(status < 500 for status in statuses)


# ---- the admin API (/_sim) -----------------------------------------------------------------------
# Its own server: clock moves, resets, snapshot imports, new and regenerated accounts must not
# reach the provider tests above. Every operation starts from the server's first picture
# (accounts, records, clocks, faults, journals: what the pytest plugin's reset restores), and
# its webhooks can reach nothing but loopback (a fuzzed CRM URL must not send requests out).

ADMIN_SKIP = {
    "GET /_sim/events": "an endless server-sent event stream: the answer never ends, so no check can "
                        "read it (tests/inspector covers the stream)",
}


def admin_labels() -> list[str]:
    return [label for label in labels("admin") if label not in ADMIN_SKIP]


ADMIN_CASES = [pytest.param(label, mode, id=f"admin-{label}-{mode}",
                            marks=[pytest.mark.xfail(strict=True, reason=XFAIL[("admin", label, mode)])]
                            if ("admin", label, mode) in XFAIL else [])
               for label in admin_labels() for mode in ("positive", "negative")]


class LoopbackOnly(aiohttp.TCPConnector):
    """Every host is 127.0.0.1: a webhook to a fuzzed URL stays on this machine."""

    async def _resolve_host(self, host, port, traces=None):
        import socket
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": 0}]


class AdminSimulator(LiveSimulator):
    async def _start(self) -> None:
        await super()._start()
        self.sim.webhooks._session = aiohttp.ClientSession(connector=LoopbackOnly(), trust_env=False)
        self.initial = Snapshot.take(self.sim)
        self.initial_urls = set(self.sim.webhooks.allowed_urls)
        self.dirty = False

    async def restore(self) -> None:
        sim = self.sim
        for call in sim.engine.live_calls():
            await sim.engine.hangup(call.account_id, call.id)
        await sim.webhooks.drain(5)
        sim.webhooks.allowed_urls.clear()
        sim.webhooks.allowed_urls.update(self.initial_urls)
        await self.initial.restore(sim, keep_others=False, clock="exact")
        sim.webhook_journal.clear()
        sim.requests.clear()
        sim.faults.clear()
        sim.add_configured_faults()


@pytest.fixture(scope="module")
def admin_live():
    server = AdminSimulator(fuzz_config()).start()
    yield server
    server.stop()


def admin_known(live: LiveSimulator) -> dict[str, list]:
    sim = live.sim
    accounts = sorted(sim.accounts)
    calls = [c.id for aid in accounts for c in sim.account(aid).state.cdrs][:8]
    return {"id": accounts, "account": accounts, "provider": sorted({a.provider for a in sim.accounts.values()}),
            "call_id": calls, "call": calls, "name": list(PROVIDERS) + ["admin"],
            "error": ["internal_error", "too_many_requests"]}     # the named errors every provider has


def prepare_admin(schema, live: AdminSimulator, label: str = "") -> None:
    """The first picture back, unless only GETs ran since it was (a restore takes ~0.25 s)."""
    if (id(schema), id(live)) not in _installed:
        install_known_values(schema, live, "admin")
        _installed.add((id(schema), id(live)))
    if live.dirty:
        live.run(live.restore())
    live.dirty = not label.startswith("GET ")
    _known["admin"] = admin_known(live)
    _taken["admin"] = {}
    _now["admin"] = live.sim.clock.now()


@pytest.mark.parametrize("label,mode", ADMIN_CASES)
def test_fuzz_admin(admin_live, label, mode):
    schema = schema_of("admin")
    prepare_admin(schema, admin_live, label)
    fuzz_operation(admin_live, schema, label, mode, "admin", EXAMPLES.get(("admin", label), ADMIN_EXAMPLES))


def test_stateful_admin(admin_live):
    """Sequences along the links schemathesis infers in the admin document (the account list
    into an account, its state, office and credentials; faults into a fault …), all checks."""
    schema = schema_of("admin")
    prepare_admin(schema, admin_live)
    machine = schema.exclude(path=list(p.split(" ", 1)[1] for p in ADMIN_SKIP)).as_state_machine()

    def setup():
        admin_live.run(admin_live.restore())      # each sequence starts from the first picture
        admin_live.dirty = True

    statuses = run_workflow(machine, admin_live.url, "admin", setup)
    assert statuses and all(status < 500 for status in statuses)
