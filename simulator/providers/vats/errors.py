"""The errors of the vats CRM API (seed §3.3), each knowing its status and exact wire body.

Every error is JSON ``{"message": "<documented value>"}``; a validation error adds
``"errors": {"<field>": "<reason>"}`` so a developer sees which field was refused.
"""

from __future__ import annotations

from aiohttp import web

from ...http import json_response, reason


class VatsError(Exception):
    status = 400
    message = "Validation error"

    def body(self) -> dict:
        return {"message": self.message}

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status)


class ValidationFailed(VatsError):
    """400 ``Validation error``: wrong parameters; ``errors`` names each field and why."""
    status = 400
    message = "Validation error"

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = dict(errors)

    @classmethod
    def field(cls, name: str, reason: str) -> "ValidationFailed":
        return cls({name: reason})

    def body(self) -> dict:
        return {"message": self.message, "errors": self.errors}


class InvalidToken(VatsError):
    status = 401
    message = "Invalid token"


class CrmDisabled(VatsError):
    status = 401
    message = "CRM disabled"


class CrmSwitchedOff(VatsError):
    status = 401
    message = "CRM switched off"


class NotFound(VatsError):
    status = 404
    message = "Not found"


class MethodNotAllowed(VatsError):
    status = 405
    message = "Method Not Allowed"


class BodyTooLarge(VatsError):
    status = 413
    message = "Request Entity Too Large"


class InternalError(VatsError):
    status = 500
    message = "Internal Server Error"


class BadBody(ValidationFailed):
    """400 for a request the server could not take apart (the catch-all's answer)."""

    def __init__(self):
        super().__init__({"body": "invalid request"})


BY_STATUS: dict[int, type[VatsError]] = {
    400: BadBody, 404: NotFound, 405: MethodNotAllowed, 413: BodyTooLarge, 500: InternalError,
}


class TooManyRequests(VatsError):
    """Not documented (no rate limit in seed 002): a 429 in the documented shape."""
    status = 429
    message = "Too Many Requests"


def status_error(status: int) -> web.Response:
    """Any status in the vats shape (a fault's ``respond.status``)."""
    known = BY_STATUS.get(status)
    if known is not None:
        return known().response()
    return json_response({"message": reason(status)}, status=status)


# the documented errors a fault may name (GET /_sim/faults/errors?provider=vats)
NAMED_ERRORS = {
    "validation_error": lambda: ValidationFailed({}),
    "invalid_token": InvalidToken,
    "crm_disabled": CrmDisabled,
    "crm_switched_off": CrmSwitchedOff,
    "not_found": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "internal_error": InternalError,
    "too_many_requests": TooManyRequests,
}
