"""Provider cloudpbx: Облачная АТС command API."""

from ..base import Provider


class CloudPbxProvider(Provider):
    id = "cloudpbx"
    title = "Облачная АТС command API"
    base_path = "/sys/crm_api.wcgp"
    default_encoding = "form"
    credential_keys = ("token",)
