"""Names of a kind with the n-gram: the conditional KneserNeyGenerator.

Run from the repository root::

    python benchmarks/ngram_labels.py

On the split of ``benchmarks/labels.py`` (``labels_baseline.split`` of
``load_surnames()``: stratified, 20% held out, ``random_state=0``) it prints
the held-out mean log-likelihood per token (nats, characters plus one end
token, higher is better) and the fit time of

- ``KneserNeyGenerator(random_state=0).fit(X, y)``, each held-out name
  scored under its own label, with the label's counts entering from level
  ``CLASS_LOWEST_LEVEL`` (the default, 2) and from level 1 (every level of
  the label's own model, over the model of all labels instead of the
  uniform distribution);
- one ``KneserNeyGenerator(random_state=0)`` per language, fitted on that
  language's names alone (``labels.per_label_kneser_ney``);
- ``KneserNeyGenerator(random_state=0).fit(X)``, no labels;

and, per language, the held-out score of the conditional model beside the
one of the separate model, with the number of training names.
"""

import sys
import time
from pathlib import Path

import numpy as np

from sklearn_charrnn import KneserNeyGenerator
from sklearn_charrnn.datasets import load_surnames
from sklearn_charrnn.ngram import kneser_ney

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line  # noqa: E402
from labels import per_label_kneser_ney  # noqa: E402
from labels_baseline import split  # noqa: E402


def timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def per_token(model, X, y=None):
    """Held-out score of every language: nats per token."""
    scores = {}
    for label in np.unique(y):
        names = [x for x, l in zip(X, y, strict=True) if l == label]
        total = model.score_samples(names, [label] * len(names)).sum()
        scores[label] = total / sum(len(n) + 1 for n in names)
    return scores


def separate_scores(X_train, y_train, X_test, y_test):
    """Held-out score of every language under its own separate model."""
    scores = {}
    for label in np.unique(y_train):
        names = [x for x, l in zip(X_train, y_train, strict=True) if l == label]
        model = KneserNeyGenerator(random_state=0).fit(names)
        test = [x for x, l in zip(X_test, y_test, strict=True) if l == label]
        scores[label] = model.score(test)
    return scores


def main():
    X, y = load_surnames(return_X_y=True)
    X_train, X_test, y_train, y_test = split(X, y)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    print(machine_line())
    print(f"load_surnames(): {len(X_train):,} train / {len(X_test):,} held out\n")
    print("held-out score (nats/token)                          score  order  fit (s)")
    rows = []
    for lowest in (kneser_ney.CLASS_LOWEST_LEVEL, 1):
        kneser_ney.CLASS_LOWEST_LEVEL, default = lowest, kneser_ney.CLASS_LOWEST_LEVEL
        model, seconds = timed(
            lambda: KneserNeyGenerator(random_state=0).fit(X_train, y_train)
        )
        kneser_ney.CLASS_LOWEST_LEVEL = default
        rows.append((f"fit(X, y), label counts from level {lowest}", model, seconds))
    conditional = rows[0][1]
    for name, model, seconds in rows:
        score = model.score(X_test, y_test)
        print(f"  {name:<47}{score:8.4f} {model.order_:5d} {seconds:8.1f}")
    separate, seconds = per_label_kneser_ney(X_train, y_train, X_test, y_test)
    print(f"  {'one model per language':<47}{separate:8.4f} {'':>5} {seconds:8.1f}")
    plain, seconds = timed(lambda: KneserNeyGenerator(random_state=0).fit(X_train))
    score = plain.score(X_test)
    print(f"  {'fit(X), no labels':<47}{score:8.4f} {plain.order_:5d} {seconds:8.1f}")

    print("\nper language            train names  fit(X, y)  own model  difference")
    ours = per_token(conditional, X_test, y_test)
    theirs = separate_scores(X_train, y_train, X_test, y_test)
    counts = dict(zip(*np.unique(y_train, return_counts=True), strict=True))
    for label in sorted(ours, key=counts.get):
        print(
            f"  {label:<22}{counts[label]:11,d}  {ours[label]:9.4f}  "
            f"{theirs[label]:9.4f}  {ours[label] - theirs[label]:+10.4f}"
        )


if __name__ == "__main__":
    main()
