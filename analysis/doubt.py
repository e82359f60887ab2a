"""A few samples can still prove a breach: fail only beyond doubt.

A p95 read from a handful of answers says little, so an operation below its sample minimum is
not judged on its p95. But when 9 of 30 crew spawns take a second, the operation is slow beyond
any doubt however few the samples: "at most 5 % slow" would give 9 or more of 30 with a
probability of about 1e-5. The test is the one-sided binomial test the recovery judgement uses
(analysis/outage.py): P(X >= k) for X ~ Binomial(n, share) below ``alpha`` rejects "at most
``share``". Only a FAIL is ever drawn from a small sample; a small sample that does not reject
stays unjudged (or INCONCLUSIVE where the profile asks for it), never a PASS.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc  # not scipy.stats: importing it costs ~45 MiB of RSS (issue 19's budget)

SLOW_SHARE = 0.05  # a p95 line allows this share of answers at or over it
STALL_S = 0.1  # slow answers released within this of the first of them: one stall, one observation


def at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the regularized incomplete beta I_p(k, n - k + 1), the very
    function scipy.stats.binom.sf evaluates (``binom.sf(k - 1, n, p)``)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(betainc(k, n - k + 1, p))


def beyond_doubt(k: int, n: int, share: float, alpha: float) -> bool:
    """``k`` of ``n`` over a line is more than ``share`` beyond doubt: at least that share observed,
    and "at most ``share``" rejected at level ``alpha``."""
    return n > 0 and k / n >= share and at_least(k, n, share) < alpha


def stalls(answered: np.ndarray) -> int:
    """How many stalls the (sorted) answer times of slow answers make. The binomial test wants
    independent observations, and one pause of the service delays every request in flight and
    releases them together: a stall starts at an answer and takes every answer within ``STALL_S``
    of it, no chaining (a service slow throughout, whose answers arrive a fifth of a second apart,
    is not merged into one)."""
    count, start = 0, -np.inf
    for t in np.sort(answered).tolist():
        if t - start > STALL_S:
            count, start = count + 1, t
    return count


def independent(slow: int, stalled: int, n: int) -> tuple[int, int]:
    """(slow observations, observations) once each stall counts as one: the test's k and n."""
    return stalled, n - (slow - stalled)
