"""Every golden trace exercises what it claims, in the backward pass too.

A trace whose relu is dead, or whose pooled maps never reach the output, checks the forward
pass only: every sensitivity and derivative behind the dead part is exactly 0 and any
backward bug there goes unseen. These tests read each shipped trace with plain numpy and
check, from the stored numbers alone,

* liveness: in every layer and sample, every map's sensitivity delta_n^(d,c) has nonzero
  entries; every connected entry of W_c has a data-term derivative (dJ/dW_c minus the
  rho_1 term) different from 0; every pooled map t_n^(d,c) reaches the output (the vector
  v = dQ_n/dt^(d,c) that enters permute# is not 0);
* the rules of index.json: each trace that claims a rule shows it in its numbers (an
  exact tie of different patches with a live winner, a relu entry at exactly 0 with a
  nonzero dQ/dy, an all-zero l2 region with a live output, ...).
"""

import json

import numpy as np
import pytest

from sayedcnn.interop import golden

NAMES = [p.name for p in golden.PROBLEMS]

_FP = {"sigmoid": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
       "tanh": lambda z: 1 - np.tanh(z) ** 2, "relu": lambda z: (z > 0) * 1.0,
       "linear": np.ones_like}


@pytest.fixture(scope="module")
def shipped():
    return golden.load_traces()


def _regions(a, c, P):
    """The regions of layer c (rows of Omega_c without the -1 fill), or each entry alone."""
    if f"Omega_{c}" not in a:
        return [np.array([p]) for p in range(P)]
    return [r[r >= 0] for r in a[f"Omega_{c}"]]


def upstream(tr, c):
    """v[n, d, p'] = dQ_n/dt_n^(d,c), from the stored sensitivities of the next layer:
    block d of W_1^T delta_2 for c = C (47.1241), sum_d' V^(d,d',c+1) delta^(d',c+1)
    otherwise (47.1258)."""
    a, net = tr.arrays, tr.net
    ly = net.layers[c - 1]
    N = tr.X.shape[0]
    if c == net.C:
        return (a["delta_ff_2"] @ a["W_ff_1"]).reshape(N, ly.D, ly.P_out)
    return np.einsum("deqp,nep->ndq", a[f"V_ddc_{c + 1}"], a[f"delta_conv_{c + 1}"])


def gradient_vector(kind, u, pool):
    """Table 47.14 with the documented rules (``pool`` gives ``retain`` and ``mask``)."""
    if kind == "max":
        g = np.zeros(u.size)
        g[np.flatnonzero(u == u.max())[0]] = 1.0
        return g
    if kind == "mean":
        return np.full(u.size, 1.0 / u.size)
    if kind == "l2":
        t = np.sqrt(np.sum(u ** 2))
        return u / t if t > 0 else np.zeros(u.size)
    if kind == "subsample":
        return np.eye(u.size)[pool.retain]
    return np.asarray(pool.mask, dtype=float)


def dQ_dy(tr, c):
    """u[n, d, p] = dQ_n/dy_n^(d,c) = permute#(upv(v)) (47.1204), and the number of regions
    that contribute a nonzero amount to each entry."""
    a, net = tr.arrays, tr.net
    ly = net.layers[c - 1]
    pool = ly.pooling if ly.pooled else None
    v, y = upstream(tr, c), a[f"y_conv_{c}"]
    N = y.shape[0]
    u = np.zeros((N, ly.D, ly.P))
    hits = np.zeros((N, ly.D, ly.P), dtype=int)
    if pool is None:
        return v.copy(), (v != 0).astype(int)
    for n in range(N):
        for d in range(ly.D):
            for q, reg in enumerate(_regions(a, c, ly.P)):
                g = gradient_vector(pool.kind, y[n, d, reg], pool)
                u[n, d, reg] += v[n, d, q] * g
                hits[n, d, reg] += (v[n, d, q] * g) != 0
    return u, hits


def dead_parts(tr):
    """What of the trace the backward pass does not reach; [] for a live trace."""
    a, net = tr.arrays, tr.net
    rho1 = tr.settings[0]
    N = tr.X.shape[0]
    out = []
    for ly in net.layers:
        c = ly.c
        dl, v = a[f"delta_conv_{c}"], upstream(tr, c)
        for n in range(N):
            for d in range(ly.D):
                if not np.any(dl[n, d]):
                    out.append(f"delta_conv_{c}[{n}, {d}] is 0")
                if not np.any(v[n, d]):
                    out.append(f"t_conv_{c}[{n}, {d}] does not reach the output")
        conn = a[f"conn_{c}"].astype(bool)
        data = a[f"dJ_dW_conv_{c}"] - 2 * rho1 * a[f"W_conv_{c}"]
        dead = np.argwhere((data == 0) & np.repeat(conn, ly.S, axis=0))
        if dead.size:
            out.append(f"dJ_dW_conv_{c} has a zero data term at connected entries "
                       f"{dead.tolist()}")
        dead = np.argwhere((a[f"dJ_dTheta_conv_{c}"] == 0) & conn)
        if dead.size:
            out.append(f"dJ_dTheta_conv_{c} is 0 at connected entries {dead.tolist()}")
    for l in range(1, net.L):
        if not np.all(np.any(a[f"dJ_dW_ff_{l}"] != 0, axis=1)):
            out.append(f"dJ_dW_ff_{l} has a zero row")
    return out


def _row_major(reg, rows):
    """The entries of a region in row-major order (p = r + c*rows)."""
    return sorted(reg, key=lambda p: (p % rows, p // rows))


def _patch(a, c, n, p):
    """Patch of position p of layer c over every input map: H_{c-1}[n, :, :, p]."""
    return a[f"H_{c - 1}"][n, :, :, p]


def _pool_layers(tr, kind):
    return [ly for ly in tr.net.layers if ly.pooled and ly.pooling.kind == kind]


def evidence(tr, rule):
    """True when the trace's numbers depend on ``rule`` of :data:`golden.RULES`."""
    a, net = tr.arrays, tr.net
    N = tr.X.shape[0]
    if rule == "max_ties":
        any_tie = row_major_differs = False
        for ly in _pool_layers(tr, "max"):
            c, rows = ly.c, ly.map_shape[0]
            v, y, z = upstream(tr, c), a[f"y_conv_{c}"], a[f"z_conv_{c}"]
            fp = _FP[ly.activation.name]
            for n in range(N):
                for d in range(ly.D):
                    for q, reg in enumerate(_regions(a, c, ly.P)):
                        tied = [p for p in reg if y[n, d, p] == y[n, d, reg].max()]
                        if len(tied) < 2 or v[n, d, q] == 0 or fp(z[n, d, tied[0]]) == 0:
                            continue
                        if np.array_equal(_patch(a, c, n, tied[0]), _patch(a, c, n, tied[1])):
                            continue
                        any_tie = True
                        first_rm = [p for p in _row_major(reg, rows) if p in tied][0]
                        row_major_differs |= (
                            first_rm != tied[0]
                            and not np.array_equal(_patch(a, c, n, first_rm),
                                                   _patch(a, c, n, tied[0])))
        return any_tie and row_major_differs
    if rule == "subsample_order":
        for ly in _pool_layers(tr, "subsample"):
            c, k = ly.c, ly.pooling.retain
            v = upstream(tr, c)
            for q, reg in enumerate(_regions(a, c, ly.P)):
                if _row_major(reg, ly.map_shape[0])[k] != reg[k] and np.any(v[:, :, q]):
                    return True
        return False
    if rule == "relu_at_zero":
        for ly in net.layers:
            if ly.activation.name == "relu":
                u, _ = dQ_dy(tr, ly.c)
                if np.any((a[f"z_conv_{ly.c}"] == 0) & (u != 0)):
                    return True
        return False
    if rule == "l2_zero_region":
        for ly in _pool_layers(tr, "l2"):
            c = ly.c
            v, y, z = upstream(tr, c), a[f"y_conv_{c}"], a[f"z_conv_{c}"]
            fp = _FP[ly.activation.name]
            for n in range(N):
                for d in range(ly.D):
                    for q, reg in enumerate(_regions(a, c, ly.P)):
                        if (np.all(y[n, d, reg] == 0) and v[n, d, q] != 0
                                and np.all(fp(z[n, d, reg]) != 0)):
                            return True
        return False
    if rule == "even_same":
        return any(ly.spec.padding == "same" and ly.partition.mask[0] % 2 == 0
                   and ly.partition.mask[1] % 2 == 0 for ly in net.layers)
    if rule == "stride_leftover":
        for ly in net.layers:
            pt = ly.partition
            for ax in (0, 1):
                span = ly.in_shape[ax] + pt.pad_before[ax] + pt.pad_after[ax] - pt.mask[ax]
                if pt.stride[ax] > 1 and span % pt.stride[ax]:
                    return True
        return False
    if rule == "pool_leftover":
        return any(ly.pooled and np.unique(np.concatenate(_regions(a, ly.c, ly.P))).size
                   < ly.P for ly in net.layers)
    if rule == "overlap_sum":
        for ly in net.layers:
            if ly.pooled and not ly.pooling.disjoint:
                _, hits = dQ_dy(tr, ly.c)
                if np.any(hits >= 2):
                    return True
        return False
    if rule == "connection_table":
        for ly in net.layers:
            outside = ~np.repeat(a[f"conn_{ly.c}"].astype(bool), ly.S, axis=0)
            if outside.any() and np.all(a[f"W_conv_{ly.c}"][outside] != 0):
                return True
        return False
    if rule == "bias_split":
        return any(np.any(a[f"conn_{ly.c}"].sum(axis=0) >= 2) for ly in net.layers)
    raise KeyError(rule)


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_trace_is_live_in_the_backward_pass(shipped, name):
    """Every map of every layer and sample has a nonzero sensitivity, every connected entry
    of every W_c a nonzero data-term derivative, every pooled map a path to the output."""
    assert dead_parts(shipped[name]) == []


@pytest.mark.parametrize("name", NAMES)
def test_every_claimed_rule_decides_numbers_of_the_trace(shipped, name):
    """Each rule a trace names (index.json 'rules') shows in its stored numbers."""
    tr = shipped[name]
    for rule in tr.meta["rules"]:
        assert evidence(tr, rule), (name, rule)


def test_every_rule_is_exercised_and_listed_in_the_index(shipped):
    """Every rule of RULES is claimed (and shown) by at least one trace, and index.json
    lists, for each rule, exactly the traces that claim it."""
    index = json.loads((golden.DATA_DIR / "index.json").read_text())
    assert set(index["rules"]) == set(golden.RULES)
    for rule, entry in index["rules"].items():
        assert entry["rule"] == golden.RULES[rule]
        claim = [n for n in NAMES if rule in shipped[n].meta["rules"]]
        assert entry["traces"] == claim and claim, rule
        assert all(evidence(shipped[n], rule) for n in claim), rule
    for p in golden.PROBLEMS:
        assert set(p.rules) <= set(golden.RULES), p.name


def test_the_checks_see_a_dead_trace(shipped):
    """The liveness check is not vacuous: killing layer 2 (its relu made dead by a large
    bias) is reported, as in the first seed of two_layer_overlap_table."""
    prob = golden._problem("two_layer_overlap_table")
    net, params, X, Gamma = golden.problem_data(prob)
    params.Theta_conv[2] = params.Theta_conv[2] + 100.0 * net.layers[1].conn
    arrays = golden.compute_trace(net, params, X, Gamma, prob.rho1, prob.rho2, prob.mu)
    tr = shipped["two_layer_overlap_table"]
    dead = golden.Trace(tr.path, tr.net, dict(tr.arrays, **arrays), tr.meta)
    found = dead_parts(dead)
    assert any("delta_conv_2" in f for f in found) and any("delta_conv_1" in f for f in found)


def test_the_rule_checks_are_not_vacuous(shipped):
    """On continuous random data the edge rules do not show: no exact max tie, no relu entry
    at exactly 0, no all-zero l2 region, no row/column-major difference of a retain of 3."""
    assert not evidence(shipped["one_layer_same_max"], "max_ties")
    assert not evidence(shipped["two_layer_overlap_table"], "max_ties")
    assert not evidence(shipped["one_layer_valid_mean_cross_entropy"], "relu_at_zero")
    assert not evidence(shipped["one_layer_stride2_l2"], "l2_zero_region")
    assert not evidence(shipped["two_layer_valid_stride2_subsample_correlation"],
                        "subsample_order")
    assert not evidence(shipped["one_layer_same_max"], "stride_leftover")
    assert not evidence(shipped["one_layer_same_max"], "pool_leftover")
