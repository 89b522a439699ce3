"""Batch normalisation (docs/formulas.md section 3): hand-worked cases, identities, properties."""

from __future__ import annotations

from itertools import pairwise
from math import sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw3cli.core.batchnorm import (
    batchnorm,
    batchnorm_dx_compact,
    batchnorm_forward,
    gradcheck_batchnorm,
    running_update,
)
from hw3cli.errors import InputError


def test_hand_worked_m2() -> None:
    # By hand, eps = 0: x = [1, 3] -> mu 2, var 1, xhat [-1, 1]; gamma 2, beta 0.5 gives
    # y = [-1.5, 2.5]. dy = [1, 0]: dxhat = [2, 0]; dvar = (2*(-1)) * (-1/2) * 1 = 1;
    # dmu = -1 * 2 + 1 * (-2/2) * 0 = -2; dx = [2 - 1 - 1, 0 + 1 - 1] = [0, 0] (with two
    # samples xhat is +-1 whatever x is, so nothing flows back); dgamma = -1; dbeta = 1.
    x = np.array([[1.0], [3.0]])
    dy = np.array([[1.0], [0.0]])
    r = batchnorm(x, dy, np.array([2.0]), np.array([0.5]), eps=0.0)
    assert r.mean.tolist() == [2.0] and r.var.tolist() == [1.0]
    assert r.xhat.ravel().tolist() == [-1.0, 1.0]
    assert r.y.ravel().tolist() == [-1.5, 2.5]
    assert r.dxhat.ravel().tolist() == [2.0, 0.0]
    assert r.dvar.tolist() == [1.0]
    assert r.dmu.tolist() == [-2.0]
    assert r.dx.ravel().tolist() == [0.0, 0.0]
    assert r.dgamma.tolist() == [-1.0]
    assert r.dbeta.tolist() == [1.0]


def test_hand_worked_m3() -> None:
    # By hand, eps = 0: x = [0, 1, 2] -> mu 1, var 2/3, invstd sqrt(1.5). dy = [1, 0, 0]:
    # dxhat = [1, 0, 0]; dvar = (1 * -1) * (-1/2) * (2/3)^(-3/2) = 0.5 * 1.5^1.5;
    # dmu = -sqrt(1.5); dx_i = dxhat_i sqrt(1.5) + dvar * 2 (x_i - 1) / 3 + dmu / 3
    # = sqrt(1.5) * [1/6, -1/3, 1/6].
    x = np.array([[0.0], [1.0], [2.0]])
    dy = np.array([[1.0], [0.0], [0.0]])
    r = batchnorm(x, dy, eps=0.0)
    s = sqrt(1.5)
    assert r.var[0] == pytest.approx(2 / 3, rel=1e-15)
    assert r.dvar[0] == pytest.approx(0.5 * 1.5**1.5, rel=1e-14)
    assert r.dmu[0] == pytest.approx(-s, rel=1e-14)
    np.testing.assert_allclose(r.dx.ravel(), [s / 6, -s / 3, s / 6], rtol=1e-14)
    np.testing.assert_allclose(r.xhat.ravel(), [-s, 0.0, s], rtol=1e-14, atol=1e-15)
    assert r.dgamma[0] == pytest.approx(-s, rel=1e-14)


def test_running_update_pytorch_convention() -> None:
    # rm' = 0.9 * 0 + 0.1 * mu ; rv' = 0.9 * 1 + 0.1 * var * m / (m - 1), m = 3:
    # x = [0, 1, 2]: mu 1, var 2/3 -> unbiased 1 -> rm' = 0.1, rv' = 1.0.
    x = np.array([[0.0], [1.0], [2.0]])
    r = batchnorm(x, np.zeros_like(x))
    assert r.running_mean is not None and r.running_var is not None
    assert r.running_mean[0] == pytest.approx(0.1, rel=1e-15)
    assert r.running_var[0] == pytest.approx(1.0, rel=1e-15)
    rm, rv = running_update(
        np.array([2.0]), np.array([4.0]), np.array([1.0]), np.array([1.0]), 2, 0.5
    )
    assert (rm[0], rv[0]) == (1.5, 3.0)  # 0.5*2 + 0.5*1 ; 0.5*4 + 0.5*1*2/1


def test_eval_mode() -> None:
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    dy = np.array([[0.5, -1.0], [2.0, 0.25]])
    g, b = np.array([2.0, 3.0]), np.array([0.0, 1.0])
    rm, rv = np.array([1.0, -1.0]), np.array([4.0, 9.0])
    r = batchnorm(x, dy, g, b, eps=0.0, training=False, running_mean=rm, running_var=rv)
    # xhat = (x - rm) / sqrt(rv): [[0, 1], [1, 2]]; dx = dy * gamma / sqrt(rv)
    np.testing.assert_array_equal(r.xhat, [[0.0, 1.0], [1.0, 2.0]])
    np.testing.assert_allclose(r.dx, dy * g / np.sqrt(rv), rtol=1e-15)
    np.testing.assert_allclose(r.dgamma, (dy * r.xhat).sum(0), rtol=1e-15)
    assert r.running_mean is None
    # evaluation mode allows a single sample, as PyTorch does
    batchnorm(x[:1], dy[:1], training=False)


def test_one_value_per_feature_is_refused() -> None:
    with pytest.raises(InputError, match="Expected more than 1 value per channel"):
        batchnorm(np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]]))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"gamma": np.ones(3)}, "gamma"),
        ({"beta": np.ones(4)}, "beta"),
        ({"eps": -1.0}, "eps"),
        ({"momentum": 2.0}, "momentum"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], words: str) -> None:
    x = np.arange(6.0).reshape(3, 2)
    with pytest.raises(InputError, match=words):
        batchnorm(x, x, **kwargs)  # type: ignore[arg-type]


def test_shape_mismatch_and_constant_feature() -> None:
    x = np.arange(6.0).reshape(3, 2)
    with pytest.raises(InputError, match="dy has shape 2x3"):
        batchnorm(x, x.T.copy())
    with pytest.raises(InputError, match="constant"):
        batchnorm(np.ones((3, 2)), x, eps=0.0)


def _reference_via_rows(x: np.ndarray, dy: np.ndarray, axis: int) -> np.ndarray:
    """A second method for rank 4: move channels last, flatten to rows, use the 2-D case."""
    xm = np.moveaxis(x, axis, -1)
    dym = np.moveaxis(dy, axis, -1)
    r = batchnorm(xm.reshape(-1, xm.shape[-1]), dym.reshape(-1, xm.shape[-1]))
    return np.moveaxis(r.dx.reshape(xm.shape), -1, axis)


@pytest.mark.parametrize("axis", [1, 3])
def test_rank4_reduces_over_all_but_the_channel(axis: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5))
    dy = rng.standard_normal((2, 3, 4, 5))
    r = batchnorm(x, dy, channel_axis=axis)
    assert r.mean.shape == (x.shape[axis],)
    assert r.m == x.size // x.shape[axis]
    np.testing.assert_allclose(r.dx, _reference_via_rows(x, dy, axis), rtol=1e-12, atol=1e-14)


shapes = st.tuples(st.integers(2, 12), st.integers(1, 5))


@settings(max_examples=60, deadline=None)
@given(
    shapes,
    st.sampled_from([1.0, 1e-3, 1e3]),
    st.sampled_from([0.0, 1e3, -50.0]),
    st.integers(0, 2**31 - 1),
)
def test_identities_and_staged_equals_compact(
    shape: tuple[int, int], scale: float, offset: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = offset + scale * rng.standard_normal(shape)
    dy = rng.standard_normal(shape)
    gamma = rng.uniform(0.5, 2.0, shape[1])
    beta = rng.standard_normal(shape[1])
    r = batchnorm(x, dy, gamma, beta)
    fwd = batchnorm_forward(x, gamma, beta)
    compact = batchnorm_dx_compact(fwd, dy)
    # rounding is relative to the terms summed, dxhat * invstd, not to dx (zero for m = 2),
    # and x = offset + small deviations carries only |offset| * 2^-52 / std of them
    invstd = 1 / np.sqrt(r.var + 1e-5)
    cond = 1e-10 + 8 * np.finfo(float).eps * np.abs(r.mean).max() / np.sqrt(r.var).min()
    tol = cond * shape[0] * (np.abs(r.dxhat * invstd).max() + 1e-300)
    np.testing.assert_allclose(r.dx, compact, rtol=1e-9, atol=tol)
    # docs/formulas.md: per feature, sum dx = 0. Its second identity, sum dx * xhat = 0, holds
    # exactly only for eps = 0; with eps > 0, from the compact form (sum xhat = 0,
    # sum xhat^2 = m var / (var + eps)): sum dx xhat = invstd eps / (var + eps) sum dxhat xhat.
    assert np.all(np.abs(r.dx.sum(0)) <= tol)
    expected = invstd * 1e-5 / (r.var + 1e-5) * (r.dxhat * r.xhat).sum(0)
    assert np.all(np.abs((r.dx * r.xhat).sum(0) - expected) <= tol * (1 + np.abs(r.xhat).max()))
    r0 = batchnorm(x, dy, gamma, beta, eps=0.0)
    tol0 = cond * shape[0] * (np.abs(r0.dxhat / np.sqrt(r0.var)).max() + 1e-300)
    assert np.all(np.abs((r0.dx * r0.xhat).sum(0)) <= tol0 * (1 + np.abs(r0.xhat).max()))
    # and the forward identities: xhat has mean 0 and y = gamma xhat + beta
    assert np.all(np.abs(r.xhat.mean(0)) <= 1e-9)
    np.testing.assert_allclose(r.y, gamma * r.xhat + beta, rtol=1e-15, atol=1e-15)


def test_staged_equals_compact_well_conditioned() -> None:
    # docs/formulas.md: both forms agree to relative 1e-12 on well-conditioned data.
    rng = np.random.default_rng(3)
    x, dy = rng.standard_normal((64, 8)), rng.standard_normal((64, 8))
    gamma, beta = rng.uniform(0.5, 2, 8), rng.standard_normal(8)
    r = batchnorm(x, dy, gamma, beta)
    compact = batchnorm_dx_compact(batchnorm_forward(x, gamma, beta), dy)
    np.testing.assert_allclose(r.dx, compact, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_passes_on_the_analytic_gradient(training: bool) -> None:
    rng = np.random.default_rng(5)
    x, dy = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    r = batchnorm(x, dy, gamma, beta, training=training)
    check = gradcheck_batchnorm(x, dy, gamma, beta, r, 1e-5, 1)
    assert check.passed
    assert check.checked == 18 + 3 + 3
    assert check.max_abs_error < 1e-7


def test_gradcheck_fails_on_a_wrong_gradient() -> None:
    from dataclasses import replace

    rng = np.random.default_rng(6)
    x, dy = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    gamma, beta = np.ones(3), np.zeros(3)
    r = batchnorm(x, dy, gamma, beta)
    # the source document's sign slip in dl/dx_i (-1/sqrt in the first term)
    wrong = replace(r, dx=r.dx - 2 * r.dxhat / np.sqrt(r.var + 1e-5))
    check = gradcheck_batchnorm(x, dy, gamma, beta, wrong, 1e-5, 1)
    assert not check.passed
    assert check.worst[0].name == "dx"
    assert not check.worst[0].passed


def test_gradcheck_samples_large_inputs() -> None:
    rng = np.random.default_rng(8)
    x, dy = rng.standard_normal((500, 4)), rng.standard_normal((500, 4))
    r = batchnorm(x, dy)
    check = gradcheck_batchnorm(x, dy, np.ones(4), np.zeros(4), r, 1e-5, 1, max_entries=50)
    assert check.passed
    assert check.checked == 50 + 4 + 4
    assert check.total == 2000 + 4 + 4


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, axis", [((37, 5), 1), ((11, 3, 2, 4), 1), ((9, 2, 3, 4), 3)])
def test_blocks_merge_to_the_whole_batch(shape: tuple[int, ...], axis: int, training: bool) -> None:
    # Chan's pairwise merge of block moments must give what the batch gives as one block,
    # and every per-sample output, computed block by block, the same rows (1e-12 relative)
    from hw3cli.core.batchnorm import moments, per_sample, setup, statistics

    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, size=shape) + 1e3  # an offset that naive sums would feel
    dy = rng.normal(size=shape)
    c = shape[axis]
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    s = setup(
        x.shape,
        dy.shape,
        gamma,
        beta,
        channel_axis=axis,
        training=training,
        running_mean=rng.normal(size=c),
        running_var=rng.uniform(0.5, 2.0, size=c),
    )
    whole = statistics(s, moments([(x, dy)], axis))
    cuts = sorted({0, 1, 4, 5, shape[0] // 2, shape[0]})
    blocks = [(x[a:b], dy[a:b]) for a, b in pairwise(cuts)]
    streamed = statistics(s, moments(blocks, axis))
    for name in ("mean", "var", "dvar", "dmu", "dgamma", "dbeta"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(whole, name), rtol=1e-12)
    for name in ("xhat", "y", "dxhat", "dx"):
        rows = np.concatenate([per_sample(streamed, name, xb, dyb) for xb, dyb in blocks])
        expected = per_sample(whole, name, x, dy)
        scale = 1e-12 * np.abs(expected).max()  # relative to the largest entry
        np.testing.assert_allclose(rows, expected, rtol=1e-12, atol=scale)


def test_overflowing_outputs_are_refused_before_any_is_written() -> None:
    # xhat = -1, 1 and y = 1e308 xhat + 1e308 = 0, 2e308: every per-feature result is
    # finite (dy = 0), the bound on |y| is not, so every block is looked at, and y is inf
    from hw3cli.core.batchnorm import check_outputs, moments, setup, statistics

    x = np.array([[0.0], [1.0]])
    dy = np.zeros_like(x)
    s = setup(x.shape, dy.shape, np.array([1e308]), np.array([1e308]), eps=0.0)
    stats = statistics(s, moments([(x, dy)], 1))
    assert not stats.outputs_finite
    with pytest.raises(InputError, match="y overflows float64"):
        check_outputs(stats, [(x, dy)])
