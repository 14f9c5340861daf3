"""The providers' OpenAPI 3.1 documents (``schemas/openapi/<provider>.json``): valid OpenAPI 3.1,
served by the admin API, in step with the routes the simulator really has, their examples valid
against their own schemas, and the contract check of ``openapi_check.py`` able to fail."""

from __future__ import annotations

import json
import re

import pytest
from multidict import CIMultiDict, MultiDict
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from simulator.app import make_app

from .openapi_check import PROVIDERS, SCHEMAS, Exchange, document, errors_of

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_document_is_valid_openapi_31(provider):
    doc = document(provider)
    assert doc is not None, f"schemas/openapi/{provider}.json is missing"
    assert doc["openapi"].startswith("3.1")
    validate_spec(doc)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_document_is_served_by_the_admin_api(client, provider):
    resp = await client.get(f"/_sim/openapi/{provider}.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.read() == (SCHEMAS / f"{provider}.json").read_bytes()


def _template(path: str) -> str:
    """aiohttp's ``{id:\\d+}`` → OpenAPI's ``{id}``; no trailing slash."""
    path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)
    return path.rstrip("/") or "/"


def _shape(path: str) -> str:
    """Parameter names do not matter for matching (``{id}`` vs ``{cntId}``)."""
    return re.sub(r"\{\w+\}", "{}", _template(path))


def served_operations(sim, provider: str) -> set[tuple[str, str]]:
    app = make_app(sim)
    base = sim.providers[provider].base_path
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if not path or not path.startswith(base if provider != "phonet" else "/rest"):
            continue
        if route.method.lower() in METHODS:
            out.add((route.method.lower(), _shape(path)))
    return out


def documented_operations(provider: str) -> set[tuple[str, str]]:
    return {(method, _shape(path)) for path, item in document(provider)["paths"].items()
            for method in item if method in METHODS}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_served_endpoint_is_documented_and_nothing_else(sim, provider):
    served, documented = served_operations(sim, provider), documented_operations(provider)
    assert served, "no routes found"
    assert served - documented == set(), "served but not in the document"
    assert documented - served == set(), "in the document but not served"


def _examples(node, where=""):
    """(where, media schema, example value) of every documented example, requests and answers."""
    if isinstance(node, dict):
        if "schema" in node and ("example" in node or "examples" in node):
            if "example" in node:
                yield where, node["schema"], node["example"]
            for name, ex in (node.get("examples") or {}).items():
                if isinstance(ex, dict) and "value" in ex:
                    yield f"{where}/examples/{name}", node["schema"], ex["value"]
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _examples(value, f"{where}/{key}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_documented_examples_match_their_schemas(provider):
    doc = document(provider)
    found = list(_examples(doc["paths"], "paths")) + list(_examples(doc.get("webhooks", {}), "webhooks"))
    assert found, "the document has no examples"
    bad = []
    for where, schema, value in found:
        if isinstance(value, str) and schema.get("contentMediaType"):
            continue
        root = {**schema, "components": doc.get("components", {})}
        errors = list(OAS31Validator(root).iter_errors(value))
        if errors:
            bad.append(f"{where}: {errors[0].message[:200]}")
    assert not bad, "\n".join(bad)


# ---- the contract check can fail ----------------------------------------------------------------

def exchange(provider, method, path, status, body, content_type="application/json", query=None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Exchange(provider=provider, method=method, path=path, query=MultiDict(query or {}),
                    headers=CIMultiDict(), cookies={}, status=status, content_type=content_type,
                    response_headers=CIMultiDict({"Content-Type": content_type}), body=raw)


CONFORMING = [
    exchange("cloudpbx", "POST", "/sys/crm_api.wcgp", 200, [{"name": "andy", "realName": "Петров Андрей", "ext": "708"}]),
    exchange("cloudpbx", "GET", "/sys/crm_api.wcgp", 200, b"", "text/csv"),
    exchange("cloudpbx", "POST", "/sys/crm_api.wcgp", 400, {"error": "Invalid parameters: [user]"}),
    exchange("t2", "GET", "/crm/openapi/employees/", 200, [{"employeeId": 1}]),
    exchange("t2", "POST", "/crm/openapi/blacklist", 200, "SUCCESS"),
    exchange("vats", "GET", "/crmapi/v1/users/nobody", 404, {"message": "Not found"}),
    exchange("phonet", "GET", "/rest/crm/contacts/v2", 403, b"Forbidden", "text/plain"),
    exchange("phonet", "GET", "/rest/nothing/here", 404, b"Not Found", "text/plain"),
]
BREAKING = [
    ("a field of the wrong type", exchange("cloudpbx", "POST", "/sys/crm_api.wcgp", 200, {"CallID": 5})),
    ("an undocumented error text", exchange("cloudpbx", "GET", "/sys/crm_api.wcgp", 401, {"error": "Bad token"})),
    ("an undocumented status", exchange("t2", "GET", "/crm/openapi/employees", 500, {"details": "x", "message": "y"})),
    ("an undocumented content type", exchange("t2", "GET", "/crm/openapi/managers", 200, b"<managers/>", "text/xml")),
    ("an extra field", exchange("t2", "GET", "/crm/openapi/blacklist", 200,
                                [{"id": 1, "number": "79000000000", "sourceType": "MANUAL", "extra": 1}])),
    ("an empty JSON body", exchange("vats", "POST", "/crmapi/v1/makecall", 200, b"")),
    ("an empty CSV body where only text/csv is not documented", exchange("vats", "GET", "/crmapi/v1/users", 200, b"", "text/csv")),
    ("a 200 on an undocumented path", exchange("phonet", "GET", "/rest/secret", 200, {})),
    ("a JSON error where text is documented", exchange("phonet", "GET", "/rest/users", 403, {"error": "Forbidden"})),
    ("a phonet disposition out of range", exchange("phonet", "GET", "/rest/calls/company.api", 200, [{
        "parentUuid": None, "uuid": "a", "endAt": 1, "lgDirection": 2, "otherLegNum": None, "otherLegName": None,
        "leg": {"id": 1, "type": 1, "displayName": "x", "ext": "1"}, "leg2": None, "billSecs": 0, "duration": 0,
        "disposition": 9, "transferHistory": None, "audioRecUrl": None, "trunk": None}])),
]


@pytest.mark.parametrize("ex", CONFORMING, ids=lambda e: f"{e.provider} {e.method} {e.path} {e.status}")
def test_conforming_answers_pass(ex):
    assert errors_of(ex) == []


@pytest.mark.parametrize("what,ex", BREAKING, ids=[b[0] for b in BREAKING])
def test_breaking_answers_are_caught(what, ex):
    assert errors_of(ex), f"{what} was not caught"


def _builder():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_providers", SCHEMAS / "make_providers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_documents_are_what_make_providers_builds():
    """Edit ``schemas/openapi/make_providers.py`` and run it, never the JSON by hand."""
    builder = _builder()
    for name, build in builder.BUILDERS.items():
        assert (SCHEMAS / f"{name}.json").read_text(encoding="utf-8") == builder.render(build()), name


ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _concrete(path: str) -> str:
    if path.startswith("/_sim/ui/static"):
        return "/_sim/ui/static/app.js"
    return re.sub(r"\{(\w+)\}", "x.yaml" if path.startswith("/_sim/ui/examples") else "1", path)


def _methods_at(name: str, url: str) -> set[str]:
    """The methods the document gives this URL, over every path template it fits
    (``/_sim/faults/errors`` is also ``/_sim/faults/{fault_id}``)."""
    doc = document(name)
    methods = set()
    for path, item in doc["paths"].items():
        params = item.get("parameters", []) + [p for op in item.values() if isinstance(op, dict)
                                                for p in op.get("parameters", [])]
        params = [doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in params]
        integers = {p["name"] for p in params if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"}
        pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: "[0-9]+" if m.group(1) in integers else "[^/]+", re.escape(path))
        if re.fullmatch(pattern, url):
            methods |= {m.upper() for m in item if m.upper() in ALL_METHODS}
    return methods


def _undocumented_methods():
    """(URL, a method the document does not give it, the ones it does) for every path of the
    five documents: schemathesis' unsupported_method / allow_header_conformance, on every path."""
    for name in PROVIDERS + ("admin",):
        for path in document(name)["paths"]:
            url = _concrete(path)
            documented = _methods_at(name, url)
            missing = [m for m in ALL_METHODS if m not in documented]
            if missing and path != "/_sim/events":
                yield pytest.param(url, missing[0], documented, id=f"{name}-{missing[0]} {path}")


@pytest.mark.openapi_unchecked("undocumented methods on purpose; their 405s are checked here")
@pytest.mark.parametrize("url,method,documented", list(_undocumented_methods()))
async def test_an_undocumented_method_is_405_with_the_documented_ones_in_allow(client, url, method, documented):
    resp = await client.request(method, url)
    assert resp.status == 405, (url, resp.status, (await resp.read())[:200])
    assert set(resp.headers["Allow"].split(",")) - {"HEAD"} == documented, (url, resp.headers["Allow"])
