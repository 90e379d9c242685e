"""python -m sayedcnn exercises: different problems for different seeds, every solution equal to
the scalar loops, the image-domain references and finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sayedcnn.app.cli import main
from sayedcnn.reference import finite_diff, image, loops
from sayedcnn.teaching import exercises

SEEDS = range(6)


def test_two_seeds_differ_and_one_seed_repeats(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d, s in ((a, 0), (b, 1), (c, 0)):
        assert main(["exercises", "--seed", str(s), "--out", str(d)]) == 0
    for name in ("exercises.md", "solutions.md"):
        ta, tb, tc = ((d / name).read_text() for d in (a, b, c))
        assert ta != tb and ta == tc
    for e0, e1 in zip(exercises.make(0), exercises.make(1)):
        assert e0.statement != e1.statement
    text = (a / "solutions.md").read_text()
    assert text.count("## Exercise") == len(exercises.TOPICS) and "\\begin{array}" in text


def test_topics_and_errors(tmp_path, capsys):
    assert main(["exercises", "--seed", "2", "--out", str(tmp_path), "--topic", "pooling"]) == 0
    assert (tmp_path / "exercises.md").read_text().count("## Exercise") == 1
    capsys.readouterr()
    assert main(["exercises", "--out", str(tmp_path), "--topic", "nope"]) == 2
    err = capsys.readouterr().err
    assert "topics must be some of" in err and len(err.strip().splitlines()) == 1
    assert main(["exercises", "--seed", "-3", "--out", str(tmp_path)]) == 2
    # the topic's problem does not depend on the others asked for
    assert exercises.make(4, ["sgd"])[0].statement == exercises.make(4)[-1].statement


def _padded(img, k, stride, padding):
    rows, cols = img.shape
    if padding == "valid":
        return img
    # 'same': (k-1)//2 zeros before, enough after for ceil(L/s) outputs (DESIGN.md, point 2)
    out_r, out_c = -(-rows // stride), -(-cols // stride)
    before = (k - 1) // 2
    after_r = (out_r - 1) * stride + k - before - rows
    after_c = (out_c - 1) * stride + k - before - cols
    P = np.zeros((rows + before + after_r, cols + before + after_c))
    P[before:before + rows, before:before + cols] = img
    return P


@pytest.mark.parametrize("seed", SEEDS)
def test_partition_solution(seed):
    e = exercises.make(seed, ["partition"])[0]
    img, W = e.data["image"], e.data["mask"]
    k, s = W.shape[0], e.data["stride"]
    ref = image.correlate_valid(_padded(img, k, s, e.data["padding"]), W)[::s, ::s]
    assert_allclose(e.answer["F"], ref, rtol=0, atol=1e-12)
    # every column of H is the patch read straight off the padded image, column-major
    Pd = _padded(img, k, s, e.data["padding"])
    nr, nc = ref.shape
    for j in range(nc):
        for i in range(nr):
            patch = Pd[i * s:i * s + k, j * s:j * s + k].reshape(-1, order="F")
            assert_allclose(e.answer["H"][:, i + j * nr], patch, rtol=0, atol=0)
    V = e.answer["V"]
    assert set(np.unique(V)) <= {0.0, 1.0} and (V.sum(axis=1) <= 1).all()
    assert_allclose(V @ img.reshape(-1, order="F"), e.answer["H"].reshape(-1, order="F"))


@pytest.mark.parametrize("seed", SEEDS)
def test_pooling_solution(seed):
    e = exercises.make(seed, ["pooling"])[0]
    Y, kind = e.data["y"], e.data["kind"]
    rows, cols = Y.shape
    y = Y.reshape(-1, order="F")
    blocks = [Y[i:i + 2, j:j + 2].reshape(-1, order="F")
              for j in range(0, cols, 2) for i in range(0, rows, 2)]  # column-major p'
    fun = {"max": np.max, "mean": np.mean, "l2": lambda b: np.sqrt(np.sum(b**2)),
           "subsample": lambda b: b[0]}[kind]
    assert_allclose(e.answer["t"], [fun(b) for b in blocks], rtol=1e-15, atol=0)
    assert_allclose(e.answer["Ty"], np.concatenate(blocks), rtol=0, atol=0)
    for reg, g, b in zip(e.answer["regions"], e.answer["g"], blocks):
        assert_allclose(y[reg], b, rtol=0, atol=0)
        fd = finite_diff.central_differences(lambda u: fun(u), b, h=1e-4, order=4)
        assert_allclose(g, fd, rtol=1e-8, atol=1e-10)  # g_p' (47.1196)


@pytest.mark.parametrize("seed", SEEDS)
def test_forward_solution(seed):
    e = exercises.make(seed, ["forward"])[0]
    fw = loops.forward(e.data["net"], e.data["params"], e.data["x"])
    for key, ref in (("z", fw["z_conv"][1][0]), ("y", fw["y_conv"][1][0]),
                     ("t", fw["t_conv"][1][0]), ("H", fw["H_conv"][1][0])):
        assert_allclose(e.answer[key], ref, rtol=1e-14, atol=1e-15)


def _loss_of_z(net, p, z, gamma):
    """Q as a function of z^(1,1) for the one-layer network, by plain numpy."""
    ly = net.layers[0]
    y = np.tanh(z).reshape(ly.map_shape, order="F")
    kind = ly.pooling.kind
    fun = {"max": np.max, "mean": np.mean, "l2": lambda b: np.sqrt(np.sum(b**2))}[kind]
    t = np.array([fun(y[:, j]) for j in range(y.shape[1])])  # 2 x 1 blocks: the columns
    out = 1.0 / (1.0 + np.exp(-(p.W_ff[1] @ t - p.theta_ff[1])))
    return float(np.sum((gamma - out) ** 2))


@pytest.mark.parametrize("seed", SEEDS)
def test_sensitivity_solution(seed):
    e = exercises.make(seed, ["sensitivity"])[0]
    net, p, x, gamma = (e.data[k] for k in ("net", "params", "x", "gamma"))
    bw = loops.backward(net, p, x, gamma)
    assert_allclose(e.answer["delta_2"], bw["delta_ff"][2], rtol=1e-13, atol=1e-15)
    assert_allclose(e.answer["delta_conv"], bw["delta_conv"][1][0], rtol=1e-13, atol=1e-15)
    z = bw["forward"]["z_conv"][1][0]
    fd = finite_diff.central_differences(lambda u: _loss_of_z(net, p, u, gamma), z, h=1e-5,
                                         order=4)
    assert_allclose(e.answer["delta_conv"], fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_sgd_solution(seed):
    e = exercises.make(seed, ["sgd"])[0]
    net, p, x, gamma, mu = (e.data[k] for k in ("net", "params", "x", "gamma", "mu"))
    g = loops.gradients(net, p, x[None], gamma[None])
    assert e.answer["grads"].max_rel_diff(g) < 1e-12
    assert finite_diff.check_gradients(net, p, x[None], gamma[None], grads=e.answer["grads"]) \
        < 1e-6
    expect = p.map(lambda a, b: a - mu * b, g)
    assert e.answer["params"].max_rel_diff(expect) < 1e-12
