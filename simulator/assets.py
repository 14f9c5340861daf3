"""What the package reads at run time, read through ``importlib.resources`` so an installed
wheel behaves like the checkout: the OpenAPI documents, the CRM answer schemas, the scenario
schema (data package ``simulator.schemas``, the repository's top-level ``schemas/``) and the
example scenarios (``simulator.example_scenarios``, the top-level ``scenarios/``).

A file that is missing or unreadable is an ``AssetError`` — never "no rules": a CRM answer
check without its schema would pass everything."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Iterable

from .config import ConfigError

SCHEMAS_PACKAGE = "simulator.schemas"
EXAMPLES_PACKAGE = "simulator.example_scenarios"
ADMIN_DOCUMENT = "admin"


class AssetError(ConfigError):
    """A file the package ships is missing or broken: the installation is, not the user's
    input. A ``ConfigError`` so that every command reports it as a message at start."""


def _package(name: str) -> Traversable:
    try:
        return resources.files(name)
    except ModuleNotFoundError:
        raise AssetError(f"the data package {name} is not installed: the installation of "
                         "pbx-simulator is broken (reinstall it)") from None


def _read(package: str, parts: tuple[str, ...]) -> bytes:
    node = _package(package).joinpath(*parts)
    where = "/".join(parts)
    try:
        return node.read_bytes()
    except FileNotFoundError:
        raise AssetError(f"{package}: {where} is missing: the installation of pbx-simulator is "
                         "broken (reinstall it)") from None
    except OSError as err:
        raise AssetError(f"{package}: cannot read {where}: {err.strerror or err}") from None


@lru_cache(maxsize=64)
def schema_bytes(*parts: str) -> bytes:
    """A file of ``schemas/`` as it ships, e.g. ``schema_bytes("openapi", "t2.json")``."""
    return _read(SCHEMAS_PACKAGE, parts)


@lru_cache(maxsize=64)
def schema_json(*parts: str) -> dict:
    """A JSON schema of ``schemas/``, parsed; a file that is not a JSON object is an error."""
    text = schema_bytes(*parts)
    try:
        data = json.loads(text)
    except ValueError as err:
        raise AssetError(f"{SCHEMAS_PACKAGE}: {'/'.join(parts)} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise AssetError(f"{SCHEMAS_PACKAGE}: {'/'.join(parts)} is not a JSON object")
    return data


def answer_schema(provider: str, hook: str) -> dict:
    """``schemas/crm/<provider>/<hook>.json``: what the CRM must answer to ``hook``."""
    return schema_json("crm", provider, f"{hook}.json")


def scenario_schema() -> dict:
    return schema_json("scenario.schema.json")


def openapi_names(provider_ids: Iterable[str]) -> tuple[str, ...]:
    """The OpenAPI documents the server serves: the admin API's and one per provider."""
    return (ADMIN_DOCUMENT, *provider_ids)


def openapi_document(name: str) -> bytes:
    return schema_bytes("openapi", f"{name}.json")


def example_scenarios() -> dict[str, Traversable]:
    """name (the file name without ``.yaml``) → file, in name order."""
    found = {node.name[:-len(".yaml")]: node for node in _package(EXAMPLES_PACKAGE).iterdir()
             if node.name.endswith(".yaml") and node.is_file()}
    if not found:
        raise AssetError(f"{EXAMPLES_PACKAGE} holds no scenarios: the installation of "
                         "pbx-simulator is broken (reinstall it)")
    return dict(sorted(found.items()))


def _number(name: str) -> int | None:
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() else None


def example_scenario(name: str) -> Traversable:
    """One example by name (``01_incoming_answered``, with or without ``.yaml``, or its number
    ``01`` or ``1``); ``KeyError`` lists the names there are."""
    examples = example_scenarios()
    name = name.removesuffix(".yaml")
    if name in examples:
        return examples[name]
    numbered = [n for n in examples if name.isdigit() and _number(n) == int(name)]
    if len(numbered) == 1:
        return examples[numbered[0]]
    raise KeyError(f"no example scenario {name!r} (there are: {', '.join(examples)})")


def check(providers: Iterable) -> None:
    """Read and parse everything a server needs, so a broken installation stops it at start
    instead of passing CRM answers unchecked later: every OpenAPI document, every provider's
    answer schemas (``Provider.answer_schemas``) and the scenario schema. Cached: a second
    simulator in the same process pays nothing."""
    providers = list(providers)
    for name in openapi_names(p.id for p in providers):
        schema_json("openapi", f"{name}.json")
    for provider in providers:
        for hook in provider.answer_schemas:
            answer_schema(provider.id, hook)
    scenario_schema()
