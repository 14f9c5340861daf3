"""pbx-simulator: a mock PBX and contract-test server for CRM integrations."""

__version__ = "0.1.0"
