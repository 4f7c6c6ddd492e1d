"""CharRNNGenerator: the scikit-learn face of the character RNN."""

import contextlib
import itertools
import os
import sys
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn.base
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from . import _charrnn_file, _sequences
from ._params import NumberInterval, check_epsilon, positive_int
from ._sequences import STRING
from .nn.cells import CELLS
from .nn.network import (
    _SCORE_BYTES,
    init_weights,
    is_decayed,
    sequence_log_likelihood,
)
from .nn.optim import AdamW, WeightAverage
from .nn.parallel import (
    available_cores,
    batch_loss_and_gradients,
    n_parts,
    run_all,
    split_batch,
)
from .nn.sampling import (
    beam_search,
    contains,
    generate_padded,
    sequence_hash,
    sequence_hashes,
)
from .nn.workspace import Workspace

# Sequences scored per forward pass: bounds memory, keeps products large.
_SCORE_BATCH = 512


_CONTROLLER = {"key": None, "controller": None}


def _controller():
    """A ThreadpoolController of the libraries loaded now, reused while no
    module has been imported since.

    Making one lists the loaded libraries (a millisecond or two); a library
    such as SciPy's own BLAS is loaded by an import, so a change in the
    number of imported modules (or a fork) makes a new one.
    """
    key = (os.getpid(), len(sys.modules))
    if _CONTROLLER["key"] != key:
        _CONTROLLER["controller"] = ThreadpoolController()
        _CONTROLLER["key"] = key
    return _CONTROLLER["controller"]


# Calls inside _one_blas_thread, across the threads of this process, and the
# BLAS thread count from before the first of them set it to one.
_BLAS_STATE = {"lock": threading.Lock(), "users": 0, "limiter": None, "before": None}


def _reset_blas_state():
    """In a forked child: no call is inside, and the lock is free."""
    _BLAS_STATE.update(lock=threading.Lock(), users=0, limiter=None, before=None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_blas_state)


def _blas_threads_allowed():
    """BLAS's thread counts, as they were before any call here lowered them."""
    with _BLAS_STATE["lock"]:
        if _BLAS_STATE["users"]:
            return _BLAS_STATE["before"]
    return _blas_thread_counts()


def _blas_thread_counts():
    return [
        lib.num_threads
        for lib in _controller().lib_controllers
        if lib.user_api == "blas"
    ]


def _thread_budget():
    """How many threads a call may use.

    The cores the process may run on, and no more than BLAS is allowed:
    joblib lowers that in its workers, so that ``n_jobs`` processes share
    the cores instead of each taking them all.
    """
    return max(1, min([available_cores(), *_blas_threads_allowed()]))


@contextlib.contextmanager
def _one_blas_thread():
    """Run BLAS on one thread inside fit, scoring and sampling.

    A multi-threaded BLAS may split a long sum differently with another
    thread count, so the same ``random_state`` would give different weights
    under ``n_jobs=1`` (all cores) and ``n_jobs=2`` (one core per worker).
    The products here are small: extra threads mostly wait on each other.
    The cores of the machine are used all the same, by work split in fixed
    parts that run on threads of their own (see :mod:`.nn.parallel`).

    The limit is process-wide: when calls run in several threads at once,
    the first to enter sets it and the last to leave puts back the thread
    counts from before.
    """
    state = _BLAS_STATE
    with state["lock"]:
        if state["users"] == 0:
            state["before"] = _blas_thread_counts()
            state["limiter"] = _controller().limit(limits=1, user_api="blas")
        state["users"] += 1
    try:
        yield
    finally:
        with state["lock"]:
            state["users"] -= 1
            if state["users"] == 0:
                state["limiter"].restore_original_limits()
                state["limiter"] = None


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SKLEARN_BASE = os.path.abspath(sklearn.base.__file__)


def _warn(message, category=UserWarning):
    """Warn at the user's line, not at a line of this package.

    The warning points at the first caller outside this package and outside
    scikit-learn's ``fit`` wrapper: the line that called ``fit``, ``sample``
    and so on.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or os.path.abspath(frame.f_code.co_filename) == _SKLEARN_BASE
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)


# exclude_training draws at most this many candidates per sequence asked for,
# in at most this many rounds of at most this many sequences each.
_NEW_DRAWS_PER_SAMPLE = 100
_NEW_MAX_ROUNDS = 20
_NEW_ROUND_SIZE = 8192


class CharRNNGenerator(BaseEstimator):
    """Character-level recurrent neural network that learns to write names.

    Each sequence is read one token at a time, from a start token to an end
    token; the network learns the probability of every next token. It then
    scores sequences, samples new ones and completes prefixes. Training is
    backpropagation through time on padded, masked mini-batches with AdamW.

    Likelihoods are in nats. A sequence of ``L`` characters counts ``L + 1``
    tokens: its characters and one end token.

    Parameters
    ----------
    hidden_size : int, default=512
        Number of units in each recurrent layer.

    cell : {"rnn", "gru", "lstm"}, default="lstm"
        Recurrent cell: ``"rnn"`` is the tanh RNN ``h' = tanh(x W_x + h W_h +
        b)``; ``"gru"`` and ``"lstm"`` are the gated cells, with PyTorch's
        equations.

    n_layers : int, default=1
        Number of stacked recurrent layers.

    dropout : float, default=0.4
        Probability of zeroing a unit on the output of every recurrent layer
        (between layers and before the output layer), during training only.

    max_iter : int, default=50
        Maximum number of epochs (passes over the training sequences).

    batch_size : int, default=32
        Number of sequences per mini-batch (capped at the number of
        training sequences).

    learning_rate_init : float, default=3e-3
        AdamW step size.

    weight_decay : float, default=0.01
        Decoupled weight decay, as in AdamW, applied to the weight matrices
        (not the biases): every step multiplies them by
        ``1 - learning_rate_init * weight_decay``.

    beta_1 : float, default=0.9
        Decay rate of AdamW's first-moment estimate, in [0, 1).

    beta_2 : float, default=0.999
        Decay rate of AdamW's second-moment estimate, in [0, 1).

    epsilon : float, default=1e-8
        AdamW's numerical-stability term.

    clip_norm : float or None, default=5.0
        Clip the gradients so that their global L2 norm is at most this;
        None disables clipping.

    shuffle : bool, default=True
        Shuffle the sequences at every epoch.

    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training sequences, stop when
        their score has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and keep the weights of the best epoch.

    validation_fraction : float, default=0.1
        Share of the training sequences held out for early stopping.

    n_iter_no_change : int, default=5
        Number of epochs without improvement tolerated before stopping.

    tol : float, default=1e-4
        Improvement (in nats per token) that counts as progress.

    weight_averaging : float, default=0.99
        Decay of an exponential moving average of the weights, updated after
        every optimizer step (bias-corrected, so it starts at the first
        iterate). The average is what early stopping validates and what the
        fitted model keeps; with ``early_stopping=False`` the model keeps the
        average at the last step. 0 turns averaging off (the model keeps the
        last iterate). Averaging is reset at every call to ``fit`` or
        ``partial_fit``.

    warm_start : bool, default=False
        Continue from the fitted weights, vocabulary and optimizer state when
        ``fit`` is called again.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split,
        dropout, and the default for :meth:`sample` and :meth:`complete`.
        Pass an int for reproducible models and samples.

    verbose : bool, default=False
        Print the loss, validation score and time of every epoch.

    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the weights, of training and of sampling.
        Scoring (``score``, ``score_samples`` and the validation score of
        early stopping) always computes in float64, so that a sequence's
        score does not depend on the other sequences scored with it.

    Attributes
    ----------
    vocabulary_ : dict
        Maps every token seen in fit to its index (1 to n, in sorted order).
        Index 0 is the start/end token and index n + 1 the unknown token.

    weights_ : dict of str to ndarray
        The network's weights: ``W_x{l}``, ``W_h{l}``, ``b{l}`` for every
        layer ``l``, then ``W_y`` and ``b_y``.

    n_iter_ : int
        Number of epochs run.

    t_ : int
        Number of optimizer steps taken.

    loss_curve_ : list of float
        Mean training loss per token (nats) of every epoch.

    validation_scores_ : list of float or None
        Held-out score (mean log-likelihood per token) of every epoch, when
        ``early_stopping`` is True.

    best_validation_score_ : float or None
        Best of ``validation_scores_``; its weights are the ones kept.

    best_loss_ : float
        Lowest training loss per token of any epoch.

    max_length_ : int
        Length of the longest training sequence.

    training_hashes_ : ndarray of shape (n_distinct,), dtype uint64
        Sorted 64-bit BLAKE2b hashes of the distinct training sequences (of
        their token indices), 8 bytes per sequence: what
        ``exclude_training=True`` checks generated sequences against, without
        keeping the training data. Every ``fit`` recomputes it; ``partial_fit``
        and a warm-started ``fit`` add to it.

    n_features_in_ : int
        Number of columns of X, only when fit was given a 2-D array.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, only when fit was given a DataFrame with str names.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : the training loop this one follows.
    sklearn.neighbors.KernelDensity : another generative estimator.

    Notes
    -----
    Tokens never seen in fit all map to one unknown token. Scoring a sequence
    that holds one stays finite (the model gives the unknown token a small
    probability it learned to push down), so a cross-validation fold with a
    rare character does not crash a search. :meth:`sample` never emits it,
    and :meth:`complete` refuses a prefix that holds one.

    References
    ----------
    Loshchilov, I. and Hutter, F. (2019). Decoupled weight decay
    regularization. ICLR.

    Examples
    --------
    >>> from sklearn_charrnn import CharRNNGenerator
    >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
    >>> gen = CharRNNGenerator(hidden_size=16, max_iter=5, early_stopping=False,
    ...                        random_state=0).fit(names)
    >>> gen.score_samples(["anna", "zed"]).shape
    (2,)
    >>> len(gen.sample(3))
    3
    >>> gen.complete("an").startswith("an")
    True
    """

    _parameter_constraints: dict = {
        "hidden_size": [positive_int()],
        "cell": [StrOptions(set(CELLS))],
        "n_layers": [positive_int()],
        "dropout": [NumberInterval(Real, 0, 1, closed="left")],
        "max_iter": [positive_int()],
        "batch_size": [positive_int()],
        "learning_rate_init": [NumberInterval(Real, 0, None, closed="neither")],
        "weight_decay": [NumberInterval(Real, 0, None, closed="left")],
        "beta_1": [NumberInterval(Real, 0, 1, closed="left")],
        "beta_2": [NumberInterval(Real, 0, 1, closed="left")],
        "epsilon": [NumberInterval(Real, 0, None, closed="neither")],
        "clip_norm": [NumberInterval(Real, 0, None, closed="neither"), None],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [NumberInterval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [positive_int()],
        "tol": [NumberInterval(Real, 0, None, closed="left")],
        "weight_averaging": [NumberInterval(Real, 0, 1, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "dtype": [StrOptions({"float32", "float64"})],
    }

    def _validate_params(self):
        """The constraints above, then epsilon against beta_2 and dtype."""
        super()._validate_params()
        check_epsilon(self.epsilon, self.beta_2, self.dtype)

    # Called with a dict after every epoch (the command line's progress line);
    # a hook for callers, not a parameter, so get_params and clone ignore it.
    _epoch_callback = None

    def __init__(
        self,
        hidden_size=512,
        *,
        cell="lstm",
        n_layers=1,
        dropout=0.4,
        max_iter=50,
        batch_size=32,
        learning_rate_init=3e-3,
        weight_decay=0.01,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        clip_norm=5.0,
        shuffle=True,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        weight_averaging=0.99,
        warm_start=False,
        random_state=None,
        verbose=False,
        dtype="float32",
    ):
        self.hidden_size = hidden_size
        self.cell = cell
        self.n_layers = n_layers
        self.dropout = dropout
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.clip_norm = clip_norm
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.weight_averaging = weight_averaging
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on sequences.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences: str (one character per token), or rows of
            tokens. A single column of str is read as one str per row.
            Empty strings are skipped with a warning.
        y : None
            Ignored. Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=4, random_state=0)
        >>> gen.fit(names).vocabulary_["a"]
        1
        >>> len(gen.loss_curve_) == len(gen.validation_scores_) == gen.n_iter_
        True
        """
        return self._fit(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one epoch over X, without early stopping.

        The first call fixes the vocabulary; a later call whose X holds a
        token not seen then raises a ValueError that names it.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences.
        y : None
            Ignored. Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> gen = CharRNNGenerator(hidden_size=8, random_state=0)
        >>> for epoch in range(3):
        ...     gen = gen.partial_fit(["anna", "bob", "carla", "dave"])
        >>> gen.n_iter_
        3
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        rng = check_random_state(self.random_state)
        resume = (incremental or self.warm_start) and hasattr(self, "weights_")
        if not resume:
            # Stale from an earlier fit: a 2-D X sets them again just below
            # (a one-column DataFrame of str included), a list of str has none.
            for attr in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, attr):
                    delattr(self, attr)
        sequences, kind = _sequences.check_sequences(self, X, reset=not resume)
        sequences = self._drop_empty(sequences, kind)
        if resume:
            self._check_input_kind(kind)
        else:
            self._initialize(sequences, kind, rng)
        codes, lengths = self._encode(sequences, kind)
        if resume:
            self._check_known(codes, lengths, sequences)
        self.training_hashes_ = np.union1d(
            self.training_hashes_, sequence_hashes(codes, lengths)
        )

        seed = rng.randint(np.iinfo(np.int32).max)
        gen = np.random.default_rng(seed)
        early_stopping = self.early_stopping and not incremental
        train, valid = self._split(lengths, early_stopping, gen)
        max_iter = 1 if incremental else self.max_iter
        self._optimizer.learning_rate = self.learning_rate_init
        n_threads = _thread_budget()
        with _one_blas_thread():
            self._train(
                codes, lengths, train, valid, max_iter, gen, incremental, n_threads
            )
        return self

    def _initialize(self, sequences, kind, rng):
        """Set every fitted attribute for a fresh fit."""
        tokens = _sequences.build_vocabulary(sequences, kind)
        self.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
        self.input_kind_ = kind
        n_tokens = len(tokens) + 2
        init_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        self.weights_ = init_weights(
            init_rng,
            cell=self.cell,
            n_layers=self.n_layers,
            hidden_size=self.hidden_size,
            n_tokens=n_tokens,
            dtype=np.dtype(self.dtype),
        )
        self._optimizer = AdamW(
            self.weights_,
            learning_rate=self.learning_rate_init,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            weight_decay=self.weight_decay,
            decay={name: is_decayed(name) for name in self.weights_},
        )
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.best_loss_ = np.inf
        self.max_length_ = 0
        self.training_hashes_ = np.zeros(0, dtype=np.uint64)
        self._no_improvement_count = 0

    def _split(self, lengths, early_stopping, gen):
        """Indices of the training and validation sequences."""
        n = len(lengths)
        if not early_stopping:
            return np.arange(n), None
        n_valid = int(np.ceil(self.validation_fraction * n))
        if n - n_valid < 1 or n < 2:
            raise ValueError(
                f"early_stopping needs at least 2 sequences to hold some out "
                f"for validation; got n_samples={n} (1 sample is not enough). "
                "Pass more sequences or set early_stopping=False."
            )
        order = gen.permutation(n)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def _train(
        self, codes, lengths, train, valid, max_iter, gen, incremental, n_threads
    ):
        """The epoch loop: mini-batches, AdamW, early stopping.

        A batch big enough is split in parts (their gradients add up to the
        batch's) that run on up to ``n_threads`` threads; the split depends
        on the model and the batch size only, so the weights do not depend on
        ``n_threads``.
        """
        offsets = np.cumsum(lengths) - lengths
        # batches list their rows by first token: see nn.cells on runs
        first = _sequences.first_tokens(codes, offsets, lengths)[train]
        self.max_length_ = max(self.max_length_, int(lengths.max()))
        batch_size = min(self.batch_size, len(train))
        dropout = self.dropout
        converged = False
        snapshot = {name: w.copy() for name, w in self.weights_.items()}
        optimizer_snapshot = self._optimizer_state()
        best = None
        average = (
            WeightAverage(self.weights_, self.weight_averaging)
            if self.weight_averaging
            else None
        )
        n = n_parts(self.cell, self.hidden_size, batch_size)
        # scratch arrays reused by every batch of this fit, one set per part
        works = [Workspace() for _ in range(n)]
        # dropout masks: one generator per part, seeded in order from gen
        rngs = (
            [gen]
            if n == 1
            else [np.random.default_rng(s) for s in gen.integers(2**62, size=n)]
        )
        try:
            for _ in range(max_iter):
                start = time.perf_counter()
                batches = _sequences.make_batches(
                    lengths[train],
                    batch_size,
                    gen if self.shuffle else None,
                    first=first,
                )
                total_loss, total_tokens = 0.0, 0
                for batch in batches:
                    parts = [
                        _sequences.pad_batch(codes, offsets, lengths, part)
                        for part in split_batch(train[batch], n)
                    ]
                    loss, grads, n_tok = batch_loss_and_gradients(
                        self.weights_,
                        self.cell,
                        self.n_layers,
                        parts,
                        dropout=dropout,
                        rngs=rngs,
                        works=works,
                        n_threads=n_threads,
                    )
                    # clipped inside the step; a non-finite norm updates nothing
                    norm = self._optimizer.step(
                        self.weights_, grads, works[0], max_norm=self.clip_norm
                    )
                    if not (np.isfinite(loss) and np.isfinite(norm)):
                        self._diverged(snapshot, optimizer_snapshot)
                    self.t_ += 1
                    if average is not None:
                        average.update(self.weights_)
                    total_loss += loss * n_tok
                    total_tokens += n_tok
                if not all(np.isfinite(w).all() for w in self.weights_.values()):
                    self._diverged(snapshot, optimizer_snapshot)
                snapshot = {name: w.copy() for name, w in self.weights_.items()}
                optimizer_snapshot = self._optimizer_state(optimizer_snapshot)
                self.n_iter_ += 1
                self.loss_curve_.append(total_loss / total_tokens)
                message = f"Epoch {self.n_iter_}, loss = {self.loss_curve_[-1]:.4f}"
                if valid is not None:
                    kept = snapshot if average is None else average.value()
                    score = self._mean_log_likelihood(
                        codes, lengths, valid, weights=kept
                    )
                    self.validation_scores_.append(score)
                    message += f", validation score = {score:.4f}"
                    improved = score > self.best_validation_score_ + self.tol
                    if score > self.best_validation_score_:
                        self.best_validation_score_ = score
                        best = kept
                else:
                    improved = self.loss_curve_[-1] < self.best_loss_ - self.tol
                self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
                self._no_improvement_count = (
                    0 if improved else self._no_improvement_count + 1
                )
                elapsed = time.perf_counter() - start
                if self.verbose:
                    print(f"{message}, time = {elapsed:.2f}s", flush=True)
                if self._epoch_callback is not None:
                    self._epoch_callback(
                        {
                            "n_iter": self.n_iter_,
                            "loss": self.loss_curve_[-1],
                            "validation_score": score if valid is not None else None,
                            "time": elapsed,
                        }
                    )
                if self._no_improvement_count >= self.n_iter_no_change:
                    converged = True
                    if self.verbose:
                        print(
                            f"Score did not improve by more than tol={self.tol} "
                            f"for {self.n_iter_no_change} consecutive epochs. "
                            "Stopping.",
                            flush=True,
                        )
                    break
        except KeyboardInterrupt:
            _warn(
                "Training interrupted by user; keeping the model fitted so far.",
                UserWarning,
            )
            converged = True
            if not all(np.isfinite(w).all() for w in self.weights_.values()):
                self._restore(snapshot)
                self._restore_optimizer(optimizer_snapshot)
        if best is not None:
            self._restore(best)
        elif average is not None and average.n_steps:
            self._restore(average.value())
        self._no_improvement_count = 0
        if not converged and not incremental:
            _warn(
                f"Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
            )

    def _restore(self, weights):
        for name, w in weights.items():
            self.weights_[name][...] = w

    def _optimizer_state(self, into=None):
        """A copy of AdamW's moments and step counts.

        ``into``, an earlier copy, is overwritten rather than a new one made
        (no second copy of the moments held at once).
        """
        optimizer = self._optimizer
        if into is None:
            into = {
                "m": {name: m.copy() for name, m in optimizer.m.items()},
                "v": {name: v.copy() for name, v in optimizer.v.items()},
            }
        else:
            for key in ("m", "v"):
                for name, moment in getattr(optimizer, key).items():
                    into[key][name][...] = moment
        into.update(t=optimizer.t, t_=self.t_)
        return into

    def _restore_optimizer(self, state):
        optimizer = self._optimizer
        for key in ("m", "v"):
            for name, moment in state[key].items():
                getattr(optimizer, key)[name][...] = moment
        optimizer.t = state["t"]
        self.t_ = state["t_"]

    def _diverged(self, snapshot, optimizer_snapshot):
        """Put back the last finite epoch (weights, optimizer); raise an error."""
        self._restore(snapshot)
        self._restore_optimizer(optimizer_snapshot)
        raise ValueError(
            f"Training diverged in epoch {self.n_iter_ + 1}: the loss or its "
            "gradient became non-finite. The weights of the last finite epoch "
            f"were kept. Lower learning_rate_init (now {self.learning_rate_init}) "
            f"or clip_norm (now {self.clip_norm})."
        )

    # ------------------------------------------------------------ helpers

    def _drop_empty(self, sequences, kind):
        if kind != STRING:
            return sequences
        kept = [s for s in sequences if s]
        if not kept:
            raise ValueError(
                f"X holds only empty strings ({len(sequences)} of them): "
                "expected at least one non-empty str."
            )
        n_empty = len(sequences) - len(kept)
        if n_empty:
            _warn(
                f"Skipped {n_empty} empty string{'s' * (n_empty != 1)} in X.",
                UserWarning,
            )
        return kept

    def _tokens(self):
        return list(self.vocabulary_)

    def _encode(self, sequences, kind):
        return _sequences.encode(sequences, kind, self._tokens())

    def _unknown_index(self):
        return len(self.vocabulary_) + 1

    def _check_input_kind(self, kind):
        if kind != self.input_kind_:
            fitted = "strings" if self.input_kind_ == STRING else "2-D token arrays"
            got = "strings" if kind == STRING else "a 2-D array of tokens"
            raise ValueError(f"This model was fitted on {fitted}; X is {got}.")

    def _check_known(self, codes, lengths, sequences):
        """Raise a ValueError naming the first token outside the vocabulary."""
        unknown = np.flatnonzero(codes == self._unknown_index())
        if unknown.size == 0:
            return
        row = int(np.searchsorted(np.cumsum(lengths), unknown[0], side="right"))
        position = int(unknown[0] - (np.cumsum(lengths)[row] - lengths[row]))
        token = sequences[row][position]
        raise ValueError(
            f"Token {token!r} (in sequence {row}) was not seen when the "
            "vocabulary was fixed by the first fit; the model cannot learn it."
        )

    def _validate(self, X):
        """Check X against the fitted model and encode it."""
        check_is_fitted(self)
        sequences, kind = _sequences.check_sequences(self, X, reset=False)
        self._check_input_kind(kind)
        return self._encode(sequences, kind)

    def _log_likelihoods(self, codes, lengths, index=None, weights=None):
        """Log-likelihood of each selected sequence, in batches of similar length.

        ``weights`` defaults to the fitted ``weights_``.
        """
        weights = self.weights_ if weights is None else weights
        # In float64: a float32 product may round a row differently in a
        # batch of another size, and a sequence's score should not depend on
        # which other sequences are scored with it.
        weights = {name: w.astype(np.float64) for name, w in weights.items()}
        offsets = np.cumsum(lengths) - lengths
        if index is None:
            index = np.arange(len(lengths))
        result = np.empty(len(index))
        n_threads = _thread_budget()

        def score(batch):
            def run():
                inputs, targets, mask = _sequences.pad_batch(
                    codes, offsets, lengths, index[batch]
                )
                result[batch] = sequence_log_likelihood(
                    weights,
                    self.cell,
                    self.n_layers,
                    inputs,
                    targets,
                    mask,
                    # the threads share one memory bound
                    max_bytes=_SCORE_BYTES // n_threads,
                )

            return run

        batches = _sequences.make_batches(lengths[index], _SCORE_BATCH)
        with _one_blas_thread():
            run_all([score(batch) for batch in batches], n_threads)
        return result

    def _mean_log_likelihood(self, codes, lengths, index, weights=None):
        total = self._log_likelihoods(codes, lengths, index, weights).sum()
        return float(total / (lengths[index].sum() + len(index)))

    # ------------------------------------------------------------ scoring

    def score_samples(self, X):
        """Log-likelihood of each sequence under the model.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Sequences to score.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Natural log of each sequence's probability: the sum over its
            characters and its end token of the log-probability of each
            given the ones before.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=3, early_stopping=False,
        ...                        random_state=0).fit(names)
        >>> log_likelihood = gen.score_samples(["anna", "xyz"])
        >>> log_likelihood.shape, bool((log_likelihood < 0).all())
        ((2,), True)
        """
        codes, lengths = self._validate(X)
        return self._log_likelihoods(codes, lengths)

    def score(self, X, y=None):
        """Mean log-likelihood per token over all of X: higher is better.

        This is the total log-likelihood divided by the total number of
        tokens (every character plus one end token per sequence), the
        negative of the cross-entropy in nats. ``exp(-score)`` is the
        perplexity.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Sequences to score.
        y : None
            Ignored. Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Mean log-likelihood per token, in nats.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=3, early_stopping=False,
        ...                        random_state=0).fit(names)
        >>> n_tokens = len("anna") + 1 + len("bob") + 1
        >>> total = gen.score_samples(["anna", "bob"]).sum()
        >>> bool(abs(gen.score(["anna", "bob"]) - total / n_tokens) < 1e-9)
        True
        """
        codes, lengths = self._validate(X)
        total = self._log_likelihoods(codes, lengths).sum()
        return float(total / (lengths.sum() + len(lengths)))

    # -------------------------------------------------------- persistence

    def save(self, path, *, include_optimizer=True):
        """Write the fitted model to a file that loads without pickle.

        The file is a NumPy ``.npz`` archive of the weights, the optimizer
        state and JSON metadata (hyperparameters, vocabulary, versions). It is
        written to a temporary file that then replaces ``path``, so a failed
        write leaves an existing file intact. Load it with :meth:`load`.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write (used as given; ``.npz`` is a good suffix).
        include_optimizer : bool, default=True
            Store AdamW's moments (two arrays the size of each weight), so
            that ``warm_start`` and ``partial_fit`` continue exactly.

        Raises
        ------
        ValueError
            ``Cannot save ...`` if the model would not load back: non-finite
            weights, parameters changed after ``fit`` (``cell``,
            ``n_layers``, ``hidden_size``, ``dtype``), an attribute the
            format does not know. Nothing is written.
        PermissionError
            Where ``open(path, "wb")`` would refuse. An existing file keeps
            its permissions; a new one gets what the umask allows.

        See Also
        --------
        load : Read the file back.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=2, early_stopping=False,
        ...                        random_state=0).fit(["anna", "bob", "carla"])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     gen.save(os.path.join(folder, "names.npz"))
        ...     print(os.listdir(folder))
        ['names.npz']
        """
        _charrnn_file.save(self, path, include_optimizer=include_optimizer)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`, without running any code.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        estimator : CharRNNGenerator
            The fitted model: ``score_samples`` and seeded ``sample`` give
            the same results as the saved one.

        Raises
        ------
        ModelFileError
            If the file is truncated, corrupted, holds a pickled object, or
            does not describe a valid model; nothing is loaded.

        See Also
        --------
        save : Write the file.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=2, early_stopping=False,
        ...                        random_state=0).fit(["anna", "bob", "carla"])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     gen.save(os.path.join(folder, "names.npz"))
        ...     loaded = CharRNNGenerator.load(os.path.join(folder, "names.npz"))
        >>> loaded.sample(3) == gen.sample(3)
        True
        """
        return _charrnn_file.load(cls, path)

    def __getstate__(self):
        return _charrnn_file.pickle_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_charrnn_file.unpickle_state(state, type(self).__name__))

    # --------------------------------------------------------- generation

    _generation_constraints: dict = {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "top_p": [Interval(Real, 0, 1, closed="right"), None],
        "greedy": ["boolean"],
        "min_length": [Interval(Integral, 0, None, closed="left")],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "exclude_training": ["boolean"],
        "most_likely": ["boolean"],
        "random_state": ["random_state"],
    }

    def sample(
        self,
        n_samples=1,
        *,
        temperature=1.0,
        top_k=None,
        top_p=None,
        greedy=False,
        min_length=0,
        max_length=None,
        exclude_training=False,
        random_state=None,
    ):
        """Generate new sequences, all advancing together as one batch.

        Every sequence starts from the start token and draws one token at a
        time from the network's next-token distribution, reshaped by
        ``temperature``, ``top_k`` and ``top_p``, until it draws the end token.

        Parameters
        ----------
        n_samples : int, default=1
            Number of sequences to generate.
        temperature : float, default=1.0
            Must be > 0; divides the log-probabilities before each draw.
            Lower is safer (more common characters, more names that look like
            the training ones), higher is more adventurous (more typos).
        top_k : int, default=None
            Draw only among the ``top_k`` most probable tokens at each step.
        top_p : float, default=None
            In (0, 1]: draw only among the smallest set of most probable
            tokens whose probability adds up to ``top_p`` (nucleus sampling).
        greedy : bool, default=False
            Take the most probable token at every step instead of drawing
            (``temperature``, ``top_k`` and ``top_p`` are then ignored): every
            sequence is the same. For several distinct likely sequences use
            ``complete("", n_samples=k, most_likely=True)``.
        min_length : int, default=0
            The end token cannot be drawn before a sequence holds this many
            tokens.
        max_length : int, default=None
            Stop a sequence at this many tokens even without an end token.
            None means twice the longest training sequence plus 10 (or
            ``min_length`` if that is more).
        exclude_training : bool, default=False
            Return only sequences that are not in the training data. Each
            candidate's hash is looked up in ``training_hashes_``; the draws
            go on in rounds, with a bounded number of attempts. If too few new
            sequences turn up, fewer than ``n_samples`` are returned and a
            UserWarning says how many. Returned sequences may repeat each
            other.
        random_state : int, RandomState instance or None, default=None
            Seed for the draws. None uses the estimator's ``random_state``,
            so an int there makes repeated calls return the same samples.

        Returns
        -------
        samples : list
            ``n_samples`` str, or lists of tokens for a model fitted on a
            2-D array of tokens.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=3, early_stopping=False,
        ...                        random_state=0).fit(names)
        >>> samples = gen.sample(4, temperature=0.8, max_length=12)
        >>> len(samples), all(len(s) <= 12 for s in samples)
        (4, True)
        >>> gen.sample(4, random_state=1) == gen.sample(4, random_state=1)
        True
        """
        check_is_fitted(self)
        options = self._generation_options(
            "sample",
            n_samples=n_samples,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            greedy=greedy,
            min_length=min_length,
            max_length=max_length,
            exclude_training=exclude_training,
            random_state=random_state,
        )
        results, n_drawn = self._generate([np.zeros(0, dtype=np.intp)], options)
        self._check_enough(results, [""], n_drawn, options, strict=False)
        return results[0]

    def complete(
        self,
        prefix,
        *,
        n_samples=None,
        most_likely=False,
        temperature=1.0,
        top_k=None,
        top_p=None,
        greedy=False,
        min_length=0,
        max_length=None,
        exclude_training=False,
        random_state=None,
    ):
        """Complete a prefix: sequences that start with it.

        The prefix is fed to the network one token at a time, then tokens are
        drawn until the end token, as in :meth:`sample`; or, with
        ``most_likely=True``, the most probable completions are found by beam
        search.

        Parameters
        ----------
        prefix : str or list of str
            The start of the sequence (a list of tokens for a model fitted on
            token arrays). A list of prefixes gives one result per prefix.
        n_samples : int, default=None
            Number of completions per prefix. None gives one completion (a
            str); an int gives a list of that many.
        most_likely : bool, default=False
            Return the ``n_samples`` most probable completions (found by beam
            search, so deterministic), most probable first, each as a
            ``(completion, log_likelihood)`` pair. The log-likelihood is the
            whole sequence's, prefix and end token included: what
            :meth:`score_samples` gives for it. Sampling arguments
            (``temperature``, ``top_k``, ``top_p``, ``greedy``,
            ``random_state``) do not apply.
        temperature, top_k, top_p, greedy : see :meth:`sample`
        min_length : int, default=0
            The end token is not allowed before the sequence (prefix included)
            holds this many tokens.
        max_length : int, default=None
            Stop at this many tokens (prefix included) even without an end
            token; with ``most_likely``, every completion ends there at the
            latest. None means twice the longest training sequence plus 10 (or
            ``min_length`` if that is more).
        exclude_training : bool, default=False
            Return only completions that are not in the training data (see
            :meth:`sample`). When too few turn up: with ``n_samples``, the
            list is shorter and a UserWarning says so; without it, there is no
            shorter answer, so a ValueError is raised.
        random_state : int, RandomState instance or None, default=None
            Seed for the draws; None uses the estimator's ``random_state``.

        Returns
        -------
        completion : str, list, or list of lists
            For one prefix: a str that starts with it, or with ``n_samples``
            a list of them (of pairs with ``most_likely``). For a list of
            prefixes: a list with one such result per prefix.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=3, early_stopping=False,
        ...                        random_state=0).fit(names)
        >>> gen.complete("be").startswith("be")
        True
        >>> [c.startswith("da") for c in gen.complete("da", n_samples=3)]
        [True, True, True]
        >>> best = gen.complete("an", n_samples=2, most_likely=True)
        >>> [(name[:2], bool(ll < 0)) for name, ll in best]
        [('an', True), ('an', True)]
        """
        check_is_fitted(self)
        options = self._generation_options(
            "complete",
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            greedy=greedy,
            min_length=min_length,
            max_length=max_length,
            exclude_training=exclude_training,
            most_likely=most_likely,
            random_state=random_state,
            **({} if n_samples is None else {"n_samples": n_samples}),
        )
        single = self._is_single_prefix(prefix)
        prefixes = [prefix] if single else list(prefix)
        encoded = [self._encode_prefix(p) for p in prefixes]
        options.setdefault("n_samples", 1)
        if most_likely:
            results = [self._most_likely(p, options) for p in encoded]
            n_drawn = None
        else:
            results, n_drawn = self._generate(encoded, options)
        self._check_enough(
            results, prefixes, n_drawn, options, strict=n_samples is None
        )
        if n_samples is None:
            results = [r[0] for r in results]
        return results[0] if single else results

    def _generation_options(self, caller, **options):
        """Validate the arguments of ``sample`` or ``complete``."""
        validate_parameter_constraints(
            {name: self._generation_constraints[name] for name in options},
            options,
            caller_name=f"{type(self).__name__}.{caller}",
        )
        if options["max_length"] is None:
            default = 2 * self.max_length_ + 10
            options["max_length"] = max(default, options["min_length"])
        elif options["min_length"] > options["max_length"]:
            raise ValueError(
                f"min_length={options['min_length']} is greater than "
                f"max_length={options['max_length']}: no sequence can be both."
            )
        if options.get("most_likely"):
            sampling = {
                name: options[name]
                for name, default in [
                    ("temperature", 1.0),
                    ("top_k", None),
                    ("top_p", None),
                    ("greedy", False),
                ]
                if options[name] != default
            }
            if sampling:
                raise ValueError(
                    "most_likely=True ranks completions by their probability "
                    "under the model; temperature, top_k, top_p and greedy "
                    f"only apply to sampling. Got {sampling}."
                )
        return options

    def _generate(self, prefixes, options):
        """Draw ``options["n_samples"]`` sequences for every prefix.

        Returns
        -------
        results : list of list
            The decoded sequences of each prefix; fewer than asked only with
            ``exclude_training``.
        n_drawn : ndarray of shape (n_prefixes,)
            Number of sequences drawn for each prefix.
        """
        seed = options["random_state"]
        rng = check_random_state(self.random_state if seed is None else seed)
        n_each = options["n_samples"]
        names = ("temperature", "top_k", "top_p", "greedy", "min_length", "max_length")
        sampling = {name: options[name] for name in names}
        kind, tokens = self.input_kind_, self._tokens()
        if options["exclude_training"]:
            found, n_drawn = self._generate_new(prefixes, n_each, rng, sampling)
            decoded = [[_sequences.decode(s, kind, tokens) for s in f] for f in found]
            return decoded, n_drawn
        repeated = (itertools.repeat(p, n_each) for p in prefixes)
        batch = list(itertools.chain.from_iterable(repeated))
        padded, lengths = self._draw(batch, rng, sampling)
        flat = _sequences.decode_padded(padded, lengths, kind, tokens)
        decoded = [flat[i : i + n_each] for i in range(0, len(batch), n_each)]
        return decoded, np.full(len(prefixes), n_each)

    def _draw(self, prefixes, rng, sampling):
        """Draw one sequence per prefix: a padded array and the lengths."""
        n_threads = _thread_budget()
        with _one_blas_thread():
            return generate_padded(
                self.weights_,
                self.cell,
                self.n_layers,
                prefixes,
                rng,
                banned=(self._unknown_index(),),
                n_threads=n_threads,
                **sampling,
            )

    def _generate_new(self, prefixes, n_each, rng, sampling):
        """Rejection-sample sequences outside the training set, in rounds.

        Each round draws, for every prefix still short, its missing count
        divided by the share of new sequences seen so far, within a budget of
        ``_NEW_DRAWS_PER_SAMPLE`` draws per sequence asked for (a greedy
        search gives the same sequence every time, so it gets one try).
        """
        n_prefixes = len(prefixes)
        found = [[] for _ in range(n_prefixes)]
        n_drawn = np.zeros(n_prefixes, dtype=np.int64)
        n_new = np.zeros(n_prefixes, dtype=np.int64)
        budget = n_each if sampling["greedy"] else _NEW_DRAWS_PER_SAMPLE * n_each
        for _ in range(_NEW_MAX_ROUNDS):
            missing = n_each - np.array([len(f) for f in found])  # (P,)
            share_new = (n_new + 1) / (n_drawn + 1)
            n_draw = np.ceil(1.2 * missing / share_new).astype(np.int64)
            n_draw = np.minimum(n_draw, budget - n_drawn)
            n_draw[missing == 0] = 0
            if n_draw.sum() > _NEW_ROUND_SIZE:
                n_draw = np.ceil(n_draw * _NEW_ROUND_SIZE / n_draw.sum())
                n_draw = n_draw.astype(np.int64)
            if not n_draw.any():
                break
            owner = np.repeat(np.arange(n_prefixes), n_draw)  # (D,)
            padded, lengths = self._draw([prefixes[i] for i in owner], rng, sampling)
            sequences = [row[:n] for row, n in zip(padded, lengths, strict=True)]
            hashes = [sequence_hash(s) for s in sequences]
            is_new = ~contains(self.training_hashes_, hashes)  # (D,)
            n_drawn += n_draw
            n_new += np.bincount(owner[is_new], minlength=n_prefixes)
            for i, sequence, new in zip(owner, sequences, is_new, strict=True):
                if new and len(found[i]) < n_each:
                    found[i].append(sequence)
        return found, n_drawn

    def _most_likely(self, prefix, options):
        """The most probable completions of one prefix, by beam search."""
        excluded = self.training_hashes_ if options["exclude_training"] else None
        with _one_blas_thread():
            sequences, log_probs = beam_search(
                self.weights_,
                self.cell,
                self.n_layers,
                prefix,
                options["n_samples"],
                max_length=options["max_length"],
                min_length=options["min_length"],
                banned=(self._unknown_index(),),
                excluded=excluded,
            )
        return [
            (self._decode(s), float(lp))
            for s, lp in zip(sequences, log_probs, strict=True)
        ]

    def _check_enough(self, results, prefixes, n_drawn, options, strict):
        """Warn, or raise when ``strict``, if a prefix got too few sequences."""
        n_each = options["n_samples"]
        short = [i for i, r in enumerate(results) if len(r) < n_each]
        if not short:
            return
        i = short[0]
        what = "new " if options["exclude_training"] else ""
        where = f" starting with {prefixes[i]!r}" if len(prefixes[i]) else ""
        how = "by beam search" if n_drawn is None else f"in {n_drawn[i]} draws"
        message = (
            f"Found only {len(results[i])} of {n_each} {what}sequences{where} {how}"
        )
        if options["exclude_training"]:
            message += (
                ": the others were in the training data. Raise temperature, "
                "top_k or top_p, or max_length, to reach further from it."
            )
        else:
            message += ": raise max_length or lower min_length."
        if len(short) > 1:
            message += f" ({len(short)} prefixes fell short.)"
        if strict:
            raise ValueError(message + " Pass n_samples to get a shorter list instead.")
        _warn(message, UserWarning)

    def _decode(self, sequence):
        return _sequences.decode(sequence, self.input_kind_, self._tokens())

    def _is_single_prefix(self, prefix):
        if self.input_kind_ == STRING:
            if isinstance(prefix, str):
                return True
            if isinstance(prefix, (list, tuple)) and all(
                isinstance(p, str) for p in prefix
            ):
                return False
            raise TypeError(
                f"prefix must be a str or a list of str; got {type(prefix).__name__}."
            )
        if isinstance(prefix, (list, tuple)) and all(
            isinstance(p, (list, tuple)) for p in prefix
        ):
            return False
        if isinstance(prefix, (list, tuple)):
            return True
        raise TypeError(
            "prefix must be a list of tokens or a list of such lists; "
            f"got {type(prefix).__name__}."
        )

    def _encode_prefix(self, prefix):
        unknown = [token for token in prefix if token not in self.vocabulary_]
        if unknown:
            raise ValueError(
                f"prefix {prefix!r} holds {unknown[0]!r}, which was not seen in "
                "fit: the model cannot continue from it."
            )
        return np.array([self.vocabulary_[t] for t in prefix], dtype=np.intp)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
