"""A local webhook sink: accepts every POST, remembers the order per call, answers 200.

    python -m bench.sink PORT       GET /stats → {"received", "out_of_order"}
"""

from __future__ import annotations

import json
import sys
from urllib.parse import parse_qsl

from aiohttp import web


def main() -> None:
    port = int(sys.argv[1])
    last: dict[str, int] = {}
    stats = {"received": 0, "out_of_order": 0}

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        stats["received"] += 1
        if request.content_type == "application/json":
            body = json.loads(raw)
        else:
            body = dict(parse_qsl(raw.decode()))
        if isinstance(body, dict) and "seq" in body:
            call, seq = str(body.get("callid")), int(body["seq"])
            if seq < last.get(call, -1):
                stats["out_of_order"] += 1
            last[call] = seq
        if isinstance(body, dict) and body.get("cmd") == "contact":
            return web.json_response({"contact_name": "Клиент", "responsible": ""})
        return web.Response(status=200)

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    app.router.add_get("/stats", get_stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
