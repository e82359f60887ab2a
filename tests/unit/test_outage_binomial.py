"""The recovery windows' binomial test (gameday.analysis.outage) without scipy.stats (whose import alone
cost ~45 MiB of the judge's peak RSS, issue 19): the same tail probabilities, the same decisions."""

from __future__ import annotations

from gameday.analysis.doubt import at_least as _at_least


def test_the_tail_is_scipys_binomial_survival_function() -> None:
    from scipy.stats import binom  # here: at the top, every xdist worker paid ~0.8 s for it while collecting

    for n in [*range(1, 60), 100, 500, 2000]:
        for k in range(-1, n + 2):
            assert _at_least(k, n, 0.05) == float(binom.sf(k - 1, n, 0.05)), (k, n)


def test_the_documented_thresholds_hold() -> None:
    """The module doc's examples: the fewest slow answers that reject "at most 5 % slow" at 0.05."""
    for slow, n in ((4, 21), (6, 50), (34, 500)):
        assert _at_least(slow, n, 0.05) < 0.05 <= _at_least(slow - 1, n, 0.05), (slow, n)
