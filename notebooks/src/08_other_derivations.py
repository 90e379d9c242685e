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
# # 8. Four other derivations beside the book's matrices
#
# The same network has been derived by others in other notations. The four *seed notes*
# are not shipped with the package (the reader does not have them), so here is what each one is:
#
# - **seed 000**: a short unsigned note naming no author or source, which backpropagates by
#   hand through a 4 x 4 image, one 2 x 2 filter and overlapping 2 x 2 max pooling;
# - **seed 001**: lecture 6 of the KTH course DD2424 (2017), "The Convolutional Layer in
#   Convolutional Networks", which writes the layer as an im2col matrix product and derives its
#   gradients, with RGB filters;
# - **seed 002**: an unsigned note in the BP1-BP4 notation of M. Nielsen's online book *Neural
#   Networks and Deep Learning*, which derives the four equations index by index for a 28 x 28
#   MNIST network;
# - **seed 004**: H. Xu (Sun Yat-sen University, 2014), "Derivation of Convolutional Neural
#   Networks", a guide to J. Bouvrie's notes: LeNet connection tables, trainable average
#   pooling and rotated kernels.
#
# `sayedcnn.fidelity.seeds.SEED_NOTES` holds the same descriptions (printed below).
#
# `sayedcnn.fidelity.seeds` rebuilds each note's objects from the book's operators of section 47.25
# (partition matrices, $T$, upv, $V^{(d,d',c+1)}$) and lists its printed numbers beside the
# computed ones (`examples()`). A record whose print is wrong carries the id of its erratum
# and counts as reproduced when the print and the corrected value differ.

# %%
import numpy as np
from IPython.display import Math, display

import sayedcnn as sc
from sayedcnn.app.plots import matrix_latex
from sayedcnn.fidelity.seeds import SEED_NOTES, s000, s001, s002, s004

np.set_printoptions(precision=4, suppress=True, linewidth=120)
for note in SEED_NOTES.values():
    print(f"{note.key}: {note.source}")


def show_examples(records):
    for e in records:
        mark = "same numbers" if e.agrees else f"differs: erratum {e.erratum}"
        print(f"[{'ok' if e.ok else 'FAIL'}] {e.title}\n       -> {mark}")


# %% [markdown]
# ## Seed 000: overlapping max pooling (47.1187), (47.1201)-(47.1203)
#
# A 4 x 4 image, a 2 x 2 mask (a 3 x 3 map) and 2 x 2 max pooling with stride 1, so the
# four windows overlap. The note pools $V = [3\,2\,5; 4\,1\,7; 3\,5\,0]$ into
# $M = [4\,7; 5\,7]$. In the book's terms this is (47.1187) over overlapping regions, and
# the $T$ of (47.1203) is a 16 x 9 selection matrix: the middle entry of the map belongs to
# all four windows.

# %%
pool = s000.note_pooling()  # 2x2 max pooling, stride 1, on a 3x3 map
print("V =\n", s000.V_PRINTED, "\nM printed =\n", s000.M_PRINTED)
print("M computed (47.1187) =\n", s000.max_pool_example())
print("regions (column-major, 0-based):", [r.tolist() for r in pool.regions])
print("T is", pool.T.shape, "(47.1203); windows holding each entry of vec(V):",
      np.asarray(pool.T.sum(axis=0)).ravel().astype(int))

# %% [markdown]
# The note's "reverse max-pool" indicators (one row per window, one column per position in
# the window, both read row by row) are the book's gradient vectors $g_{p'} = e_{p^o}$
# (47.1196b) read in the note's order, and the note's $w_{pool}$ is the Jacobian
# $\partial t/\partial y = G\,T$, so $w_{pool}^T v = T^T\mathrm{upv}(v) =
# \mathrm{permute}^\#(\mathrm{upv}(v))$ (47.1244): the contributions of overlapping windows
# add up.

# %%
print("printed indicators =\n", s000.REVERSE_MAXPOOL_PRINTED)
print("from g_p' (47.1196b) =\n", s000.reverse_maxpool_matrix())
v = np.array([1.0, 10.0, 100.0, 1000.0])
y = sc.vec(s000.V_PRINTED)
print("w_pool^T v       =", s000.w_pool_matrix().T @ v)
print("T^T upv(v) (47.1244) =", pool.permute_sharp(pool.upv(v, y)), " (entry 7 is in two windows)")
show_examples(s000.examples())

# %% [markdown]
# ## Seed 001: im2col and RGB filters (47.1157), (47.1164), (47.1225)
#
# The lecture writes a convolution as a product with the matrix $M_X^{im}$ whose rows are
# the image patches, read row by row. With the image $X_{ij} = 10i + j$ the printed rows
# can be compared number by number: $M_X^{im}$ is the book's patch matrix $H^T$
# (47.1157), (47.1225) with rows and columns reordered by commutation matrices
# (row-major vs the book's column-major vec). For several channels the lecture's
# $M_F^{filter}$ gives the same outputs as the book's $\sum_j (H^{(j)})^T w_j$ (47.1164).
#
# $$
# H_n = \begin{bmatrix} h_{n,1} & \cdots & h_{n,P} \end{bmatrix} \quad (S \times P) \tag{47.1157}
# $$
#
# $$
# y_n(p) = f\Big(\sum_{j}\big([h_{n,p}^{(j)}]^T w_j - \theta(j)\big)\Big) \tag{47.1164}
# $$

# %%
X6 = s001.labelled_image()
M = s001.im2col(X6, 3)  # from the book's V (47.1157)
display(Math(r"X = " + matrix_latex(X6, zeros="0")))
print("M_X^im rows 1-5 and 16 (computed):\n", M[[0, 1, 2, 3, 4, 15]])
rng = np.random.default_rng(0)
Xrgb, F = rng.standard_normal((4, 6, 6)), rng.standard_normal((4, 3, 3))
out_book = sum(sc.correlate(Xrgb[j], F[j], padding="valid") for j in range(4))  # (47.1164)
Mf = s001.filter_matrix(F, (6, 6))
print("M_F^filter is", Mf.shape, "; M_F vec_row(X) == sum_j corr(X_j, F_j):",
      np.allclose(Mf @ Xrgb.reshape(-1), out_book.reshape(-1)))
show_examples(s001.examples())

# %% [markdown]
# ## Seed 002: BP1-BP4 on 28 x 28 digits (47.1216), (47.1275)
#
# A 28 x 28 image, one shared 5 x 5 mask and bias ('valid', a 24 x 24 map), 2 x 2 max
# pooling (12 x 12) and 10 sigmoid outputs: in the book's terms $C = 1$, $S_1 = 25$,
# $P_1 = 576$, $P'_1 = 144$ (47.1216). The note's index formulas BP1-BP4, implemented
# index by index in `sayedcnn.reference.image`, give the same derivatives as the book's
# listing (47.1275) on real MNIST digits, except where the note's tie rule for max pooling
# is read literally on the exactly-zero background (erratum E-S002a).

# %%
net2 = s002.network()
print(net2.size_table())
show_examples(s002.examples())

# %% [markdown]
# ## Seed 004: connection tables, up(x) and rotated kernels (47.1213), (47.1138), (47.1257)
#
# LeNet-5's S2-C3 layer connects 6 maps to 16 through a table (the book's index sets
# $\mathcal D_c$ of (47.1213)); with 5 x 5 kernels and one bias per map it has
# $60 \times 25 + 16 = 1516$ parameters, while the book's full $W_c$ and $\Theta_c$
# (47.1224) would hold 2496.

# %%
table = s004.table_matrix()
print("S2-C3 table (rows: S2 maps, columns: C3 maps):")
print("\n".join("".join("X" if t else "." for t in row) for row in table))
print("parameter counts:", {k: v for k, v in s004.c3_counts().items() if k in ("effective", "book")})
print("C3 in the book's terms:", s004.c3_network().layers[0].conn.sum(), "connected (j, d) pairs")

# %% [markdown]
# The note's upsampling $\mathrm{up}(x) = x\otimes\mathbb 1_{n\times n}$ is the book's
# $\mathrm{permute}^\#(\mathrm{upv}(\cdot))$ (47.1200), (47.1204) for mean pooling, up to
# the factor $n^2$ in $g = \mathbb 1/|\Omega|$ (47.1196a); its rotated kernels $JkJ$ are the
# book's flipped masks $\tilde I\mathcal W\tilde I$ (47.1138), and its (16) is
# $V^{(d,d',c+1)}\delta$ (47.1257).

# %%
x2 = np.arange(1.0, 5.0).reshape(2, 2)
print("up(x) =\n", s004.up(x2, 2))
print("4 T^T upv(x) for 2x2 mean pooling =\n", 4 * s004.up_book(x2, (4, 4), 2, "mean"))
k = np.arange(1.0, 10.0).reshape(3, 3)
J = sc.reversal_matrix(3).toarray()
print("J k J == flip_mask(k) (47.1138):", np.array_equal(J @ k @ J, sc.flip_mask(k)))
show_examples(s004.examples())

# %% [markdown]
# ## All four notes (47.1216)-(47.1276)
#
# Every printed number of the four notes, reproduced from the book's formulation of
# (47.1216)-(47.1276): the same numbers, or a registered slip.

# %%
summary = {name: mod.examples() for name, mod in
           [("seed 000", s000), ("seed 001", s001), ("seed 002", s002), ("seed 004", s004)]}
for name, recs in summary.items():
    same = sum(e.agrees for e in recs)
    print(f"{name}: {len(recs)} records, {same} with the same numbers, "
          f"{len(recs) - same} printed slips, all reproduced: {all(e.ok for e in recs)}")
