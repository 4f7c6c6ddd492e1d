"""Model quality: held-out nats per token and fit time, against baselines.

Run from the repository root::

    python benchmarks/quality.py            # both lists, every model
    python benchmarks/quality.py --quick    # dinosaurs only, no PyTorch
    python benchmarks/quality.py --lists names --rows a,e,f,g  # some rows

Prints the machine line (``_machine.py``: CPU, cores, BLAS library and kernel,
library versions), then one table per name list. Held-out score is the mean
log-likelihood per token in nats (characters plus one end token, higher is
better): ``score`` of this package, and the same quantity for the baselines.
Rows:

(a) ``CharRNNGenerator(random_state=0)`` with its defaults;
(b) variations of the defaults (``VARIATIONS`` below), each changing one or
    two parameters, to show what every default earns: the defaults are the
    best configuration found;
(c) interpolated Kneser-Ney character n-gram, order 2-7 and discount tuned
    on a tenth of the training names, then refitted on all of them;
(d) PyTorch GRU and LSTM of the default size and training budget, when torch
    is installed (skipped otherwise);
(e) ``KneserNeyGenerator()`` with its defaults (order and discounts chosen
    inside ``fit``);
(f) ``GeneratorMixture(random_state=0)`` with its defaults: (a) and (e)
    mixed token by token, weights by EM on held-out training names;
(g) an ensemble: ``GeneratorMixture`` of two ``CharRNNGenerator`` (seeds 0
    and 1) and a ``KneserNeyGenerator``.

Then, for 1,000 names sampled at temperature 1 from (f): the share that are
new (not in the training list), the share that are distinct, and their length
distribution against the training names.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _machine import machine_line
from ngram import KneserNeyNgram, tune

from sklearn_charrnn import CharRNNGenerator, GeneratorMixture, KneserNeyGenerator
from sklearn_charrnn.datasets import load_dinosaurs, load_names

# Row (b): the defaults with one choice changed, on both lists.
VARIATIONS = [
    {"weight_averaging": 0.0},
    {"hidden_size": 256, "dropout": 0.3},
    {"cell": "gru"},
]


def split(name, seed):
    if name == "dinosaurs":
        return train_test_split(load_dinosaurs(), test_size=0.1, random_state=seed)
    return train_test_split(load_names(), test_size=1000, random_state=seed)


def timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def _rnn_rows(train, test, wanted):
    rows = []
    if "a" in wanted:
        gen, seconds = timed(lambda: CharRNNGenerator(random_state=0).fit(train))
        rows.append(("(a) CharRNNGenerator defaults", gen.score(test), seconds))
    for params in VARIATIONS if "b" in wanted else ():
        model, seconds = timed(
            lambda params=params: CharRNNGenerator(random_state=0, **params).fit(train)
        )
        label = ", ".join(f"{k}={v!r}" for k, v in params.items())
        rows.append((f"(b) defaults but {label}", model.score(test), seconds))
    return rows


def _baseline_rows(train, test, wanted, use_torch):
    rows = []
    if "c" in wanted:

        def fit_ngram():  # the baseline script's own n-gram, tuned on a split
            sub, valid = train_test_split(train, test_size=0.1, random_state=0)
            order, discount, _ = tune(sub, valid)
            return KneserNeyNgram(order, discount).fit(train)

        ngram, seconds = timed(fit_ngram)
        label = f"(c) Kneser-Ney n-gram, order {ngram.order}, D={ngram.discount:.2f}"
        rows.append((label, ngram.score(test), seconds))
    if use_torch and "d" in wanted:
        from quality_torch import TorchGenerator

        params = CharRNNGenerator().get_params()
        for cell in ("gru", "lstm"):
            model, seconds = timed(
                lambda cell=cell: TorchGenerator(
                    cell=cell,
                    hidden_size=params["hidden_size"],
                    n_layers=params["n_layers"],
                    dropout=params["dropout"],
                    max_iter=params["max_iter"],
                    batch_size=params["batch_size"],
                    learning_rate=params["learning_rate_init"],
                    weight_decay=params["weight_decay"],
                    clip_norm=params["clip_norm"],
                    random_state=0,
                ).fit(train)
            )
            rows.append((f"(d) PyTorch {cell.upper()}", model.score(test), seconds))
    return rows


def _generator_rows(train, test, wanted):
    rows, mixture = [], None
    if "e" in wanted:
        model, seconds = timed(lambda: KneserNeyGenerator(random_state=0).fit(train))
        label = f"(e) KneserNeyGenerator, order {model.order_}"
        rows.append((label, model.score(test), seconds))
    if "f" in wanted:
        mixture, seconds = timed(lambda: GeneratorMixture(random_state=0).fit(train))
        weights = "/".join(f"{w:.2f}" for w in mixture.weights_)
        label = f"(f) GeneratorMixture, weights {weights}"
        rows.append((label, mixture.score(test), seconds))
    if "g" in wanted:
        ensemble = [
            ("rnn0", CharRNNGenerator(random_state=0)),
            ("rnn1", CharRNNGenerator(random_state=1)),
            ("ngram", KneserNeyGenerator()),
        ]
        model, seconds = timed(
            lambda: GeneratorMixture(ensemble, random_state=0).fit(train)
        )
        weights = "/".join(f"{w:.2f}" for w in model.weights_)
        label = f"(g) ensemble 2 RNN + n-gram, {weights}"
        rows.append((label, model.score(test), seconds))
    return rows, mixture


def rows_for(name, seed, use_torch, wanted="abcdefg"):
    """The table's rows for one list, and the mixture (f) when it ran."""
    train, test = split(name, seed)
    rows = _rnn_rows(train, test, wanted)
    rows += _baseline_rows(train, test, wanted, use_torch)
    generator_rows, mixture = _generator_rows(train, test, wanted)
    return rows + generator_rows, mixture, train


def sample_report(gen, train):
    samples = gen.sample(1000, temperature=1.0, random_state=0)
    seen = set(train)
    new = np.mean([s not in seen for s in samples])
    distinct = len(set(samples)) / len(samples)
    lengths = np.array([len(s) for s in samples])
    train_lengths = np.array([len(s) for s in train])

    def describe(x):
        q = np.percentile(x, [10, 50, 90])
        return f"mean {x.mean():5.2f}  p10/p50/p90 {q[0]:.0f}/{q[1]:.0f}/{q[2]:.0f}"

    return [
        f"  new (not in training):  {new:.1%}",
        f"  distinct:               {distinct:.1%}",
        f"  length, samples:        {describe(lengths)}",
        f"  length, training names: {describe(train_lengths)}",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="dinosaurs only, no torch")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split")
    parser.add_argument(
        "--lists", default="dinosaurs,names", help="comma-separated name lists"
    )
    parser.add_argument(
        "--rows", default="a,b,c,d,e,f,g", help="comma-separated row letters"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(machine_line())
    try:
        import torch

        torch.set_num_threads(os.cpu_count())
        use_torch = not args.quick
    except ImportError:
        use_torch = False
        print("torch not installed: skipping the PyTorch rows (d)")
    lists = ["dinosaurs"] if args.quick else args.lists.split(",")
    wanted = "".join(args.rows.split(","))
    for name in lists:
        rows, mixture, train = rows_for(name, args.seed, use_torch, wanted)
        held_out = "10%" if name == "dinosaurs" else "1,000 names"
        print(f"\n{name} ({held_out} held out, split seed {args.seed})")
        width = max(len(r[0]) for r in rows)
        print(f"{'model':<{width}}  {'score':>8}  {'fit (s)':>8}")
        for label, score, seconds in rows:
            print(f"{label:<{width}}  {score:8.4f}  {seconds:8.1f}")
        if mixture is not None:
            print("1,000 samples from (f) at temperature 1:")
            print("\n".join(sample_report(mixture, train)))


if __name__ == "__main__":
    main()
