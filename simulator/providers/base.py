"""What every provider package supplies. A provider is registered in ``providers/__init__.py``;
adding a fifth is adding one folder and one line there."""

from __future__ import annotations

import random
import secrets
import string
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

if TYPE_CHECKING:
    from ..core.accounts import Account
    from ..core.engine import Call, CallEvent
    from ..core.models import Employee
    from ..sim import Simulator


class Provider:
    id: str = ""
    title: str = ""
    base_path: str = ""                 # where its API lives on the server
    default_encoding: str = "json"      # how its webhooks are encoded unless the account says
    encodings: tuple[str, ...] = ("json", "form")   # what an account may choose
    credential_keys: tuple[str, ...] = ()
    locale: str = "ru_RU"               # Faker locale of generated names and numbers
    utc_offset: float = 3.0             # the home time zone: periods, schedules, local times
    # every webhook it sends, each with its CRM answer schema schemas/crm/<id>/<hook>.json
    # (all read at start: a missing one stops the server instead of passing every answer)
    answer_schemas: tuple[str, ...] = ()

    # ---- HTTP ------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        """Add this provider's routes to the server (all accounts share them; auth says which)."""

    def http_error(self, request: web.Request, status: int) -> web.StreamResponse | None:
        """This provider's body for the server's 400 (the catch-all) / 404 / 405 / 413 under its base path."""
        return None

    # ---- faults and strict mode ----------------------------------------------------------------
    # the documented errors a fault may name: name → the error (an exception with ``response()``),
    # from the provider's errors.py
    named_errors: dict[str, Callable[[], Any]] = {}

    def status_error(self, status: int) -> web.StreamResponse:
        """An answer with ``status`` in this provider's error shape (a fault's ``respond.status``)."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return web.json_response({"status": status, "error": phrase}, status=status)

    def strict_error(self, violations: list[dict]) -> web.StreamResponse:
        """Strict mode's ``reject``: the provider's answer to a request its API refuses (400)."""
        return self.status_error(400)

    async def identify(self, sim: "Simulator", request: web.Request) -> "Account | None":
        """The account a request is for, found before its handler runs and without changing
        anything (faults and strict mode need it): the provider's only account, else what
        ``find_account`` reads from the credentials the request carries."""
        accounts = sim.accounts_of(self.id)
        if len(accounts) == 1:
            return accounts[0]
        return await self.find_account(sim, request) if accounts else None

    async def find_account(self, sim: "Simulator", request: web.Request) -> "Account | None":
        return None

    # ---- credentials -------------------------------------------------------------------------
    def new_credentials(self, sim: "Simulator", account: "Account", rng: random.Random) -> dict[str, str]:
        """Fresh credentials (at start without configured ones, and on regenerate)."""
        return {key: random_key(rng) for key in self.credential_keys}

    def accept_credentials(self, sim: "Simulator", account: "Account", given: dict[str, str]) -> dict[str, str]:
        """Credentials from the configuration file (validated; missing keys generated)."""
        self.check_credentials(account.id, given)
        creds = self.new_credentials(sim, account, account.rng)
        creds.update(given)
        return creds

    def check_credentials(self, account_id: str, given: dict[str, str]) -> None:
        """``ValueError`` for configured credentials this provider has no use for."""
        unknown = set(given) - set(self.credential_keys)
        if unknown:
            raise ValueError(f"account {account_id}: unknown credentials {sorted(unknown)} "
                             f"for provider {self.id} (use {list(self.credential_keys)})")

    def regenerate(self, sim: "Simulator", account: "Account") -> dict[str, str]:
        """New credentials; every earlier one stops working."""
        account.credentials = self.new_credentials(sim, account, random.Random(secrets.randbits(64)))
        return account.credentials

    # ---- calls and webhooks ------------------------------------------------------------------
    def crm_problem(self, crm: Any) -> str | None:
        """Why an account's ``crm`` block cannot be used with this provider (None: it can).
        Asked by the configuration, the admin API and the pytest plugin alike."""
        if crm.encoding is not None and crm.encoding not in self.encodings:
            return (f"crm.encoding {crm.encoding!r} is not possible for provider {self.id}: "
                    f"it sends {' or '.join(self.encodings)} only")
        return None

    def attach(self, sim: "Simulator", account: "Account") -> None:
        """Wire the account: e.g. set ``account.lookup`` for a lookup-type webhook."""

    def on_event(self, sim: "Simulator", account: "Account", event: "CallEvent") -> None:
        """Map a domain event to this provider's webhooks (``sim.webhooks.enqueue``)."""

    def on_office_event(self, sim: "Simulator", account: "Account", kind: str, record: Any) -> None:
        """An employee's state changed (``employee.paused`` / ``employee.unpaused``)."""

    def reset(self, sim: "Simulator", account: "Account") -> None:
        """Forget provider-only runtime state (sessions, caches) on reset."""

    # ---- people --------------------------------------------------------------------------------
    def banner(self, account: "Account", base_url: str) -> list[str]:
        """Lines printed at start: where this account's API is and how to authenticate."""
        creds = ", ".join(f"{k}={v}" for k, v in account.credentials.items())
        return [f"{account.id} ({self.id}): {base_url}{self.base_path}  {creds}"]


def apply_contact_answer(call: "Call", answer: Any, find: Callable[[str], "Employee | None"]) -> None:
    """A CRM's ``contact`` answer ``{contact_name, responsible}`` (vats and cloudpbx share this
    contract): the name goes on the phones' display, the responsible employee (as ``find``
    resolves the provider's reference) is rung first. Anything else is ignored."""
    if not isinstance(answer, dict):
        return
    call.lookup = answer
    name = answer.get("contact_name")
    if isinstance(name, str) and name.strip():
        call.contact_name = call.caller_name = name.strip()
    responsible = answer.get("responsible")
    if isinstance(responsible, (str, int)) and not isinstance(responsible, bool) and str(responsible).strip():
        employee = find(str(responsible).strip())
        if employee is not None:
            call.responsible_id = employee.id


def random_key(rng: random.Random, length: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(length))
