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


def _l2_on_one_map(shape, **pool):
    """One linear map with a 1 x 1 mask of weight 1 (y is the image), l2 pooled (47.1176)."""
    net = sc.Network(shape, conv=[sc.Conv(1, 1, activation="linear",
                                          pool={"kind": "l2", **pool})], outputs=1)
    p = net.init(seed=0)
    p.W_conv[1][:] = 1.0
    return net, p


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
    from sayedcnn.fused import forward_fused

    net, p = _l2_on_one_map((4, 4), block=block, stride=stride)
    X = np.full((1, 1, 4, 4), 1e-170)
    t_engine = forward_fused(net, p, X).t[1].ravel()
    t_listing = net.forward(p, X[0]).t_conv[1, 1]
    assert_allclose(t_engine, block * 1e-170, rtol=1e-14, atol=0)
    assert_allclose(t_engine, t_listing, rtol=1e-14, atol=0)
    g_f = net.gradients(p, X, np.ones((1, 1)), method="fused")
    g_l = net.gradients(p, X, np.ones((1, 1)), method="listing")
    assert g_f.max_rel_diff(g_l) < 1e-12


# ---------------------------------------------------------------------------
# Every pooling geometry through the engine (each one a path mutants survived on)
# ---------------------------------------------------------------------------

_RAGGED = [[0, 1, 5, 6], [2, 7], [3, 4, 8, 9, 10], [11, 12, 13, 14, 15, 16], [17, 18, 19]]
_GEOMETRIES = {
    "tiles": {"block": 2},  # 4 x 6 map, blocks that tile it
    "leftover": {"block": (3, 4)},  # rows and columns that no block covers
    "overlap": {"block": 2, "stride": 1},  # overlapping windows: T^T sums
    "ragged": {"regions": _RAGGED, "P": 24},  # regions of 2 to 6 entries, 4 entries in none
}


def _pool_spec(kind, geometry):
    spec = {"kind": kind, **_GEOMETRIES[geometry]}
    if kind == "subsample":
        spec["retain"] = 1
    if kind == "correlation":
        R = int(np.prod(np.broadcast_to(spec["block"], 2)))
        spec["mask"] = np.linspace(-1.0, 2.0, R)
    return spec


@pytest.mark.parametrize("kind, geometry", [  # a correlation mask needs regions of one size
    (k, g) for k in ["max", "mean", "l2", "subsample", "correlation"] for g in _GEOMETRIES
    if (k, g) != ("correlation", "ragged")])
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "linear"])
def test_eq_47_1262_every_pooling_geometry_engine_equals_listing(kind, geometry, act):
    """Pooling by every kind (Table 47.13) over tiling, partial, overlapping and ragged
    regions, at layer 1 (of two maps) with layer 2 behind it: the engine's derivatives of
    J_emp (47.1275) and outputs equal the listing's to 1e-12. The image is zero on its left
    half, so regions of zeros (l2 at t = 0, 47.1196d) and max ties (47.1196b) occur."""
    spec = _pool_spec(kind, geometry)
    net = sc.Network((4, 6), conv=[sc.Conv(2, 1, pool=spec, activation=act),
                                   sc.Conv(2, 1, activation=act)],
                     hidden=[3], hidden_activation="relu", outputs=2)
    p = net.init(1)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 1, 4, 6))
    X[:, :, :, :3] = 0.0
    X[1] = np.round(X[1])  # whole numbers: more ties
    Gamma = np.eye(2)[[0, 1, 1]]
    want = gradients_listing(net, p, X, Gamma)
    got = gradients_fused(net, p, X, Gamma)
    assert want.max_rel_diff(got) <= 1e-12
    assert_allclose(fused.forward_fused(net, p, X).output, net.forward(p, X).output,
                    rtol=1e-13, atol=1e-15)
    one = gradients_fused(net, p, X[:1], Gamma[:1])  # N = 1 takes other branches
    assert gradients_listing(net, p, X[:1], Gamma[:1]).max_rel_diff(one) <= 1e-12


def test_engine_l2_pooling_over_regions_scales_each_region_alone():
    """The l2 norm (47.1176) of a region of 1e-170 entries beside one of 1e150 entries: each
    region is scaled by its own largest entry, so the small one does not underflow."""
    net = sc.Network((2, 4), conv=[sc.Conv(1, 1, pool={"kind": "l2", "regions":
                                                       [[0, 1, 2, 3], [4, 5, 6, 7]], "P": 8},
                                          activation="linear")], outputs=1)
    p = net.init(0)
    p.W_conv[1][:] = 1.0
    X = np.array([1e-170] * 4 + [1e150] * 4).reshape(1, 1, 4, 2).transpose(0, 1, 3, 2)
    t = fused.forward_fused(net, p, X).t[1][0, :, 0]
    assert_allclose(t, [2e-170, 2e150], rtol=1e-15)


def test_engine_H_is_the_listings_patch_matrix():
    """FusedForward.H(c, n) rebuilds H_(n,c-1) = col{H_n^(1,c-1), ...} (47.1225)."""
    net = sc.Network((5, 4), input_depth=2, conv=[sc.Conv(3, (2, 3), pool=("max", 2)),
                                                  sc.Conv(2, 2)], outputs=2)
    p = net.init(0)
    X = np.random.default_rng(1).standard_normal((2, 2, 5, 4))
    fw = fused.forward_fused(net, p, X)
    for n in range(2):
        res = net.forward(p, X[n])
        for c in (1, 2):
            assert_allclose(fw.H(c, n), res.H_stacked[c - 1], rtol=1e-14, atol=1e-15)
    for c in (1, 2):
        assert np.array_equal(fw.H(c), fw.H(c, 0))  # the first sample by default


def test_engine_must_be_made_for_the_network():
    net = sc.Network((4, 4), conv=[sc.Conv(1, 2)], outputs=2)
    other = sc.Network((4, 4), conv=[sc.Conv(1, 2)], outputs=2)
    X, G = np.ones((1, 1, 4, 4)), np.eye(2)[:1]
    why = r"^engine must be a sayedcnn\.fused\.Engine made for this network \(Engine\(net\)\)$"
    for engine in (object(), Engine(other)):
        with pytest.raises(TypeError, match=why):
            gradients_fused(net, net.init(0), X, G, engine=engine)


def test_entrywise_threads_follow_the_affinity_and_the_environment(monkeypatch):
    """Large entrywise maps use the cores this process may use, fewer when OMP_NUM_THREADS or
    OPENBLAS_NUM_THREADS asks for fewer; values that are not positive integers are ignored."""
    import os

    n0 = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cases = [({}, n0), ({"OMP_NUM_THREADS": "1"}, 1), ({"OPENBLAS_NUM_THREADS": "1"}, 1),
             ({"OMP_NUM_THREADS": "abc"}, n0), ({"OMP_NUM_THREADS": "0"}, n0),
             ({"OMP_NUM_THREADS": str(n0 + 5)}, n0),
             ({"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "2"}, min(n0, 2))]
    try:
        for env, want in cases:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                monkeypatch.delenv(var, raising=False)
            for var, val in env.items():
                monkeypatch.setenv(var, val)
            fused._SPLIT["threads"] = None
            assert fused._split_threads() == want, env
    finally:
        fused._SPLIT["threads"] = None


def test_engine_clock_adds_each_interval_to_its_kind(monkeypatch):
    """The profile telescopes: each reading of the clock adds the time since the previous one
    to the kind of work just done. With a clock that advances by 1 at each reading, every
    kind's total is a whole number of laps, the totals add up to the laps, and every kind is
    one that bench --profile prints. An engine that is not profiling has neither."""

    class Clock:
        now = 0.0

        @classmethod
        def perf_counter(cls):
            cls.now += 1.0
            return cls.now

    net = _padded_net()
    p = net.init(seed=11, bias_scale=0.2)
    X, Gamma = _problem(net, 3, 12)
    engine = Engine(net)
    assert engine.profile is None and engine.laps == 0
    monkeypatch.setattr(fused, "time", Clock)
    engine.start_profile()
    assert engine.profile == {} and engine.laps == 0
    fused._gradients(net, p, X, Gamma, 0.0, 0.0, "1229", engine, return_loss=True)
    laps = engine.laps
    prof = engine.stop_profile()
    assert engine.profile is None and engine.lap is fused._no_lap
    assert laps == Clock.now - 1  # one reading to start, one per lap
    assert sum(prof.values()) == laps
    assert all(t >= 1 and float(t).is_integer() for t in prof.values())
    assert set(prof) == set(bench.PROFILE_KINDS)


@pytest.mark.parametrize("kind, want", [("max", [1.0, 3.0, 9.0]), ("mean", [1.0, 2.5, 9.0]),
                                        ("l2", [1.0, np.sqrt(13.0), 9.0])])
def test_engine_short_regions_are_padded_with_nothing(kind, want):
    """Regions of 1, 2 and 1 entries (47.1187) on a map whose largest entry is entry 0, the
    index the engine pads short regions with: the padding adds nothing to any region (Table
    47.13), forward or backward (the derivatives equal the listing's)."""
    spec = {"kind": kind, "regions": [[1], [2, 3], [0]], "P": 4}
    net = sc.Network((2, 2), conv=[sc.Conv(1, 1, activation="linear", pool=spec)], outputs=2)
    p = net.init(0)
    p.W_conv[1][:] = 1.0
    X = np.array([[9.0, 2.0], [1.0, 3.0]]).reshape(1, 1, 2, 2)  # vec: 9, 1, 2, 3
    assert_allclose(fused.forward_fused(net, p, X).t[1][0, :, 0], want, rtol=1e-15)
    G = np.eye(2)[:1]
    assert gradients_fused(net, p, X, G).max_rel_diff(gradients_listing(net, p, X, G)) <= 1e-13


def test_entrywise_threads_without_an_affinity_mask(monkeypatch):
    """The cores this process may use come from os.sched_getaffinity where it exists, else
    from os.cpu_count(); where that is unknown (None), one thread."""
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(fused._SPLIT, "threads", None)  # the cached count, restored after
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    for mask, n in [({0}, 1), ({0, 1, 2, 3, 4}, 5), (None, 3)]:
        if mask is None:
            monkeypatch.delattr(os, "sched_getaffinity", raising=False)
        else:
            monkeypatch.setattr(os, "sched_getaffinity", lambda pid, m=mask: m, raising=False)
        fused._SPLIT["threads"] = None
        assert fused._split_threads() == n, mask
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    fused._SPLIT["threads"] = None
    assert fused._split_threads() == 1


@pytest.mark.parametrize("kind", ["max", "subsample", "mean"])
def test_engine_activation_of_the_users_own_with_pooling(kind):
    """An Activation given by the user (softplus, f' = the logistic function) before max
    pooling or subsampling (the engine's shortcut through the retained entry) and mean
    pooling (its general path): f' is evaluated at z (47.1245), not at the pooled y;
    engine = listing = finite differences."""
    from sayedcnn.activations import Activation, get_activation
    from sayedcnn.reference.finite_diff import numerical_gradient

    softplus = Activation("softplus", lambda z: np.logaddexp(0.0, z),
                          get_activation("sigmoid").f)
    spec = {"kind": kind, "block": 2, **({"retain": 1} if kind == "subsample" else {})}
    net = sc.Network((4, 4), conv=[sc.Conv(2, 3, padding="same", activation=softplus,
                                           pool=spec)], outputs=2)
    p = net.init(seed=3, bias_scale=0.5)
    X, Gamma = _problem(net, 2, 8)
    g = gradients_fused(net, p, X, Gamma)
    assert g.max_rel_diff(gradients_listing(net, p, X, Gamma)) <= 1e-12
    fd = numerical_gradient(lambda r: loops.risk(net, r, X, Gamma), p, rel_step=2e-5)
    assert g.max_rel_diff(fd) <= 1e-7


@pytest.mark.parametrize("threads", [2, 3])
def test_entrywise_maps_cut_over_threads_equal_one_thread(monkeypatch, threads):
    """A map of at least 2^15 entries is cut into one contiguous part per thread, written into
    ``out`` when given: every entry is the one a single thread writes (47.1154); a smaller map
    stays on one thread; the threads are named after the package, and a process that forked
    (another pid) makes its own."""
    import os
    import threading

    for key in ("threads", "pool", "pid"):
        monkeypatch.setitem(fused._SPLIT, key, fused._SPLIT[key])
    z = np.random.default_rng(0).standard_normal((3, 64, 171))  # 32,832 entries
    fused._SPLIT["threads"] = 1
    alone = {name: fused._activate(sc.get_activation(name), z) for name in ("sigmoid", "tanh")}
    fused._SPLIT["threads"] = threads
    made = []
    try:
        for name, want in alone.items():
            out = np.full_like(z, np.nan)
            got = fused._activate(sc.get_activation(name), z, out=out)
            assert got is out
            assert np.array_equal(got, want)
            assert_allclose(got, sc.get_activation(name)(z), rtol=1e-15, atol=0)
            made.append(fused._SPLIT["pool"])
        assert made[0] is made[1] and fused._SPLIT["pid"] == os.getpid()

        calls = []

        def kernel(a, o):
            calls.append((a.size, threading.current_thread().name))
            np.negative(a, out=o)

        for size, parts in ((fused._SPLIT_MIN - 1, 1), (fused._SPLIT_MIN, threads)):
            calls.clear()
            x = np.arange(float(size))
            assert np.array_equal(fused._entrywise(kernel, x), -x)
            assert len(calls) == parts and sum(n for n, _ in calls) == size
        assert {n for _, n in calls} - {threading.current_thread().name}
        assert all(n.startswith("sayedcnn") for _, n in calls
                   if n != threading.current_thread().name)
        fused._SPLIT["pid"] = -1  # as if forked: the old pool's threads are gone
        fused._entrywise(kernel, np.zeros(fused._SPLIT_MIN))
        assert fused._SPLIT["pool"] is not made[0] and fused._SPLIT["pid"] == os.getpid()
        made.append(fused._SPLIT["pool"])
    finally:
        for pool in made:
            pool.shutdown()


def test_view_of_windows_is_read_only():
    """The strided windows of (47.1152) are read, never written: the view is read-only,
    of C-contiguous maps and of others."""
    A = np.arange(24.0).reshape(4, 6)
    for a in (A, A[:, ::2]):
        v = fused._view(a, (2, 2), a.strides)
        assert not v.flags.writeable and v.dtype == a.dtype
        assert np.array_equal(v, a[:2, :2])


def test_engine_l2_block_whose_only_entry_is_not_the_first():
    """l2 pooling (47.1176) of a 2 x 2 block whose one nonzero entry is its second: the
    largest magnitude, by which the engine scales, is taken over every entry of the block."""
    net, p = _l2_on_one_map((2, 2), block=2)
    for k in range(4):
        X = np.zeros((1, 1, 2, 2))
        X[0, 0, k % 2, k // 2] = -5.0  # entry k of the column-major vec
        assert_allclose(fused.forward_fused(net, p, X).t[1].ravel(), [5.0], rtol=1e-15)


@pytest.mark.parametrize("entry", [1e-309, 1e-315])
def test_engine_l2_backward_of_subnormal_entries_stays_finite(entry):
    """l2 pooling (47.1176) of subnormal entries, t of the order of 1e-309 or less: the strided
    backward forms g = y / t (of magnitude <= 1) before multiplying by v (47.1196d), so no
    quotient v / t overflows; the derivatives are finite and equal the listing's."""
    net, p = _l2_on_one_map((4, 4), block=2)
    X = np.full((1, 1, 4, 4), entry)
    g_f = net.gradients(p, X, np.ones((1, 1)), method="fused")
    g_l = net.gradients(p, X, np.ones((1, 1)), method="listing")
    assert np.isfinite(g_f.W_conv[1]).all() and g_f.W_conv[1][0, 0] != 0.0
    assert g_f.max_rel_diff(g_l) <= 1e-12
