"""Every provider answer a test receives through the ``client`` fixture is checked against that
provider's OpenAPI 3.1 document (``schemas/openapi/<provider>.json``) with openapi-core.

``check_openapi(app, request)`` (called by ``tests/conftest.py``'s ``aiohttp_client`` override for
every simulator app a test opens, so also by ``client``) puts an outermost middleware on the app that records each (request, response) pair under a
provider's base path; when the fixture is torn down, each pair is validated (status documented
for the operation, content type documented, body valid against the schema). A mismatch fails the
test at teardown with the request and the answer.

Opt out, for a test that deliberately answers outside the documents (fault injection, a raw
500): ``@pytest.mark.openapi_unchecked("why")``. Only the response is validated, never the
request, so bad-input tests stay checked: their answers are documented error bodies. A path or
method the document does not have is fine when the server refused it (404/405); an answer the
server gave there is a mismatch. Findings: ``schemas/openapi/FINDINGS.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict, MultiDict
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.util import plain_loads
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.response.exceptions import MissingData
from openapi_core.validation.schemas import oas31_schema_validators_factory

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "openapi"
PROVIDERS = ("t2", "vats", "phonet", "cloudpbx")
MARKER = "openapi_unchecked"


@lru_cache(maxsize=None)
def document(provider: str) -> dict | None:
    path = SCHEMAS / f"{provider}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def openapi(provider: str) -> OpenAPI | None:
    doc = document(provider)
    if doc is None:
        return None
    # text/csv is text (openapi-core reads unknown media types as bytes)
    config = Config(extra_media_type_deserializers={"text/csv": plain_loads})
    return OpenAPI.from_dict(doc, config=config)


@dataclass
class Exchange:
    """One recorded request and its answer, detached from aiohttp."""
    provider: str
    method: str
    path: str
    query: MultiDict
    headers: CIMultiDict
    cookies: dict
    status: int
    content_type: str
    response_headers: CIMultiDict
    body: bytes
    request_content_type: str = ""

    # --- the openapi-core request / response protocols ---------------------------------------
    @property
    def host_url(self) -> str:
        return "http://127.0.0.1"

    @property
    def parameters(self) -> RequestParameters:
        return RequestParameters(query=self.query, header=self.headers, cookie=self.cookies)

    @property
    def data(self) -> bytes:
        return self.body

    @property
    def status_code(self) -> int:
        return self.status

    def describe(self) -> str:
        qs = "&".join(f"{k}={v}" for k, v in self.query.items())
        text = self.body[:300].decode("utf-8", "replace")
        return f"{self.method} {self.path}{'?' + qs if qs else ''} → {self.status} {self.content_type} {text!r}"


class _Request:
    """openapi-core's Request protocol over an Exchange (method and path only matter here)."""

    def __init__(self, ex: Exchange):
        self.ex = ex
        self.parameters = ex.parameters
        self.host_url = ex.host_url
        self.path = ex.path
        self.method = ex.method.lower()
        self.body = None
        self.content_type = ex.request_content_type


class _Response:
    def __init__(self, ex: Exchange):
        self.data = ex.body
        self.status_code = ex.status
        self.content_type = ex.content_type
        self.headers = ex.response_headers


def provider_of(app: web.Application, path: str) -> str | None:
    from simulator.sim import SIM
    for provider in app[SIM].providers.values():
        if provider.id in PROVIDERS and provider.base_path and path.startswith(provider.base_path):
            return provider.id
    return None


def _body(response: Any) -> bytes:
    if isinstance(response, web.HTTPException):
        return (response.text or "").encode()
    if isinstance(response, web.Response):
        body = response.body
        if body is None:
            return b""
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode(response.charset or "utf-8")
        value = getattr(body, "_value", None)        # a Payload wrapping bytes
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
    return b""


@dataclass
class Recorder:
    exchanges: list[Exchange] = field(default_factory=list)

    def record(self, request: web.Request, response: Any, provider: str) -> None:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        self.exchanges.append(Exchange(
            provider=provider, method=request.method, path=request.path,
            query=MultiDict(request.query), headers=CIMultiDict(request.headers),
            cookies=dict(request.cookies), status=response.status,
            content_type=content_type,
            response_headers=CIMultiDict(response.headers), body=_body(response),
            request_content_type=request.headers.get("Content-Type", "")))

    def middleware(self):
        @web.middleware
        async def record_for_openapi(request: web.Request, handler):
            provider = provider_of(request.app, request.path)
            if provider is None or document(provider) is None:
                return await handler(request)
            try:
                response = await handler(request)
            except web.HTTPException as exc:     # raised answers are answers too
                self.record(request, exc, provider)
                raise
            self.record(request, response, provider)
            return response
        return record_for_openapi


def errors_of(ex: Exchange) -> list[str]:
    """The document mismatches of one exchange (empty when it conforms)."""
    spec = openapi(ex.provider)
    out = []
    request = _Request(ex)
    found = list(spec.iter_response_errors(request, _Response(ex)))
    if any(isinstance(e, PathNotFound) for e in found) and ex.path != "/":
        # t2 serves every path with a trailing slash too, phonet its contact list without one
        request.path = ex.path.rstrip("/") if ex.path.endswith("/") else ex.path + "/"
        found = list(spec.iter_response_errors(request, _Response(ex)))
    for err in found:
        if isinstance(err, (PathNotFound, OperationNotFound)) and ex.status in (404, 405):
            continue        # the server rightly refuses a path or method the document does not have
        if isinstance(err, MissingData) and not ex.body:
            problem = _empty_body_problem(spec, ex)
            if problem is None:
                continue
            err = problem
        text = f"{type(err).__name__}: {err}"
        cause = err.__cause__
        details = getattr(cause, "schema_errors", None) or getattr(err, "schema_errors", None)
        if details:
            text += " — " + "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                                      for e in list(details)[:5])
        elif cause is not None:
            text += f" ({type(cause).__name__}: {cause})"
        out.append(text)
    return out


def _empty_body_problem(spec: OpenAPI, ex: Exchange) -> Exception | None:
    """openapi-core calls any empty body "missing"; an empty text answer (a history CSV with no
    calls) is data too: validate "" against the documented schema of that status and type."""
    try:
        finder = APICallPathFinder(spec.spec)
        try:
            found = finder.find(ex.method.lower(), ex.host_url + ex.path)
        except PathNotFound:
            other = ex.path.rstrip("/") if ex.path.endswith("/") else ex.path + "/"
            found = finder.find(ex.method.lower(), ex.host_url + other)
        responses = found.operation / "responses"
        response = responses / str(ex.status) if str(ex.status) in responses else responses / "default"
        schema = response / "content" / ex.content_type / "schema"
        oas31_schema_validators_factory.create(spec.spec, schema).validate("")
    except Exception as exc:        # noqa: BLE001 - any failure is the mismatch reported
        return exc
    return None


def mismatches(exchanges: list[Exchange]) -> list[str]:
    out = []
    for ex in exchanges:
        for error in errors_of(ex):
            out.append(f"{ex.describe()}\n    {error}")
    return out


def check_openapi(app: web.Application, request: Any) -> Recorder:
    """Record ``app``'s provider answers; validate them when ``request``'s fixture ends."""
    recorder = Recorder()
    if request.node.get_closest_marker(MARKER) is not None:
        return recorder
    app.middlewares.insert(0, recorder.middleware())

    def finish() -> None:
        found = mismatches(recorder.exchanges)
        if found:
            raise AssertionError(
                f"{len(found)} answer(s) do not match schemas/openapi/<provider>.json "
                f"(mark the test @pytest.mark.{MARKER}(reason) only if it breaks the documents on purpose):\n"
                + "\n".join(found[:10]))

    request.addfinalizer(finish)
    return recorder
