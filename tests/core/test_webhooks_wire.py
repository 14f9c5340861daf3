"""The webhook sender on the wire (aiohttp's client against a CRM that writes its answers
byte for byte): answers with a length, chunked, until close, gzip; keep-alive and a
kept-alive connection the CRM closed; timeouts ("may have been received"); redirects not
followed; a lookup never retried past its answer time; form encoding."""

import asyncio
import gzip
from urllib.parse import urlencode

from simulator.core import webhooks as wh
from simulator.core.clock import Clock
from simulator.core.webhooks import Webhook, WebhookDelivery, check_answer, form_encode, form_value


def test_form_values_as_the_pbx_writes_them():
    bodies = [
        {"cmd": "history", "call": "f", "n": 1, "flag": True, "off": False, "x": None},
        {"a b": "Иванов Пётр", "e": "x+y&z=1", "t": "2026-01-02T03:04:05Z", "u": "http://h/p?q=1#f",
         "~": "-_.~", "n": 1.5, "neg": -3, "empty": "", "pct": "100%", "nl": "a\nb", "emoji": "☎"},
        {1: "one", "phone": "+79161234567", "list": [1, 2], "slash": "/", "star": "*'()!"},
        {},
    ]
    for body in bodies:
        expected = urlencode([(k, form_value(v)) for k, v in body.items()])
        assert form_encode(body) == expected
        assert Webhook("a", "p", "h", "http://x/", body, encoding="form").encoded()[0] == expected.encode()


def test_check_answer_parses_each_answer_anew():
    text = '{"contact_name": "A", "responsible": "andy"}'
    first = check_answer("vats", "contact", 200, text, True)
    first[1]["contact_name"] = "changed"
    first[0].append("mine")
    second = check_answer("vats", "contact", 200, text, True)
    assert second[1]["contact_name"] == "A" and "mine" not in second[0]
    assert check_answer("vats", "contact", 200, "<html>", True)[0] == ["contact: answer is not valid JSON"]


class Crm:
    """A raw HTTP/1.1 server whose answers the test writes byte for byte."""

    def __init__(self, answer):
        self.answer = answer          # (request number, raw request) -> bytes to write, or None
        self.requests: list[bytes] = []
        self.connections = 0
        self.server = None

    async def start(self) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
            self.connections += 1
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(next((line.split(b":", 1)[1] for line in head.split(b"\r\n")
                                       if line.lower().startswith(b"content-length:")), b"0"))
                    body = await reader.readexactly(length)
                    self.requests.append(head + body)
                    out = self.answer(len(self.requests), head + body)
                    if out is None:       # no answer at all: keep silent
                        await asyncio.sleep(3600)
                    if out == b"":        # close without answering
                        break
                    close = out.endswith(b"<close>")
                    writer.write(out[:-7] if close else out)
                    await writer.drain()
                    if close:
                        break
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/crm?x=1"

    async def stop(self):
        self.server.close()


async def send_all(url, bodies, timeout=2.0):
    delivery = WebhookDelivery(Clock("manual"))
    delivery.allowed_urls.add(url)
    try:
        return [await delivery.send(Webhook("acc", "test", "event", url, b, encoding="form", timeout=timeout))
                for b in bodies]
    finally:
        await delivery.close()


async def test_answers_with_length_chunked_until_close_and_gzip():
    packed = gzip.compress(b'{"ok": true}')
    answers = {
        1: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}",
        2: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n",
        3: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        4: b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed) + packed,
        5: b"HTTP/1.0 503 Busy\r\n\r\nuntil close<close>",
    }
    crm = Crm(lambda n, _: answers[n])
    url = await crm.start()
    try:
        entries = await send_all(url, [{"n": n} for n in range(1, 6)])
    finally:
        await crm.stop()
    assert [e.status for e in entries] == [200, 200, 201, 200, 503]
    assert [e.response_body for e in entries] == ['{"a": true}', "abcdefg", "", '{"ok": true}', "until close"]
    assert entries[0].response_content_type == "application/json"
    assert [e.delivered for e in entries] == [True, True, True, True, False]
    assert crm.connections == 1        # one kept-alive connection for all five
    first = crm.requests[0]
    assert first.startswith(b"POST /crm?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Type: application/x-www-form-urlencoded\r\n" in first and first.endswith(b"\r\n\r\nn=1")


async def test_a_kept_alive_connection_the_crm_closed_is_replaced():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    # the first connection answers once and is closed by the CRM after its answer
    crm = Crm(lambda n, _: ok + b"<close>" if n == 1 else ok)
    url = await crm.start()
    delivery = WebhookDelivery(Clock("manual"))
    delivery.allowed_urls.add(url)
    try:
        first = await delivery.send(Webhook("acc", "test", "event", url, {"n": 1}, encoding="form"))
        await asyncio.sleep(0.05)      # the close reaches the idle connection
        second = await delivery.send(Webhook("acc", "test", "event", url, {"n": 2}, encoding="form"))
    finally:
        await delivery.close()
        await crm.stop()
    assert first.delivered and second.delivered and crm.connections == 2


async def test_a_closed_connection_without_answer_is_an_error():
    crm = Crm(lambda n, _: b"")
    url = await crm.start()
    try:
        (entry,) = await send_all(url, [{"n": 1}])
    finally:
        await crm.stop()
    assert not entry.delivered and entry.error == "ServerDisconnectedError: Server disconnected"


async def test_timeout_and_refused(unused_tcp_port_factory):
    crm = Crm(lambda n, _: None)
    url = await crm.start()
    try:
        (entry,) = await send_all(url, [{"n": 1}], timeout=0.2)
    finally:
        await crm.stop()
    assert entry.error == "timeout: no answer within 0.2 s (the CRM may have received it)"
    assert entry.may_have_been_received and 190 <= entry.latency_ms < 1000
    refused = f"http://127.0.0.1:{unused_tcp_port_factory()}/crm"
    (entry,) = await send_all(refused, [{"n": 1}])
    assert entry.error.startswith("connection failed") and not entry.delivered
    assert not entry.may_have_been_received


async def test_queued_webhooks_go_out_in_order_per_call():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    crm = Crm(lambda n, _: ok)
    url = await crm.start()
    delivery = WebhookDelivery(Clock("manual"))
    delivery.allowed_urls.add(url)
    try:
        for n in range(200):
            delivery.enqueue(Webhook("acc", "test", "event", url, {"call": n % 7, "n": n},
                                     encoding="form", call_id=str(n % 7)))
        assert await delivery.drain(5)
    finally:
        await delivery.close()
        await crm.stop()
    assert delivery.stats["delivered"] == 200 and len(crm.requests) == 200
    for call in range(7):
        seen = [int(r.split(b"&n=")[1]) for r in crm.requests if r.split(b"\r\n\r\n")[1].startswith(b"call=%d&" % call)]
        assert seen == sorted(seen) and len(seen) == len(range(call, 200, 7))


async def test_redirects_are_not_followed():
    moved = b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/steal\r\nContent-Length: 0\r\n\r\n"
    crm = Crm(lambda n, _: moved)
    url = await crm.start()
    try:
        (entry,) = await send_all(url, [{"n": 1}])
    finally:
        await crm.stop()
    assert entry.status == 302 and not entry.delivered and len(crm.requests) == 1
    assert entry.error == "redirect to http://elsewhere.example/steal not followed"
    assert entry.contract == {"ok": False, "violations": [f"event: {entry.error}"]}


async def test_a_lookup_is_not_retried_past_its_answer_time():
    crm = Crm(lambda n, _: None)          # a CRM that never answers
    url = await crm.start()
    delivery = WebhookDelivery(Clock("real"))
    delivery.allowed_urls.add(url)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        entry = await delivery.send(Webhook("acc", "test", "contact", url, {"n": 1}, encoding="form",
                                            timeout=0.3, retries=3, expects_json=True, answer_within=0.3))
        held = loop.time() - started
    finally:
        await delivery.close()
        await crm.stop()
    # three retries of 0.3 s with backoff would hold the call ~4.7 s; the answer time is 0.3 s
    assert held < 0.6 and entry.attempt == 1 and len(crm.requests) == 1
    assert entry.may_have_been_received and delivery.stats["failed"] == 1


async def test_a_fast_failing_lookup_retries_within_its_answer_time():
    busy = b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"
    contact = b'{"contact_name": "A", "responsible": "andy"}'
    answers = {1: busy, 3: busy, 2: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                            % len(contact) + contact}
    crm = Crm(lambda n, _: answers[n])
    url = await crm.start()
    clock = Clock("instant")
    delivery = WebhookDelivery(clock)
    delivery.allowed_urls.add(url)
    try:
        entry = await delivery.send(Webhook("acc", "vats", "contact", url, {"n": 1}, encoding="form",
                                            timeout=3, retries=3, expects_json=True, answer_within=3))
        late = await delivery.send(Webhook("acc", "vats", "contact", url, {"n": 2}, encoding="form",
                                           timeout=3, retries=3, expects_json=True, answer_within=0.4))
    finally:
        await delivery.close()
        await crm.stop()
        await clock.close()
    assert entry.delivered and entry.attempt == 2 and entry.answer["responsible"] == "andy"
    # 0.5 s of backoff would pass an answer time of 0.4 s: no second attempt
    assert not late.delivered and late.attempt == 1 and late.status == 503
