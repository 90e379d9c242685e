"""``python -m sayedcnn check``: random architectures through every implementation."""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sayedcnn.fused as fused
from sayedcnn import Conv, Network
from sayedcnn.app.cli import main
from sayedcnn.app.commands.check import (
    four_way,
    random_network,
    rel_diff,
    sample_entries,
    sampled_numerical_gradient,
)
from sayedcnn.losses import one_hot


def test_check_few_trials_agree(capsys):
    """Three random architectures: exit status 0, one table row per trial, every column
    (forward, fused, loops, finite differences) filled and within tolerance."""
    assert main(["check", "--trials", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+) .* (yes|NO)$", out, flags=re.M)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert all(r[1] == "yes" for r in rows)
    assert "skip" not in out
    assert "all 3 trials agree" in out


def test_check_exits_nonzero_on_disagreement(capsys, monkeypatch):
    """A fused path whose derivatives are off by 0.1% is caught: exit status 1."""
    real = fused.gradients_fused

    def skewed(*a, **k):
        g = real(*a, **k)
        return g * 1.001 if not isinstance(g, tuple) else (g[0] * 1.001, *g[1:])

    monkeypatch.setattr(fused, "gradients_fused", skewed)
    assert main(["check", "--trials", "2", "--seed", "0", "--no-fd"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREEMENT in 2 of 2 trials" in out


def test_check_rejects_zero_trials(capsys):
    """--trials 0 is a usage error (exit status 2)."""
    assert main(["check", "--trials", "0"]) == 2
    assert "--trials" in capsys.readouterr().err


def test_random_network_is_deterministic_and_varied():
    """The same seed draws the same architectures; several draws differ in C and loss."""
    a = [random_network(np.random.default_rng(7)).sizes() for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(3)
    nets = [random_network(rng) for _ in range(12)]
    assert len({n.C for n in nets}) > 1
    assert len({n.loss.name for n in nets}) == 2


def test_rel_diff_scale_and_floor():
    """rel_diff = max over arrays of ||a-b||_inf / max(||a||_inf, ||b||_inf, floor)."""
    net = Network((4, 4), conv=[Conv(1, 2, pool=None)], hidden=[], outputs=2)
    a = net.init(0)
    b = a.copy()
    assert rel_diff(a, b) == 0.0
    b.W_ff[1] = a.W_ff[1] * 1.5
    assert_allclose(rel_diff(a, b), 0.5 / 1.5, rtol=1e-14)
    zero = a.map(np.zeros_like)
    tiny = zero.copy()
    tiny.theta_ff[1] = tiny.theta_ff[1] + 1e-30
    tiny.W_ff[1] = tiny.W_ff[1] + 1.0
    # theta_ff differs by 1e-30 where the other arrays reach 1: the floor 1e-8 keeps it small
    assert rel_diff(zero, tiny) == 1.0  # from W_ff, not from the 1e-30 entries
    zero.W_ff[1] = zero.W_ff[1] + 1.0
    assert_allclose(rel_diff(zero, tiny), 1e-30 / 1e-8, rtol=1e-12)


def test_sampled_numerical_gradient_of_a_quadratic():
    """For J = sum of p^3 over every entry, dJ/dp = 3 p^2 at each sampled entry (a cubic is
    differentiated exactly by the 5-point stencil up to rounding)."""
    net = Network((4, 4), conv=[Conv(2, 2, pool=("max", (2, 2)))], hidden=[3], outputs=2)
    p = net.init(1, bias_scale=1.0)
    fun = lambda q: float(np.sum(q.to_vector() ** 3))
    entries = sample_entries(p, 12, np.random.default_rng(0))
    est = sampled_numerical_gradient(fun, p, entries, h=1e-3)
    want = [3 * getattr(p, g)[k].reshape(-1)[i] ** 2 for g, k, i in entries]
    assert_allclose(est, want, rtol=1e-7, atol=1e-8)


def test_sample_entries_are_distinct_and_in_range():
    """Entries are distinct (group, key, flat index) triples inside their arrays."""
    net = Network((5, 5), conv=[Conv(2, 3, pool=None)], hidden=[4], outputs=3)
    p = net.init(0)
    entries = sample_entries(p, 40, np.random.default_rng(2))
    assert len(set(entries)) == 40
    for g, k, i in entries:
        assert 0 <= i < getattr(p, g)[k].size
    total = p.to_vector().size
    assert len(sample_entries(p, 10 * total, np.random.default_rng(0))) == total


def test_four_way_on_a_book_style_network():
    """Listing (47.1275), fused, loops and finite differences agree on a C = 2 network with
    max pooling and sigmoid outputs under the quadratic risk (47.1229) with rho_1, rho_2."""
    net = Network((6, 6), conv=[Conv(2, 3, activation="tanh", pool=("max", (2, 2))),
                                Conv(3, 2, activation="tanh")], hidden=[4], outputs=3)
    p = net.init(4, bias_scale=0.3)
    rng = np.random.default_rng(4)
    X = rng.random((2, 1, 6, 6))
    G = one_hot(rng.integers(0, 3, 2), 3)
    res = four_way(net, p, X, G, rho1=0.01, rho2=0.02, n_fd=20, seed=1)
    assert res["fused"] < 1e-12
    assert res["loops"] < 1e-12
    assert res["fd"] < 1e-6
    assert res["fd_entries"] == 20
    assert set(res["grads"]) == {"listing", "fused", "loops"}


@pytest.mark.parametrize("seed", [0, 5])
def test_four_way_full_finite_differences(seed):
    """With full_fd every entry is differenced (reference.finite_diff) and agrees."""
    net = random_network(np.random.default_rng(seed))
    p = net.init(seed, bias_scale=0.5)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (2, net.input_depth, *net.input_shape))
    G = one_hot(rng.integers(0, net.Q, 2), net.Q)
    res = four_way(net, p, X, G, full_fd=True)
    assert res["fd_entries"] == p.to_vector().size
    assert res["fd"] < 1e-5 and res["loops"] < 1e-9 and res["fused"] < 1e-9
