"""Installed as ``simulator.example_scenarios`` (see setup.py): ``pbx-sim examples`` lists
these files and ``pbx-sim run --example NAME`` runs one. Edit the files here."""
