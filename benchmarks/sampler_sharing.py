"""How much work the sampler's sharing saves: ``sample(10_000)`` counted.

Sequences that have read the same tokens share one state (a *group*), and a
state's recurrent product is computed once for all the groups that continue
it. The script counts, for ``sample(10_000)`` of the model ``speed.py``
samples from (a tanh RNN with 200 units trained for 3 epochs on
``names.txt``, about 20 seconds to fit), with its groups split in two
halves as the sampler splits them, and not split:

- tokens read: what a sampler that runs every name on its own row computes;
- states computed: the groups, summed over the steps;
- recurrent products: the distinct states continued, summed over the steps.

::

    python benchmarks/sampler_sharing.py
"""

import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import MAX_LENGTH, N_SAMPLES, find_names, read_names, sampling_model  # noqa: E402

from sklearn_charrnn.nn import sampling  # noqa: E402


def main():
    model = sampling_model(read_names(find_names()))

    counts, lock = [], threading.Lock()
    advance = sampling.advance

    def counting_advance(weights, cell, n_layers, tokens, states, parent, work):
        products = 0 if parent is None else np.unique(parent).size
        with lock:
            counts.append((tokens.size, products))
        return advance(weights, cell, n_layers, tokens, states, parent, work)

    sampling.advance = counting_advance
    print(f"sample({N_SAMPLES:,}), max_length={MAX_LENGTH}")
    print(f"{'groups':>14} {'tokens read':>12} {'states':>8} {'products':>9}")
    split_groups = sampling._SPLIT_GROUPS
    try:
        for label, split_at in (
            ("in halves", split_groups),
            ("not split", N_SAMPLES + 1),
        ):
            sampling._SPLIT_GROUPS = split_at  # more groups than names: no split
            counts.clear()
            padded, lengths = sampling.generate_padded(
                model.weights_,
                model.cell,
                model.n_layers,
                [np.zeros(0, dtype=np.intp)] * N_SAMPLES,
                np.random.RandomState(1),
                banned=(model._unknown_index(),),
                max_length=MAX_LENGTH,
                n_threads=2,
            )
            states, products = np.array(counts).sum(axis=0)
            tokens = int((lengths + 1).sum())  # each name's end token too
            print(f"{label:>14} {tokens:>12,} {states:>8,} {products:>9,}")
    finally:
        sampling.advance = advance
        sampling._SPLIT_GROUPS = split_groups
    print("(a group of one state is computed on two rows, see network.advance)")


if __name__ == "__main__":
    main()
