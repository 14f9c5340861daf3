"""Configuration file (YAML), validated with pydantic.

An invalid file is refused with ``ConfigError``, whose message names each bad field and why.
"""

from __future__ import annotations

import base64
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .core.faults import FaultSpec

PROVIDER_IDS = ("t2", "vats", "phonet", "cloudpbx")
# the providers' own Faker locales (core/seed.py builds them with fewer Faker providers; every
# test run seeds both)
FAKER_CHECKED_LOCALES = ("ru_RU", "uk_UA")
DEMO_CONFIG = "demo.yaml"


HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")   # an HTTP token
# the validators below keep their own messages; these patterns say the same to the admin
# OpenAPI document (json_schema_extra), so what it allows is what they accept
HTTP_URL = r"^(https?://[^\s/]+.*)?$"
OWN_HEADERS = frozenset({"content-type", "content-length", "host", "transfer-encoding", "connection"})


class ConfigError(Exception):
    """A configuration that cannot be used; the message is meant for a person."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CrmTarget(_Model):
    url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    crm_token: str = ""
    encoding: Literal["json", "form"] | None = None   # None: the provider's default
    timeout: float = Field(3.0, gt=0, le=120)
    retries: int = Field(0, ge=0, le=10)
    # phonet posts lookups, events and UTM batches to up to three URLs
    lookup_url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    events_url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    utm_url: str | None = Field(None, json_schema_extra={"pattern": HTTP_URL})
    # sent with every webhook, for receivers that authenticate the PBX by a header
    # (observed.md): {"X-CRM-Token": "…"}, {"Authorization": "Bearer …"}
    headers: dict[str, str] = Field(default_factory=dict, json_schema_extra={
        "propertyNames": {"pattern": HEADER_NAME.pattern}, "additionalProperties": {"type": "string", "pattern": "^[^\r\n]*$"}})
    auth: Literal["basic", "bearer"] | None = None   # Authorization made from crm_token
    auth_user: str = ""                               # the user name of basic (password: crm_token)

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() in OWN_HEADERS:
                raise ValueError(f"{name} is the simulator's own header")
            if "\r" in value or "\n" in value:
                raise ValueError(f"{name}: a header value is one line")
        return v

    @model_validator(mode="after")
    def _one_authorization(self) -> "CrmTarget":
        if self.auth is not None and any(n.lower() == "authorization" for n in self.headers):
            raise ValueError("give crm.auth or an Authorization header, not both")
        if self.auth is not None or any(n.lower() == "authorization" for n in self.headers):
            # a user:password in a URL is Basic authorization already: two would clash on the wire
            for name in ("url", "lookup_url", "events_url", "utm_url"):
                url = getattr(self, name)
                if url and "@" in url.split("/", 3)[2]:
                    raise ValueError(f"{name} has a user:password (Basic authorization); "
                                     "give it or crm.auth / an Authorization header, not both")
        if self.auth_user and ":" in self.auth_user:
            raise ValueError("auth_user: no ':' in a basic user name")
        return self

    def webhook_headers(self) -> dict[str, str]:
        """What every webhook of the account carries besides its own headers."""
        headers = dict(self.headers)
        if self.auth == "bearer":
            headers["Authorization"] = f"Bearer {self.crm_token}"
        elif self.auth == "basic":
            pair = f"{self.auth_user}:{self.crm_token}".encode("utf-8")
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    @field_validator("url", "lookup_url", "events_url", "utm_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v


class PolicyRule(_Model):
    """How a party nobody scripted behaves, chosen by number pattern (fnmatch)."""
    match: str = "*"
    side: Literal["employee", "client", "any"] = "any"
    result: Literal["answer", "no_answer", "busy", "unavailable"] = "answer"
    ring_s: float | None = Field(None, ge=0, le=3600)
    talk_s: float | None = Field(None, ge=0, le=86400)
    hangup: Literal["A", "B"] | None = None


class EmployeeSeed(_Model):
    login: str | None = None
    ext: str | None = None
    name: str
    email: str | None = None
    mobile: str | None = None
    direct_number: str | None = None
    position: str | None = None
    role: Literal["admin", "user", "restricted_user"] = "user"
    dnd: bool = False
    lines: int = Field(0, ge=0, le=20)     # simultaneous calls; 0: the account's setting (one line)
    only_internal: bool = False


class RouteSeed(_Model):
    type: Literal["employee", "department", "ivr", "schedule", "voicemail", "fax", "external"] = "employee"
    target: str = ""
    greeting: str = ""
    ivr: dict[str, "RouteSeed"] = Field(default_factory=dict)
    ivr_default: str = ""
    schedule: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]] = Field(default_factory=dict)
    work: "RouteSeed | None" = None
    other: "RouteSeed | None" = None
    on_busy: "RouteSeed | None" = None     # type employee: where calls go while the employee is busy

    @field_validator("schedule")
    @classmethod
    def _spans(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in v.items():
            for span in spans:
                if not re.match(r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$", span):
                    raise ValueError(f"{day}: {span!r} is not a span like '09:00-18:00'")
        return v


class DepartmentSeed(_Model):
    id: str | None = None
    name: str
    ext: str | None = None
    call_order: Literal["ALL", "EVENLY", "BYORDER", "WATERFALL"] = "ALL"
    ring_interval: int = Field(15, ge=5, le=30)
    timeout: int = Field(120, ge=5, le=3600)
    timeout_target: Literal["voicemail", "employee", "department", "external"] = "voicemail"
    timeout_value: str = ""
    members: list[str] = Field(default_factory=list)   # logins


class NumberSeed(_Model):
    number: str = Field(json_schema_extra={"pattern": r"^\+?[0-9]{5,15}$"})
    name: str = ""
    enabled: bool = True
    multichannel: bool = True
    channels: int = Field(0, ge=0, le=1000)   # simultaneous external calls; 0: no limit
    route: RouteSeed = Field(default_factory=RouteSeed)

    @field_validator("number")
    @classmethod
    def _digits(cls, v: str) -> str:
        if not re.match(r"^\+?\d{5,15}$", v):
            raise ValueError("must be 5 to 15 digits, optionally with a leading '+'")
        return v


class BlacklistSeed(_Model):
    number: str = Field(json_schema_extra={"pattern": r"^\+?[0-9]{3,15}\*?$"})
    comment: str = ""

    @field_validator("number")
    @classmethod
    def _pattern(cls, v: str) -> str:
        if not re.match(r"^\+?\d{3,15}\*?$", v):
            raise ValueError("must be digits, or a prefix ending in '*' (e.g. 7900800*)")
        return v


class SimSeed(_Model):
    number: str
    employee: str | None = None       # login
    state: Literal["user", "company", "disabled"] = "user"


class CustomerSeed(_Model):
    number: str
    name: str = ""


class ManagerSeed(_Model):
    employee: str                     # login
    handles_all_customers: bool = False
    customers: list[CustomerSeed] = Field(default_factory=list)


class ContactSeed(_Model):
    name: str
    numbers: list[str] = Field(default_factory=list)
    company: str = ""
    email: str = ""
    responsible: str | None = None    # login


# calls per local hour of a working day, relative: night, the morning peak, the lunch dip, the
# afternoon peak, the evening
OFFICE_HOURS = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.5, 4.0, 8.0, 10.0, 9.5,
                5.0, 4.5, 8.5, 9.5, 8.5, 6.0, 3.0, 1.5, 0.8, 0.5, 0.3, 0.2]


class TrafficSettings(_Model):
    """The shape of an office's calls (seeded history and ``pbx-sim traffic``)."""
    hourly: list[float] = Field(default_factory=lambda: list(OFFICE_HOURS), min_length=24, max_length=24)
    weekend: float = Field(0.2, ge=0, le=10)          # a weekend hour against a weekday one
    directions: dict[Literal["in", "out", "click_to_call", "internal"], float] = Field(
        default_factory=lambda: {"in": 60, "out": 22, "click_to_call": 10, "internal": 8})
    incoming: dict[Literal["answered", "missed", "cancelled", "busy"], float] = Field(
        default_factory=lambda: {"answered": 74, "missed": 13, "cancelled": 10, "busy": 3})
    outgoing: dict[Literal["answered", "missed", "cancelled", "busy", "unavailable"], float] = Field(
        default_factory=lambda: {"answered": 60, "missed": 17, "busy": 13, "unavailable": 8, "cancelled": 2})
    internal: dict[Literal["answered", "missed"], float] = Field(
        default_factory=lambda: {"answered": 85, "missed": 15})
    talk_median_s: float = Field(95.0, gt=0, le=3600)   # log-normal talk time
    talk_spread: float = Field(0.9, ge=0, le=3)
    talk_max_s: float = Field(1800.0, ge=5, le=86400)
    ring_median_s: float = Field(8.0, gt=0, le=60)
    ring_spread: float = Field(0.6, ge=0, le=3)
    repeat_share: float = Field(0.3, ge=0, le=1)        # calls from regular clients
    contact_share: float = Field(0.25, ge=0, le=1)      # calls from known contacts
    callback_share: float = Field(0.6, ge=0, le=1)      # missed calls called back
    callback_delay_s: float = Field(1200.0, gt=0)       # median time before the call-back
    crm_callback_share: float = Field(0.4, ge=0, le=1)  # call-backs placed through the CRM
    transfer_share: float = Field(0.07, ge=0, le=1)
    hold_share: float = Field(0.08, ge=0, le=1)
    rating_share: float = Field(0.12, ge=0, le=1)
    utm_share: float = Field(0.15, ge=0, le=1)
    showcase: bool = True    # a seeded history has one call of every rarer kind the office supports

    @field_validator("directions", "incoming", "outgoing", "internal")
    @classmethod
    def _some_weight(cls, v: dict) -> dict:
        if not v or sum(v.values()) <= 0 or any(w < 0 for w in v.values()):
            raise ValueError("needs weights >= 0, at least one above 0")
        return v


class GenerateSeed(_Model):
    """How much Faker adds on top of what is listed (totals, not extras)."""
    employees: int = Field(0, ge=0, le=5000)
    departments: int = Field(0, ge=0, le=200)
    numbers: int = Field(0, ge=0, le=500)
    blacklist: int = Field(0, ge=0, le=5000)
    sims: int = Field(0, ge=0, le=5000)
    contacts: int = Field(0, ge=0, le=100000)
    managers: int = Field(0, ge=0, le=500)
    calls: int = Field(0, ge=0, le=2_000_000)
    days: int = Field(7, ge=1, le=366)         # past calls spread over this many days


def _faker_locales(schema: dict) -> None:
    """The document's list of locales (read when a schema is made, never at start-up)."""
    from faker.config import AVAILABLE_LOCALES
    schema["enum"] = sorted(AVAILABLE_LOCALES) + [None]


class SeedData(_Model):
    locale: str | None = Field(None, json_schema_extra=_faker_locales)   # default ru_RU (uk_UA for phonet)
    employees: list[EmployeeSeed] = Field(default_factory=list)
    departments: list[DepartmentSeed] = Field(default_factory=list)
    numbers: list[NumberSeed] = Field(default_factory=list)
    blacklist: list[BlacklistSeed] = Field(default_factory=list)
    block_anonymous: bool = False
    white_list: list[str] = Field(default_factory=list)   # callers let in when not empty
    max_sessions: int = Field(0, ge=0, le=100000)          # simultaneous calls; 0: no limit
    sims: list[SimSeed] = Field(default_factory=list)
    managers: list[ManagerSeed] = Field(default_factory=list)
    contacts: list[ContactSeed] = Field(default_factory=list)
    generate: GenerateSeed = Field(default_factory=GenerateSeed)
    traffic: TrafficSettings = Field(default_factory=TrafficSettings)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is None or value in FAKER_CHECKED_LOCALES:
            return value   # the providers' own: known without importing Faker (serve's start)
        from faker.config import AVAILABLE_LOCALES
        if value not in AVAILABLE_LOCALES:
            raise ValueError(f"unknown Faker locale {value[:40]!r} (e.g. ru_RU, uk_UA, en_US)")
        return value


class AccountConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    provider: Literal["t2", "vats", "phonet", "cloudpbx"]
    name: str = ""
    domain: str = ""
    credentials: dict[str, str] = Field(default_factory=dict)
    crm: CrmTarget = Field(default_factory=CrmTarget)
    settings: dict[str, Any] = Field(default_factory=dict)    # provider switches
    outcome_policy: list[PolicyRule] = Field(default_factory=list)
    seed: SeedData = Field(default_factory=SeedData)
    # check each request against the provider's OpenAPI document: warn (journal the
    # violations) or reject (the provider's 400)
    strict: Literal["warn", "reject"] | None = None


class RetentionConfig(_Model):
    """How many call records each account keeps: the oldest past either limit are dropped
    (and counted in ``/_sim/health`` as ``calls_dropped``). A long soak stays in bounded memory."""
    calls: int | None = Field(2_000_000, ge=1)       # the most a seed may generate
    days: float | None = Field(None, gt=0, le=36600)  # records older than this before the newest


class ServerConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    clock: str = "real"
    seed: int = 42
    body_limit: int = Field(1024 * 1024, ge=1024)
    public_url: str | None = None      # base of links the simulator hands out (recordings)
    admin_token: str | None = None
    journal_size: int = Field(10000, ge=10)
    webhook_queue: int = Field(100000, ge=10)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    @field_validator("clock")
    @classmethod
    def _clock(cls, v: str) -> str:
        from .core.clock import parse_mode
        parse_mode(v)
        return v


class SimConfig(_Model):
    server: ServerConfig = Field(default_factory=ServerConfig)
    accounts: list[AccountConfig] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)   # as POST /_sim/faults takes them

    @model_validator(mode="after")
    def _unique_ids(self) -> "SimConfig":
        seen: set[str] = set()
        for acc in self.accounts:
            if acc.id in seen:
                raise ValueError(f"account id {acc.id!r} is used twice")
            seen.add(acc.id)
        for n, fault in enumerate(self.faults):
            if fault.account not in seen:
                raise ValueError(f"faults.{n}.account: no account {fault.account!r}")
        return self


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "config") -> SimConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with 'server' and 'accounts'")
    try:
        return SimConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None
    except ValueError as err:   # raised by validators outside pydantic's wrapping
        raise ConfigError(f"{source}: {err}") from None


def load_config(path: str | os.PathLike | None = None) -> SimConfig:
    """Read a YAML file, or the built-in demo configuration when ``path`` is None."""
    if path is None:
        text = resources.files("simulator").joinpath("data", DEMO_CONFIG).read_text("utf-8")
        source = "demo configuration"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such configuration file")
        text = p.read_text("utf-8")
        source = str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from None
    return parse_config(data, source)


def apply_environment(cfg: SimConfig, env: dict[str, str] | None = None) -> SimConfig:
    """``PBX_SIM_HOST`` / ``PBX_SIM_PORT`` override the file (the config path is read earlier)."""
    env = os.environ if env is None else env
    if env.get("PBX_SIM_HOST"):
        cfg.server.host = env["PBX_SIM_HOST"]
    if env.get("PBX_SIM_PORT"):
        try:
            cfg.server.port = int(env["PBX_SIM_PORT"])
        except ValueError:
            raise ConfigError(f"PBX_SIM_PORT: {env['PBX_SIM_PORT']!r} is not a port number") from None
    return cfg
