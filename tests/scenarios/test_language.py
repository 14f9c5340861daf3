"""The scenario language: the schema, the loader's messages (line, field, reason), and
expectations that fail saying what differed."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft202012Validator

from simulator.scenarios.loader import ScenarioError, load_scenario, parse_scenario, schema
from simulator.scenarios.report import junit_xml, report_from_json
from simulator.scenarios.runner import clock_mode, providers_of, run_scenario


def test_the_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(schema())


def problems(text: str) -> list[tuple]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    assert str(info.value).startswith("bad.yaml: invalid scenario")
    return info.value.problems


def test_an_invalid_file_is_refused_with_line_field_and_reason():
    found = problems("""name: broken
steps:
  - incoming: {from: "7916", to: "7495"}
  - incoming:
      from: "7916"
      to: "7495"
      outcome: answred
  - wait: soon
  - dial: {to: "1"}
  - incoming: {from: "1"}
expect:
  - history: {call: call1, outcome: answered, colour: red}
""")
    by_line = {line: (field, reason) for line, field, reason in found}
    assert by_line[7] == ("steps[1].incoming.outcome",
                          "'answred' is not one of answered, missed, cancelled, busy, unavailable, forbidden, not_found, "
                          "congestion, max_sessions, not_in_white_list, only_internal")
    assert by_line[8][0] == "steps[2].wait" and "not a duration" in by_line[8][1]
    assert by_line[9][0] == "steps[3]" and "unknown field" in by_line[9][1] and "dial" in by_line[9][1]
    assert by_line[10] == ("steps[4].incoming", "'to' is required")
    assert by_line[12][0] == "expect[0].history" and "colour" in by_line[12][1]


def test_references_yaml_errors_and_empty_files():
    found = problems("""name: refs
steps:
  - incoming: {id: a, from: "7916", to: "7495"}
  - incoming: {id: a, from: "7916", to: "7495"}
  - hangup: {call: b}
expect:
  - webhooks: {call: zz, order: [ringing]}
""")
    assert (4, "steps[1].incoming.id", "call id 'a' is used twice") in found
    assert any(line == 5 and "no call 'b'" in reason for line, _, reason in found)
    assert any(line == 7 and "no call 'zz'" in reason for line, _, reason in found)
    assert problems("name: x\nsteps: [\n")[0][2].startswith("not valid YAML")
    assert problems("")[0][2] == "the file is empty"
    assert problems("- just\n- a list\n")[0][2].startswith("the top level must be a mapping")
    assert problems("name: x\nname: y\nsteps: [{wait: 1}]\n")[0][:2] == (2, "name")
    assert problems("name: x\nsteps: [{wait: 1, wait_for: a}]\n")[0][2].startswith("exactly one action")


def test_yaml_keys_stay_names_and_timestamps_stay_text():
    s = parse_scenario("""name: keys
start: 2026-03-07T21:30:00+03:00
steps:
  - dnd: {employee: manager1, on: true}
""")
    assert s.steps[0].args == {"employee": "manager1", "on": True}
    assert s.start == "2026-03-07T21:30:00+03:00"
    assert s.steps[0].line == 4


def test_missing_file():
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario("/nonexistent/scenario.yaml")


def test_speed_and_provider_choices():
    assert clock_mode("instant") == "instant" and clock_mode("real") == "real"
    assert clock_mode("x10") == "scale:10" and clock_mode("scale:2.5") == "scale:2.5"
    for bad in ("fast", "x0", "xabc"):
        with pytest.raises(ValueError):
            clock_mode(bad)
    assert providers_of("all") == ["t2", "vats", "phonet", "cloudpbx"]
    assert providers_of("vats,phonet") == ["vats", "phonet"]
    with pytest.raises(ValueError, match="unknown provider"):
        providers_of("asterisk")


WRONG = """name: Wrong expectations
steps:
  - incoming: {id: c1, from: "79161234567", to: "74950000001", answer: manager2, talk: 30s}
expect:
  - history: {call: c1, outcome: missed, employee: manager1, talk: 31}
  - webhooks:
      call: c1
      order: [lookup, answered, ringing]
      absent: [answered]
      fields:
        history: {outcome: missed}
      vats:
        fields:
          history: {status: Missed}
  - crm_answers: {call: c1, lookup: {responsible: manager3}}
"""


@pytest.mark.parametrize("provider", ["vats", "phonet", "cloudpbx"])
async def test_failed_expectations_say_what_differed(provider):
    report = await run_scenario(parse_scenario(WRONG, "wrong.yaml"), provider)
    assert report.status == "failed"
    text = "\n".join(report.failures())
    assert "line 5: history c1: outcome missed: was answered" in text
    assert "employee manager1: was manager2" in text
    assert "talk 31 s: was 30 s" in text
    assert "absent answered: sent 1 time(s)" in text
    assert "no 'ringing' after 'answered'" in text
    assert "responsible None, expected 'manager3'" in text
    if provider == "vats":
        assert "vats history with {'status': 'Missed'}: got {'status': 'Success'}" in text
    rendered = report.render()
    assert "✗" in rendered and "webhooks:" in rendered


async def test_t2_runs_state_expectations_and_marks_webhooks_not_applicable():
    report = await run_scenario(parse_scenario(WRONG, "wrong.yaml"), "t2")
    by_kind = {e.title.split()[0]: e.status for e in report.expectations}
    assert by_kind == {"history": "failed", "webhooks": "n/a", "crm_answers": "n/a"}
    assert report.webhooks == []


async def test_junit_xml_and_json_round_trip():
    good = await run_scenario(parse_scenario("""name: ok
steps:
  - internal: {id: c1, from: manager1, to: manager2, talk: 5s}
expect:
  - history: {call: c1, outcome: answered, direction: internal}
""", "ok.yaml"), "phonet")
    bad = await run_scenario(parse_scenario(WRONG, "wrong.yaml"), "vats")
    xml = junit_xml([good, bad])
    root = ET.fromstring(xml.split("\n", 1)[1])
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["pbx-sim scenarios.vats"].get("failures") == "1"
    assert suites["pbx-sim scenarios.phonet"].get("failures") == "0"
    failure = suites["pbx-sim scenarios.vats"].find("testcase/failure")
    assert "outcome missed: was answered" in failure.text
    again = report_from_json(json.loads(json.dumps(bad.to_json())))
    assert again.status == "failed" and again.render() == bad.render()


async def test_a_step_that_cannot_run_fails_the_scenario_and_skips_the_rest():
    report = await run_scenario(parse_scenario("""name: not blacklisted
steps:
  - unblacklist: "79990000000"
  - wait: 10s
""", "x.yaml"), "vats")
    assert report.status == "failed"
    assert report.steps[0].status == "failed" and "is not blacklisted" in report.steps[0].message
    assert "line 3: step unblacklist: 79990000000 is not blacklisted" in report.failures()
    assert report.steps[1].status == "skipped"


async def test_instant_speed_gives_real_timestamps_quickly():
    s = parse_scenario("""name: a long day
start: "2026-03-02T09:00:00+03:00"
steps:
  - incoming: {id: c1, from: "79161234567", to: "74950000002", talk: 2h}
  - wait: 6h
  - incoming: {id: c2, from: "79161234568", to: "74950000002", talk: 10m}
expect:
  - history: {call: c1, talk: 2h}
  - history: {call: c2, talk: 10m}
""")
    report = await run_scenario(s, "cloudpbx")
    assert report.status == "passed", report.render()
    assert report.seconds < 5
    assert report.steps[2].at.startswith("2026-03-02T14:00:0")   # 06:00Z + 2h call + 6h wait


def test_employees_departments_and_routes_must_exist_in_the_office():
    found = problems("""name: office refs
account:
  departments:
    - {id: night, members: [manager1, ghost]}
  numbers:
    - {number: "74959990000", route: {type: ivr, ivr: {"1": {type: department, target: nowhere}}}}
steps:
  - add_employee: {login: newbie, name: "Новиков Иван", ext: "750"}
  - internal: {from: newbie, to: "750"}
  - outgoing: {employee: manager9, to: "79161234567"}
  - incoming: {from: "79161234567", to: "74950000001", answer: boss, transfers: [{to: manager3}, {to: nobody}]}
  - remove_employee: newbie
  - dnd: {employee: newbie}
""")
    reasons = {(line, field): reason for line, field, reason in found}
    assert reasons[(4, "account.departments[0].members[1]")].startswith("no employee 'ghost' in the office")
    assert reasons[(6, "account.numbers[0].route.ivr.1.target")].startswith("no department 'nowhere'")
    assert reasons[(10, "steps[2].outgoing.employee")].startswith("no employee 'manager9'")
    assert (11, "steps[3].incoming.answer") in reasons and (11, "steps[3].incoming.transfers[1].to") in reasons
    assert reasons[(13, "steps[5].dnd.employee")].startswith("no employee 'newbie'")
    assert len(found) == 6, found


async def test_a_scaled_clock_runs_on_the_wall_clock_with_a_tolerance():
    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "01_incoming_answered.yaml")
    report = await run_scenario(scenario, "vats", speed="x200")
    assert report.status == "passed", report.render()
    assert 0.3 < report.seconds < 5                     # 99 s of calls at ×200 ≈ 0.5 s
    assert report.steps[0].at.startswith("2026-03-02T07:00:0")
    assert any("compared within ±" in n for n in report.notes)


def test_impossible_times_are_refused():
    found = problems("""name: times
start: "2026-13-45T10:00:00+03:00"
steps:
  - set_clock: "2026-02-30T10:00"
""")
    assert [(line, field) for line, field, _ in found] == [(2, "start"), (4, "steps[0].set_clock")]
    assert "not a valid time" in found[0][2]


async def test_a_person_watching_sees_steps_and_webhooks_as_they_go():
    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "06_transfer.yaml")
    lines: list[str] = []
    report = await run_scenario(scenario, "vats", speed="x400", echo=lines.append)
    assert report.status == "passed", report.render()
    assert "incoming c1" in lines[0]
    hooks = [line for line in lines if "→" in line and "←" in line]
    assert [h.split("→ ")[1].split()[0] for h in hooks][:4] == ["contact", "event:INCOMING", "event:ACCEPTED",
                                                                "event:TRANSFERRED"]
    assert len(hooks) == len(report.webhooks)
