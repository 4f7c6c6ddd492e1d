"""A training batch whole or cut in two: where splitting pays.

One command prints one table per OpenBLAS kernel::

    python benchmarks/parts.py

``fit`` cuts a batch in parts whose number depends on the work alone: one
part per ``_PART_WORK`` multiply-adds of one step's recurrent products (rows
x gates x hidden size squared), each part of at least 16 names
(``sklearn_charrnn/nn/parallel.py``); the parts run side by side on two
threads. For configurations around that threshold, batches of 32, this
prints the training throughput (real tokens per second, the step
``benchmarks/speed.py`` measures) of the batch whole, cut in two on two
threads, and cut in two on one thread (as in a joblib worker of a search
with ``n_jobs`` equal to the cores, where the parts run one after the
other), alternated round by round, the median of the rounds. The whole
measurement runs in two fresh processes: under OpenBLAS's Haswell kernel
(``OPENBLAS_CORETYPE=Haswell``) and under the kernel OpenBLAS chooses for
this CPU. ``--rounds N`` (default 5); ``--kernel {haswell,native}`` runs one.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import sklearn_charrnn.nn.parallel as parallel
from sklearn_charrnn.nn.cells import CELLS

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line  # noqa: E402
from speed import BATCH_SIZE, PackageTrainer, names_and_batches, run_every_kernel  # noqa: E402

CONFIGS = [
    ("rnn", 200),
    ("rnn", 300),
    ("gru", 200),
    ("lstm", 200),
    ("rnn", 400),
    ("lstm", 256),
    ("rnn", 512),
    ("gru", 300),
    ("lstm", 512),
]


def trainer(cell, hidden_size, n_tokens, data, n_parts, n_threads=2):
    """The package's training step with the batch cut in ``n_parts``."""
    work = parallel._PART_WORK
    try:  # a threshold that gives n_parts for this configuration
        step_work = BATCH_SIZE * CELLS[cell].n_gates * hidden_size**2
        parallel._PART_WORK = step_work // n_parts
        return PackageTrainer(cell, hidden_size, n_tokens, data, n_threads)
    finally:
        parallel._PART_WORK = work


def measure(rounds):
    names, vocabulary, data, batches = names_and_batches(48)
    n_tokens = len(vocabulary) + 2
    tokens = sum(int(data[1][b].sum() + len(b)) for b in batches)
    print(machine_line())
    print(f"training: 48 batches of {BATCH_SIZE}, {rounds} rounds, median\n")
    print(
        "configuration   step work (M)  parts fit uses   1 part   2 parts   2 / 1"
        "   2 on 1 thread / 1"
    )
    for cell, hidden_size in CONFIGS:
        trainers = [
            trainer(cell, hidden_size, n_tokens, data, n, threads)
            for n, threads in ((1, 1), (2, 2), (2, 1))
        ]
        for t in trainers:
            t.run(batches[:2])  # warm up
        speeds = [[], [], []]
        for round_ in range(rounds):
            order = (0, 1, 2)[round_ % 3 :] + (0, 1, 2)[: round_ % 3]
            for i in order:
                start = time.perf_counter()
                trainers[i].run(batches)
                speeds[i].append(tokens / (time.perf_counter() - start))
        one, two, serial = (float(np.median(s)) for s in speeds)
        work = BATCH_SIZE * CELLS[cell].n_gates * hidden_size**2
        used = parallel.n_parts(BATCH_SIZE, CELLS[cell].n_gates * hidden_size**2)
        print(
            f"{cell} H={hidden_size:<9} {work / 1e6:10.2f}  {used:11d}  "
            f"{one:9,.0f} {two:9,.0f}  {two / one:6.2f}  {serial / one:19.2f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kernel", choices=["haswell", "native"])
    args = parser.parse_args()
    if args.kernel is None:
        run_every_kernel(sys.argv[1:], __file__)
    else:
        measure(args.rounds)


if __name__ == "__main__":
    main()
