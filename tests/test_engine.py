"""The engine's work space (sayedcnn.fused.Engine): buffers reused across calls and batch
sizes, its clock, and the numbers staying those of the listing (47.1275) throughout."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sayedcnn as sc
from sayedcnn import fused
from sayedcnn.app import bench
from sayedcnn.fused import Engine, gradients_fused
from sayedcnn.reference import loops
from sayedcnn.training import gradients_listing


def _padded_net():
    """'same' padding at both layers (the zero-padded buffers), one input map at layer 1
    (patch rows copied in Fortran order) and three at layer 2, the logistic function and
    tanh (written into buffers), a layer without pooling (t is y)."""
    return sc.Network((8, 7), 1,
                      [sc.Conv(3, 3, padding="same", activation="sigmoid", pool=("max", 2)),
                       sc.Conv(2, (2, 3), padding="same", activation="tanh")],
                      hidden=[4], outputs=3)


def _problem(net, N, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, net.input_depth, *net.input_shape))
    Gamma = rng.standard_normal((N, net.Q))
    return X, Gamma


def test_eq_47_1275_work_space_reused_across_batch_sizes():
    """One engine over seven calls at six batch sizes (the scatter cache evicts): every
    result equals the listing to 1e-12 and a call with a fresh engine to rounding."""
    net = _padded_net()
    p = net.init(seed=5, bias_scale=0.3)
    engine = Engine(net)
    for k, N in enumerate((3, 1, 5, 3, 2, 6, 1)):
        X, Gamma = _problem(net, N, 100 + k)
        g = gradients_fused(net, p, X, Gamma, engine=engine)
        assert g.max_rel_diff(gradients_listing(net, p, X, Gamma)) <= 1e-12
        assert g.max_rel_diff(gradients_fused(net, p, X, Gamma)) <= 1e-14
    assert len(engine._scatter) == 4


def test_eq_47_1129_padding_stays_zero_when_buffers_hold_garbage():
    """Every buffer but the zero-padded maps filled with NaN between calls: the next call
    overwrites what it reads, and the padding of (47.1129) is still zero after use."""
    net = _padded_net()
    p = net.init(seed=6, bias_scale=0.3)
    engine = Engine(net)
    X, Gamma = _problem(net, 4, 7)
    gradients_fused(net, p, X, Gamma, engine=engine)
    assert any(k[0] == "padded" for k in engine._work)
    for key, a in engine._work.items():
        if key[0] == "padded":
            ly = net.layers[key[1] - 1]
            (pr, pc), _ = ly.partition.pad_before, ly.partition.pad_after
            rows, cols = ly.in_shape
            inner = np.zeros(a.shape, dtype=bool)
            inner[:, pc:pc + cols, pr:pr + rows, :] = True
            assert np.all(a[~inner] == 0.0)
        else:
            a[...] = np.nan
    X2, Gamma2 = _problem(net, 4, 8)
    g = gradients_fused(net, p, X2, Gamma2, engine=engine)
    assert g.max_rel_diff(gradients_listing(net, p, X2, Gamma2)) <= 1e-12


def test_return_loss_output_is_not_overwritten_by_the_next_call():
    """With return_loss the FusedForward's output and feedforward arrays are its own: the
    engine's next call leaves them as they were (fit counts correct labels from them)."""
    net = _padded_net()
    p = net.init(seed=8)
    engine = Engine(net)
    X, Gamma = _problem(net, 3, 9)
    _, loss, fw = gradients_fused(net, p, X, Gamma, engine=engine, return_loss=True)
    out, y1 = fw.output.copy(), fw.y_ff[1].copy()
    X2, Gamma2 = _problem(net, 3, 10)
    gradients_fused(net, p, X2, Gamma2, engine=engine)
    assert np.array_equal(fw.output, out) and np.array_equal(fw.y_ff[1], y1)
    assert abs(loss - float(np.mean(net.loss.value(fw.z_ff[net.L], out, Gamma)))) <= 1e-15
    assert np.allclose(out, net.forward(p, X, method="listing").output, rtol=1e-12, atol=0)


def test_engine_clock_changes_no_number():
    """A profiled call gives the same derivatives as a plain one, its time split into the
    kinds bench --profile prints, with the same number of clock readings every call."""
    net = _padded_net()
    p = net.init(seed=11, bias_scale=0.2)
    X, Gamma = _problem(net, 3, 12)
    engine = Engine(net)
    plain = fused._gradients(net, p, X, Gamma, 0.0, 0.0, "1229", engine)
    laps = []
    for _ in range(2):
        engine.start_profile()
        g = fused._gradients(net, p, X, Gamma, 0.0, 0.0, "1229", engine)
        laps.append(engine.laps)
        prof = engine.stop_profile()
        assert g.max_rel_diff(plain) == 0.0
    assert laps[0] == laps[1] > 0
    assert set(prof) <= set(bench.PROFILE_KINDS)
    assert {"gemm", "activation", "pool forward", "pool backward", "scatter", "patches",
            "python"} <= set(prof)
    assert all(t >= 0 for t in prof.values())


@pytest.mark.parametrize("kind", ["max", "mean", "l2", "subsample"])
def test_eq_47_1262_block_pooling_at_layer_2_through_the_work_space(kind):
    """Blocks at stride = block at layer 2 (the strided backward writing into the reused
    sensitivity buffer), a 6 x 6 map pooled by (5, 6) blocks at layer 1 (a row in no
    block): engine = listing = loops, twice with one engine."""
    net = sc.Network((6, 6), 1,
                     [sc.Conv(2, 3, padding="same", activation="tanh", pool=("max", (5, 6))),
                      sc.Conv(3, (1, 1), activation="sigmoid", pool=(kind, (1, 1)))],
                     hidden=[], outputs=2)
    p = net.init(seed=13, bias_scale=0.3)
    engine = Engine(net)
    for seed in (14, 15):
        X, Gamma = _problem(net, 2, seed)
        g = gradients_fused(net, p, X, Gamma, engine=engine)
        g_listing = gradients_listing(net, p, X, Gamma)
        assert g.max_rel_diff(g_listing) <= 1e-12
        assert loops.gradients(net, p, X, Gamma).max_rel_diff(g_listing) <= 1e-12


@pytest.mark.parametrize("block, stride", [(2, None), (3, 1)])
def test_engine_l2_pooling_of_tiny_entries_neither_underflows_nor_differs(block, stride):
    """l2 pooling of entries 1e-170 (47.1176): the engine's strided and gathered kernels give
    the listing's scaled norm (2e-170 for a 2 x 2 block), not 0, and the same derivatives."""
    import sayedcnn as sc
    from sayedcnn.fused import forward_fused

    net = sc.Network((4, 4), conv=[sc.Conv(1, 1, activation="linear",
                                           pool={"kind": "l2", "block": block,
                                                 "stride": stride})], outputs=1)
    p = net.init(seed=0)
    p.W_conv[1][:] = 1.0
    X = np.full((1, 1, 4, 4), 1e-170)
    t_engine = forward_fused(net, p, X).t[1].ravel()
    t_listing = net.forward(p, X[0]).t_conv[1, 1]
    assert_allclose(t_engine, block * 1e-170, rtol=1e-14, atol=0)
    assert_allclose(t_engine, t_listing, rtol=1e-14, atol=0)
    g_f = net.gradients(p, X, np.ones((1, 1)), method="fused")
    g_l = net.gradients(p, X, np.ones((1, 1)), method="listing")
    assert g_f.max_rel_diff(g_l) < 1e-12
