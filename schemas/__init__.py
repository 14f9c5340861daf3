"""Installed as ``simulator.schemas`` (see setup.py): the OpenAPI documents, the CRM answer
schemas and the scenario schema, read through ``simulator.assets``. Edit the files here."""
