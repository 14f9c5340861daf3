"""Provider t2: t2 Corporate PBX CRM OpenAPI (``/crm/openapi``). Endpoints in ``routes.py``,
tokens in ``auth.py``, shapes in ``models.py``, error bodies in ``errors.py``; the inventory
and every resolution of the seeds' gaps are in README.md here."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from aiohttp import web

from ..base import Provider
from .auth import identify, issue_pair
from .errors import NAMED_ERRORS, MissingParameter, WrongParameter, server_error, status_error
from .models import manager_for
from .routes import BASE, add_routes

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import Call
    from ...sim import Simulator


class T2Provider(Provider):
    id = "t2"
    title = "t2 Corporate PBX CRM OpenAPI"
    base_path = BASE
    default_encoding = "json"
    credential_keys = ("access_token", "refresh_token")

    def __init__(self) -> None:
        # token → (account id, claims) of tokens whose signature verified: decoding an HS512
        # JWT costs more than the rest of a request, and the result never changes (paired wrk
        # rounds on GET /employees: 2.6x the requests a second with it, 2.7x less CPU each)
        self.verified: dict[str, tuple[str, dict]] = {}

    def setup_routes(self, app: web.Application) -> None:
        add_routes(app)

    named_errors = NAMED_ERRORS

    def http_error(self, request: web.Request, status: int) -> web.StreamResponse | None:
        return server_error(request, status)

    def status_error(self, status: int) -> web.StreamResponse:
        return status_error(status)

    def strict_error(self, violations: list[dict]) -> web.StreamResponse:
        from ...strict import first_field
        name = first_field(violations)
        if violations[0]["kind"] == "missing_required":
            return MissingParameter(name, "String").response()
        return WrongParameter(name).response()

    async def find_account(self, sim: "Simulator", request: web.Request) -> "Account | None":
        return identify(sim, request.headers.get("Authorization"))

    def new_credentials(self, sim: "Simulator", account: "Account", rng: random.Random) -> dict[str, str]:
        """A fresh token pair (as "Сгенерировать токен" in the PBX cabinet gives)."""
        return issue_pair(sim, account, rng).credentials()

    def attach(self, sim: "Simulator", account: "Account") -> None:
        async def personal_manager(acc: "Account", call: "Call") -> None:
            # t2's "automatic forwarding to the personal manager": a customer's call rings
            # their manager first; when the manager does not answer, normal routing goes on
            if call.direction != "in" or call.responsible_id is not None:
                return
            manager = manager_for(acc.state, call.caller)
            if manager is not None and manager.employee_id in acc.state.employees:
                call.responsible_id = manager.employee_id

        account.lookup = personal_manager

    def banner(self, account: "Account", base_url: str) -> list[str]:
        return [f"{account.id} (t2): {base_url}{self.base_path}  Authorization: "
                f"{account.credentials.get('access_token', '')}",
                f"    refresh token: {account.credentials.get('refresh_token', '')}"]
