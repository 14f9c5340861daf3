"""The built-in recording CRM: what a scenario talks to when no ``--crm-url`` is given.

A small aiohttp server on the loopback interface. It keeps every request, checks the
``crm_token`` of form-encoded hooks (401 ``{"error": "Invalid token"}`` otherwise, as real
receivers do), and answers lookups from the scenario's ``crm.contacts`` in each provider's
documented shape: vats / cloudpbx ``{contact_name, responsible}`` (unknown: empty strings for
vats, ``{}`` for cloudpbx as its receivers answer),
phonet ``{"otherLeg": {...}}`` (shape A when known, shape B "add contact" when not).
"""

from __future__ import annotations

import json
from typing import Callable
from urllib.parse import parse_qsl, quote

from aiohttp import web

from .wire import digits


def _json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


class RecordingCrm:
    def __init__(self, contacts: list[dict] | None = None, crm_token: str = "",
                 employee_ext: Callable[[str], str | None] | None = None, provider: str = ""):
        self.provider = provider
        self.contacts = {digits(c["phone"]): c for c in (contacts or [])}
        self.crm_token = crm_token
        self.employee_ext = employee_ext or (lambda ref: None)
        self.received: list[dict] = []
        self.url = ""
        # headers the CRM authenticates the PBX by (the scenario's crm.headers / crm.auth)
        self.required_headers: dict[str, str] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/crm"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            try:
                data = json.loads(raw or b"null")
            except ValueError:
                return _json({"error": "Invalid parameters"}, status=400)
        self.received.append({"path": request.path, "data": data})
        if any(request.headers.get(name) != value for name, value in self.required_headers.items()):
            return _json({"error": "Invalid token"}, status=401)
        if isinstance(data, dict) and "cmd" in data:
            if self.crm_token and data.get("crm_token") != self.crm_token:
                return _json({"error": "Invalid token"}, status=401)
            if data["cmd"] == "contact":
                known = self.contacts.get(digits(data.get("phone")))
                if known is None:   # vats's contract wants both keys; cloudpbx receivers answer {}
                    return _json({"contact_name": "", "responsible": ""} if self.provider == "vats" else {})
                return _json({"contact_name": known.get("name", ""),
                                          "responsible": str(known.get("responsible", ""))})
            return web.Response(status=200)
        if isinstance(data, dict) and data.get("request") == "call.settings":
            number = str(data.get("otherLegNum") or "")
            known = self.contacts.get(digits(number))
            if known is None:
                return _json({"otherLeg": {
                    "name": None, "url": f"http://crm.local/contacts/new?phone={quote(number)}",
                    "urlText": "Добавить контакт", "newEntry": True,
                    "responsibleEmployeeExt": None, "responsibleEmployeeEmail": None}})
            ext = self.employee_ext(str(known["responsible"])) if known.get("responsible") else None
            return _json({"otherLeg": {
                "name": known.get("name"), "url": f"http://crm.local/contacts?phone={quote(number)}",
                "urlText": known.get("name") or number, "newEntry": False,
                "responsibleEmployeeExt": ext, "responsibleEmployeeEmail": None}})
        return web.Response(status=200)
