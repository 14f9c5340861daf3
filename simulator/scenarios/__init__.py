"""Scenarios: YAML call flows run against any provider, the CRM conformance check, traffic.

- ``loader``: YAML → ``Scenario`` (``model``), validated by ``schemas/scenario.schema.json``
  with the line of every problem.
- ``runner``: ``run_scenario`` (a fresh in-process simulator) and ``run_on`` (a running one)
  play the steps on the simulator clock; ``expectations`` check webhooks (read back in
  neutral terms by ``wire``), CRM answers, history and state; ``report`` renders the
  ``ScenarioReport`` for people and as JUnit XML.
- ``conformance``: ``ConformanceCheck`` — every webhook a provider sends, judged per answer.
- ``traffic``: ``TrafficPlan`` / ``TrafficGenerator`` — realistic calls at a rate.
- ``cli``: ``pbx-sim run``, ``pbx-sim check-crm``, ``pbx-sim traffic``; ``routes``:
  ``POST /_sim/scenarios/run``.

Nothing is imported here: the server registers ``routes`` at start and loads the runner (and
jsonschema, yaml) only when a scenario is run.
"""
