"""Whether sharing the first states of rows that begin alike pays off.

Training computes the states that rows share (after the boundary token,
after the same first character) once per run of rows (see the notes of
``sklearn_charrnn/nn/cells.py``) when one row's recurrent product costs at
least ``_SHARE_WORK`` multiply-adds (``sklearn_charrnn/nn/network.py``).
This script prints, for a range of cells and sizes, the time of the
package's training step (batch 32, float32, one part on one thread, as in
``benchmarks/speed.py`` otherwise) with and without the sharing::

    python benchmarks/shared_runs.py

Each batch is timed both ways, one after the other, and each way keeps its
best of 7 repeats of 10 steps; the table sums these over 24 batches. Taking
the best of repeats, side by side, keeps the comparison steady on a shared
machine, whose load moves single timings by 10% and more. About two
minutes on a 2-core machine. The ``rule`` column is what training does.
"""

import sys
import timeit
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import (  # noqa: E402
    BATCH_SIZE,
    PackageTrainer,
    names_and_batches,
)

from sklearn_charrnn.nn import network  # noqa: E402
from sklearn_charrnn.nn.cells import CELLS  # noqa: E402
from sklearn_charrnn.nn.workspace import Workspace  # noqa: E402

CONFIGS = [
    ("rnn", 64),
    ("rnn", 128),
    ("rnn", 160),
    ("rnn", 200),
    ("rnn", 256),
    ("rnn", 512),
    ("lstm", 96),
    ("lstm", 200),
    ("gru", 200),
]
N_BATCHES = 24
NEVER, ALWAYS = 10**18, 0


def best_step(trainer, index, share_work):
    """Best time of one training step on ``index``, over 7 repeats of 10."""
    network._SHARE_WORK = share_work
    repeats = timeit.repeat(lambda: trainer.step(index), number=10, repeat=7)
    return min(repeats) / 10


def main():
    _, vocabulary, data, batches = names_and_batches(N_BATCHES)
    rule_work = network._SHARE_WORK
    print(f"{N_BATCHES} batches of {BATCH_SIZE}, one part, one thread")
    header = f"{'':16} {'work/row':>9} {'not shared':>11} {'shared':>11} {'gain':>6}"
    print(header + "  rule")
    for cell, hidden in CONFIGS:
        trainer = PackageTrainer(cell, hidden, len(vocabulary) + 2, data)
        trainer.n_parts, trainer.n_threads = 1, 1
        trainer.works = [Workspace()]
        totals = {NEVER: 0.0, ALWAYS: 0.0}
        with threadpool_limits(limits=1, user_api="blas"):
            trainer.run(batches[:2])  # warm up
            for index in batches:
                for share_work in totals:
                    totals[share_work] += best_step(trainer, index, share_work)
        network._SHARE_WORK = rule_work
        off, on = (totals[w] / N_BATCHES * 1e6 for w in (NEVER, ALWAYS))
        work = CELLS[cell].n_gates * hidden**2
        rule = "shared" if work >= rule_work else "not shared"
        print(
            f"{cell + ' H=' + str(hidden):16} {work:>9,} {off:>9,.0f}us "
            f"{on:>9,.0f}us {1 - on / off:>+6.0%}  {rule}"
        )


if __name__ == "__main__":
    main()
