"""Provider t2: t2 Corporate PBX CRM OpenAPI."""

from ..base import Provider


class T2Provider(Provider):
    id = "t2"
    title = "t2 Corporate PBX CRM OpenAPI"
    base_path = "/crm/openapi"
    default_encoding = "json"
    credential_keys = ("access_token", "refresh_token")
