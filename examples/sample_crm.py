"""A tiny CRM that receives pbx-simulator's webhooks: the "CRM under test" of the CI recipes.

It answers what a CRM must answer:
- vats / cloudpbx ``contact`` (form or JSON, ``cmd=contact``): ``{"contact_name", "responsible"}``
- phonet ``call.settings`` (JSON ``{"request": "call.settings", ...}``): ``{"otherLeg": null}``
  ("no such contact")
- everything else (``history``, ``event``, ``rating``, ``call.dial`` ..., UTM batches): 200

With ``--crm-token`` a form-encoded webhook must carry that ``crm_token`` (401 otherwise,
as real receivers answer). Every webhook is kept; ``GET /received`` lists them.

    python examples/sample_crm.py --host 0.0.0.0 --port 8000 --crm-token ci-crm-token
    pbx-sim check-crm --provider vats --url http://127.0.0.1:8000/pbx --crm-token ci-crm-token
"""

from __future__ import annotations

import argparse
import json
import os
from urllib.parse import parse_qsl

from aiohttp import web

# The CRM's own little directory: number (digits) → (client name, responsible employee).
DIRECTORY = {
    "79001234567": ("ООО Ромашка", "101"),
    "79161110001": ("Иван Петров", "manager2"),
}
RECEIVED: web.AppKey[list] = web.AppKey("received", list)
TOKEN: web.AppKey[str] = web.AppKey("crm_token", str)


async def _fields(request: web.Request) -> tuple[object, bool]:
    """The webhook's body and whether it was form-encoded."""
    raw = await request.read()
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), True
    try:
        return json.loads(raw or b"null"), False
    except ValueError:
        return None, False


async def webhook(request: web.Request) -> web.Response:
    body, form = await _fields(request)
    request.app[RECEIVED].append({"path": request.path, "body": body})
    token = request.app[TOKEN]
    if form and token and body.get("crm_token") != token:
        return web.json_response({"error": "Invalid token"}, status=401)
    if isinstance(body, dict) and body.get("cmd") == "contact":
        digits = "".join(ch for ch in str(body.get("phone", "")) if ch.isdigit())
        name, responsible = DIRECTORY.get(digits, ("", ""))
        return web.json_response({"contact_name": name, "responsible": responsible}, dumps=_dumps)
    if isinstance(body, dict) and body.get("request") == "call.settings":
        return web.json_response({"otherLeg": None})
    return web.Response(status=200)


async def received(request: web.Request) -> web.Response:
    return web.json_response(request.app[RECEIVED], dumps=_dumps)


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "received": len(request.app[RECEIVED])})


def make_app(crm_token: str = "") -> web.Application:
    app = web.Application()
    app[RECEIVED] = []
    app[TOKEN] = crm_token
    app.router.add_get("/health", health)
    app.router.add_get("/received", received)
    app.router.add_post("/{tail:.*}", webhook)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("CRM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CRM_PORT", "8000")))
    parser.add_argument("--crm-token", default=os.environ.get("CRM_TOKEN", ""))
    args = parser.parse_args()
    web.run_app(make_app(args.crm_token), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
