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
# # 4. Pooling, upsampling and permutations (47.1168)-(47.1204)
#
# Section 47.25.3 of Sayed's *Inference and Learning from Data* shrinks each feature map by
# pooling regions of it into single numbers, then prepares the backward pass with three
# tools: the gradient of each pooling function, "upsampling" by that gradient, and a
# permutation $T$ that groups the entries of a map region by region. Everything below is
# computed by `sayedcnn.Pooling`.

# %%
import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats
import numpy as np
from IPython.display import Math, display

import sayedcnn as sc
from sayedcnn.app.plots import image_row, regions_over_image, matrix_latex
from sayedcnn.fidelity import book_examples as book
from sayedcnn.data.datasets import load_mnist5k

np.set_printoptions(precision=3, suppress=True, linewidth=120)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 2.8), "font.size": 11})
set_matplotlib_formats("png")  # figures returned by sayedcnn.app.plots show inline
KINDS = ("mean", "max", "l2", "subsample", "correlation")


# %% [markdown]
# ## Mean pooling as a mask (47.1168)-(47.1171)
#
# Pooling reduces a map $y$ of $P$ entries to $t$ of $P' < P$ entries (47.1168). In the image
# picture (Fig. 47.90) non-overlapping $3 \times 3$ blocks $\mathcal H_{r,c}$ of the map are
# each replaced by one number; mean pooling (47.1169) is the correlation of the block with
# $\mathcal M_{\rm mean}$ (47.1170)-(47.1171).
#
# $$
# t(r,c) = \frac{1}{(2B+1)^2}\sum_{k=-B}^{B}\sum_{\ell=-B}^{B} \mathcal H_{r,c}(k,\ell) \tag{47.1169}
# $$
#
# $$
# \mathcal M_{\rm mean} = \begin{bmatrix} 1/9 & 1/9 & 1/9 \\ 1/9 & 1/9 & 1/9 \\ 1/9 & 1/9 & 1/9 \end{bmatrix} = \frac{1}{3^2}\,\mathbb 1 \mathbb 1^T \tag{47.1170}
# $$

# %%
Y = np.random.default_rng(3).integers(0, 10, size=(6, 6)).astype(float)
display(Math(r"y\ (6 \times 6) = " + matrix_latex(Y, zeros="0")))
mean3 = sc.Pooling("mean", in_shape=(6, 6), block=3)
t_mean = sc.unvec(mean3.pool(sc.vec(Y)), mean3.out_shape)  # (47.1169)
M_mean = np.ones((3, 3)) / 9  # (47.1170)
display(Math(r"t_{\rm mean} = " + matrix_latex(t_mean, zeros="0")))
print("t(1,1) = sum H_11 (.) M_mean =", np.sum(Y[:3, :3] * M_mean), "  (47.1170)")

# %% [markdown]
# ## Max, $\ell_2$ and subsampling (47.1172)-(47.1179)
#
# Max pooling keeps the largest entry of each block (47.1172) and remembers where it was,
# $(k^o, \ell^o)$ (47.1173); as a mask it is $\mathcal M_{max} = e_{k^o}e_{\ell^o}^T$
# (47.1174)-(47.1175). $\ell_2$-pooling takes the Frobenius norm of the block (47.1176).
# Subsampling keeps one entry per block (47.1177), here the top-left one, i.e. the mask
# $\mathcal M_{sub} = e_1 e_1^T$ (47.1178)-(47.1179). Ties in max pooling go to the first
# entry in column-major order.

# %%
for kind in ("max", "l2", "subsample"):
    pool = sc.Pooling(kind, in_shape=(6, 6), block=3)
    print(f"{kind:>9} pooled t =\n", sc.unvec(pool.pool(sc.vec(Y)), pool.out_shape))
g = sc.Pooling("max", in_shape=(6, 6), block=3).gradient_vectors(sc.vec(Y))
print("M_max of block (1,1) = e_k e_l^T (47.1175):\n", sc.unvec(g[0], (3, 3)))
print("||H_11||_F =", np.linalg.norm(Y[:3, :3]), "  (47.1176)")

# %% [markdown]
# The schematic (47.1177) subsamples by 3 in both directions a map with 7 rows and 9
# columns, keeping entries $a, \dots, i$ at rows and columns $1, 4, 7$. In `sayedcnn` that is
# subsampling over 1 x 1 blocks placed with stride 3. Below the kept entries are labelled
# 1..9 in the book's reading order ($a$ = 1, $b$ = 2, ...) and all others are 0.
#
# $$
# \begin{bmatrix} a & \times & \times & b & \times & \times & c & \times & \times \\ \times & \times & \times & \times & \times & \times & \times & \times & \times \\ \times & \times & \times & \times & \times & \times & \times & \times & \times \\ d & \times & \times & e & \times & \times & f & \times & \times \\ \vdots & & & \vdots & & & \vdots & & \\ g & \times & \times & h & \times & \times & i & \times & \times \end{bmatrix} \xrightarrow{\text{subsampling}} \begin{bmatrix} a & b & c \\ d & e & f \\ g & h & i \end{bmatrix} \tag{47.1177}
# $$

# %%
schematic = np.zeros((7, 9))
schematic[np.ix_([0, 3, 6], [0, 3, 6])] = np.arange(1, 10).reshape(3, 3)  # a..i
sub = sc.Pooling("subsample", in_shape=(7, 9), block=1, stride=3)  # (47.1177)
print(schematic.astype(int))
print("->\n", sc.unvec(sub.pool(sc.vec(schematic)), sub.out_shape).astype(int))

# %% [markdown]
# ## Correlation pooling (47.1180)
#
# Any mask $\mathcal M$ gives a pooling (47.1180), the sum of the entries of
# $\mathcal H_{r,c}\odot\mathcal M$ (the print equates $t(r,c)$ with the matrix $\mathcal H_{r,c}\odot\mathcal M$ itself,
# erratum E-1180). The blocks do not overlap here, as the book assumes
# after (47.1180): `disjoint` says every entry of the map belongs to at most one region.
#
# $$
# t(r,c) = \sum_{k=-B}^{B}\sum_{\ell=-B}^{B} \mathcal H_{r,c}(k,\ell)\,\mathcal M(k,\ell) = \mathbb 1^T\big(\mathcal H_{r,c} \odot \mathcal M\big)\mathbb 1 \tag{47.1180}
# $$

# %%
Mc = np.array([[0.0, 0.1, 0.0], [0.1, 0.6, 0.1], [0.0, 0.1, 0.0]])
corr3 = sc.Pooling("correlation", in_shape=(6, 6), block=3, mask=Mc)  # (47.1180)
print("correlation pooled t =\n", sc.unvec(corr3.pool(sc.vec(Y)), corr3.out_shape))
print("t(1,1) = sum H_11 (.) M =", np.sum(Y[:3, :3] * Mc), "; regions disjoint:", corr3.disjoint)

# %% [markdown]
# ## Gradient matrices and up (47.1181)-(47.1186), Table 47.12
#
# Pooling maps the entries $x_1, x_2, \dots$ of a block to one number (47.1182); its
# partial derivatives, arranged like the block, form the gradient matrix $\mathcal G$
# (47.1184). For the five kinds (47.1185a-e): $\frac19\mathbb 1\mathbb 1^T$,
# $e_{k^o}e_{\ell^o}^T$ (max and subsampling), $\mathcal H_{r,c}/t(r,c)$ and $\mathcal M$.
# Upsampling scales it: $\mathrm{up}(\alpha) = \alpha\mathcal G$ (47.1186). Below, the
# block is the top-left block of the map above.
#
# $$
# \frac{\partial t(r,c)}{\partial \mathcal H_{r,c}} = \frac{1}{(2B+1)^2}\mathbb 1\mathbb 1^T \ \text{(mean)},\quad e_{k^o}e_{\ell^o}^T \ \text{(max, subsampling)},\quad \frac{\mathcal H_{r,c}}{t(r,c)} \ (\ell_2),\quad \mathcal M \ \text{(correlation)} \tag{47.1185}
# $$

# %%
block = Y[:3, :3]
display(Math(r"\mathcal H_{1,1} = " + matrix_latex(block, zeros="0")))
for kind in KINDS:
    pool = sc.Pooling(kind, in_shape=(3, 3), block=3, mask=Mc if kind == "correlation" else None)
    G = sc.unvec(pool.gradient_vectors(sc.vec(block))[0], (3, 3))  # (47.1185)
    print(f"{kind}: t = {pool.pool(sc.vec(block))[0]:.3f}, G =\n{G}")
print("l2 check, G == H / t:", np.allclose(
    sc.unvec(sc.Pooling("l2", in_shape=(3, 3), block=3).gradient_vectors(sc.vec(block))[0], (3, 3)),
    block / np.linalg.norm(block)), "  (47.1185d)")
print("up(2.0) for max pooling =\n", 2.0 * sc.unvec(g[0], (3, 3)), "  (47.1186)")

# %% [markdown]
# ## Every kind of Table 47.13 on one real feature map (47.1187)-(47.1188)
#
# In general the entry $t(p')$ pools a region $\Omega_{p'}$ of $y$ (47.1187), and
# $t = \mathrm{pool}(y)$ applies this to every region (47.1188). The map is the Sobel edge
# magnitude of a digit (28 x 28), pooled over 2 x 2 blocks into 14 x 14 maps; for the
# correlation kind the mask weights the block's entries 0.4, 0.1, 0.1, 0.4.
#
# $$
# t_n^{(d)}(p') = \mathop{\mathrm{pool}}_{p \in \Omega_{p'}}\big(\{y_n^{(d)}(p)\}\big) \tag{47.1187}
# $$

# %%
X, labels = load_mnist5k(split=False)
y_map = sc.edge_magnitude(X[int(np.flatnonzero(labels == 5)[0]), 0])
y = sc.vec(y_map)
pooled = {}
for kind in KINDS:
    pool = sc.Pooling(kind, in_shape=y_map.shape, block=2,
                      mask=np.array([[0.4, 0.1], [0.1, 0.4]]) if kind == "correlation" else None)
    pooled[kind] = pool
    print(f"{kind:>11}: P = {pool.P}, P' = {pool.P_out}, largest t = {pool.pool(y).max():.3f}")  # (47.1187)
display(image_row([y_map] + [sc.unvec(p.pool(y), p.out_shape) for p in pooled.values()],
          ["map y (28x28)"] + [f"{k} (14x14)" for k in KINDS]))

# %% [markdown]
# ## Gradient vectors, Table 47.14 (47.1192)-(47.1196)
#
# Listing the entries of region $\Omega_{p'}$ as a vector $y(\Omega_{p'})$ (47.1192), the
# derivatives of $t(p')$ form the gradient vector $g_{p'}$ (47.1195): $\frac{1}{|\Omega|}
# \mathbb 1$ (mean, 47.1196a), $e_{p^o}$ (max and subsampling, 47.1196b-c),
# $y(\Omega_{p'})/t(p')$ ($\ell_2$, 47.1196d) and the mask $m$ (correlation, 47.1196e).
# Each is checked against its formula for one region that touches the stroke.
#
# $$
# \frac{\partial t_n^{(d)}(p')}{\partial y_n^{(d)}(\Omega_{p'})} = \frac{1}{|\Omega_{p'}|}\mathbb 1 \ \text{(mean)},\quad e_{p^o} \ \text{(max, subsampling)},\quad \frac{y_n^{(d)}(\Omega_{p'})}{t_n^{(d)}(p')} \ (\ell_2),\quad m_d \ \text{(correlation)} \tag{47.1196}
# $$

# %%
pp = int(np.argmax(pooled["max"].pool(y)))  # a region with large values
reg = pooled["max"].regions[pp]
print("region", pp, "entries of y:", reg, "values", y[reg])
for kind, pool in pooled.items():
    g_pp = pool.gradient_vectors(y)[pp]  # (47.1196)
    t_pp = pool.pool(y)[pp]
    formula = {"mean": np.full(4, 1 / 4), "max": np.eye(4)[np.argmax(y[reg])],
               "l2": y[reg] / t_pp, "subsample": np.eye(4)[0],
               "correlation": np.array([0.4, 0.1, 0.1, 0.4])}[kind]
    print(f"{kind:>11}: g = {g_pp}  matches Table 47.14: {np.allclose(g_pp, formula)}")

# %% [markdown]
# ## Upsampling a vector, upv (47.1197)-(47.1200)
#
# $\mathrm{up}(\alpha) = \alpha g$ (47.1197), and for a vector $v$ with one entry per pooled
# position, $\mathrm{upv}(v) = \mathrm{col}\{v(p')\,g_{p'}\}$ (47.1198)-(47.1200): a vector
# of $\sum_{p'}|\Omega_{p'}|$ entries listed region by region. On the 6 x 6 map with 3 x 3
# max pooling and $v = (1, 2, 3, 4)$:
#
# $$
# \mathrm{upv}(v) = \mathrm{col}\big\{\alpha_{p'}\, g_{n,p'}^{(d)}\big\}_{p'=1}^{P'}, \qquad v = \mathrm{col}\{\alpha_1, \dots, \alpha_{P'}\} \tag{47.1200}
# $$

# %%
max3 = sc.Pooling("max", in_shape=(6, 6), block=3)
v = np.array([1.0, 2.0, 3.0, 4.0])
u = max3.upv(v, sc.vec(Y))  # (47.1200)
print("upv(v) =", u.reshape(4, 9), sep="\n")
print("== col{v(p') g_p'}:", np.allclose(u, np.concatenate([v[p] * gp for p, gp in enumerate(max3.gradient_vectors(sc.vec(Y)))])))

# %% [markdown]
# ## The permutation $T$ of the book's example (47.1201)-(47.1203)
#
# Fig. 47.95 pools a map of $P = 12$ entries over $\Omega_1 = \{1,2,4,8\}$,
# $\Omega_2 = \{3,5,7,9,11\}$, $\Omega_3 = \{6,10,12\}$. $T$ stacks the basis rows
# $e_p^T$ region by region (47.1203), so $T\,\mathrm{col}\{1..12\}$ lists the regions one
# after the other (47.1201); it is a square permutation, $TT^T = I$. The printed matrix of
# (47.1201) has only 11 rows and repeats $e_8^T$; it does not produce its own left side,
# while the list of rows (47.1203) is right (erratum E-1201).
#
# $$
# T = \mathrm{col}\big\{e_1^T, e_2^T, e_4^T, e_8^T \,\big|\, e_3^T, e_5^T, e_7^T, e_9^T, e_{11}^T \,\big|\, e_6^T, e_{10}^T, e_{12}^T\big\} \quad (P \times P) \tag{47.1203}
# $$

# %%
regions = book.REGIONS_1201  # Fig. 47.95, 1-based
pool12 = sc.Pooling("max", regions=[np.array(r) - 1 for r in regions], P=12)
T = pool12.T.toarray()  # (47.1203)
display(Math(r"T = " + matrix_latex(T)))
print("T col{1..12} =", (T @ np.arange(1, 13)).astype(int), "  (47.1201)")
print("rows of T:", [f"e_{k + 1}" for k in pool12.T.indices], "  (47.1203)")
print("equal to the printed left side:", np.array_equal(T @ np.arange(1, 13), book.LHS_1201),
      "; to the printed rows (47.1203):", np.array_equal(pool12.T.indices + 1, book.PRINTED_1203))
print("T T^T == I:", np.array_equal(T @ T.T, np.eye(12)))
T_printed = book.printed_T_1201()
print(f"the printed T is {T_printed.shape[0]} x {T_printed.shape[1]}; T_printed col{{1..12}} =",
      (T_printed @ np.arange(1, 13)).astype(int), "(E-1201)")

# %% [markdown]
# ### The regions of Fig. 47.95 on a real feature map (47.1187), (47.1201)
#
# The same three regions read a $4 \times 3$ piece of the digit's edge map above ($P = 12$
# entries numbered column-major, as in the figure). Each region is tinted in its colour; the
# entry that max pooling keeps in each region is outlined in red, and $t$ lists the three
# pooled values.

# %%
r0, c0 = (int(v) for v in np.argwhere(y_map >= 0.6 * y_map.max())[0])
crop = y_map[r0:r0 + 4, c0:c0 + 3]
v12 = sc.vec(crop)
t12 = pool12.pool(v12)
keep = [int(np.array(r)[np.argmax(v12[np.array(r) - 1])]) - 1 for r in regions]
print("t = pool(y) over Omega_1..3:", t12.round(3), "; kept entries (1-based):",
      [k + 1 for k in keep])
fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(9, 4.2))
rows_map = y_map.shape[0]
piece = [r0 + a + (c0 + b) * rows_map for b in range(3) for a in range(4)]
regions_over_image(y_map, [piece], ax=ax_a, numbers=False,
                   title=f"edge map of a digit 5, the 4 x 3 piece at ({r0 + 1},{c0 + 1})")
regions_over_image(crop, [np.array(r) - 1 for r in regions], ax=ax_b, mark=keep,
                   title="regions $\\Omega_1, \\Omega_2, \\Omega_3$ of Fig. 47.95")
plt.show()

# %% [markdown]
# ## permute and permute# (47.1202), (47.1204)
#
# $y_o = \mathrm{permute}(y) = Ty$ (47.1202) regroups a map; $y = \mathrm{permute}^\#(y_o)
# = T^Ty_o$ (47.1204) puts the entries back. Composed with upv, $\mathrm{permute}^\#(
# \mathrm{upv}(v))$ places $v(p')\,g_{p'}$ at the entries of $\Omega_{p'}$, which is
# $(\partial t/\partial y)^T v$: the step the backward pass will need (47.1244).
#
# $$
# y_o = \mathrm{permute}(y) \iff y_o = T y \tag{47.1202}
# $$
#
# $$
# y = \mathrm{permute}^\#(y_o) \iff y = T^T y_o \tag{47.1204}
# $$
#
# $$
# x = \mathrm{permute}^\#\Big(\mathrm{upv}\big((W_1^{(d)})^T \delta_{2,n}\big)\Big) \tag{47.1244}
# $$

# %%
y12 = np.random.default_rng(1).standard_normal(12)
y_o = pool12.permute(y12)  # (47.1202)
print("permute(y)   =", y_o)
print("permute#(y_o) == y:", np.allclose(pool12.permute_sharp(y_o), y12), "  (47.1204)")
v3 = np.array([1.0, -2.0, 0.5])
x = pool12.permute_sharp(pool12.upv(v3, y12))  # (47.1244) form
print("permute#(upv(v)) =", x)
print("== J^T v with J = dt/dy:", np.allclose(x, pool12.jacobian(y12).T @ v3))

# %% [markdown]
# On the digit's map: $\mathrm{permute}^\#(\mathrm{upv}(v))$ scatters each region's gradient,
# scaled by $v(p')$, back to the map (47.1204). With $v = t$, the pooled map itself: one
# spike per block for max pooling, a blurred copy for mean pooling, the block rescaled
# for $\ell_2$, the top-left entries for subsampling and the mask pattern for correlation.

# %%
display(image_row([sc.unvec(p.permute_sharp(p.upv(p.pool(y), y)), y_map.shape)[4:24, 4:24]
           for p in pooled.values()], list(KINDS), cmap="magma"))
