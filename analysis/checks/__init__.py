"""The SLA checks: pure functions over a loaded run (analysis.run.Run) returning CheckResults."""
