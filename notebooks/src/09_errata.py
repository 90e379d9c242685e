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
# # 9. Errata, each with its numbers
#
# Working through section 47.25 with code exposes a number of printed slips: sizes that do
# not match, an index that points at the wrong quantity, a sign, a constant, a missing
# $1/N$. `sayedcnn.fidelity.errata` keeps the register: for each slip the equation, the printed and
# the corrected form, a one-line reason, and a demonstration that computes with the package
# and shows the printed form failing (a size error, a matrix that does not reproduce, a
# gradient that disagrees with finite differences, a risk that rises) while the corrected
# form passes. This notebook runs every demonstration. The printed and corrected forms are
# rendered from the register; the numbers come from running it now.

# %%
import numpy as np
from IPython.display import display

from sayedcnn.fidelity import book_examples, errata, symbolic
from sayedcnn.fidelity.seeds import s000, s001, s002, s004

np.set_printoptions(precision=4, suppress=True, linewidth=120)
results = dict((e.id, d) for e, d in errata.check_all())  # every demonstration, run once
shown = set()


def show_markdown(text):
    display({"text/markdown": text, "text/plain": text}, raw=True)


def show_tex(s):  # LaTeX (it has a backslash) as math, plain words as words
    return f"${s}$" if "\\" in s else s.replace("|", "\\|")


def show_errata(items):
    for e in items:
        d = results[e.id]
        shown.add(e.id)
        show_markdown(
            f"**{e.id}** ({e.equation}, {e.kind}), {e.location}\n\n"
            f"printed:\n\n$$\n{e.printed}\n$$\n\ncorrected:\n\n$$\n{e.corrected}\n$$\n\n"
            f"*why:* {e.reason}.\n\n"
            f"- printed form: {d.printed}\n- corrected form: {d.corrected}\n"
            f"- {'shown: the print fails, the correction passes' if d.shown else '**NOT SHOWN**'}\n")


# %% [markdown]
# ## The register at a glance (47.1135)-(47.1276)
#
# Every slip, the equation it is in, its kind, and whether its demonstration makes its point
# (the printed form fails and the corrected form passes).

# %%
rows = ["| id | equation | kind | demonstrated |", "| --- | --- | --- | --- |"]
rows += [f"| {e.id} | {e.equation} | {e.kind} | {'yes' if results[e.id].shown else 'NO'} |"
         for e in errata.ERRATA]
show_markdown("\n".join(rows))
print(f"{len(errata.ERRATA)} errata, {sum(d.shown for d in results.values())} demonstrated")

# %% [markdown]
# ## Masks, partitions, parameter counts (47.1135)-(47.1167)
#
# The constant of the Gaussian mask (47.1135), the size label of the partition matrix
# (47.1149) and the parameter count of (47.1166) (see notebooks 1-3).

# %%
chapter = [e for e in errata.ERRATA if e.source == "chapter"]
show_errata([e for e in chapter if e.equation < "47.1168"])

# %% [markdown]
# ## Pooling and feature maps (47.1168)-(47.1204)
#
# Correlation pooling (47.1180), the scalar form of a multi-channel feature map (47.1189)
# and the permutation matrix of the book's example (47.1201) (see notebook 4).

# %%
show_errata([e for e in chapter if "47.1168" <= e.equation < "47.1205"])

# %% [markdown]
# ## The network and its forward pass (47.1205)-(47.1226)
#
# Index ranges and size labels of the full network, the forward listing (47.1216) and the
# parameter matrices (47.1221)-(47.1224) (see notebook 5).

# %%
show_errata([e for e in chapter if "47.1205" <= e.equation < "47.1227"])

# %% [markdown]
# ## Backpropagation (47.1227)-(47.1274)
#
# The size of $V_c$ (47.1252), the Kronecker factor of $V^{(d,d',c+1)}$ (47.1257) and the
# row pattern of (47.1259) (see notebook 6).

# %%
show_errata([e for e in chapter if "47.1227" <= e.equation < "47.1275"])

# %% [markdown]
# ## The training listings (47.1275)-(47.1276)
#
# The two listings collect the derivation; their slips matter most, since they are what a
# reader implements: a wrong $\mathbb 1$ size, the missing $1/N$ of $J_{emp}$ (47.1229),
# $W_1$ where the boundary step needs $W_1^{(d)}$ (47.1220), $\Delta_{n,C}$ never formed,
# the sign of the $\theta_\ell$ update and a doubled $\mu$ (see notebooks 6 and 7).

# %%
show_errata([e for e in chapter if e.equation >= "47.1275"])

# %% [markdown]
# The sign slip E-1276a in numbers: one step of (47.1276) with $\theta_\ell$ moved by
# $-\mu\delta_{\ell+1,n}$ as printed raises the risk of the sample, while $+\mu\delta$
# (the derivative of (47.1264) is $-\delta$) lowers it.

# %%
d = results["E-1276a"]
print(d.printed)
print(d.corrected)
print({k: v for k, v in d.values.items() if np.isscalar(v)})

# %% [markdown]
# ## The seed notes (47.1187)-(47.1276)
#
# Slips of the four other derivations of notebook 8 (not shipped: seed 000, an unsigned hand
# note on overlapping max pooling; seed 001, lecture 6 of KTH's DD2424 (2017) on im2col;
# seed 002, an unsigned note in Nielsen's BP1-BP4 notation; seed 004, H. Xu's 2014 guide to
# J. Bouvrie's notes on LeNet), shown against the book's formulation:
# overlapping max pooling (47.1187), (47.1244), im2col gradients (47.1269), BP1-BP4
# (47.1275) and the LeNet notes (47.1213), (47.1257).

# %%
show_errata([e for e in errata.ERRATA if e.source != "chapter"])

# %% [markdown]
# ## Slips that change no meaning, and claims checked and found right (47.1138)-(47.1275)
#
# The register also lists notational slips (no demonstration needed) and candidate slips
# that turned out to be right, each with the test that checks it.

# %%
show_markdown("\n".join(["| where | printed | read |", "| --- | --- | --- |"] + [
    f"| {n.location} | {show_tex(n.printed)} | {show_tex(n.corrected)} |".replace("\n", " ")
    for n in errata.NOTATION]))
show_markdown("\n".join(["| equation | claim | finding |", "| --- | --- | --- |"] + [
    f"| {v.equation} | {v.claim} | {v.finding} |" for v in errata.VERIFIED]))

# %% [markdown]
# ## Every erratum that a reproduction cites is registered (47.1149)-(47.1276)
#
# The worked examples of the chapter (`book_examples`, `symbolic`) and of the seed notes
# carry the id of the slip where the print and the computation differ. Each such id must be
# in the register, and every register entry must have been shown above.

# %%
records = (book_examples.chapter_examples() + symbolic.symbolic_examples()
           + s000.examples() + s001.examples() + s002.examples() + s004.examples())
cited = sorted({r.erratum for r in records if r.erratum})
ids = {e.id for e in errata.ERRATA}
print(f"{len(records)} reproduced examples cite {len(cited)} errata:", ", ".join(cited))
print("all cited ids registered:", set(cited) <= ids, "; unregistered:", sorted(set(cited) - ids))
print("every printed example reproduced (same numbers or a registered slip):", all(r.ok for r in records))
print("every register entry shown above:", shown == ids, "; all demonstrated:",
      all(d.shown for d in results.values()))
