r"""Figures of a training run: learning curves, the learned masks of layer 1, and the
feature maps of one image at every layer of the forward listing (47.1216).

matplotlib is optional: it is imported only inside these functions (through its object
interface and the Agg canvas, so no global backend is changed), and :func:`have_matplotlib`
tells a caller whether figures can be drawn at all.
"""

from __future__ import annotations

import numpy as np

from ..operators import unvec

__all__ = ["have_matplotlib", "learning_curves", "layer1_masks", "feature_maps", "image_row",
           "spy_row"]


def have_matplotlib():
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi):
    fig.savefig(path, dpi=dpi)
    return path


def learning_curves(history, path, batch_trace=None, title=None, dpi=80):
    r"""Loss and accuracy per epoch, written as a PNG to ``path``.

    ``history`` is the dict of :func:`sayedcnn.training.fit` (``epoch``, ``loss``,
    ``train_acc``, ``val_acc``); ``batch_trace`` optionally gives ``(fractional_epochs,
    batch_losses)`` drawn faintly behind the epoch means. Returns ``path``.
    """
    from matplotlib.ticker import MaxNLocator

    fig = _figure(8, 3.2)
    ax1, ax2 = fig.subplots(1, 2)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ep = np.asarray(history["epoch"], dtype=float)
    if batch_trace is not None and len(batch_trace[0]):
        ax1.plot(batch_trace[0], batch_trace[1], color="0.75", lw=0.6, label="mini-batch")
    ax1.plot(ep, history["loss"], "o-", color="C0", label="epoch mean")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("risk (data term)")
    ax1.set_yscale("log")
    ax1.legend(fontsize=8)
    for key, lab, col in (("train_acc", "train", "C0"), ("val_acc", "test", "C1")):
        vals = np.asarray(history.get(key, []), dtype=float)
        if vals.size and np.isfinite(vals).any():
            ax2.plot(ep, 100 * vals, "o-", color=col, label=lab)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy (%)")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path, dpi)


def layer1_masks(net, params, path, dpi=80):
    r"""The learned masks :math:`w_j^{(d,1)}` of layer 1 as images, written to ``path``.

    Column ``d`` of :math:`W_1` is :math:`\mathrm{col}\{w_1^{(d,1)}, \dots,
    w_{D_0}^{(d,1)}\}` (47.1223a); each :math:`w_j^{(d,1)}` (``S_1`` entries) is shown as
    the mask it vectorises (column-major). One row per input map ``j``, one column per
    output map ``d`` (with one input map, rows of eight masks). Returns ``path``.
    """
    ly = net.layers[0]
    mask_shape = ly.partition.mask
    W = params.W_conv[1]
    # one row per input map; with a single input map, wrap the D_1 masks in rows of 8
    per_row = min(ly.D, 8) if ly.D_in == 1 else ly.D
    rows = -(-ly.D // per_row) if ly.D_in == 1 else ly.D_in
    fig = _figure(max(1.0 * per_row, 3), 1.1 * rows + 0.5)
    axes = fig.subplots(rows, per_row, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    lim = float(np.max(np.abs(W))) or 1.0
    for j in range(ly.D_in):
        for d in range(ly.D):
            r, col = (d // per_row, d % per_row) if ly.D_in == 1 else (j, d)
            ax = axes[r, col]
            w = W[j * ly.S:(j + 1) * ly.S, d]  # w_j^(d,1) (47.1223a)
            ax.imshow(unvec(w, mask_shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"d={d + 1}" + (f", j={j + 1}" if ly.D_in > 1 else ""), fontsize=7)
    fig.suptitle("learned masks of layer 1 (red > 0, blue < 0)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path, dpi)


def feature_maps(net, params, x, path, label=None, max_maps=16, dpi=80):
    r"""The feature maps of one image ``x`` (``D_0 x rows x cols``) at every layer, by the
    forward listing (47.1216): the input maps, then for each ``c`` the maps
    :math:`y^{(d,c)} = f(z^{(d,c)})` (before pooling), then the output :math:`y_L`.
    Written to ``path``; returns ``path``.
    """
    from ..forward import forward_listing

    x = net.check_images(x)[0]
    res = forward_listing(net, params, x)
    rows = 1 + net.C + 1
    ncol = max(min(max(ly.D for ly in net.layers), max_maps), net.input_depth, 4)
    fig = _figure(0.8 * ncol + 0.4, 1.05 * rows + 0.3)
    gs = fig.add_gridspec(rows, ncol, left=0.02, right=0.98, bottom=0.06, top=0.93,
                          hspace=0.45, wspace=0.08)

    def show(r, col, img, cmap):
        ax = fig.add_subplot(gs[r, col])
        ax.imshow(img, cmap=cmap)
        ax.set_axis_off()
        return ax

    for j in range(net.input_depth):
        ax = show(0, j, x[j], "gray_r")
        if j == 0:
            ax.set_title("input" + (f" (label {label})" if label is not None else ""),
                         fontsize=8, loc="left")
    for ly in net.layers:
        for d in range(min(ly.D, ncol)):
            ax = show(ly.c, d, unvec(res.y_conv[d + 1, ly.c], ly.map_shape), "viridis")
            if d == 0:
                more = f" (first {ncol} of {ly.D})" if ly.D > ncol else ""
                ax.set_title(f"c = {ly.c}: maps y^(d,{ly.c}), {ly.map_shape[0]}x"
                             f"{ly.map_shape[1]}, f = {ly.activation.name}{more}", fontsize=8,
                             loc="left")
    ax = fig.add_subplot(gs[-1, 1:min(ncol, 8)])
    out = res.output
    ax.bar(np.arange(out.size), out, color="C1")
    ax.set_xticks(np.arange(out.size))
    ax.tick_params(labelsize=6)
    ax.set_title(f"output y_L, largest at {int(np.argmax(out))}", fontsize=8, loc="left")
    return _save(fig, path, dpi)


def _row(n, width, height):
    from matplotlib.figure import Figure  # the figure's dpi follows matplotlib's rcParams

    fig = Figure(figsize=(width * n, height))
    axes = fig.subplots(1, n, squeeze=False)[0]
    return fig, axes


def image_row(images, titles, shape=None, cmap=None, width=1.5, height=1.8):
    r"""Images side by side, for reading maps in a notebook; returns a matplotlib Figure.

    A map given as a vector (a feature map :math:`y_n^{(d,c)}` or :math:`t_n^{(d,c)}`) is
    shown as ``unvec(v, shape)`` (47.1127); 2-D and RGB ``rows x cols x 3`` arrays are shown
    as they are.
    """
    fig, axes = _row(len(images), width, height)
    for ax, im, title in zip(axes, images, titles):
        im = np.asarray(im)
        ax.imshow(unvec(im, shape) if im.ndim == 1 else im, cmap=cmap)
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    return fig


def spy_row(mats, titles, markersize=3, size=2.6):
    r"""Sparsity patterns side by side (partition matrices :math:`V` (47.1153),
    :math:`V^{(d,d',c+1)}` (47.1257), :math:`\Delta_{n,c}` (47.1270), ...); returns a
    matplotlib Figure."""
    fig, axes = _row(len(mats), size, size)
    for ax, A, title in zip(axes, mats, titles):
        ax.spy(A, markersize=markersize, aspect="auto")
        ax.set_title(title, fontsize=8)
    return fig
