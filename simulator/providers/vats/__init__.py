"""Provider vats: virtual PBX CRM API v1."""

from ..base import Provider


class VatsProvider(Provider):
    id = "vats"
    title = "virtual PBX CRM API v1"
    base_path = "/crmapi/v1"
    default_encoding = "form"
    credential_keys = ("api_key",)
