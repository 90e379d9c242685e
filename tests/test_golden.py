"""Golden traces of (47.1216), (47.1275), (47.1276): the shipped copy as regression fixtures,
the index, the identities every trace must satisfy, and ``python -m sayedcnn golden``."""

import json
import re
import shutil

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sayedcnn.app.cli import main
from sayedcnn.fused import forward_fused, gradients_fused
from sayedcnn.interop import golden

NAMES = [p.name for p in golden.PROBLEMS]
TOL = 1e-12


@pytest.fixture(scope="module")
def shipped():
    return golden.load_traces()


# ---------------------------------------------------------------------------
# The shipped copy and its index
# ---------------------------------------------------------------------------


def test_shipped_traces_are_reproduced_by_the_package(shipped):
    """Recomputing every shipped trace gives every array to <= 1e-12 relative, and the inputs
    and parameters regenerated from each problem's seed are bit-identical to the stored ones."""
    assert list(shipped) == NAMES
    for name, tr in shipped.items():
        rep = golden.verify_trace(tr)
        assert rep.inputs is True, name
        assert rep.ok, rep.summary()
        assert rep.worst <= TOL
        assert not rep.not_compared


def test_shipped_copy_is_small_and_holds_no_pickles():
    """< 300 KB in all; every array loads with allow_pickle=False and none is an object array."""
    files = sorted(f for f in golden.DATA_DIR.iterdir() if f.name != "__pycache__")
    names = {f.name for f in files}
    assert names == {f"{n}.npz" for n in NAMES} | {"index.json", "__init__.py"}
    assert sum(f.stat().st_size for f in files) < 300_000
    for f in files:
        if f.suffix == ".npz":
            with np.load(f, allow_pickle=False) as z:
                for k in z.files:
                    assert z[k].dtype != object, (f.name, k)


def test_index_names_every_array_by_symbol_and_equation(shipped):
    """index.json lists each file's arrays exactly, each with a symbol, an equation number
    of the chapter (47.xxxx), its shape and axes, and states the conventions."""
    index = json.loads((golden.DATA_DIR / "index.json").read_text())
    assert index["format"] == golden.FORMAT and index["version"] == golden.FORMAT_VERSION
    assert index["conventions"] == golden.CONVENTIONS
    for key in ("vec", "patch_order", "region_order", "bias_sign", "weights",
                "feedforward_input", "sensitivities", "gradients", "step", "network_schema",
                "pooling", "loss", "Delta", "V_ddc", "step_formulas", "compute"):
        assert len(index["conventions"][key]) > 80, key
    assert [e["name"] for e in index["problems"]] == NAMES
    for entry in index["problems"]:
        tr = shipped[entry["name"]]
        assert set(entry["arrays"]) == set(tr.arrays)
        for name, spec in entry["arrays"].items():
            assert re.fullmatch(r"47\.1\d{3}[a-h]?", spec["equation"]), (name, spec)
            assert spec["symbol"] and spec["meaning"]
            assert list(tr.arrays[name].shape) == spec["shape"], name
            assert len(spec["axes"]) == len(spec["shape"]), name
            assert str(tr.arrays[name].dtype) == spec["dtype"], name
        assert entry["network"] == json.loads(json.dumps(entry["network"]))
        assert entry["file"] == f"{entry['name']}.npz"


def test_problems_cover_the_required_cases():
    """At least one layer and two layers, 'same' and 'valid', stride 2, max, mean, l2 and
    overlapping pooling, a connection table, the quadratic and cross-entropy losses; read
    from the networks themselves."""
    depths, paddings, strides, kinds, losses = set(), set(), set(), set(), set()
    overlap = table = False
    for p in golden.PROBLEMS:
        net = p.build()
        depths.add(net.C)
        losses.add(net.loss.name)
        for ly in net.layers:
            paddings.add(ly.spec.padding if isinstance(ly.spec.padding, str) else "int")
            strides.add(max(ly.partition.stride))
            table |= not ly.conn.all()
            if ly.pooled:
                kinds.add(ly.pooling.kind)
                overlap |= not ly.pooling.disjoint
    assert {1, 2} <= depths
    assert {"same", "valid"} <= paddings
    assert 2 in strides
    assert {"max", "mean", "l2"} <= kinds
    assert overlap and table
    assert losses == {"quadratic", "cross_entropy"}


def test_write_traces_reproduces_the_shipped_copy(tmp_path, shipped):
    """A fresh write of two problems equals the shipped files to a few rounding steps (the
    shipped copy was written on another CPU and BLAS, so bit-for-bit equality is not a
    property of the code); integer structure arrays equal exactly. The index lists only
    those two."""
    pick = ["two_layer_overlap_table", "seed000_hand_note"]
    paths = golden.write_traces(tmp_path, pick)
    assert [p.name for p in paths] == [f"{n}.npz" for n in pick] + ["index.json"]
    fresh = golden.load_traces(tmp_path)
    assert list(fresh) == pick
    for name in pick:
        assert fresh[name].meta == shipped[name].meta
        assert sorted(fresh[name].arrays) == sorted(shipped[name].arrays)
        for k, a in shipped[name].arrays.items():
            b = fresh[name].arrays[k]
            assert b.shape == a.shape and b.dtype == a.dtype, k
            if np.issubdtype(a.dtype, np.floating):
                # 1e-15 relative to the array's largest entry: a few ulps, NaN never equal
                assert_allclose(b, a, rtol=0, atol=1e-15 * max(np.max(np.abs(a), initial=0), 1e-300),
                                err_msg=k)
            else:
                assert_array_equal(b, a, err_msg=k)


def test_write_traces_is_bit_for_bit_repeatable_within_one_run(tmp_path):
    """Two writes in the same process (same CPU, same BLAS) agree bit for bit."""
    pick = ["two_layer_overlap_table"]
    first = golden.load_traces(golden.write_traces(tmp_path / "a", pick)[0].parent)
    second = golden.load_traces(golden.write_traces(tmp_path / "b", pick)[0].parent)
    for k, a in first[pick[0]].arrays.items():
        assert_array_equal(second[pick[0]].arrays[k], a, err_msg=k)


# ---------------------------------------------------------------------------
# Identities each trace satisfies, checked with plain numpy from the stored arrays
# ---------------------------------------------------------------------------

_F = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
      "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z}
_FP = {"sigmoid": lambda z: _F["sigmoid"](z) * (1 - _F["sigmoid"](z)),
       "tanh": lambda z: 1 - np.tanh(z) ** 2, "relu": lambda z: (z > 0) * 1.0,
       "linear": np.ones_like}


def _act(name, z):
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return _F[name](z)


def _pool_grad(pl, y, reg):
    """Gradient vector g of t(p') over Omega_p' (Table 47.14) for one region."""
    v = y[reg]
    if pl.kind == "max":
        g = np.zeros(v.size)
        g[np.argmax(v)] = 1
        return g
    if pl.kind == "mean":
        return np.full(v.size, 1 / v.size)
    if pl.kind == "l2":
        t = np.sqrt(np.sum(v**2))
        return v / t if t > 0 else 0 * v
    if pl.kind == "subsample":
        return np.eye(v.size)[pl.retain]
    return pl.mask


def _pool(pl, y, reg):
    v = y[reg]
    return {"max": np.max, "mean": np.mean, "l2": lambda u: np.sqrt(np.sum(u**2)),
            "subsample": lambda u: u[pl.retain],
            "correlation": lambda u: u @ pl.mask}[pl.kind](v)


def _pool_back(ly, v, y, Omega):
    """permute#(upv(v)) = sum over regions of v(p') g_p' placed at Omega_p' (47.1204)."""
    if not ly.pooled:
        return v
    out = np.zeros(ly.P)
    for p, reg in enumerate(Omega):
        reg = reg[reg >= 0]
        out[reg] += v[p] * _pool_grad(ly.pooling, y, reg)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_eq_47_1216_forward_identities(shipped, name):
    """h = vec(I) column-major (47.1143); H^(j,c-1)[s, p] = t^(j,c-1)[V_index[p, s]] or 0
    (47.1152); z^(d,c) = sum_j (H^(j,c-1)^T w_j^(d,c) - theta^(d,c)(j) 1) over connected j
    (47.1216); y = f(z); t(p') = pool over Omega_p'; y_1 = col{t^(1,C), ...} (47.1215);
    z_{l+1} = W_l y_l - theta_l; Q_n and J_emp (47.1229)."""
    tr = shipped[name]
    a, net = tr.arrays, tr.net
    rho1, rho2, _ = tr.settings
    N = tr.X.shape[0]
    assert_array_equal(a["h"], np.stack([[x.T.reshape(-1) for x in xn] for xn in tr.X]))
    prev = a["h"]
    for ly in net.layers:
        c, S = ly.c, ly.S
        idx = a[f"V_index_{c - 1}"]
        padded = np.concatenate([prev, np.zeros((N, ly.D_in, 1))], axis=2)
        H = padded[:, :, idx].transpose(0, 1, 3, 2)  # [n, j, s, p]
        assert_allclose(a[f"H_{c - 1}"], H, rtol=0, atol=0)
        W, Th, conn = a[f"W_conv_{c}"], a[f"Theta_conv_{c}"], a[f"conn_{c}"]
        z = np.zeros((N, ly.D, ly.P))
        for d in range(ly.D):
            for j in np.flatnonzero(conn[:, d]):
                z[:, d] += H[:, j].transpose(0, 2, 1) @ W[j * S:(j + 1) * S, d] - Th[j, d]
        assert_allclose(a[f"z_conv_{c}"], z, rtol=TOL, atol=TOL)
        y = _act(ly.activation.name, a[f"z_conv_{c}"])
        assert_allclose(a[f"y_conv_{c}"], y, rtol=TOL, atol=TOL)
        if ly.pooled:
            Om = a[f"Omega_{c}"]
            t = np.array([[[_pool(ly.pooling, y[n, d], r[r >= 0]) for r in Om]
                           for d in range(ly.D)] for n in range(N)])
        else:
            t = y
        assert_allclose(a[f"t_conv_{c}"], t, rtol=TOL, atol=TOL)
        prev = a[f"t_conv_{c}"]
    assert_array_equal(a["y_ff_1"], prev.reshape(N, -1))  # map-major concatenation
    for l in range(1, net.L):
        z = a[f"y_ff_{l}"] @ a[f"W_ff_{l}"].T - a[f"theta_ff_{l}"]
        assert_allclose(a[f"z_ff_{l + 1}"], z, rtol=TOL, atol=TOL)
        assert_allclose(a[f"y_ff_{l + 1}"], _act(net.ff_activation[l + 1].name, z),
                        rtol=TOL, atol=TOL)
    yL, G = a[f"y_ff_{net.L}"], a["Gamma"]
    Q = np.sum((G - yL) ** 2, axis=1) if net.loss.name == "quadratic" else \
        -np.sum(G * np.log(yL), axis=1)
    assert_allclose(a["Q_n"], Q, rtol=TOL)
    J = Q.mean() + rho1 * sum(np.sum(a[f"W_conv_{ly.c}"] ** 2) for ly in net.layers) \
        + rho2 * sum(np.sum(a[f"W_ff_{l}"] ** 2) for l in range(1, net.L))
    assert_allclose(a["J_emp"], J, rtol=TOL)


@pytest.mark.parametrize("name", NAMES)
def test_eq_47_1275_sensitivity_and_gradient_identities(shipped, name):
    """delta_L = 2(y - gamma) f'(z_L) or y - gamma (47.1233); delta_l = f'(z_l) W_l^T
    delta_{l+1} (47.1234); delta^(d,C) = f'(z) permute#(upv(W_1^(d)T delta_2)) (47.1245);
    V^(d,d',c+1)[p'', p] = sum_s [V_index_c[p, s] = p''] w_d^(d',c+1)(s) (47.1257) and
    delta^(d,c) = f'(z) permute#(upv(sum_d' V delta^(d',c+1))) (47.1262); Delta block
    diagonal (47.1270); the derivatives with 1/N (47.1263), (47.1264), (47.1271), (47.1274)."""
    tr = shipped[name]
    a, net = tr.arrays, tr.net
    rho1, rho2, _ = tr.settings
    N, L = tr.X.shape[0], net.L
    z, y, G = a[f"z_ff_{L}"], a[f"y_ff_{L}"], a["Gamma"]
    if net.loss.name == "quadratic":
        dL = 2 * (y - G) * _FP[net.output_activation.name](z)
    else:
        dL = y - G
    assert_allclose(a[f"delta_ff_{L}"], dL, rtol=TOL, atol=TOL)
    for l in range(L - 1, 1, -1):
        d = _FP[net.ff_activation[l].name](a[f"z_ff_{l}"]) * (a[f"delta_ff_{l + 1}"] @ a[f"W_ff_{l}"])
        assert_allclose(a[f"delta_ff_{l}"], d, rtol=TOL, atol=TOL)
    last = net.layers[-1]
    v_all = a["delta_ff_2"] @ a["W_ff_1"]  # rows: (W_1^T delta_2)^T, split by map
    for ly in reversed(net.layers):
        c = ly.c
        fp = _FP[ly.activation.name](a[f"z_conv_{c}"])
        want = np.zeros((N, ly.D, ly.P))
        Om = a.get(f"Omega_{c}")
        for n in range(N):
            for d in range(ly.D):
                if c == net.C:
                    v = v_all[n, d * last.P_out:(d + 1) * last.P_out]  # (47.1241)
                else:
                    nxt = net.layers[c]
                    Vd = a[f"V_ddc_{c + 1}"]
                    v = sum(Vd[d, d2] @ a[f"delta_conv_{c + 1}"][n, d2] for d2 in range(nxt.D))
                want[n, d] = fp[n, d] * _pool_back(ly, v, a[f"y_conv_{c}"][n, d], Om)
        assert_allclose(a[f"delta_conv_{c}"], want, rtol=TOL, atol=TOL)
        D = a[f"Delta_{c}"]
        for d in range(ly.D):
            assert_array_equal(D[:, d * ly.P:(d + 1) * ly.P, d], a[f"delta_conv_{c}"][:, d])
        assert np.count_nonzero(D) <= np.count_nonzero(a[f"delta_conv_{c}"])
    for c in range(1, net.C):
        ly, nxt = net.layers[c - 1], net.layers[c]
        idx, W = a[f"V_index_{c}"], a[f"W_conv_{c + 1}"]
        V = np.zeros((ly.D, nxt.D, ly.P_out, nxt.P))
        for d in range(ly.D):
            for d2 in range(nxt.D):
                if a[f"conn_{c + 1}"][d, d2]:
                    w = W[d * nxt.S:(d + 1) * nxt.S, d2]
                    for p in range(nxt.P):
                        for s in range(nxt.S):
                            if idx[p, s] >= 0:
                                V[d, d2, idx[p, s], p] += w[s]
        assert_allclose(a[f"V_ddc_{c + 1}"], V, rtol=TOL, atol=TOL)
    for l in range(1, L):
        gW = 2 * rho2 * a[f"W_ff_{l}"] + np.einsum("ni,nj->ij", a[f"delta_ff_{l + 1}"],
                                                    a[f"y_ff_{l}"]) / N
        assert_allclose(a[f"dJ_dW_ff_{l}"], gW, rtol=TOL, atol=TOL)
        assert_allclose(a[f"dJ_dtheta_ff_{l}"], -a[f"delta_ff_{l + 1}"].mean(axis=0),
                        rtol=TOL, atol=TOL)
    for ly in net.layers:
        c, conn = ly.c, a[f"conn_{ly.c}"]
        H, dl = a[f"H_{c - 1}"], a[f"delta_conv_{c}"]
        gW = np.einsum("njsp,ndp->jsd", H, dl).reshape(ly.D_in * ly.S, ly.D) / N
        gW = 2 * rho1 * a[f"W_conv_{c}"] + gW * np.repeat(conn, ly.S, axis=0)
        assert_allclose(a[f"dJ_dW_conv_{c}"], gW, rtol=TOL, atol=TOL)
        gT = -np.outer(np.ones(ly.D_in), dl.sum(axis=(0, 2))) / N * conn
        assert_allclose(a[f"dJ_dTheta_conv_{c}"], gT, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("name", NAMES)
def test_eq_47_1276_step_on_the_first_sample(shipped, name):
    """W_l <- (1 - 2 mu rho2) W_l - mu delta_{l+1,0} y_{l,0}^T; theta_l <- theta_l +
    mu delta_{l+1,0} (E-1276a); W_c <- (1 - 2 mu rho1) W_c - mu (1^T (x) H_{0,c-1}) Delta_{0,c};
    Theta_c <- Theta_c + mu (1^T (x) 1 1^T) Delta_{0,c} on connected entries (47.1276)."""
    tr = shipped[name]
    a, net = tr.arrays, tr.net
    rho1, rho2, mu = tr.settings
    for l in range(1, net.L):
        dl, yl = a[f"delta_ff_{l + 1}"][0], a[f"y_ff_{l}"][0]
        assert_allclose(a[f"W_ff_{l}_after"],
                        (1 - 2 * mu * rho2) * a[f"W_ff_{l}"] - mu * np.outer(dl, yl),
                        rtol=TOL, atol=TOL)
        assert_allclose(a[f"theta_ff_{l}_after"], a[f"theta_ff_{l}"] + mu * dl, rtol=TOL,
                        atol=TOL)
    for ly in net.layers:
        c, conn = ly.c, a[f"conn_{ly.c}"]
        H, dl = a[f"H_{c - 1}"][0], a[f"delta_conv_{c}"][0]
        gW = np.einsum("jsp,dp->jsd", H, dl).reshape(ly.D_in * ly.S, ly.D)
        assert_allclose(a[f"W_conv_{c}_after"],
                        (1 - 2 * mu * rho1) * a[f"W_conv_{c}"]
                        - mu * gW * np.repeat(conn, ly.S, axis=0), rtol=TOL, atol=TOL)
        assert_allclose(a[f"Theta_conv_{c}_after"],
                        a[f"Theta_conv_{c}"] + mu * np.outer(np.ones(ly.D_in), dl.sum(axis=1))
                        * conn, rtol=TOL, atol=TOL)


def test_patch_order_of_the_index_by_hand(shipped):
    """Convention 'patch_order': the 3x3 'same' mask on a 6x6 image, output position (0, 0)
    (p = 0) reads rows -1..1 and columns -1..1 with s = a + 3b, so s = 0 is padding, s = 4
    is pixel (0, 0) -> 0, s = 5 is pixel (1, 0) -> 1, s = 7 is pixel (0, 1) -> 6; position
    (i, j) = (2, 1) is p = 2 + 1*6 = 8 and its centre s = 4 is pixel (2, 1) -> 2 + 6 = 8."""
    idx = shipped["one_layer_same_max"].arrays["V_index_0"]
    assert idx.shape == (36, 9)
    assert_array_equal(idx[0], [-1, -1, -1, -1, 0, 1, -1, 6, 7])
    assert idx[8, 4] == 8
    Om = shipped["one_layer_same_max"].arrays["Omega_1"]
    assert_array_equal(Om[:2], [[0, 1, 6, 7], [2, 3, 8, 9]])  # regions column-major


# ---------------------------------------------------------------------------
# verify_trace with other computations, and its failures
# ---------------------------------------------------------------------------


def _fused(net, params, X, Gamma, rho1, rho2, mu):
    """Forward arrays and derivatives by the fused path (a different organisation)."""
    fw = forward_fused(net, params, X)
    out = {}
    for ly in net.layers:
        for k in ("z", "y", "t"):
            out[f"{k}_conv_{ly.c}"] = getattr(fw, k)[ly.c].transpose(0, 2, 1)
    for l, v in fw.y_ff.items():
        out[f"y_ff_{l}"] = v
    for l, v in fw.z_ff.items():
        out[f"z_ff_{l}"] = v
    for g, k, arr in gradients_fused(net, params, X, Gamma, rho1, rho2).items():
        out[f"dJ_d{g}_{k}"] = arr
    return out


def test_fused_path_reproduces_the_traces(shipped):
    """The fused batched path gives the traces' forward arrays and derivatives to 1e-12;
    what it does not compute is listed as not compared."""
    for tr in shipped.values():
        rep = golden.verify_trace(tr, compute=_fused)
        assert rep.ok, rep.summary()
        assert rep.inputs is None
        assert "delta_conv_1" in rep.not_compared and "X" not in rep.not_compared


def test_verify_trace_reports_a_changed_array(shipped, tmp_path):
    """A derivative moved by 1e-9 relative fails, named with its symbol and equation; a
    changed input fails the regeneration check."""
    tr = shipped["two_layer_overlap_table"]
    arrays = dict(tr.arrays)
    arrays["dJ_dW_conv_1"] = arrays["dJ_dW_conv_1"] * (1 + 1e-9)
    bad = golden.Trace(tr.path, tr.net, arrays, tr.meta)
    rep = golden.verify_trace(bad)
    assert not rep.ok and rep.failed == ["dJ_dW_conv_1"]
    assert "47.1275" in rep.errors["dJ_dW_conv_1"] and "FAILED" in rep.summary()
    arrays = dict(tr.arrays)
    arrays["X"] = arrays["X"].copy()
    arrays["X"][0, 0, 0, 0] += 1e-15
    rep = golden.verify_trace(golden.Trace(tr.path, tr.net, arrays, tr.meta))
    assert rep.inputs is False and not rep.ok


def test_verify_trace_rejects_bad_computations(shipped):
    tr = shipped["seed000_hand_note"]
    with pytest.raises(ValueError, match="does not hold: \\['zz'\\]"):
        golden.verify_trace(tr, compute=lambda *args: {"zz": np.zeros(1)})
    with pytest.raises(TypeError, match="must return a dict"):
        golden.verify_trace(tr, compute=lambda *args: [])
    rep = golden.verify_trace(tr, compute=lambda *args: {"z_conv_1": np.zeros((1, 9))})
    assert rep.failed == ["z_conv_1"] and "shape (1, 9), expected (1, 1, 9)" in \
        rep.errors["z_conv_1"]
    rep = golden.verify_trace(tr, compute=lambda *args: {})
    assert not rep.ok  # nothing compared is not a pass
    assert "nothing was compared" in rep.summary()


def test_verify_trace_is_not_ok_unless_outputs_and_every_derivative_were_compared(shipped):
    """A computation that gets the forward pass right but leaves out the output or one
    derivative is not ok, and the summary names what is missing and what was not compared;
    require= may name a smaller set on purpose; require="all" insists on every array."""
    tr = shipped["two_layer_overlap_table"]
    full = golden.compute_trace(tr.net, tr.params, tr.X, tr.Gamma, *tr.settings)
    forward = {k: v for k, v in full.items() if k.startswith(("z_", "y_", "t_", "H_"))}
    rep = golden.verify_trace(tr, compute=lambda *a: forward)
    assert not rep.ok and not rep.failed
    assert rep.missing == golden.required_arrays(tr.net, 2)[1:]  # y_ff_L was given
    text = rep.summary()
    assert "FAILED" in text and "required but not given: dJ_dW_conv_1" in text
    assert "not compared:" in text and "delta_conv_1" in text
    no_theta = {k: v for k, v in full.items() if k != "dJ_dTheta_conv_2"}
    rep = golden.verify_trace(tr, compute=lambda *a: no_theta)
    assert not rep.ok and rep.missing == ["dJ_dTheta_conv_2"]
    assert golden.verify_trace(tr, compute=lambda *a: forward, require=[]).ok
    assert golden.verify_trace(tr, compute=lambda *a: forward, require=["z_conv_2"]).ok
    rep = golden.verify_trace(tr, compute=lambda *a: no_theta, require="all")
    assert not rep.ok and rep.missing == ["dJ_dTheta_conv_2"]
    assert golden.verify_trace(tr, compute=lambda *a: full, require="all").ok
    with pytest.raises(ValueError, match="does not compute: \\['X'\\]"):
        golden.verify_trace(tr, require=["X"])
    with pytest.raises(ValueError, match="require must be None, 'all'"):
        golden.verify_trace(tr, require="most")


def test_verify_trace_sees_nan_and_infinities(shipped):
    """A NaN or an infinity in a computed array fails it, even where the trace holds 0."""
    tr = shipped["seed000_hand_note"]
    full = golden.compute_trace(tr.net, tr.params, tr.X, tr.Gamma, *tr.settings)
    for bad in (np.nan, np.inf):
        arrays = dict(full)
        arrays["dJ_dW_conv_1"] = full["dJ_dW_conv_1"].copy()
        arrays["dJ_dW_conv_1"][0, 0] = bad
        rep = golden.verify_trace(tr, compute=lambda *a, arrays=arrays: arrays)
        assert not rep.ok and rep.failed == ["dJ_dW_conv_1"]
        assert rep.diffs["dJ_dW_conv_1"] == np.inf


def test_load_trace_rejects_pickles_and_incomplete_files(tmp_path, shipped):
    with np.load(golden.DATA_DIR / "seed000_hand_note.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    bad = dict(arrays, X=np.array([{"a": 1}], dtype=object))
    np.savez(tmp_path / "pickled.npz", **bad)
    with pytest.raises(ValueError, match="pickle"):
        golden.load_trace(tmp_path / "pickled.npz")
    missing = {k: v for k, v in arrays.items() if k != "delta_conv_1"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(ValueError, match="missing arrays \\['delta_conv_1'\\]"):
        golden.load_trace(tmp_path / "missing.npz")
    wrong = dict(arrays, Q_n=np.zeros(3))
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(ValueError, match="Q_n .* must have shape \\(1,\\), got \\(3,\\)"):
        golden.load_trace(tmp_path / "wrong.npz")
    with pytest.raises(ValueError, match="no index.json"):
        golden.load_traces(tmp_path)


def test_load_trace_is_as_strict_as_load_params(tmp_path):
    """Truncated, empty or foreign files, bad 'meta' or 'network' entries, unexpected arrays,
    wrong dtypes and non-finite inputs raise a ValueError that names the file (never a raw
    BadZipFile, AttributeError or KeyError)."""
    src = golden.DATA_DIR / "seed000_hand_note.npz"
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    raw = src.read_bytes()
    cases = {
        "truncated": (raw[: len(raw) // 2], "truncated or corrupted"),
        "empty": (b"", "empty"),
        "text": (b"hello, not a zip", "not an .npz archive"),
    }
    for name, (data, msg) in cases.items():
        path = tmp_path / f"{name}.npz"
        path.write_bytes(data)
        with pytest.raises(ValueError, match=f"{name}.npz.*{msg}"):
            golden.load_trace(path)
    meta = json.loads(str(arrays["meta"]))
    bad_entries = {
        "meta_list": (dict(arrays, meta=np.array("[1, 2]")), "'meta' entry must be a JSON object"),
        "meta_json": (dict(arrays, meta=np.array("{oops")), "'meta' entry is not valid JSON"),
        "meta_array": (dict(arrays, meta=np.zeros(2)), "'meta' entry must be a JSON string"),
        "meta_mu": (dict(arrays, meta=np.array(json.dumps(dict(meta, mu=-1.0)))),
                    "meta\\['mu'\\] must be a finite number > 0"),
        "meta_N": (dict(arrays, meta=np.array(json.dumps(dict(meta, N="1")))),
                   "meta\\['N'\\] must be an integer"),
        "meta_name": (dict(arrays, meta=np.array(json.dumps({k: v for k, v in meta.items()
                                                             if k != "name"}))),
                      "meta\\['name'\\]"),
        "network": (dict(arrays, network=np.array(json.dumps({"conv": []}))),
                    "does not build a network"),
        "extra": (dict(arrays, W_conv_9=np.zeros(1)), "unexpected arrays \\['W_conv_9'\\]"),
        "dtype": (dict(arrays, Omega_1=arrays["Omega_1"].astype(np.int32)),
                  "Omega_1 .* must be int64, got int32"),
        "nan": (dict(arrays, X=np.full_like(arrays["X"], np.nan)), "X .* NaN or infinite"),
    }
    for name, (entries, msg) in bad_entries.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **entries)
        with pytest.raises(ValueError, match=f"{name}.npz.*{msg}"):
            golden.load_trace(path)
    with pytest.raises(FileNotFoundError):
        golden.load_trace(tmp_path / "absent.npz")


def test_write_traces_rejects_unknown_problems(tmp_path):
    with pytest.raises(ValueError, match="unknown golden problem 'nope'"):
        golden.write_traces(tmp_path, ["nope"])
    with pytest.raises(ValueError, match="unique"):
        golden.write_traces(tmp_path, ["seed000_hand_note", "seed000_hand_note"])


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def test_command_writes_and_checks(tmp_path, capsys):
    """--out writes every trace and the index; --check on it exits 0; after an array is
    changed --check exits 1 and names it; without options the exit status is 2."""
    out = tmp_path / "traces"
    assert main(["golden", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.npz" for n in NAMES] + ["index.json"])
    assert main(["golden", "--check", str(out)]) == 0
    assert f"all {len(NAMES)} traces reproduced" in capsys.readouterr().out
    assert main(["golden", "--check"]) == 0  # the shipped copy
    path = out / "seed000_hand_note.npz"
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["y_ff_2"] = arrays["y_ff_2"] + 1e-6
    np.savez(path, **arrays)
    capsys.readouterr()
    assert main(["golden", "--check", str(out)]) == 1
    text = capsys.readouterr().out
    assert "seed000_hand_note: FAILED" in text and "y_ff_2" in text
    assert main(["golden"]) == 2
    assert main(["golden", "--list"]) == 0
    assert "two_layer_overlap_table" in capsys.readouterr().out
    shutil.rmtree(out)
    assert main(["golden", "--check", str(out)]) == 2


def test_command_check_of_a_directory_without_traces_exits_2(tmp_path, capsys):
    """--check on an empty directory, or on an index that lists no traces, is an error
    (exit 2, one line on stderr, no traceback), never 'all 0 traces reproduced'."""
    capsys.readouterr()
    assert main(["golden", "--check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no index.json" in err and "Traceback" not in err
    index = json.loads((golden.DATA_DIR / "index.json").read_text())
    index["problems"] = []
    (tmp_path / "index.json").write_text(json.dumps(index))
    assert main(["golden", "--check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "lists no traces" in captured.err and captured.err.count("\n") == 1
    assert "reproduced" not in captured.out
    (tmp_path / "index.json").write_text("{not json")
    assert main(["golden", "--check", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    copy = tmp_path / "copy"
    shutil.copytree(golden.DATA_DIR, copy)
    raw = (copy / "seed000_hand_note.npz").read_bytes()
    (copy / "seed000_hand_note.npz").write_bytes(raw[:100])
    assert main(["golden", "--check", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed000_hand_note.npz" in err and "truncated" in err
