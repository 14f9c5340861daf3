"""The office a scenario runs in: a built-in one (three managers, two departments, five
company numbers with different routes) that a scenario's ``account`` block extends or
overrides, turned into an ``AccountConfig`` for the chosen provider."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from ..config import AccountConfig, parse_config
from .model import Scenario

DEFAULT_START = "2026-03-02T10:00:00+03:00"   # a Monday morning in Moscow
CRM_TOKEN = "scenario-crm-token"

DOMAINS = {"t2": "ats2.t2.ru", "vats": "scenario.megapbx.ru", "phonet": "scenario.phonet.com.ua",
           "cloudpbx": "scenario.cloudpbx.ru"}

OFFICE: dict = {
    "name": "ООО Сценарий",
    "employees": [
        {"login": "manager1", "name": "Петров Андрей", "ext": "701", "direct_number": "74951110001"},
        {"login": "manager2", "name": "Сидорова Мария", "ext": "702"},
        {"login": "manager3", "name": "Иванов Олег", "ext": "703"},
    ],
    "departments": [
        {"id": "sales", "name": "Отдел продаж", "ext": "801", "call_order": "ALL", "ring_interval": 10,
         "timeout": 30, "timeout_target": "voicemail", "members": ["manager1", "manager2"]},
        {"id": "support", "name": "Техподдержка", "ext": "802", "call_order": "BYORDER", "ring_interval": 10,
         "timeout": 30, "timeout_target": "voicemail", "members": ["manager2", "manager3"]},
    ],
    "numbers": [
        {"number": "74950000001", "name": "Отдел продаж", "route": {"type": "department", "target": "sales"}},
        {"number": "74950000002", "name": "Петров", "route": {"type": "employee", "target": "manager1"}},
        {"number": "74950000003", "name": "Меню", "route": {
            "type": "ivr", "greeting": "Нажмите 1 — продажи, 2 — поддержка",
            "ivr": {"1": {"type": "department", "target": "sales"},
                    "2": {"type": "department", "target": "support"}}}},
        {"number": "74950000004", "name": "Рабочие часы", "route": {
            "type": "schedule", "schedule": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "work": {"type": "department", "target": "sales"}}},
        {"number": "74950000005", "name": "Автоответчик", "route": {"type": "voicemail"}},
    ],
    "blacklist": [],
    "block_anonymous": False,
}


def _merge(base: list[dict], extra: list[dict], key: str) -> list[dict]:
    out = {str(item[key]): item for item in base}
    for item in extra:
        out[str(item[key])] = item
    return list(out.values())


def _str(value):
    return None if value is None else str(value)


def office(scenario: Scenario) -> dict:
    """The built-in office with the scenario's ``account`` block merged in."""
    acc = copy.deepcopy(scenario.account)
    out = copy.deepcopy(OFFICE)
    out["name"] = acc.get("name", out["name"])
    out["employees"] = _merge(out["employees"], acc.get("employees", []), "login")
    out["departments"] = _merge(out["departments"], acc.get("departments", []), "id")
    out["numbers"] = _merge(out["numbers"], acc.get("numbers", []), "number")
    out["blacklist"] = [b if isinstance(b, dict) else {"number": b} for b in acc.get("blacklist", [])]
    out["block_anonymous"] = acc.get("block_anonymous", False)
    out["settings"] = dict(acc.get("settings", {}))
    if "record_calls" in acc:
        out["settings"]["record_calls"] = acc["record_calls"]
    return out


def _route(route: dict) -> dict:
    r = {k: v for k, v in route.items() if k not in ("ivr", "work", "other", "on_busy")}
    for k in ("target", "ivr_default"):
        if k in r:
            r[k] = str(r[k])
    if "ivr" in route:
        r["ivr"] = {str(d): _route(v) for d, v in route["ivr"].items()}
    for k in ("work", "other", "on_busy"):
        if route.get(k):
            r[k] = _route(route[k])
    return r


def seed_of(o: dict) -> dict:
    employees = [{**{k: v for k, v in e.items()},
                  **{k: _str(e[k]) for k in ("ext", "mobile", "direct_number") if k in e}}
                 for e in o["employees"]]
    departments = [{**d, **({"ext": str(d["ext"])} if "ext" in d else {}),
                    **({"timeout_value": str(d["timeout_value"])} if "timeout_value" in d else {}),
                    "name": d.get("name", d["id"])} for d in o["departments"]]
    numbers = [{**n, "number": str(n["number"]), **({"route": _route(n["route"])} if "route" in n else {})}
               for n in o["numbers"]]
    return {"employees": employees, "departments": departments, "numbers": numbers,
            "blacklist": [{"number": str(b["number"]), "comment": b.get("comment", "")} for b in o["blacklist"]],
            "block_anonymous": o["block_anonymous"],
            "generate": {"employees": 0, "departments": 0, "numbers": 0, "calls": 0}}


def account_config(scenario: Scenario, provider: str, account_id: str, crm_url: str | None,
                   timeout: float = 3.0, crm_token: str = CRM_TOKEN) -> AccountConfig:
    """The account a scenario runs on; its CRM is ``crm_url``."""
    o = office(scenario)
    crm: dict = {"url": crm_url, "crm_token": crm_token, "timeout": timeout}
    for key in ("headers", "auth", "auth_user"):    # how the CRM authenticates the PBX
        if key in scenario.crm:
            crm[key] = scenario.crm[key]
    settings = dict(o["settings"])
    if provider == "phonet":
        if crm_url:
            crm.update(lookup_url=crm_url, events_url=crm_url, utm_url=crm_url)
        # phonet times its webhooks by its own settings (§1.1), not by the CRM target
        settings.setdefault("lookup_timeout_ms", int(timeout * 1000))
        settings.setdefault("event_timeout_ms", int(timeout * 1000))
    if provider == "cloudpbx":
        # the office's cabinet has "route to the responsible" on (off by default, seed 4.3)
        settings.setdefault("route_to_responsible", True)
    data = {"id": account_id, "provider": provider, "name": o["name"], "domain": DOMAINS[provider],
            "crm": crm, "settings": settings, "seed": seed_of(o)}
    return parse_config({"accounts": [data]}, f"{scenario.source}: account").accounts[0]


def start_time(text: str | None) -> datetime:
    when = datetime.fromisoformat((text or DEFAULT_START).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when
