"""The registry of providers: id → provider object."""

from __future__ import annotations

from .base import Provider


def all_providers() -> dict[str, Provider]:
    from .cloudpbx import CloudPbxProvider
    from .phonet import PhonetProvider
    from .t2 import T2Provider
    from .vats import VatsProvider

    return {p.id: p for p in (T2Provider(), VatsProvider(), PhonetProvider(), CloudPbxProvider())}


__all__ = ["Provider", "all_providers"]
