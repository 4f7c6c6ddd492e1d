"""KneserNeyGenerator with its defaults on held-out names: score, order, fit time.

Run from the repository root::

    python benchmarks/ngram_kn.py

For the dinosaur names and the given names, five random splits (seeds 0 to
4) each hold out 10% of the names; ``KneserNeyGenerator(random_state=0)`` is
fitted on the rest (``order="auto"`` and ``discount="auto"``: the order is
chosen inside ``fit`` on a tenth of the training names, the discounts are
Chen and Goodman's closed form from the training counts) and scored on the
held-out names, in nats per token (characters plus one end token, higher is
better). Each row: the split seed, the order chosen, the top order's
discounts D1, D2, D3+, the held-out score, the fit time and the size of the
compiled tables (``log_probs_`` and ``transitions_``). Then the mean and
standard deviation of the scores over the five splits.
"""

import time

import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_charrnn import KneserNeyGenerator
from sklearn_charrnn.datasets import load_dinosaurs, load_names

SEEDS = range(5)


def run(label, names):
    print(f"\n{label}: {len(names)} names, 10% held out")
    print(" seed  order  D1    D2    D3+   held-out   fit (s)  tables (MB)")
    scores = []
    for seed in SEEDS:
        train, test = train_test_split(names, test_size=0.1, random_state=seed)
        start = time.perf_counter()
        gen = KneserNeyGenerator(random_state=0).fit(train)
        seconds = time.perf_counter() - start
        score = gen.score(test)
        scores.append(score)
        d1, d2, d3 = gen.discounts_[-1]
        megabytes = (gen.log_probs_.nbytes + gen.transitions_.nbytes) / 1e6
        print(
            f" {seed:4d}  {gen.order_:5d}  {d1:.2f}  {d2:.2f}  {d3:.2f}  "
            f"{score:8.4f}  {seconds:8.2f}  {megabytes:11.1f}"
        )
    print(f" mean {np.mean(scores):.4f}, std {np.std(scores):.4f} nats per token")


def main():
    run("dinosaurs", load_dinosaurs())
    run("given names", load_names())


if __name__ == "__main__":
    main()
