"""Package data (``simulator.assets``): read through importlib.resources from the repository's
own ``schemas/`` and ``scenarios/`` (one copy), every file of them declared for the wheel, and a
missing or broken file stops the server at start instead of passing CRM answers unchecked.
``make test`` checks the built wheel itself (tests/wheel_smoke.py)."""

from __future__ import annotations

import importlib.util
import shutil
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator import assets, cli
from simulator.config import ConfigError, parse_config
from simulator.core import webhooks as wh
from simulator.core.clock import Clock
from simulator.providers import all_providers
from simulator.sim import Simulator

from conftest import small_config

ROOT = Path(__file__).resolve().parents[1]


def _setup_py():
    spec = importlib.util.spec_from_file_location("pbx_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    import setuptools
    calls = {}
    real = setuptools.setup
    setuptools.setup = lambda **kw: calls.update(kw)
    try:
        spec.loader.exec_module(module)
    finally:
        setuptools.setup = real
    return calls


def test_the_data_packages_are_the_top_level_folders():
    """One copy: the checkout reads schemas/ and scenarios/ themselves, no copy of them."""
    assert Path(str(resources.files(assets.SCHEMAS_PACKAGE))) == ROOT / "schemas"
    assert Path(str(resources.files(assets.EXAMPLES_PACKAGE))) == ROOT / "scenarios"
    assert not (ROOT / "simulator" / "schemas").exists() and not (ROOT / "simulator" / "example_scenarios").exists()


def test_every_data_file_is_declared_for_the_wheel():
    """Each file of schemas/ and scenarios/ but the generators and notes, and each of the
    inspector's templates and static files, matches a package-data pattern (pyproject.toml) of
    a package the wheel has (setup.py): a new kind of file or folder fails here, not in a
    user's installation (make test's wheel smoke test then checks the wheel itself)."""
    setup = _setup_py()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-data"]

    def folder_of(package: str) -> Path:
        for mapped, folder in setup["package_dir"].items():
            if package == mapped or package.startswith(mapped + "."):
                return ROOT.joinpath(folder, *package[len(mapped):].split(".")[1:])
        return ROOT.joinpath(*package.split("."))

    def package_of(folder: Path) -> str:
        for mapped, top in setup["package_dir"].items():
            if folder.is_relative_to(ROOT / top):
                return ".".join((mapped, *folder.relative_to(ROOT / top).parts))
        return ".".join(folder.relative_to(ROOT).parts)

    # what setuptools would ship: each pattern globbed in its package's folder
    shipped = {path for package, patterns in declared.items() for pattern in patterns
               for path in folder_of(package).glob(pattern)}
    wanted = [p for folder in setup["package_dir"].values() for p in (ROOT / folder).rglob("*")]
    wanted += [p for p in (ROOT / "simulator" / "inspector").rglob("*") if p.parent.name in ("templates", "static")]
    wanted.append(ROOT / "simulator" / "data" / "demo.yaml")
    for path in wanted:
        if path.is_dir() or path.suffix in (".py", ".md", ".pyc") or "__pycache__" in path.parts:
            continue
        assert package_of(path.parent) in setup["packages"], f"{path.relative_to(ROOT)}: its folder is no package of the wheel"
        assert path in shipped, f"{path.relative_to(ROOT)} would not ship: no package-data pattern in pyproject.toml matches it"


def test_every_provider_declares_an_answer_schema_that_exists():
    for provider in all_providers().values():
        for hook in provider.answer_schemas:
            assert (ROOT / "schemas" / "crm" / provider.id / f"{hook}.json").is_file(), (provider.id, hook)
        shipped = {p.stem for p in (ROOT / "schemas" / "crm" / provider.id).glob("*.json")}
        assert shipped == set(provider.answer_schemas), provider.id


def test_example_scenarios_by_name_and_number():
    names = list(assets.example_scenarios())
    assert names == sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    assert assets.example_scenario("06_transfer").name == "06_transfer.yaml"
    assert assets.example_scenario("06_transfer.yaml").name == "06_transfer.yaml"
    assert assets.example_scenario("6").name == assets.example_scenario("06").name == "06_transfer.yaml"
    with pytest.raises(KeyError, match="no example scenario 'nope' \\(there are: 01_incoming_answered, "):
        assets.example_scenario("nope")


@pytest.fixture
def broken_schemas(tmp_path, monkeypatch):
    """A copy of schemas/ standing in for the installed one; the test breaks it."""
    copy = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    real = assets._package
    monkeypatch.setattr(assets, "_package", lambda name: copy if name == assets.SCHEMAS_PACKAGE else real(name))

    def clear():
        assets.schema_bytes.cache_clear()
        assets.schema_json.cache_clear()
        wh._validator.cache_clear()
    clear()
    yield copy
    clear()


def test_a_missing_answer_schema_stops_the_simulator_at_start(broken_schemas):
    (broken_schemas / "crm" / "vats" / "contact.json").unlink()
    with pytest.raises(assets.AssetError, match="crm/vats/contact.json is missing: the installation"):
        Simulator(parse_config(small_config()), Clock("manual"))


@pytest.mark.parametrize("text, reason", [("{not json", "is not valid JSON"), ("[1, 2]", "is not a JSON object")])
def test_an_unreadable_schema_stops_it_too(broken_schemas, text, reason):
    (broken_schemas / "openapi" / "phonet.json").write_text(text)
    with pytest.raises(assets.AssetError, match=f"openapi/phonet.json {reason}"):
        Simulator(parse_config(small_config()), Clock("manual"))


def test_a_missing_scenario_schema_stops_it_too(broken_schemas):
    (broken_schemas / "scenario.schema.json").unlink()
    with pytest.raises(assets.AssetError, match="scenario.schema.json is missing"):
        Simulator(parse_config(small_config()), Clock("manual"))


def test_an_asset_error_is_a_config_error():
    """Every command reports ConfigError as a message, not a traceback."""
    assert issubclass(assets.AssetError, ConfigError)


def test_serve_reports_a_missing_schema_as_a_message(broken_schemas, monkeypatch):
    for var in ("PBX_SIM_HOST", "PBX_SIM_PORT", "PBX_SIM_CONFIG", "PBX_SIM_ADMIN_TOKEN", "PBX_SIM_STATE_FILE"):
        monkeypatch.delenv(var, raising=False)
    (broken_schemas / "crm" / "phonet" / "call.settings.json").unlink()
    result = CliRunner().invoke(cli.main, ["serve", "--port", "0", "--clock", "manual"])
    assert result.exit_code == 1, result.output
    assert "crm/phonet/call.settings.json is missing" in result.output and result.exception.__class__ is SystemExit


def test_a_missing_data_package_is_named():
    with pytest.raises(assets.AssetError, match="the data package simulator.nonesuch is not installed"):
        assets._package("simulator.nonesuch")


async def test_served_openapi_documents_are_the_sources(client):
    for name in ("admin", "t2", "vats", "phonet", "cloudpbx"):
        resp = await client.get(f"/_sim/openapi/{name}.json")
        assert resp.status == 200 and resp.content_type == "application/json"
        assert await resp.read() == (ROOT / "schemas" / "openapi" / f"{name}.json").read_bytes()
    resp = await client.get("/_sim/openapi/scenario.json")
    assert resp.status == 404 and await resp.json() == {"error": "no OpenAPI document 'scenario'"}


def test_pbx_sim_examples_lists_and_shows_them():
    listed = CliRunner().invoke(cli.main, ["examples"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert [line.split()[0] for line in lines] == list(assets.example_scenarios())
    assert lines[5].split(None, 1)[1] == "Transfer to a colleague"
    shown = CliRunner().invoke(cli.main, ["examples", "--show", "06"])
    assert shown.exit_code == 0 and shown.output == (ROOT / "scenarios" / "06_transfer.yaml").read_text("utf-8")
    assert CliRunner().invoke(cli.main, ["examples", "--show", "99"]).exit_code == 2


def test_pbx_sim_run_example():
    result = CliRunner().invoke(cli.main, ["run", "--example", "06_transfer", "-e", "1", "-p", "vats", "-q"])
    assert result.exit_code == 0, result.output
    assert "PASS Transfer to a colleague [vats] (example 06_transfer.yaml" in result.output
    assert "2 runs: 2 passed" in result.output
    none = CliRunner().invoke(cli.main, ["run"])
    assert none.exit_code == 2 and "--example NAME" in none.output
    unknown = CliRunner().invoke(cli.main, ["run", "--example", "nope"])
    assert unknown.exit_code == 2 and "no example scenario 'nope'" in unknown.output
