"""The baseline: a bare aiohttp app answering every GET with a fixed JSON body.

    python -m bench.bare PORT BODY_FILE

As aiohttp runs it, on asyncio's own loop (the loop the simulator serves on).
"""

from __future__ import annotations

import sys

from aiohttp import web


def main() -> None:
    port, body_file = int(sys.argv[1]), sys.argv[2]
    with open(body_file, "rb") as fh:
        body = fh.read()

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
