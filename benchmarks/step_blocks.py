"""How big the blocks of rows of a generation step should be.

The step interface's ``advance`` runs a step in blocks of rows, each block's
products and gates about ``_STEP_CELLS`` numbers
(``sklearn_charrnn/nn/parallel.py``). One command prints one table per
OpenBLAS kernel::

    python benchmarks/step_blocks.py

For each model (a tanh RNN and an LSTM of 200 units and the default LSTM of
512 units, trained on the given names), it times ``sample(10_000)`` on two
threads with the step whole (one block of every row: the plain path) and in
blocks of 50,000 to 400,000 numbers, alternated call by call in
one process with the same weights. It prints the names per second (median),
the median ratio to the whole step with its quartiles, and the minor page
faults per call. ``--rounds N`` (default 10); ``--kernel {haswell,native}``
runs one.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line  # noqa: E402
from sampling_ab import fitted, print_columns  # noqa: E402
from speed import MAX_LENGTH, find_names, read_names, run_every_kernel  # noqa: E402

from sklearn_charrnn.nn import parallel  # noqa: E402

N_SAMPLES = 10_000
# (cell, hidden size, epochs): the sampling model of speed.py, an LSTM of
# 200 units, and the defaults' LSTM of 512 units (one epoch: it is slow)
MODELS = [("rnn", 200, 3), ("lstm", 200, 3), ("lstm", 512, 1)]
WHOLE = 10**18  # one block of every row
SETTINGS = {
    "whole": WHOLE,
    "50,000": 50_000,
    "100,000": 100_000,
    "200,000": 200_000,
    "400,000": 400_000,
}


def one_call(model, cells):
    """Wall seconds and minor page faults of ``sample(10_000)``."""
    parallel._STEP_CELLS = cells
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    model.sample(N_SAMPLES, max_length=MAX_LENGTH, random_state=1)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def compare(model, rounds):
    """Seconds and faults of every setting, rounds alternated."""
    for cells in SETTINGS.values():  # warm up
        one_call(model, cells)
    results = {name: [] for name in SETTINGS}
    order = list(SETTINGS)
    for round_ in range(rounds):
        for name in order if round_ % 2 else order[::-1]:
            results[name].append(one_call(model, SETTINGS[name]))
    parallel._STEP_CELLS = SETTINGS["100,000"]
    return {name: np.array(values) for name, values in results.items()}


def measure(args):
    """Every setting under the kernel this process runs; print the table."""
    names = read_names(find_names())
    default = parallel._STEP_CELLS
    print(machine_line())
    print(
        f"sample({N_SAMPLES:_}) on two threads, numbers per block of a step "
        f"(the package's: {default:,}), {args.rounds} rounds alternated "
        "(median, quartiles of the ratio)"
    )
    header = ("model", "block", "names/s", "/ whole", "faults/call")
    rows = [header]
    for cell, hidden_size, max_iter in MODELS:
        model = fitted(cell, hidden_size, names, max_iter)
        results = compare(model, args.rounds)
        whole = results["whole"][:, 0]
        for name, values in results.items():
            ratios = whole / values[:, 0]
            q1, median, q3 = np.quantile(ratios, [0.25, 0.5, 0.75])
            rows.append(
                (
                    f"{cell} H={hidden_size}",
                    name,
                    f"{N_SAMPLES / np.median(values[:, 0]):,.0f}",
                    f"{median:.2f}x ({q1:.2f}-{q3:.2f})",
                    f"{np.median(values[:, 1]):,.0f}",
                )
            )
    print_columns(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--kernel", choices=("haswell", "native"))
    args = parser.parse_args()
    if args.kernel is None:
        run_every_kernel(sys.argv[1:], script=__file__)
    else:
        measure(args)


if __name__ == "__main__":
    main()
