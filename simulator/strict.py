"""Strict mode: a request checked against the OpenAPI document of its provider
(``schemas/openapi/<provider>.json``, the one ``/_sim/openapi/<provider>.json`` serves).

openapi-core validates parameters and bodies; what it lets pass, a query parameter the
operation does not declare, is looked up here. Authentication is left to the provider, which
answers a missing or wrong credential with its own documented error. Each violation is a
dict ``{"kind", "where", "message"}``: kinds ``unknown_path``, ``unknown_method``,
``unknown_parameter``, ``unknown_field``, ``missing_required``, ``wrong_type``,
``invalid_value``, ``unsupported_content_type``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.request import exceptions as req_errors
from openapi_core.validation.schemas import oas31_schema_validators_factory

from . import assets

if TYPE_CHECKING:
    from .providers import Provider
    from .sim import Simulator

# openapi-core warns on every request whose body matches no oneOf branch: that is a violation
# reported here, not a server problem for the log
logging.getLogger("openapi_core.validation.schemas.validators").setLevel(logging.ERROR)

# a JSON Schema keyword that failed → what it means for the request
_KEYWORD_KIND = {"required": "missing_required", "type": "wrong_type", "additionalProperties": "unknown_field",
                 "unevaluatedProperties": "unknown_field"}


@lru_cache(maxsize=None)
def document(provider: str) -> OpenAPI:
    """The provider's document as the package ships it (``schemas/openapi/<provider>.json``)."""
    return OpenAPI.from_dict(assets.schema_json("openapi", f"{provider}.json"))


def _violation(kind: str, where: str, message: str) -> dict:
    return {"kind": kind, "where": where, "message": message}


async def check(sim: "Simulator", provider: "Provider", request: web.Request) -> list[dict]:
    """The request's violations of its provider's document (empty: it conforms)."""
    spec = document(provider.id)
    body = await request.read() if request.body_exists else None   # aiohttp keeps it for the handler
    wrapped = AIOHTTPOpenAPIWebRequest(request, body=body)
    try:
        found = APICallPathFinder(spec.spec).find(wrapped.method, wrapped.host_url + wrapped.path)
    except PathNotFound:
        return [_violation("unknown_path", request.path, f"{provider.id} has no {request.path}")]
    except OperationNotFound:
        return [_violation("unknown_method", request.path, f"{request.method} is not an operation of {request.path}")]
    violations = _unknown_query(found, request)
    form = request.content_type == FORM and body
    for error in spec.iter_request_errors(wrapped):
        if form and isinstance(error, req_errors.RequestBodyValidationError) \
                and not isinstance(error.__cause__, MediaTypeNotFound):
            continue   # openapi-core reads a form against a oneOf schema as {}: checked below
        violations.extend(_explain(error))
    if form:
        violations.extend(await _form_violations(spec, found, request))
    return violations


FORM = "application/x-www-form-urlencoded"


async def _form_violations(spec: OpenAPI, found: Any, request: web.Request) -> list[dict]:
    """A form body's fields against the schema the document gives that media type."""
    try:
        schema = found.operation / "requestBody" / "content" / FORM / "schema"
        validator = oas31_schema_validators_factory.create(spec.spec, schema).validator
    except KeyError:
        return []
    fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    out: list[dict] = []
    for err in validator.iter_errors(fields):
        out.extend(_schema_violations(err, "body"))
    return out


def _declared(found: Any, where: str) -> set[str]:
    names = set()
    for holder in (found.path, found.operation):
        if "parameters" not in holder:
            continue
        for param in holder / "parameters":
            if param["in"] == where:
                names.add(param["name"])
    return names


def _unknown_query(found: Any, request: web.Request) -> list[dict]:
    declared = _declared(found, "query")
    return [_violation("unknown_parameter", f"query.{name}", f"{name} is not a parameter of this operation")
            for name in dict.fromkeys(request.query) if name not in declared]


def _explain(error: Exception) -> list[dict]:
    if isinstance(error, req_errors.SecurityValidationError):
        return []      # the provider answers for its credentials
    if isinstance(error, req_errors.MissingRequiredParameter):
        return [_violation("missing_required", f"{error.location}.{error.name}", f"{error.name} is required")]
    if isinstance(error, req_errors.ParameterValidationError):
        where = f"{error.location}.{error.name}"
        cause = error.__cause__
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            return [v for e in schema_errors for v in _schema_violations(e, where)]
        return [_violation("wrong_type", where, f"{error.name}: {cause or error}")]
    if isinstance(error, req_errors.MissingRequestBody):
        return [_violation("missing_required", "body", "the request needs a body")]
    if isinstance(error, req_errors.RequestBodyValidationError):
        cause = error.__cause__
        if isinstance(cause, MediaTypeNotFound):
            return [_violation("unsupported_content_type", "body", str(cause))]
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            return [v for e in schema_errors for v in _schema_violations(e, "body")]
        return [_violation("wrong_type", "body", str(cause or error))]
    return [_violation("invalid_value", "request", str(error))]


def _where(err: Any, base: str) -> str:
    path = ".".join(str(p) for p in err.absolute_path)
    return f"{base}.{path}" if path else base


def _schema_violations(err: Any, base: str) -> list[dict]:
    """One JSON Schema error as violations. A ``oneOf``/``anyOf`` (cloudpbx: one parameter set
    per ``cmd``) is explained by the branch the request chose, the one whose ``const``/``enum``
    fields it meets; when it meets none, by the values those fields allow."""
    if err.validator in ("oneOf", "anyOf") and err.context:
        branches: dict[Any, list] = {}
        for sub in err.context:
            branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
        chosen = [errs for errs in branches.values() if not any(e.validator in ("const", "enum") for e in errs)]
        if chosen:
            return [v for e in min(chosen, key=len) for v in _schema_violations(e, base)]
        allowed: dict[str, None] = {}
        for errs in branches.values():
            for e in errs:
                if e.validator in ("const", "enum"):
                    values = [e.validator_value] if e.validator == "const" else e.validator_value
                    allowed.update(dict.fromkeys(map(str, values)))
        first = next(e for errs in branches.values() for e in errs if e.validator in ("const", "enum"))
        return [_violation("invalid_value", _where(first, base),
                           f"{first.instance!r} is not one of {', '.join(allowed)}")]
    return [_schema_violation(err, base)]


def _schema_violation(err: Any, base: str) -> dict:
    where = _where(err, base)
    kind = _KEYWORD_KIND.get(err.validator, "invalid_value")
    if kind == "missing_required":
        missing = err.message.split("'")[1] if err.message.count("'") >= 2 else ""
        where = f"{where}.{missing}" if missing else where
    return _violation(kind, where, err.message)


def first_field(violations: list[dict]) -> str:
    """The parameter or field the first violation is about (``query.page`` → ``page``)."""
    where = violations[0]["where"] if violations else ""
    return where.split(".", 1)[1] if "." in where else where


__all__ = ["check", "document", "first_field"]
