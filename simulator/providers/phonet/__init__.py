"""Provider phonet: Phonet REST API."""

from ..base import Provider


class PhonetProvider(Provider):
    id = "phonet"
    title = "Phonet REST API"
    base_path = "/rest"
    default_encoding = "json"
    credential_keys = ("api_key",)
