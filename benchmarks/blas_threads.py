"""Why the package runs BLAS on one thread: the same work on 1 and 2 threads.

Prints the package's training throughput (the step ``fit`` runs per batch)
and the names per second of its batched sampler, with OpenBLAS limited to
1 and to 2 threads, each thread count in a fresh process (idle OpenBLAS
threads left spinning would otherwise slow the one-thread run), median of 3
rounds::

    python benchmarks/blas_threads.py

``CharRNNGenerator`` itself always limits BLAS to one thread; this script
calls the same functions underneath it with either limit.
"""

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sklearn_charrnn import CharRNNGenerator, _sequences
from sklearn_charrnn.nn.sampling import generate

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import PackageTrainer, find_names, read_names  # noqa: E402

ROUNDS = 3
N_BATCHES = 8
N_SAMPLES = 10_000


def main():
    names = read_names(find_names())
    vocabulary = sorted(set("".join(names)))
    codes, lengths = _sequences.encode(names, _sequences.STRING, vocabulary)
    offsets = np.cumsum(lengths) - lengths
    batches = _sequences.make_batches(lengths, 32, np.random.default_rng(0))
    batches = batches[:N_BATCHES]
    tokens = int(sum(lengths[b].sum() + len(b) for b in batches))
    data = (codes, lengths, offsets)

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

    jobs = {}
    for cell in ("rnn", "lstm"):
        trainer = PackageTrainer(cell, 200, len(vocabulary) + 2, data)
        jobs[f"train {cell} H=200, tokens/s"] = train_job(trainer)
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
    print(json.dumps({label: float(np.median(v)) for label, v in results.items()}))


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
    width = max(len(label) for label in results[1])
    print(f"{'':{width}}  {'1 thread':>12}  {'2 threads':>12}  {'1t / 2t':>8}")
    for label, one in results[1].items():
        two = results[2][label]
        print(f"{label:{width}}  {one:12,.0f}  {two:12,.0f}  {one / two:7.1f}x")


if __name__ == "__main__":
    if "--threads" in sys.argv:
        main()
    else:
        report()
