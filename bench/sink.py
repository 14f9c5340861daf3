"""A local webhook sink: accepts every POST, remembers the order per call, answers 200.

    python -m bench.sink PORT       GET /stats → {"received", "out_of_order"}

A benchmark fixture, not product code: a minimal HTTP/1.1 server on a plain epoll loop
(keep-alive, pipelining, Content-Length bodies) so that the sink costs a few µs per request
and the figures measure the simulator, not the sink (an aiohttp app here took ~130 µs of
CPU a request and saturated its core).
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
from urllib.parse import parse_qsl

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
CONTACT = json.dumps({"contact_name": "Клиент", "responsible": ""}, ensure_ascii=False).encode()
CONTACT_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(CONTACT)) + CONTACT
UNKNOWN_CLIENT = b'{"otherLeg": null}'
UNKNOWN_CLIENT_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n" % len(UNKNOWN_CLIENT)) + UNKNOWN_CLIENT


class Sink:
    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.stats = {"received": 0, "out_of_order": 0}

    def body(self, raw: bytes, json_body: bool):
        if json_body:
            try:
                return json.loads(raw)
            except ValueError:
                return None
        return dict(parse_qsl(raw.decode("utf-8", "replace")))

    def handle(self, method: bytes, path: bytes, headers: bytes, raw: bytes) -> bytes:
        if method == b"GET":
            payload = json.dumps(self.stats).encode()
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(payload)) + payload
        self.stats["received"] += 1
        if b"seq" not in raw and b"contact" not in raw and b"call.settings" not in raw:   # the usual case
            return OK
        body = self.body(raw, b"application/json" in headers.lower())
        if isinstance(body, dict) and "seq" in body:
            call, seq = str(body.get("callid")), int(body["seq"])
            if seq < self.last.get(call, -1):
                self.stats["out_of_order"] += 1
            self.last[call] = seq
        if isinstance(body, dict) and body.get("cmd") == "contact":
            return CONTACT_RESPONSE
        if isinstance(body, dict) and body.get("request") == "call.settings":
            return UNKNOWN_CLIENT_RESPONSE      # phonet's lookup: "no such contact" (shape C)
        return OK


class Connection:
    """One client connection: requests parsed as they arrive (keep-alive, pipelining)."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def received(self, sink: Sink, data: bytes) -> tuple[bytes, bool]:
        buf = self.buf + data if self.buf else data
        out = []
        close = False
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            line_end = head.find(b"\r\n")
            request_line = head[:line_end] if line_end >= 0 else head
            headers = head[line_end + 2:] if line_end >= 0 else b""
            length = 0
            lower = headers.lower()
            pos = lower.find(b"content-length:")
            if pos >= 0:
                stop = lower.find(b"\r\n", pos)
                length = int(lower[pos + 15:stop if stop >= 0 else None])
            if len(buf) < end + 4 + length:
                break
            raw = buf[end + 4:end + 4 + length]
            buf = buf[end + 4 + length:]
            method, path, _ = request_line.split(b" ", 2)
            out.append(sink.handle(method, path, headers, raw))
            if b"connection: close" in lower:
                close = True
                break
        self.buf = buf
        return b"".join(out), close


def serve(port: int) -> None:
    """A plain epoll loop: ~3x less CPU a request than asyncio's protocol machinery, so the
    sink stays out of the way of the simulator it measures (on two cores it shares one)."""
    sink = Sink()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            conn = key.data
            if conn is None:
                while True:
                    try:
                        sock, _ = listener.accept()
                    except BlockingIOError:
                        break
                    sock.setblocking(False)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    selector.register(sock, selectors.EVENT_READ, Connection(sock))
                continue
            try:
                data = conn.sock.recv(262144)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            close = not data
            if data:
                out, close = conn.received(sink, data)
                if out:
                    try:
                        conn.sock.setblocking(True)    # answers are small: a blocking send is fine
                        conn.sock.sendall(out)
                        conn.sock.setblocking(False)
                    except OSError:
                        close = True
            if close:
                selector.unregister(conn.sock)
                conn.sock.close()


def main() -> None:
    try:
        serve(int(sys.argv[1]))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
