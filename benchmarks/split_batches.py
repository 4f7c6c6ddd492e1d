"""Whether splitting a training batch in two halves on two threads pays off.

``CharRNNGenerator.fit`` splits a batch in two halves, run on two threads,
when a name's recurrent product is big enough (``_SPLIT_WORK`` in
``sklearn_charrnn/nn/parallel.py``); below that the two threads' small NumPy
calls wait on each other for the GIL. This script prints, for a range of
cells and sizes, the training throughput of the package's step (batch 32,
float32, as in ``benchmarks/speed.py``) unsplit on one thread and split on
two, alternated, median of 3 rounds::

    python benchmarks/split_batches.py

About a minute and a half on a 2-core machine. The ``rule`` column is what
``n_parts`` chooses.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import (  # noqa: E402
    BATCH_SIZE,
    PackageTrainer,
    names_and_batches,
)

from sklearn_charrnn.nn.cells import CELLS  # noqa: E402
from sklearn_charrnn.nn.parallel import n_parts  # noqa: E402
from sklearn_charrnn.nn.workspace import Workspace  # noqa: E402

CONFIGS = [
    ("rnn", 200),
    ("lstm", 128),
    ("gru", 200),
    ("rnn", 384),
    ("lstm", 200),
    ("gru", 256),
    ("rnn", 512),
    ("lstm", 300),
    ("gru", 384),
    ("lstm", 512),
]
ROUNDS = 3
N_BATCHES = 24


def main():
    _, vocabulary, data, batches = names_and_batches(N_BATCHES)
    lengths = data[1]
    n_tokens = int(sum(lengths[b].sum() + len(b) for b in batches))
    header = f"{'':16} {'work/row':>9} {'1 part 1t':>11} {'2 parts 2t':>11} {'gain':>6}"
    print(header + "  rule")
    for cell, hidden in CONFIGS:
        speeds = {}
        trainers = {}
        for parts in (1, 2):
            trainer = PackageTrainer(cell, hidden, len(vocabulary) + 2, data)
            trainer.n_parts, trainer.n_threads = parts, parts
            trainer.works = [Workspace() for _ in range(parts)]
            trainer.run(batches[:2])  # warm up
            trainers[parts] = trainer
        for _ in range(ROUNDS):
            for parts in (1, 2):
                start = time.perf_counter()
                trainers[parts].run(batches)
                seconds = time.perf_counter() - start
                speeds.setdefault(parts, []).append(n_tokens / seconds)
        one, two = (float(np.median(speeds[p])) for p in (1, 2))
        work = CELLS[cell].n_gates * hidden**2
        rule = n_parts(cell, hidden, BATCH_SIZE)
        print(
            f"{cell + ' H=' + str(hidden):16} {work:>9,} {one:>11,.0f} "
            f"{two:>11,.0f} {two / one - 1:>+6.0%}  {rule} part{'s' * (rule > 1)}"
        )


if __name__ == "__main__":
    main()
