"""``pbx-sim``: one command per job."""

from __future__ import annotations

import asyncio
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--clock", "clock_mode", default=None,
              help="real | instant | manual | scale:N (default real).")
@click.option("--seed", type=int, default=None, help="Seed for generated data (default 42).")
@click.option("--admin-token", default=None, envvar="PBX_SIM_ADMIN_TOKEN",
              help="Require 'Authorization: Bearer TOKEN' on /_sim (health stays open).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def serve(config_path, host, port, clock_mode, seed, admin_token, log_level) -> None:
    """Start the simulator.

    \b
    Example:
      pbx-sim serve --port 8080 --clock scale:10 --seed 7
      curl http://127.0.0.1:8080/_sim/accounts
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    try:
        asyncio.run(_serve(cfg))
    except KeyboardInterrupt:
        pass


async def _serve(cfg: SimConfig) -> None:
    from aiohttp import web

    from .app import create_app
    from .sim import SIM

    try:
        app = await create_app(cfg)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
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
    click.echo(f"pbx-simulator {__version__} listening on {base} (clock {sim.clock.mode_name})")
    for account in sim.accounts.values():
        for line in sim.providers[account.provider].banner(account, base):
            click.echo("  " + line)
    click.echo(f"  admin: {base}/_sim/health, {base}/_sim/accounts")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:   # pragma: no cover - not on POSIX
            pass
    await stop.wait()
    click.echo("stopping")
    await runner.cleanup()


if __name__ == "__main__":   # pragma: no cover
    main()
