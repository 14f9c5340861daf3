"""One truth for an account's numbers, whichever door shows them.

- An employee's own number (``direct_number``, vats' ``telnum``) is a company number: it is in
  ``state.numbers``, routed to that employee.
- A company number routed to one employee is that employee's own number.
- A SIM card given to an employee carries the employee's mobile number.

``settle_numbers`` makes a freshly seeded state keep these rules; ``route_settled`` and
``sim_settled`` keep them when an API changes a route or gives a SIM away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import CompanyNumber, Route

if TYPE_CHECKING:
    from .models import Employee
    from .store import AccountState


def _same(a: str, b: str) -> bool:
    return bool(a) and a.lstrip("+") == b.lstrip("+")


def _routed_to(state: "AccountState", number: CompanyNumber) -> "Employee | None":
    route = number.route
    if route.type != "employee" or not route.target:
        return None
    return (state.employee_by_login(route.target) or state.employee_by_ext(route.target)
            or state.employee_by_number(route.target))


def settle_numbers(state: "AccountState", configured: set[str] = frozenset()) -> None:
    """Bring a seeded state to the rules above. ``configured``: company and SIM numbers the
    configuration file lists: their routes and numbers are the author's and are kept."""
    # a number routed to an employee becomes their own number; a generated route that would
    # give an employee a second number goes to one who has none (or stays as it is)
    for number in list(state.numbers.values()):
        emp = _routed_to(state, number)
        if emp is None or _same(emp.direct_number, number.number):
            continue
        if not emp.direct_number:
            emp.direct_number = number.number
        elif number.number not in configured:
            free = next((e for e in state.employees.values() if not e.direct_number), None)
            if free is not None:
                number.route = Route(type="employee", target=free.login)
                free.direct_number = number.number
    # every own number is a company number routed to its employee (a single line)
    for emp in state.employees.values():
        if emp.direct_number and state.company_number(emp.direct_number) is None:
            state.numbers[emp.direct_number] = CompanyNumber(
                number=emp.direct_number, multichannel=False,
                route=Route(type="employee", target=emp.login))
    # a SIM given to an employee is the employee's mobile; a second SIM for the same employee
    # belongs to the company
    sims = list(state.sims.values())
    state.sims.clear()
    holders: set[int] = set()
    for sim in sims:
        emp = state.employees.get(sim.employee_id) if sim.employee_id is not None else None
        if emp is not None and sim.state == "user":
            if emp.id in holders:
                sim.state, sim.employee_id = "company", None
            else:
                holders.add(emp.id)
                if emp.mobile and sim.number not in configured:
                    sim.number = emp.mobile
                else:
                    emp.mobile = sim.number
        state.sims[sim.number] = sim


def route_settled(state: "AccountState", number: CompanyNumber) -> None:
    """After ``number``'s route changed: the employee it now goes to has it as their own
    number; whoever had it before no longer does."""
    emp = _routed_to(state, number)
    for other in state.employees.values():
        if other is not emp and _same(other.direct_number, number.number):
            other.direct_number = ""
    if emp is not None:
        emp.direct_number = number.number


def sim_settled(state: "AccountState", sim) -> None:
    """After a SIM was given to an employee: its number is their mobile."""
    emp = state.employees.get(sim.employee_id) if sim.employee_id is not None else None
    if emp is not None and sim.state == "user":
        emp.mobile = sim.number
