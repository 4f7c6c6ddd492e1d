"""Whether cutting a step's recurrent product in chunks of rows pays off.

OpenBLAS multiplies a product of at most 1,000,000 multiply-adds with a
kernel that does not pack its operands first (its SkylakeX kernels, as in
NumPy's wheels; ``_SMALL_PRODUCT`` in ``sklearn_charrnn/nn/cells.py``).
Training cuts each step's ``(32, H) @ (H, H)`` product in the fewest equal
chunks of at least 8 rows that are that small (``row_chunks``). This script
prints, for a range of hidden sizes:

- the product alone, whole and in chunks (best of 7 repeats of 2,000);
- the package's training step (tanh RNN, batch 32, float32, one part on
  one thread, as in ``benchmarks/speed.py`` otherwise) with and without the
  chunks (of the steps' products and of the output layer's, which training
  cuts alike with ``matmul_rows``): each batch is timed both ways, one
  after the other, and each way keeps its best of 7 repeats of 10 steps,
  summed over 24 batches.

::

    python benchmarks/small_products.py

About a minute on a 2-core machine.
"""

import sys
import timeit
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import (  # noqa: E402
    BATCH_SIZE,
    PackageTrainer,
    names_and_batches,
)

from sklearn_charrnn.nn import cells  # noqa: E402
from sklearn_charrnn.nn.workspace import Workspace  # noqa: E402

SIZES = [128, 160, 200, 256, 300, 512]
N_BATCHES = 24


def best(function, number, repeat=7):
    """Best time of one call, in microseconds."""
    function()
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def product_times(H, chunks):
    """The ``(32, H) @ (H, H)`` product whole and in ``chunks`` chunks."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((BATCH_SIZE, H), dtype=np.float32)
    W = rng.standard_normal((H, H), dtype=np.float32)
    out = np.empty((BATCH_SIZE, H), dtype=np.float32)
    whole = best(lambda: np.matmul(h, W, out=out), 2000)
    rows = h.reshape(chunks, -1, H)
    cut = best(lambda: np.matmul(rows, W, out=out.reshape(chunks, -1, H)), 2000)
    return whole, cut


def step_times(H, data, n_tokens, batches):
    """Training step time (us per batch) without and with the chunks."""
    trainer = PackageTrainer("rnn", H, n_tokens, data)
    trainer.n_parts, trainer.n_threads = 1, 1
    trainer.works = [Workspace()]
    small = cells._SMALL_PRODUCT
    totals = {0: 0.0, small: 0.0}  # 0: no product is small, no chunks
    trainer.run(batches[:2])  # warm up
    for index in batches:
        for limit in totals:
            cells._SMALL_PRODUCT = limit
            totals[limit] += best(lambda i=index: trainer.step(i), 10)
    cells._SMALL_PRODUCT = small
    return totals[0] / len(batches), totals[small] / len(batches)


def main():
    _, vocabulary, data, batches = names_and_batches(N_BATCHES)
    print(
        f"{'H':>4} {'chunks':>6} {'product':>9} {'in chunks':>10} "
        f"{'step':>9} {'in chunks':>10} {'gain':>6}"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        for H in SIZES:
            chunks = cells.row_chunks(BATCH_SIZE, H)
            whole, cut = product_times(H, max(chunks, 2))
            plain, chunked = step_times(H, data, len(vocabulary) + 2, batches)
            print(
                f"{H:>4} {chunks:>6} {whole:>7.1f}us {cut:>8.1f}us "
                f"{plain:>7,.0f}us {chunked:>8,.0f}us {1 - chunked / plain:>+6.0%}"
            )
    print("product 'in chunks': the chunks row_chunks picks, or 2 when it picks 1")


if __name__ == "__main__":
    main()
