"""``python -m gameday``: the ``gameday`` command."""

from gameday.harness.cli import main

if __name__ == "__main__":
    main()
