"""How much a fit depends on the OpenBLAS kernel: the same seed under two.

One command prints one table::

    python benchmarks/kernels.py

On one machine, the same ``random_state`` gives the same weights and samples
bit for bit, on any thread count (the test suite checks it). Another CPU can
make OpenBLAS choose another kernel, which may round the matrix products
differently; this measures what that changes. It fits the same small models
(each cell, float32 and float64, 3 epochs on 300 dinosaur names, seed 0) in
two fresh processes, one under OpenBLAS's Haswell kernel
(``OPENBLAS_CORETYPE=Haswell``) and one under the kernel OpenBLAS picks for
this CPU, and prints for each model the largest difference between the two
fits' weights, the largest relative difference of their scores of 300 other
names, and whether ``sample(200)`` and the scores of one fitted model loaded
under both kernels agree.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_dinosaurs

MODELS = [
    (cell, dtype) for cell in ("rnn", "gru", "lstm") for dtype in ("float32", "float64")
]
KERNELS = {"haswell": "Haswell", "native": None}


def fit_all(out):
    """Fit every model of :data:`MODELS`; save weights, scores, samples."""
    names = load_dinosaurs()
    train, other = names[:300], names[300:600]
    arrays = {}
    for cell, dtype in MODELS:
        model = CharRNNGenerator(
            cell=cell,
            dtype=dtype,
            hidden_size=32,
            max_iter=3,
            early_stopping=False,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train)
        key = f"{cell}-{dtype}"
        for name, w in model.weights_.items():
            arrays[f"{key}/w/{name}"] = w
        arrays[f"{key}/scores"] = model.score_samples(other)
        arrays[f"{key}/samples"] = np.array(model.sample(200, random_state=1))
        model.save(Path(out).with_name(f"{key}.npz"))
    np.savez(out, **arrays)


def score_saved(folder, out):
    """Scores of the models the other kernel saved, under this one."""
    other = load_dinosaurs()[300:600]
    arrays = {}
    for cell, dtype in MODELS:
        key = f"{cell}-{dtype}"
        model = CharRNNGenerator.load(Path(folder) / "haswell" / f"{key}.npz")
        arrays[f"{key}/scores"] = model.score_samples(other)
    np.savez(out, **arrays)


def run(kernel, *args):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    if KERNELS[kernel] is not None:
        env["OPENBLAS_CORETYPE"] = KERNELS[kernel]
    subprocess.run([sys.executable, __file__, *args], env=env, check=True)


def relative(a, b):
    return float(np.max(np.abs(a - b) / np.abs(a)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--score", nargs=2, metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        return fit_all(args.fit)
    if args.score:
        return score_saved(*args.score)
    with tempfile.TemporaryDirectory() as folder:
        for kernel in KERNELS:
            (Path(folder) / kernel).mkdir()
            run(kernel, "--fit", str(Path(folder) / kernel / "fit.npz"))
        run("native", "--score", folder, str(Path(folder) / "rescored.npz"))
        fits = {k: np.load(Path(folder) / k / "fit.npz") for k in KERNELS}
        rescored = np.load(Path(folder) / "rescored.npz")
        header = ("model", "max |weight diff|", "max rel. score diff")
        header += ("same samples", "one model, rel. score diff")
        rows = []
        for cell, dtype in MODELS:
            key = f"{cell}-{dtype}"
            a, b = fits["haswell"], fits["native"]
            weights = [n for n in a.files if n.startswith(f"{key}/w/")]
            rows.append(
                (
                    f"{cell} {dtype}",
                    f"{max(float(np.max(np.abs(a[n] - b[n]))) for n in weights):.1e}",
                    f"{relative(a[f'{key}/scores'], b[f'{key}/scores']):.1e}",
                    "yes"
                    if np.array_equal(a[f"{key}/samples"], b[f"{key}/samples"])
                    else "no",
                    f"{relative(a[f'{key}/scores'], rescored[f'{key}/scores']):.1e}",
                )
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return None


if __name__ == "__main__":
    main()
