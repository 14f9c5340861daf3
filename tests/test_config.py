import textwrap

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.config import ConfigError, apply_environment, load_config, parse_config
from simulator.core.seed import build_state


def write(tmp_path, text: str):
    path = tmp_path / "sim.yaml"
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


def test_demo_configuration_has_one_account_per_provider():
    cfg = load_config()
    assert [a.id for a in cfg.accounts] == ["t2", "vats", "phonet", "cloudpbx"]
    assert [a.provider for a in cfg.accounts] == ["t2", "vats", "phonet", "cloudpbx"]
    for acc in cfg.accounts:
        gen = acc.seed.generate
        assert gen.employees >= 10 and gen.departments >= 3 and gen.numbers >= 5 and gen.calls >= 200
    assert cfg.server.host == "127.0.0.1" and cfg.server.port == 8080


def test_unknown_provider_is_named(tmp_path):
    path = write(tmp_path, """
        accounts:
          - id: a1
            provider: beeline
    """)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "accounts.0.provider" in text
    assert "'t2', 'vats', 'phonet' or 'cloudpbx'" in text


def test_unknown_field_and_bad_values_are_each_named(tmp_path):
    path = write(tmp_path, """
        server: {port: 99999, colour: blue}
        accounts:
          - id: a1
            provider: vats
            crm: {url: "ftp://crm", encoding: xml}
    """)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "server.port" in text and "less than or equal to 65535" in text
    assert "server.colour: unknown field" in text
    assert "accounts.0.crm.url" in text and "http:// or https://" in text
    assert "accounts.0.crm.encoding" in text


def test_duplicate_account_ids_refused():
    with pytest.raises(ConfigError, match="used twice"):
        parse_config({"accounts": [{"id": "x", "provider": "t2"}, {"id": "x", "provider": "vats"}]})


def test_invalid_yaml_and_missing_file(tmp_path):
    path = write(tmp_path, "accounts: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config(["a"])


def test_schedule_span_validated():
    with pytest.raises(ConfigError, match="09-18"):
        parse_config({"accounts": [{"id": "a", "provider": "vats", "seed": {"numbers": [
            {"number": "74950000000", "route": {"type": "schedule", "schedule": {"mon": ["09-18"]}}}]}}]})


def test_environment_overrides_host_and_port():
    cfg = apply_environment(load_config(), {"PBX_SIM_HOST": "0.0.0.0", "PBX_SIM_PORT": "9001"})
    assert (cfg.server.host, cfg.server.port) == ("0.0.0.0", 9001)
    with pytest.raises(ConfigError, match="PBX_SIM_PORT"):
        apply_environment(load_config(), {"PBX_SIM_PORT": "eighty"})


def test_cli_refuses_invalid_file_without_traceback(tmp_path):
    path = write(tmp_path, "accounts:\n  - id: a\n    provider: nope\n")
    result = CliRunner().invoke(main, ["serve", "--config", str(path)])
    assert result.exit_code != 0
    assert "accounts.0.provider" in result.output
    assert "Traceback" not in result.output


def test_cli_config_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, "accounts:\n  - id: a\n    provider: nope\n")
    monkeypatch.setenv("PBX_SIM_CONFIG", str(path))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "accounts.0.provider" in result.output


def test_cli_help_shows_examples():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0 and "Example" in top.output and "pbx-sim serve" in top.output
    serve = runner.invoke(main, ["serve", "--help"])
    assert serve.exit_code == 0 and "Example" in serve.output and "--clock" in serve.output
    bad = runner.invoke(main, ["serve", "--clock", "warp"])
    assert bad.exit_code != 0 and "--clock" in bad.output


def _cfg(provider: str, seed_block: dict):
    return parse_config({"accounts": [{"id": "acc", "provider": provider, "seed": seed_block}]}).accounts[0]


def test_faker_seed_data_is_deterministic():
    acc = _cfg("vats", {"generate": {"employees": 12, "departments": 3, "numbers": 5}})
    a = build_state(acc, 42, 0.0)
    b = build_state(acc, 42, 0.0)
    c = build_state(acc, 43, 0.0)
    names = lambda s: [e.name for e in s.employees.values()]
    assert names(a) == names(b)
    assert names(a) != names(c)
    assert len(a.employees) == 12 and len(a.departments) == 3 and len(a.numbers) == 5
    assert all(n.startswith("7") and len(n) == 11 for n in a.numbers)
    assert all(e.mobile.startswith("79") and len(e.mobile) == 11 for e in a.employees.values())
    assert any(any("а" <= ch <= "я" for ch in e.name.lower()) for e in a.employees.values())
    assert {d.call_order for d in a.departments.values()} >= {"ALL", "BYORDER", "EVENLY"}


def test_phonet_seed_is_ukrainian():
    state = build_state(_cfg("phonet", {"generate": {"employees": 5, "numbers": 2}}), 1, 0.0, "uk_UA")
    assert all(n.startswith("+380") and len(n) == 13 for n in state.numbers)
    assert all(e.mobile.startswith("+380") for e in state.employees.values())


def test_listed_seed_data_is_kept():
    state = build_state(_cfg("vats", {
        "employees": [{"login": "andy", "ext": "708", "name": "Петров Андрей", "dnd": True}],
        "departments": [{"id": "sales", "name": "Отдел продаж", "call_order": "BYORDER", "members": ["andy"]}],
        "numbers": [{"number": "74951234567", "route": {"type": "department", "target": "sales"}}],
        "blacklist": [{"number": "7900800*", "comment": "спам"}],
    }), 1, 0.0)
    andy = state.employee_by_login("andy")
    assert andy.ext == "708" and andy.dnd and andy.name == "Петров Андрей"
    assert state.departments["sales"].members[0].employee_id == andy.id
    assert state.numbers["74951234567"].route.target == "sales"
    assert state.blacklist_match("79008001234").comment == "спам"
    assert state.blacklist_match("79008011234") is None


async def test_phonet_accounts_get_the_providers_locale_and_zone(sim):
    phonet, vats = sim.account("phonet"), sim.account("vats")
    assert (phonet.locale, phonet.utc_offset) == ("uk_UA", 2.0)
    assert (vats.locale, vats.utc_offset) == ("ru_RU", 3.0)
    assert all(n.startswith("+380") for n in phonet.state.numbers)
    phonet.settings["utc_offset"] = 3
    assert phonet.utc_offset == 3.0
