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
# # 6. Backpropagation (47.1221)-(47.1274)
#
# Section 47.25.6 of Sayed's *Inference and Learning from Data* derives the gradients of the
# empirical risk through the correlation and pooling layers. The feedforward part is the
# usual backpropagation; the new pieces are the sensitivity of the last correlation layer
# (through pooling, upsampling and $\mathrm{permute}^\#$) and of the earlier ones (through
# the matrices $V^{(d,d',c+1)}$ built from the partition matrices). This notebook follows the
# derivation step by step with `sayedcnn`, reproduces the book's worked example
# (47.1251)-(47.1256) symbolically and numerically, and compares the final gradients with
# scalar loops over the index equations and with finite differences.

# %%
import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats
import numpy as np
from IPython.display import Math, display
import scipy.sparse as sp
import sympy

import sayedcnn as sc
from sayedcnn.app.plots import spy_row, windows_over_image, matrix_latex
from sayedcnn.fidelity import book_examples as book
from sayedcnn.fidelity import symbolic
from sayedcnn.data.datasets import load_digits
from sayedcnn.forward import forward_listing
from sayedcnn.reference import finite_diff, loops
from sayedcnn.training import backward_listing
from sayedcnn.losses import one_hot

np.set_printoptions(precision=4, suppress=True, linewidth=120)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 3.0), "font.size": 11})
set_matplotlib_formats("png")  # figures returned by sayedcnn.app.plots show inline


# %% [markdown]
# ## The network, its parameters and feature matrices (47.1221)-(47.1226)
#
# Feedforward layer $\ell$ has $W_\ell$ ($n_{\ell+1}\times n_\ell$) and $\theta_\ell$
# (47.1221g-h). Correlation layer $c$ collects, for map $d$, the masks $W^{(d,c)} =
# \mathrm{col}\{w_1^{(d,c)}, \dots, w_{D_{c-1}}^{(d,c)}\}$ (47.1223a) and biases
# $\theta^{(d,c)}$ (47.1223b) as the columns of $W_c$ ($S_cD_{c-1}\times D_c$, 47.1224a) and
# $\Theta_c$ ($D_{c-1}\times D_c$, 47.1224b); the feature matrices of a layer stack into
# $H_{n,c}$ ($D_cS_{c+1}\times P_{c+1}$, 47.1225). The network is the one of notebook 5.
#
# $$
# W_c = \begin{bmatrix} W^{(1,c)} & \cdots & W^{(D_c,c)} \end{bmatrix}\ (S_c D_{c-1} \times D_c), \qquad H_{n,c} = \begin{bmatrix} H_n^{(1,c)} \\ \vdots \\ H_n^{(D_c,c)} \end{bmatrix}\ (D_c S_{c+1} \times P_{c+1}) \tag{47.1216}
# $$

# %%
net = sc.Network((8, 8), conv=[sc.Conv(3, mask=3, activation="tanh", pool=("max", 2)),
                               sc.Conv(4, mask=3, activation="tanh", pool=("mean", 2))],
                 hidden=[6], outputs=10)
params = net.init(seed=0, bias_scale=0.2)
print(net.size_table())
for g, k, a in params.items():
    print(f"{g}[{k}] {a.shape}", end="   ")
X_all, labels = load_digits(split=False)
X, Gamma = X_all[:3], one_hot(labels[:3], 10)  # three training pairs {gamma_n, h_n}
x, gamma = X[1], Gamma[1]
res = forward_listing(net, params, x)  # (47.1216)
print("\nH_{n,0}", res.H_stacked[0].shape, " H_{n,1}", res.H_stacked[1].shape, "(47.1225)")

# %% [markdown]
# ## The empirical risk (47.1227)-(47.1229)
#
# The risk (47.1229); the variant (47.1227) divides the regularisers by $N$ too.
# The biases are not regularised.
#
# $$
# J_{\rm emp}(W, \theta) = \sum_{c=1}^{C} \rho_1 \|W_c\|_F^2 + \sum_{\ell=1}^{L-1} \rho_2 \|W_\ell\|_F^2 + \frac{1}{N}\sum_{n=0}^{N-1} \|\gamma_n - y_n\|^2 \tag{47.1229}
# $$

# %%
rho1, rho2 = 0.01, 0.02
J = net.risk(params, X, Gamma, rho1=rho1, rho2=rho2)  # (47.1229)
data_term = np.mean([np.sum((Gamma[n] - net.predict(params, X[n:n + 1])[0]) ** 2) for n in range(3)])
reg = rho1 * sum(np.sum(W**2) for W in params.W_conv.values()) + rho2 * sum(np.sum(W**2) for W in params.W_ff.values())
print(f"J_emp (47.1229) = {J:.6f} = {reg:.6f} + {data_term:.6f}")
print(f"J_emp (47.1227) = {net.risk(params, X, Gamma, rho1, rho2, scaling='1227'):.6f} = {reg / 3 + data_term:.6f}")

# %% [markdown]
# ## Sensitivities of the feedforward layers (47.1232)-(47.1234)
#
# $\delta_{\ell,n}(j) = \partial\|\gamma_n - y_n\|^2/\partial z_{\ell,n}(j)$ (47.1232); at
# the output it is (47.1233), and backwards (47.1234).
#
# $$
# \delta_{L,n} = 2(y_n - \gamma_n) \odot f'(z_n) \tag{47.1233}
# $$
#
# $$
# \delta_{\ell,n} = f'(z_{\ell,n}) \odot \big(W_\ell^T \delta_{\ell+1,n}\big) \tag{47.1234}
# $$

# %%
sens = backward_listing(net, params, res, gamma, keep_V=True)  # the whole backward pass
sig_p = lambda z: sc.get_activation("sigmoid").fprime(z)
d_L = 2 * (res.output - gamma) * sig_p(res.z_ff[3])  # (47.1233)
d_2 = sig_p(res.z_ff[2]) * (params.W_ff[2].T @ d_L)  # (47.1234)
print("delta_L =", d_L, " ok", np.allclose(d_L, sens.delta_ff[3]))
print("delta_2 =", d_2, " ok", np.allclose(d_2, sens.delta_ff[2]))

# %% [markdown]
# ## The last correlation layer (47.1235)-(47.1245)
#
# The sensitivity of map $d$ of layer $C$, $\delta_n^{(d,C)}(j) = \partial\|\gamma_n -
# y_n\|^2/\partial z_n^{(d,C)}(j)$ (47.1235), collects through the chain rule (47.1236)-
# (47.1239) the weights leaving the pooled entry that $j$ feeds. In vector form: take
# $v = (W_1^{(d)})^T\delta_{2,n}$ (47.1241), upsample it by the gradient vectors of the
# pooling, $\mathrm{upv}(v)$ (47.1242)-(47.1243), put the entries back in place with
# $\mathrm{permute}^\#$ (47.1244), and multiply by $f'$ (47.1245).
#
# $$
# v = \big(W_1^{(d)}\big)^T \delta_{2,n} \tag{47.1241}
# $$
#
# $$
# \mathrm{upv}(v) = \mathrm{col}\big\{\alpha_j\, g_{n,j}^{(d,C)}\big\} \tag{47.1243}
# $$
#
# $$
# \delta_n^{(d,C)} = f'\big(z_n^{(d,C)}\big) \odot \mathrm{permute}^\#\Big(\mathrm{upv}\big((W_1^{(d)})^T \delta_{2,n}\big)\Big), \quad d = 1, \dots, D_C \tag{47.1245}
# $$

# %%
C, last = net.C, net.layers[-1]
Pp = last.P_out
tanh_p = sc.get_activation("tanh").fprime
for d in range(1, last.D + 1):
    v = params.W_ff[1][:, (d - 1) * Pp:d * Pp].T @ sens.delta_ff[2]  # (47.1241), W_1^(d)
    u = last.pooling.upv(v, res.y_conv[d, C])  # (47.1243)
    delta = tanh_p(res.z_conv[d, C]) * last.pooling.permute_sharp(u)  # (47.1245)
    print(f"d={d}: v = {v}, delta^({d},C) ok {np.allclose(delta, sens.delta_conv[d, C])}")

# %% [markdown]
# The book spells (47.1245) out row by row in (47.1240) for the regions of Fig. 47.95. With
# symbols for $f'$, $\delta_{2,n}$, $W_1^{(d)}$ and the pooling derivatives,
# `sayedcnn.fidelity.symbolic` forms $f'\odot\mathrm{permute}^\#(\mathrm{upv}(v))$ and compares it
# with the printed rows: they agree (the first four rows are shown).
#
# $$
# \delta_n^{(d,C)}(j) = f'\big(z_n^{(d,C)}(j)\big)\, \frac{\partial t_n^{(d,C)}(p''_j)}{\partial y_n^{(d,C)}(j)}\, \big[(W_1^{(d)})^T\delta_{2,n}\big](p''_j), \quad j = 1, \dots, 12 \tag{47.1240}
# $$
#
# $$
# \delta_n^{(d,C)} = f'\big(z_n^{(d,C)}\big) \odot \mathrm{permute}^\#\Big(\mathrm{upv}\big((W_1^{(d)})^T \delta_{2,n}\big)\Big) \tag{47.1245}
# $$

# %%
printed, computed = symbolic.example_1240()  # (47.1240), (47.1245)
for j in range(4):
    print(f"row {j + 1}: printed  {printed[j]}\n       computed {computed[j]}")
print("all 12 rows agree:", all(sympy.expand(a - b) == 0 for a, b in zip(printed, computed)))

# %% [markdown]
# ## Earlier layers: the book's worked example (47.1246)-(47.1256)
#
# For $c < C$, the chain rule (47.1246)-(47.1249) needs
# $b_n^{(d,d',c)}(p'') = \sum_i\delta_n^{(d',c+1)}(i)\,\partial z_n^{(d',c+1)}(i)/\partial
# t_n^{(d,c)}(p'')$ (47.1250). In Fig. 47.99 a pooled map of 6 entries is cut into
# $P_{c+1} = 4$ subvectors of 2 entries, read off by $V_c$ (47.1252)-(47.1253), and the
# mask is $w = (w_1, w_2)$; by inspection $b = [\dots]\,\delta$ with the 6 x 4 matrix of
# (47.1251). The book then finds the same matrix as
# $(V_c^T\odot(\mathbb 1_6\mathbb 1_4^T\otimes w^T))(I_4\otimes\mathbb 1_2)$ (47.1256),
# whose pattern is the skeleton $V_c^T(I_4\otimes\mathbb 1_2)$ (47.1255). Symbolically:
#
# $$
# b_n^{(d,d',c)} = \begin{bmatrix} w_1 & 0 & w_2 & 0 \\ 0 & w_2 & 0 & w_2 \\ w_2 & 0 & 0 & 0 \\ 0 & w_1 & 0 & 0 \\ 0 & 0 & w_1 & 0 \\ 0 & 0 & 0 & w_1 \end{bmatrix} \delta_n^{(d',c+1)} \tag{47.1251}
# $$
#
# $$
# \Big(V_c^T \odot \big(\mathbb 1_6 \mathbb 1_4^T \otimes (w_d^{(d',c+1)})^T\big)\Big)(I_4 \otimes \mathbb 1_2) = \text{the } 6 \times 4 \text{ matrix of (47.1251)} \tag{47.1256}
# $$

# %%
printed_1256, computed_1256 = symbolic.example_1256()  # (47.1256) with symbols w1, w2
print("printed (47.1251):")
sympy.pprint(printed_1256)
print("computed (V_c^T (.) (1_6 1_4^T (x) w^T)) (I_4 (x) 1_2):")
sympy.pprint(computed_1256)
print("equal:", printed_1256 == computed_1256)
b_printed, b_computed = symbolic.example_1251()  # (47.1251) b = (.) delta
print("b =", list(b_computed), "\nequal to the printed product:",
      all(sympy.expand(a - b) == 0 for a, b in zip(b_printed, b_computed)))

# %% [markdown]
# The same example in numbers, step by step: $V_c$ (47.1252) from the subvectors
# $\{1,3\}, \{4,2\}, \{5,1\}, \{6,2\}$ of (47.1253), the indicator $(I_4\otimes\mathbb 1_2)^T
# V_c$ (47.1254), the skeleton (47.1255), and (47.1256) at $w = (2, 3)$, formed literally
# with the Kronecker and Hadamard products.
#
# $$
# V_c = \begin{bmatrix} e_1 & e_3 & e_4 & e_2 & e_5 & e_1 & e_6 & e_2 \end{bmatrix}^T \quad (8 \times 6) \tag{47.1252}
# $$
#
# $$
# \Big(V_c^T \odot \big(\mathbb 1_6 \mathbb 1_4^T \otimes (w_d^{(d',c+1)})^T\big)\Big)(I_4 \otimes \mathbb 1_2) \tag{47.1256}
# $$

# %%
V_c = sc.partition_matrix(np.array(book.PRINTED_1253).reshape(4, 2) - 1, 6)  # (47.1252)
display(Math(r"V_c\ (8 \times 6) = " + matrix_latex(V_c)))
print("V_c col{1..6} =", (V_c @ np.arange(1, 7)).astype(int), "  (47.1253)")
display(Math(r"(I_4 \otimes \mathbb 1_2)^T V_c = " + matrix_latex(sc.patch_indicator(V_c, 4, 2), zeros="0") + r"\quad\text{(47.1254)}"))
display(Math(r"V_c^T(I_4 \otimes \mathbb 1_2) = " + matrix_latex(sc.V_ddc_skeleton(V_c, 4, 2), zeros="0") + r"\quad\text{(47.1255)}"))
B = sc.V_ddc(V_c, [2.0, 3.0], 4, 2, literal=True).toarray()  # (47.1256)
display(Math(r"V^{(d,d',c+1)} \text{ at } w = (2, 3): " + matrix_latex(B, zeros="0")))
print("equals the printed matrix at w = (2, 3):",
      np.array_equal(B, book.substitute(book.PRINTED_1251, w1=2.0, w2=3.0)))

# %% [markdown]
# ### Fig. 47.99 on a real digit (47.1250), (47.1255)
#
# Entry $p''$ of the pooled map $t_n^{(1,1)}$ (4 x 4, from the digit above) is read by
# several windows of layer 2 (3 x 3 masks, zero extension): every one of them sends a term
# $\delta_n^{(d',2)}(i)\,\partial z_n^{(d',2)}(i)/\partial t_n^{(1,1)}(p'')$ back to it in
# $b_n^{(1,d',1)}(p'')$ (47.1250). The windows drawn are the nonzero entries of row $p''$ of
# the skeleton $V_1^T(I_{P_2}\otimes\mathbb 1_{S_2})$ (47.1255), computed by the package.

# %%
ly2 = net.layers[1]
t_map = sc.unvec(res.t_conv[1, 1], net.layers[0].pooled_shape)
skeleton = sc.V_ddc_skeleton(ly2.partition.V, ly2.P, ly2.S).toarray()
p_sel = 5  # 0-based entry p'' of t^(1,1): row 1, column 1 of the 4 x 4 map
readers = np.flatnonzero(skeleton[p_sel])
print(f"entry p'' = {p_sel + 1} of t^(1,1) is read by the windows p =", readers + 1,
      f"of layer 2 ({len(readers)} of P_2 = {ly2.P})")
fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(9, 4.2))
digit_im = ax_a.imshow(x[0], cmap="gray_r")
ax_a.set_title(f"the digit {labels[1]} (8 x 8)", fontsize=10)
ax_a.set_axis_off()
fig.colorbar(digit_im, ax=ax_a, fraction=0.04)
windows_over_image(t_map, ly2.partition, readers, ax=ax_b, cmap="viridis",
                   labels=[f"p={p + 1}" for p in readers],
                   title=f"$t^{{(1,1)}}$ (4 x 4) and the windows reading entry {p_sel + 1}")
ax_b.add_patch(plt.Rectangle((p_sel // 4 - 0.5, p_sel % 4 - 0.5), 1, 1, fill=False, ec="red", lw=3))
plt.show()

# %% [markdown]
# ## $V^{(d,d',c+1)}$ in the network (47.1257)-(47.1258)
#
# In general $V^{(d,d',c+1)}$ is the $P'_c\times P_{c+1}$ matrix of (47.1257), and
# (47.1258) gives $b$. (The
# print has $\mathbb 1_{S_c}$ in the last factor and calls $V_c$ $P_{c+1}S_c\times P'_c$;
# the sizes work only with $S_{c+1}$, errata E-1252 and E-1257.) Since
# $z_n^{(d',c+1)}$ is linear in $t_n^{(d,c)}$, the definition (47.1250) says
# $V^{(d,d',c+1)}$ is the transpose of the Jacobian $\partial z^{(d',c+1)}/\partial
# t^{(d,c)}$; the Jacobian is formed below column by column from the partition
# (`patch_matrix` of unit vectors) and compared for every pair $(d, d')$ of the network.
#
# $$
# V^{(d,d',c+1)} = \Big(V_c^T \odot \big(\mathbb 1_{P'_c}\mathbb 1_{P_{c+1}}^T \otimes (w_d^{(d',c+1)})^T\big)\Big)\big(I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}}\big) \quad (P'_c \times P_{c+1}) \tag{47.1257}
# $$
#
# $$
# b_n^{(d,d',c)} = V^{(d,d',c+1)}\, \delta_n^{(d',c+1)} \tag{47.1258}
# $$

# %%
ly1, ly2 = net.layers
V_1 = ly2.partition.V  # P_2 S_2 x P'_1
worst = 0.0
for d in range(1, ly1.D + 1):
    for d2 in range(1, ly2.D + 1):
        w = params.W_conv[2][(d - 1) * ly2.S:d * ly2.S, d2 - 1]  # w_d^(d',2)
        Jac = np.column_stack([sc.patch_matrix(V_1, e, ly2.S).T @ w for e in np.eye(ly1.P_out)])
        worst = max(worst, np.abs(sens.V[d, d2, 2].toarray() - Jac.T).max())  # (47.1257)
print(f"V^(d,d',2) is {sens.V[1, 1, 2].shape} = P'_1 x P_2; largest |V - J^T| over 12 pairs: {worst:.1e}")
b = sens.V[1, 1, 2] @ sens.delta_conv[1, 2]  # (47.1258)
print("b^(1,1,1) =", b)
display(spy_row([V_1, sens.V[1, 1, 2], sc.V_ddc_skeleton(V_1, ly2.P, ly2.S)],
         ["V_1 (144 x 16)", "V^(1,1,2) (16 x 16)", "skeleton V_1^T (I (x) 1)"]))

# %% [markdown]
# ## $\delta_n^{(d,c)}$ for $c < C$ (47.1259)-(47.1262)
#
# As at the boundary, $b$ is upsampled and put back in place (47.1260)-(47.1262).
# Recomputed from the pieces:
#
# $$
# \delta_n^{(d,c)} = \sum_{d'=1}^{D_{c+1}} f'\big(z_n^{(d,c)}\big) \odot \mathrm{permute}^\#\Big(\mathrm{upv}\big(V^{(d,d',c+1)}\delta_n^{(d',c+1)}\big)\Big), \quad d = 1, \dots, D_c \tag{47.1262}
# $$

# %%
for d in range(1, ly1.D + 1):
    delta = sum(tanh_p(res.z_conv[d, 1]) * ly1.pooling.permute_sharp(
        ly1.pooling.upv(sens.V[d, d2, 2] @ sens.delta_conv[d2, 2], res.y_conv[d, 1]))
        for d2 in range(1, ly2.D + 1))  # (47.1262)
    print(f"d={d}: delta^({d},1) ok {np.allclose(delta, sens.delta_conv[d, 1])}; "
          f"first entries {delta[:4]}")
by_loops = loops.backward(net, params, x, gamma)["delta_conv"]
print("agrees with the scalar loops of (47.1246)-(47.1249):",
      all(np.allclose(by_loops[c][d - 1], sens.delta_conv[d, c]) for c in (1, 2) for d in range(1, net.layers[c - 1].D + 1)))

# %% [markdown]
# The row-by-row form (47.1259) for the regions of Fig. 47.95, with symbols: the printed
# column of $b(p'')$ indices disagrees with $\mathrm{permute}^\#(\mathrm{upv}(b))$ from
# row 4 on, while the column of pooling derivatives beside it is right (erratum E-1259).
#
# $$
# \delta_n^{(d,c)}(j) = f'\big(z_n^{(d,c)}(j)\big)\,\frac{\partial t_n^{(d,c)}(p''_j)}{\partial y_n^{(d,c)}(j)}\, b_n^{(d,d',c)}(p''_j), \quad j = 1, \dots, 12 \tag{47.1259}
# $$
#
# $$
# x = \mathrm{permute}^\#\big(\mathrm{upv}(b_n^{(d,d',c)})\big) \tag{47.1260}
# $$

# %%
printed_1259, computed_1259 = symbolic.example_1259()  # (47.1259), (47.1260)
rows = [j + 1 for j in range(12) if sympy.expand(printed_1259[j] - computed_1259[j]) != 0]
print("printed b-indices :", book.PRINTED_1259_B)
print("rows that differ  :", rows)
print("row 4 printed     :", printed_1259[3], "\n      computed    :", computed_1259[3])

# %% [markdown]
# ## Derivatives (47.1263)-(47.1269)
#
# For the feedforward layers $\partial\|\gamma_n - y_n\|^2/\partial W_\ell =
# \delta_{\ell+1,n}y_{\ell,n}^T$ and $\partial/\partial\theta_\ell = -\delta_{\ell+1,n}$
# (47.1263)-(47.1264). For a mask, (47.1265)-(47.1268) give $[H_n^{(j,c-1)}]_{s,:}
# \delta_n^{(d,c)}$, so the whole column $W^{(d,c)}$ has $\partial/\partial W^{(d,c)} =
# H_{n,c-1}\delta_n^{(d,c)}$ (47.1269). Checked against the per-sample gradient of the
# package (the listing with $N = 1$ and no regularisation).
#
# $$
# \frac{\partial \|\gamma_n - y_n\|^2}{\partial W_\ell} = \delta_{\ell+1,n}\, y_{\ell,n}^T \tag{47.1263}
# $$
#
# $$
# \frac{\partial \|\gamma_n - y_n\|^2}{\partial \theta_\ell} = -\delta_{\ell+1,n} \tag{47.1264}
# $$
#
# $$
# \frac{\partial \|\gamma_n - y_n\|^2}{\partial W^{(d,c)}} = H_{n,c-1}\, \delta_n^{(d,c)} \tag{47.1269}
# $$

# %%
g1 = net.gradients(params, x[None], gamma[None], method="listing")  # one sample, N = 1
print("dW_2 == delta_3 y_2^T:", np.allclose(g1.W_ff[2], np.outer(sens.delta_ff[3], res.y_ff[2])))  # (47.1263)
print("dtheta_2 == -delta_3:", np.allclose(g1.theta_ff[2], -sens.delta_ff[3]))  # (47.1264)
for c in (1, 2):
    cols = [res.H_stacked[c - 1] @ sens.delta_conv[d, c] for d in range(1, net.layers[c - 1].D + 1)]  # (47.1269)
    print(f"dW_{c} columns == H_(n,{c - 1}) delta^(d,{c}):", np.allclose(g1.W_conv[c], np.column_stack(cols)))

# %% [markdown]
# ## $\Delta_{n,c}$ and the Kronecker forms (47.1270)-(47.1274)
#
# With the block-diagonal $\Delta_{n,c} = \mathrm{diag}\{\delta_n^{(1,c)}, \dots,
# \delta_n^{(D_c,c)}\}$ (47.1270), all columns at once:
# $\partial/\partial W_c = (\mathbb 1_{D_c}^T\otimes H_{n,c-1})\Delta_{n,c}$ (47.1271).
# For the biases $\partial/\partial\theta^{(d,c)}(j) = -\mathbb 1^T\delta_n^{(d,c)}$ for every
# $j$ (47.1272)-(47.1273), so $\partial/\partial\Theta_c = -(\mathbb 1_{D_c}^T\otimes
# \mathbb 1_{D_{c-1}}\mathbb 1_{P_c}^T)\Delta_{n,c}$ (47.1274).
#
# $$
# \Delta_{n,c} = \begin{bmatrix} \delta_n^{(1,c)} & & \\ & \ddots & \\ & & \delta_n^{(D_c,c)} \end{bmatrix} \quad (D_c P_c \times D_c) \tag{47.1270}
# $$
#
# $$
# \frac{\partial \|\gamma_n - y_n\|^2}{\partial W_c} = \big(\mathbb 1_{D_c}^T \otimes H_{n,c-1}\big)\,\Delta_{n,c} \tag{47.1271}
# $$
#
# $$
# \frac{\partial \|\gamma_n - y_n\|^2}{\partial \Theta_c} = -\big(\mathbb 1_{D_c}^T \otimes \mathbb 1_{D_{c-1}}\mathbb 1_{P_c}^T\big)\,\Delta_{n,c} \tag{47.1274}
# $$

# %%
for c in (1, 2):
    ly = net.layers[c - 1]
    Delta = sens.Delta[c]  # (47.1270), D_c P_c x D_c
    dW = np.kron(np.ones((1, ly.D)), res.H_stacked[c - 1]) @ Delta  # (47.1271)
    dT = -np.kron(np.ones((1, ly.D)), np.ones((ly.D_in, 1)) @ np.ones((1, ly.P))) @ Delta  # (47.1274)
    print(f"c={c}: Delta {Delta.shape}; (47.1271) ok {np.allclose(dW, g1.W_conv[c])}; "
          f"(47.1274) ok {np.allclose(dT, g1.Theta_conv[c])}")
display(spy_row([sens.Delta[1], sens.Delta[2], sp.csr_matrix(np.kron(np.ones((1, 4)), res.H_stacked[1]))],
         ["Delta_(n,1) (192 x 3)", "Delta_(n,2) (64 x 4)", "1^T (x) H_(n,1) (27 x 64)"]))

# %% [markdown]
# ## The whole gradient four ways (47.1275)
#
# The derivatives of $J_{emp}$ (47.1229) for three digits with $\rho_1 = 0.01$,
# $\rho_2 = 0.02$: the training listing (47.1275) sample by sample (with the $1/N$ of
# (47.1229), which the printed listing omits: erratum E-1275b), the fused batched path,
# scalar loops over the index equations, and central finite differences of the loop risk.
# The finite-difference step is $10^{-6}$ (relative): max pooling has kinks where two
# entries of a region tie, and on these digits two entries of one region differ by only
# $5\times10^{-5}$, which a larger step would straddle.
#
# $$
# \frac{\partial J_{\rm emp}}{\partial W_\ell} = 2\rho_2 W_\ell + \frac{1}{N}\sum_{n} \delta_{\ell+1,n}\, y_{\ell,n}^T, \qquad \frac{\partial J_{\rm emp}}{\partial W_c} = 2\rho_1 W_c + \frac{1}{N}\sum_{n} \big(\mathbb 1_{D_c}^T \otimes H_{n,c-1}\big)\Delta_{n,c} \tag{47.1275}
# $$

# %%
g_listing = net.gradients(params, X, Gamma, rho1, rho2, method="listing")  # (47.1275)
g_fused = net.gradients(params, X, Gamma, rho1, rho2, method="fused")
g_loops = loops.gradients(net, params, X, Gamma, rho1=rho1, rho2=rho2)
diff_fd, g_fd = finite_diff.check_gradients(net, params, X, Gamma, rho1, rho2, grads=g_listing,
                                            order=2, rel_step=1e-6, return_fd=True)
print(f"{'parameter':<14}{'fused':>10}{'loops':>10}{'fin. diff.':>12}   (largest |difference| / largest |entry|)")
for (g, k, a), *others in zip(g_listing.items(), g_fused.items(), g_loops.items(), g_fd.items()):
    f, lo, fd = (np.abs(a - b).max() / np.abs(a).max() for _, _, b in others)
    print(f"{g}[{k}]".ljust(14) + f"{f:10.1e}{lo:10.1e}{fd:12.1e}")
print("largest over all arrays vs finite differences:", f"{diff_fd:.1e}")

# %% [markdown]
# ## Testing another implementation against the listings (47.1216), (47.1275), (47.1276)
#
# `python -m sayedcnn golden --out DIR` writes, for small seeded problems, every array of the
# forward listing (47.1216), of the training listing (47.1275) and of one step of (47.1276);
# a copy ships in the package. Any implementation can be checked array by array with
# `golden.verify_trace(..., compute=...)`, where `compute(net, params, X, Gamma, rho1, rho2,
# mu)` returns a dict of arrays named as in the trace. Here the other implementation is
# PyTorch, through the bridge `sayedcnn.interop.torch` (README: "Test your own CNN against
# the book").

# %%
from sayedcnn.interop import golden

try:
    from sayedcnn.interop.torch import golden_arrays, grads_from_torch, to_torch
except ImportError:
    golden_arrays = None
    print("torch is not installed: checking the package's own listings instead")

for report in golden.verify_directory(compute=golden_arrays).values():
    print(report.summary())

if golden_arrays is not None:
    tr = golden.load_trace(golden.DATA_DIR / "two_layer_overlap_table.npz")
    rho1, rho2, mu = tr.settings
    module = to_torch(tr.net, tr.params)          # an ordinary torch.nn.Module, float64
    print(module)
    module.risk(tr.X, tr.Gamma, rho1, rho2).backward()
    grads = grads_from_torch(tr.net, module)      # back in the book's shapes
    print("largest |dJ/dW_1 (torch) - dJ/dW_1 (trace)|:",
          abs(grads.W_conv[1] - tr.arrays["dJ_dW_conv_1"]).max())
