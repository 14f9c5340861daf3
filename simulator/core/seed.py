"""Seed data: what an account holds at start (and after a reset).

Listed items come from the configuration; Faker fills up to the ``generate`` totals from
the server seed and the account id, so the same seed gives the same data on every machine.
Past calls are not invented here: ``history.py`` runs them through the call engine.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from ..config import FAKER_CHECKED_LOCALES, AccountConfig, RouteSeed
from .models import (
    BlacklistEntry,
    CompanyNumber,
    Contact,
    Customer,
    Department,
    DepartmentMember,
    Employee,
    PersonalManager,
    Route,
    SimCard,
)
from .store import AccountState

if TYPE_CHECKING:
    from faker import Faker

DEPARTMENT_NAMES = [
    ("sales", "Отдел продаж"), ("support", "Техподдержка"), ("billing", "Бухгалтерия"),
    ("logistics", "Логистика"), ("marketing", "Маркетинг"), ("hr", "Отдел кадров"),
    ("legal", "Юридический отдел"), ("service", "Сервисный центр"),
]
DEPARTMENT_NAMES_UK = [
    ("sales", "Відділ продажів"), ("support", "Техпідтримка"), ("billing", "Бухгалтерія"),
    ("logistics", "Логістика"), ("marketing", "Маркетинг"), ("hr", "Відділ кадрів"),
    ("legal", "Юридичний відділ"), ("service", "Сервісний центр"),
]
CALL_ORDER_CYCLE = ("ALL", "BYORDER", "EVENLY", "WATERFALL")
WORK_HOURS = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


# the providers the seed and the transcripts use (names, companies, e-mails with their {{year}},
# words), in Faker's own order: a Faker of only these builds ~20 ms a locale faster at start-up
# than one of all two dozen, and gives the same values for the same seed. Only for the
# providers' own locales, whose formats were checked to name nothing else.
FAKER_PROVIDERS = ["faker.providers.company", "faker.providers.date_time", "faker.providers.internet",
                   "faker.providers.lorem", "faker.providers.person"]


@lru_cache(maxsize=8)
def faker_for(locale: str) -> Faker:
    """One Faker per locale (building one reads dozens of modules); callers re-seed it. Faker
    is imported here, by the first seed: ``pbx-sim serve`` builds its accounts on a worker
    while it already answers (see ``Simulator.start``)."""
    from faker import Faker
    if locale in FAKER_CHECKED_LOCALES:
        return Faker(locale, providers=FAKER_PROVIDERS)
    return Faker(locale)


class NumberFactory:
    """Phone numbers in the provider's format: 7 and ten digits (Russia) or +380 and nine (Ukraine)."""

    def __init__(self, rng: random.Random, ukrainian: bool):
        self.rng = rng
        self.ukrainian = ukrainian
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            n = make()
            if n not in self.used:
                self.used.add(n)
                return n

    def company(self) -> str:
        if self.ukrainian:
            return self._unique(lambda: "+38044" + "".join(str(self.rng.randrange(10)) for _ in range(7)))
        return self._unique(lambda: "7" + self.rng.choice(["495", "499", "812"]) +
                            "".join(str(self.rng.randrange(10)) for _ in range(7)))

    def mobile(self) -> str:
        if self.ukrainian:
            return self._unique(lambda: "+380" + self.rng.choice(["50", "63", "67", "93", "97"]) +
                                "".join(str(self.rng.randrange(10)) for _ in range(7)))
        return self._unique(lambda: "79" + "".join(str(self.rng.randrange(10)) for _ in range(9)))


_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi",
    "є": "ye", "ґ": "g",
})


def login_from(first: str, last: str) -> str:
    raw = (first[:1] + last).lower().translate(_TRANSLIT)
    return re.sub(r"[^a-z0-9]", "", raw) or "user"


def _route(seed: RouteSeed) -> Route:
    schedule: dict[str, list[tuple[int, int]]] = {}
    for day, spans in seed.schedule.items():
        out = []
        for span in spans:
            a, b = span.split("-")
            ha, ma = (int(x) for x in a.split(":"))
            hb, mb = (int(x) for x in b.split(":"))
            out.append((ha * 3600 + ma * 60, hb * 3600 + mb * 60))
        schedule[day] = out
    return Route(
        type=seed.type, target=seed.target, greeting=seed.greeting,
        ivr={k: _route(v) for k, v in seed.ivr.items()}, ivr_default=seed.ivr_default,
        schedule=schedule, work=_route(seed.work) if seed.work else None,
        other=_route(seed.other) if seed.other else None,
        on_busy=_route(seed.on_busy) if seed.on_busy else None,
    )


def build_state(cfg: AccountConfig, seed: int, now: float, locale: str = "ru_RU") -> AccountState:
    """The account's seed state; ``locale`` (the provider's, unless the seed names one) decides
    names and number formats."""
    state = AccountState()
    rng = random.Random(f"{seed}:{cfg.id}:seed")
    fake = faker_for(locale)
    fake.seed_instance(rng.randrange(1 << 31))
    numbers = NumberFactory(rng, locale == "uk_UA")
    domain = cfg.domain or f"{cfg.id}.example.com"
    gen = cfg.seed.generate

    # ---- employees ---------------------------------------------------------------------
    logins: set[str] = set()

    def add_employee(login, ext, name, first="", last="", email=None, mobile=None, direct=None,
                     position=None, role="user", dnd=False, lines=0, only_internal=False) -> Employee:
        eid = state.next_id("employee")
        ext = ext or str(100 + eid)
        while state.employee_by_ext(ext) is not None:
            ext = str(int(ext) + 1)
        login = login or f"u{ext}"
        base, k = login, 2
        while login in logins:
            login, k = f"{base}{k}", k + 1
        logins.add(login)
        parts = name.split()
        emp = Employee(
            id=eid, login=login, ext=ext, name=name,
            first_name=first or (parts[1] if len(parts) > 1 else name),
            last_name=last or (parts[0] if parts else ""),
            email=email if email is not None else f"{login}@{domain}",
            mobile=mobile if mobile is not None else numbers.mobile(),
            direct_number=direct or "", position=position or "Менеджер", role=role, dnd=dnd,
            lines=lines, only_internal=only_internal)
        state.employees[eid] = emp
        return emp

    for e in cfg.seed.employees:
        add_employee(e.login, e.ext, e.name, email=e.email, mobile=e.mobile, direct=e.direct_number,
                     position=e.position, role=e.role, dnd=e.dnd, lines=e.lines, only_internal=e.only_internal)
    positions = ["Менеджер", "Старший менеджер", "Оператор", "Руководитель отдела", "Специалист"]
    while len(state.employees) < gen.employees:
        male = rng.random() < 0.5
        first = fake.first_name_male() if male else fake.first_name_female()
        last = fake.last_name_male() if male else fake.last_name_female()
        idx = len(state.employees)
        add_employee(login_from(first, last), None, f"{last} {first}", first, last,
                     direct=numbers.company() if idx % 2 == 0 else "",
                     position=positions[idx % len(positions)],
                     role="admin" if idx == 0 else "user")
    employees = list(state.employees.values())

    # ---- departments -------------------------------------------------------------------
    def add_department(dept_id, name, ext, order, interval, timeout, target, value, members) -> Department:
        dept = Department(id=dept_id, name=name, ext=ext, call_order=order, ring_interval=interval,
                          timeout=timeout, timeout_target=target, timeout_value=value)
        for login in members:
            emp = state.employee_by_login(login)
            if emp is not None:
                dept.members.append(DepartmentMember(emp.id))
        state.departments[dept.id] = dept
        return dept

    for d in cfg.seed.departments:
        add_department(d.id or f"g{len(state.departments) + 1}", d.name, d.ext or state.free_ext(701),
                       d.call_order, d.ring_interval, d.timeout, d.timeout_target, d.timeout_value, d.members)
    names = DEPARTMENT_NAMES_UK if locale == "uk_UA" else DEPARTMENT_NAMES
    k = 0
    while len(state.departments) < gen.departments:
        dept_id, name = names[k % len(names)]
        if k >= len(names):
            dept_id, name = f"{dept_id}{k // len(names) + 1}", f"{name} {k // len(names) + 1}"
        k += 1
        if dept_id in state.departments:
            continue
        n = len(state.departments)
        add_department(dept_id, name, state.free_ext(701), CALL_ORDER_CYCLE[n % 4], 10, 60,
                       "voicemail", "", [])
    generated_depts = [d for d in state.departments.values() if not d.members]
    if generated_depts and employees:
        per = max(2, len(employees) // max(1, len(generated_depts)))
        for i, dept in enumerate(generated_depts):
            chosen = [employees[(i * per + j) % len(employees)] for j in range(min(per + 1, len(employees)))]
            for emp in chosen:
                if dept.member(emp.id) is None:
                    dept.members.append(DepartmentMember(emp.id))
    depts = list(state.departments.values())

    # ---- company numbers ---------------------------------------------------------------
    for n in cfg.seed.numbers:
        state.numbers[n.number] = CompanyNumber(number=n.number, name=n.name, enabled=n.enabled,
                                                multichannel=n.multichannel, channels=n.channels,
                                                route=_route(n.route))
    i = 0
    while len(state.numbers) < gen.numbers:
        number = numbers.company()
        kind = i % 5
        if depts and kind == 0:
            route = Route(type="department", target=depts[0].id)
        elif depts and kind == 1:
            # outside working hours nobody takes it: out of hours
            route = Route(type="schedule", schedule={d: [(9 * 3600, 18 * 3600)] for d in WORK_HOURS},
                          work=Route(type="department", target=depts[min(1, len(depts) - 1)].id))
        elif depts and kind == 2:
            menu = {str(j + 1): Route(type="department", target=d.id) for j, d in enumerate(depts[:3])}
            menu["0"] = Route(type="fax")
            if employees and employees[-1].mobile:
                menu["9"] = Route(type="external", target=employees[-1].mobile)   # to a mobile phone
            route = Route(type="ivr", greeting="Здравствуйте! Нажмите 1, 2 или 3.", ivr_default="1", ivr=menu)
        elif employees and kind == 3:
            emp = employees[i % len(employees)]
            # busy forward: while the employee is on the phone, a colleague takes the call
            route = Route(type="employee", target=emp.login,
                          on_busy=Route(type="employee", target=employees[(i + 1) % len(employees)].login)
                          if len(employees) > 1 else Route(type="voicemail"))
        elif depts and employees:
            # outside working hours the on-duty employee takes it
            route = Route(type="schedule", schedule={d: [(9 * 3600, 18 * 3600)] for d in WORK_HOURS},
                          work=Route(type="department", target=depts[i % len(depts)].id),
                          other=Route(type="employee", target=employees[(i + 2) % len(employees)].login))
        elif depts:
            route = Route(type="department", target=depts[i % len(depts)].id)
        else:
            route = Route(type="voicemail")
        state.numbers[number] = CompanyNumber(number=number, name=f"Линия {len(state.numbers) + 1}",
                                              route=route)
        i += 1

    # ---- blacklist, anonymous ----------------------------------------------------------
    for b in cfg.seed.blacklist:
        key = b.number.lstrip("+")
        state.blacklist[key] = BlacklistEntry(number=key, comment=b.comment, source="FILE", created_at=now)
    while len(state.blacklist) < gen.blacklist:
        key = numbers.mobile().lstrip("+")
        state.blacklist[key] = BlacklistEntry(number=key, comment=fake.sentence(nb_words=3).rstrip("."),
                                              source="FILE", created_at=now)
    state.block_anonymous = cfg.seed.block_anonymous
    state.white_list = list(cfg.seed.white_list)
    state.max_sessions = cfg.seed.max_sessions

    # ---- SIM cards ---------------------------------------------------------------------
    for s in cfg.seed.sims:
        emp = state.employee_by_login(s.employee) if s.employee else None
        state.sims[s.number] = SimCard(number=s.number, iccid=_iccid(rng), state=s.state,
                                       employee_id=emp.id if emp else None)
    j = 0
    while len(state.sims) < gen.sims:
        emp = employees[j % len(employees)] if employees else None
        number = numbers.mobile()
        state.sims[number] = SimCard(number=number, iccid=_iccid(rng), state="user" if emp else "disabled",
                                     employee_id=emp.id if emp else None)
        j += 1

    # ---- personal managers -------------------------------------------------------------
    for m in cfg.seed.managers:
        emp = state.employee_by_login(m.employee)
        if emp is None:
            continue
        mid = state.next_id("manager")
        state.managers[mid] = PersonalManager(
            id=mid, employee_id=emp.id, handles_all_customers=m.handles_all_customers,
            customers=[Customer(id=state.next_id("customer"), number=c.number, name=c.name) for c in m.customers])
    j = 0
    while len(state.managers) < gen.managers and j < len(employees):
        emp = employees[-1 - j]
        j += 1
        if any(m.employee_id == emp.id for m in state.managers.values()):
            continue
        mid = state.next_id("manager")
        state.managers[mid] = PersonalManager(
            id=mid, employee_id=emp.id,
            customers=[Customer(id=state.next_id("customer"), number=numbers.mobile(), name=fake.name())
                       for _ in range(rng.randint(1, 3))])

    # ---- contacts ----------------------------------------------------------------------
    for c in cfg.seed.contacts:
        resp = state.employee_by_login(c.responsible) if c.responsible else None
        cid = state.next_id("contact")
        state.contacts[cid] = Contact(id=cid, name=c.name, numbers=list(c.numbers), company=c.company,
                                      email=c.email, responsible_employee_id=resp.id if resp else None,
                                      created_at=now, updated_at=now)
    while len(state.contacts) < gen.contacts:
        cid = state.next_id("contact")
        resp = employees[cid % len(employees)] if employees else None
        state.contacts[cid] = Contact(id=cid, name=fake.name(), numbers=[numbers.mobile()],
                                      company=fake.company(), email=fake.email(),
                                      responsible_employee_id=resp.id if resp else None,
                                      created_at=now, updated_at=now)
    return state


def _iccid(rng: random.Random) -> str:
    return "897010" + "".join(str(rng.randrange(10)) for _ in range(13))
