r"""Central finite differences over every parameter of a network.

:func:`numerical_gradient` differentiates any scalar function of a :class:`sayedcnn.Params`
entry by entry; :func:`check_gradients` compares given derivatives of :math:`J_{emp}`
(47.1229) with finite differences of the risk computed by the scalar loops of
:mod:`sayedcnn.reference.loops`. Both are independent of the matrix implementation.
"""

from __future__ import annotations

import numpy as np

from . import loops

__all__ = ["numerical_gradient", "central_differences", "check_gradients", "default_rel_step"]

_EPS = np.finfo(float).eps

# Central differences with their weights: f'(x) ~ sum_k c_k f(x + k h) / h.
_STENCILS = {
    2: ((-1, -0.5), (1, 0.5)),
    4: ((-2, 1.0 / 12.0), (-1, -8.0 / 12.0), (1, 8.0 / 12.0), (2, -1.0 / 12.0)),
}


def default_rel_step(order=4):
    r"""The default relative step of :func:`numerical_gradient`.

    ``order=2``: :math:`\epsilon^{1/3} \approx 6.1\times10^{-6}`; ``order=4``:
    :math:`\epsilon^{1/5}/8 \approx 9.3\times10^{-5}`, with :math:`\epsilon` the machine
    epsilon. The roots balance the truncation error (:math:`O(h^2)`, :math:`O(h^4)`) against
    the rounding error (:math:`O(\epsilon/h)`) for a smooth function; the 5-point step is
    taken a factor 8 below its balance point because the risk of a network with ReLU or max
    pooling has kinks, and a smaller stencil is less likely to straddle one, while the
    rounding error it adds stays near :math:`10^{-11}` relative. Used for the checks of the
    derivatives (47.1263)-(47.1274) of the risk (47.1229).

    Examples
    --------
    >>> from sayedcnn.reference.finite_diff import default_rel_step
    >>> f"{default_rel_step(2):.2e}", f"{default_rel_step(4):.2e}"
    ('6.06e-06', '9.25e-05')
    """
    if order == 2:
        return _EPS ** (1.0 / 3.0)
    if order == 4:
        return _EPS ** (1.0 / 5.0) / 8.0
    raise ValueError(f"order must be 2 or 4, got {order!r}")


def numerical_gradient(fun, params, order=4, rel_step=None):
    r"""Central finite differences of a scalar function of the parameters, entry by entry.

    For every entry :math:`\vartheta_i` of every array of ``params`` (``W_conv``,
    ``Theta_conv``, ``W_ff``, ``theta_ff``) the step is
    :math:`h_i = \mathrm{rel\_step}\cdot\max(1, |\vartheta_i|)` and

    .. math::
        \frac{\partial f}{\partial \vartheta_i} \approx
        \frac{f(\vartheta - 2h e_i) - 8 f(\vartheta - h e_i) + 8 f(\vartheta + h e_i)
              - f(\vartheta + 2h e_i)}{12 h}

    (``order=4``, the default), or :math:`(f(\vartheta + h e_i) - f(\vartheta - h e_i))/(2h)`
    (``order=2``). The step actually taken is the representable difference
    :math:`(\vartheta_i + h) - \vartheta_i`. Checks the derivatives (47.1263)-(47.1274).

    Parameters
    ----------
    fun : callable
        ``fun(params) -> float``; called ``order`` times per entry with a perturbed copy
        (it must not keep a reference to its argument).
    params : sayedcnn.Params
        The point of differentiation (not modified).
    order : {4, 2}
        Order of accuracy of the stencil.
    rel_step : float, optional
        Relative step; defaults to :func:`default_rel_step` ``(order)``.

    Returns
    -------
    sayedcnn.Params
        The derivatives, in the shapes of ``params``.

    Examples
    --------
    The derivative of :math:`\|W_1\|_F^2` is :math:`2W_1`:

    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference.finite_diff import numerical_gradient
    >>> p = sc.Params(W_ff={1: np.array([[1.0, -2.0], [0.5, 3.0]])}, theta_ff={1: np.zeros(2)})
    >>> g = numerical_gradient(lambda q: float(np.sum(q.W_ff[1] ** 2)), p)
    >>> g.W_ff[1].round(8), g.theta_ff[1].round(8)
    (array([[ 2., -4.],
           [ 1.,  6.]]), array([0., 0.]))
    """
    if order not in _STENCILS:
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    rel = default_rel_step(order) if rel_step is None else float(rel_step)
    if not np.isfinite(rel) or rel <= 0:
        raise ValueError(f"rel_step must be a positive number, got {rel_step!r}")
    work = params.copy()
    grad = params.copy()
    for group, key, arr in params.items():
        target = getattr(work, group)[key]
        out = getattr(grad, group)[key]
        for idx in np.ndindex(arr.shape):
            x0 = float(arr[idx])
            h = rel * max(1.0, abs(x0))
            h = (x0 + h) - x0  # a step that is exactly representable at x0
            total = 0.0
            for k, weight in _STENCILS[order]:
                target[idx] = x0 + k * h
                total += weight * float(fun(work))
            target[idx] = x0
            out[idx] = total / h
    return grad


def central_differences(fun, x, h=1e-6, order=2):
    r"""Central differences of a scalar function of a vector, entry by entry.

    ``order=2``: :math:`(f(x + he_i) - f(x - he_i)) / (2h)`; ``order=4``:
    :math:`(f(x-2he_i) - 8f(x-he_i) + 8f(x+he_i) - f(x+2he_i)) / (12h)`, with one fixed
    step ``h`` for every entry (see :func:`numerical_gradient` for :class:`Params` with a
    step per entry). Checks derivatives such as those of (47.1233) entry by entry.

    Examples
    --------
    >>> import numpy as np
    >>> from sayedcnn.reference.finite_diff import central_differences
    >>> central_differences(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]), h=1e-3,
    ...                     order=4).round(6)                      # 3 v^2
    array([ 3., 12.])
    """
    if order not in _STENCILS:
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = sum(w * fun(x + k * e) for k, w in _STENCILS[order]) / h
    return g


def check_gradients(net, params, X, Gamma, rho1=0.0, rho2=0.0, grads=None, scaling="1229",
                    order=4, rel_step=None, return_fd=False):
    r"""Compare derivatives of :math:`J_{emp}` (47.1229) with finite differences.

    The risk is evaluated by :func:`sayedcnn.reference.loops.risk` and differentiated by
    :func:`numerical_gradient`.

    Parameters
    ----------
    net : sayedcnn.Network
    params : sayedcnn.Params
    X : array, shape (N, D_0, rows, cols)
    Gamma : array, shape (N, Q)
    rho1, rho2 : float
        Regularisation of (47.1229).
    grads : sayedcnn.Params, optional
        The derivatives to check; by default those of
        :func:`sayedcnn.reference.loops.gradients`.
    scaling : {"1229", "1227"}
        Which empirical risk, (47.1229) or (47.1227).
    order, rel_step
        Passed to :func:`numerical_gradient`.
    return_fd : bool
        Also return the finite differences.

    Returns
    -------
    float or (float, sayedcnn.Params)
        The largest relative difference over the parameter arrays
        (:meth:`sayedcnn.Params.max_rel_diff`), and the finite differences if asked.

    Implements the finite-difference check of the derivatives of (47.1229) (47.1275).

    Examples
    --------
    >>> import numpy as np, sayedcnn as sc
    >>> from sayedcnn.reference.finite_diff import check_gradients
    >>> net = sc.Network((3, 3), conv=[sc.Conv(1, 2)], outputs=2)
    >>> p = net.init(seed=0, bias_scale=0.1)
    >>> X = np.random.default_rng(0).standard_normal((2, 1, 3, 3))
    >>> G = np.eye(2)
    >>> bool(check_gradients(net, p, X, G, rho1=0.01, grads=net.gradients(p, X, G, rho1=0.01))
    ...      < 1e-7)
    True
    """
    if grads is None:
        grads = loops.gradients(net, params, X, Gamma, rho1=rho1, rho2=rho2, scaling=scaling)
    fd = numerical_gradient(
        lambda p: loops.risk(net, p, X, Gamma, rho1=rho1, rho2=rho2, scaling=scaling),
        params, order=order, rel_step=rel_step)
    diff = grads.max_rel_diff(fd)
    return (diff, fd) if return_fd else diff
