"""``pbx-sim run``, ``pbx-sim check-crm``, ``pbx-sim traffic``: thin commands over the
scenario runner, the conformance check and the traffic generator."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import click

from .. import assets
from ..remote import positive_duration
from .loader import ScenarioError, load_scenario, parse_scenario
from .report import junit_xml, report_from_json, summary
from .runner import clock_mode, providers_of



def _providers(ctx, param, value):
    try:
        providers_of(value.lower())
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    return value.lower()


def _speed(ctx, param, value):
    try:
        clock_mode(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    return value


def _write(path: str | None, text: str) -> None:
    if path:
        try:
            Path(path).write_text(text, "utf-8")
        except OSError as err:
            raise click.ClickException(f"cannot write the JUnit report to {path}: {err.strerror or err}") from None
        click.echo(f"JUnit report written to {path}")


def _admin_headers(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


# ---- run -------------------------------------------------------------------------------------

@click.command("run")
@click.argument("scenarios", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--example", "-e", "examples", multiple=True, metavar="NAME",
              help="An example scenario shipped with pbx-sim, by name or number (see 'pbx-sim examples'); repeatable.")
@click.option("--provider", "-p", default="all", show_default=True, callback=_providers,
              help="t2, vats, phonet, cloudpbx, a comma list, or all.")
@click.option("--crm-url", default=None, help="Send webhooks to this CRM (default: a built-in recording CRM).")
@click.option("--crm-timeout", default=None, callback=positive_duration, help="How long the CRM may take, e.g. 3s.")
@click.option("--speed", default="instant", show_default=True, callback=_speed,
              help="instant (a day in seconds), real (watch the pop-ups) or xN (N times faster); "
                   "with --server the server's clock decides.")
@click.option("--junit", "junit_path", default=None, type=click.Path(dir_okay=False),
              help="Write a JUnit XML report here (for CI).")
@click.option("--server", default=None, help="Run inside a running simulator (POST /_sim/scenarios/run).")
@click.option("--admin-token", default=None, envvar="PBX_SIM_ADMIN_TOKEN", help="The server's admin token.")
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and the summary.")
def run_command(scenarios, examples, provider, crm_url, crm_timeout, speed, junit_path, server, admin_token, quiet):
    """Run YAML call scenarios and check their expectations.

    \b
    Example:
      pbx-sim run --example 01_incoming_answered
      pbx-sim run scenarios/01_incoming_answered.yaml
      pbx-sim run scenarios/*.yaml --provider vats --crm-url http://localhost:8000/pbx/hook
      pbx-sim run demo.yaml --speed real --crm-url http://localhost:8000/hook   # watch the pop-ups
      pbx-sim run scenarios/*.yaml --junit scenarios.xml --server http://127.0.0.1:8080
    """
    if not scenarios and not examples:
        raise click.UsageError("name scenario files or --example NAME ('pbx-sim examples' lists them)")
    loaded = []
    problems = []
    for name in examples:
        try:
            node = assets.example_scenario(name)
        except KeyError as err:
            raise click.BadParameter(err.args[0], param_hint="--example") from None
        try:
            loaded.append(parse_scenario(node.read_text("utf-8"), f"example {node.name}"))
        except ScenarioError as err:
            problems.append(str(err))
    for path in scenarios:
        try:
            loaded.append(load_scenario(path))
        except ScenarioError as err:
            problems.append(str(err))
    if problems:
        click.echo("\n".join(problems), err=True)
        sys.exit(2)
    providers = providers_of(provider)
    if server:
        reports = asyncio.run(_run_remote(server.rstrip("/"), loaded, provider, crm_url, crm_timeout,
                                          admin_token))
        for r in reports:
            text = r.render(verbose=not quiet or not r.passed)
            click.echo(text.splitlines()[0] if quiet and r.passed else text)
    else:
        reports = asyncio.run(_run_local(loaded, providers, crm_url, crm_timeout, speed, quiet))
    click.echo(summary(reports))
    _write(junit_path, junit_xml(reports))
    sys.exit(0 if all(r.passed for r in reports) else 1)


async def _run_local(loaded, providers, crm_url, crm_timeout, speed, quiet):
    from .runner import run_scenario

    reports = []
    live = speed != "instant"
    for scenario in loaded:
        for p in providers:
            if live:
                click.echo(f"▶ {scenario.name} [{p}]")
            report = await run_scenario(scenario, p, crm_url, speed, crm_timeout,
                                        echo=click.echo if live else None)
            reports.append(report)
            text = report.render(verbose=not quiet or not report.passed)
            click.echo(text.splitlines()[0] if quiet and report.passed else text)
    return reports


async def _run_remote(server, loaded, provider, crm_url, crm_timeout, token):
    import aiohttp

    reports = []
    async with aiohttp.ClientSession(headers=_admin_headers(token)) as session:
        for scenario in loaded:
            body = {"scenario": scenario.text, "source": scenario.source, "provider": provider}
            if crm_url:
                body["crm_url"] = crm_url
            if crm_timeout:
                body["crm_timeout"] = crm_timeout
            try:
                async with session.post(f"{server}/_sim/scenarios/run", json=body) as resp:
                    data = await resp.json(content_type=None)
                    if resp.status != 200:
                        raise click.ClickException(f"{server}: HTTP {resp.status}: "
                                                   f"{data.get('error') if isinstance(data, dict) else data}")
            except aiohttp.ClientError as err:
                raise click.ClickException(f"cannot reach {server}: {err}") from None
            except ValueError:
                raise click.ClickException(f"{server}: the answer is not JSON (is it a pbx-sim server?)") from None
            reports.extend(report_from_json(r) for r in data["reports"])
    return reports


# ---- examples --------------------------------------------------------------------------------

@click.command("examples")
@click.option("--show", metavar="NAME", default=None, help="Print one example's YAML (to copy and edit).")
def examples_command(show):
    """List the example scenarios shipped with pbx-sim (run one with 'pbx-sim run --example NAME').

    \b
    Example:
      pbx-sim examples
      pbx-sim run --example 06_transfer --provider vats
      pbx-sim examples --show 06 > my_transfer.yaml
    """
    if show:
        try:
            click.echo(assets.example_scenario(show).read_text("utf-8"), nl=False)
        except KeyError as err:
            raise click.BadParameter(err.args[0], param_hint="--show") from None
        return
    for name, node in assets.example_scenarios().items():
        try:
            title = parse_scenario(node.read_text("utf-8"), name).name
        except ScenarioError:
            title = "(invalid: pbx-sim run --example shows why)"
        click.echo(f"{name:<28} {title}")


# ---- check-crm -------------------------------------------------------------------------------

@click.command("check-crm")
@click.option("--provider", "-p", required=True, type=click.Choice(["vats", "phonet", "cloudpbx"], case_sensitive=False),
              help="Whose webhooks to send (t2 sends none).")
@click.option("--url", required=True, help="The CRM's webhook URL.")
@click.option("--crm-token", default="", help="The crm_token the CRM expects (vats, cloudpbx).")
@click.option("--timeout", default="3s", show_default=True, callback=positive_duration,
              help="How long the CRM may take to answer each webhook.")
@click.option("--junit", "junit_path", default=None, type=click.Path(dir_okay=False),
              help="Write a JUnit XML report here (for CI).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="List the webhooks that passed too.")
def check_crm_command(provider, url, crm_token, timeout, junit_path, as_json, verbose):
    """Send a CRM every webhook its provider sends and judge each answer.

    Every outcome, each webhook type and status, and the edge cases (unknown number,
    anonymous caller, Cyrillic names, numbers with and without '+' and with a trunk prefix,
    duplicated phonet events, UTM batches). Each answer must come in time, with a 2xx
    status, and match schemas/crm/<provider>/<hook>.json.

    \b
    Example:
      pbx-sim check-crm --provider vats --url http://localhost:8000/pbx/hook --crm-token s3cret
      pbx-sim check-crm -p phonet --url http://localhost:8000/phonet --timeout 2s --junit crm.xml
    """
    from .conformance import ConformanceCheck

    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--url")
    report = asyncio.run(ConformanceCheck(provider, url, crm_token, timeout).run())
    click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if as_json else report.render(verbose))
    _write(junit_path, report.junit_xml())
    sys.exit(0 if report.passed else 1)


# ---- traffic ---------------------------------------------------------------------------------

@click.command("traffic")
@click.option("--account", required=True, help="The account that gets the calls.")
@click.option("--calls-per-hour", required=True, type=click.FloatRange(min=0, min_open=True),
              help="Average rate (Poisson arrivals).")
@click.option("--duration", required=True, callback=positive_duration, help="How long to generate calls, e.g. 8h, 30m.")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Configuration with the account (default: $PBX_SIM_CONFIG, else the built-in demo).")
@click.option("--crm-url", default=None, help="Send the account's webhooks here (default: as configured).")
@click.option("--speed", default="instant", show_default=True, callback=_speed,
              help="instant (a day in seconds), real or xN.")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same calls.")
@click.option("--server", default=None, help="Place the calls in a running simulator (POST /_sim/calls).")
@click.option("--admin-token", default=None, envvar="PBX_SIM_ADMIN_TOKEN", help="The server's admin token.")
@click.option("--office-hours/--flat", default=False, show_default=True,
              help="Shape the arrivals by the office's day (peaks, lunch dip, quiet nights and weekends); "
                   "the rate is then that of an average working hour.")
def traffic_command(account, calls_per_hour, duration, config_path, crm_url, speed, seed, server, admin_token,
                    office_hours):
    """Generate realistic calls (Faker) for load and soak tests of a CRM.

    The office's traffic model (the one the seeded history uses): incoming, outgoing,
    click-to-call and internal calls with answered, missed, cancelled, busy and unavailable
    outcomes, log-normal talk and ring times, regular clients and known contacts, call-backs
    of missed calls, transfers to a colleague, holds, ratings and UTM tags, at a Poisson rate
    on the simulator clock (the account's seed.traffic settings).

    \b
    Example:
      pbx-sim traffic --account vats --calls-per-hour 300 --duration 8h --crm-url http://localhost:8000/hook
      pbx-sim traffic --account phonet --calls-per-hour 60 --duration 30m --speed real --server http://127.0.0.1:8080
    """
    if server:
        report = asyncio.run(_traffic_remote(server.rstrip("/"), account, calls_per_hour, duration, speed, seed,
                                             admin_token, office_hours))
    else:
        report = asyncio.run(_traffic_local(account, calls_per_hour, duration, config_path, crm_url, speed, seed,
                                            office_hours))
    click.echo(report.render())


async def _traffic_local(account_id, rate, duration, config_path, crm_url, speed, seed, office_hours=False):
    from ..config import ConfigError, apply_environment, load_config
    from ..core.clock import Clock
    from ..sim import Simulator
    from .traffic import run_in_process

    try:
        cfg = apply_environment(load_config(config_path or os.environ.get("PBX_SIM_CONFIG") or None))
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    chosen = [a for a in cfg.accounts if a.id == account_id]
    if not chosen:
        raise click.ClickException(f"no account {account_id!r} (there are: {', '.join(a.id for a in cfg.accounts)})")
    chosen[0].seed.generate.calls = 0    # no past calls: only the generated traffic
    if crm_url:
        if not crm_url.startswith(("http://", "https://")):
            raise click.BadParameter("must be an http:// or https:// URL", param_hint="--crm-url")
        chosen[0].crm.url = crm_url
        if chosen[0].provider == "phonet":
            chosen[0].crm.lookup_url = chosen[0].crm.events_url = chosen[0].crm.utm_url = crm_url
    cfg.accounts = chosen
    sim = Simulator(cfg, Clock(clock_mode(speed)))
    try:
        await sim.start()
        return await run_in_process(sim, account_id, rate, duration, seed, office_hours=office_hours)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    finally:
        await sim.close()


async def _traffic_remote(server, account_id, rate, duration, speed, seed, token, office_hours=False):
    import aiohttp

    from ..core.clock import Clock
    from .traffic import Office, TrafficGenerator, TrafficPlan, TrafficReport

    report = TrafficReport()
    clock = Clock("real" if speed == "instant" else clock_mode(speed))
    if speed == "instant":
        report.notes.append("against a server the calls are paced in real time (use --speed xN to hurry)")
    async with aiohttp.ClientSession(headers=_admin_headers(token)) as session:
        try:
            async with session.get(f"{server}/_sim/accounts/{account_id}/state", params={"cdr_limit": "0"}) as resp:
                if resp.status != 200:
                    raise click.ClickException(f"{server}: account {account_id!r}: HTTP {resp.status}")
                state = await resp.json()
        except aiohttp.ClientError as err:
            raise click.ClickException(f"cannot reach {server}: {err}") from None
        office = Office([e["login"] for e in state["employees"] if e.get("enabled", True)],
                        [n["number"] for n in state["numbers"] if n.get("enabled", True)],
                        state.get("provider") == "phonet")
        try:
            plan = TrafficPlan(office, rate, seed, start=clock.timestamp(), office_hours=office_hours)
        except ValueError as err:
            raise click.ClickException(str(err)) from None

        async def place(call):
            async with session.post(f"{server}/_sim/calls", json=call.request(account_id)) as resp:
                if resp.status != 201:
                    raise ValueError(f"HTTP {resp.status}: {(await resp.text())[:200]}")
            report.outcomes["placed"] += 1
            return None

        try:
            await TrafficGenerator(plan, clock, place, duration).run(report)
        finally:
            await clock.close()
    report.notes.append(f"outcomes and webhooks: {server}/_sim/calls?account={account_id} and /_sim/webhooks")
    return report
