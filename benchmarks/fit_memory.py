"""Peak memory and epoch times of one ``fit``, measured in a fresh process.

``speed.py`` runs this script in a subprocess, so that the peak resident
memory (``VmHWM`` in ``/proc/self/status``) belongs to this fit alone. It
prints one JSON object: the resident memory before ``fit`` (interpreter,
NumPy, scikit-learn and the data already loaded), and after every epoch the
time of that epoch and the peak resident memory so far.

Usage::

    python benchmarks/fit_memory.py NAMES_FILE --fraction 0.5 --epochs 3
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import CharRNNGenerator


def memory_mb():
    """Current and peak resident memory of this process, in MB."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB -> MB
    return fields["VmRSS"], fields["VmHWM"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names_file")
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    with open(args.names_file, encoding="ascii") as f:
        names = [line.strip() for line in f if line.strip()]
    rng = np.random.default_rng(0)
    n = round(args.fraction * len(names))
    names = [names[i] for i in np.sort(rng.permutation(len(names))[:n])]

    # The package's defaults, for a fixed number of epochs.
    model = CharRNNGenerator(max_iter=args.epochs, n_iter_no_change=10**6)
    model.set_params(random_state=0)
    epochs = []

    def record(info):
        rss, peak = memory_mb()
        epochs.append({"time": info["time"], "rss_mb": rss, "peak_mb": peak})

    model._epoch_callback = record
    rss_before, _ = memory_mb()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(names)
    total = time.perf_counter() - start
    print(
        json.dumps(
            {
                "n_names": len(names),
                "n_tokens": sum(len(s) + 1 for s in names),
                "rss_before_fit_mb": rss_before,
                "fit_seconds": total,
                "epochs": epochs,
            }
        )
    )


if __name__ == "__main__":
    main()
