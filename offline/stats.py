"""Statistics of the offline side: permutation tests, multiple-comparison corrections,
paired tests and intervals.

Every verdict and headline figure of the studies and of ``bci-valence evaluate`` gets its
null, its correction and its interval from here, so that each procedure is defined (and
tested) once.

* :func:`permutation_max_test`: one permutation null for a whole family of statistics
  (e.g. Pearson r of every channel × band with a permuted class coordinate), each
  statistic's own p-value and its family-wise p-value from the null distribution of
  the family's maximum (the single-step max-statistic procedure of Westfall & Young).
* :func:`rank_p`: where an observed value falls in a given null sample (random
  directions, permutations).
* :func:`correlation_test`: a permutation test of one Pearson r
  (:func:`scipy.stats.permutation_test`, ``permutation_type="pairings"``).
* :func:`holm`: Holm's step-down adjustment (family-wise error);
  :func:`fdr` wraps :func:`scipy.stats.false_discovery_control` (Benjamini-Hochberg).
* :func:`paired_test`: paired differences with a t interval and a t-test
  (:func:`scipy.stats.ttest_1samp`) and a sign-flip permutation p-value
  (:func:`scipy.stats.permutation_test`, ``permutation_type="samples"``).
* :func:`mean_ci`: a bootstrap interval of a mean (:func:`scipy.stats.bootstrap`).
* :func:`two_way_bootstrap`: percentile intervals of any figure of a subjects × stimuli
  design that resample subjects and stimuli together (SciPy's bootstrap resamples one
  axis of observations only). When stimuli are a sample of the stimuli one cares about
  (as FACED's 28 clips are), an interval over subjects alone treats the clips as fixed
  and is too narrow.

p-values of permutation procedures are ``(1 + #{null >= observed}) / (1 + n)``, never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MaxTestResult",
    "PairedResult",
    "correlation_test",
    "fdr",
    "holm",
    "mean_ci",
    "paired_test",
    "permutation_max_test",
    "rank_p",
    "two_way_bootstrap",
]

#: Default significance level of the verdict rules.
ALPHA = 0.05


def rank_p(observed: float, null: np.ndarray, alternative: str = "greater") -> float:
    """p-value of ``observed`` against a null sample: ``(1 + #{null >= observed}) / (1 + n)``.

    Parameters
    ----------
    observed : float
    null : array
        Values of the statistic under the null (NaN values are left out).
    alternative : {"greater", "less"}
        ``less`` counts ``null <= observed``.

    Returns
    -------
    float
        NaN when ``observed`` is NaN or the null is empty.
    """
    null = np.asarray(null, dtype=np.float64).ravel()
    null = null[np.isfinite(null)]
    if not np.isfinite(observed) or not len(null):
        return float("nan")
    if alternative == "greater":
        count = np.count_nonzero(null >= observed - 1e-12)
    elif alternative == "less":
        count = np.count_nonzero(null <= observed + 1e-12)
    else:
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    return float((1 + count) / (1 + len(null)))


@dataclass(frozen=True)
class MaxTestResult:
    """Result of :func:`permutation_max_test`.

    Attributes
    ----------
    statistic : ndarray (k,)
        The observed statistics (unpermuted).
    pvalue : ndarray (k,)
        Each statistic's own permutation p-value (no correction).
    pvalue_max : ndarray (k,)
        Family-wise p-values: the share of permutations whose largest statistic reaches
        the observed one (single-step max-statistic).
    null : ndarray (n_permutations, k)
        The statistics under every permutation.
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    pvalue_max: np.ndarray
    null: np.ndarray

    @property
    def n_permutations(self) -> int:
        """Permutations drawn."""
        return int(self.null.shape[0])


def permutation_max_test(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    n_permutations: int = 5000,
    seed: int = 0,
    batch: int = 1000,
) -> MaxTestResult:
    """Permutation test of a family of statistics, with a max-statistic correction.

    The null permutes ``values`` (e.g. the nine classes' V-axis coordinates): each
    permutation is drawn uniformly at random (the identity may occur, as any other).
    Large statistics count against the null (pass ``|r|`` for a two-sided test).

    Parameters
    ----------
    values : array (n,)
        What the null exchanges.
    statistic : callable
        ``statistic(v)`` with ``v`` of shape ``(m, n)`` (``m`` permuted copies of
        ``values``) returns an array ``(m, k)``: the family's ``k`` statistics per copy.
    n_permutations : int
    seed : int
    batch : int
        Copies per call of ``statistic``.

    Returns
    -------
    MaxTestResult
    """
    values = np.asarray(values)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"values must be 1-D with at least 2 entries, got shape {values.shape}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    observed = np.asarray(statistic(values[None, :]), dtype=np.float64)
    if observed.ndim != 2 or observed.shape[0] != 1:
        raise ValueError(f"statistic returned shape {observed.shape} for 1 copy; expected (1, k)")
    observed = observed[0]
    rng = np.random.default_rng(seed)
    chunks = []
    done = 0
    while done < n_permutations:
        m = min(batch, n_permutations - done)
        perms = rng.permuted(np.broadcast_to(values, (m, len(values))).copy(), axis=1)
        chunks.append(np.asarray(statistic(perms), dtype=np.float64).reshape(m, -1))
        done += m
    null = np.concatenate(chunks)
    tol = 1e-12
    p = (1 + np.sum(null >= observed[None, :] - tol, axis=0)) / (1 + len(null))
    top = np.nanmax(null, axis=1)
    p_max = (1 + np.sum(top[:, None] >= observed[None, :] - tol, axis=0)) / (1 + len(null))
    return MaxTestResult(observed, p.astype(float), p_max.astype(float), null)


def correlation_test(
    x: np.ndarray, y: np.ndarray, n_permutations: int = 9999, seed: int = 0,
    alternative: str = "two-sided",
) -> tuple[float, float]:
    """Pearson r of ``x`` and ``y`` and its permutation p-value (``y`` re-paired with ``x``).

    :func:`scipy.stats.permutation_test` with ``permutation_type="pairings"``.

    Returns
    -------
    (r, p)
    """
    from scipy import stats

    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(x) != len(y) or len(x) < 3:
        raise ValueError(f"x has {len(x)} values and y {len(y)}: expected the same number, at least 3")
    if x.std() == 0 or y.std() == 0:
        return float("nan"), float("nan")

    def r(a: np.ndarray, axis: int = -1) -> np.ndarray:
        a = a - a.mean(axis=axis, keepdims=True)
        b = x - x.mean()
        return (a * b).sum(axis=axis) / np.sqrt((a * a).sum(axis=axis) * (b * b).sum())

    res = stats.permutation_test((y,), r, permutation_type="pairings", vectorized=True,
                                 n_resamples=n_permutations, alternative=alternative, rng=seed)
    return float(res.statistic), float(res.pvalue)


def holm(pvalues: Sequence[float] | np.ndarray | Mapping[str, float]) -> Any:
    """Holm's step-down adjusted p-values (family-wise error control).

    The ``i``-th smallest of ``m`` p-values is multiplied by ``m - i`` (``i`` from 0),
    running maxima are taken so that the order is kept, and values are capped at 1.
    NaN p-values are left out of the family and stay NaN.

    Parameters
    ----------
    pvalues : sequence, array or mapping of float

    Returns
    -------
    ndarray, or a dict with the same keys when given a mapping.
    """
    if isinstance(pvalues, Mapping):
        keys = list(pvalues)
        adj = holm(np.array([pvalues[k] for k in keys], dtype=np.float64))
        return {k: float(v) for k, v in zip(keys, adj)}
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return out
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def fdr(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (:func:`scipy.stats.false_discovery_control`)."""
    from scipy import stats

    return np.asarray(stats.false_discovery_control(np.asarray(pvalues, dtype=np.float64)), dtype=float)


@dataclass(frozen=True)
class PairedResult:
    """Result of :func:`paired_test` (differences ``a - b``).

    Attributes
    ----------
    n : int
        Pairs.
    mean : float
        Mean difference.
    ci_low, ci_high : float
        95 % t interval of the mean difference.
    p : float
        Two-sided paired t-test.
    p_sign_flip : float
        Two-sided sign-flip permutation p-value (exact for up to 2^n sign patterns).
    """

    n: int
    mean: float
    ci_low: float
    ci_high: float
    p: float
    p_sign_flip: float

    def to_dict(self) -> dict[str, float]:
        """JSON-able form."""
        return {"n": self.n, "mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p": self.p, "p_sign_flip": self.p_sign_flip}


def paired_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray | None = None,
                confidence_level: float = 0.95, seed: int = 0) -> PairedResult:
    """A paired comparison: mean of ``a - b`` with a t interval, t-test and sign-flip test.

    Parameters
    ----------
    a : array (n,)
        First member of each pair, or the differences themselves when ``b`` is None.
    b : array (n,) or None
    confidence_level : float
    seed : int
        Seed of the sign-flip test when it cannot enumerate every sign pattern.

    Returns
    -------
    PairedResult
        With fewer than 2 pairs, or differences that are all equal, ``p`` and the
        interval's half-width are NaN, except that identical zero differences give
        ``p = 1``.
    """
    from scipy import stats

    d = np.asarray(a, dtype=np.float64).ravel()
    if b is not None:
        bb = np.asarray(b, dtype=np.float64).ravel()
        if bb.shape != d.shape:
            raise ValueError(f"a has {d.size} values and b {bb.size}: a paired test needs equal numbers")
        d = d - bb
    d = d[np.isfinite(d)]
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    if n < 2 or d.std() == 0:
        p = 1.0 if n >= 2 and mean == 0 else float("nan")
        return PairedResult(n, mean, mean if n >= 2 else float("nan"), mean if n >= 2 else float("nan"),
                            p, p)
    t = stats.ttest_1samp(d, 0.0)
    half = float(stats.t.ppf(0.5 + confidence_level / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))
    flip = stats.permutation_test((d,), lambda x, axis=-1: np.mean(x, axis=axis), vectorized=True,
                                  permutation_type="samples", n_resamples=9999, rng=seed)
    return PairedResult(n, mean, mean - half, mean + half, float(t.pvalue), float(flip.pvalue))


def mean_ci(values: Sequence[float] | np.ndarray, confidence_level: float = 0.95, n_resamples: int = 9999,
            seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (:func:`scipy.stats.bootstrap`)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) < 2 or v.std() == 0:
        m = float(v.mean()) if len(v) else float("nan")
        return m, m
    res = stats.bootstrap((v,), np.mean, confidence_level=confidence_level, n_resamples=n_resamples,
                          method="percentile", rng=seed)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _strata_draw(rng: np.random.Generator, strata: list[np.ndarray]) -> np.ndarray:
    """Indices drawn with replacement within each stratum (each keeps its size)."""
    return np.concatenate([s[rng.integers(0, len(s), len(s))] for s in strata])


def two_way_bootstrap(
    statistic: Callable[[np.ndarray, np.ndarray], float | Mapping[str, float]],
    n_subjects: int,
    n_stimuli: int,
    n_resamples: int = 1000,
    seed: int = 0,
    stimulus_strata: Sequence[Any] | np.ndarray | None = None,
    over: Sequence[str] = ("subjects", "stimuli"),
    confidence_level: float = 0.95,
) -> dict[str, Any]:
    """Percentile intervals that resample subjects and stimuli together.

    Each resample draws ``n_subjects`` subjects with replacement and, independently,
    ``n_stimuli`` stimuli with replacement (within each stratum of ``stimulus_strata``
    when given, so that every stratum keeps its size: e.g. FACED's negative, neutral
    and positive clips); the figure is recomputed on that subjects × stimuli table.

    Parameters
    ----------
    statistic : callable
        ``statistic(subject_idx, stimulus_idx)`` -> a float or ``{name: float}``; the
        indices select rows and columns of the caller's subjects × stimuli data
        (repeats allowed). ``statistic(arange(n_subjects), arange(n_stimuli))`` is the
        observed figure.
    n_subjects, n_stimuli : int
    n_resamples : int
    seed : int
    stimulus_strata : sequence (n_stimuli,) or None
        Stratum label of each stimulus.
    over : sequence of {"subjects", "stimuli"}
        Which factors are resampled (both by default; one of them for comparison).
    confidence_level : float

    Returns
    -------
    dict
        ``ci`` (``[low, high]``, or ``{name: [low, high]}`` for a mapping statistic;
        resamples giving NaN are left out), ``samples`` (array, or dict of arrays) and
        ``over``.
    """
    over = tuple(over)
    if not over or set(over) - {"subjects", "stimuli"}:
        raise ValueError(f"over must name 'subjects' and/or 'stimuli', got {over}")
    if n_subjects < 1 or n_stimuli < 1 or n_resamples < 1:
        raise ValueError(f"n_subjects {n_subjects}, n_stimuli {n_stimuli}, n_resamples {n_resamples}: "
                         "expected each >= 1")
    if stimulus_strata is None:
        strata = [np.arange(n_stimuli)]
    else:
        labels = np.asarray(stimulus_strata)
        if len(labels) != n_stimuli:
            raise ValueError(f"{len(labels)} stratum labels for {n_stimuli} stimuli")
        strata = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    rng = np.random.default_rng(seed)
    all_sub, all_stim = np.arange(n_subjects), np.arange(n_stimuli)
    samples: list[Any] = []
    for _ in range(n_resamples):
        sub = rng.integers(0, n_subjects, n_subjects) if "subjects" in over else all_sub
        stim = _strata_draw(rng, strata) if "stimuli" in over else all_stim
        samples.append(statistic(sub, stim))
    lo, hi = 50 * (1 - confidence_level), 50 * (1 + confidence_level)

    def interval(v: np.ndarray) -> list[float]:
        v = v[np.isfinite(v)]
        return [float(np.percentile(v, lo)), float(np.percentile(v, hi))] if len(v) else [float("nan")] * 2

    if samples and isinstance(samples[0], Mapping):
        arrays = {k: np.array([s[k] for s in samples], dtype=np.float64) for k in samples[0]}
        return {"ci": {k: interval(v) for k, v in arrays.items()}, "samples": arrays, "over": list(over)}
    arr = np.asarray(samples, dtype=np.float64)
    return {"ci": interval(arr), "samples": arr, "over": list(over)}
