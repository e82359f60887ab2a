"""Safety: resolve every target of every fault before anything is injected, and refuse what the
profile does not allow.

:func:`gameday.harness.safety.plan.plan_fault` is the one path: ``gameday plan`` prints its result, and
the chaos runner refuses to start a fault whose plan fails and runs it with the plan's pinned
configuration, so what runs is what the plan showed.
"""
