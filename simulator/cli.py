"""``pbx-sim``: one command per job."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import os
import signal
import sys

import click

from . import __version__
from .config import ConfigError, SimConfig, apply_environment, load_config

log = logging.getLogger("simulator")


def _load(config_path: str | None) -> SimConfig:
    try:
        cfg = load_config(config_path or os.environ.get("PBX_SIM_CONFIG") or None)
        return apply_environment(cfg)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None


class CommandGroup(click.Group):
    """Commands whose modules are imported only when they run: ``pbx-sim serve`` must not pay
    for the scenario runner's imports at start-up."""

    lazy = {"run": "simulator.scenarios.cli:run_command",
            "examples": "simulator.scenarios.cli:examples_command",
            "check-crm": "simulator.scenarios.cli:check_crm_command",
            "traffic": "simulator.scenarios.cli:traffic_command",
            "wait": "simulator.remote:wait_command",
            "accounts": "simulator.remote:accounts_command"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pbx-sim")
def main() -> None:
    """A mock PBX for CRM developers: the t2, vats, phonet and cloudpbx CRM APIs on one port,
    with webhooks to your CRM and scripted call scenarios.

    \b
    Example:
      pbx-sim serve                       # demo accounts on http://127.0.0.1:8080
      pbx-sim serve --config my.yaml --clock instant --port 9000
    """


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML configuration (default: $PBX_SIM_CONFIG, else the built-in demo).")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1; $PBX_SIM_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8080; $PBX_SIM_PORT).")
@click.option("--clock", "clock_mode", default=None, envvar="PBX_SIM_CLOCK",
              help="real | instant | manual | scale:N (default real; $PBX_SIM_CLOCK).")
@click.option("--seed", type=int, default=None, envvar="PBX_SIM_SEED",
              help="Seed for generated data (default 42; $PBX_SIM_SEED).")
@click.option("--admin-token", default=None, envvar="PBX_SIM_ADMIN_TOKEN",
              help="Require 'Authorization: Bearer TOKEN' on /_sim (health stays open; $PBX_SIM_ADMIN_TOKEN).")
@click.option("--insecure-admin", is_flag=True, default=False, envvar="PBX_SIM_INSECURE_ADMIN",
              help="Allow a non-loopback --host without --admin-token (the admin API open to the network; $PBX_SIM_INSECURE_ADMIN).")
@click.option("--log-level", default="INFO", show_default=True, envvar="PBX_SIM_LOG_LEVEL",
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Console log level ($PBX_SIM_LOG_LEVEL).")
@click.option("--state-file", type=click.Path(dir_okay=False), default=None, envvar="PBX_SIM_STATE_FILE",
              help="Load state from FILE at start, write it there on SIGTERM/SIGINT ($PBX_SIM_STATE_FILE).")
@click.option("--snapshot-every", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              envvar="PBX_SIM_SNAPSHOT_EVERY",
              help="With --state-file: also write it every SECONDS seconds of operation ($PBX_SIM_SNAPSHOT_EVERY).")
@click.option("--strict", "strict", type=click.Choice(["warn", "reject"]), default=None, envvar="PBX_SIM_STRICT",
              help="Check each request against the provider's OpenAPI document: warn (journal the "
                   "violations) or reject (the provider's 400); for every configured account without its own ($PBX_SIM_STRICT).")
def serve(config_path, host, port, clock_mode, seed, admin_token, log_level, state_file=None,
          snapshot_every=None, insecure_admin=False, strict=None) -> None:
    """Start the simulator.

    \b
    Example:
      pbx-sim serve --port 8080 --clock scale:10 --seed 7
      curl http://127.0.0.1:8080/_sim/accounts
    """
    # no garbage collection until the application is built (_serve turns it on): the start
    # allocates much and frees little, and the collector's passes over it were a tenth of it
    # (in-process timing of the start's steps), towards the < 0.5 s target
    gc.disable()
    try:
        _start(config_path, host, port, clock_mode, seed, admin_token, log_level, state_file,
               snapshot_every, insecure_admin, strict)
    finally:
        gc.enable()


def _start(config_path, host, port, clock_mode, seed, admin_token, log_level, state_file,
           snapshot_every, insecure_admin, strict) -> None:
    from .journal import configure_console_log
    configure_console_log(log_level)
    cfg = _load(config_path)
    if host:
        cfg.server.host = host
    if port is not None:
        cfg.server.port = port
    if clock_mode:
        from .core.clock import parse_mode
        try:
            parse_mode(clock_mode)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--clock") from None
        cfg.server.clock = clock_mode
    if seed is not None:
        cfg.server.seed = seed
    if admin_token:
        cfg.server.admin_token = admin_token
    if strict:
        for account in cfg.accounts:
            if account.strict is None:
                account.strict = strict
    if snapshot_every and not state_file:
        raise click.UsageError("--snapshot-every needs --state-file")
    if not cfg.server.admin_token and not insecure_admin and not is_loopback(cfg.server.host):
        raise click.UsageError(
            f"refusing to listen on {cfg.server.host} (not a loopback address) without --admin-token: "
            "whoever reaches the port could read every account's credentials, reset the state and "
            "move the clock. Give --admin-token TOKEN (or PBX_SIM_ADMIN_TOKEN), or --insecure-admin "
            "(PBX_SIM_INSECURE_ADMIN=1) to open the admin API to the network anyway.")
    try:
        asyncio.run(_serve(cfg, state_file, snapshot_every))
    except KeyboardInterrupt:
        pass


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost). Any other
    address or a name (which may resolve to any interface) is reachable from outside."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _serve(cfg: SimConfig, state_file: str | None = None, snapshot_every: float | None = None) -> None:
    from aiohttp import web

    from .app import create_app
    from .sim import SIM
    from .snapshot import SnapshotError, StateFile

    try:
        # the server answers while the accounts are built and seeded (Simulator.ready)
        app = await create_app(cfg, history_later=True)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    gc.enable()   # off since serve began
    state = StateFile(state_file, snapshot_every) if state_file else None
    if state is not None:
        await app[SIM].ready()
        try:
            click.echo(await state.load(app[SIM]))
        except SnapshotError as err:
            await app[SIM].close()
            raise click.ClickException(f"{err}\n(the file is left as it is; fix it, move it away "
                                       "or give another --state-file)") from None
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, cfg.server.host, cfg.server.port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise click.ClickException(f"cannot listen on {cfg.server.host}:{cfg.server.port}: {err}") from None
    sim = app[SIM]
    port = cfg.server.port or site._server.sockets[0].getsockname()[1]   # port 0: the one given
    base = f"http://{'127.0.0.1' if cfg.server.host in ('0.0.0.0', '::') else cfg.server.host}:{port}"
    if not cfg.server.public_url:
        sim.public_url = base
    await sim.ready()   # the banner shows the accounts' credentials; health answers meanwhile
    click.echo(f"pbx-simulator {__version__} listening on {base} (clock {sim.clock.mode_name})")
    for account in sim.accounts.values():
        for line in sim.providers[account.provider].banner(account, base):
            click.echo("  " + line)
    click.echo(f"  admin: {base}/_sim/health, {base}/_sim/accounts")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if sys.platform != "win32":   # Windows' loops have no signal handlers: Ctrl+C ends it there
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    if state is not None:
        state.start(sim)
    await stop.wait()
    click.echo("stopping")
    failed = None
    if state is not None:
        try:
            await state.stop(sim)
            click.echo(f"state written to {state.path}")
        except Exception as err:   # logged by StateFile with its cause; never a traceback here
            failed = f"cannot write state file {state.path}: {err}; the state since the last write is lost"
    await runner.cleanup()
    if failed:
        raise click.ClickException(failed)



if __name__ == "__main__":   # pragma: no cover
    main()
