"""A CRM's test with the pbx_sim fixture: `pip install pbx-simulator`, and pytest finds it."""
import pytest
from sample_crm import make_app          # your CRM's webhook handler (an aiohttp app here)


@pytest.mark.asyncio
async def test_incoming_call_reaches_the_crm(pbx_sim, aiohttp_server):
    crm = await aiohttp_server(make_app())                          # the CRM under test
    await pbx_sim.aio.set_crm("vats", str(crm.make_url("/pbx")))    # the PBX's webhooks go there
    number = pbx_sim.state("vats")["numbers"][0]["number"]
    cdr = await pbx_sim.aio.place_call("vats", "in", from_="79001234567", to=number, talk_s=30)
    hooks = await pbx_sim.aio.webhooks(account="vats")
    assert cdr["outcome"] == "answered"
    assert {"contact", "event", "history"} <= {h["hook"] for h in hooks}
    assert all(h["contract"]["ok"] for h in hooks), [h["contract"]["violations"] for h in hooks]
