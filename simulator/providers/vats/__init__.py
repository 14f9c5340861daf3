"""Provider vats: virtual PBX CRM API v1 (MegaFon's ``https://{name}.megapbx.ru/crmapi/v1``).

``routes.py`` every endpoint, ``auth.py`` X-API-KEY, ``models.py`` bodies and renderers,
``errors.py`` the documented error bodies, ``webhooks.py`` history/event/contact/rating.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from aiohttp import web

from ..base import Provider
from . import webhooks
from .auth import identify
from .errors import BY_STATUS, NAMED_ERRORS, ValidationFailed, status_error
from .routes import routes

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import CallEvent
    from ...sim import Simulator


class VatsProvider(Provider):
    id = "vats"
    title = "virtual PBX CRM API v1"
    base_path = "/crmapi/v1"
    default_encoding = "form"
    credential_keys = ("api_key",)
    answer_schemas = ("history", "event", "contact", "rating")

    def setup_routes(self, app: web.Application) -> None:
        app.add_routes(routes)

    named_errors = NAMED_ERRORS

    def http_error(self, request: web.Request, status: int) -> web.StreamResponse | None:
        error = BY_STATUS.get(status)
        return error().response() if error is not None else None

    def status_error(self, status: int) -> web.StreamResponse:
        return status_error(status)

    def strict_error(self, violations: list[dict]) -> web.StreamResponse:
        """400 ``Validation error`` naming each refused field, as the service's validation does."""
        errors: dict[str, str] = {}
        for v in violations:
            name = v["where"].split(".", 1)[1] if "." in v["where"] else v["where"]
            errors.setdefault(name, v["message"])
        return ValidationFailed(errors).response()

    async def find_account(self, sim: "Simulator", request: web.Request) -> "Account | None":
        return identify(request)

    def attach(self, sim: "Simulator", account: "Account") -> None:
        account.lookup = functools.partial(webhooks.contact_lookup, sim)

    def on_event(self, sim: "Simulator", account: "Account", event: "CallEvent") -> None:
        webhooks.on_event(sim, account, event)

    def banner(self, account: "Account", base_url: str) -> list[str]:
        return [f"{account.id} (vats): {base_url}{self.base_path}  X-API-KEY: {account.credentials.get('api_key', '')}"]
