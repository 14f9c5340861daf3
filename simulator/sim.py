"""The simulator's backend: accounts, clock, call engine, webhooks and journals in one object
that handlers reach through ``request.app[SIM]``."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import secrets
from datetime import datetime, timezone


from . import assets
from .config import AccountConfig, ConfigError, SimConfig
from .core.accounts import Account, AccountTable
from .core.clock import AccountClock, Clock
from .core.faults import FaultSpec, FaultTable
from .core.engine import Call, CallEngine, CallEvent, CallScript
from .core.history import seed_history
from .core.numbers import settle_numbers
from .core.policy import OutcomePolicy
from .core.seed import build_state
from .core.webhooks import WebhookDelivery, WebhookJournal
from .journal import AccessLog, RequestJournal
from .keys import SIM  # noqa: F401 (the app key lives apart; imported from here by the admin side)
from .providers import Provider, all_providers

log = logging.getLogger("simulator")



class AccountNotFound(KeyError):
    pass


class Simulator:
    def __init__(self, config: SimConfig, clock: Clock | None = None, seed: int | None = None,
                 reproducible: bool = False):
        self.config = config
        self.seed = config.server.seed if seed is None else seed
        # calls placed at run time get ids no earlier start gave, unless a scenario run wants
        # the same ids every time
        self.reproducible = reproducible
        self.run_nonce = "" if reproducible else secrets.token_hex(8)
        self.anchors: dict[str, float] = {}   # account → the time its seed is relative to
        self.history_listener = None   # sees the seeded history's engine events (on its worker thread)
        self._seeding: asyncio.Task | None = None   # accounts being built and seeded (start(history_later))
        self._starting = 0             # configured accounts that task has still to build
        self.clock = clock or Clock(config.server.clock)
        self.engine = CallEngine(self.clock)
        self.webhook_journal = WebhookJournal(max(1000, config.server.journal_size * 2))
        self.faults = FaultTable(self.seed, lambda account_id: self.account_clock(account_id).timestamp())
        self.webhooks = WebhookDelivery(self.clock, self.webhook_journal, config.server.webhook_queue, self.faults)
        self.access_log = AccessLog(logging.getLogger("simulator.access"))
        self.requests = RequestJournal(config.server.journal_size, self.access_log)
        self.providers: dict[str, Provider] = all_providers()
        assets.check(self.providers.values())   # a broken installation stops here, not later
        self.accounts: AccountTable = AccountTable()
        self.account_clocks: dict[str, AccountClock] = {}   # kept over resets and restores
        self.strict_providers: set[str] = set()   # providers with an account in strict mode
        self.account_configs: dict[str, AccountConfig] = {}
        self.public_url = (config.server.public_url or
                           f"http://{config.server.host}:{config.server.port}").rstrip("/")
        self.started_at = self.clock.timestamp()
        self.scenario_lock = asyncio.Lock()   # POST /_sim/scenarios/run: one run at a time
        self.restore_lock = asyncio.Lock()    # snapshot restores: each retires and replaces accounts
        self.engine.subscribe(self._dispatch)
        self.engine.subscribe_office(self._dispatch_office)

    # ---- accounts --------------------------------------------------------------------------
    async def start(self, history_later: bool = False) -> None:
        """Build every configured account. ``history_later``: the accounts are built and their
        past calls seeded on a worker after this returns — ``pbx-sim serve`` answers its health
        check meanwhile and holds every other request until ``ready()``. What would refuse the
        configuration is refused here, before the server answers."""
        if not history_later:
            for cfg in self.config.accounts:
                await self.add_account(cfg)
            self.add_configured_faults()
            return
        for cfg in self.config.accounts:
            self._check(cfg)
            self.anchors[cfg.id] = self.account_clock(cfg.id).timestamp()
        self._starting = len(self.config.accounts)
        self._seeding = asyncio.get_running_loop().create_task(self._start_later(list(self.config.accounts)))

    def add_configured_faults(self, account_id: str | None = None) -> None:
        """The configuration file's ``faults:`` (of one account, after its reset)."""
        for spec in self.config.faults:
            if account_id is None or spec.account == account_id:
                self.add_fault(spec.model_copy(deep=True))

    def add_fault(self, spec: FaultSpec):
        """A fault (``POST /_sim/faults``, configuration, scenario step); ``ValueError`` when
        its account or named error does not exist."""
        account = self.account(spec.account) if spec.account in self.accounts else None
        if account is None:
            raise ValueError(f"no account {spec.account!r}")
        provider = self.providers[account.provider]
        if spec.respond is not None and spec.respond.error is not None \
                and spec.respond.error not in provider.named_errors:
            raise ValueError(f"{provider.id} has no error {spec.respond.error!r} "
                             f"(GET /_sim/faults/errors?provider={provider.id}: {', '.join(provider.named_errors)})")
        return self.faults.add(spec, provider.id, account.clock.timestamp())

    def refresh_strict(self) -> None:
        self.strict_providers = {a.provider for a in self.accounts.values() if a.strict is not None}

    async def _start_later(self, configs: list[AccountConfig]) -> None:
        """``start(history_later=True)``'s accounts: their seed states on the worker (Faker is
        imported there, not before the server answers), then each account, then their past
        calls. With the inspector's lazy templates and serve's GC pause: 0.83-0.85x the
        start-up of building them first (paired runs, bench startup's figure)."""
        jobs: list = []
        try:
            states = await asyncio.to_thread(lambda: [self._seed_state(cfg) for cfg in configs])
            for cfg, state in zip(configs, states):
                self.accounts[cfg.id] = await self._build(cfg, later=jobs, state=state)
                self.account_configs[cfg.id] = cfg
                self._starting -= 1
            self.refresh_strict()
            self.add_configured_faults()
            for job in jobs:
                await job
        except Exception:
            log.exception("seeding the accounts failed")
            for job in jobs:
                job.close()            # the histories not run: no "never awaited" warnings
        finally:
            self._seeding, self._starting = None, 0

    @property
    def seeding(self) -> bool:
        """The accounts are still being built and seeded (``start(history_later=True)``)."""
        return self._seeding is not None

    async def ready(self) -> None:
        """Wait until the accounts are built and seeded (at once when they are)."""
        seeding = self._seeding
        if seeding is not None:
            await asyncio.shield(seeding)

    async def add_account(self, cfg: AccountConfig) -> Account:
        self._check(cfg)
        self.anchors[cfg.id] = self.account_clock(cfg.id).timestamp()
        account = await self._build(cfg)
        self.account_configs[cfg.id] = cfg
        self.accounts[cfg.id] = account
        self.refresh_strict()
        return account

    def _check(self, cfg: AccountConfig) -> None:
        """``ConfigError`` for an account that cannot be built (before anything of it is)."""
        if cfg.id in self.accounts:
            raise ConfigError(f"account {cfg.id!r} exists already")
        provider = self.providers[cfg.provider]
        problem = provider.crm_problem(cfg.crm)
        if problem:
            raise ConfigError(f"account {cfg.id}: {problem}")
        try:
            provider.check_credentials(cfg.id, cfg.credentials)
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def _seed_state(self, cfg: AccountConfig):
        """The account's seed state, laid out back from when the account first started, so a
        reset brings back the same ids at the same times."""
        clock = self.account_clock(cfg.id)
        locale = cfg.seed.locale or self.providers[cfg.provider].locale
        return build_state(cfg, self.seed, self.anchors.get(cfg.id, clock.timestamp()), locale)

    async def _build(self, cfg: AccountConfig, keep_credentials: dict | None = None,
                     later: list | None = None, state=None) -> Account:
        """A configured account (``_check``-ed) with its seed (``state``, when made already);
        its past calls now, or appended to ``later`` as a coroutine to await (the account is
        then attached to its provider after them)."""
        provider = self.providers[cfg.provider]
        clock = self.account_clock(cfg.id)
        now = self.anchors.get(cfg.id, clock.timestamp())
        account = Account(
            id=cfg.id, provider=cfg.provider, name=cfg.name or cfg.id,
            domain=cfg.domain or f"{cfg.id}.example.com", config=cfg,
            crm=copy.deepcopy(cfg.crm), settings=dict(cfg.settings),
            state=self._seed_state(cfg) if state is None else state, policy=OutcomePolicy(cfg.outcome_policy),
            rng=random.Random(f"{self.seed}:{cfg.id}:runtime"),
            home_utc_offset=provider.utc_offset, locale=cfg.seed.locale or provider.locale,
            id_rng=random.Random(f"{self.seed}:{cfg.id}:calls:{self.run_nonce}"), clock=clock)
        if account.crm.encoding is None:
            account.crm.encoding = provider.default_encoding
        for url in (account.crm.url, account.crm.lookup_url, account.crm.events_url, account.crm.utm_url):
            if url:
                self.webhooks.allowed_urls.add(url)
        try:
            account.credentials = (dict(keep_credentials) if keep_credentials is not None
                                   else provider.accept_credentials(self, account, dict(cfg.credentials)))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if later is None:
            await self._history(account, cfg, now)
        else:
            later.append(self._history(account, cfg, now))
        return account

    async def _history(self, account: Account, cfg: AccountConfig, now: float) -> None:
        gen = cfg.seed.generate
        self.retain(account)
        await seed_history(account, gen.calls, gen.days, now, self.seed, self.history_listener)
        # after the history (its draws stay those of the seed): one truth for every number
        settle_numbers(account.state, {n.number for n in cfg.seed.numbers} | {s.number for s in cfg.seed.sims})
        self.providers[cfg.provider].attach(self, account)

    def account_clock(self, account_id: str) -> AccountClock:
        """The account's view of the server clock (made on first use, zero offset)."""
        clock = self.account_clocks.get(account_id)
        if clock is None:
            clock = self.account_clocks[account_id] = AccountClock(self.clock)
        return clock

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise AccountNotFound(account_id) from None

    def provider_for_path(self, path: str) -> Provider | None:
        """The provider whose base path ``path`` is under, if any."""
        for provider in self.providers.values():
            if provider.base_path and path.startswith(provider.base_path):
                return provider
        return None

    def provider_id_for_path(self, path: str) -> str | None:
        provider = self.provider_for_path(path)
        return provider.id if provider is not None else None

    def accounts_of(self, provider: str) -> tuple[Account, ...]:
        return self.accounts.of(provider)

    def find_account(self, provider: str, key: str, value: str) -> Account | None:
        """The account of ``provider`` whose credential ``key`` equals ``value``."""
        if not value:
            return None
        for account in self.accounts.values():
            if account.provider == provider and account.credentials.get(key) == value:
                return account
        return None

    async def reset(self, account_id: str | None = None) -> list[str]:
        """Back to the configured seed state; credentials stay as they are."""
        ids = [account_id] if account_id else list(self.accounts)
        for aid in ids:
            old = self.account(aid)
            for call in self.engine.live_calls(aid):
                await self.engine.hangup(aid, call.id)
            self.providers[old.provider].reset(self, old)
            fresh = await self._build(self.account_configs[aid], keep_credentials=old.credentials)
            self.accounts[aid] = fresh
            self.webhook_journal.clear(aid)
            self.requests.clear(aid)
            self.faults.clear(aid)
            self.add_configured_faults(aid)
        self.refresh_strict()
        return ids

    def regenerate(self, account_id: str) -> dict[str, str]:
        account = self.account(account_id)
        return self.providers[account.provider].regenerate(self, account)

    # ---- calls -----------------------------------------------------------------------------
    def _dispatch(self, event: CallEvent) -> None:
        account = self.accounts.get(event.call.account_id)
        if account is not None:
            self.providers[account.provider].on_event(self, account, event)

    def _dispatch_office(self, account_id: str, kind: str, record) -> None:
        account = self.accounts.get(account_id)
        if account is not None:
            self.providers[account.provider].on_office_event(self, account, kind, record)

    def place_call(self, account_id: str, direction: str, from_: str, to: str,
                   employee: str | None = None, script: CallScript | None = None,
                   click_to_call: bool = False) -> Call:
        """Place an ad-hoc call (admin API, scenarios, traffic). Raises ``ValueError`` with a
        message for a person when the parties do not exist."""
        account = self.account(account_id)
        state = account.state
        if direction == "in":
            return self.engine.incoming(account, from_, to, script)
        if direction == "out":
            emp = state.find_employee(employee or from_)
            if emp is None:
                raise ValueError(f"no employee {employee or from_!r} in account {account_id}")
            if click_to_call:
                return self.engine.click_to_call(account, emp, to, script)
            return self.engine.outgoing(account, emp, to, script)
        if direction == "internal":
            a = state.find_employee(employee or from_)
            b = state.find_employee(to)
            if a is None or b is None:
                raise ValueError(f"internal call needs two employees: {employee or from_!r} → {to!r}")
            return self.engine.internal(account, a, b, script)
        raise ValueError("direction must be in, out or internal")

    # ---- lifecycle -------------------------------------------------------------------------
    async def close(self) -> None:
        if self._seeding is not None:
            await self.ready()         # the worker thread cannot be stopped half way
        self.requests.flush()
        await self.engine.close()
        await self.webhooks.close()
        await self.clock.close()

    def retain(self, account: Account) -> None:
        """Put the configured retention on the account's call records (``server.retention``)."""
        keep = self.config.server.retention
        account.state.cdrs.retain(keep.calls, keep.days * 86400 if keep.days else None)

    def health(self) -> dict:
        return {
            "status": "ok",
            "seeding": self.seeding,
            "accounts": len(self.accounts) + self._starting,   # those still being built at start too
            "live_calls": len(self.engine.live),
            # call records dropped by retention (server.retention), over the accounts' states
            "calls_dropped": sum(a.state.cdrs.dropped for a in self.accounts.values()),
            "clock": self.clock.snapshot(),
            "webhooks": {**self.webhooks.stats, "pending": self.webhooks.pending},
            "uptime_s": round(self.clock.timestamp() - self.started_at, 3),
        }


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


async def build_simulator(config: SimConfig, clock: Clock | None = None, seed: int | None = None,
                          history_later: bool = False) -> Simulator:
    sim = Simulator(config, clock, seed)
    await sim.start(history_later)
    return sim


__all__ = ["SIM", "Simulator", "AccountNotFound", "build_simulator", "iso", "asyncio"]
