"""t2's error bodies: ``{"details": …, "message": …}`` as ``application/json``, verbatim from
the seeds' "Коды ответов" section. Each class knows its status and exact wire body."""

from __future__ import annotations

from aiohttp import web

from ...http import json_response, reason   # t2's JSON: application/json, UTF-8, Cyrillic as is

# 403 details (seed 000, "HTTP 403. Ошибка авторизации")
HEADER_REQUIRED = "Authorization header required"
ALREADY_UPDATED = "The token has already been updated"
EXPIRED = "The token is expired"
BAD_TOKEN = "Bad token"
INVALID_TYPE = "Invalid token type"

# 404 details
EMPLOYEE_NOT_FOUND = "Employee not found by source number"
RECORD_NOT_FOUND = "Record not found by filename"
TRANSCRIPTION_NOT_FOUND = "Transcription not found for filename"
OBJECT_NOT_FOUND = "Object not found"


class T2Error(Exception):
    status = 400

    def __init__(self, details: str, message: str):
        super().__init__(details)
        self.details = details
        self.message = message

    @property
    def body(self) -> dict:
        return {"details": self.details, "message": self.message}

    def response(self) -> web.Response:
        return json_response(self.body, status=self.status)


class Forbidden(T2Error):
    status = 403

    def __init__(self, details: str):
        super().__init__(details, "Forbidden")


class WrongParameter(T2Error):
    """A value that does not convert (a date without offset, ``page=abc`` …)."""

    def __init__(self, name: str):
        super().__init__("Bad request", f"Wrong parameter {name}")


class MissingParameter(T2Error):
    def __init__(self, name: str, java_type: str):
        super().__init__(f"Required request parameter '{name}' for method parameter type {java_type} "
                         "is not present", "Some of fields empty")


class EmptyParameter(T2Error):
    def __init__(self, name: str, java_type: str):
        super().__init__(f"Required request parameter '{name}' for method parameter type {java_type} "
                         "is present but converted to null", "Some of fields empty")


class ObjectNotFound(T2Error):
    status = 404

    def __init__(self, details: str = OBJECT_NOT_FOUND):
        super().__init__(details, "Object not found")


# The server's own errors under /crm/openapi, in the same shape. The seeds document none of
# these; the details are the Spring messages the backend (a Spring Boot app) would give.
SERVER_ERRORS = {
    400: ("Bad request", "Bad Request"),
    404: ("Not Found", "Object not found"),
    405: ("Method Not Allowed", "Method Not Allowed"),
    413: ("Maximum upload size exceeded", "Payload Too Large"),
    500: ("Internal Server Error", "Internal Server Error"),
}


def server_error(request: web.Request, status: int) -> web.Response:
    details, message = SERVER_ERRORS.get(status, ("Error", "Error"))
    if status == 404:
        details = f"No handler found for {request.method} {request.path}"
    elif status == 405:
        details = f"Request method '{request.method}' is not supported"
    return json_response({"details": details, "message": message}, status=status)


def status_error(status: int) -> web.Response:
    """Any status in t2's shape (a fault's ``respond.status``): the server's own wording
    where it has one, else the HTTP reason phrase in both fields."""
    phrase = reason(status)
    details, message = SERVER_ERRORS.get(status, (phrase, phrase))
    return json_response({"details": details, "message": message}, status=status)


class TooManyRequests(T2Error):
    """Not documented (t2 publishes no rate limit): a 429 in the documented error shape."""
    status = 429

    def __init__(self) -> None:
        super().__init__("Too many requests", "Too Many Requests")


class ServerError(T2Error):
    status = 500

    def __init__(self) -> None:
        super().__init__(*SERVER_ERRORS[500])


# the documented errors a fault may name (GET /_sim/faults/errors?provider=t2)
NAMED_ERRORS = {
    "header_required": lambda: Forbidden(HEADER_REQUIRED),
    "bad_token": lambda: Forbidden(BAD_TOKEN),
    "invalid_token_type": lambda: Forbidden(INVALID_TYPE),
    "token_already_updated": lambda: Forbidden(ALREADY_UPDATED),
    "token_expired": lambda: Forbidden(EXPIRED),
    "employee_not_found": lambda: ObjectNotFound(EMPLOYEE_NOT_FOUND),
    "record_not_found": lambda: ObjectNotFound(RECORD_NOT_FOUND),
    "transcription_not_found": lambda: ObjectNotFound(TRANSCRIPTION_NOT_FOUND),
    "object_not_found": ObjectNotFound,
    "internal_error": ServerError,
    "too_many_requests": TooManyRequests,
}
