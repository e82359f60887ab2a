"""Running Chaos Toolkit experiments for gameday: loading and checking them
(:mod:`~gameday.harness.chaos.experiment`), recording them on the timeline and keeping the rollbacks
alive through signals (:mod:`~gameday.harness.chaos.events`), writing redacted journals
(:mod:`~gameday.harness.chaos.journal`), and the one entry point the orchestrator calls,
:func:`gameday.harness.chaos.runner.run_fault`.
"""
