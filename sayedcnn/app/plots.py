r"""Figures of a training run and of the notebooks: learning curves, the learned masks of
layer 1, one image through every layer of the forward listing (47.1216), rows of images and
sparsity patterns.

Every figure says what it shows (a title naming the quantity and its equation, colorbars on
maps and masks), is drawn with fonts readable on a slide, and accepts ``dpi`` (120 by
default for the written PNG files).

matplotlib is optional: it is imported only inside these functions (through its object
interface and the Agg canvas, so no global backend is changed), and :func:`have_matplotlib`
tells a caller whether figures can be drawn at all.
"""

from __future__ import annotations

import numpy as np

from ..operators import unvec

__all__ = ["DPI", "have_matplotlib", "learning_curves", "layer1_masks", "feature_maps",
           "image_row", "spy_row", "window_corners", "windows_over_image", "regions_over_image",
           "matrix_latex"]

#: Resolution of the PNG files written by :func:`learning_curves`, :func:`layer1_masks` and
#: :func:`feature_maps` unless a ``dpi`` is given (``train --dpi``).
DPI = 120

_TITLE = 11  # font sizes, in points: readable on a projected slide
_LABEL = 10
_TICK = 9


def have_matplotlib():
    r"""Whether matplotlib can be imported.

    Examples
    --------
    >>> from sayedcnn.app.plots import have_matplotlib
    >>> have_matplotlib() in (True, False)
    True
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _check_dpi(dpi):
    if dpi is None:
        return None
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float, np.integer, np.floating)):
        raise TypeError(f"dpi must be a number of dots per inch, got {dpi!r}")
    if not np.isfinite(dpi) or not 10 <= dpi <= 1200:
        raise ValueError(f"dpi must be between 10 and 1200 dots per inch, got {dpi!r}")
    return float(dpi)


def _figure(width, height, dpi=None):
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi or rcParams["figure.dpi"])
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi):
    fig.savefig(path, dpi=dpi)
    return path


def _colorbar(fig, im, axes, label=None):
    cb = fig.colorbar(im, ax=axes, fraction=0.04, pad=0.02, aspect=15)
    cb.ax.tick_params(labelsize=_TICK - 1)
    if label:
        cb.set_label(label, fontsize=_TICK)
    return cb


def learning_curves(history, path, batch_trace=None, title=None, dpi=DPI):
    r"""Risk and accuracy per epoch of a run of (47.1276), written as a PNG to ``path``.

    The left panel is the data term of the empirical risk (47.1229) averaged over each epoch
    (log scale), with the mini-batch values behind it; the right panel the accuracy on the
    training and the test images after each epoch.

    Parameters
    ----------
    history : dict
        As returned by ``fit``: ``epoch``, ``loss``, ``train_acc`` and ``val_acc``.
    path : str or path-like
        The PNG file to write.
    batch_trace : (array_like, array_like), optional
        ``(fractional_epochs, batch_losses)``, drawn faintly behind the epoch means.
    title : str, optional
        A line above both panels.
    dpi : float
        Resolution of the PNG.

    Returns
    -------
    path
        ``path``, once written.

    Examples
    --------
    >>> import tempfile, os
    >>> from sayedcnn.app.plots import learning_curves
    >>> h = {"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.3], "train_acc": [0.6, 0.8, 0.9],
    ...      "val_acc": [0.55, 0.75, 0.85]}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = learning_curves(h, os.path.join(folder, "c.png"), dpi=50)
    ...     print(os.path.basename(out), os.path.getsize(out) > 0)
    c.png True
    """
    from matplotlib.ticker import MaxNLocator

    dpi = _check_dpi(dpi)
    fig = _figure(10, 4.0, dpi)
    ax1, ax2 = fig.subplots(1, 2)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=_TICK)
    ep = np.asarray(history["epoch"], dtype=float)
    if batch_trace is not None and len(batch_trace[0]):
        ax1.plot(batch_trace[0], batch_trace[1], color="0.7", lw=0.6, label="mini-batch")
    ax1.plot(ep, history["loss"], "o-", color="C0", label="epoch mean")
    ax1.set_xlabel("epoch", fontsize=_LABEL)
    ax1.set_ylabel("risk, data term of (47.1229)", fontsize=_LABEL)
    ax1.set_yscale("log")
    ax1.set_title("training risk", fontsize=_TITLE)
    ax1.legend(fontsize=_TICK)
    for key, lab, col in (("train_acc", "training images", "C0"), ("val_acc", "test images",
                                                                     "C1")):
        vals = np.asarray(history.get(key, []), dtype=float)
        if vals.size and np.isfinite(vals).any():
            ax2.plot(ep, 100 * vals, "o-", color=col, label=lab)
    ax2.set_xlabel("epoch", fontsize=_LABEL)
    ax2.set_ylabel("accuracy (%)", fontsize=_LABEL)
    ax2.set_title("accuracy after each epoch", fontsize=_TITLE)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=_TICK)
    if title:
        fig.suptitle(title, fontsize=_TITLE)
    fig.tight_layout()
    return _save(fig, path, dpi)


def layer1_masks(net, params, path, dpi=DPI):
    r"""The learned masks :math:`w_j^{(d,1)}` of layer 1 as images, written to ``path``.

    Column ``d`` of :math:`W_1` is :math:`\mathrm{col}\{w_1^{(d,1)}, \dots,
    w_{D_0}^{(d,1)}\}` (47.1223a); each :math:`w_j^{(d,1)}` (``S_1`` entries) is shown as
    the mask it vectorises (column-major, (47.1127)), on one colour scale centred on zero
    with its colorbar. One row per input map ``j``, one column per output map ``d`` (with
    one input map, rows of eight masks).

    Parameters
    ----------
    net : Network
    params : Params
    path : str or path-like
        The PNG file to write.
    dpi : float
        Resolution of the PNG.

    Returns
    -------
    path
        ``path``, once written.

    Examples
    --------
    >>> import tempfile, os
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.plots import layer1_masks
    >>> net = sc.Network((6, 6), conv=[sc.Conv(3, 3)], outputs=2)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = layer1_masks(net, net.init(seed=0), os.path.join(folder, "m.png"))
    ...     print(os.path.basename(out), os.path.getsize(out) > 0)
    m.png True
    """
    dpi = _check_dpi(dpi)
    ly = net.layers[0]
    mask_shape = ly.partition.mask
    W = params.W_conv[1]
    # one row per input map; with a single input map, wrap the D_1 masks in rows of 8
    per_row = min(ly.D, 8) if ly.D_in == 1 else ly.D
    rows = -(-ly.D // per_row) if ly.D_in == 1 else ly.D_in
    fig = _figure(max(1.25 * per_row + 1.2, 4.5), 1.35 * rows + 0.9, dpi)
    axes = fig.subplots(rows, per_row, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    lim = float(np.max(np.abs(W))) or 1.0
    im = None
    for j in range(ly.D_in):
        for d in range(ly.D):
            r, col = (d // per_row, d % per_row) if ly.D_in == 1 else (j, d)
            ax = axes[r, col]
            w = W[j * ly.S:(j + 1) * ly.S, d]  # w_j^(d,1) (47.1223a)
            im = ax.imshow(unvec(w, mask_shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"d = {d + 1}" + (f", j = {j + 1}" if ly.D_in > 1 else ""),
                         fontsize=_TICK)
    _colorbar(fig, im, axes.ravel().tolist(), "weight")
    fig.suptitle(f"learned masks $w^{{(d,1)}}$ of layer 1, {mask_shape[0]} x {mask_shape[1]} "
                 "(47.1223a); red > 0, blue < 0", fontsize=_TITLE)
    return _save(fig, path, dpi)


def _strip(v, width):
    """A vector as an image of ``ceil(len/width)`` rows, NaN-padded."""
    v = np.asarray(v, dtype=float).ravel()
    rows = -(-v.size // width)
    out = np.full(rows * width, np.nan)
    out[:v.size] = v
    return out.reshape(rows, width)


def feature_maps(net, params, x, path, label=None, max_maps=8, dpi=DPI):
    r"""One image ``x`` (``D_0 x rows x cols``) through every layer of the forward listing
    (47.1216), written to ``path``.

    Rows, top to bottom: the input maps; for each correlation layer ``c`` the maps
    :math:`y^{(d,c)} = f(z^{(d,c)})` before pooling and, when the layer pools, the pooled
    maps :math:`t^{(d,c)}` (47.1226), each row on one colour scale with its colorbar (at most
    ``max_maps`` maps per row; the title says how many there are); then the feedforward
    layers :math:`y_\ell` (47.1218): the hidden layers as strips of units and the output
    :math:`y_L` as bars.

    Parameters
    ----------
    net : Network
    params : Params
    x : array_like
        One image, ``D_0 x rows x cols`` (or ``rows x cols`` when ``D_0 = 1``).
    path : str or path-like
        The PNG file to write.
    label : int, optional
        The image's class, shown in the title.
    max_maps : int
        Most maps drawn per layer.
    dpi : float
        Resolution of the PNG.

    Returns
    -------
    path
        ``path``, once written.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.plots import feature_maps
    >>> net = sc.Network((8, 8), conv=[sc.Conv(2, 3, pool=("max", (2, 2)))], hidden=[6],
    ...                  outputs=3)
    >>> x = np.random.default_rng(0).random((1, 8, 8))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = feature_maps(net, net.init(seed=0), x, os.path.join(folder, "f.png"))
    ...     print(os.path.basename(out), os.path.getsize(out) > 0)
    f.png True
    """
    from ..forward import forward_listing

    dpi = _check_dpi(dpi)
    x = net.check_images(x)[0]
    res = forward_listing(net, params, x)
    rows = [("input", None)]
    for ly in net.layers:
        rows.append(("conv", ly))
        if ly.pooled:
            rows.append(("pool", ly))
    hidden = list(range(2, net.L))  # y_l of the hidden layers, l = 2..L-1
    ncol = max(min(max(ly.D for ly in net.layers), max_maps), net.input_depth, 4)
    n_img = len(rows)
    height = 1.55 * n_img + 1.0 * len(hidden) + 1.6 + 0.6
    fig = _figure(1.3 * ncol + 1.6, height, dpi)
    ratios = [1.0] * n_img + [0.6] * len(hidden) + [1.0]
    gs = fig.add_gridspec(len(ratios), ncol + 1, height_ratios=ratios,
                          width_ratios=[1.0] * ncol + [0.08], left=0.06, right=0.93,
                          bottom=0.05, top=1 - 0.55 / height, hspace=0.75, wspace=0.12)

    def show_row(r, images, cmap, title):
        lo = min(float(np.min(im)) for im in images)
        hi = max(float(np.max(im)) for im in images)
        hi = hi if hi > lo else lo + 1.0
        im_ = None
        for col, img in enumerate(images[:ncol]):
            ax = fig.add_subplot(gs[r, col])
            im_ = ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_title(title, fontsize=_LABEL, loc="left")
        cax = fig.add_subplot(gs[r, ncol])
        cb = fig.colorbar(im_, cax=cax)
        cb.ax.tick_params(labelsize=_TICK - 1)

    for r, (kind, ly) in enumerate(rows):
        if kind == "input":
            show_row(r, [x[j] for j in range(net.input_depth)], "gray_r",
                     "input image" + (f" (label {label})" if label is not None else "")
                     + f", {x.shape[1]} x {x.shape[2]}")
            continue
        shape = ly.map_shape if kind == "conv" else ly.pooled_shape
        key = res.y_conv if kind == "conv" else res.t_conv
        maps = [unvec(key[d + 1, ly.c], shape) if shape is not None
                else _strip(key[d + 1, ly.c], 8) for d in range(ly.D)]
        more = f", first {ncol} of {ly.D}" if ly.D > ncol else f", {ly.D} maps"
        size = f"{shape[0]} x {shape[1]}" if shape is not None else f"{maps[0].size} entries"
        if kind == "conv":
            title = (f"layer c = {ly.c}: maps $y^{{(d,{ly.c})}}$ = {ly.activation.name}(z), "
                     f"{size}{more}")
        else:
            title = (f"layer c = {ly.c}: pooled maps $t^{{(d,{ly.c})}}$ "
                     f"({ly.pooling.kind}), {size}{more}")
        show_row(r, maps, "viridis", title)
    for k, ell in enumerate(hidden):
        ax = fig.add_subplot(gs[n_img + k, :ncol])
        v = np.asarray(res.y_ff[ell], dtype=float).ravel()
        im_ = ax.imshow(v[None, :], cmap="viridis", aspect="auto")
        ax.set_yticks([])
        ax.tick_params(labelsize=_TICK)
        ax.set_title(f"hidden layer $y_{{{ell}}}$, {v.size} units (47.1218)", fontsize=_LABEL,
                     loc="left")
        cb = fig.colorbar(im_, cax=fig.add_subplot(gs[n_img + k, ncol]))
        cb.ax.tick_params(labelsize=_TICK - 1)
    ax = fig.add_subplot(gs[-1, :min(ncol, 8)])
    out = np.asarray(res.output, dtype=float).ravel()
    ax.bar(np.arange(out.size), out, color="C1")
    ax.set_xticks(np.arange(out.size))
    ax.tick_params(labelsize=_TICK)
    ax.set_title(f"output $y_L$ ({out.size} units), largest at {int(np.argmax(out))}",
                 fontsize=_LABEL, loc="left")
    fig.suptitle("one image through the forward listing (47.1216)", fontsize=_TITLE)
    return _save(fig, path, dpi)


def _row(n, width, height, dpi=None):
    fig = _figure(width * n, height, _check_dpi(dpi))
    axes = fig.subplots(1, n, squeeze=False)[0]
    return fig, axes


def image_row(images, titles, shape=None, cmap=None, width=None, height=None, colorbar=True,
              dpi=None, suptitle=None):
    r"""Images side by side, for reading maps in a notebook; returns a matplotlib Figure.

    A map given as a vector (a feature map :math:`y_n^{(d,c)}` or :math:`t_n^{(d,c)}`) is
    shown as ``unvec(v, shape)`` (47.1127); 2-D and RGB ``rows x cols x 3`` arrays are shown
    as they are. Each 2-D image has its colorbar unless ``colorbar=False``; ``dpi`` defaults to
    matplotlib's ``figure.dpi``. Each image is ``width`` inches wide (by default the row
    fits in 9 inches, at most 2.4 per image), so that titles stay readable when the figure
    is shown at the width of a page or a slide.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.plots import image_row
    >>> fig = image_row([np.eye(3), np.arange(4.0)], ["I", "vec 2 x 2"], shape=(2, 2), dpi=60)
    >>> len(fig.axes)  # two images and their colorbars
    4
    """
    n = len(images)
    width = min(2.4, 9.0 / n) if width is None else width
    height = (width * 1.15 + 0.35) if height is None else height
    fig, axes = _row(n, width, height, dpi)
    for ax, im, title in zip(axes, images, titles):
        im = np.asarray(im)
        shown = ax.imshow(unvec(im, shape) if im.ndim == 1 else im, cmap=cmap)
        ax.set_title(title, fontsize=_LABEL)
        ax.set_axis_off()
        if colorbar and shown.get_array().ndim == 2:
            _colorbar(fig, shown, ax)
    if suptitle:
        fig.suptitle(suptitle, fontsize=_TITLE)
    return fig


def spy_row(mats, titles, markersize=3, size=None, dpi=None, suptitle=None):
    r"""Sparsity patterns side by side (partition matrices :math:`V` (47.1153),
    :math:`V^{(d,d',c+1)}` (47.1257), :math:`\Delta_{n,c}` (47.1270), ...); returns a
    matplotlib Figure. Each title should name the matrix; its size is added below it.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.plots import spy_row
    >>> fig = spy_row([np.eye(4)], ["I_4"], dpi=60)
    >>> fig.axes[0].get_xlabel()
    '4 x 4, 4 nonzeros'
    """
    size = min(3.0, 9.0 / len(mats)) if size is None else size
    fig, axes = _row(len(mats), size, size + 0.4, dpi)
    for ax, A, title in zip(axes, mats, titles):
        ax.spy(A, markersize=markersize, aspect="auto")
        ax.set_title(title, fontsize=_LABEL)
        nnz = A.nnz if hasattr(A, "nnz") else int(np.count_nonzero(A))
        ax.set_xlabel(f"{A.shape[0]} x {A.shape[1]}, {nnz} nonzeros", fontsize=_TICK)
        ax.tick_params(labelsize=_TICK - 1)
    if suptitle:
        fig.suptitle(suptitle, fontsize=_TITLE)
    return fig


def window_corners(partition, windows):
    r"""Top-left corners ``(row, col)`` in image coordinates (negative over the zero
    padding) of windows ``p`` (0-based) of a sliding partition (47.1152): window ``p`` is
    output position ``(p % out_rows, p // out_rows)``, column-major.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.plots import window_corners
    >>> part = sc.sliding_partition((5, 4), 3, stride=2, padding=1)
    >>> window_corners(part, [0, 1, 3])
    [(-1, -1), (1, -1), (-1, 1)]
    """
    rows = partition.out_shape[0]
    out = []
    for p in windows:
        i, j = int(p) % rows, int(p) // rows
        out.append((i * partition.stride[0] - partition.pad_before[0],
                    j * partition.stride[1] - partition.pad_before[1]))
    return out


def windows_over_image(image, partition, windows, ax=None, title=None, labels=None,
                       cmap="gray_r", colorbar=True):
    r"""The windows ``p`` (0-based) of a sliding partition drawn over ``image``, as in
    Figs. 47.81 and 47.83: the image is shown with its zero extension (a grey frame as wide as
    the padding) and each window as a coloured rectangle of the mask's size. Returns the axes.

    Examples
    --------
    >>> import numpy as np
    >>> import sayedcnn as sc
    >>> from sayedcnn.app.plots import windows_over_image
    >>> part = sc.sliding_partition((6, 6), 3)
    >>> ax = windows_over_image(np.eye(6), part, [0, 14])
    >>> len(ax.patches)  # the frame of the zero extension and two windows
    3
    """
    from matplotlib.patches import Rectangle

    image = np.asarray(image, dtype=float)
    if ax is None:
        fig = _figure(4.2, 4.0)
        ax = fig.subplots()
    fig = ax.figure
    (pt, pl), (pb, pr) = partition.pad_before, partition.pad_after
    extent = (-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)
    im = ax.imshow(image, cmap=cmap, extent=extent)
    ax.set_xlim(-0.5 - pl - 0.3, image.shape[1] - 0.5 + pr + 0.3)
    ax.set_ylim(image.shape[0] - 0.5 + pb + 0.3, -0.5 - pt - 0.3)
    if pt or pl or pb or pr:  # the zero extension (47.1129)
        ax.add_patch(Rectangle((-0.5 - pl, -0.5 - pt), image.shape[1] + pl + pr,
                               image.shape[0] + pt + pb, fill=False, ls=":", lw=1.2,
                               ec="0.45"))
    kr, kc = partition.mask
    for k, (r, c) in enumerate(window_corners(partition, windows)):
        color = f"C{(k + 1) % 10}"
        inset = 0.06 * (k % 4)  # overlapping windows stay distinguishable
        ax.add_patch(Rectangle((c - 0.5 + inset, r - 0.5 + inset), kc - 2 * inset,
                               kr - 2 * inset, fill=False, lw=2.0, ec=color))
        text = labels[k] if labels is not None else f"p = {int(windows[k]) + 1}"
        y, va = (r - 0.7, "bottom") if k % 2 == 0 else (r + kr - 0.3, "top")  # alternate
        ax.text(c - 0.4, y, text, color=color, fontsize=_TICK, fontweight="bold", va=va,
                bbox={"fc": "white", "alpha": 0.7, "lw": 0, "pad": 1})
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=_LABEL)
    if colorbar:
        _colorbar(fig, im, ax)
    return ax


def regions_over_image(image, regions, ax=None, title=None, numbers=True, cmap="gray_r",
                       colorbar=True, mark=None):
    r"""Pooling regions :math:`\Omega_{p'}` (47.1187) drawn over a map ``image``: each region
    (0-based entries of :math:`\mathrm{vec}` of the map, column-major (47.1127)) is tinted in
    its own colour and labelled; ``numbers`` writes the 1-based index of every entry, as in
    Fig. 47.95; ``mark`` (0-based entries) outlines chosen entries, e.g. the maxima that max
    pooling keeps. Returns the axes.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.plots import regions_over_image
    >>> ax = regions_over_image(np.arange(12.0).reshape(4, 3, order="F"),
    ...                         [[0, 1, 3, 7], [2, 4, 6, 8, 10], [5, 9, 11]], mark=[7])
    >>> len(ax.patches)  # one tile per entry of a region and one outline
    13
    """
    from matplotlib.patches import Rectangle

    image = np.asarray(image, dtype=float)
    rows = image.shape[0]
    if ax is None:
        fig = _figure(4.2, 4.0)
        ax = fig.subplots()
    fig = ax.figure
    im = ax.imshow(image, cmap=cmap)
    for k, region in enumerate(regions):
        color = f"C{k % 10}"
        for m in region:
            r, c = int(m) % rows, int(m) // rows
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc=color, alpha=0.35, ec=color,
                                   lw=1.5))
        r0, c0 = int(region[0]) % rows, int(region[0]) // rows
        if not numbers:
            ax.text(c0 - 0.45, r0 - 0.1, f"$\\Omega_{{{k + 1}}}$", color=color,
                    fontsize=_TICK, fontweight="bold")
    for m in mark or ():
        r, c = int(m) % rows, int(m) // rows
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
    if numbers:
        for m in range(image.size):
            r, c = m % rows, m // rows
            ax.text(c, r, str(m + 1), ha="center", va="center", fontsize=_TICK,
                    color="black", bbox={"fc": "white", "alpha": 0.6, "lw": 0, "pad": 1})
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=_LABEL)
    if colorbar:
        _colorbar(fig, im, ax)
    return ax


def _entry(x, precision):
    if np.isnan(x):
        return r"\mathrm{NaN}"
    if float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    text = f"{x:.{precision}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant}\cdot 10^{{{int(exp)}}}"
    return text


def matrix_latex(A, precision=3, max_rows=16, max_cols=16, zeros=""):
    r"""A matrix (or vector, as a column) as a LaTeX ``bmatrix``, for a notebook to show
    with ``IPython.display.Math`` instead of numpy's text: integers as integers, other
    entries to ``precision`` significant digits, zeros as ``zeros`` (blank by default, so
    that the pattern of partition and permutation matrices stands out), and rows or
    columns beyond ``max_rows`` / ``max_cols`` elided with dots.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.app.plots import matrix_latex
    >>> print(matrix_latex(np.array([[1.0, 0.0], [0.5, -2.0]])))
    \begin{bmatrix} 1 &  \\ 0.5 & -2 \end{bmatrix}
    >>> print(matrix_latex([1.23456, 0.0], zeros="0"))
    \begin{bmatrix} 1.23 \\ 0 \end{bmatrix}
    """
    if hasattr(A, "toarray"):
        A = A.toarray()
    A = np.asarray(A, dtype=float)
    if A.ndim == 1:
        A = A[:, None]
    if A.ndim != 2:
        raise ValueError(f"matrix_latex needs a vector or a matrix, got shape {A.shape}")

    def pick(n, most):
        if n <= most:
            return list(range(n)), None
        half = most // 2
        return list(range(half)) + list(range(n - (most - half - 1), n)), half

    rows, rcut = pick(A.shape[0], max_rows)
    cols, ccut = pick(A.shape[1], max_cols)
    lines = []
    for i, r in enumerate(rows):
        if rcut is not None and i == rcut:
            lines.append(" & ".join([r"\vdots"] * (len(cols) + (ccut is not None))))
        cells = []
        for j, c in enumerate(cols):
            if ccut is not None and j == ccut:
                cells.append(r"\cdots")
            x = A[r, c]
            cells.append(zeros if x == 0 else _entry(x, precision))
        lines.append(" & ".join(cells))
    return r"\begin{bmatrix} " + r" \\ ".join(lines) + r" \end{bmatrix}"
