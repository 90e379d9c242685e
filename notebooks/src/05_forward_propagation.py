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
# # 5. Forward propagation (47.1205)-(47.1220)
#
# Sections 47.25.4-47.25.5 of Sayed's *Inference and Learning from Data* chain $C$
# correlation/pooling layers and a feedforward network, and write the whole forward pass as
# one listing (47.1216). This notebook runs that listing with `sayedcnn` on a real 8 x 8
# digit through a network with $C = 2$, shows every intermediate quantity, and checks each
# line against the quantities it is made of.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats
import numpy as np
from IPython.display import Image, Math, display

import sayedcnn as sc
from sayedcnn.app.plots import image_row, matrix_latex
from sayedcnn.app import plots
from sayedcnn.data.datasets import load_digits
from sayedcnn.fused import forward_fused
from sayedcnn.forward import forward_listing
from sayedcnn.reference import loops

np.set_printoptions(precision=3, suppress=True, linewidth=120)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 2.8), "font.size": 11})
set_matplotlib_formats("png")  # figures returned by sayedcnn.app.plots show inline
FIG_DIR = Path(tempfile.mkdtemp())


# %% [markdown]
# ## The network and its sizes (47.1205)-(47.1207)
#
# Layer $c$ has $D_c$ feature maps $y_n^{(d,c)}$ of $P_c$ entries (47.1206), pooled into
# $t_n^{(d,c)}$ of $P'_c$ entries (47.1207); its masks have $S_c$ entries. Here: an 8 x 8
# input ($D_0 = 1$), layer 1 with $D_1 = 3$ maps of 3 x 3 masks, tanh and 2 x 2 max pooling,
# layer 2 with $D_2 = 4$ maps, tanh and 2 x 2 mean pooling, then a feedforward network with
# one hidden layer of 6 sigmoid units and $Q = 10$ sigmoid outputs.
#
# $$
# \{y_n^{(1,1)}, y_n^{(2,1)}, \dots, y_n^{(D_1,1)}\} \tag{47.1205}
# $$
#
# $$
# \{t_n^{(1,c)}, t_n^{(2,c)}, \dots, t_n^{(D_c,c)}\}, \quad \text{each of size } P'_c \times 1 \tag{47.1207}
# $$

# %%
net = sc.Network((8, 8), conv=[sc.Conv(3, mask=3, activation="tanh", pool=("max", 2)),
                               sc.Conv(4, mask=3, activation="tanh", pool=("mean", 2))],
                 hidden=[6], outputs=10)
params = net.init(seed=0, bias_scale=0.2)
print(net)
print(net.size_table())  # (47.1205)-(47.1207)
for g, k, a in params.items():
    print(f"{g}[{k}]: {a.shape}")

# %% [markdown]
# ## The input: $H_n^{(d,0)}$ (47.1216, "start with")
#
# The listing starts from the patches of the input map,
# $H_n^{(1,0)} = [h_{n,1} \dots h_{n,P_1}]$, read out by the partition matrix of layer 1:
# $\mathrm{vec}(H_n^{(1,0)}) = V_0 h_n$ (47.1152). There is one patch per unit of layer 1,
# so $P_1$ of them (the listing indexes them up to $P_o$).
#
# $$
# H_n^{(d,0)} = \begin{bmatrix} h_{n,1}^{(d)} & \cdots & h_{n,P_1}^{(d)} \end{bmatrix}, \qquad \mathrm{vec}\big(H_n^{(d,0)}\big) = V_0\, h_n^{(d)} \tag{47.1216}
# $$

# %%
data = load_digits(split=False)
X, labels = data
n = 10
x = X[n]  # one image, D_0 x 8 x 8
res = forward_listing(net, params, x)  # (47.1216), every quantity kept
V0 = net.layers[0].partition.V
print("digit", labels[n], "; V_0 is", V0.shape, "; H^(1,0) is", res.H[1, 0].shape)
print("vec(H^(1,0)) == V_0 h:", np.allclose(sc.vec(res.H[1, 0]), V0 @ sc.vec(x[0])))

# %% [markdown]
# ## Layer $c = 1$: $z$, $y$, $t$ (47.1208), (47.1212), (47.1216)
#
# For each map $d$ the listing computes the three lines below, here for $c = 1$. The masks are column $d$ of $W_1$ and the
# biases column $d$ of $\Theta_1$ (47.1224). Each line is recomputed from the listing's
# own inputs.
#
# $$
# z_n^{(d,c)} = \sum_{j=1}^{D_{c-1}}\Big([H_n^{(j,c-1)}]^T w_j^{(d,c)} - \theta^{(d,c)}(j)\,\mathbb 1\Big), \quad y_n^{(d,c)} = f\big(z_n^{(d,c)}\big), \quad t_n^{(d,c)} = \mathrm{pool}\big(y_n^{(d,c)}\big) \tag{47.1216}
# $$

# %%
ly1 = net.layers[0]
S1 = ly1.S
for d in range(1, ly1.D + 1):
    z = sum(res.H[j + 1, 0].T @ params.W_conv[1][j * S1:(j + 1) * S1, d - 1]
            - params.Theta_conv[1][j, d - 1] for j in range(ly1.D_in))  # (47.1216)
    print(f"d={d}: z ok {np.allclose(z, res.z_conv[d, 1])}, y = tanh(z) ok "
          f"{np.allclose(np.tanh(z), res.y_conv[d, 1])}, t = maxpool(y) ok "
          f"{np.allclose(ly1.pooling.pool(res.y_conv[d, 1]), res.t_conv[d, 1])}; "
          f"P_1 = {res.z_conv[d, 1].size}, P'_1 = {res.t_conv[d, 1].size}")
display(Math(r"t_n^{(1,1)} \text{ as a } 4 \times 4 \text{ map} = " + matrix_latex(sc.unvec(res.t_conv[1, 1], ly1.pooled_shape), zeros="0")))
display(image_row([sc.vec(x[0])] + [res.y_conv[d, 1] for d in (1, 2, 3)], ["input"] + [f"y^({d},1)" for d in (1, 2, 3)], (8, 8)))
display(image_row([res.t_conv[d, 1] for d in (1, 2, 3)], [f"t^({d},1)" for d in (1, 2, 3)], (4, 4)))

# %% [markdown]
# ## Partitioning the pooled maps for layer 2 (47.1209)-(47.1211), (47.1225)
#
# Each pooled map is partitioned into the $P_2$ subvectors of size $S_2$ that layer 2 reads:
# $\{h_{n,p}^{(d,1)}\} = \mathrm{partition}(t_n^{(d,1)}, P_2)$ (47.1209), collected in
# $H_n^{(d,1)}$ ($S_2 \times P_2$, 47.1211), i.e. $\mathrm{vec}(H_n^{(d,1)}) = V_1
# t_n^{(d,1)}$ with the partition matrix $V_1$ of the 4 x 4 pooled map. Stacking over $d$
# gives $H_{n,1}$ ($D_1S_2 \times P_2$, 47.1225).
#
# $$
# \{h_{n,p}^{(d,c)}\}_{p=1}^{P_{c+1}} = \mathrm{partition}\big(t_n^{(d,c)}, P_{c+1}\big), \quad d = 1, \dots, D_c \tag{47.1209}
# $$
#
# $$
# H_n^{(d,c)} = \begin{bmatrix} h_{n,1}^{(d,c)} & \cdots & h_{n,P_{c+1}}^{(d,c)} \end{bmatrix} \quad (S_{c+1} \times P_{c+1}) \tag{47.1211}
# $$

# %%
ly2 = net.layers[1]
V1 = ly2.partition.V
for d in range(1, ly1.D + 1):
    print(f"d={d}: H^({d},1) {res.H[d, 1].shape}, vec(H) == V_1 t:",
          np.allclose(sc.vec(res.H[d, 1]), V1 @ res.t_conv[d, 1]))  # (47.1209)-(47.1211)
print("V_1 is", V1.shape, "= P_2 S_2 x P'_1;  H_{n,1} is", res.H_stacked[1].shape,
      "= D_1 S_2 x P_2  (47.1225)")
print("H^(1,1) =\n", res.H[1, 1])

# %% [markdown]
# ## Layer $c = 2$ (47.1212)
#
# Every map of layer 2 sums over all $D_1 = 3$ maps of layer 1, each with
# its own mask $w_j^{(d,2)}$, rows $(j-1)S_2+1 .. jS_2$ of column $d$ of $W_2$ (47.1223a).
#
# $$
# y_n^{(d,c+1)} = f\Big(\sum_{j=1}^{D_c}\big([H_n^{(j,c)}]^T w_j^{(d,c+1)} - \theta^{(d,c+1)}(j)\,\mathbb 1\big)\Big), \quad d = 1, \dots, D_{c+1} \tag{47.1212}
# $$

# %%
S2 = ly2.S
for d in range(1, ly2.D + 1):
    z = sum(res.H[j + 1, 1].T @ params.W_conv[2][j * S2:(j + 1) * S2, d - 1]
            - params.Theta_conv[2][j, d - 1] for j in range(ly2.D_in))  # (47.1212)
    print(f"d={d}: z ok {np.allclose(z, res.z_conv[d, 2])}, t = meanpool(tanh z) ok "
          f"{np.allclose(ly2.pooling.pool(np.tanh(z)), res.t_conv[d, 2])}")
display(image_row([res.y_conv[d, 2] for d in range(1, 5)] , [f"y^({d},2)" for d in range(1, 5)], (4, 4)))
display(image_row([res.t_conv[d, 2] for d in range(1, 5)], [f"t^({d},2)" for d in range(1, 5)], (2, 2)))

# %% [markdown]
# ## Connection tables (47.1213)
#
# A map may also sum over a subset $\mathcal D_c$ of the maps of the layer below (47.1213).
# With the table below, map 1 of layer 2 reads only map 1 of layer 1, map 2 reads maps 1-2,
# and so on; the parameters outside the table are zero and never reach $z$.
#
# $$
# y_n^{(d,c+1)} = f\Big(\sum_{j \in \mathcal D_c}\big([H_n^{(j,c)}]^T w_j^{(d,c+1)} - \theta^{(d,c+1)}(j)\,\mathbb 1\big)\Big), \quad d = 1, \dots, D_{c+1} \tag{47.1213}
# $$

# %%
table = [[0], [0, 1], [1, 2], [0, 1, 2]]
net_t = sc.Network((8, 8), conv=[sc.Conv(3, mask=3, activation="tanh", pool=("max", 2)),
                                 sc.Conv(4, mask=3, activation="tanh", pool=("mean", 2), connections=table)],
                   hidden=[6], outputs=10)
p_t = net_t.init(seed=0, bias_scale=0.2)
res_t = forward_listing(net_t, p_t, x)
for d, js in enumerate(table, start=1):
    z = sum(res_t.H[j + 1, 1].T @ p_t.W_conv[2][j * S2:(j + 1) * S2, d - 1]
            - p_t.Theta_conv[2][j, d - 1] for j in js)  # (47.1213)
    print(f"d={d} sums over maps {[j + 1 for j in js]}: ok {np.allclose(z, res_t.z_conv[d, 2])}")
print("connection table (rows j, columns d):\n", net_t.layers[1].conn.astype(int))
print("parameter counts:", net_t.parameter_count(), "vs full:", net.parameter_count())

# %% [markdown]
# ## Into the feedforward network (47.1214)-(47.1217)
#
# The $D_C$ reduced maps of the last layer (47.1214) are concatenated:
# $y_{1,n} = \mathrm{col}\{t_n^{(1,C)}, \dots, t_n^{(D_C,C)}\}$ (47.1215), of size
# $D_CP'_C$. Entry $p'$ of $t_n^{(d,C)}$ sits at position $i'_p = (d-1)P'_C + p'$ of
# $y_{1,n}$ (47.1217); the table lists the map for $C = 2$ ($P'_2 = 4$, 1-based).
#
# $$
# y_{1,n} = \mathrm{col}\{t_n^{(1,C)}, \dots, t_n^{(D_C,C)}\} \tag{47.1215}
# $$
#
# $$
# i'_p = (d-1)P'_C + p' \tag{47.1217}
# $$

# %%
C, Pp = net.C, net.layers[-1].P_out
y1 = res.y_ff[1]
print("y_1 has", y1.size, "= D_C P'_C entries (47.1215)")
print(" d  p'  i'_p = (d-1)P'_C + p'   t^(d,C)(p')   y_1(i'_p)")
for d in range(1, net.layers[-1].D + 1):
    for p in range(1, Pp + 1):
        i = (d - 1) * Pp + p  # (47.1217)
        print(f"{d:2d} {p:3d} {i:12d} {res.t_conv[d, C][p - 1]:22.4f} {y1[i - 1]:11.4f}")
print("all equal:", np.array_equal(y1, np.concatenate([res.t_conv[d, C] for d in range(1, 5)])))

# %% [markdown]
# ## The blocks $W_1^{(d)}$ and the feedforward layers (47.1216), (47.1218)-(47.1220)
#
# Column $i$ of $W_1$ is the weight vector leaving entry $i$ of $y_{1,n}$ (47.1218)-(47.1219),
# so the columns $(d-1)P'_C+1 .. dP'_C$, called $W_1^{(d)}$ (47.1220), are the weights
# leaving $t_n^{(d,C)}$, and $W_1y_{1,n} = \sum_d W_1^{(d)}t_n^{(d,C)}$. Then the listing
# runs the feedforward layers (47.1216).
#
# $$
# W_1^{(d)} = [W_1]_{:,\,(d-1)P'_C+1\,:\,dP'_C} \tag{47.1220}
# $$
#
# $$
# z_{\ell+1,n} = W_\ell\, y_{\ell,n} - \theta_\ell, \qquad y_{\ell+1,n} = f(z_{\ell+1,n}), \quad \ell = 1, \dots, L-1 \tag{47.1216}
# $$

# %%
W1 = params.W_ff[1]
blocks = [W1[:, (d - 1) * Pp:d * Pp] for d in range(1, 5)]  # W_1^(d), (47.1220)
print("W_1 is", W1.shape, "; W_1^(d) is", blocks[0].shape)
print("W_1 y_1 == sum_d W_1^(d) t^(d,C):",
      np.allclose(W1 @ y1, sum(B @ res.t_conv[d, C] for d, B in enumerate(blocks, start=1))))
for l in range(1, net.L):
    z = params.W_ff[l] @ res.y_ff[l] - params.theta_ff[l]  # (47.1216)
    print(f"l={l}: z_{l + 1} ok {np.allclose(z, res.z_ff[l + 1])}, "
          f"y_{l + 1} = sigmoid(z) ok {np.allclose(1 / (1 + np.exp(-z)), res.y_ff[l + 1])}")
print("output y = y_L =", res.output, "; largest at", int(np.argmax(res.output)))

# %% [markdown]
# ## Every feature map at once, and three ways to the same output (47.1216)
#
# The package's figure of the listing's maps $y^{(d,c)}$ and output (`sayedcnn.app.plots`), and
# the output of (47.1216) computed three ways: the listing map by map, the fused batched
# path used for training, and scalar loops over the index equations (`sayedcnn.reference`).
# The parameters are untrained, so the output is not yet a prediction.
#
# $$
# y_n = y_{L,n} = \text{the output of the listing: } h_n \to \{z_n^{(d,c)}, y_n^{(d,c)}, t_n^{(d,c)}\}_{c=1}^{C} \to y_{1,n} \to \dots \to y_{L,n} \tag{47.1216}
# $$

# %%
display(Image(filename=plots.feature_maps(net, params, x, FIG_DIR / "maps.png", label=int(labels[n]), dpi=110)))
fused = forward_fused(net, params, X[n:n + 1]).output[0]  # (47.1216), batched
by_loops = loops.forward(net, params, x)["output"]  # (47.1216), scalar loops
print("listing:", res.output)
print("fused  :", fused, " max diff", np.abs(fused - res.output).max())
print("loops  :", by_loops, " max diff", np.abs(by_loops - res.output).max())
