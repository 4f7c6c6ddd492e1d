"""The sampler of this checkout against that of a git revision, in one process.

One command prints one table per OpenBLAS kernel::

    python benchmarks/sampling_ab.py REV

Two-thread timings on a shared machine move by 15-20% from one run to the
next, more than most changes to the sampler are worth; so this times both
samplers in one process, alternated call by call, with the same trained
weights. ``REV``'s ``sklearn_charrnn`` is copied out of git (``git archive``)
under another name and imported beside this checkout's. For each model (a
tanh RNN and an LSTM of 200 units, three epochs on the given names), it
prints the names per second of ``sample(10_000)`` on two threads for both,
the median ratio of the rounds with its quartiles, and whether the two drew
the same names. ``--rounds N`` (default 20); ``--kernel {haswell,native}``
runs one.
"""

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line  # noqa: E402
from speed import MAX_LENGTH, find_names, read_names, run_every_kernel  # noqa: E402

from sklearn_charrnn import CharRNNGenerator, generation  # noqa: E402
from sklearn_charrnn.nn.network import RecurrentSteps  # noqa: E402
from sklearn_charrnn.nn.parallel import Threads  # noqa: E402

N_SAMPLES = 10_000
MODELS = [("rnn", 200), ("lstm", 200)]
REPO = Path(__file__).resolve().parent.parent


def package_at(rev, folder):
    """Import ``rev``'s ``sklearn_charrnn`` as the package ``charrnn_at_rev``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "sklearn_charrnn"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (Path(folder) / "sklearn_charrnn").rename(Path(folder) / "charrnn_at_rev")
    sys.path.insert(0, str(folder))
    return importlib.import_module("charrnn_at_rev")


def fitted(cell, hidden_size, names, max_iter=3):
    """A model of ``names`` to sample from (``max_iter`` epochs, no dropout)."""
    model = CharRNNGenerator(
        cell=cell,
        hidden_size=hidden_size,
        dropout=0.0,
        max_iter=max_iter,
        early_stopping=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(names)


def compare(model, other, rounds, threads):
    """Names per second of both samplers, their ratio, and the same names?"""
    weights = model._steps().weights
    samplers = {
        "this": (generation, RecurrentSteps(weights, model.cell, model.n_layers)),
        "rev": (
            other.generation,
            other.nn.network.RecurrentSteps(weights, model.cell, model.n_layers),
        ),
    }

    def run(name):
        module, steps = samplers[name]
        prefixes = [np.zeros(0, np.intp)] * N_SAMPLES
        rng = np.random.default_rng(1)
        return module.sample(
            steps, prefixes, rng, max_length=MAX_LENGTH, threads=threads
        )

    same = all(
        np.array_equal(a, b) for a, b in zip(run("this"), run("rev"), strict=True)
    )
    seconds = {"this": [], "rev": []}
    for round_ in range(rounds):
        for name in ("this", "rev") if round_ % 2 else ("rev", "this"):
            start = time.perf_counter()
            run(name)
            seconds[name].append(time.perf_counter() - start)
    ratios = np.array(seconds["rev"]) / np.array(seconds["this"])
    speed = {name: N_SAMPLES / np.median(s) for name, s in seconds.items()}
    return speed, np.quantile(ratios, [0.25, 0.5, 0.75]), same


def measure(args):
    """Both samplers under the kernel this process runs; print the table."""
    names = read_names(find_names())
    print(machine_line())
    print(
        f"sample({N_SAMPLES:_}) on two threads, this checkout against {args.rev}, "
        f"{args.rounds} rounds alternated (median, quartiles)"
    )
    header = ("model", "this, names/s", "rev, names/s", "this / rev", "same names")
    rows = [header]
    with tempfile.TemporaryDirectory() as folder:
        other = package_at(args.rev, folder)
        importlib.import_module("charrnn_at_rev.nn.network")
        with threadpool_limits(limits=1, user_api="blas"), Threads(2) as threads:
            for cell, hidden_size in MODELS:
                model = fitted(cell, hidden_size, names)
                speed, (q1, median, q3), same = compare(
                    model, other, args.rounds, threads
                )
                rows.append(
                    (
                        f"{cell} H={hidden_size}",
                        f"{speed['this']:,.0f}",
                        f"{speed['rev']:,.0f}",
                        f"{median:.2f}x ({q1:.2f}-{q3:.2f})",
                        "yes" if same else "no",
                    )
                )
    print_columns(rows)


def print_columns(rows):
    """Print rows of strings (the first a header) in aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="a git revision of this repository")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--kernel", choices=("haswell", "native"))
    args = parser.parse_args()
    if args.kernel is None:
        run_every_kernel(sys.argv[1:], script=__file__)
    else:
        measure(args)


if __name__ == "__main__":
    main()
