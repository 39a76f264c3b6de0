"""ARIMA order selection and estimation for thousands of functions at once.

Hannan-Rissanen (a long autoregression estimates the innovations, then one least-squares regression
per (p, q) gives the ARMA coefficients) is two linear regressions, so it batches across functions as
stacked normal equations; statsmodels' per-function `hannan_rissanen` is the reference in the tests
but takes ~40 ms per function, minutes for 10,000. Differencing orders come from statsmodels' KPSS.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from runtime.predictor.interrupt import check_interrupted
from runtime.settings import ArimaSettings

Matrix = npt.NDArray[np.float64]

LONG_AR_ORDER = 10
"""Order of the first-stage autoregression that estimates the innovations."""

_KPSS_ALPHA = 0.05
_MIN_KPSS_MINUTES = 60  # below this KPSS has too little data to reject anything: keep d = 0
_SEASONAL_GAIN = 0.8
"""A period is used only when its seasonal-naive error is below this share of the lag-1 error."""
_CHUNK = 1024  # functions per batch: bounds the lag tensors to a few tens of MB
_RIDGE = 1e-8


@dataclass(frozen=True)
class ArimaParameters:
    """Per-function ARIMA(p, d, q) x (0, 1, 0)_period; coefficients zero-padded to the bounds."""

    period: npt.NDArray[np.int64]
    d: npt.NDArray[np.int64]
    mean: Matrix
    ar: Matrix
    ma: Matrix

    def order(self, i: int) -> tuple[int, int, int]:
        """Function i's (p, d, q), counting non-zero coefficients."""
        p = int(np.flatnonzero(self.ar[i])[-1] + 1) if self.ar[i].any() else 0
        q = int(np.flatnonzero(self.ma[i])[-1] + 1) if self.ma[i].any() else 0
        return p, int(self.d[i]), q


def seasonal_periods(history: Matrix, max_period: int) -> npt.NDArray[np.int64]:
    """Each function's period P in 2..max_period, or 0 where lag P barely beats lag 1."""
    lags = range(1, min(max_period, history.shape[1] // 3) + 1)
    if len(lags) < 2:
        return np.zeros(history.shape[0], dtype=np.int64)
    errors = np.stack([np.abs(history[:, lag:] - history[:, :-lag]).mean(axis=1) for lag in lags], axis=1)
    best = errors[:, 1:].argmin(axis=1) + 2
    seasonal = errors[np.arange(len(best)), best - 1] < _SEASONAL_GAIN * errors[:, 0]
    return np.where(seasonal, best, 0).astype(np.int64)


def differencing_order(series: Matrix, max_d: int) -> int:
    """Difference until KPSS no longer rejects level stationarity (as auto.arima does)."""
    from statsmodels.tsa.stattools import kpss

    d = 0
    while d < max_d and len(series) >= _MIN_KPSS_MINUTES and np.ptp(series) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # p-values outside KPSS's table are clipped, which is fine here
            try:
                p_value = kpss(series, nlags="auto", result_object=False)[1]
            except OverflowError:  # its automatic lag choice diverges on near-degenerate series
                break
        if p_value >= _KPSS_ALPHA:
            break
        series = np.diff(series)
        d += 1
    return d


def _lags(x: Matrix, count: int) -> Matrix:
    """functions x minutes x count: column j holds x[t - 1 - j] (NaN before the series starts)."""
    out = np.full((*x.shape, count), np.nan)
    for j in range(count):
        out[:, j + 1 :, j] = x[:, : x.shape[1] - j - 1]
    return out


def _least_squares(regressors: Matrix, target: Matrix, rows: npt.NDArray[np.bool_]) -> tuple[Matrix, Matrix]:
    """Per-function OLS over the `rows` mask: coefficients (functions x k) and residuals (NaN off-mask)."""
    x = np.where(rows[..., None], regressors, 0.0)
    y = np.where(rows, target, 0.0)
    gram = x.transpose(0, 2, 1) @ x + _RIDGE * np.eye(x.shape[2])
    coefficients = np.linalg.solve(gram, np.einsum("ntk,nt->nk", x, y)[..., None])[..., 0]
    residuals = np.where(rows, y - np.einsum("ntk,nk->nt", x, coefficients), np.nan)
    return coefficients, residuals


def _roots_inside(coefficients: Matrix) -> npt.NDArray[np.bool_]:
    """Whether each companion matrix with first row `coefficients` has all eigenvalues inside the unit circle."""
    n, k = coefficients.shape
    if k == 0:
        return np.ones(n, dtype=bool)
    companion = np.zeros((n, k, k))
    companion[:, 0, :] = coefficients
    companion[:, np.arange(1, k), np.arange(k - 1)] = 1.0
    return np.asarray((np.abs(np.linalg.eigvals(companion)) < 1.0 - 1e-6).all(axis=1), dtype=np.bool_)


def _select_arma(w: Matrix, settings: ArimaSettings) -> tuple[Matrix, Matrix]:
    """Lowest-AIC stationary, invertible ARMA(p, q) within the bounds for each centred series in w."""
    n = w.shape[0]
    long_lags = _lags(w, LONG_AR_ORDER)
    first_stage_rows = np.isfinite(w) & np.isfinite(long_lags).all(axis=2)
    _, innovations = _least_squares(long_lags, w, first_stage_rows)
    w_lags, e_lags = _lags(w, max(settings.max_p, 1)), _lags(innovations, max(settings.max_q, 1))
    # One common sample for every order, so their AICs are comparable.
    rows = np.isfinite(w) & np.isfinite(w_lags).all(axis=2) & np.isfinite(e_lags).all(axis=2)
    count = np.maximum(rows.sum(axis=1), 1)
    best_aic = np.log((np.where(rows, w, 0.0) ** 2).sum(axis=1) / count + _RIDGE) * count + 2
    ar, ma = np.zeros((n, max(settings.max_p, 1))), np.zeros((n, max(settings.max_q, 1)))
    for p in range(settings.max_p + 1):
        for q in range(settings.max_q + 1):
            if p + q == 0:
                continue
            regressors = np.concatenate([w_lags[:, :, :p], e_lags[:, :, :q]], axis=2)
            coefficients, residuals = _least_squares(regressors, w, rows)
            sigma2 = np.nansum(residuals**2, axis=1) / count
            aic = np.log(sigma2 + _RIDGE) * count + 2 * (p + q + 1)
            ok = _roots_inside(coefficients[:, :p]) & _roots_inside(-coefficients[:, p:]) & (aic < best_aic)
            best_aic = np.where(ok, aic, best_aic)
            ar[ok], ma[ok] = 0.0, 0.0
            ar[ok, :p], ma[ok, :q] = coefficients[ok, :p], coefficients[ok, p:]
    return ar, ma


def estimate(history: Matrix, settings: ArimaSettings, max_period: int) -> ArimaParameters:
    """Seasonal period, differencing order, mean and ARMA coefficients of every function (row)."""
    n, n_minutes = history.shape
    period = seasonal_periods(history, max_period)
    w = np.full((n, n_minutes), np.nan)
    d = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if i % 64 == 0:
            check_interrupted()
        series = history[i, period[i] :] - history[i, : n_minutes - period[i]] if period[i] else history[i]
        d[i] = differencing_order(series, settings.max_d)
        series = np.diff(series, n=int(d[i]))
        w[i, n_minutes - len(series) :] = series
    # No drift after differencing: minute counts do not trend forever.
    mean = np.where((d == 0) & (period == 0), np.nanmean(w, axis=1), 0.0)
    ar, ma = np.zeros((n, max(settings.max_p, 1))), np.zeros((n, max(settings.max_q, 1)))
    for start in range(0, n, _CHUNK):
        check_interrupted()
        chunk = slice(start, start + _CHUNK)
        ar[chunk], ma[chunk] = _select_arma(w[chunk] - mean[chunk, None], settings)
    return ArimaParameters(period=period, d=d, mean=mean, ar=ar, ma=ma)
