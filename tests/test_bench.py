"""The benchmark (``python -m sayedcnn bench``) on tiny sizes: the structure of its results,
the torch check, and the quantities it reports. No timing is asserted."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn.app import bench
from sayedcnn.app.cli import main
from sayedcnn.forward import forward_listing
from sayedcnn.fused import forward_fused

TINY = dict(workloads=("W1", "W2"), batches=(1, 2), side=12, repeats=2, budget=1e-3,
            matmul=False, scaling_kw=dict(sides=(8, 16), depths=(1, 2), depth_side=8, N=2,
                                          repeats=1, budget=1e-3))


@pytest.fixture(scope="module")
def tiny_run():
    return bench.run(**TINY)


def test_run_structure(tiny_run):
    """Every cell times fused (and torch when installed), the listing and the loops only at
    the slow batch sizes; ratios, targets and scaling rows are all present."""
    res = tiny_run
    have_torch = bench._have_torch()
    assert set(res) >= {"machine", "settings", "workloads", "cells", "ratios", "targets",
                        "scaling"}
    assert res["machine"]["cores"] >= 1 and "blas" in res["machine"]
    for name in ("W1", "W2"):
        assert set(res["cells"][name]) == {"1", "2"}
        for N, cell in res["cells"][name].items():
            want = {"fused", "gemm"} | ({"torch"} if have_torch else set())
            if N == "1":
                want |= {"listing", "loops"}
            assert set(cell["times"]) == want
            assert all(t > 0 for t in cell["times"].values())
            assert all(1 <= r <= 2 for r in cell["repeats"].values())
            assert cell["flops"] == bench.gradient_flops(bench.workload(name, 12), int(N))
            assert cell["gemm_flops"] == cell["flops"]  # the same products, timed alone
            assert set(cell["peak_bytes"]) == want - {"torch", "gemm"}
            assert all(b > 0 for b in cell["peak_bytes"].values())
        r1 = res["ratios"][name]["1"]
        assert r1["listing/fused"] > 0 and r1["loops/fused"] > 0 and r1["fused/gemm"] > 0
        assert res["ratios"][name]["2"]["listing/fused"] is None
        assert (r1["fused/torch"] is not None) == have_torch
    assert [(t["ratio"], t["workload"], t["N"], t["bound"]) for t in res["targets"]] == \
        [tuple(t) for t in bench.TARGETS]
    for t in res["targets"]:
        assert t["met"] is None or t["met"] == (t["value"] <= t["bound"])
    rows = res["scaling"]["rows"]
    assert [(r["series"], r["side"], r["depth"]) for r in rows] == \
        [("side", 8, 1), ("side", 16, 1), ("depth", 8, 1), ("depth", 8, 2)]
    assert all(r["seconds_per_sample"] > 0 for r in rows)
    assert np.isfinite(res["scaling"]["exponent_work"])


def test_report_and_json(tiny_run):
    """The printed report names every workload, ratio and target; the JSON form loads back."""
    text = bench.format_report(tiny_run)
    for word in ("W1", "W2", "fused/torch", "listing/fused", "loops/fused", "targets:",
                 "fitted exponent", "peak MiB"):
        assert word in text
    back = json.loads(json.dumps(bench.to_json(tiny_run)))
    assert back["cells"]["W1"]["1"]["N"] == 1


def test_torch_gradients_checked_equal(tiny_run):
    """PyTorch's derivatives of J_emp (47.1229), converted to the book's shapes, equal the
    fused ones before they are timed."""
    pytest.importorskip("torch")
    for name in ("W1", "W2"):
        for cell in tiny_run["cells"][name].values():
            assert cell["torch_check"] <= bench.TORCH_TOL
            assert cell["torch_threads"] >= 1


def test_torch_gradient_matches_fused_on_connection_table():
    """torch_gradient on a network with a connection table (47.1213), even masks and a
    stride: the book-shaped derivatives agree with the fused path to rounding."""
    pytest.importorskip("torch")
    from sayedcnn import Conv, Network
    from sayedcnn.fused import gradients_fused

    net = Network((9, 8), 2, [Conv(3, (2, 3), padding="same", stride=(1, 2), pool=("max", 2)),
                              Conv(2, 2, padding=1, activation="relu",
                                   connections=[[0, 2], [1]])],
                  hidden=[4], outputs=3)
    rng = np.random.default_rng(3)
    p = net.init(3, bias_scale=0.3)
    X = rng.standard_normal((2, 2, 9, 8))
    G = rng.standard_normal((2, 3))
    fn, g = bench.torch_gradient(net, p, X, G, 0.1, 0.2)
    assert len(fn()) == 2 * net.C + 2 * (net.L - 1)  # a weight and a bias per layer
    assert gradients_fused(net, p, X, G, 0.1, 0.2).max_rel_diff(g) <= 1e-12


def test_work_is_sum_P_S_D_D():
    """work = sum_c P_c S_c D_{c-1} D_c: W1 is 24*24 * 25 * 1 * 20; W2 is 28*28 * 25 * 1 * 6
    + 14*14 * 25 * 6 * 16."""
    assert bench.work(bench.workload("W1")) == 576 * 25 * 20
    assert bench.work(bench.workload("W2")) == 784 * 25 * 6 + 196 * 25 * 6 * 16
    assert bench.work(bench.workload("W2", 32, depth=2)) == \
        1024 * 25 * 12 + 256 * 25 * 12 * 32


def test_gradient_flops_counts_three_products_per_layer():
    """Per conv layer 2 N P S D_in D for z and for (47.1271), plus (47.1258) for c > 1; per
    FF layer 3 x 2 N n_{l+1} n_l."""
    net = bench.workload("W2", 8)
    N = 3
    conv = 2 * N * (64 * 25 * 1 * 6 * 2 + 16 * 25 * 6 * 16 * 3)
    ff = 3 * 2 * N * (16 * 4 * 64 + 64 * 10)
    assert bench.gradient_flops(net, N) == conv + ff


def test_fit_exponent_recovers_power_law():
    """y = 3 x^a gives slope a on log-log axes."""
    x = np.array([16.0, 32.0, 64.0, 128.0])
    assert_allclose(bench.fit_exponent(x, 3 * x**2), 2.0, rtol=1e-12)
    assert_allclose(bench.fit_exponent(x, 0.5 * x**1.5), 1.5, rtol=1e-12)
    assert np.isnan(bench.fit_exponent([2.0, 2.0], [1.0, 3.0]))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="workload must be one of"):
        bench.workload("W3")
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        bench.workload("W1", depth=0)
    with pytest.raises(ValueError, match="method must be one of"):
        bench.bench_cell(bench.workload("W1", 12), 1, methods=("fast",), repeats=1)


def test_time_interleaved_runs_every_method_in_rounds():
    """After one warm-up call each, every round runs each method for a block of timed
    calls, preceded by one untimed settling call for fast methods."""
    calls = []
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    times = bench.time_interleaved(fns, repeats=3)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3
    assert [len(t) for t in times.values()] == [3, 3]
    calls.clear()
    times = bench.time_interleaved(fns, repeats=3, block=2, settle=0.0)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] + ["a", "b"]
    assert [len(t) for t in times.values()] == [3, 3]


def test_eq_47_1225_fused_patch_rows_rebuild_H():
    """FusedForward.H(c, n) rebuilds H_{n,c-1} = col{H_n^(1,c-1), ..., H_n^(D,c-1)} (47.1225)
    of the forward listing from the fused patch rows."""
    from sayedcnn import Conv, Network

    net = Network((7, 6), 2, [Conv(3, (3, 2), pool=("max", 2)),
                              Conv(2, (2, 2), padding=1, stride=(1, 2), activation="relu",
                                   pool=("l2", (2, 1)), connections=[[0, 2], [1]])],
                  hidden=[5], outputs=3)
    p = net.init(0, bias_scale=0.3)
    X = np.random.default_rng(0).standard_normal((2, 2, 7, 6))
    fw = forward_fused(net, p, X)
    for n in range(2):
        res = forward_listing(net, p, X[n])
        for c in (1, 2):
            assert_allclose(fw.H(c, n), res.H_stacked[c - 1], rtol=1e-13, atol=1e-15)


def test_cli_bench_json(capsys):
    """python -m sayedcnn bench --json prints the results; a bad side exits 2."""
    code = main(["bench", "--json", "--side", "12", "--batches", "1", "--repeats", "1",
                 "--budget", "0.001", "--no-scaling", "--no-matmul", "--no-loops",
                 "--no-memory", "--threads", "1", "--workloads", "W1"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["cells"]["W1"]["1"]["times"]) >= {"fused", "listing"}
    assert "loops" not in res["cells"]["W1"]["1"]["times"]
    assert main(["bench", "--side", "3", "--no-scaling", "--workloads", "W1"]) == 2


def test_gemm_products_are_the_engines_products():
    """The GEMM bound times the products of one engine derivative: the shapes of z (47.1216),
    (47.1271), Delta W_c^T of (47.1258) and the three feedforward products, whose flops are
    gradient_flops."""
    net = bench.workload("W2", 8)
    for N in (1, 3):
        prods = bench.gemm_products(net, N)
        shapes = {label: (A.shape, B.shape) for label, A, B in prods}
        ly1, ly2 = net.layers
        assert shapes["z1"] == ((N * ly1.P, ly1.S), (ly1.S, ly1.D))
        assert shapes["dW2"] == ((ly2.S * ly2.D_in, N * ly2.P), (N * ly2.P, ly2.D))
        assert shapes["back2"] == ((N * ly2.P, ly2.D), (ly2.D, ly2.S * ly2.D_in))
        assert "back1" not in shapes
        assert bench._gemm_flops(prods) == bench.gradient_flops(net, N)


def test_profile_cell_and_report():
    """bench --profile: every kind of work is reported, the clock readings are counted, the
    plain call and the GEMM bound are timed alongside."""
    res = bench.profile(workloads=("W2",), batches=(1, 2), side=8, repeats=2, budget=1e-3,
                        threads=1)
    assert res["settings"]["threads"] == 1
    for N in ("1", "2"):
        p = res["profiles"]["W2"][N]
        assert set(p["kinds"]) == set(bench.PROFILE_KINDS)
        assert p["kinds"]["gemm"] > 0 and p["kinds"]["scatter"] > 0
        assert p["profiled"] > 0 and p["total"] > 0 and p["gemm_bound"] > 0
        assert p["laps"] > 10 and p["repeats"] >= 2
    text = bench.format_profile(res)
    for word in ("W2 N=1", "W2 N=2", "pool backward", "GEMM bound", "OPENBLAS_CORETYPE=",
                 "OPENBLAS_L2_SIZE=", "kernel"):
        assert word in text


def test_torch_trainer_steps_like_sgd_on_the_book_parameters():
    """Plain SGD (47.1276) in torch with the bias step mu |D_d| moves the parameters as the
    engine's step on Theta_c does, with a connection table (47.1213) whose maps have 1 and 2
    inputs; with the plain step mu the biases would differ."""
    pytest.importorskip("torch")
    import torch

    from sayedcnn import Conv, Network
    from sayedcnn.fused import gradients_fused
    from sayedcnn.interop.torch import params_from_torch, to_torch

    net = Network((6, 6), 1, [Conv(3, 3, padding="same", activation="relu", pool=("max", 2)),
                              Conv(2, 2, padding="same", connections=[[0, 2], [1]])],
                  hidden=[4], outputs=3, output_activation="softmax", loss="cross_entropy")
    p = net.init(4, bias_scale=0.3)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 1, 6, 6))
    G = np.eye(3)[[0, 2, 1]]
    step, get = bench._torch_trainer(net, p, 0.2)
    q = p
    for _ in range(2):
        step(torch.tensor(X), torch.tensor(G))
        q = q.map(lambda a, ga: a - 0.2 * ga, gradients_fused(net, q, X, G))
    want = params_from_torch(net, to_torch(net, q))
    assert get().max_rel_diff(want) <= 1e-12
    assert want.Theta_conv[2][0, 0] != 0.0 and net.layers[1].conn.sum(axis=0).tolist() == [2, 1]


def test_train_bench_checks_parameters():
    """bench --train on a few images: the parameters agree after the checked steps, both
    epochs are timed and the ratio is reported against the target."""
    have_torch = bench._have_torch()
    res = bench.train_bench(epochs=1, n_train=40, check_steps=2, threads=1)
    assert res["settings"]["steps_per_epoch"] == 2 and res["settings"]["N_train"] == 40
    assert set(res["times"]) == ({"engine", "torch"} if have_torch else {"engine"})
    if have_torch:
        assert res["param_check"] <= bench.TORCH_TOL and res["check_steps"] == 2
        assert res["ratio"] > 0 and res["met"] == (res["ratio"] <= bench.TRAIN_TARGET)
    text = bench.format_train(res)
    assert "per epoch" in text and "OPENBLAS_CORETYPE=" in text


def test_cli_bench_profile_and_train_json(capsys):
    """python -m sayedcnn bench --profile / --train print JSON; bad values exit 2."""
    assert main(["bench", "--profile", "--json", "--side", "8", "--batches", "1",
                 "--repeats", "1", "--budget", "0.001", "--workloads", "W1",
                 "--threads", "1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["profiles"]["W1"]["1"]["kinds"]) == set(bench.PROFILE_KINDS)
    assert main(["bench", "--train", "--epochs", "0"]) == 2
    assert main(["bench", "--profile", "--threads", "0", "--side", "8"]) == 2
