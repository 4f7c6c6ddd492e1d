"""Memory of a Kneser-Ney fit against what its guard counts on.

One command prints one table::

    python benchmarks/ngram_memory.py

``KneserNeyGenerator.fit`` refuses, before allocating them, tables whose
compiling would need more than half the machine's memory
(``kneser_ney.check_table_size``: bytes per cell of the table being
compiled, and of the tables this fit compiled before it). This fits
random token sequences (rows of 5 tokens drawn from a vocabulary of ``V``),
with and without labels, at a fixed order and with ``order="auto"``, and
prints for each fit the peak of NumPy's allocations (``tracemalloc``), the
largest estimate the guard made, and their ratio: above 1 the guard counts
on at least what the fit used. ``--quick`` runs the two smallest fits.
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np

from sklearn_charrnn import KneserNeyGenerator
from sklearn_charrnn.ngram import kneser_ney

# (tokens V, sequences, order, labels)
FITS = [
    (1000, 2000, 2, 0),
    (1000, 2000, 3, 0),
    (300, 3000, "auto", 0),
    (1000, 2000, "auto", 0),
    (1000, 2000, 3, 4),
    (2000, 3000, "auto", 4),
]


def guarded_fit(V, n, order, n_labels, rng):
    """Peak bytes of one fit and the largest estimate its guard made."""
    X = rng.integers(0, V, size=(n, 5))
    y = rng.integers(0, n_labels, size=n) if n_labels else None
    estimates = []
    check = kneser_ney.check_table_size

    def recording(*table):
        estimates.append(kneser_ney.table_bytes(*table))
        return check(*table)

    kneser_ney.check_table_size = recording
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            KneserNeyGenerator(order=order, random_state=0).fit(X, y)
            seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        kneser_ney.check_table_size = check
    return peak, max(estimates), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    header = ("V", "sequences", "order", "labels", "peak MiB", "guard MiB")
    header += ("ratio", "s")
    rows = []
    for V, n, order, n_labels in FITS[:2] if args.quick else FITS:
        peak, estimate, seconds = guarded_fit(V, n, order, n_labels, rng)
        rows.append(
            (
                f"{V:,}",
                f"{n:,}",
                str(order),
                str(n_labels or "-"),
                f"{peak / 2**20:,.0f}",
                f"{estimate / 2**20:,.0f}",
                f"{estimate / peak:.2f}",
                f"{seconds:.1f}",
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
