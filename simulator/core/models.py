"""The provider-neutral domain: what a PBX account holds.

Plain slotted dataclasses: handlers read and change them through ``AccountState`` and the
call engine; providers only render them in their own shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Call orders of a department (vats names; the other providers map onto them).
CALL_ORDERS = ("ALL", "EVENLY", "BYORDER", "WATERFALL")
ROUTE_TYPES = ("employee", "department", "ivr", "schedule", "voicemail", "fax", "external")
TIMEOUT_TARGETS = ("voicemail", "employee", "department", "external")
ROLES = ("admin", "user", "restricted_user")

# Call outcomes (what ended the call). Providers map them to their own statuses.
OUTCOMES = (
    "answered",            # someone talked
    "missed",              # rang, nobody answered
    "cancelled",           # the caller hung up before an answer
    "busy",                # callee busy
    "unavailable",         # callee unreachable
    "forbidden",           # direction forbidden
    "not_found",           # number does not exist / reception disabled
    "blocked_blacklist",   # caller is blacklisted
    "blocked_anonymous",   # anonymous caller with block-anonymous on
    "out_of_hours",        # schedule route, outside working hours, nowhere to go
    "dnd",                 # every employee it could ring was in DND
    "voicemail",           # went to voicemail (nobody talked)
    "congestion",          # every line (trunk) tried was full
    "max_sessions",        # the account's limit of simultaneous calls was reached
    "not_in_white_list",   # the account takes calls only from its white list
    "only_internal",       # the employee may make and take internal calls only
)
DIRECTIONS = ("in", "out", "internal")


@dataclass(slots=True)
class Employee:
    id: int
    login: str
    ext: str
    name: str                      # full display name ("Петров Андрей")
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    mobile: str = ""
    direct_number: str = ""        # the employee's own external number (telnum)
    position: str = "Менеджер"
    role: str = "user"
    dnd: bool = False
    status: str = "available"      # available / away / offline
    enabled: bool = True
    lines: int = 0                 # simultaneous calls the phone takes; 0: the account's setting
    paused: bool = False           # "not at desk" (phonet's pause): not rung
    only_internal: bool = False    # may make and take internal calls only
    mobile_redirect: dict = field(default_factory=lambda: {"enabled": False, "forward": False, "delay": 0})
    extra: dict = field(default_factory=dict)   # provider-only fields


@dataclass(slots=True)
class DepartmentMember:
    employee_id: int
    calls_enabled: bool = True


@dataclass(slots=True)
class Department:
    id: str
    name: str
    ext: str = ""
    call_order: str = "ALL"
    ring_interval: int = 15        # seconds each member rings in BYORDER/EVENLY/WATERFALL
    timeout: int = 120             # seconds before the timeout target takes the call
    timeout_target: str = "voicemail"
    timeout_value: str = ""        # employee login / department id / external number
    advanced: str = "off"
    members: list[DepartmentMember] = field(default_factory=list)
    next_start: int = 0            # EVENLY rotation pointer
    extra: dict = field(default_factory=dict)

    def member(self, employee_id: int) -> DepartmentMember | None:
        for m in self.members:
            if m.employee_id == employee_id:
                return m
        return None


@dataclass(slots=True)
class Route:
    """Where an incoming call to a company number goes."""
    type: str = "employee"          # see ROUTE_TYPES
    target: str = ""                # employee login / department id / external number
    greeting: str = ""
    ivr: dict[str, "Route"] = field(default_factory=dict)   # digit → route (type ivr)
    ivr_default: str = ""           # digit chosen when the caller presses nothing
    schedule: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # mon..sun → [(from_s, to_s)]
    work: "Route | None" = None     # type schedule: route inside working hours
    other: "Route | None" = None    # type schedule: route outside (None → out of hours)
    on_busy: "Route | None" = None  # type employee: where a call goes while the employee is busy
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class CompanyNumber:
    number: str
    name: str = ""
    enabled: bool = True
    multichannel: bool = True
    channels: int = 0              # simultaneous external calls on this line; 0: no limit
    route: Route = field(default_factory=Route)
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class SimCard:
    number: str
    iccid: str = ""
    state: str = "user"            # user / company / disabled
    employee_id: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class BlacklistEntry:
    number: str                     # digits, or a prefix ending in '*'
    comment: str = ""
    source: str = "MANUAL"          # MANUAL / FILE
    created_at: float = 0.0
    blocked_at: list[float] = field(default_factory=list)   # when calls were blocked

    def matches(self, number: str) -> bool:
        digits = number.lstrip("+")
        if self.number.endswith("*"):
            return digits.startswith(self.number[:-1].lstrip("+"))
        return digits == self.number.lstrip("+")


@dataclass(slots=True)
class Customer:
    id: int
    number: str
    name: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class PersonalManager:
    id: int
    employee_id: int
    handles_all_customers: bool = False
    customers: list[Customer] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class Note:
    id: int
    text: str
    created_at: float
    updated_at: float
    author_id: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class Contact:
    """A client known to the PBX's own CRM (phonet's Teler contacts)."""
    id: int
    name: str
    numbers: list[str] = field(default_factory=list)
    company: str = ""
    email: str = ""
    responsible_employee_id: int | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


@dataclass(slots=True)
class PauseRecord:
    """An employee set or removed their pause ("not at desk", phonet's lgDirection 32/64)."""
    id: str
    employee_id: int
    at: float
    on: bool


@dataclass(slots=True)
class CallRecord:
    """A finished call (CDR). Every provider's history, statistics and recordings are views
    of these."""
    id: str
    direction: str                  # in / out / internal
    caller: str                     # A number (client for in, employee's number/ext for out)
    callee: str                     # B number
    started_at: float               # epoch seconds (simulator clock)
    ended_at: float
    outcome: str                    # see OUTCOMES
    answered_at: float | None = None
    parent_id: str | None = None
    caller_name: str = ""
    callee_name: str = ""
    client: str = ""                # the external party's number ("" for internal)
    trunk: str = ""                 # company number the call came in through / CLID out
    employee_id: int | None = None  # who talked (or the last one rung)
    employee_ids: tuple = ()        # every employee rung
    department_id: str | None = None
    hangup_side: str = "A"          # A = caller hung up, B = callee
    transfers: tuple = ()           # exts in order: ("017", "019") → "017 > 019"
    record_file: str = ""           # recording file name, "" when not recorded
    rating: int | None = None
    utm: dict | None = None
    destination: str = "user"       # where routing ended: user/group/ivr/vm/offtime/...
    via: str = ""                   # vats/cloudpbx "via": company number in, CLID out
    legs: tuple = ()                # ((leg_id, employee_id, rang_at, answered_at|None, ended_at), ...)
    missed_callback: bool = False   # an outgoing call that returned a missed call
    click_to_call: bool = False     # placed by an API's click-to-call (employee rung first)
    holds: tuple = ()               # ((start, end), ...) the call spent on hold
    pickup_from: int | None = None  # the employee whose ringing phone another one picked up
    conference: tuple = ()          # numbers / exts of the parties added to the conversation
    queue_position: int | None = None   # place in the department's queue when it had to wait
    busy_forward: bool = False      # forwarded because the employee rung was busy
    on_duty: bool = False           # routed to the on-duty target (out of working hours)
    trunks: tuple = ()              # every line tried, in order, when more than one was

    @property
    def hold_s(self) -> int:
        return int(round(sum(end - start for start, end in self.holds)))

    @property
    def wait_s(self) -> int:
        end = self.answered_at if self.answered_at is not None else self.ended_at
        return max(0, int(round(end - self.started_at)))

    @property
    def talk_s(self) -> int:
        if self.answered_at is None:
            return 0
        return max(0, int(round(self.ended_at - self.answered_at)))

    @property
    def duration_s(self) -> int:
        return max(0, int(round(self.ended_at - self.started_at)))

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def transfer_history(self) -> str:
        return " > ".join(self.transfers)


# ---- live calls ----------------------------------------------------------------------------

@dataclass(eq=False)
class Leg:
    id: str
    kind: str                        # employee / client
    number: str                      # ext for employees, the dialled number for clients
    employee_id: int | None = None
    parent_id: str | None = None     # the department (parent) call this leg belongs to
    rang_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    result: str = "ringing"          # ringing / answered / no_answer / cancelled / busy / unavailable / ended / transferred
