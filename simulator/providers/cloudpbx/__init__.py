"""Provider cloudpbx: the Облачная АТС command API (``/sys/crm_api.wcgp``) and its webhooks.

Commands: ``routes.py`` (``COMMANDS``); request parsing and answer shapes: ``models.py``;
token and recording links: ``auth.py``; error bodies: ``errors.py``; webhooks: ``webhooks.py``.
The decoded seed and every resolution of an ambiguity: ``README.md`` beside this file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..base import Provider
from . import routes
from .errors import NAMED_ERRORS, CloudPbxError, InvalidParameters, http_error_body, status_error
from .models import read_params
from .webhooks import contact_lookup, event_hook, history_hook, refused_hooks

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import CallEvent
    from ...sim import Simulator


class CloudPbxProvider(Provider):
    id = "cloudpbx"
    title = "Облачная АТС command API"
    base_path = "/sys/crm_api.wcgp"
    default_encoding = "form"
    credential_keys = ("token",)
    answer_schemas = ("history", "event", "contact")

    def setup_routes(self, app: web.Application) -> None:
        routes.setup(app)

    named_errors = NAMED_ERRORS

    def http_error(self, request: web.Request, status: int) -> web.StreamResponse | None:
        return http_error_body(status)

    def status_error(self, status: int) -> web.StreamResponse:
        return status_error(status)

    def strict_error(self, violations: list[dict]) -> web.StreamResponse:
        from ...strict import first_field
        return InvalidParameters(first_field(violations) or None).response()

    async def find_account(self, sim: "Simulator", request: web.Request) -> "Account | None":
        """The account the ``token`` field names (the body is read once; aiohttp keeps it
        for the handler)."""
        try:
            params = await read_params(request)
        except CloudPbxError:
            return None
        return sim.find_account(self.id, "token", params.get("token", "").strip())

    def attach(self, sim: "Simulator", account: "Account") -> None:
        account.lookup = contact_lookup(sim)

    def on_event(self, sim: "Simulator", account: "Account", event: "CallEvent") -> None:
        if event.type == "call.ended":
            for refused in refused_hooks(account, event.call):
                sim.webhooks.enqueue(refused)
            hook = history_hook(sim, account, event.call.cdr) if event.call.cdr else None
        else:
            hook = event_hook(account, event)
        if hook is not None:
            sim.webhooks.enqueue(hook)

    def banner(self, account: "Account", base_url: str) -> list[str]:
        return [f"{account.id} ({self.id}): POST {base_url}{self.base_path}  "
                f"cmd=<command>&token={account.credentials.get('token', '')}"]
