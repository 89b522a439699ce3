"""Softmax and cross-entropy (docs/formulas.md section 4): hand-worked cases and properties."""

from __future__ import annotations

from math import log

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw3cli.core import softmax as sm
from hw3cli.core.softmax import (
    Targets,
    cross_entropy,
    gradcheck_cross_entropy,
    log_softmax,
    softmax,
    softmax_jacobian,
)
from hw3cli.errors import InputError


def idx(*labels: int) -> Targets:
    return Targets(indices=np.array(labels, dtype=np.int64))


def test_source_binary_case_by_hand() -> None:
    # The source document's binary case: z = [ln 3, 0], target 0 -> p = [3/4, 1/4],
    # L = -ln(3/4), dL/dz_t = p_t - 1 = -1/4 and dL/dz_j = p_j = 1/4.
    r = cross_entropy(np.array([[log(3.0), 0.0]]), idx(0))
    np.testing.assert_allclose(r.probs, [[0.75, 0.25]], rtol=1e-15)
    assert r.loss == pytest.approx(-log(0.75), rel=1e-15)
    np.testing.assert_allclose(r.grad, [[-0.25, 0.25]], rtol=1e-14)
    # "similar for y_t = 0": the same gradient is p - y with y = [0, 1]
    r1 = cross_entropy(np.array([[log(3.0), 0.0]]), idx(1))
    np.testing.assert_allclose(r1.grad, [[0.75, -0.75]], rtol=1e-14)


def test_huge_logits_are_finite_and_exact() -> None:
    # docs/formulas.md: logits of 1e4 must give finite, exact answers. By hand: with
    # z = [1e4, 0, -1e4], p = [1, e^-1e4, e^-2e4] = [1, 0, 0] in float64.
    z = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]])
    r = cross_entropy(z, idx(0, 1), reduction="none")
    assert np.isfinite(r.probs).all() and np.isfinite(r.grad).all()
    np.testing.assert_array_equal(r.probs, [[1.0, 0.0, 0.0]] * 2)
    np.testing.assert_array_equal(r.losses, [0.0, 1e4])  # -log p_1 = 1e4 + log(1 + ...) = 1e4
    np.testing.assert_array_equal(r.grad, [[0.0, 0.0, 0.0], [1.0, -1.0, 0.0]])


def test_label_smoothing_by_hand() -> None:
    # z = [0, 0], target 0, e = 0.2: t' = 0.8 [1, 0] + 0.2 / 2 = [0.9, 0.1]; p = [0.5, 0.5];
    # loss = -(0.9 + 0.1) log 0.5 = log 2; grad = p - t' = [-0.4, 0.4].
    r = cross_entropy(np.zeros((1, 2)), idx(0), label_smoothing=0.2)
    np.testing.assert_allclose(r.smoothed, [[0.9, 0.1]], rtol=1e-15)
    assert r.loss == pytest.approx(log(2), rel=1e-15)
    np.testing.assert_allclose(r.grad, [[-0.4, 0.4]], rtol=1e-14)


def test_weights_and_weighted_mean_by_hand() -> None:
    # Two rows z = [0, 0], targets 0 and 1, w = [2, 1]:
    # l_0 = -2 log 0.5 = 2 log 2, l_1 = log 2; grad_0 = 2 p - [2, 0] = [-1, 1],
    # grad_1 = 1 p - [0, 1] = [0.5, -0.5]. PyTorch's mean divides by w_0 + w_1 = 3.
    z = np.zeros((2, 2))
    w = np.array([2.0, 1.0])
    r = cross_entropy(z, idx(0, 1), weight=w, reduction="none")
    np.testing.assert_allclose(r.losses, [2 * log(2), log(2)], rtol=1e-15)
    np.testing.assert_allclose(r.grad, [[-1.0, 1.0], [0.5, -0.5]], rtol=1e-15)
    mean = cross_entropy(z, idx(0, 1), weight=w, reduction="mean")
    assert mean.denominator == 3.0
    assert mean.loss == pytest.approx(log(2), rel=1e-15)
    np.testing.assert_allclose(mean.grad, r.grad / 3, rtol=1e-15)


def test_ignore_index_zero_row_and_out_of_the_mean() -> None:
    z = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.0], [3.0, 0.0, 1.0]])
    r = cross_entropy(z, idx(2, 1, 0), ignore_index=1, reduction="mean")
    assert r.ignored.tolist() == [False, True, False]
    np.testing.assert_array_equal(r.grad[1], [0.0, 0.0, 0.0])
    assert r.losses[1] == 0.0
    assert r.denominator == 2.0
    full = cross_entropy(z[[0, 2]], idx(2, 0), reduction="mean")
    assert r.loss == pytest.approx(full.loss, rel=1e-15)


def test_pytorch_default_ignore_index_is_minus_100() -> None:
    r = cross_entropy(np.zeros((2, 3)), idx(-100, 1), reduction="mean")
    assert r.ignored.tolist() == [True, False]
    assert r.denominator == 1.0


def test_probability_targets_mean_divides_by_n() -> None:
    z = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[0.25, 0.75], [1.0, 0.0]])
    r = cross_entropy(z, Targets(probs=y), reduction="mean")
    assert r.denominator == 2.0
    np.testing.assert_allclose(r.grad, (softmax(z) - y) / 2, rtol=1e-14)


def test_rows_not_summing_to_one_warn_and_use_the_general_formula() -> None:
    z = np.array([[0.0, 0.0]])
    r = cross_entropy(z, Targets(probs=np.array([[1.0, 1.0]])))
    assert r.warnings and "does not sum to 1" in r.warnings[0]
    # (sum_c t_c) p - t = 2 [0.5, 0.5] - [1, 1] = [0, 0]
    np.testing.assert_allclose(r.grad, [[0.0, 0.0]], atol=1e-16)


def test_jacobian() -> None:
    # p = [0.5, 0.5]: J = diag(p) - p p^T = [[0.25, -0.25], [-0.25, 0.25]]
    j = softmax_jacobian(np.array([[0.5, 0.5]]))
    np.testing.assert_allclose(j, [[[0.25, -0.25], [-0.25, 0.25]]], rtol=1e-15)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 2**31 - 1))
def test_jacobian_chain_rule_gives_p_minus_y(n: int, k: int, seed: int) -> None:
    # dL/dz = J^T dL/dp with dL/dp = -y / p: a second method for the gradient.
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=(n, k))
    labels = rng.integers(0, k, n)
    r = cross_entropy(z, Targets(indices=labels), reduction="none")
    y = np.eye(k)[labels]
    via_jacobian = np.einsum("nij,ni->nj", softmax_jacobian(r.probs), -y / r.probs)
    np.testing.assert_allclose(r.grad, via_jacobian, rtol=1e-9, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(2, 7),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.0, 1.0, 1e3]),
)
def test_rows_sum_to_zero_and_shift_invariance(n: int, k: int, seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=5.0, size=(n, k))
    probs = rng.dirichlet(np.ones(k), n)
    for targets in (Targets(indices=rng.integers(0, k, n)), Targets(probs=probs)):
        r = cross_entropy(z, targets, label_smoothing=0.1)
        np.testing.assert_allclose(r.grad.sum(axis=1), 0.0, atol=1e-12)
        shifted = cross_entropy(z + shift, targets, label_smoothing=0.1)
        np.testing.assert_allclose(shifted.grad, r.grad, rtol=1e-9, atol=1e-12)
        assert shifted.loss == pytest.approx(r.loss, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(z)).sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_gradcheck_agrees(reduction: str, smoothing: float) -> None:
    rng = np.random.default_rng(11)
    z = rng.normal(size=(5, 4))
    w = rng.uniform(0.5, 2.0, 4)
    targets = idx(0, 3, 1, 2, 1)
    r = cross_entropy(
        z,
        targets,
        weight=w,
        ignore_index=2,
        label_smoothing=smoothing,
        reduction=reduction,  # type: ignore[arg-type]
    )
    check = gradcheck_cross_entropy(
        z, targets, r, weight=w, ignore_index=2, label_smoothing=smoothing
    )
    assert check.passed
    assert check.checked == 20


def test_gradcheck_catches_a_wrong_gradient() -> None:
    from dataclasses import replace

    z = np.array([[1.0, 2.0, 0.5]])
    r = cross_entropy(z, idx(1))
    wrong = replace(r, grad=r.grad * 1.01)
    assert not gradcheck_cross_entropy(z, idx(1), wrong).passed


@pytest.mark.parametrize(
    ("targets", "kwargs", "words"),
    [
        (idx(3), {}, "outside the classes 0 to 2"),
        (idx(-1), {}, "label -1"),
        (idx(0, 1), {}, "2 labels for 1 row"),
        (Targets(probs=np.array([[0.5, 0.5]])), {}, "2 entries but the logits have 3"),
        (Targets(probs=np.array([[0.5, -0.1, 0.6]])), {}, "negative"),
        (idx(0), {"weight": np.ones(2)}, "2 weights for 3 classes"),
        (idx(0), {"weight": np.array([1.0, -1.0, 1.0])}, "negative"),
        (Targets(probs=np.array([[1.0, 0, 0]])), {"ignore_index": 0}, "class-index"),
        (idx(0), {"label_smoothing": 1.5}, "between 0 and 1"),
        (idx(0), {"label_smoothing": -0.1}, "between 0 and 1"),
        (idx(0), {"ignore_index": 0, "reduction": "mean"}, "denominator"),
    ],
)
def test_errors(targets: Targets, kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(InputError, match=words):
        cross_entropy(np.zeros((1, 3)), targets, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=60)
@given(
    st.integers(1, 6),
    st.integers(2, 5),
    st.floats(0.0, 1.0),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_class_indices_equal_their_one_hot_rows(
    n: int, k: int, smoothing: float, weighted: bool, seed: int
) -> None:
    # the index path never builds t'; the general path does, from the one-hot rows of the
    # same labels: both give l_n and dl_n/dz = (sum_c w_c t'_c) p - w t'
    # (docs/formulas.md section 4)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 3
    labels = rng.integers(0, k, size=n)
    w = rng.uniform(0.0, 2.0, size=k) if weighted else None
    by_index = cross_entropy(z, idx(*labels), weight=w, label_smoothing=smoothing, reduction="none")
    one_hot = np.eye(k)[labels]
    by_rows = cross_entropy(
        z, Targets(probs=one_hot), weight=w, label_smoothing=smoothing, reduction="none"
    )
    np.testing.assert_allclose(by_index.grad, by_rows.grad, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(by_index.losses, by_rows.losses, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(by_index.smoothed, by_rows.smoothed, rtol=0, atol=0)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("kind", ["indices", "probs"])
def test_row_losses_are_the_losses_of_rows(kind: str, reduction: str, smoothing: float) -> None:
    """The first pass of a streamed batch computes the losses alone: the same numbers."""
    from hw3cli.core.softmax import row_losses, rows, setup

    rng = np.random.default_rng(4)
    z = rng.normal(size=(9, 4)) * 5
    if kind == "indices":
        targets = Targets(indices=np.array([0, 3, -100, 1, 2, 2, 0, 1, 3]))
    else:
        raw = rng.random((9, 4))
        targets = Targets(probs=raw / raw.sum(axis=1, keepdims=True))
    s = setup(
        9,
        4,
        targets,
        weight=np.array([1.0, 2.0, 0.5, 0.0]),
        label_smoothing=smoothing,
        reduction=reduction,  # type: ignore[arg-type]
    )
    np.testing.assert_array_equal(row_losses(s, z[3:], 3), rows(s, z[3:], 3).losses)


def test_row_losses_refuse_what_rows_refuse() -> None:
    from hw3cli.core.softmax import refuse_overflow, row_losses, rows, setup

    s = setup(2, 2, Targets(indices=np.array([0, 1])), weight=np.array([1e308, 1e308]))
    z = np.array([[0.0, 1.0], [2.0, -1.0]])
    with pytest.raises(InputError, match="overflows float64"):
        refuse_overflow(s, rows(s, z))
    with pytest.raises(InputError, match="overflows float64"):
        row_losses(s, z)
    # a bound beyond float64 alone is no overflow: the rows themselves are looked at
    fine = setup(2, 2, Targets(indices=np.array([0, 1])), weight=np.array([1e308, 1.0]))
    np.testing.assert_array_equal(row_losses(fine, z[1:], 1), rows(fine, z[1:], 1).losses)


# --- the pass that writes dL/dz alone ----------------------------------------------------


logit_rows = st.integers(1, 6).flatmap(
    lambda k: st.lists(
        st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=k, max_size=k),
        min_size=1,
        max_size=5,
    )
)


def _setup(z: np.ndarray, seed: int, **options: object) -> sm.CrossEntropySetup:
    n, k = z.shape
    labels = np.random.default_rng(seed).integers(0, k, n)
    return sm.setup(n, k, sm.Targets(indices=labels), **options)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    logit_rows,
    st.integers(0, 9),
    st.sampled_from(["none", "sum", "mean"]),
    st.sampled_from([0.0, 0.1]),
    st.booleans(),
)
def test_dl_dz_alone_is_the_rows_value_float_for_float(
    rows: list[list[float]], seed: int, reduction: str, smoothing: float, weighted: bool
) -> None:
    z = np.array(rows)
    weight = np.arange(1.0, z.shape[1] + 1) if weighted else None
    s = _setup(z, seed, reduction=reduction, label_smoothing=smoothing, weight=weight)
    whole = sm.rows(s, z)
    assert np.array_equal(sm.row_grads(s, z), whole.grad)
    assert np.array_equal(sm.softmax(z), whole.probs)


@settings(max_examples=60, deadline=None)
@given(logit_rows, st.integers(0, 9), st.floats(1.0, 1e300), st.sampled_from(["sum", "mean"]))
def test_a_range_that_shows_every_loss_finite_is_right(
    rows: list[list[float]], seed: int, scale: float, reduction: str
) -> None:
    """Where the logits' range says every loss and their reduction are finite, they are."""
    z = np.array(rows) * scale
    if not np.isfinite(z).all():  # (a logit beyond float64: refused when read)
        return
    s = _setup(z, seed, reduction=reduction, weight=np.full(z.shape[1], 1e3))
    spread = float(z.max()) - float(z.min())
    if sm.finite_for_spread(s, spread):
        losses = sm.rows(s, z).losses
        assert np.isfinite(losses).all()
        assert np.isfinite(sm.reduced_loss(s, losses))


def test_the_range_decides_only_where_it_can() -> None:
    z = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    s = _setup(z, 0, reduction="sum")
    assert sm.finite_for_spread(s, 4.0)
    # logits 1e308 apart: log p can be -inf; the losses must be computed to tell
    assert not sm.finite_for_spread(s, float("inf"))
    # weights near 1e308: a loss of a few units times the weight overflows
    heavy = _setup(z, 0, reduction="sum", weight=np.full(3, 1e308))
    assert not sm.finite_for_spread(heavy, 4.0)
    # probability targets are not bounded by the range
    probs = sm.setup(2, 3, sm.Targets(probs=np.full((2, 3), 1 / 3)))
    assert not sm.finite_for_spread(probs, 4.0)
