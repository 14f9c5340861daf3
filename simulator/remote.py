"""``pbx-sim wait`` and ``pbx-sim accounts``: commands for CI jobs and container health checks
that talk to a running simulator. The standard library's HTTP client keeps them quick to
start (a Docker HEALTHCHECK runs ``pbx-sim wait`` every few seconds)."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
import urllib.error
import urllib.request

import click

from .core.clock import parse_duration

DEFAULT_URL = "http://127.0.0.1:8080"


def _url(ctx, param, value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value or ""):
        raise click.BadParameter("must be an http:// or https:// URL, e.g. http://127.0.0.1:8080")
    return value.rstrip("/")


def positive_duration(ctx, param, value: str | None) -> float | None:
    """A click callback: ``"30s"``, ``"2m"`` … as seconds, more than zero (None stays None)."""
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    if seconds <= 0:
        raise click.BadParameter("must be more than zero")
    return seconds


def _get(url: str, token: str | None, timeout: float) -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _healthy(url: str, timeout: float) -> str | None:
    """None when ``/_sim/health`` answers 200 with ``status: ok``; else why not."""
    try:
        status, body = _get(f"{url}/_sim/health", None, timeout)
    except (urllib.error.URLError, OSError) as err:
        return str(getattr(err, "reason", None) or err)
    if status != 200:
        return f"HTTP {status}"
    try:
        answer = json.loads(body)
    except ValueError:
        return "the answer is not JSON (is it a pbx-sim server?)"
    if not isinstance(answer, dict) or answer.get("status") != "ok":
        return f"status {answer.get('status') if isinstance(answer, dict) else answer!r}"
    return None


@click.command("wait")
@click.option("--url", default=lambda: os.environ.get("PBX_SIM_URL", DEFAULT_URL), callback=_url,
              show_default="$PBX_SIM_URL, else " + DEFAULT_URL, help="The simulator.")
@click.option("--timeout", default="30s", show_default=True, callback=positive_duration,
              help="Give up after this long, e.g. 30s, 2m.")
@click.option("--interval", default="0.25s", show_default=True, callback=positive_duration,
              help="Time between attempts.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing when it is healthy.")
def wait_command(url, timeout, interval, quiet):
    """Wait until a simulator answers its health check: exit 0 when it is healthy, 1 when
    it is not within --timeout. For CI jobs and the Docker HEALTHCHECK.

    \b
    Example:
      pbx-sim wait --url http://127.0.0.1:8080 --timeout 30s
      docker run -d -p 8080:8080 pbx-simulator && pbx-sim wait --timeout 1m
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        why = _healthy(url, max(0.1, min(left, 5.0)))
        if why is None:
            if not quiet:
                click.echo(f"{url} is healthy")
            return
        left = deadline - time.monotonic()
        if left <= 0:
            click.echo(f"{url} is not healthy after {timeout:g} s: {why}", err=True)
            sys.exit(1)
        time.sleep(min(interval, left))


def _env_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts if p)


@click.command("accounts")
@click.option("--url", default=lambda: os.environ.get("PBX_SIM_URL", DEFAULT_URL), callback=_url,
              show_default="$PBX_SIM_URL, else " + DEFAULT_URL, help="The simulator.")
@click.option("--admin-token", default=None, envvar="PBX_SIM_ADMIN_TOKEN", help="The server's admin token.")
@click.option("--account", "only", multiple=True, metavar="ID", help="Only this account (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per account.")
@click.option("--env", "as_env", is_flag=True,
              help="Print NAME=value lines (PBX_SIM_<ACCOUNT>_BASE_URL, ..._API_KEY ...) for a CRM's test "
                   "environment: eval \"$(pbx-sim accounts --env)\", or append to $GITHUB_ENV.")
@click.option("--timeout", default="10s", show_default=True, callback=positive_duration, help="HTTP timeout.")
def accounts_command(url, admin_token, only, as_json, as_env, timeout):
    """Print each account's API address and credentials from a running simulator, for the
    test environment of the CRM that uses it.

    \b
    Example:
      pbx-sim accounts --url http://127.0.0.1:8080 --json
      eval "$(pbx-sim accounts --url http://127.0.0.1:8080 --env)"; echo "$PBX_SIM_VATS_API_KEY"
      pbx-sim accounts --env --account vats >> "$GITHUB_ENV"
    """
    from .providers import all_providers

    if as_json and as_env:
        raise click.UsageError("--json and --env exclude each other")
    try:
        # secrets=1: servers that mask credentials in listings show them when asked
        status, body = _get(f"{url}/_sim/accounts?secrets=1", admin_token, timeout)
    except (urllib.error.URLError, OSError) as err:
        raise click.ClickException(f"cannot reach {url}: {getattr(err, 'reason', None) or err}") from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise click.ClickException(f"{url}: HTTP {status}, the answer is not JSON (is it a pbx-sim server?)") from None
    if status != 200:
        error = answer.get("error") if isinstance(answer, dict) else answer
        hint = " (give --admin-token or $PBX_SIM_ADMIN_TOKEN)" if status == 401 else ""
        raise click.ClickException(f"{url}: HTTP {status}: {error}{hint}")
    providers = all_providers()
    unknown = set(only) - {a["id"] for a in answer}
    if unknown:
        raise click.ClickException(f"no account {', '.join(sorted(unknown))} "
                                   f"(there are: {', '.join(a['id'] for a in answer)})")
    rows = []
    for account in answer:
        if only and account["id"] not in only:
            continue
        provider = providers.get(account["provider"])
        rows.append({
            "id": account["id"],
            "provider": account["provider"],
            "base_url": url + (provider.base_path if provider else ""),
            "domain": account.get("domain"),
            "credentials": account.get("credentials", {}),
            "crm_token": (account.get("crm") or {}).get("crm_token") or "",
        })
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif as_env:
        for row in rows:
            values = {"PROVIDER": row["provider"], "BASE_URL": row["base_url"], "DOMAIN": row["domain"] or "",
                      **{key: value for key, value in row["credentials"].items()}, "CRM_TOKEN": row["crm_token"]}
            for key, value in values.items():
                click.echo(f"{_env_name('PBX_SIM', row['id'], key)}={shlex.quote(str(value)) if value else ''}")
    else:
        for row in rows:
            creds = "  ".join(f"{k}={v}" for k, v in row["credentials"].items())
            click.echo(f"{row['id']} ({row['provider']}): {row['base_url']}  {creds}".rstrip())
