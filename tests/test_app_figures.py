"""The figures of ``sayedcnn.app.plots`` say what they show, at the resolution asked for, and
the progress bar of ``sayedcnn.app.progress`` reports running means and the time left."""

import io
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sayedcnn as sc
from sayedcnn.app import plots
from sayedcnn.app.progress import ProgressBar, format_seconds

matplotlib = pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")


def _net():
    return sc.Network((8, 8), conv=[sc.Conv(3, 3, pool=("max", (2, 2))),
                                    sc.Conv(2, 3, pool=("mean", (2, 2)))],
                      hidden=[5, 4], outputs=3)


@pytest.fixture
def captured(monkeypatch):
    """The figures the plotting functions save, instead of only their files."""
    figs = []
    real = plots._save

    def keep(fig, path, dpi):
        figs.append(fig)
        return real(fig, path, dpi)

    monkeypatch.setattr(plots, "_save", keep)
    return figs


def _titles(fig):
    return [ax.get_title(loc="left") or ax.get_title() for ax in fig.axes]


def test_feature_maps_show_pooled_maps_hidden_layers_and_output(tmp_path, captured):
    """Every layer of the forward listing (47.1216) is a titled row: the input, y^(d,c) and
    t^(d,c) of each correlation layer, each hidden layer y_l, and the output y_L."""
    net = _net()
    x = np.random.default_rng(0).random((1, 8, 8))
    plots.feature_maps(net, net.init(seed=1), x, tmp_path / "f.png", label=7)
    titles = [t for t in _titles(captured[0]) if t]
    assert titles[0].startswith("input image (label 7)")
    assert any("maps $y^{(d,1)}$" in t and "8 x 8" in t for t in titles)
    assert any("pooled maps $t^{(d,1)}$ (max), 4 x 4" in t for t in titles)
    assert any("pooled maps $t^{(d,2)}$ (mean), 2 x 2" in t for t in titles)
    assert any(t.startswith("hidden layer $y_{2}$, 5 units") for t in titles)
    assert any(t.startswith("hidden layer $y_{3}$, 4 units") for t in titles)
    assert any(t.startswith("output $y_L$ (3 units)") for t in titles)
    # one colorbar per row of maps: 1 input + 2 x (maps, pooled) + 2 hidden
    n_cbar = sum(1 for ax in captured[0].axes if getattr(ax, "_colorbar", None) is not None)
    assert n_cbar == 7


@pytest.mark.parametrize("dpi", [None, 150])
def test_figures_are_written_at_the_dpi_asked_for(tmp_path, dpi):
    """The PNG files record their resolution: 120 dpi by default, else the dpi given."""
    net = _net()
    params = net.init(seed=0)
    kw = {} if dpi is None else {"dpi": dpi}
    hist = {"epoch": [1, 2], "loss": [0.5, 0.25], "train_acc": [0.5, 0.75],
            "val_acc": [0.4, 0.6]}
    paths = [plots.learning_curves(hist, tmp_path / "c.png", **kw),
             plots.layer1_masks(net, params, tmp_path / "m.png", **kw),
             plots.feature_maps(net, params, np.zeros((1, 8, 8)), tmp_path / "f.png", **kw)]
    want = plots.DPI if dpi is None else dpi
    assert want >= 110
    for path in paths:
        with PIL.open(path) as im:
            assert_allclose(im.info["dpi"][0], want, rtol=1e-3)


@pytest.mark.parametrize("dpi, err, match", [(0, ValueError, "between 10 and 1200"),
                                             (float("nan"), ValueError, "between 10"),
                                             ("high", TypeError, "number of dots per inch")])
def test_a_bad_dpi_is_refused(tmp_path, dpi, err, match):
    with pytest.raises(err, match=match):
        plots.layer1_masks(_net(), _net().init(seed=0), tmp_path / "m.png", dpi=dpi)


def test_masks_have_one_colour_scale_and_its_colorbar(tmp_path, captured):
    net = _net()
    plots.layer1_masks(net, net.init(seed=2), tmp_path / "m.png")
    fig = captured[0]
    assert "(47.1223a)" in fig._suptitle.get_text()
    images = [ax.images[0] for ax in fig.axes if ax.images]
    lims = {im.get_clim() for im in images}
    assert len(images) == 3 and len(lims) == 1  # D_1 = 3 masks on one symmetric scale
    lo, hi = lims.pop()
    assert_allclose(lo, -hi, rtol=0, atol=0)
    assert sum(1 for ax in fig.axes if getattr(ax, "_colorbar", None) is not None) == 1


def test_window_corners_agree_with_the_partition():
    """Each window drawn at its corner reads, entry by entry, what the partition matrix reads
    (47.1152): index[p, a + b*kr] is pixel (corner + (a, b)), or -1 over the padding."""
    for shape, mask, stride, padding in [((7, 6), 3, 2, 1), ((6, 6), (2, 3), 1, "same"),
                                         ((5, 8), 3, (1, 2), "valid")]:
        part = sc.sliding_partition(shape, mask, stride=stride, padding=padding)
        kr, kc = part.mask
        for p, (r, c) in enumerate(plots.window_corners(part, range(part.P))):
            for b in range(kc):
                for a in range(kr):
                    rr, cc = r + a, c + b
                    inside = 0 <= rr < shape[0] and 0 <= cc < shape[1]
                    want = rr + cc * shape[0] if inside else -1
                    assert part.index[p, a + b * kr] == want


def test_regions_and_windows_are_drawn(captured):
    ax = plots.regions_over_image(np.arange(12.0).reshape(4, 3, order="F"),
                                  [[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], mark=[7, 4],
                                  numbers=True)
    assert len(ax.patches) == 12 + 2
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(k) for k in range(1, 13))
    part = sc.sliding_partition((6, 6), 3, padding="valid")
    ax = plots.windows_over_image(np.eye(6), part, [0, 5], labels=["a", "b"])
    assert len(ax.patches) == 2 and [t.get_text() for t in ax.texts] == ["a", "b"]


def test_image_row_colorbars_and_width():
    fig = plots.image_row([np.eye(3)] * 6, [f"m{k}" for k in range(6)], colorbar=True, dpi=60)
    assert len(fig.axes) == 12
    assert fig.get_figwidth() <= 9.0 + 1e-9


def test_matrix_latex_is_readable():
    """Integers as integers, zeros blank unless asked, long sides elided."""
    A = np.zeros((20, 3))
    A[0, 0], A[19, 2], A[5, 1] = 1.0, -0.125, 2.5e-7
    text = plots.matrix_latex(A, max_rows=6)
    assert text.startswith(r"\begin{bmatrix} 1 &  &  \\")
    assert r"\vdots & \vdots & \vdots" in text
    assert text.count(r"\\") == 5  # 3 + 2 rows shown and the row of dots: 6 lines
    assert text.endswith(r" &  & -0.125 \end{bmatrix}")
    assert "10^{-7}" in plots.matrix_latex([2.5e-7])
    with pytest.raises(ValueError, match="vector or a matrix"):
        plots.matrix_latex(np.zeros((2, 2, 2)))


# ---------------------------------------------------------------------------
# progress


class _Clock:
    def __init__(self, step):
        self.t, self.step = -step, step

    def __call__(self):
        self.t += self.step
        return self.t


def test_plain_lines_report_running_means_not_the_last_batch():
    """Not a terminal: each tenth's line gives the size-weighted mean of the epoch so far."""
    s = io.StringIO()
    bar = ProgressBar(1, 10, stream=s, every=0.3, clock=_Clock(1.0))
    losses = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    sizes = [2, 2, 4, 4, 4, 4, 4, 4, 4, 1]
    for k, (loss, n) in enumerate(zip(losses, sizes), start=1):
        bar.add(1, k, size=n, loss=loss, acc=float(k % 2))
    lines = s.getvalue().splitlines()
    assert len(lines) == 3  # steps 3, 6, 9
    for line, k in zip(lines, (3, 6, 9)):
        w = np.array(sizes[:k], dtype=float)
        loss = np.sum(w * np.array(losses[:k])) / w.sum()
        acc = np.sum(w * (np.arange(1, k + 1) % 2)) / w.sum()
        m = re.search(r"running mean loss ([\d.]+) acc ([\d.]+)", line)
        assert m, line
        assert_allclose([float(m.group(1)), float(m.group(2))], [loss, acc], atol=5e-5)
        assert f"({k}/10 batches)" in line


def test_eta_is_the_mean_step_time_times_the_steps_left():
    s = io.StringIO()
    bar = ProgressBar(3, 4, stream=s, every=1 / 12, clock=_Clock(30.0))  # 30 s per call
    bar.update(1, 1, loss=0.5)  # 30 s for 1 step, 11 left: 330 s
    bar.update(1, 2, loss=0.5)  # 60 s for 2 steps, 10 left: 300 s
    first, second = s.getvalue().splitlines()
    assert first.endswith("0:30, eta 5:30") and second.endswith("1:00, eta 5:00")
    bar.end_epoch(1, loss=0.4)  # 90 s for 4 steps, 8 left
    assert s.getvalue().splitlines()[-1] == "epoch 1/3 done: loss 0.4000 1:30, eta 3:00"


def test_eta_of_a_resumed_run_counts_from_where_it_resumed():
    s = io.StringIO()
    bar = ProgressBar(10, 6, stream=s, tty=True, clock=_Clock(10.0))
    bar.update(9, 1)  # resumed at epoch 9: 1 step in 10 s, 11 steps left
    assert s.getvalue().rstrip().endswith("0:10, eta 1:50")


def test_terminal_line_fits_80_columns_and_redraws():
    s = io.StringIO()
    bar = ProgressBar(15, 125, stream=s, tty=True, clock=_Clock(0.5))
    for k in range(1, 126):
        bar.add(12, k, size=32, loss=0.123456, acc=0.987654)
    frames = s.getvalue().split("\r")[1:]
    assert len(frames) == 125
    assert max(len(f.rstrip()) for f in frames) <= 80
    assert "[####################] 100%" in frames[-1]


def test_format_seconds():
    assert [format_seconds(x) for x in (0, 59.4, 61, 3599, 3600, 36125)] == [
        "0:00", "0:59", "1:01", "59:59", "1:00:00", "10:02:05"]
