# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Training (47.1275)-(47.1276)
#
# The chapter ends with two listings: the gradients of the empirical risk (47.1275) and the
# stochastic-gradient algorithm that uses them one sample (or one mini-batch) at a time
# (47.1276). This notebook trains the book's network on the 8 x 8 handwritten digits shipped
# with `sayedcnn`, in a few seconds, and looks at what it learned: learning curves, the
# masks of the first layer and the feature maps of a test digit.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import sayedcnn as sc
from sayedcnn.app import plots
from sayedcnn.data.datasets import load_digits
from sayedcnn.sgd import accuracy
from sayedcnn.losses import one_hot
from sayedcnn.training import sgd_step_listing

np.set_printoptions(precision=4, suppress=True, linewidth=120)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 3.0), "font.size": 11})
FIG_DIR = Path(tempfile.mkdtemp())

# %% [markdown]
# ## Data and network (47.1229)
#
# The training pairs $\{\gamma_n, h_n\}$ of (47.1229): 1,438 training and 359 test digits
# (a seeded split, stratified by class), pixels scaled to $[0, 1]$, and targets
# $\gamma_n = e_{label}$ for the sigmoid outputs of the quadratic risk. The network has
# $C = 2$ correlation layers (8 and 16 maps, 3 x 3 masks, tanh, 2 x 2 max pooling), a
# hidden layer of 32 sigmoid units and $Q = 10$ outputs.
#
# $$
# J_{\rm emp} = \sum_{c} \rho_1 \|W_c\|_F^2 + \sum_{\ell} \rho_2 \|W_\ell\|_F^2 + \frac{1}{N}\sum_{n=0}^{N-1} \|\gamma_n - y_n\|^2, \qquad \gamma_n = e_{\rm label} \tag{47.1229}
# $$

# %%
data = load_digits(seed=0)
print(data)
net = sc.Network(data.image_shape, conv=[sc.Conv(8, mask=3, activation="tanh", pool=("max", 2)),
                                         sc.Conv(16, mask=3, activation="tanh", pool=("max", 2))],
                 hidden=[32], outputs=10)
params0 = net.init(seed=0)
print(net.size_table())
print("parameters:", net.parameter_count())
Gamma_train = one_hot(data.y_train, 10)  # gamma_n of (47.1229)
print("initial risk J_emp =", round(net.risk(params0, data.X_train, Gamma_train), 4),
      f"; test accuracy {100 * accuracy(net, params0, data.X_test, data.y_test):.1f}%")

# %% [markdown]
# ## One step of the listing (47.1276)
#
# For one training point the listing feeds $h_n$ forward (47.1216), runs the backward pass
# and updates every parameter (47.1276), the correlation layers with the Kronecker forms. (Two slips of the print are corrected:
# the $\theta_\ell$ line has $-\mu\delta$ and the $W_\ell$ line $\mu\mu$, errata E-1276a and
# E-1276b; see notebook 9.) The line-by-line listing and the batched path give the same
# step, and the step lowers the loss of that sample.
#
# $$
# W_{\ell,n} = (1 - 2\mu\rho_2)\,W_{\ell,n-1} - \mu\,\delta_{\ell+1,n}\, y_{\ell,n}^T, \qquad \theta_{\ell,n} = \theta_{\ell,n-1} + \mu\,\delta_{\ell+1,n} \tag{47.1276}
# $$
#
# $$
# W_{c,n} = (1 - 2\mu\rho_1)\,W_{c,n-1} - \mu\,\big(\mathbb 1_{D_c}^T \otimes H_{n,c-1}\big)\Delta_{n,c}, \qquad \Theta_{c,n} = \Theta_{c,n-1} + \mu\,\big(\mathbb 1_{D_c}^T \otimes \mathbb 1_{D_{c-1}}\mathbb 1_{P_c}^T\big)\Delta_{n,c} \tag{47.1276}
# $$

# %%
mu, rho1, rho2 = 1.0, 1e-4, 1e-4
x0, g0 = data.X_train[0], Gamma_train[0]
step_listing = sgd_step_listing(net, params0, x0, g0, mu, rho1, rho2)  # (47.1276) line by line
step_batched = net.sgd_step(params0, x0[None], g0[None], mu, rho1, rho2)  # same step, fused path
print("largest relative difference listing vs batched:", f"{step_listing.max_rel_diff(step_batched):.1e}")
before = net.risk(params0, x0[None], g0[None])
after = net.risk(step_listing, x0[None], g0[None])
print(f"loss of this sample: {before:.4f} -> {after:.4f}")

# %% [markdown]
# ## Mini-batches (47.1276)
#
# With a mini-batch of $B$ samples each step moves every parameter by $-\mu$ times the
# derivative of $J_{emp}$ (47.1229) over the batch, i.e. with $N = B$: the sums of
# (47.1275) divided by $B$.
#
# $$
# \frac{\partial J_{\rm emp}}{\partial W_\ell} = 2\rho_2 W_\ell + \frac{1}{B}\sum_{n \in \text{batch}} \delta_{\ell+1,n}\, y_{\ell,n}^T \ \ \text{(and likewise for } \theta_\ell, W_c, \Theta_c) \tag{47.1275}
# $$
#
# $$
# W_\ell \leftarrow W_\ell - \mu\, \frac{\partial J_{\rm emp}}{\partial W_\ell}, \quad \dots \tag{47.1276}
# $$

# %%
idx = np.arange(16)
step = net.sgd_step(params0, data.X_train[idx], Gamma_train[idx], mu, rho1, rho2)  # (47.1276), B = 16
grad = net.gradients(params0, data.X_train[idx], Gamma_train[idx], rho1, rho2)  # (47.1275) with 1/B
print("step == params - mu * dJ_emp:", step.max_rel_diff(params0 - grad * mu) < 1e-12)
print("batch risk:", round(net.risk(params0, data.X_train[idx], Gamma_train[idx]), 4), "->",
      round(net.risk(step, data.X_train[idx], Gamma_train[idx]), 4))

# %% [markdown]
# ## Training (47.1276)
#
# Ten passes over the training set in shuffled mini-batches of $B = 16$ with $\mu = 1$ and
# light regularisation, $\rho_1 = \rho_2 = 10^{-4}$; the order of each epoch is drawn from a
# seeded generator, so the run is reproducible. The loss of every mini-batch is recorded
# for the learning curve.
#
# $$
# W \leftarrow W - \mu\, \frac{\partial J_{\rm emp}}{\partial W} \ \text{ over each mini-batch, for every } W_\ell, \theta_\ell, W_c, \Theta_c \tag{47.1276}
# $$

# %%
batch_trace = ([], [])
steps_per_epoch = int(np.ceil(len(data.y_train) / 16))
params, history = net.fit(
    params0, data.X_train, data.y_train, epochs=10, batch_size=16, mu=mu, rho1=rho1, rho2=rho2,
    seed=0, X_val=data.X_test, y_val=data.y_test,
    batch_callback=lambda e, s, n, loss, *_: (batch_trace[0].append(e - 1 + s / n), batch_trace[1].append(loss)))  # (47.1276)
print("epoch   risk    train   test")
for e, loss, tr, te in zip(history["epoch"], history["loss"], history["train_acc"], history["val_acc"]):
    print(f"{e:5d} {loss:7.4f} {100 * tr:7.1f}% {100 * te:6.1f}%")

# %% [markdown]
# ## Learning curves (47.1229)
#
# The data term of $J_{emp}$ (47.1229) per mini-batch (grey) and per epoch, and the
# accuracy on the training and test digits (`sayedcnn.app.plots`).

# %%
display(Image(filename=plots.learning_curves(history, FIG_DIR / "curves.png", batch_trace=batch_trace,
                                             title="8x8 digits, C = 2, quadratic risk (47.1229)", dpi=110)))

# %% [markdown]
# ## Where it errs (47.1231)
#
# The predicted class is the largest entry of the output $y_n$ (47.1231). The confusion
# matrix of the test digits (rows: true class, columns: predicted) and a few misread digits.
#
# $$
# y_n = \mathrm{col}\{y_n(1), \dots, y_n(Q)\}, \qquad \hat k_n = \mathop{\mathrm{argmax}}_{k} y_n(k) \tag{47.1231}
# $$

# %%
out = net.predict(params, data.X_test)  # y_n of (47.1231), one row per test digit
pred = out.argmax(axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (data.y_test, pred), 1)
print("test accuracy:", f"{100 * np.mean(pred == data.y_test):.1f}%")
print(confusion)
wrong = np.flatnonzero(pred != data.y_test)[:6]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(1.2 * max(len(wrong), 1), 1.5))
for ax, i in zip(np.atleast_1d(axes), wrong):
    ax.imshow(data.X_test[i, 0], cmap="gray_r")
    ax.set_title(f"{data.y_test[i]} read as {pred[i]}", fontsize=7)
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## Learned masks (47.1223a)
#
# Column $d$ of $W_1$ is the mask $w_1^{(d,1)}$ of map $d$ (47.1223a); shown as the 3 x 3
# masks they vectorise, before and after training.

# %%
display(Image(filename=plots.layer1_masks(net, params0, FIG_DIR / "masks0.png", dpi=110)))
display(Image(filename=plots.layer1_masks(net, params, FIG_DIR / "masks.png", dpi=110)))

# %% [markdown]
# ## Feature maps of a test digit (47.1216)
#
# The maps $y^{(d,c)} = f(z^{(d,c)})$ of both layers for one test digit, by the forward
# listing (47.1216), and the output $y_L$.

# %%
k = int(np.flatnonzero(data.y_test == 3)[0])
display(Image(filename=plots.feature_maps(net, params, data.X_test[k], FIG_DIR / "maps.png",
                                          label=int(data.y_test[k]), dpi=110)))
