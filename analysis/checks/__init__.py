"""The SLA checks: pure functions over a loaded run (gameday.analysis.run.Run) returning CheckResults."""
