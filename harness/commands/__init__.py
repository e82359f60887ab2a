"""One module per group of ``gameday`` commands; harness.cli imports them all."""
