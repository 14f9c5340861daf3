"""The documented error answers of the command API: each error knows its status and body.

Both are JSON objects ``{"error": "…"}`` (the document writes JS-like ``{ error: … }``). A 400
names the offending parameter, as the live service does for ``cmd``:
``{"error": "Invalid parameters: [cmd]"}``; a body that cannot be read at all gets the bare
documented ``{"error": "Invalid parameters"}``.
"""

from __future__ import annotations

from aiohttp import web

from ...http import json_response, reason


class CloudPbxError(Exception):
    status = 400
    message = "Invalid parameters"

    def body(self) -> dict:
        return {"error": self.message}

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status)


class InvalidParameters(CloudPbxError):
    """400: a parameter is missing, has a bad value, or names nothing that exists."""

    def __init__(self, name: str | None = None):
        super().__init__(name or "")
        self.name = name

    def body(self) -> dict:
        if self.name:
            return {"error": f"Invalid parameters: [{self.name}]"}
        return {"error": "Invalid parameters"}


class InvalidToken(CloudPbxError):
    """401: the ``token`` is missing or is not this PBX's key."""
    status = 401
    message = "Invalid token"


class RecordingNotFound(CloudPbxError):
    """404 for a recording link that names no recorded call."""
    status = 404
    message = "Not Found"


def http_error_body(status: int) -> web.Response:
    """The server's own 404 / 405 / 413 / 500 under the API path, in the API's error shape."""
    reasons = {400: "Invalid parameters", 404: "Not Found", 405: "Method Not Allowed", 413: "Invalid parameters",
               500: "Internal Server Error"}
    return json_response({"error": reasons.get(status, "Error")}, status=status)


class InternalError(CloudPbxError):
    status = 500
    message = "Internal Server Error"


class TooManyRequests(CloudPbxError):
    """Not documented (the command API names no rate limit): a 429 in the documented shape."""
    status = 429
    message = "Too Many Requests"


def status_error(status: int) -> web.Response:
    """Any status in the API's shape (a fault's ``respond.status``)."""
    if status in (404, 405, 413, 500):
        return http_error_body(status)
    return json_response({"error": reason(status)}, status=status)


# the documented errors a fault may name (GET /_sim/faults/errors?provider=cloudpbx)
NAMED_ERRORS = {
    "invalid_token": InvalidToken,
    "invalid_parameters": InvalidParameters,
    "not_found": RecordingNotFound,
    "internal_error": InternalError,
    "too_many_requests": TooManyRequests,
}
