"""Provider phonet: Phonet REST API (``/rest/...``), JSESSIONID sessions, Teler contacts and
notes, and the ``call.settings`` / ``call.*`` / UTM webhooks. See README.md here for the
endpoint inventory and every resolution of the document's gaps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..base import Provider
from . import auth
from .errors import HTTP_TEXT, NAMED_ERRORS, BadRequest, plain, status_error
from .models import digits, teler
from .routes import ROUTES
from .state import phonet_state
from .webhooks import CallEvents, lookup, pause_events

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import CallEvent
    from ...sim import Simulator


class PhonetProvider(Provider):
    id = "phonet"
    title = "Phonet REST API"
    base_path = "/rest"
    default_encoding = "json"
    encodings = ("json",)   # every Phonet webhook is JSON (lookup, events, UTM arrays)
    credential_keys = ("api_key",)
    answer_schemas = ("call.settings", "call.dial", "call.bridge", "call.hangup", "utm")
    locale = "uk_UA"       # +380 numbers, Ukrainian names
    utc_offset = 2.0       # Kyiv (winter time)

    def setup_routes(self, app: web.Application) -> None:
        for method, path, handler in ROUTES:
            app.router.add_route(method, path, handler)

    named_errors = NAMED_ERRORS

    def http_error(self, request: web.Request, status: int) -> web.StreamResponse | None:
        return plain(HTTP_TEXT.get(status, "Error"), status)

    def status_error(self, status: int) -> web.StreamResponse:
        return status_error(status)

    def strict_error(self, violations: list[dict]) -> web.StreamResponse:
        from ...strict import first_field
        reason = {"missing_required": "is required", "unknown_parameter": "is not a parameter",
                  "unknown_field": "is not a field"}.get(violations[0]["kind"], "is invalid")
        return BadRequest(first_field(violations), reason).response()

    async def find_account(self, sim: "Simulator", request: web.Request) -> "Account | None":
        return auth.identify(request)

    def regenerate(self, sim: "Simulator", account: "Account") -> dict[str, str]:
        creds = super().regenerate(sim, account)
        auth.end_sessions(account)   # a new API key ends every session of the old one
        return creds

    def attach(self, sim: "Simulator", account: "Account") -> None:
        async def _lookup(acc: "Account", call) -> None:
            await lookup(sim, acc, call)
        account.lookup = _lookup
        phonet_state(account)         # the provider's state exists from the start
        for contact in sorted(account.state.contacts.values(), key=lambda c: c.id):
            teler(account, contact)   # stable field/value ids from the start

    def on_event(self, sim: "Simulator", account: "Account", event: "CallEvent") -> None:
        CallEvents(sim, account).handle(event)
        if event.type == "call.ended" and event.call.cdr is not None:
            _digest_add(account, event.call.cdr)

    def on_office_event(self, sim: "Simulator", account: "Account", kind: str, record) -> None:
        if kind in ("employee.paused", "employee.unpaused"):
            pause_events(sim, account, record)

    def reset(self, sim: "Simulator", account: "Account") -> None:
        st = phonet_state(account)
        if st.utm_task is not None and not st.utm_task.done():
            st.utm_task.cancel()
        st.sessions.clear()

    def banner(self, account: "Account", base_url: str) -> list[str]:
        return [f"{account.id} (phonet): {base_url}/rest  POST /rest/security/authorize "
                f"{{\"domain\": \"{account.domain}\", \"apiKey\": \"{account.credentials.get('api_key', '')}\"}}"]


def _digest_add(account: "Account", cdr) -> None:
    """Keep the history digests current without rescanning every record."""
    digest = phonet_state(account).digest
    size = len(account.state.cdrs)
    if digest.size == size - 1:
        digest.size = size
        digest.max_duration = max(digest.max_duration, cdr.ended_at - cdr.started_at)
    if digest.answered_size == size - 1:
        digest.answered_size = size
        if cdr.answered_at is not None and cdr.direction != "internal" and cdr.client:
            d = digits(cdr.client)
            digest.last_answered[d] = max(digest.last_answered.get(d, -1.0), cdr.ended_at)
