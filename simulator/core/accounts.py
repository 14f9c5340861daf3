"""An account (tenant): its configuration, credentials, CRM target, switches and state."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..config import AccountConfig, CrmTarget
from .policy import OutcomePolicy
from .secrets import mask_headers, mask_url
from .store import AccountState

if TYPE_CHECKING:
    from .clock import AccountClock
    from .engine import Call


def mask(secret: str | None) -> str | None:
    """A secret as the admin API shows it without ``?secrets=1``: enough to tell two apart
    (the last four characters of a long one), not enough to use."""
    if secret is None:
        return None
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


@dataclass
class Account:
    id: str
    provider: str
    name: str
    domain: str
    config: AccountConfig
    crm: CrmTarget
    settings: dict[str, Any]
    state: AccountState
    policy: OutcomePolicy
    rng: random.Random
    credentials: dict[str, str] = field(default_factory=dict)
    # call ids of calls placed at run time (None: ``rng``); see ``Simulator._build``
    id_rng: random.Random | None = None
    # per-account switches the admin API flips (vats "CRM disabled" ...)
    switches: dict[str, Any] = field(default_factory=dict)
    # set by the provider: awaited before an external call is routed (vats/cloudpbx contact,
    # phonet call.settings); it may set call.contact_name / call.responsible_id
    lookup: Callable[["Account", "Call"], Awaitable[None]] | None = None
    home_utc_offset: float = 3.0   # the provider's home zone, unless settings.utc_offset says
    locale: str = "ru_RU"          # of generated names and numbers
    # the account's view of the server clock (``Simulator.account_clock``): what every reader
    # of the account's time asks
    clock: "AccountClock | None" = field(default=None, repr=False, compare=False)

    @property
    def strict(self) -> str | None:
        """Strict mode (warn / reject / None): the admin API's switch, else the configuration's."""
        mode = self.switches.get("strict", self.config.strict)
        return mode if mode in ("warn", "reject") else None

    @property
    def record_calls(self) -> bool:
        return bool(self.settings.get("record_calls", True))

    @property
    def utc_offset(self) -> float:
        return float(self.settings.get("utc_offset", self.home_utc_offset))

    def default_clid(self) -> str:
        """The company number an outgoing call shows when the employee has none of their own."""
        for number in self.state.numbers.values():
            return number.number
        return ""

    def public(self, secrets: bool = False) -> dict:
        """The admin API's view of the account; credentials, the CRM token, a password in the
        CRM URL and secret headers masked unless ``secrets``."""
        shown = (lambda v: v) if secrets else mask
        return {
            "id": self.id,
            "provider": self.provider,
            "name": self.name,
            "domain": self.domain,
            "credentials": {k: shown(v) for k, v in self.credentials.items()},
            "crm": {
                "url": self.crm.url if secrets else mask_url(self.crm.url),
                "crm_token": shown(self.crm.crm_token),
                "encoding": self.crm.encoding,
                "timeout": self.crm.timeout,
                "retries": self.crm.retries,
                "lookup_url": self.crm.lookup_url,
                "events_url": self.crm.events_url,
                "utm_url": self.crm.utm_url,
                "headers": dict(self.crm.headers) if secrets else mask_headers(self.crm.headers, (self.crm.crm_token,)),
                "auth": self.crm.auth,
                "auth_user": self.crm.auth_user,
            },
            "switches": dict(self.switches),
            "settings": dict(self.settings),
            "strict": self.strict,
        }


class AccountTable(dict):
    """``Simulator.accounts`` (id → Account), which also keeps each provider's accounts:
    authentication looks them up on every request. Every way of changing the table
    forgets them; they are grouped again when next asked for."""

    __slots__ = ("_by_provider",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_provider: dict[str, tuple[Account, ...]] | None = None

    def of(self, provider: str) -> tuple[Account, ...]:
        groups = self._by_provider
        if groups is None:
            grouped: dict[str, list[Account]] = {}
            for account in self.values():
                grouped.setdefault(account.provider, []).append(account)
            groups = self._by_provider = {p: tuple(accounts) for p, accounts in grouped.items()}
        return groups.get(provider, ())

    def __setitem__(self, key: str, value: Account) -> None:
        self._by_provider = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._by_provider = None
        super().__delitem__(key)

    def __ior__(self, other: Any) -> "AccountTable":
        self._by_provider = None
        return super().__ior__(other)

    def pop(self, *args: Any) -> Any:
        self._by_provider = None
        return super().pop(*args)

    def popitem(self) -> tuple[str, Account]:
        self._by_provider = None
        return super().popitem()

    def clear(self) -> None:
        self._by_provider = None
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._by_provider = None
        super().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._by_provider = None
        return super().setdefault(key, default)
