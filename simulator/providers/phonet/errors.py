"""Phonet's error answers: one line of plain text with the documented status (spec §4.0).

The document says only "≥400, plain text describing the error"; the wording is the
simulator's, the status codes are the contract.
"""

from __future__ import annotations

from aiohttp import web

from ...http import reason

TEXT = "text/plain"
CHARSET = "UTF-8"


class PhonetError(Exception):
    status = 500
    text = "Internal Server Error"

    def __init__(self, text: str | None = None):
        if text is not None:
            self.text = text
        super().__init__(self.text)

    def response(self) -> web.Response:
        return plain(self.text, self.status)


class BadRequest(PhonetError):
    """400: malformed JSON, a missing or invalid parameter."""
    status = 400

    def __init__(self, param: str, reason: str = "is invalid"):
        super().__init__(f"Bad request: {param} {reason}")


class InvalidCredentials(PhonetError):
    """401 from the login only: never 403, so a client's "403 → log in again" loop stops."""
    status = 401
    text = "Invalid domain or apiKey"


class HostMismatch(BadRequest):
    """400 from the login when the request's Host is not the account's domain (the document:
    authorize goes to ``https://{domain}``); the account setting ``strict_host: false`` relaxes it."""

    def __init__(self, host: str):
        super().__init__("domain", f"must equal the host the request was sent to ({host or 'none'}); "
                                   "the account setting strict_host: false relaxes this")


class Forbidden(PhonetError):
    status = 403
    text = "Forbidden"


class NotFound(PhonetError):
    status = 404
    text = "Not Found"


class ContactNotFound(NotFound):
    text = "Contact not found"


class NoteNotFound(NotFound):
    text = "Note not found"


class UserNotFound(NotFound):
    text = "User not found"


class CallNotFound(NotFound):
    text = "Call not found"


class RecordNotFound(NotFound):
    text = "Record not found"


class UnsupportedMediaType(PhonetError):
    """Only with the account setting ``strict_content_type``."""
    status = 415
    text = "Unsupported Media Type"


# the server's own 400/404/405/413/500 under /rest, in the same plain-text shape
HTTP_TEXT = {400: "Bad request: request is invalid", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
             500: "Internal Server Error"}


def plain(text: str, status: int) -> web.Response:
    return web.Response(text=text, status=status, content_type=TEXT, charset=CHARSET)


class TooManyRequests(PhonetError):
    """Not documented (the spec names no rate limit): a 429 in the plain-text shape."""
    status = 429
    text = "Too Many Requests"


class InternalError(PhonetError):
    status = 500
    text = "Internal Server Error"


def status_error(status: int) -> web.Response:
    """Any status in Phonet's plain-text shape (a fault's ``respond.status``)."""
    return plain(HTTP_TEXT.get(status) or reason(status), status)


# the documented errors a fault may name (GET /_sim/faults/errors?provider=phonet); an
# expired session is answered as any missing one: 403 Forbidden
NAMED_ERRORS = {
    "session_expired": Forbidden,
    "forbidden": Forbidden,
    "invalid_credentials": InvalidCredentials,
    "bad_request": lambda: BadRequest("request", "is invalid"),
    "not_found": NotFound,
    "contact_not_found": ContactNotFound,
    "note_not_found": NoteNotFound,
    "user_not_found": UserNotFound,
    "call_not_found": CallNotFound,
    "record_not_found": RecordNotFound,
    "unsupported_media_type": UnsupportedMediaType,
    "internal_error": InternalError,
    "too_many_requests": TooManyRequests,
}
