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
# # 10. The derivation of the training algorithm, proved
#
# Section 47.25.7 of Sayed's *Inference and Learning from Data* derives the training listing
# (47.1275) by the chain rule, one identity at a time, (47.1233)-(47.1274). This notebook,
# written for instructors, proves every one of those identities with sympy on a generic small
# network: every image entry, weight and bias is a symbol, and the activation $f$ is a
# generic function whose derivative sympy writes $f'$ (`fp`). Each identity is checked
# against sympy's own differentiation of the symbolic forward pass (47.1216); it is *proven*
# when the difference of the two sides expands to exactly zero, entry by entry.
#
# The forward pass uses the package's own partition matrices $V_{c-1}$ and pooling matrices
# $T$; the sensitivities use its $V^{(d,d',c+1)}$ formula, its upsampling and $T^T$. Max
# pooling is piecewise, so the network pools by mean (layer 1) and l2 (layer 2); the pooling
# identities are also proven for subsampling and for overlapping regions.
# `python -m sayedcnn prove` runs the whole set from a terminal.

# %%
from IPython.display import Markdown, display

import sayedcnn as sc
from sayedcnn.teaching import exercises, prove
from sayedcnn.teaching.explain import explain
from sayedcnn.teaching.show import show

snet = prove.SymbolicNetwork()  # 4 x 4 input, two correlation layers, one hidden layer
net = snet.net
print(net.size_table())
reports = []

# %% [markdown]
# ## The symbolic forward pass (47.1216)
#
# The listing starts from the patches of the input, $\mathrm{vec}(H_n^{(1,0)}) = V_0 h_n$,
# and computes, map by map and layer by layer,
#
# $$
# z_n^{(d,c)} = \sum_{j=1}^{D_{c-1}} \Big( [H_n^{(j,c-1)}]^T w_j^{(d,c)} - \theta^{(d,c)}(j)\,\mathbb 1 \Big), \quad y_n^{(d,c)} = f(z_n^{(d,c)}), \quad t_n^{(d,c)} = \mathrm{pool}(y_n^{(d,c)}), \quad z_{\ell+1,n} = W_\ell\, y_{\ell,n} - \theta_\ell \tag{47.1216}
# $$
#
# Here is $H_n^{(1,0)}$ with its symbols: the 2 x 2 masks read the 4 x 4 image column by
# column, and the windows on the last row and column read the zero padding.

# %%
fw = snet.forward()  # (47.1216)
show(fw["H"][1, 0], r"H_n^{(1,0)}", sparse=True)

# %% [markdown]
# The first entry of $z_n^{(1,1)}$ reads one patch; the loss $Q = \|\gamma_n - y_n\|^2$ of
# (47.1229) at the end depends on every symbol:

# %%
print("z_n^(1,1)(1) =", fw["z_conv"][1, 1][0])
print("symbols in Q:", len(fw["Q"].free_symbols))

# %% [markdown]
# ## The feedforward sensitivities (47.1233)-(47.1234)
#
# $$
# \delta_{L,n} = 2(y_n - \gamma_n) \odot f'(z_{L,n}) = \frac{\partial Q}{\partial z_{L,n}} \tag{47.1233}
# $$
#
# $$
# \delta_{\ell,n} = f'(z_{\ell,n}) \odot \big(W_\ell^T \delta_{\ell+1,n}\big) = \frac{\partial Q}{\partial z_{\ell,n}} \tag{47.1234}
# $$

# %%
reports.append(prove.run_proofs(only=["47.1233", "47.1234"], snet=snet, out=print))  # (47.1233), (47.1234)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## The last correlation layer (47.1236)-(47.1239)
#
# The chain rule through the pooling of layer $C$ and the first feedforward layer:
#
# $$
# \delta_n^{(d,C)}(j) = \sum_{k=1}^{n_2} \delta_{2,n}(k)\, \frac{\partial z_{2,n}(k)}{\partial z_n^{(d,C)}(j)} \tag{47.1236}
# $$
#
# $$
# \frac{\partial z_{2,n}(k)}{\partial z_n^{(d,C)}(j)} = \sum_{p' \mid j \in \Omega_{p'}} w^{(1)}_{i_{p'},k}\, \frac{\partial t_n^{(d,C)}(p')}{\partial y_n^{(d,C)}(j)}\, f'\big(z_n^{(d,C)}(j)\big) \tag{47.1237}
# $$
#
# Without overlap, one region $\Omega_{p''}$ holds $j$, so the sum has one term (47.1238), and
#
# $$
# \frac{\partial z_{2,n}(k)}{\partial z_n^{(d,C)}(j)} = w^{(1)}_{i_{p''},k}\, \frac{\partial t_n^{(d,C)}(p'')}{\partial y_n^{(d,C)}(j)}\, f'\big(z_n^{(d,C)}(j)\big) \tag{47.1238}
# $$
#
# $$
# \delta_n^{(d,C)}(j) = f'\big(z_n^{(d,C)}(j)\big) \Big(\big(w^{(1)}_{i_{p''}}\big)^T \delta_{2,n}\Big) \frac{\partial t_n^{(d,C)}(p'')}{\partial y_n^{(d,C)}(j)} \tag{47.1239}
# $$

# %%
reports.append(prove.run_proofs(only=["47.1236", "47.1237", "47.1238", "47.1239"], snet=snet,
                                out=print))  # (47.1236), (47.1237), (47.1238), (47.1239)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## Upsampling and permute# are the transposed pooling Jacobian (47.1243)-(47.1244)
#
# The gradient vectors of Table 47.14, written by their formulas, are sympy's derivatives of
# each pooled entry with respect to its region; upsampling scales them:
#
# $$
# g_{p'} = \frac{\partial t(p')}{\partial y(\Omega_{p'})}, \qquad \mathrm{upv}(v) = \mathrm{col}\{v(p')\, g_{p'}\} \tag{47.1243}
# $$
#
# With $v = (W_1^{(d)})^T \delta_{2,n}$, the vector $x$ of (47.1240) is
#
# $$
# x = \mathrm{permute}^\#\big(\mathrm{upv}(v)\big) = T^T \mathrm{upv}(v) = \Big(\frac{\partial t}{\partial y}\Big)^T v \tag{47.1244}
# $$
#
# proven here for mean, l2 and subsampling pooling of a 4 x 4 map, and for overlapping
# regions, where $T^T$ adds up the contributions of every region that holds an entry.

# %%
reports.append(prove.run_proofs(only=["47.1243", "47.1244"], snet=snet, out=print))  # (47.1243), (47.1244)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## The boundary sensitivity (47.1245)
#
# $$
# \delta_n^{(d,C)} = f'\big(z_n^{(d,C)}\big) \odot \mathrm{permute}^\#\Big(\mathrm{upv}\big((W_1^{(d)})^T \delta_{2,n}\big)\Big) \tag{47.1245}
# $$

# %%
reports.append(prove.run_proofs(only=["47.1245"], snet=snet, out=print))  # (47.1245)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## Through a correlation layer: $V^{(d,d',c+1)}$ (47.1247)-(47.1258)
#
# $$
# \frac{\partial z_n^{(d',c+1)}(i)}{\partial y_n^{(d,c)}(j)} = \sum_{p'=1}^{P'_c} \frac{\partial z_n^{(d',c+1)}(i)}{\partial t_n^{(d,c)}(p')} \frac{\partial t_n^{(d,c)}(p')}{\partial y_n^{(d,c)}(j)} \tag{47.1247}
# $$
#
# with one $p''$ per $j$ when the regions do not overlap (47.1248). The matrix that carries
# $\delta_n^{(d',c+1)}$ back to the pooled map $t_n^{(d,c)}$ is the transposed Jacobian
# $\partial z^{(d',c+1)} / \partial t^{(d,c)}$, formed from $V_c$ by Kronecker and Hadamard
# products:
#
# $$
# V^{(d,d',c+1)} = \Big(V_c^T \odot \big(\mathbb 1_{P'_c} \mathbb 1_{P_{c+1}}^T \otimes (w_d^{(d',c+1)})^T\big)\Big)\big(I_{P_{c+1}} \otimes \mathbb 1_{S_{c+1}}\big) = \Big(\frac{\partial z_n^{(d',c+1)}}{\partial t_n^{(d,c)}}\Big)^T \tag{47.1257}
# $$
#
# $$
# b_n^{(d,d',c)} = V^{(d,d',c+1)}\, \delta_n^{(d',c+1)} \tag{47.1258}
# $$
#
# ($\mathbb 1_{S_{c+1}}$ where the book prints $\mathbb 1_{S_c}$: erratum E-1257.) Here is
# $V^{(1,1,2)}$ in the symbols of the mask $w_1^{(1,2)}$:

# %%
show(snet.V_ddc(2, 1, 1), r"V^{(1,1,2)}", sparse=True)  # (47.1257)

# %% [markdown]
# The four identities (47.1247), (47.1248), (47.1257) and (47.1258), for every pair of maps
# $(d, d')$ of layers 1 and 2, each side
# computed independently: sympy's Jacobians of the symbolic forward pass on the left, the
# book's formulas on the right:
#
# $$
# \Big(\frac{\partial z_n^{(d',c+1)}}{\partial y_n^{(d,c)}}\Big) = \Big(\frac{\partial z_n^{(d',c+1)}}{\partial t_n^{(d,c)}}\Big) \Big(\frac{\partial t_n^{(d,c)}}{\partial y_n^{(d,c)}}\Big) \tag{47.1247}
# $$
#
# $$
# \#\{p'' : j \in \Omega_{p''}\} \le 1 \quad \text{(no overlap)} \tag{47.1248}
# $$
#
# $$
# \Big(\frac{\partial z_n^{(d',c+1)}}{\partial t_n^{(d,c)}}\Big)^T = V^{(d,d',c+1)} \tag{47.1257}
# $$
#
# $$
# \sum_{i=1}^{P_{c+1}} \delta_n^{(d',c+1)}(i)\, \frac{\partial z_n^{(d',c+1)}(i)}{\partial t_n^{(d,c)}(p'')} = \big[V^{(d,d',c+1)} \delta_n^{(d',c+1)}\big](p'') \tag{47.1258}
# $$

# %%
reports.append(prove.run_proofs(only=["47.1247", "47.1248", "47.1257", "47.1258"], snet=snet,
                                out=print))  # (47.1247), (47.1248), (47.1257), (47.1258)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## The sensitivities of layer $c < C$ (47.1246)-(47.1262)
#
# The chain rule for $c < C$, and the same sum with the inner term $b_n^{(d,d',c)}(p'')$ of
# the one region $\Omega_{p''}$ that holds $j$:
#
# $$
# \delta_n^{(d,c)}(j) = \sum_{i=1}^{P_{c+1}} \sum_{d'=1}^{D_{c+1}} \delta_n^{(d',c+1)}(i)\, \frac{\partial z_n^{(d',c+1)}(i)}{\partial y_n^{(d,c)}(j)}\, f'\big(z_n^{(d,c)}(j)\big) \tag{47.1246}
# $$
#
# $$
# \delta_n^{(d,c)}(j) = \sum_{d'=1}^{D_{c+1}} f'\big(z_n^{(d,c)}(j)\big) \Big(\sum_{i=1}^{P_{c+1}} \delta_n^{(d',c+1)}(i)\, \frac{\partial z_n^{(d',c+1)}(i)}{\partial t_n^{(d,c)}(p'')}\Big) \frac{\partial t_n^{(d,c)}(p'')}{\partial y_n^{(d,c)}(j)} \tag{47.1249}
# $$
#
# The gradient vectors of the pooling of layer $c$ (47.1261), and then
#
# $$
# g_{n,p'}^{(d,c)} = \frac{\partial t_n^{(d,c)}(p')}{\partial y_n^{(d,c)}(\Omega_{p'})} \tag{47.1261}
# $$
#
# $$
# x = \mathrm{permute}^\#\big(\mathrm{upv}(b_n^{(d,d',c)})\big) = \Big(\frac{\partial t_n^{(d,c)}}{\partial y_n^{(d,c)}}\Big)^T b_n^{(d,d',c)} \tag{47.1260}
# $$
#
# $$
# \delta_n^{(d,c)} = \sum_{d'=1}^{D_{c+1}} f'\big(z_n^{(d,c)}\big) \odot \mathrm{permute}^\#\Big(\mathrm{upv}\big(V^{(d,d',c+1)} \delta_n^{(d',c+1)}\big)\Big) = \frac{\partial Q}{\partial z_n^{(d,c)}} \tag{47.1262}
# $$
#
# The second is checked by sympy's chain rule through $z_n^{(d',2)}$, the maps that separate
# layer 1 from the rest: $\partial Q/\partial z_n^{(d,1)} = \sum_{d'} (\partial z_n^{(d',2)} /
# \partial z_n^{(d,1)})^T\, \partial Q/\partial z_n^{(d',2)}$, both factors differentiated by
# sympy. (`python -m sayedcnn prove` also differentiates $Q$ through the whole network.)

# %%
reports.append(prove.run_proofs(only=["47.1246", "47.1249", "47.1260", "47.1261", "47.1262"],
                                snet=snet, quick=True, out=print))
# (47.1246), (47.1249), (47.1260), (47.1261), (47.1262)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## The book's worked examples, with symbols (47.1240), (47.1251), (47.1256), (47.1259)
#
# The chapter illustrates the derivation on the regions of Fig. 47.95 and the partition
# $V_c$ of (47.1252). With symbols for every unknown, the printed 6 x 4 matrix is the
# transposed Jacobian of $z^{(d',c+1)} = H^T w$ with $\mathrm{vec}(H) = V_c t$, and it is what
# (47.1256) forms; the printed 12-entry sensitivities are $f' \odot \mathrm{permute}^\#(
# \mathrm{upv}(\cdot))$, the second after the correction of its $b$-indices (erratum E-1259):
#
# $$
# b_n^{(d,d',c)} = \begin{bmatrix} w_1 & 0 & w_2 & 0 \\ 0 & w_2 & 0 & w_2 \\ w_2 & 0 & 0 & 0 \\ 0 & w_1 & 0 & 0 \\ 0 & 0 & w_1 & 0 \\ 0 & 0 & 0 & w_1 \end{bmatrix} \delta_n^{(d',c+1)} \tag{47.1251}
# $$
#
# $$
# \big(V_c^T \odot (\mathbb 1_6 \mathbb 1_4^T \otimes (w_d^{(d',c+1)})^T)\big)(I_4 \otimes \mathbb 1_2) = \text{the matrix of (47.1251)} \tag{47.1256}
# $$
#
# $$
# \delta_n^{(d,C)} = f'(z_n^{(d,C)}) \odot x \odot x, \quad x = \mathrm{permute}^\#(\mathrm{upv}((W_1^{(d)})^T \delta_{2,n})) \tag{47.1240}
# $$
#
# $$
# \delta_n^{(d,c)} = \sum_{d'} f'(z_n^{(d,c)}) \odot x \odot x, \quad x = \mathrm{permute}^\#(\mathrm{upv}(b_n^{(d,d',c)})) \tag{47.1259}
# $$

# %%
reports.append(prove.run_proofs(only=["47.1240", "47.1251", "47.1256", "47.1259"], snet=snet,
                                out=print))  # (47.1240), (47.1251), (47.1256), (47.1259)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## The derivatives with respect to the parameters (47.1263)-(47.1274)
#
# Feedforward layers:
#
# $$
# \frac{\partial Q}{\partial W_\ell} = \delta_{\ell+1,n}\, y_{\ell,n}^T \tag{47.1263}
# $$
#
# $$
# \frac{\partial Q}{\partial \theta_\ell} = -\delta_{\ell+1,n} \tag{47.1264}
# $$

# %%
reports.append(prove.run_proofs(only=["47.1263", "47.1264"], snet=snet, out=print))  # (47.1263), (47.1264)
print("proven:", reports[-1].ok)

# %% [markdown]
# Correlation layers: the masks, entry by entry, map by map and all at once, with the
# block-diagonal $\Delta_{n,c} = \mathrm{diag}\{\delta_n^{(1,c)}, \dots, \delta_n^{(D_c,c)}\}$
# of (47.1270):
#
# $$
# \frac{\partial Q}{\partial w_j^{(d,c)}(s)} = \sum_{p=1}^{P_c} \delta_n^{(d,c)}(p)\, \frac{\partial z_n^{(d,c)}(p)}{\partial w_j^{(d,c)}(s)} \tag{47.1265}
# $$
#
# $$
# \frac{\partial z_n^{(d,c)}(p)}{\partial w_j^{(d,c)}(s)} = \big[H_n^{(j,c-1)}\big]_{s,p} \tag{47.1267}
# $$
#
# $$
# \frac{\partial Q}{\partial w_j^{(d,c)}(s)} = \big[H_n^{(j,c-1)}\big]_{s,:}\, \delta_n^{(d,c)} \tag{47.1268}
# $$
#
# $$
# \frac{\partial Q}{\partial W^{(d,c)}} = H_{n,c-1}\, \delta_n^{(d,c)} \tag{47.1269}
# $$
#
# $$
# \frac{\partial Q}{\partial W_c} = \big(\mathbb 1_{D_c}^T \otimes H_{n,c-1}\big) \Delta_{n,c} \tag{47.1271}
# $$
#
# and the biases:
#
# $$
# \frac{\partial Q}{\partial \theta^{(d,c)}} = -\mathbb 1_{D_{c-1}} \mathbb 1_{P_c}^T \delta_n^{(d,c)} \tag{47.1273}
# $$
#
# $$
# \frac{\partial Q}{\partial \Theta_c} = -\big(\mathbb 1_{D_c}^T \otimes \mathbb 1_{D_{c-1}} \mathbb 1_{P_c}^T\big) \Delta_{n,c} \tag{47.1274}
# $$
#
# (Layer 2 here; `python -m sayedcnn prove` also proves them for layer 1, where sympy
# differentiates through the whole network, which takes longer.)

# %%
reports.append(prove.run_proofs(only=["47.1265", "47.1267", "47.1268", "47.1269", "47.1271",
                                      "47.1273", "47.1274"], snet=snet, quick=True, out=print))
# (47.1265), (47.1267), (47.1268), (47.1269), (47.1271), (47.1273), (47.1274)
print("proven:", reports[-1].ok)

# %% [markdown]
# ## A wrong identity does not pass (47.1257)
#
# The same machinery rejects a false claim: here the claimed side of
#
# $$
# V^{(d,d',c+1)} = \Big(\frac{\partial z_n^{(d',c+1)}}{\partial t_n^{(d,c)}}\Big)^T \tag{47.1257}
# $$
#
# is altered on purpose (one entry plus one) and the identity is reported as failing.

# %%
wrong = prove.run_proofs(only=["47.1257"], wrong="47.1257", snet=snet, out=print)  # (47.1257)
print("the altered claim is reported as failing:", not wrong.ok)

# %% [markdown]
# ## In the classroom: one step explained (47.1244)
#
# `python -m sayedcnn explain EQ` prints any step of the listings on a small network, with the
# sizes of its operands, the numbers in and out and the independent check. Here the step
#
# $$
# x = \mathrm{permute}^\#\big(\mathrm{upv}(v)\big) = T^T \mathrm{upv}(v) \tag{47.1244}
# $$
#
# is checked against the transposed pooling Jacobian by finite differences
# (`explain --list` names every step it knows).

# %%
text, ok = explain("1244", seed=0)  # (47.1244)
print(text)

# %% [markdown]
# ## In the classroom: an exercise with its worked solution (47.1187)
#
# `python -m sayedcnn exercises --seed S --out DIR` writes randomised problems and their
# solutions (partition, pooling, one forward step, one sensitivity, one SGD step), different
# for each seed. The pooling problem asks for the pooled map
#
# $$
# t(p') = \mathrm{pool}\big(y(\Omega_{p'})\big), \quad p' = 1, \dots, P' \tag{47.1187}
# $$
#
# with its gradient vectors and $T$; the solution is computed by the package.

# %%
problem = exercises.make(seed=3, topics=["pooling"])[0]  # (47.1187)
display(Markdown(problem.statement))
display(Markdown("**Solution.** " + problem.solution))

# %% [markdown]
# ## Summary (47.1275)
#
# The identities proven above are the steps of the training listing
#
# $$
# \frac{\partial J_{\rm emp}}{\partial W_c} = 2\rho_1 W_c + \frac1N \sum_n \big(\mathbb 1_{D_c}^T \otimes H_{n,c-1}\big)\Delta_{n,c}, \quad \dots \tag{47.1275}
# $$

# %%
n = sum(r.n_proven for r in reports)  # (47.1275)
print(f"{n} identities proven in this notebook;", "all proven:", all(r.ok for r in reports))
print(f"python -m sayedcnn prove checks {len(prove.identities(snet))} (sayedcnn {sc.__version__})")
