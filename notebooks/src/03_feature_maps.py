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
# # 3. Feature maps and parameter savings (47.1154)-(47.1167)
#
# In a correlation layer (section 47.25.2 of Sayed's *Inference and Learning from Data*)
# every patch $h_{n,p}$ goes through the *same* neuron: weights $w$ (the mask) and bias
# $\theta$. The outputs form a feature map. This notebook computes feature maps of a real
# digit with `sayedcnn`, several at once, for a three-channel input, and counts parameters
# as the book does in (47.1165)-(47.1167).

# %%
import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats
import numpy as np

import sayedcnn as sc
from sayedcnn.app.plots import image_row
from sayedcnn.data.datasets import load_mnist5k
from sayedcnn.forward import forward_listing

np.set_printoptions(precision=3, suppress=True, linewidth=110)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 2.8), "font.size": 11})
set_matplotlib_formats("png")  # figures returned by sayedcnn.app.plots show inline


# %% [markdown]
# ## Activation functions (47.1154)
#
# The rectifier $f(x) = \max(0, x)$ and $f(x) = \tanh(x)$ are the book's suggestions for
# correlation layers; the package also has the sigmoid and the identity.
#
# $$
# f(x) = \max(0, x), \qquad f(x) = \tanh(x) \tag{47.1154}
# $$

# %%
x = np.linspace(-3, 3, 121)
fig, ax = plt.subplots(figsize=(3.2, 2))
for name in ("relu", "tanh", "sigmoid"):
    ax.plot(x, sc.get_activation(name).f(x), label=name)  # (47.1154)
ax.legend(fontsize=7)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## One feature map (47.1155)-(47.1158)
#
# Each of the $P$ units computes (47.1155). Stacking the outputs in $y_n$ ($P \times 1$,
# 47.1156) and the patches as the columns of $H_n$ (47.1157) gives (47.1158). With the mask $w$ = vec(Sobel $W_x$) and no nonlinearity, this is the filtered
# image of notebook 1; with tanh and $\theta = 0.5$ it is a feature map.
#
# $$
# y_n(p) = f\big(h_{n,p}^T w - \theta\big), \quad p = 1, \dots, P \tag{47.1155}
# $$
#
# $$
# H_n = \begin{bmatrix} h_{n,1} & h_{n,2} & \cdots & h_{n,P} \end{bmatrix} \quad (S \times P) \tag{47.1157}
# $$
#
# $$
# y_n = f\big(H_n^T w - \theta\,\mathbb 1\big) \tag{47.1158}
# $$

# %%
X, labels = load_mnist5k(split=False)
n = int(np.flatnonzero(labels == 4)[0])
image = X[n, 0]
part = sc.sliding_partition(image.shape, 3)  # the book's 'same' windows
H = sc.patch_matrix(part.V, sc.vec(image), part.S)  # (47.1157), S x P = 9 x 784
w = sc.vec(sc.sobel_masks()[0])
theta = 0.5
y = np.tanh(H.T @ w - theta * np.ones(part.P))  # (47.1158)
print("H_n is", H.shape, "; y_n is", y.shape)
print("H^T w == vec(correlate(I, W)):", np.allclose(H.T @ w, sc.vec(sc.correlate(image, sc.sobel_masks()[0]))))
print(f"the layer has S + 1 = {part.S + 1} parameters and P(S + 1) = {part.P * (part.S + 1)} connections")
display(image_row([sc.vec(image), H.T @ w, y], ["input", "H^T w", "tanh(H^T w - 0.5)"], image.shape))

# %% [markdown]
# ## Several feature maps (47.1159)-(47.1161)
#
# A layer of depth $D$ has one pair $(w^{(d)}, \theta^{(d)})$ per map (47.1159) and computes
# every map from the same patches (47.1161). In `sayedcnn` the masks are the columns of $W_1$ ($S_1 D_0 \times D_1$,
# (47.1224a)) of a `Network`; here they are set by hand to the Sobel, Prewitt and Gaussian
# masks, and the forward listing (47.1216) is checked against (47.1161).
#
# $$
# W_1 = \begin{bmatrix} W^{(1,1)} & \cdots & W^{(D_1,1)} \end{bmatrix} \ (S_1 D_0 \times D_1), \qquad \Theta_1 = \begin{bmatrix} \theta^{(1,1)} & \cdots & \theta^{(D_1,1)} \end{bmatrix} \tag{47.1224}
# $$
#
# $$
# y_n^{(d)} = f\big(H_n^T w^{(d)} - \theta^{(d)}\,\mathbb 1\big), \quad d = 1, \dots, D \tag{47.1161}
# $$

# %%
masks = {"Sobel x": sc.sobel_masks()[0], "Sobel y": sc.sobel_masks()[1],
         "Prewitt x": sc.prewitt_masks()[0], "Gaussian": sc.gaussian_mask(1, 0.8)}
net = sc.Network(image.shape, conv=[sc.Conv(len(masks), mask=3, activation="tanh")], outputs=2)
params = net.init(seed=0)
params.W_conv[1] = np.column_stack([sc.vec(m) for m in masks.values()])  # (47.1224a)
params.Theta_conv[1] = np.array([[0.5, 0.5, 0.5, 0.2]])  # theta^(d), (47.1224b)
res = forward_listing(net, params, image[None])
Y = np.tanh(H.T @ params.W_conv[1] - params.Theta_conv[1])  # (47.1161), all d at once
for d, name in enumerate(masks, start=1):
    print(f"d={d} {name:<10} listing == f(H^T w - theta 1):",
          np.allclose(res.y_conv[d, 1], Y[:, d - 1]))
display(image_row([res.y_conv[d, 1] for d in range(1, 5)], list(masks), image.shape))

# %% [markdown]
# ## An RGB-style input (47.1162)-(47.1164)
#
# Example 47.71: a colour image has three input arrays. Each entry of a feature map combines
# the three patches at that location, each with its own mask and bias (47.1164)
# (the print attaches the vector $\mathbb 1$ to $\theta(j)$ in the scalar form (47.1189);
# it belongs to the vector form (47.1191a): erratum E-1189). As a
# three-channel input we stack the digit, the digit shifted two pixels right, and its
# Gaussian blur. A network of input depth $D_0 = 3$ holds $W^{(d,1)} =
# \mathrm{col}\{w_1, w_2, w_3\}$ in each column of $W_1$ (47.1223a).
#
# $$
# y_n(p) = f\Big(\sum_{j=1}^{3}\big([h_{n,p}^{(j)}]^T w_j - \theta(j)\big)\Big) \tag{47.1164}
# $$

# %%
rgb = np.stack([image, np.roll(image, 2, axis=1), sc.correlate(image, sc.gaussian_mask(1, 1.0, normalize=True))])
net3 = sc.Network(image.shape, input_depth=3, conv=[sc.Conv(2, mask=3, activation="relu")], outputs=2)
p3 = net3.init(seed=1, bias_scale=0.1)
res3 = forward_listing(net3, p3, rgb)
S = net3.layers[0].S
for d in (1, 2):
    z = sum(sc.patch_matrix(part.V, sc.vec(rgb[j]), S).T @ p3.W_conv[1][j * S:(j + 1) * S, d - 1]
            - p3.Theta_conv[1][j, d - 1] for j in range(3))  # (47.1164), summed over j
    print(f"map d={d}: listing == f(sum_j H^(j)T w_j - theta(j) 1):",
          np.allclose(res3.y_conv[d, 1], np.maximum(z, 0)))
print("W_1 is", p3.W_conv[1].shape, "= S_1 D_0 x D_1;  Theta_1 is", p3.Theta_conv[1].shape)
display(image_row([np.clip(rgb.transpose(1, 2, 0), 0, 1), res3.y_conv[1, 1], res3.y_conv[2, 1]],
          ["3-channel input", "map d=1 (relu)", "map d=2 (relu)"], image.shape))

# %% [markdown]
# ## Parameter savings (47.1165)-(47.1167)
#
# A 64 x 64 image has $M = 64^2 = 4096$ entries (47.1165), so one fully connected neuron
# needs $M + 1 = 4097$ coefficients. The book then takes a correlation layer of depth
# $D = 30$ with "mask size $2K+1 = 9$", says each unit uses $2K+2$ coefficients, and counts
# $30 \times (9+1) = 300$ (47.1166). Each feature map still has $P = L^2 = 4096$ entries
# (47.1167). The package counts the parameters of such layers from the shapes of $W_1$
# ($S_1D_0 \times D_1$) and of the biases (one per map reaches $z$; the book's
# $\Theta_1$ has $D_0 \times D_1$ entries, the same here since $D_0 = 1$).
#
# $$
# M = 64^2 = 4096 \tag{47.1165}
# $$
#
# $$
# 30 \times (9 + 1) = 300 \ \text{(as printed; a } 9\times 9 \text{ mask has } 81 + 1 \text{ per map: erratum E-1166)} \tag{47.1166}
# $$

# %%
M = 64 * 64  # (47.1165)
print("M =", M, "; one fully connected unit:", M + 1, "coefficients")
for mask in (3, 9):
    big = sc.Network((64, 64), conv=[sc.Conv(30, mask=mask)], outputs=1)
    ly = big.layers[0]
    shapes = big.param_shapes()
    conv_count = np.prod(shapes["W_conv"][1]) + np.prod(shapes["Theta_conv"][1])
    print(f"mask {mask}x{mask}: S = {ly.S}, W_1 {shapes['W_conv'][1]}, Theta_1 "
          f"{shapes['Theta_conv'][1]} -> {conv_count} parameters;"
          f" P = {ly.P} (47.1167)")  # (47.1166)
print("the print's count, 30 x (9 + 1) =", 30 * (9 + 1), "(47.1166)")

# %% [markdown]
# **Where the print's count breaks.** The count $30\times(9+1) = 300$ of (47.1166) fits a mask with
# $S = 9$ entries, i.e. a 3 x 3 mask ($2K+1 = 3$). A square mask of size $2K+1 = 9$ has
# $(2K+1)^2 = 81$ entries, so each unit has $(2K+1)^2 + 1 = 82$ coefficients, not $2K+2$,
# and the layer has $30 \times 82 = 2460$ parameters. Either way the saving over the
# $30 \times 4096$ units of a fully connected layer with $M+1 = 4097$ weights each is huge,
# as the last line shows. The register of `sayedcnn.fidelity.errata` lists this as E-1166.

# %%
print("9x9 masks:", 30 * (9**2 + 1), "parameters for", 30 * 4096, "units; (47.1166)")
print("a fully connected layer with the same number of units:", 30 * 4096 * (M + 1))
