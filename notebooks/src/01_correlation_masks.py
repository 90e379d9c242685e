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
# # 1. Correlation masks and edge detection (47.1124)-(47.1142)
#
# Section 47.25.1 of A. H. Sayed, *Inference and Learning from Data*, starts from image
# filtering: a small mask slides over an image and each output pixel is the correlation of
# the mask with the patch under it. This notebook runs those steps on a real handwritten
# digit with `sayedcnn`; nothing is re-implemented here, every computation below is a call
# into the package, with the equation it carries written just above it.

# %%
import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats
import numpy as np
from IPython.display import Math, display

import sayedcnn as sc
from sayedcnn.app.plots import image_row, windows_over_image, matrix_latex
from sayedcnn.data.datasets import load_mnist5k

np.set_printoptions(precision=3, suppress=True, linewidth=110)
plt.rcParams.update({"figure.dpi": 120, "figure.figsize": (8, 3.5), "font.size": 11,
                     "image.cmap": "gray_r"})
set_matplotlib_formats("png")  # figures returned by sayedcnn.app.plots show inline


# %% [markdown]
# ## A real image
#
# The input image $\mathcal I$ of (47.1128) is a 28 x 28 MNIST digit shipped with the package (pixels scaled
# to $[0, 1]$; the book speaks of gray levels in $[0, 255]$, which only rescales every
# result). Rows and columns are indexed by $r, c$ as in Fig. 47.81; the code is 0-based.

# %%
X, labels = load_mnist5k(split=False)
n = int(np.flatnonzero(labels == 2)[3])
image = X[n, 0]
print("image", n, "of the set: digit", labels[n], "of size", image.shape)
display(image_row([image], [f"digit {labels[n]}"]))

# %% [markdown]
# ## Correlation of a patch with a mask (47.1126)-(47.1127)
#
# For a $(2K+1)\times(2K+1)$ patch $\mathcal H$ and mask $\mathcal W$, the correlation is
# the sum of their entrywise products, which is also the inner product of their column-stacked
# forms (47.1126a-c), with `sc.vec` stacking columns (47.1127, Fig. 47.82):
#
# $$
# \mathrm{corr}(\mathcal H, \mathcal W) = \sum_{k,\ell=-K}^{K} \mathcal H(k,\ell)\,\mathcal W(k,\ell) = \mathrm{vec}(\mathcal H)^T \mathrm{vec}(\mathcal W) = h^T w \tag{47.1126}
# $$

# %%
rng = np.random.default_rng(0)
r0, c0 = np.argwhere(image > 0.5)[40]  # a pixel on the stroke
H_patch = image[r0 - 1:r0 + 2, c0 - 1:c0 + 2]
W_mask = rng.standard_normal((3, 3))
print("vec(H) =", sc.vec(H_patch))
print("sum of H(k,l) W(k,l) =", np.sum(H_patch * W_mask), "  (47.1126a)")
print("h^T w               =", sc.vec(H_patch) @ sc.vec(W_mask), "  (47.1126b-c)")

# %% [markdown]
# ## Filtering the whole image (47.1128)-(47.1134)
#
# Sliding the mask one row or column at a time, with the image extended by zeros outside
# its borders (47.1129), gives the filtered image $\mathcal F$, where $h_{r,c}$ is the
# column-stacked patch centred on $(r, c)$. With unit stride $\mathcal F$ has the size of
# $\mathcal I$. Below, one entry is checked against the patch read out of the zero-extended
# image, then every entry, borders included.
#
# $$
# \mathcal F(r,c) = \sum_{k=-K}^{K}\sum_{\ell=-K}^{K} \mathcal I(r+k, c+\ell)\,\mathcal W(k,\ell) = h_{r,c}^T w \tag{47.1133}
# $$
#
# $$
# h_{r,c} = \mathrm{vec}\Big([\mathcal I(r+k, c+\ell)]_{k,\ell=-K}^{K}\Big) \in \mathbb R^{(2K+1)^2} \tag{47.1134}
# $$

# %%
F = sc.correlate(image, W_mask)  # (47.1133), 'same' = the book's zero extension
padded = np.pad(image, 1)
h_rc = sc.vec(padded[r0:r0 + 3, c0:c0 + 3])  # (47.1134): patch centred on (r0, c0)
print(f"F({r0},{c0}) = {F[r0, c0]: .6f}   h_rc^T w = {h_rc @ sc.vec(W_mask): .6f}")
gap = max(abs(F[r, c] - sc.vec(padded[r:r + 3, c:c + 3]) @ sc.vec(W_mask))
          for r in range(28) for c in range(28))
print(f"largest |F(r,c) - h_rc^T w| over all 784 pixels, borders included: {gap:.1e}")
print("F is", F.shape, "like the image; with stride 2:", sc.correlate(image, W_mask, stride=2).shape)

# %% [markdown]
# ### The windows of Fig. 47.83 on the digit (47.1129)-(47.1132)
#
# The first window is centred on pixel $(1, 1)$ of the book (0-based $(0, 0)$): most of the
# mask lies over the fictitious zeros outside the image (47.1129). The next one, $h_{1,2}$
# (47.1131)-(47.1132), moves one column to the right; further windows slide over the stroke.
# Each rectangle is one patch $h_{r,c}$, one row of the partition matrix's blocks, read out
# by `sc.sliding_partition`.

# %%
part = sc.sliding_partition(image.shape, 3)  # 3 x 3 mask, 'same' zero extension, stride 1
rows = image.shape[0]
chosen = [(0, 0), (0, 1), (r0, c0), (r0, c0 + 3), (r0 + 5, c0 - 4)]
fig, (ax_full, ax_zoom) = plt.subplots(1, 2, figsize=(9, 4.2))
show = [r + c * rows for r, c in chosen]  # output position p = r + c*rows (column-major)
windows_over_image(image, part, show, ax=ax_full, labels=[f"({r + 1},{c + 1})" for r, c in chosen],
                   title="3 x 3 windows over the digit (book's 1-based (r, c))")
corner = sc.sliding_partition((6, 6), 3)
windows_over_image(image[:6, :6], corner, [0, 6], ax=ax_zoom, labels=["$h_{1,1}$", "$h_{1,2}$"],
                   title="top-left corner: the zero extension (dotted)")
plt.show()

# %% [markdown]
# ## The Gaussian mask (47.1135)
#
# The mask of (47.1135), with its constant kept as printed; correlating with it smooths the
# image.
# A two-dimensional Gaussian is normalised by $2\pi\sigma^2$, so the printed mask sums to
# about $\sqrt{2\pi}$ rather than 1 (erratum E-1135 of `sayedcnn.fidelity.errata`, notebook 9);
# `normalize=True` rescales it.
#
# $$
# \mathcal W(k,\ell) = \frac{1}{\sqrt{2\pi}\,\sigma^2}\, e^{-(k^2+\ell^2)/(2\sigma^2)}, \qquad k, \ell = -K, \dots, K \tag{47.1135}
# $$

# %%
G = sc.gaussian_mask(K=2, sigma2=1.0)  # (47.1135)
print(G)
print("G(0,0) = 1/(sqrt(2 pi) sigma^2) =", G[2, 2], "  sum of entries:", G.sum(),
      " sqrt(2 pi) =", np.sqrt(2 * np.pi))
display(image_row([image, sc.correlate(image, G), sc.correlate(image, sc.gaussian_mask(3, 2.0))],
         ["image", "Gaussian K=2, s2=1", "Gaussian K=3, s2=2"]))

# %% [markdown]
# ## The flipped mask and the convolution form (47.1136)-(47.1139)
#
# Example 47.69: the flipped mask $\mathcal W^\#(k,\ell) = \mathcal W(-k,-\ell)$ (47.1136)
# is a rotation by 180 degrees. With the reversed identity $\tilde I$ of (47.1137), which is
# orthogonal, $\mathcal W^\# = \tilde I\mathcal W\tilde I$ and $w^\# = \tilde I w$
# (47.1138), where the second $\tilde I$ is of size $(2K+1)^2$.
#
# $$
# \mathcal W^\#(k,\ell) = \mathcal W(-k,-\ell) \tag{47.1136}
# $$
#
# $$
# \tilde I = \begin{bmatrix} & & 1 \\ & 1 & \\ 1 & & \end{bmatrix} \tag{47.1137}
# $$
#
# $$
# \mathcal W^\# = \tilde I\,\mathcal W\,\tilde I, \qquad w^\# = \tilde I\, w \tag{47.1138}
# $$

# %%
I3 = sc.reversal_matrix(3).toarray()  # (47.1137)
display(Math(r"\tilde I = " + matrix_latex(I3, zeros="0")))
W_flip = sc.flip_mask(W_mask)  # (47.1136)
print("W# == I~ W I~ :", np.array_equal(W_flip, I3 @ W_mask @ I3), "  (47.1138)")
print("W  == I~ W# I~:", np.array_equal(W_mask, I3 @ W_flip @ I3), "  (47.1138)")
I9 = sc.reversal_matrix(9).toarray()
print("w# == I~ w    :", np.array_equal(sc.vec(W_flip), I9 @ sc.vec(W_mask)), "  (47.1138)")
print("I~ orthogonal :", np.array_equal(I9 @ I9.T, np.eye(9)))

# %% [markdown]
# Changing variables in (47.1133) turns the correlation with $\mathcal W$ into the 2-D
# convolution with the flipped mask: $\mathcal F(r,c) = \sum_{k,\ell}\mathcal W^\#(k,\ell)\,
# \mathcal I(r-k, c-\ell) = \mathcal I \star \mathcal W^\#$ (47.1139). `sc.convolve`
# evaluates the convolution sum directly, so this is a genuine check of the identity, here
# for a random (non-symmetric) mask and for the Sobel mask.
#
# $$
# \mathcal F(r,c) = \sum_{k,\ell=-K}^{K} \mathcal I(r+k, c+\ell)\,\mathcal W(k,\ell) \tag{47.1133}
# $$
#
# $$
# \mathcal F(r,c) = \sum_{k,\ell=-K}^{K} \mathcal W^\#(k,\ell)\,\mathcal I(r-k, c-\ell) = (\mathcal I \star \mathcal W^\#)(r,c) \tag{47.1139}
# $$

# %%
for name, Wm in [("random 3x3", W_mask), ("random 5x5", rng.standard_normal((5, 5))),
                 ("Sobel W_x", sc.sobel_masks()[0])]:
    lhs = sc.correlate(image, Wm)  # (47.1133)
    rhs = sc.convolve(image, sc.flip_mask(Wm))  # (47.1139)
    print(f"{name:<11} max |corr(I, W) - I * W#| = {np.max(np.abs(lhs - rhs)):.2e}")
print("but corr(I, W) != I * W for the random mask:",
      np.max(np.abs(sc.correlate(image, W_mask) - sc.convolve(image, W_mask))).round(3))

# %% [markdown]
# ## Edge detection with Sobel and Prewitt masks (47.1140)-(47.1142)
#
# Example 47.70: the Sobel (47.1140a) and Prewitt (47.1140b) masks are finite-difference
# approximations of the image gradient along $x$ (across columns) and $y$ (down rows).
# Their entries sum to zero, so they give zero on uniform regions.
#
# $$
# (\text{Sobel})\quad \mathcal W_x = \begin{bmatrix} -1 & 0 & 1 \\ -2 & 0 & 2 \\ -1 & 0 & 1 \end{bmatrix},
# \quad \mathcal W_y = \begin{bmatrix} -1 & -2 & -1 \\ 0 & 0 & 0 \\ 1 & 2 & 1 \end{bmatrix} \tag{47.1140a}
# $$
#
# $$
# (\text{Prewitt})\quad \mathcal W_x = \begin{bmatrix} -1 & 0 & 1 \\ -1 & 0 & 1 \\ -1 & 0 & 1 \end{bmatrix},
# \quad \mathcal W_y = \begin{bmatrix} -1 & -1 & -1 \\ 0 & 0 & 0 \\ 1 & 1 & 1 \end{bmatrix} \tag{47.1140b}
# $$

# %%
(Sx, Sy), (Px, Py) = sc.sobel_masks(), sc.prewitt_masks()  # (47.1140a), (47.1140b)
display(Math(r"\text{Sobel: } \mathcal W_x = " + matrix_latex(Sx, zeros="0") + r",\quad \mathcal W_y = " + matrix_latex(Sy, zeros="0")))
display(Math(r"\text{Prewitt: } \mathcal W_x = " + matrix_latex(Px, zeros="0") + r",\quad \mathcal W_y = " + matrix_latex(Py, zeros="0")))
flat = np.full((6, 6), 0.7)
print("response to a uniform image (interior):",
      [float(np.abs(sc.correlate(flat, m)[1:-1, 1:-1]).max()) for m in (Sx, Sy, Px, Py)])

# %% [markdown]
# Correlating with each mask gives the gradient estimates $\mathcal F_x$, $\mathcal F_y$
# (47.1141a-b); their magnitude is $\mathcal F(r,c) = \sqrt{\mathcal F_x^2(r,c) + \mathcal
# F_y^2(r,c)}$ (47.1142), and pixels where it exceeds a threshold are declared edges
# (Fig. 47.85).
#
# $$
# \mathcal F_x = \mathrm{corr}(\mathcal I, \mathcal W_x), \qquad \mathcal F_y = \mathrm{corr}(\mathcal I, \mathcal W_y) \tag{47.1141}
# $$
#
# $$
# \mathcal F(r,c) = \sqrt{\mathcal F_x^2(r,c) + \mathcal F_y^2(r,c)} \tag{47.1142}
# $$

# %%
Fx, Fy = sc.correlate(image, Sx), sc.correlate(image, Sy)  # (47.1141a), (47.1141b)
mag = sc.edge_magnitude(image)  # (47.1142), Sobel pair
mag_p = sc.edge_magnitude(image, masks=(Px, Py))  # (47.1142), Prewitt pair
print("edge_magnitude == sqrt(Fx^2 + Fy^2):", np.allclose(mag, np.sqrt(Fx**2 + Fy**2)))
threshold = 0.5 * mag.max()
edges = mag > threshold
print(f"threshold {threshold:.2f}: {edges.sum()} edge pixels of {edges.size}")
display(image_row([image, Fx, Fy, mag, mag_p, edges],
         ["image", "Sobel F_x", "Sobel F_y", "Sobel |F|", "Prewitt |F|", "edges"], cmap="gray_r"))

# %% [markdown]
# The signed responses show direction: $\mathcal F_x$ is positive where intensity grows to
# the right and negative where it falls, so the left and right flanks of each stroke light
# up with opposite signs (red and blue below), and $\mathcal F_y$ does the same for the
# upper and lower flanks (47.1141).

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
lim = np.abs(np.stack([Fx, Fy])).max()
for ax, Fm, title in zip(axes, (Fx, Fy), ("$\\mathcal{F}_x$: Sobel $W_x$", "$\\mathcal{F}_y$: Sobel $W_y$")):
    shown = ax.imshow(Fm, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(title)
    ax.set_axis_off()
fig.colorbar(shown, ax=list(axes), fraction=0.04, label="signed response")
plt.show()
