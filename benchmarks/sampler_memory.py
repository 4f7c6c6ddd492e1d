"""What fresh memory costs the sampler: ``sample(10_000)`` with its scratch
memory kept between calls (the package's behaviour) and dropped after each.

Fresh memory is faulted in page by page on first touch. The script prints,
per call, wall time, user and system CPU time and minor page faults, median
of 5 calls each way, alternated::

    python benchmarks/sampler_memory.py

The model is the one ``speed.py`` samples from: a tanh RNN with 200 units
trained for 3 epochs on ``names.txt`` (about 20 seconds to fit).
"""

import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import MAX_LENGTH, N_SAMPLES, find_names, read_names, sampling_model  # noqa: E402

from sklearn_charrnn.nn import sampling  # noqa: E402

ROUNDS = 5


def one_call(model):
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    model.sample(N_SAMPLES, max_length=MAX_LENGTH, random_state=1)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (
        wall * 1e3,
        (after.ru_utime - before.ru_utime) * 1e3,
        (after.ru_stime - before.ru_stime) * 1e3,
        after.ru_minflt - before.ru_minflt,
    )


def main():
    model = sampling_model(read_names(find_names()))
    keep = sampling._KEEP_BYTES
    results = {"kept": [], "dropped": []}
    model.sample(N_SAMPLES, max_length=MAX_LENGTH, random_state=1)  # warm up
    for _ in range(ROUNDS):
        for label, limit in (("kept", keep), ("dropped", 0)):
            sampling._KEEP_BYTES = limit
            # a call before fills the kept memory, or (limit 0) drops it in
            # every thread that sampled, the pool's included
            model.sample(N_SAMPLES, max_length=MAX_LENGTH, random_state=1)
            results[label].append(one_call(model))
    sampling._KEEP_BYTES = keep
    print(f"sample({N_SAMPLES:,}), per call, median of {ROUNDS}")
    header = ("scratch memory", "wall ms", "user ms", "sys ms", "faults")
    print(f"{header[0]:16}" + "".join(f" {h:>8}" for h in header[1:]))
    for label, rows in results.items():
        wall, user, system, faults = np.median(np.array(rows), axis=0)
        print(f"{label:16} {wall:8.1f} {user:8.1f} {system:8.1f} {faults:8,.0f}")


if __name__ == "__main__":
    main()
