"""The run directory as a contract between ``harness/`` (which writes it) and ``analysis/`` (which
judges it): file names (``rundir``), the timeline's event enum (``events``), check and fault ids
and threshold defaults (``checks``), the results.json / history.json schemas (``schemas``), exit
codes, the redactor, and the one safe way to write a file into it (``atomic``).

Imports neither ``harness`` nor ``analysis``: both sides import it, and the Locust plugin (which
runs inside Locust's processes and must stay light) can too. Standard library only, except
``schemas`` (pydantic: import it only where a schema is wanted) and ``columnar`` (pyarrow).
"""
