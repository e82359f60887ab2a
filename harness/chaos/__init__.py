"""Running Chaos Toolkit experiments for gameday: loading and checking them
(:mod:`~harness.chaos.experiment`), recording them on the timeline and keeping the rollbacks
alive through signals (:mod:`~harness.chaos.events`), writing redacted journals
(:mod:`~harness.chaos.journal`), and the one entry point the orchestrator calls,
:func:`harness.chaos.runner.run_fault`.
"""
