"""gameday: chaos and SLA verification for HyperCode V2.0.

One distribution, one top-level import name: the harness (``gameday.harness``: collects), the judge
(``gameday.analysis``: judges and renders from the run directory alone), the run directory's
contract (``gameday.contract``) and the embedded target (``gameday.sandbox``: a separate program,
never imported by the other two). In the repository the four stay at its top level (``harness/``,
``analysis/``, ``contract/``, ``sandbox/``) and ``src/gameday`` links them under this package, so a
checkout, an editable install and a wheel import the same names, none of which can collide with
another distribution's ``harness`` or ``analysis``.
"""
