"""Speed benchmark: this package against the tutorial's loop and PyTorch.

One command prints one table::

    python benchmarks/speed.py

It measures, in one run, with the implementations alternated round by round
and the median of the rounds reported:

- training throughput (real tokens per second, padding not counted) of the
  tanh RNN at hidden sizes 64, 200 and 512, of the GRU and LSTM at 200 and
  of the LSTM at 512 (the estimator's default), batch 32, float32, AdamW
  (learning rate 3e-3, weight decay 0.01 on the weight matrices, clipping
  at global norm 5) for (a) this package, (b) the tutorial's
  one-name-at-a-time, one-character-at-a-time loop
  (``tutorial_baseline.py``, tanh RNN only) and (c) PyTorch's fused
  ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (``torch_baseline.py``) on the same
  padded batches;
- a ceiling for each training configuration and for sampling: its matrix
  products alone, on one thread, times the cores (``ProductsOnly``,
  ``sampling_products``);
- the package's own training step, and its ``sample(10_000)`` call, run on
  one thread (one core), times the cores: what sharing today's work between
  the cores without any loss would give;
- names per second of ``sample(10_000)``, of the tutorial's sampler and of a
  batched PyTorch sampler, all three with the same trained weights;
- the share of this machine's one-thread float32 matmul peak (one large
  ``np.matmul``) that training reaches at hidden size 512;
- peak resident memory and epoch times of ``fit`` with the package's
  defaults on 25%, 50% and 100% of the names, each in a fresh process
  (``fit_memory.py``).

The whole measurement runs twice, in two fresh processes: under OpenBLAS's
Haswell kernel (``OPENBLAS_CORETYPE=Haswell``, which some machines set) and
under the kernel OpenBLAS chooses for this CPU; one table each.

Options: ``--rounds N`` (default 5; sampling, a fraction of a second per
round, runs three times as many), ``--quick`` (one round, smaller
measurements: a smoke test, not a result), ``--kernel {haswell,native}``
(one kernel only). See ``benchmarks/README.md``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import sklearn_charrnn
from sklearn_charrnn import CharRNNGenerator, _sequences
from sklearn_charrnn._signals import held_interrupts
from sklearn_charrnn._training import batch_loss_and_gradients
from sklearn_charrnn.nn.cells import CELLS
from sklearn_charrnn.nn.network import init_weights, is_decayed
from sklearn_charrnn.nn.optim import AdamW
from sklearn_charrnn.nn.parallel import (
    Threads,
    available_cores,
    limited_blas,
    n_parts,
    split_rows,
)
from sklearn_charrnn.nn.workspace import Workspace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tutorial_baseline as tutorial  # noqa: I001
from _machine import machine_line

try:
    import torch
    import torch_baseline
except ImportError:
    torch = None

BATCH_SIZE = 32
OPTIMIZER = dict(learning_rate=3e-3, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8)
CLIP_NORM = 5.0
TRAIN_CONFIGS = [
    ("rnn", 64),
    ("rnn", 200),
    ("rnn", 512),
    ("gru", 200),
    ("lstm", 200),
    ("lstm", 512),
]
KERNELS = {"haswell": "Haswell", "native": None}
N_SAMPLES = 10_000
MAX_LENGTH = 50


def find_names():
    """``../shared/data/names.txt`` next to the repository, else the bundled copy."""
    shared = HERE.parent.parent / "shared" / "data" / "names.txt"
    if shared.is_file():
        return shared
    return Path(sklearn_charrnn.__file__).parent / "datasets" / "data" / "names.txt"


def read_names(path):
    with open(path, encoding="ascii") as f:
        return [line.strip() for line in f if line.strip()]


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


# ---------------------------------------------------------------- training


class PackageTrainer:
    """The package's training step, exactly as ``fit`` runs it per batch.

    Cut the batch in ``n_parts`` parts, pad each,
    ``batch_loss_and_gradients`` (the parts on threads, one per core),
    ``AdamW.step`` with clipping, with reused workspaces and BLAS on one
    thread, as in ``CharRNNGenerator.fit`` (dropout 0, as in the PyTorch
    model). The parts run on up to ``n_threads`` threads (default: one per
    core).
    """

    def __init__(self, cell, hidden_size, n_tokens, data, n_threads=None):
        self.cell = cell
        self.codes, self.lengths, self.offsets = data
        rng = np.random.default_rng(0)
        self.weights = init_weights(
            rng,
            cell=cell,
            n_layers=1,
            hidden_size=hidden_size,
            n_tokens=n_tokens,
            dtype=np.dtype("float32"),
        )
        self.optimizer = AdamW(
            self.weights,
            learning_rate=OPTIMIZER["learning_rate"],
            beta_1=OPTIMIZER["betas"][0],
            beta_2=OPTIMIZER["betas"][1],
            epsilon=OPTIMIZER["eps"],
            weight_decay=OPTIMIZER["weight_decay"],
            decay={name: is_decayed(name) for name in self.weights},
        )
        self.n_parts = n_parts(BATCH_SIZE, CELLS[cell].n_gates * hidden_size**2)
        self.works = [Workspace() for _ in range(self.n_parts)]
        self.threads = Threads(min(self.n_parts, n_threads or available_cores()))

    def step(self, index):
        """One training step on the sequences ``index``."""
        parts = [
            _sequences.pad_batch(self.codes, self.offsets, self.lengths, part)
            for part in split_rows(index, self.n_parts)
        ]
        _, grads, _ = batch_loss_and_gradients(
            self.weights,
            self.cell,
            1,
            parts,
            dropout=0.0,
            rngs=[None] * len(parts),
            works=self.works,
            threads=self.threads,
        )
        with held_interrupts():  # as fit holds Ctrl-C back for the step
            self.optimizer.step(self.weights, grads, self.works[0], max_norm=CLIP_NORM)

    def run(self, batches):
        with limited_blas():  # as fit enters it, once per call
            for index in batches:
                self.step(index)


class TutorialTrainer:
    """The tutorial's loop: one update per name, one character at a time."""

    def __init__(self, hidden_size, n_tokens, sequences):
        self.sequences = sequences
        self.weights = tutorial.init_weights(
            np.random.default_rng(0), n_tokens, hidden_size
        )
        self.optimizer = tutorial.Adam(self.weights, clip=CLIP_NORM, **OPTIMIZER)

    def run(self, names):
        # one BLAS thread, like the package: its products are too small to share
        with limited_blas():
            tutorial.train(
                self.weights, self.optimizer, [self.sequences[i] for i in names]
            )


class TorchTrainer:
    """PyTorch's fused module on the same padded batches."""

    def __init__(self, cell, hidden_size, n_tokens, data):
        torch.manual_seed(0)
        self.codes, self.lengths, self.offsets = data
        self.model = torch_baseline.TorchCharRNN(cell, n_tokens, hidden_size)
        self.optimizer = torch_baseline.make_optimizer(
            self.model,
            learning_rate=OPTIMIZER["learning_rate"],
            weight_decay=OPTIMIZER["weight_decay"],
            betas=OPTIMIZER["betas"],
            eps=OPTIMIZER["eps"],
        )

    def run(self, batches):
        for index in batches:
            batch = _sequences.pad_batch(self.codes, self.offsets, self.lengths, index)
            torch_baseline.train_step(self.model, self.optimizer, *batch, CLIP_NORM)


class ProductsOnly:
    """The matrix products of the package's training step, and nothing else.

    For every batch, whole (32 rows, the faster shape on both kernels), the
    products ``fit`` computes: ``h @ W_h`` and its gradient ``dhw @ W_h^T``
    at every step but the first (whose state is zero), the recurrent weight
    gradient as one product, and the output layer's three products, on one
    BLAS thread, on random arrays of the right shapes. No elementwise work,
    no optimizer, no Python between steps. Its tokens per second times the
    number of cores is a ceiling for any step that computes these products
    at this machine's one-thread rate, however it shares them between cores.
    """

    def __init__(self, cell, hidden_size, n_tokens, data):
        _, self.lengths, _ = data
        G, H, V = CELLS[cell].n_gates, hidden_size, n_tokens
        rng = np.random.default_rng(0)
        self.Wg = rng.standard_normal((H, G * H), dtype=np.float32)
        self.Wg = self.Wg.reshape(H, G, H).transpose(1, 0, 2)  # (G, H, H) view
        self.W_y = rng.standard_normal((H, V), dtype=np.float32)
        T = int(self.lengths.max()) + 1  # the longest batch's steps
        self.hs = rng.standard_normal((T, BATCH_SIZE, H), dtype=np.float32)
        self.dhw = rng.standard_normal((G, T, BATCH_SIZE, H), dtype=np.float32)

    def step(self, index):
        G, H, _ = self.Wg.shape
        T, B = int(self.lengths[index].max()) + 1, len(index)  # as pad_batch pads
        hs, dhw = self.hs[:T, :B], self.dhw[:, :T, :B]
        WgT = self.Wg.transpose(0, 2, 1)
        for t in range(1, T):
            hs[t - 1] @ self.Wg  # (G, B, H)
            np.matmul(dhw[:, t], WgT)  # (G, B, H)
        np.matmul(hs[:-1].reshape(-1, H).T, dhw[:, 1:].reshape(G, -1, H))
        h_all = hs.reshape(T * B, H)
        dlogits = h_all @ self.W_y  # (T*B, V)
        h_all.T @ dlogits
        dlogits @ self.W_y.T

    def run(self, batches):
        with limited_blas():  # as fit enters it, once per call
            for index in batches:
                self.step(index)


def encode_names(names, vocabulary):
    """``(codes, lengths, offsets)``: the names as the package's flat encoding."""
    codes, lengths = _sequences.encode(names, _sequences.STRING, vocabulary)
    return codes, lengths, np.cumsum(lengths) - lengths


def fit_batches(data, n_batches):
    """The first ``n_batches`` batches of 32 of ``data``, as ``fit`` makes them.

    Length-bucketed, in the order of a generator seeded with 0.
    """
    _, lengths, _ = data
    rng = np.random.default_rng(0)
    return _sequences.make_batches(lengths, BATCH_SIZE, rng)[:n_batches]


def names_and_batches(n_batches):
    """``(names, vocabulary, data, batches)``: all names, :func:`fit_batches`."""
    names = read_names(find_names())
    vocabulary = sorted(set("".join(names)))
    data = encode_names(names, vocabulary)
    return names, vocabulary, data, fit_batches(data, n_batches)


def measure_training(names, vocabulary, rounds, quick):
    """Tokens per second of every implementation and configuration."""
    n_tokens = len(vocabulary) + 2
    data = encode_names(names, vocabulary)
    codes, lengths, offsets = data
    sequences = np.split(codes, offsets[1:])
    n_batches = 8 if quick else 48
    batches = fit_batches(data, n_batches)
    batch_tokens = int(sum(lengths[b].sum() + len(b) for b in batches))
    padded = int(sum((lengths[b].max() + 1) * len(b) for b in batches))
    # The per-character loop is slow: it gets fewer names, sized by H.
    tutorial_names = {64: 400, 200: 200, 512: 60}
    torch_threads = (1, 2) if torch is not None else ()

    results = {}
    trainers = {}
    for cell, hidden in TRAIN_CONFIGS:
        entry = {}
        trainers[cell, hidden] = entry
        entry["package"] = PackageTrainer(cell, hidden, n_tokens, data)
        entry["package"].run(batches[:2])  # warm up: buffers, BLAS
        # the same step, its parts one after the other on one thread
        entry["serial"] = PackageTrainer(cell, hidden, n_tokens, data, n_threads=1)
        entry["serial"].run(batches[:2])
        entry["products"] = ProductsOnly(cell, hidden, n_tokens, data)
        entry["products"].run(batches[:2])
        if cell == "rnn":
            count = tutorial_names[hidden] // (4 if quick else 1)
            # drawn from the batches' names: the first batches are bucketed
            # by length, and one update per name is cheaper on short ones
            names_index = np.random.default_rng(0).choice(
                np.concatenate(batches), count, replace=False
            )
            entry["tutorial"] = (
                TutorialTrainer(hidden, n_tokens, sequences),
                names_index,
            )
            entry["tutorial"][0].run(names_index[:5])
        if torch_threads:
            entry["torch"] = TorchTrainer(cell, hidden, n_tokens, data)
            for threads in torch_threads:
                torch.set_num_threads(threads)
                entry["torch"].run(batches[:2])

    samples = {}
    for round_ in range(rounds):
        for cell, hidden in TRAIN_CONFIGS:
            entry = trainers[cell, hidden]
            jobs = [
                ("package", lambda e=entry: e["package"].run(batches), batch_tokens),
                ("products", lambda e=entry: e["products"].run(batches), batch_tokens),
                ("serial", lambda e=entry: e["serial"].run(batches), batch_tokens),
            ]
            if "tutorial" in entry:
                trainer, index = entry["tutorial"]
                tokens = int(lengths[index].sum() + len(index))
                jobs.append(("tutorial", lambda t=trainer, i=index: t.run(i), tokens))
            if "torch" in entry:
                for threads in (1, 2):
                    jobs.append(
                        (
                            f"torch{threads}",
                            lambda e=entry, n=threads: _torch_run(e, n, batches),
                            batch_tokens,
                        )
                    )
            shift = round_ % len(jobs)  # alternate who goes first
            for name, job, tokens in jobs[shift:] + jobs[:shift]:
                seconds, _ = timed(job)
                samples.setdefault((cell, hidden, name), []).append(tokens / seconds)
    for key, values in samples.items():
        results[key] = float(np.median(values))
    info = {
        "batches": n_batches,
        "tokens": batch_tokens,
        "padding": 1 - batch_tokens / padded,
        # rows of the recurrent products (none at the first step, whose
        # state is zero) and of the output products, batches whole
        "rows": (padded - sum(len(b) for b in batches), padded),
    }
    return results, info


def _torch_run(entry, threads, batches):
    torch.set_num_threads(threads)
    entry["torch"].run(batches)


# ---------------------------------------------------------------- sampling


def sampling_model(names, max_iter=3):
    """The model every sampler is measured with: a tanh RNN with 200 units."""
    model = CharRNNGenerator(
        hidden_size=200,
        cell="rnn",
        dropout=0.0,
        max_iter=max_iter,
        early_stopping=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(names)


class RecordingSteps:
    """A model's step interface that records the rows of every product."""

    def __init__(self, steps, shapes):
        self.steps, self.shapes = steps, shapes
        self.n_tokens = steps.n_tokens

    def start(self, n):
        return self.steps.start(n)

    def advance(self, state, tokens, parents=None):
        if state is not None:  # h @ W_h on every row it continues
            self.shapes.append(("recurrent", len(tokens)))
        return self.steps.advance(state, tokens, parents)

    def log_probs(self, state):
        self.shapes.append(("output", state.top.shape[0]))
        return self.steps.log_probs(state)


def sampling_products(model, sample):
    """Seconds the matrix products of one ``sample()`` call take alone.

    The call runs once with its step interface recorded: the rows of every
    recurrent product ``h @ W_h`` and every output product ``h @ W_y``. The
    same products, on random arrays of those shapes, then run on one BLAS
    thread with nothing between them, into arrays made once.
    """
    shapes = []
    model._steps = lambda *args, **kwargs: RecordingSteps(
        type(model)._steps(model, *args, **kwargs), shapes
    )
    try:
        sample()
    finally:
        del model._steps
    weights = {"recurrent": model.weights_["W_h0"], "output": model.weights_["W_y"]}
    rows = max(n for _, n in shapes)
    h = np.random.default_rng(0).standard_normal(
        (rows, weights["output"].shape[0]), dtype=np.float32
    )
    # into arrays made once: the products alone, without the page faults
    # of fresh arrays of ever new sizes
    out = {
        kind: np.empty((rows, w.shape[1]), np.float32) for kind, w in weights.items()
    }

    def products():
        for kind, n in shapes:
            np.matmul(h[:n], weights[kind], out=out[kind][:n])

    with threadpool_limits(limits=1, user_api="blas"):
        seconds, _ = timed(products)
    return seconds


def measure_sampling(names, rounds, quick):
    """Names per second of the three samplers, with the same weights."""
    model = sampling_model(names, max_iter=1 if quick else 3)
    n_samples = 1000 if quick else N_SAMPLES
    n_tutorial = 100 if quick else 500
    weights = tutorial.from_package(model.weights_)
    n_tokens = len(model.vocabulary_) + 2
    torch_model = None
    if torch is not None:
        torch_model = torch_baseline.TorchCharRNN("rnn", n_tokens, 200)
        torch_baseline.load_package_weights(torch_model, model.weights_)
        torch_model.eval()

    def package():
        return model.sample(n_samples, max_length=MAX_LENGTH, random_state=1)

    def tutorial_sampler():
        rng = np.random.default_rng(1)
        with limited_blas():
            return [
                tutorial.sample(weights, rng, MAX_LENGTH) for _ in range(n_tutorial)
            ]

    def torch_sampler(threads):
        torch.set_num_threads(threads)
        generator = torch.Generator().manual_seed(1)
        return torch_baseline.sample(torch_model, n_samples, MAX_LENGTH, generator)

    def package_one_core():  # the same call with one core to run on
        cores = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cores)})
        try:
            return package()
        finally:
            os.sched_setaffinity(0, cores)

    jobs = [
        ("package", package, n_samples),
        ("serial", package_one_core, n_samples),
        ("tutorial", tutorial_sampler, n_tutorial),
    ]
    if torch_model is not None:
        for threads in (1, 2):
            jobs.append(
                (f"torch{threads}", lambda n=threads: torch_sampler(n), n_samples)
            )
    for _, job, _ in jobs:  # warm up, every sampler alike
        job()
    samples, lengths = {}, {}
    for round_ in range(rounds):
        seconds = sampling_products(model, package)
        samples.setdefault("products", []).append(n_samples / seconds)
        shift = round_ % len(jobs)
        for name, job, count in jobs[shift:] + jobs[:shift]:
            seconds, drawn = timed(job)
            samples.setdefault(name, []).append(count / seconds)
            lengths[name] = float(np.mean([len(s) for s in drawn]))
    return {name: float(np.median(v)) for name, v in samples.items()}, lengths


# --------------------------------------------------------- peak and memory


def matmul_peak(n=4096, threads=None):
    """Best GFLOP/s of one ``n x n`` float32 ``np.matmul``."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ a
        best = min(timed(lambda: a @ a)[0] for _ in range(3))
    return 2 * n**3 / best / 1e9


def flops_per_token(cell, hidden_size, n_tokens, info):
    """Multiply-adds x 2 of the products computed, per real token.

    Forward: the recurrent product ``H x G*H`` and the output product
    ``H x V``; backward: twice each (gradient of the input and of the
    weights). The recurrent products run on the rows of every step but the
    first (the zero state is not multiplied), the output products on every
    row, padding included (``info["rows"]``, from the batches whole). The
    input projection is a row gather, not a product: not counted.
    """
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    H = hidden_size
    recurrent_rows, output_rows = info["rows"]
    flops = 2 * 3 * (H * G * H * recurrent_rows + H * n_tokens * output_rows)
    return flops / info["tokens"]


def measure_memory(names_file, quick):
    """Run ``fit_memory.py`` on 25%, 50% and 100% of the names."""
    fractions = (0.25, 0.5, 1.0) if not quick else (0.05, 0.1)
    epochs = 1 if quick else 3
    out = {}
    for fraction in fractions:
        result = subprocess.run(
            [
                sys.executable,
                str(HERE / "fit_memory.py"),
                str(names_file),
                "--fraction",
                str(fraction),
                "--epochs",
                str(epochs),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        out[fraction] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


# ------------------------------------------------------------------- table


def print_table(rows):
    """An reStructuredText simple table, readable as plain text."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule]
    for k, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(w) for cell, w in zip(row, widths, strict=True)
            ).rstrip()
        )
        if k == 0:
            lines.append(rule)
    lines.append(rule)
    print("\n".join(lines))


def fmt(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}x"


def main():
    parser = argparse.ArgumentParser(description="Speed benchmark (one table).")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smoke test only")
    parser.add_argument("--kernel", choices=sorted(KERNELS))
    args = parser.parse_args()
    if args.kernel is None:
        run_every_kernel(sys.argv[1:])
    else:
        measure(args)


def run_every_kernel(argv, script=__file__):
    """Run ``script`` (this one by default) once per kernel, each in a fresh
    process, with ``argv`` and ``--kernel``.

    OpenBLAS reads ``OPENBLAS_CORETYPE`` when it loads, so a kernel needs a
    process of its own.
    """
    for kernel, coretype in KERNELS.items():
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        }
        if coretype is not None:
            env["OPENBLAS_CORETYPE"] = coretype
        print(f"--- OpenBLAS kernel: {kernel}", flush=True)
        subprocess.run(
            [sys.executable, script, *argv, "--kernel", kernel], env=env, check=True
        )
        print(flush=True)


def measure(args):
    """Measure everything under the kernel this process runs; print the table."""
    rounds = 1 if args.quick else args.rounds
    started = time.perf_counter()

    names_file = find_names()
    names = read_names(names_file)
    vocabulary = sorted(set("".join(names)))
    print(f"data: {names_file.name} ({len(names):,} names)")
    print(machine_line())
    if torch is not None:
        print(f"torch {torch.__version__}: columns c1 and c2 run it on 1 and 2 threads")
    else:
        print("torch not installed: PyTorch columns skipped")
    sampling_rounds = rounds if args.quick else 3 * rounds
    print(
        f"rounds: {rounds} for training, {sampling_rounds} for sampling (median), "
        "implementations alternated each round"
    )

    peak_one = matmul_peak(threads=1)
    train, info = measure_training(names, vocabulary, rounds, args.quick)
    sampling, sample_lengths = measure_sampling(names, sampling_rounds, args.quick)
    memory = measure_memory(names_file, args.quick)

    n_tokens = len(vocabulary) + 2
    n_cores = available_cores()
    header = (
        "measurement",
        "(a) package",
        "(b) tutorial",
        "(c1) torch 1t",
        "(c2) torch 2t",
        "a / b",
        "a / best c",
        "target",
    )
    rows = [header]

    def row(label, a="", b=None, c1=None, c2=None, target="", digits=0):
        if a == "" or isinstance(a, str):
            rows.append((label, a, "", "", "", "", "", target))
            return
        cs = [c for c in (c1, c2) if c is not None]
        c = max(cs) if cs else None
        rows.append(
            (
                label,
                fmt(a, digits),
                fmt(b, digits),
                fmt(c1, digits),
                fmt(c2, digits),
                ratio(a, b),
                ratio(a, c),
                target,
            )
        )

    def bound(label, one_core, others):
        """A row of what one core's speed times the cores allows: ratios only."""
        row(label, one_core * n_cores, others[0], c1=others[1], c2=others[2])
        rows[-1] = rows[-1][:2] + ("", "", "") + rows[-1][5:]

    for cell, hidden in TRAIN_CONFIGS:
        key = (cell, hidden)
        if key == ("rnn", 200):
            target = "b >=25x, c >=2x"
        elif cell == "rnn":
            target = "b >=25x, c >=1.3x"
        else:
            target = "c >=1.3x"
        row(
            f"train {cell} H={hidden}, tokens/s",
            train[key + ("package",)],
            train.get(key + ("tutorial",)),
            train.get(key + ("torch1",)),
            train.get(key + ("torch2",)),
            target,
        )
        others = [train.get(key + (name,)) for name in ("tutorial", "torch1", "torch2")]
        bound(f"  its products alone x {n_cores}", train[key + ("products",)], others)
        bound(f"  its step on 1 thread x {n_cores}", train[key + ("serial",)], others)
    row(
        "sample(10_000), names/s",
        sampling["package"],
        sampling["tutorial"],
        sampling.get("torch1"),
        sampling.get("torch2"),
        "b >=50x, c >1x",
    )
    others = [sampling.get(name) for name in ("tutorial", "torch1", "torch2")]
    bound(f"  its products alone x {n_cores}", sampling["products"], others)
    bound(f"  its call on 1 core x {n_cores}", sampling["serial"], others)
    row(
        "  mean length drawn",
        sample_lengths["package"],
        sample_lengths["tutorial"],
        sample_lengths.get("torch1"),
        sample_lengths.get("torch2"),
        digits=2,
    )
    rows[-1] = rows[-1][:5] + ("", "", "")
    for cell in ("rnn", "lstm"):
        per_token = flops_per_token(cell, 512, n_tokens, info)
        flops = train[cell, 512, "package"] * per_token
        row(f"train {cell} H=512, GFLOP/s", f"{flops / 1e9:.1f}")
        row(
            "  of 1-thread matmul peak",
            f"{flops / 1e9 / peak_one:.0%} of {peak_one:.0f}",
        )
    full = memory[max(memory)]
    peaks = [e["peak_mb"] for e in full["epochs"]]
    row("fit(names) peak RSS, MB", f"{max(peaks):.0f}", target="< 300")
    row("  after each epoch", " / ".join(f"{p:.0f}" for p in peaks), target="flat")
    row("  before fit (imports)", f"{full['rss_before_fit_mb']:.0f}")
    per_token = {}
    for fraction, result in sorted(memory.items()):
        epoch = float(np.median([e["time"] for e in result["epochs"]]))
        per_token[fraction] = epoch / result["n_tokens"]
        row(f"fit epoch, {fraction:.0%} of names, s", f"{epoch:.2f}")
    base = per_token[max(per_token)]
    row(
        "  time per token / 100%",
        " / ".join(f"{per_token[f] / base:.2f}" for f in sorted(per_token)),
        target="1 +- 0.2",
    )
    print(
        f"training: {info['batches']} batches of {BATCH_SIZE} "
        f"({info['tokens']:,} real tokens, {info['padding']:.1%} padding) per "
        "measurement; the tutorial loop trains on the same names, fewer of them"
    )
    print(
        "fit rows: CharRNNGenerator() defaults (cell={cell}, "
        "hidden_size={hidden_size}, dropout={dropout}, "
        "early_stopping={early_stopping}), 3 epochs, median epoch, each size in "
        "a fresh process".format(**CharRNNGenerator().get_params())
    )
    print()
    print_table(rows)
    print()
    print(f"total benchmark time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
