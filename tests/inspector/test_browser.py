"""The inspector in a real browser: a call placed from the page rings on the board, is
answered and hung up from the page, its webhooks appear with their verdicts, the clock moves
from the page, a scenario runs from the page. Screenshots of each view go to tests/artifacts/."""

from __future__ import annotations

import re

from aiohttp import web
from conftest import point_crm

from .conftest import DESKTOP, PHONE

VIEWS = ("board", "calls", "webhooks", "requests", "phone", "scenarios", "accounts")


async def open_page(browser, client, viewport=DESKTOP):
    page = await browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.goto(str(client.make_url("/_sim/ui")))
    await page.wait_for_selector('#live[data-state="on"]')
    return page, errors


async def test_a_call_driven_from_the_page(client, sim, crm, browser, shots):
    point_crm(sim, "vats", crm.url)
    failing = {"history"}   # the CRM breaks on the call's history: a dead letter
    crm.answer = lambda rec: web.Response(status=500) if rec.form.get("cmd") in failing else None
    key = sim.account("vats").credentials["api_key"]
    assert (await client.get("/crmapi/v1/users", headers={"X-API-KEY": key})).status == 200
    page, errors = await open_page(browser, client)
    assert await page.locator('[data-account="vats"] .employee').count() == len(sim.account("vats").state.employees)
    assert await page.locator('.employee[data-state="ringing"]').count() == 0

    # a client calls the company, by hand: the board shows who rings
    await page.click('[data-tab="phone"]')
    form = page.locator('form[data-kind="in"]')
    await form.locator('select[name="account"]').select_option("vats")
    await form.locator('button[type="submit"]').click()
    await page.wait_for_selector('[data-account="vats"] .employee[data-state="ringing"]', state="attached")
    (call,) = sim.engine.live_calls("vats")
    ringing = [leg for leg in call.legs if leg.result == "ringing"]
    assert ringing and call.script.manual
    await page.click('[data-tab="board"]')
    rung = page.locator('[data-account="vats"] .employee[data-state="ringing"]')
    assert await rung.count() == len(ringing)
    assert "ringing" in (await rung.first.inner_text())   # the colour has its word
    await shots(page, "board-ringing")

    # answered from the page, as the first employee rung
    await page.click('[data-tab="phone"]')
    answer = page.locator(f'[data-part="handset"] [data-call="{call.id}"] button', has_text="Answer as").first
    await answer.click()
    await page.wait_for_selector(f'[data-account="vats"] .employee[data-state="talking"]', state="attached")
    assert call.state == "answered" and call.current_leg().employee_id == ringing[0].employee_id
    await page.wait_for_selector(f'[data-part="handset"] [data-call="{call.id}"] button:has-text("Transfer")')
    # on hold and off it again, from the page
    await page.click(f'[data-part="handset"] [data-call="{call.id}"] button:has-text("Hold")')
    await page.wait_for_selector('[data-account="vats"] .employee[data-state="on_hold"]', state="attached")
    assert call.on_hold
    await shots(page, "phone")
    await page.click(f'[data-part="handset"] [data-call="{call.id}"] button:has-text("Take off hold")')
    await page.wait_for_selector('[data-account="vats"] .employee[data-state="talking"]', state="attached")
    assert not call.on_hold

    # the webhooks with their verdicts: the empty answer to vats' contact lookup breaks its contract
    await page.click('[data-tab="webhooks"]')
    await page.wait_for_selector('.attempt[data-hook="event"][data-verdict="ok"]')
    bad = page.locator('.attempt[data-hook="contact"][data-verdict="violations"]')
    await bad.first.wait_for()
    await bad.first.locator("summary").click()
    assert "contact_name" in await bad.first.locator(".violations").inner_text() or \
        "expected JSON" in await bad.first.locator(".violations").inner_text()
    await shots(page, "webhooks")
    await page.locator('select[name="verdict"]').select_option("violations")
    await page.wait_for_function("() => !document.querySelector('.attempt[data-verdict=\"ok\"]')")
    assert await page.locator(".attempt").count() >= 1

    # the clock moves from the page
    before = sim.clock.timestamp()
    await page.click('.clock button:has-text("+1m")')
    await page.wait_for_function("t => Date.parse(document.getElementById('clock-now').getAttribute('datetime')) / 1000 >= t",
                                 arg=before + 59)
    assert sim.clock.timestamp() >= before + 60

    # the client hangs up: the call is a finished record, its recording playable
    await page.click('[data-tab="phone"]')
    await page.click(f'[data-part="handset"] [data-call="{call.id}"] button:has-text("Client hangs up")')
    await page.click('[data-tab="calls"]')
    row = page.locator(f'table.calls tr[data-call="{call.id}"]')
    await row.wait_for()
    assert "answered" in await row.inner_text()
    assert await row.locator("audio").count() == 1
    cdr = sim.account("vats").state.cdrs.get(call.id)
    assert cdr.hangup_side == "A" and cdr.talk_s >= 60
    src = await row.locator("audio").get_attribute("src")
    audio = await client.get(src)
    assert audio.status == 200 and audio.content_type == "audio/mpeg"

    # the history the CRM refused is a dead letter; resent from the page once the CRM is fixed
    await sim.webhooks.drain(5)
    await page.click('[data-tab="webhooks"]')
    await page.locator('select[name="verdict"]').select_option("dead")
    dead = page.locator('.attempt[data-hook="history"]')
    await dead.first.wait_for()
    assert await dead.count() == 1 and "dead letter" in await dead.first.inner_text()
    dead_id = await dead.first.get_attribute("data-attempt")
    await shots(page, "dead-letters")
    failing.clear()
    await dead.first.locator("summary").click()
    await dead.first.locator('button:has-text("Resend")').click()
    await page.wait_for_selector('.attempt[data-hook="history"]', state="detached")   # no dead letter left
    await page.locator('select[name="verdict"]').select_option("")
    resent = page.locator(f'.attempt[data-resend-of="{dead_id}"]')
    await resent.wait_for()
    assert await resent.get_attribute("data-verdict") == "ok"

    # an employee dials a colleague's extension from the page: an internal call, by hand
    staff = list(sim.account("vats").state.employees.values())
    exts = [e.ext for e in staff]
    await page.click('[data-tab="phone"]')
    dial = page.locator('form[data-kind="out"]')
    await dial.locator('select[name="account"]').select_option("vats")
    await dial.locator('select[name="employee"]').select_option(label=f"{staff[0].name} ({staff[0].ext})")
    await dial.locator('input[name="to"]').fill(exts[1])
    await dial.locator('button[type="submit"]').click()
    await page.wait_for_selector(f'[data-part="handset"] .call .badge.dir:has-text("internal")')
    (inner,) = sim.engine.live_calls("vats")
    assert (inner.direction, inner.caller, inner.callee, inner.script.manual) == ("internal", exts[0], exts[1], True)

    for view in VIEWS:
        await page.click(f'[data-tab="{view}"]')
        await shots(page, f"{view}-1280")
    await page.set_viewport_size(PHONE)
    for view in ("board", "phone", "calls", "webhooks"):
        await page.click(f'[data-tab="{view}"]')
        await shots(page, f"{view}-phone")
    assert not errors


async def test_a_scenario_run_from_the_page(client, sim, browser, shots):
    page, errors = await open_page(browser, client)
    await page.click('[data-tab="scenarios"]')
    await page.locator('select[name="example"]').select_option("01_incoming_answered.yaml")
    await page.wait_for_function("() => document.querySelector('textarea[name=scenario]').value.length > 20")
    await page.locator('#scenario-form select[name="provider"]').select_option("vats")
    await page.click('#scenario-form button[type="submit"]')
    report = page.locator('#scenario-result .report[data-provider="vats"]')
    await report.wait_for(timeout=20000)
    text = await report.inner_text()
    assert re.search(r"\bpassed\b", text), text
    assert await report.locator(".exp").count() >= 1
    await shots(page, "scenario-run")
    assert not errors


async def test_a_fault_added_and_removed_from_the_page(client, sim, browser, shots):
    page, errors = await open_page(browser, client)
    await page.click('[data-tab="faults"]')
    area = page.locator('#fault-form textarea[name="fault"]')
    await area.fill('{"account": "vats", "match": {"method": "GET", "path": "/crmapi/v1/users*"}, '
                    '"respond": {"error": "crm_disabled"}, "times": 2}')
    await page.click('#fault-form button[type="submit"]')
    row = page.locator('[data-part="faults"] tr[data-fault]')
    await row.first.wait_for(timeout=10000)
    (fault,) = sim.faults.listed(None)
    assert await row.count() == 1 and fault.id in await row.first.inner_text()
    key = sim.account("vats").credentials["api_key"]
    refused = await client.get("/crmapi/v1/users", headers={"X-API-KEY": key})
    assert refused.status != 200                      # the fault added from the page is in force
    await shots(page, "faults")
    await area.fill("{not json")                     # refused in the page, nothing sent
    await page.click('#fault-form button[type="submit"]')
    await page.wait_for_function("() => document.getElementById('toast').textContent.includes('not JSON')")
    assert len(sim.faults.listed(None)) == 1
    await page.click(f'[data-part="faults"] tr[data-fault="{fault.id}"] button:has-text("Remove")')
    await page.wait_for_function("() => !document.querySelector('[data-part=faults] tr[data-fault]')")
    assert sim.faults.listed(None) == []
    assert not errors
