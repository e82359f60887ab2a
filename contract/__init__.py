"""The run directory as a contract between ``harness/`` (which writes it) and ``analysis/`` (which
judges it): file names, event names, row columns, the results schema, exit codes, and the one
safe way to write a file into it.

Standard library only, and imports neither ``harness`` nor ``analysis``: both sides import it, and
the Locust plugin (which runs inside Locust's processes and must stay light) can too.
"""
