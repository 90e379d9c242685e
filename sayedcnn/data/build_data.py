r"""Rebuild the shipped digit arrays from the published CSV files.

Usage::

    python -m sayedcnn.data.build_data /path/to/csv/folder [--out DIR] [--check]

The folder must hold ``uci_digits_8x8.csv.gz`` and ``mnist_5k.csv.gz``: one image per row, its
pixels first in row-major order, the class label 0-9 last. Each set is written as an ``.npz``
(``numpy.savez_compressed``, no pickled objects) holding

* ``images``: uint8, shaped ``(N, rows, cols)``; row ``n`` of the CSV reshaped in C order, so
  ``images[n, r, c]`` is the pixel in image row ``r`` (top to bottom) and column ``c`` (left to
  right);
* ``labels``: uint8, shaped ``(N,)``.

The counts, pixel ranges and class counts are verified before anything is written. With
``--check`` nothing is written: the arrays rebuilt from the CSVs are compared with the files in
``--out`` (default: this folder) and the exit status says whether they agree. The ``.npz`` bytes
carry zip time stamps, so two builds agree array for array, not byte for byte.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SPECS", "DataSpec", "read_csv", "build", "main"]


@dataclass(frozen=True)
class DataSpec:
    """What one CSV file must contain and where its arrays go.

    Examples
    --------
    >>> from sayedcnn.data.build_data import SPECS
    >>> [(s.npz, s.image_shape, s.n_images) for s in SPECS]
    [('digits.npz', (8, 8), 1797), ('mnist5k.npz', (28, 28), 5000)]
    """

    csv: str
    npz: str
    image_shape: tuple[int, int]
    max_pixel: int
    n_images: int
    min_per_class: int
    max_per_class: int


SPECS = (
    DataSpec("uci_digits_8x8.csv.gz", "digits.npz", (8, 8), 16, 1797, 174, 183),
    DataSpec("mnist_5k.csv.gz", "mnist5k.npz", (28, 28), 255, 5000, 500, 500),
)


def sha256(path):
    """SHA-256 of a file, as a hex string.

    Examples
    --------
    >>> import os, tempfile
    >>> from sayedcnn.data.build_data import sha256
    >>> path = os.path.join(tempfile.mkdtemp(), "empty")
    >>> open(path, "wb").close()
    >>> sha256(path)[:16]                     # the SHA-256 of no bytes
    'e3b0c44298fc1c14'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_csv(path, spec):
    r"""Read one gzip-compressed CSV and return ``(images, labels)`` as uint8 arrays.

    Raises
    ------
    ValueError
        If the number of columns, the pixel range, the labels or the counts differ from ``spec``.

    Examples
    --------
    >>> import gzip, os, tempfile
    >>> from sayedcnn.data.build_data import DataSpec, read_csv
    >>> spec = DataSpec("t.csv.gz", "t.npz", (1, 2), max_pixel=9, n_images=2, min_per_class=0,
    ...                 max_per_class=1)
    >>> path = os.path.join(tempfile.mkdtemp(), spec.csv)
    >>> with gzip.open(path, "wt") as fh:
    ...     _ = fh.write("3,4,0\n9,0,7\n")
    >>> images, labels = read_csv(path, spec)
    >>> images.tolist(), labels.tolist()
    ([[[3, 4]], [[9, 0]]], [0, 7])
    """
    rows, cols = spec.image_shape
    with gzip.open(path, "rt", encoding="ascii") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != rows * cols + 1:
        raise ValueError(f"{path}: each row must hold {rows}*{cols} pixels and a label "
                         f"({rows * cols + 1} columns), got {table.shape[1]}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > spec.max_pixel:
        raise ValueError(f"{path}: pixels must lie in 0..{spec.max_pixel}, got "
                         f"{pixels.min()}..{pixels.max()}")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels must lie in 0..9, got {labels.min()}..{labels.max()}")
    if table.shape[0] != spec.n_images:
        raise ValueError(f"{path}: expected {spec.n_images} images, got {table.shape[0]}")
    counts = np.bincount(labels, minlength=10)
    if counts.min() < spec.min_per_class or counts.max() > spec.max_per_class:
        raise ValueError(f"{path}: expected {spec.min_per_class}..{spec.max_per_class} images "
                         f"per class, got {counts.tolist()}")
    # Row-major pixels, reshaped in C order: images[n, r, c] is row r, column c.
    images = pixels.reshape(-1, rows, cols).astype(np.uint8)
    return images, labels.astype(np.uint8)


def build(src, out=None, check=False, stream=sys.stdout):
    r"""Build (or, with ``check=True``, verify) every ``.npz`` of :data:`SPECS`.

    Parameters
    ----------
    src : path-like
        Folder holding the CSV files.
    out : path-like, optional
        Folder for the ``.npz`` files; default: the folder of this module.
    check : bool
        Compare with the existing files instead of writing.
    stream : file-like
        Where the summary lines go.

    Returns
    -------
    bool
        True if every set was written (or, with ``check``, agrees with the shipped file).

    Examples
    --------
    >>> import tempfile
    >>> from sayedcnn.data.build_data import build
    >>> build(tempfile.mkdtemp())        # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...uci_digits_8x8.csv.gz...
    """
    src = Path(src)
    out = Path(out) if out is not None else Path(__file__).resolve().parent
    ok = True
    for spec in SPECS:
        csv_path = src / spec.csv
        images, labels = read_csv(csv_path, spec)
        counts = np.bincount(labels, minlength=10).tolist()
        target = out / spec.npz
        if check:
            with np.load(target, allow_pickle=False) as z:
                same = (np.array_equal(z["images"], images) and z["images"].dtype == np.uint8
                        and np.array_equal(z["labels"], labels) and z["labels"].dtype == np.uint8)
            ok &= same
            verdict = "agrees" if same else "DIFFERS"
            print(f"{target.name}: {verdict} with {spec.csv}", file=stream)
        else:
            np.savez_compressed(target, images=images, labels=labels)
            print(f"{target.name}: images {images.shape} uint8, labels {labels.shape} uint8, "
                  f"class counts {counts}, {target.stat().st_size} bytes; "
                  f"source sha256 {sha256(csv_path)}", file=stream)
    return ok


def main(argv=None):
    """Command-line entry point; returns the exit status.

    Examples
    --------
    >>> from sayedcnn.data.build_data import main
    >>> main(["--help"])                  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    parser = argparse.ArgumentParser(
        prog="python -m sayedcnn.data.build_data",
        description="Rebuild digits.npz and mnist5k.npz from the published CSV files.")
    parser.add_argument("src", help="folder holding uci_digits_8x8.csv.gz and mnist_5k.csv.gz")
    parser.add_argument("--out", default=None, help="output folder (default: this package folder)")
    parser.add_argument("--check", action="store_true",
                        help="compare with the existing .npz files instead of writing them")
    args = parser.parse_args(argv)
    return 0 if build(args.src, args.out, check=args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
