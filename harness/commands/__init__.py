"""One module per group of ``gameday`` commands; gameday.harness.cli imports them all.

So every ``gameday`` command pays for their top-level imports, ``--help`` included: keep them
light (typer, pathlib, gameday.harness.app, gameday.harness.errors) and import the heavy parts (analysis,
orchestrator, Chaos Toolkit, Locust, cloud clients) inside the command function.
"""
