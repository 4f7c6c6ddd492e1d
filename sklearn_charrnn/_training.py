"""The epoch loop: mini-batches, AdamW steps, convergence and early stopping.

:func:`train` runs the epochs of one call to ``fit`` or ``partial_fit`` for
a :class:`~sklearn_charrnn.CharRNNGenerator`, reading its parameters and
updating its fitted attributes; :class:`Monitor` decides when to stop, as
scikit-learn's ``MLPClassifier`` does.
"""

import time
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _sequences
from ._generator import warn
from ._signals import held_interrupts
from .nn.cells import CELLS
from .nn.network import loss_and_gradients
from .nn.optim import WeightAverage
from .nn.parallel import Threads, n_parts, split_rows
from .nn.workspace import Workspace


class Monitor:
    """Stop when the tracked number has not improved by ``tol`` for a while.

    With early stopping it tracks the validation score (higher is better),
    otherwise the training loss (lower is better), like ``MLPClassifier``.

    Parameters
    ----------
    estimator : CharRNNGenerator
        Its ``tol`` and ``n_iter_no_change``; its ``best_loss_``,
        ``best_validation_score_`` and ``_no_improvement_count`` are updated.
    early_stopping : bool
    """

    def __init__(self, estimator, early_stopping):
        self.estimator, self.early_stopping = estimator, early_stopping
        self.best_weights = None

    def update(self, loss, score=None, weights=None):
        """Record one epoch; return True when training should stop."""
        est = self.estimator
        if self.early_stopping:
            improved = score > est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_weights = weights
        else:
            improved = loss < est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, loss)
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        return est._no_improvement_count >= est.n_iter_no_change

    def message(self):
        """Why training stopped, for ``verbose``."""
        est = self.estimator
        what = "Validation score" if self.early_stopping else "Training loss"
        return (
            f"{what} did not improve by more than tol={est.tol} for "
            f"{est.n_iter_no_change} consecutive epochs. Stopping."
        )


def batch_loss_and_gradients(
    weights, cell, n_layers, parts, *, dropout, rngs, works, threads, labels=None
):
    """Loss and gradients of one batch given in parts.

    Each part (a slice of a batch, padded on its own) runs through
    :func:`~.nn.network.loss_and_gradients` normalised by the token count of
    the whole batch, so that the parts' losses and gradients add up to the
    batch's whatever the threads that run them.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    parts : list of tuple of ndarray
        ``(inputs, targets, mask)`` of every part (:func:`~._sequences.pad_batch`).
    dropout : float
    rngs, works : list
        One dropout generator and one :class:`~.nn.workspace.Workspace` per
        part; the gradients returned live in the first workspace.
    threads : Threads
    labels : list of ndarray, default=None
        The class index of every sequence of every part, for a conditional
        network.

    Returns
    -------
    loss : float
        Mean negative log-likelihood per real token of the batch.
    grads : dict of str to ndarray
    n_tokens : int
        Real tokens in the batch.
    """
    n_tokens = int(sum(np.count_nonzero(mask) for _, _, mask in parts))
    labels = [None] * len(parts) if labels is None else labels
    functions = [
        partial(
            loss_and_gradients,
            weights,
            cell,
            n_layers,
            *part,
            dropout,
            rng,
            work,
            n_total=n_tokens,
            labels=part_labels,
        )
        for part, rng, work, part_labels in zip(
            parts, rngs, works, labels, strict=False
        )
    ]
    results = threads.run_all(functions)
    loss, grads = results[0]
    for other_loss, other_grads in results[1:]:
        loss += other_loss
        for name, g in grads.items():
            g += other_grads[name]
    return loss, grads, n_tokens


class _Snapshot:
    """A copy of the weights and the optimizer state at the end of an epoch."""

    def __init__(self, estimator):
        self.weights = {n: w.copy() for n, w in estimator.weights_.items()}
        optimizer = estimator._optimizer
        self.m = {n: m.copy() for n, m in optimizer.m.items()}
        self.v = {n: v.copy() for n, v in optimizer.v.items()}
        self.t, self.t_ = optimizer.t, estimator.t_

    def restore(self, estimator):
        for name, w in self.weights.items():
            estimator.weights_[name][...] = w
        optimizer = estimator._optimizer
        for name in self.m:
            optimizer.m[name][...] = self.m[name]
            optimizer.v[name][...] = self.v[name]
        optimizer.t, estimator.t_ = self.t, self.t_


# A batch whose loss exceeds this many times log(V), the loss of a model
# that gives every token 1/V, has diverged even though it stays finite: a
# learning rate far too high on a short list reaches 1e6 nats per token and
# more, while a model trained further on names far from what it knows
# starts at a few tens (16 nats per token with log V = 1.4, in a test).
_DIVERGED_LOSS = 100


def _diverged(estimator, snapshot, what="the loss or its gradient became non-finite"):
    """Put back the last sane epoch (weights, optimizer); raise an error."""
    snapshot.restore(estimator)
    raise ValueError(
        f"Training diverged in epoch {estimator.n_iter_ + 1}: {what}. The "
        "weights of the epoch before were kept. Lower learning_rate_init (now "
        f"{estimator.learning_rate_init}) or clip_norm (now {estimator.clip_norm})."
    )


def _epoch(est, data, train, batch_size, gen, snapshot, context):
    """One pass over the training sequences; returns the mean loss per token."""
    codes, lengths, offsets, labels = data
    batches = _sequences.make_batches(
        lengths[train], batch_size, gen if est.shuffle else None
    )
    total_loss, total_tokens = 0.0, 0
    for batch in batches:
        rows = split_rows(train[batch], context["n_parts"])
        parts = [_sequences.pad_batch(codes, offsets, lengths, part) for part in rows]
        loss, grads, n_tokens = batch_loss_and_gradients(
            est.weights_,
            est.cell,
            est.n_layers,
            parts,
            dropout=est.dropout,
            rngs=context["rngs"],
            works=context["works"],
            threads=context["threads"],
            labels=None if labels is None else [labels[part] for part in rows],
        )
        with held_interrupts():
            # clipped inside the step; a non-finite norm updates nothing
            norm = est._optimizer.step(
                est.weights_, grads, context["works"][0], max_norm=est.clip_norm
            )
            est.t_ += int(np.isfinite(norm))
            if context["average"] is not None:
                context["average"].update(est.weights_)
        _check_step(est, snapshot, loss, norm)
        total_loss += loss * n_tokens
        total_tokens += n_tokens
    if not all(np.isfinite(w).all() for w in est.weights_.values()):
        _diverged(est, snapshot)
    return total_loss / total_tokens


def _uniform_loss(est):
    """``log V``: the loss per token of a model that gives every token 1/V."""
    return np.log(est.weights_["W_y"].shape[1])


def _check_step(est, snapshot, loss, norm):
    """Diverged if a batch's loss or gradient norm is not finite, or its
    loss far above that of knowing nothing (:data:`_DIVERGED_LOSS`)."""
    if not (np.isfinite(loss) and np.isfinite(norm)):
        _diverged(est, snapshot)
    uniform = _uniform_loss(est)
    if loss > _DIVERGED_LOSS * uniform:
        _diverged(
            est,
            snapshot,
            f"the loss of a batch reached {loss:.3g} nats per token, more than "
            f"{_DIVERGED_LOSS} times the {uniform:.3g} of a model that gives every "
            "token the same probability",
        )


def _context(est, batch_size, gen, n_threads):
    """What every batch of one call needs: parts, their rngs and scratch."""
    row_work = CELLS[est.cell].n_gates * est.hidden_size**2
    n = n_parts(batch_size, row_work)
    # dropout masks: one generator per part, seeded in order from gen
    rngs = [gen]
    if n > 1:
        rngs = [np.random.default_rng(s) for s in gen.integers(2**62, size=n)]
    average = None
    if est.weight_averaging:
        average = WeightAverage(est.weights_, est.weight_averaging)
    return {
        "n_parts": n,
        "rngs": rngs,
        "works": [Workspace() for _ in range(n)],
        "threads": Threads(min(n, n_threads)),
        "average": average,
    }


def _report(est, loss, score, elapsed):
    """The verbose line and the epoch callback of one epoch."""
    if est.verbose:
        message = f"Epoch {est.n_iter_}, loss = {loss:.4f}"
        if score is not None:
            message += f", validation score = {score:.4f}"
        print(f"{message}, time = {elapsed:.2f}s", flush=True)
    if est._epoch_callback is not None:
        est._epoch_callback(
            {
                "n_iter": est.n_iter_,
                "loss": loss,
                "validation_score": score,
                "time": elapsed,
            }
        )


def train(
    est, codes, lengths, train, valid, max_iter, gen, incremental, n_threads, labels
):
    """The epoch loop of one call to ``fit`` or ``partial_fit``.

    A batch big enough is cut in parts (their gradients add up to the
    batch's) that run on up to ``n_threads`` threads; the cut depends on the
    model and the batch size only, so the weights do not depend on
    ``n_threads``. An interrupted fit (Ctrl-C) keeps every whole step taken.

    Parameters
    ----------
    est : CharRNNGenerator
    codes, lengths : ndarray
        The encoded sequences (:func:`~._sequences.encode`).
    train, valid : ndarray of int, or None for valid
        Indices of the training and validation sequences.
    max_iter : int
    gen : numpy.random.Generator
    incremental : bool
        ``partial_fit``: no convergence warning.
    n_threads : int
    labels : ndarray of shape (n_samples,) or None
        The class index of every sequence, for a conditional network.
    """
    offsets = np.cumsum(lengths) - lengths
    data = (codes, lengths, offsets, labels)
    est.max_length_ = max(est.max_length_, int(lengths.max()))
    batch_size = min(est.batch_size, len(train))
    context = _context(est, batch_size, gen, n_threads)
    monitor = Monitor(est, valid is not None)
    snapshot = _Snapshot(est)
    converged = False
    # divergence is caught and explained below, without NumPy's warnings
    with context["threads"], np.errstate(over="ignore", invalid="ignore"):
        try:
            for _ in range(max_iter):
                start = time.perf_counter()
                loss = _epoch(est, data, train, batch_size, gen, snapshot, context)
                snapshot = _Snapshot(est)
                score, kept = None, None
                if valid is not None:
                    kept = _averaged_or_current(est, context["average"])
                    score = est._mean_log_likelihood(
                        codes, lengths, valid, kept, n_threads, labels
                    )
                # an epoch's records all at once, and every score recorded is
                # one the monitor saw; an epoch interrupted before them has
                # none (it keeps its whole steps, as a part of an epoch does)
                with held_interrupts():
                    est.n_iter_ += 1
                    est.loss_curve_.append(loss)
                    if valid is not None:
                        est.validation_scores_.append(score)
                    stop = monitor.update(loss, score, kept)
                _report(est, loss, score, time.perf_counter() - start)
                if stop:
                    converged = True
                    if est.verbose:
                        print(monitor.message(), flush=True)
                    break
        except KeyboardInterrupt:
            warn(
                "Training interrupted by user; keeping the model fitted so far.",
                UserWarning,
            )
            if not all(np.isfinite(w).all() for w in est.weights_.values()):
                snapshot.restore(est)
            converged = True
    _keep_best(est, monitor, context["average"])
    est._no_improvement_count = 0
    if incremental:
        return
    if not converged:
        warn(
            f"Maximum iterations ({est.max_iter}) reached and the "
            "optimization hasn't converged yet.",
            ConvergenceWarning,
        )
    _warn_if_useless(est, valid is not None)


def _warn_if_useless(est, validated):
    """Warn when the kept model is far worse than knowing nothing: its loss
    (validation loss with early stopping) above twice log V."""
    if not est.loss_curve_:
        return
    uniform = _uniform_loss(est)
    what, loss = "training", est.loss_curve_[-1]
    if validated:
        what, loss = "validation", -est.best_validation_score_
    if loss > 2 * uniform:
        warn(
            f"The fitted model's {what} loss, {loss:.3g} nats per token, is more "
            f"than twice the {uniform:.3g} of a model that gives every token the "
            "same probability: it predicts worse than knowing nothing (a "
            f"learning_rate_init too high, now {est.learning_rate_init}, or, "
            "warm-started, too few epochs on sequences far from what it knew).",
            UserWarning,
        )


def _averaged_or_current(est, average):
    """The weights validation scores: the running average when there is one."""
    if average is None:
        return {name: w.copy() for name, w in est.weights_.items()}
    return average.value()


def _keep_best(est, monitor, average):
    """Keep the best validated weights, or else the running average."""
    best = monitor.best_weights
    if best is None and average is not None and average.n_steps:
        best = average.value()
    if best is not None:
        for name, w in best.items():
            est.weights_[name][...] = w
