"""Names of a kind: the conditional CharRNNGenerator and CharRNNClassifier.

Run from the repository root::

    python benchmarks/labels.py           # the table (defaults, about 12 minutes)
    python benchmarks/labels.py --tune    # candidates on a validation split

``load_surnames()`` is split as the label judge splits it
(``labels_baseline.split``: stratified, 20% held out, ``random_state=0``).
Every model fits on the training part and is measured on the held-out part:

- **score**: held-out mean log-likelihood per token (nats, characters plus
  one end token, higher is better), each name under its own label: of the
  conditional network (``CharRNNGenerator`` fitted with ``y``, the
  generator of ``CharRNNClassifier(mix_ngram=False)``), of the conditional
  mixture of that network and a Kneser-Ney n-gram (the generator of
  ``CharRNNClassifier()``), of the conditional ``KneserNeyGenerator`` and
  of one ``KneserNeyGenerator`` per language; and, with no labels, of the
  unconditional network;
- **accuracy** and **balanced accuracy** of ``CharRNNClassifier()``
  (defaults) and ``CharRNNClassifier(mix_ngram=False)`` against the judge,
  character TF-IDF + logistic regression (``labels_baseline.fit_judge``),
  and, when torch is installed, against PyTorch's tutorial RNN classifier
  trained with Adam and early stopping (``labels_torch.classification_row``;
  ``n/a`` without torch);
- **label fidelity**: for Japanese, Italian, Russian and English, the share
  of 300 names sampled for that label (``generator_.sample(300, y=label,
  random_state=0)``, temperature 1) from the network and from the mixture
  that the judge assigns to it, beside the share of real held-out names of
  that label it assigns to it;
- **fit** times, on this machine's two cores; a classifier's fit is its
  generator's.

``--tune`` holds out a stratified 10% of the training part (``random_state=0``)
as a validation split and prints the conditional score and the classifier's
accuracy and balanced accuracy of each candidate on it; the test part is not
read. The defaults were kept or changed on what it printed.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import train_test_split

from sklearn_charrnn import CharRNNClassifier, CharRNNGenerator, KneserNeyGenerator
from sklearn_charrnn.datasets import load_surnames

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line  # noqa: E402
from labels_baseline import LANGUAGES, fit_judge, share_judged_as, split  # noqa: E402
from labels_torch import classification_row  # noqa: E402

N_SAMPLES = 300
# Parameters tried by --tune, each against the defaults (the first row).
CANDIDATES = [{}, {"mix_ngram": False}, {"hidden_size": 256}]


def timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def per_label_kneser_ney(X_train, y_train, X_test, y_test):
    """Held-out score of one Kneser-Ney model per label, and the fit time."""
    X_train, X_test = np.asarray(X_train, object), np.asarray(X_test, object)
    total, n_tokens, seconds = 0.0, 0, 0.0
    for label in np.unique(y_train):
        model, took = timed(
            lambda label=label: KneserNeyGenerator(random_state=0).fit(
                X_train[y_train == label].tolist()
            )
        )
        seconds += took
        test = X_test[y_test == label].tolist()
        total += model.score_samples(test).sum()
        n_tokens += sum(len(name) + 1 for name in test)
    return total / n_tokens, seconds


def table(X_train, X_test, y_train, y_test):
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    print(machine_line())
    print(f"load_surnames(): {len(X_train):,} train / {len(X_test):,} held out\n")
    clf, clf_seconds = timed(
        lambda: CharRNNClassifier(random_state=0).fit(X_train, y_train)
    )
    alone, alone_seconds = timed(
        lambda: CharRNNClassifier(mix_ngram=False, random_state=0).fit(X_train, y_train)
    )
    plain, plain_seconds = timed(lambda: CharRNNGenerator(random_state=0).fit(X_train))
    ngram, ngram_seconds = timed(
        lambda: KneserNeyGenerator(random_state=0).fit(X_train, y_train)
    )
    kn_score, kn_seconds = per_label_kneser_ney(X_train, y_train, X_test, y_test)
    judge, judge_seconds = timed(lambda: fit_judge(X_train, y_train))

    print("held-out score (nats/token)                      score   fit (s)")
    for name, score, seconds in (
        (
            "CharRNNGenerator fit(X, y)",
            alone.generator_.score(X_test, y_test),
            alone_seconds,
        ),
        (
            "GeneratorMixture fit(X, y), rnn + ngram",
            clf.generator_.score(X_test, y_test),
            clf_seconds,
        ),
        ("KneserNeyGenerator fit(X, y)", ngram.score(X_test, y_test), ngram_seconds),
        ("KneserNeyGenerator, one per language", kn_score, kn_seconds),
        ("CharRNNGenerator fit(X), no labels", plain.score(X_test), plain_seconds),
    ):
        print(f"  {name:<43}{score:8.4f} {seconds:8.1f}")
    weights = ", ".join(f"{w:.2f}" for w in clf.generator_.weights_)
    print(f"  (mixture weights rnn, ngram: {weights})")

    print("\nclassification                          accuracy  balanced   fit (s)")
    predict_seconds = {}
    for name, model, seconds in (
        ("CharRNNClassifier()", clf, clf_seconds),
        ("CharRNNClassifier(mix_ngram=False)", alone, alone_seconds),
        ("TF-IDF + logistic regression (judge)", judge, judge_seconds),
    ):
        labels, predict_seconds[name] = timed(lambda model=model: model.predict(X_test))
        accuracy = accuracy_score(y_test, labels)
        balanced = balanced_accuracy_score(y_test, labels)
        print(f"  {name:<38}{accuracy:7.1%}  {balanced:7.1%}  {seconds:8.1f}")
    print(classification_row(X_train, y_train, X_test, y_test))
    print(
        f"  (predict on {len(X_test):,} names: "
        f"{predict_seconds['CharRNNClassifier()']:.1f} s and "
        f"{predict_seconds['CharRNNClassifier(mix_ngram=False)']:.1f} s)"
    )

    print(
        f"\nlabel fidelity: share judged as the label  {N_SAMPLES} sampled from"
        "        real"
    )
    print("                                         network  mixture   held out")
    X_test_array = np.asarray(X_test, object)
    for language in LANGUAGES:
        shares = [
            share_judged_as(
                judge,
                model.generator_.sample(N_SAMPLES, y=language, random_state=0),
                language,
            )
            for model in (alone, clf)
        ]
        real = X_test_array[y_test == language].tolist()
        print(
            f"  {language:<10}                             "
            f"{shares[0]:7.1%}  {shares[1]:7.1%}  "
            f"{share_judged_as(judge, real, language):8.1%}"
        )


def tune(X_train, y_train):
    X_fit, X_valid, y_fit, y_valid = train_test_split(
        X_train, y_train, test_size=0.1, stratify=y_train, random_state=0
    )
    print(f"validation split of the training part: {len(X_fit):,} / {len(X_valid):,}")
    print("candidate" + " " * 35 + "epochs   score  accuracy balanced  fit (s)")
    for params in CANDIDATES:
        clf, seconds = timed(
            lambda params=params: CharRNNClassifier(random_state=0, **params).fit(
                X_fit, y_fit
            )
        )
        predicted = clf.predict(X_valid)
        print(
            f"  {str(params) if params else 'defaults':<34} {clf.n_iter_:4d}   "
            f"{clf.generator_.score(X_valid, y_valid):8.4f} "
            f"{accuracy_score(y_valid, predicted):8.1%} "
            f"{balanced_accuracy_score(y_valid, predicted):8.1%} {seconds:8.1f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tune",
        action="store_true",
        help="candidates on a validation split of the training part",
    )
    X, y = load_surnames(return_X_y=True)
    X_train, X_test, y_train, y_test = split(X, y)
    if parser.parse_args().tune:
        tune(X_train, y_train)
    else:
        table(X_train, X_test, y_train, y_test)


if __name__ == "__main__":
    main()
