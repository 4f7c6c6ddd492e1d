"""Why the package runs BLAS on one thread: the same work on 1 and 2 threads.

Prints the package's training throughput (the step ``fit`` runs per batch)
and the names per second of its batched sampler, with OpenBLAS limited to
1 and to 2 threads, each thread count in a fresh process (idle OpenBLAS
threads left spinning would otherwise slow the one-thread run), median of 3
rounds::

    python benchmarks/blas_threads.py

``CharRNNGenerator`` itself always limits BLAS to one thread (and uses a
second core by splitting big batches and sampling steps in parts on threads
of its own, see ``split_batches.py``); this script runs the plain,
unsplit training step and sampler on one thread of Python with either BLAS
limit. It also trains a fresh LSTM on the same batches under each limit and
prints whether the two give the same weights, bit for bit: one reason for
the one-thread limit is that a model must not depend on the thread count.
"""

import hashlib
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.nn.sampling import generate

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import (  # noqa: E402
    PackageTrainer,
    names_and_batches,
)

ROUNDS = 3
N_BATCHES = 8
N_SAMPLES = 10_000


def main():
    names, vocabulary, data, batches = names_and_batches(N_BATCHES)
    lengths = data[1]
    tokens = int(sum(lengths[b].sum() + len(b) for b in batches))

    model = CharRNNGenerator(
        hidden_size=200, cell="rnn", dropout=0.0, max_iter=1, early_stopping=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(random_state=0).fit(names)
    prefixes = [np.zeros(0, dtype=np.intp)] * N_SAMPLES
    banned = (len(model.vocabulary_) + 1,)

    def train_job(trainer):
        def job():
            for index in batches:
                trainer.step(index)
            return tokens

        return job

    def sample_job():
        rng = np.random.RandomState(1)
        generate(model.weights_, "rnn", 1, prefixes, rng, banned=banned)
        return N_SAMPLES

    def plain_trainer(cell):
        trainer = PackageTrainer(cell, 200, len(vocabulary) + 2, data)
        trainer.n_parts, trainer.n_threads = 1, 1  # the unsplit step
        trainer.works = trainer.works[:1]
        return trainer

    jobs = {}
    for cell in ("rnn", "lstm"):
        jobs[f"train {cell} H=200, tokens/s"] = train_job(plain_trainer(cell))
    jobs["sampler, 10,000 names, names/s"] = sample_job

    threads = int(sys.argv[sys.argv.index("--threads") + 1])
    results = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for job in jobs.values():
            job()  # warm up
        for _ in range(ROUNDS):
            for label, job in jobs.items():
                start = time.perf_counter()
                count = job()
                seconds = time.perf_counter() - start
                results.setdefault(label, []).append(count / seconds)
        trainer = plain_trainer("lstm")
        train_job(trainer)()
    digest = hashlib.sha256()
    for name in sorted(trainer.weights):
        digest.update(trainer.weights[name].tobytes())
    results = {label: float(np.median(v)) for label, v in results.items()}
    print(json.dumps({"results": results, "weights": digest.hexdigest()}))


def report():
    results = {}
    for threads in (1, 2):
        out = subprocess.run(
            [sys.executable, __file__, "--threads", str(threads)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[threads] = json.loads(out.strip().splitlines()[-1])
    digests = {threads: results[threads]["weights"] for threads in (1, 2)}
    results = {threads: results[threads]["results"] for threads in (1, 2)}
    width = max(len(label) for label in results[1])
    print(f"{'':{width}}  {'1 thread':>12}  {'2 threads':>12}  {'1t / 2t':>8}")
    for label, one in results[1].items():
        two = results[2][label]
        print(f"{label:{width}}  {one:12,.0f}  {two:12,.0f}  {one / two:7.1f}x")
    same = "the same" if digests[1] == digests[2] else "DIFFERENT"
    print(f"LSTM weights after {N_BATCHES} batches on 1 and on 2 threads: {same}")


if __name__ == "__main__":
    if "--threads" in sys.argv:
        main()
    else:
        report()
