"""Helpers shared by the test modules (import them from here, never from another test file)."""

from __future__ import annotations

import numpy as np

#: Units in the last place allowed between two float32 computations of the same value.
#: BLAS kernels differ between CPUs (AMD, Intel) and between thread counts: sums are
#: reordered, so results agree to a few ulps of the largest term, not bit for bit.
FLOAT32_ULPS = 128


def float32_tolerance(reference: np.ndarray, ulps: int = FLOAT32_ULPS) -> float:
    """Absolute tolerance of ``ulps`` float32 units at the scale of ``reference``.

    Parameters
    ----------
    reference : array
        The values compared against; their largest magnitude sets the scale (a
        reduction's rounding error grows with its largest term, not with each output).
    ulps : int
        How many float32 units in the last place are allowed.

    Returns
    -------
    float
        ``ulps * eps32 * max(1, max |reference|)``.
    """
    scale = max(1.0, float(np.max(np.abs(np.asarray(reference, dtype=np.float64)), initial=0.0)))
    return ulps * float(np.finfo(np.float32).eps) * scale


def assert_float32_close(actual, desired, ulps: int = FLOAT32_ULPS, err_msg: str = "") -> None:
    """Assert two float32 results agree within a tolerance that follows the dtype."""
    desired = np.asarray(desired, dtype=np.float64)
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), desired, rtol=0, atol=float32_tolerance(desired, ulps),
        err_msg=err_msg,
    )
