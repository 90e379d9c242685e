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
# # 2. Partition matrices (47.1143)-(47.1153)
#
# Section 47.25.2 of Sayed's *Inference and Learning from Data* replaces the picture of a
# sliding mask by linear algebra: the image becomes one long vector $h$, and reading out its
# patches becomes multiplication by a 0/1 *partition matrix* $V$. This notebook builds the
# book's own 12 x 6 example and then the $V$ of a sliding window with padding and stride,
# all with `sayedcnn`.

# %%
import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats
import numpy as np
from IPython.display import Math, display

import sayedcnn as sc
from sayedcnn.app.plots import spy_row, matrix_latex
from sayedcnn.fidelity import book_examples as book

np.set_printoptions(precision=3, suppress=True, linewidth=120)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 3.0), "font.size": 11})
set_matplotlib_formats("png")  # figures returned by sayedcnn.app.plots show inline


# %% [markdown]
# ## Images as vectors (47.1143)-(47.1146)
#
# The image $\mathcal I$ is represented by $h = \mathrm{vec}(\mathcal I)$ (47.1143) and the
# filtered image by $y = \mathrm{vec}(\mathcal F)$ (47.1144), so filtering maps $h$ to $y$
# (47.1146). `vec` stacks columns: entry $(r, c)$ of an $R \times C$ image lands at position
# $r + cR$ (0-based). A 3 x 4 image whose entries are their own positions makes this visible.

# %%
I = np.arange(12).reshape(3, 4, order="F")
display(Math(r"\mathcal I = " + matrix_latex(I, zeros="0")))
print("h = vec(I) =", sc.vec(I), "  (47.1143)")
print("unvec(h) == I:", np.array_equal(sc.unvec(sc.vec(I), (3, 4)), I))

# %% [markdown]
# ## The book's example (47.1149)
#
# Fig. 47.87 partitions a vector of $M = 6$ entries into $P = 4$ overlapping subvectors of
# $S = 3$ entries: $h_1$ reads entries $\{1, 4, 6\}$, $h_2$ reads $\{2, 5, 4\}$, $h_3$
# reads $\{3, 6, 1\}$ and $h_4$ reads $\{2, 4, 1\}$ (1-based). The partition matrix $V$
# ($PS \times M = 12 \times 6$) has the basis row $e_k^T$ for every index read, in order,
# so that $V\,\mathrm{col}\{1, \dots, 6\}$ lists the indices (47.1149). The printed numbers
# are kept in `sayedcnn.fidelity.book_examples`. (The label under the printed brace says
# $P \times M$; the matrix is $PS \times M$, erratum E-1149.)
#
# $$
# \mathrm{col}\{1,4,6 \mid 2,5,4 \mid 3,6,1 \mid 2,4,1\} = V\,\mathrm{col}\{1, 2, \dots, 6\}, \qquad V \in \mathbb R^{PS\times M} = \mathbb R^{12\times 6} \tag{47.1149}
# $$

# %%
subvectors = book.PARTITION_1149  # Fig. 47.87, 1-based
V = sc.partition_matrix(np.array(subvectors) - 1, 6)  # (47.1149), 0-based indices
V_printed = np.zeros((12, 6))
V_printed[np.arange(12), np.array(book.PRINTED_1149) - 1] = 1  # the printed V
display(Math(r"V\ (12 \times 6) = " + matrix_latex(V)))
print("V @ col{1..6} =", (V @ np.arange(1, 7)).astype(int), "  (47.1149)")
print("equals the printed V:", np.array_equal(V.toarray(), V_printed))

# %% [markdown]
# ## $(I_P \otimes \mathbb 1_S^T)V$ (47.1150)-(47.1151)
#
# Summing each block of $S$ rows, i.e. multiplying by the $P \times PS$ matrix
# $I_P\otimes\mathbb 1_S^T$ (47.1150), gives a $P \times M$ matrix whose row $p$ marks the
# entries of $h$ that subvector $p$ uses (47.1151), as printed.
#
# $$
# I_P \otimes \mathbb 1_S^T = \begin{bmatrix} \mathbb 1^T & & & \\ & \mathbb 1^T & & \\ & & \mathbb 1^T & \\ & & & \mathbb 1^T \end{bmatrix} \quad (P \times PS) \tag{47.1150}
# $$
#
# $$
# (I_P \otimes \mathbb 1_S^T)\,V = \begin{bmatrix} 1 & 0 & 0 & 1 & 0 & 1 \\ 0 & 1 & 0 & 1 & 1 & 0 \\ 1 & 0 & 1 & 0 & 0 & 1 \\ 1 & 1 & 0 & 1 & 0 & 0 \end{bmatrix} \tag{47.1151}
# $$

# %%
left = np.kron(np.eye(4), np.ones((1, 3)))  # (47.1150), P x PS
display(Math(r"I_4 \otimes \mathbb 1_3^T = " + matrix_latex(left)))
ind = sc.patch_indicator(V, P=4, S=3).toarray()  # (47.1151)
printed_1151 = np.array(book.PRINTED_1151)
display(Math(r"(I_4 \otimes \mathbb 1_3^T)\,V = " + matrix_latex(ind, zeros="0")))
print("equals the printed (47.1151):", np.array_equal(ind, printed_1151),
      "  and the explicit product:", np.array_equal(ind, left @ V.toarray()))

# %% [markdown]
# ## Partitioning as a product (47.1152)-(47.1153)
#
# For any $h$, $\mathrm{col}\{h_p\} = Vh$: $V$ is the stack of basis rows
# $e_1^T, e_4^T, e_6^T \mid e_2^T, e_5^T, e_4^T \mid \dots$ (47.1153). With a random $h$
# the blocks of $Vh$ are the subvectors, and `patch_matrix` arranges them as the columns of
# $H = [h_1 \dots h_P]$ (used in (47.1157)).
#
# $$
# \mathrm{col}\{h_{n,p}\} = \mathrm{partition}(h_n) \iff \mathrm{col}\{h_{n,p}\} = V h_n \tag{47.1152}
# $$

# %%
h = np.random.default_rng(0).standard_normal(6)
blocks = (V @ h).reshape(4, 3)  # rows: h_1 .. h_4 (47.1152)
for p, idx in enumerate(subvectors, start=1):
    print(f"h_{p} = {blocks[p - 1]}   h[{idx}] = {h[np.array(idx) - 1]}")
display(Math(r"H = \texttt{patch\_matrix}(V, h, S) = " + matrix_latex(sc.patch_matrix(V, h, 3), zeros="0")))
print("basis rows of V (47.1153):", [f"e_{k + 1}" for k in V.indices])
print("as printed:", np.array_equal(V.indices + 1, book.PRINTED_1153))

# %% [markdown]
# ## A sliding window with padding and stride (47.1147), (47.1152)
#
# For an image the partition comes from sliding the mask. Take a 5 x 4 image whose entries
# are $1, \dots, 20$ (column-major), a 3 x 3 mask, one zero of padding on every side and
# stride 2 in both directions. Output positions are numbered column-major and each patch is
# read column-major too. A window that covers padding gives an all-zero row of $V$, so the
# rows of $V$ are basis vectors or zero. The sizes play the roles of (47.1147): $S$ =
# entries of the mask, $P$ = number of windows, $M$ = entries of the image.
#
# $$
# \mathrm{col}\{h_{n,p}\}_{p=1}^{P} = V h_n, \qquad V \in \mathbb R^{PS \times M} \tag{47.1152}
# $$

# %%
img = np.arange(1, 21, dtype=float).reshape(5, 4, order="F")
part = sc.sliding_partition(img.shape, (3, 3), stride=2, padding=1)  # (47.1152)
display(Math(r"\text{image} = " + matrix_latex(img, zeros="0")))
print(f"S = {part.S}, P = {part.P} (output {part.out_shape}), M = {part.M}  (47.1147)")
print("V is", part.V.shape, "with", part.V.nnz, "ones;",
      int(np.sum(part.V.getnnz(axis=1) == 0)), "all-zero (padding) rows")
H = sc.patch_matrix(part.V, sc.vec(img), part.S)  # columns: the patches
for p in range(part.P):
    print(f"patch p={p + 1}:\n", sc.unvec(H[:, p], (3, 3)))

# %% [markdown]
# The patch matrix turns the correlation (47.1133) into one product, $\mathrm{vec}(\mathcal
# F) = H^T w$ (47.1152 with 47.1133): with the mask below this is exactly
# `sc.correlate(img, W, stride=2, padding=1)`.
#
# $$
# \mathcal F(r,c) = h_{r,c}^T w \ \ \text{for every window at once:}\ \ \mathrm{vec}(\mathcal F) = H^T w \tag{47.1133}
# $$

# %%
W = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
F_vec = H.T @ sc.vec(W)  # (47.1133) F(r,c) = h_rc^T w, for every window at once
print("H^T w reshaped =\n", sc.unvec(F_vec, part.out_shape))
print("correlate     =\n", sc.correlate(img, W, stride=2, padding=1))

# %% [markdown]
# ## Spy plots of $V$ and of $(I_P\otimes\mathbb 1_S^T)V$ (47.1151)
#
# Left: $V$ for the padded, strided window above (54 x 20). Middle: its indicator
# (47.1151), one row per window. Right: the unit-stride 'same' window of the book (mask
# centred on every pixel, zeros outside), whose $P = M$ (47.1147b-c).

# %%
same = sc.sliding_partition(img.shape, 3, stride=1, padding="same")
display(spy_row([part.V, sc.patch_indicator(part.V, part.P, part.S),
          sc.patch_indicator(same.V, same.P, same.S)],
         [f"V, {part.V.shape[0]}x{part.V.shape[1]}", "(I_P (x) 1_S^T) V, stride 2",
          f"(I_P (x) 1_S^T) V, 'same', P = {same.P}"]))

# %% [markdown]
# ## Partitions that are not windows (Fig. 47.86)
#
# Nothing above needs an image: any rule that reads subvectors out of $h$ has its $V$
# (47.1148), (47.1152). Here $M = 10$ is cut into consecutive non-overlapping pieces, into
# overlapping pieces, and into scattered pieces, as in the three panels of Fig. 47.86.
#
# $$
# \mathrm{col}\{h_{n,p}\} = V h_n \tag{47.1152}
# $$

# %%
Vs = [sc.partition_matrix([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]], 10),  # (47.1152)
      sc.partition_matrix([[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]], 10),
      sc.partition_matrix([[0, 5, 9], [3, 1, 7], [8, 2, 4]], 10)]
for A in Vs:
    print(A.shape, "V @ col{1..10} =", (A @ np.arange(1, 11)).astype(int))
display(spy_row(Vs, ["no overlap", "overlapping", "scattered"], markersize=4))
