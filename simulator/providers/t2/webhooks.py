"""t2 sends no webhooks: neither seed documents a PBX → CRM request. A CRM learns about
calls by polling ``/monitoring/calls`` and ``/call-records/info``."""
