r"""Build the notebooks of section 47.25 from their plain sources and run them.

Usage (from anywhere)::

    python notebooks/build.py            # every notebook
    python notebooks/build.py 03 05      # only those whose name starts with 03 or 05

Each notebook ``notebooks/NAME.ipynb`` is generated from ``notebooks/src/NAME.py``, a plain
Python file in jupytext's percent format (``# %% [markdown]`` starts a markdown cell whose
lines are comments, ``# %%`` a code cell), converted by jupytext. The notebook is then
executed by nbclient top to bottom in a fresh kernel running this interpreter
(``sys.executable``, ipykernel), with the working directory ``notebooks/`` and a limit of
60 seconds per notebook, and written in place with its outputs. The SHA-256 of the source
is stored in the notebook's metadata (``metadata.sayedcnn.source_sha256``), so that a test
can tell whether the committed outputs were produced from the current source.

Needs jupytext, nbclient and ipykernel: the ``notebooks`` or the ``test`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

NB_DIR = Path(__file__).resolve().parent
SRC_DIR = NB_DIR / "src"
TIMEOUT = 60  # seconds, per notebook (and per cell)
KERNEL_NAME = "python3"
METADATA_KEY = "sayedcnn"

FORMAT = "py:percent"  # jupytext's percent format


def source_paths(names=()):
    """The sources ``src/NN_*.py``, sorted; ``names`` selects by prefix or by stem."""
    paths = sorted(SRC_DIR.glob("[0-9][0-9]_*.py"))
    if not names:
        return paths
    chosen = []
    for name in names:
        stem = Path(name).name
        for suffix in (".py", ".ipynb"):
            stem = stem.removesuffix(suffix)
        hits = [p for p in paths if p.stem == stem or p.stem.startswith(stem)]
        if not hits:
            raise SystemExit(f"build.py: no notebook source matches {name!r} in {SRC_DIR}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def notebook_path(src):
    """The notebook generated from source ``src``."""
    return NB_DIR / (Path(src).stem + ".ipynb")


def source_hash(src):
    """SHA-256 (hex) of the source file's bytes."""
    return hashlib.sha256(Path(src).read_bytes()).hexdigest()


def read_source(src):
    """The unexecuted notebook jupytext reads from ``src`` (percent format)."""
    import jupytext

    return jupytext.read(str(src), fmt=FORMAT)


def cells(src):
    """``[(kind, source), ...]`` of the notebook of ``src``, kind ``"markdown"`` or
    ``"code"``, as jupytext cuts it."""
    return [(c.cell_type, c.source) for c in read_source(src).cells]


def to_notebook(src):
    """An unexecuted notebook (nbformat 4) from source ``src``, with its hash in metadata."""
    nb = read_source(src)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata[METADATA_KEY] = {"source": f"src/{Path(src).name}",
                                 "source_sha256": source_hash(src),
                                 "regenerate": "python notebooks/build.py " + Path(src).stem}
    for i, cell in enumerate(nb.cells):  # stable ids keep the committed diffs small
        cell["id"] = f"{Path(src).stem[:2]}-{i:03d}"
        cell.metadata = {}
    return nb


def kernel_manager():
    """A kernel manager whose ``python3`` kernel runs ``sys.executable -m ipykernel_launcher``.

    Built from ipykernel's own kernel description of this interpreter, so a kernelspec
    installed elsewhere (per user or system-wide) cannot redirect execution to another
    Python.
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return spec

    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ThisInterpreter())


def execute(nb, timeout=TIMEOUT, cwd=NB_DIR):
    """Run ``nb`` in place in a fresh kernel; return the wall time in seconds.

    Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails and
    ``TimeoutError`` when the whole notebook takes longer than ``timeout`` seconds.
    """
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, km=kernel_manager(),
                            resources={"metadata": {"path": str(cwd)}}, record_timing=False,
                            allow_errors=False)
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    if seconds > timeout:
        raise TimeoutError(f"notebook took {seconds:.1f} s, more than the {timeout} s allowed")
    return seconds


def merge_streams(nb):
    """Join consecutive stream outputs of the same name in every cell, in place.

    The kernel may cut one cell's printed text into several messages at arbitrary points;
    joining them makes the written notebook independent of that timing.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            prev = merged[-1] if merged else None
            if (out.output_type == "stream" and prev is not None
                    and prev.output_type == "stream" and prev.name == out.name):
                prev.text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
    return nb


def build(src, timeout=TIMEOUT):
    """Generate, execute and write the notebook of ``src``; return ``(path, seconds, bytes)``."""
    import nbformat

    nb = to_notebook(src)
    seconds = execute(nb, timeout=timeout)
    merge_streams(nb)
    out = notebook_path(src)
    nbformat.write(nb, str(out))
    return out, seconds, out.stat().st_size


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python notebooks/build.py",
        description="Generate notebooks/NAME.ipynb from notebooks/src/NAME.py and execute it "
                    "in a fresh kernel, writing the outputs in place.")
    parser.add_argument("names", nargs="*", help="notebooks to build (prefix such as 03, or a "
                                                 "name); default: all")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds allowed per notebook (default {TIMEOUT})")
    args = parser.parse_args(argv)
    total = 0.0
    for src in source_paths(args.names):
        out, seconds, size = build(src, timeout=args.timeout)
        total += seconds
        print(f"{out.name:<36} {seconds:6.1f} s {size / 1024:8.1f} KB", flush=True)
    print(f"{'total':<36} {total:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
