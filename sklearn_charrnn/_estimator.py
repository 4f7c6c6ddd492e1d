"""CharRNNGenerator: the scikit-learn face of the character RNN."""

import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from . import _charrnn_file, _persistence, _sequences
from ._generator import GeneratorMixin
from ._labels import check_labelled
from ._params import NumberInterval, check_epsilon, physical_memory, positive_int
from ._training import train
from .nn.cells import CELLS
from .nn.network import (
    RecurrentSteps,
    bind_label,
    init_weights,
    is_decayed,
    sequence_log_likelihood,
    weight_shapes,
)
from .nn.optim import AdamW
from .nn.parallel import Threads, limited_blas

# Sequences scored per forward pass, at most: bounds memory, keeps products
# large. A pass keeps every step's gates: at most about _SCORE_BYTES of them.
_SCORE_BATCH = 512
_SCORE_BYTES = 8 << 20


class CharRNNGenerator(GeneratorMixin, BaseEstimator):
    """Character-level recurrent neural network that learns to write names.

    Each sequence is read one token at a time, from a start token to an end
    token; the network learns the probability of every next token. It then
    scores sequences, samples new ones and completes prefixes. Training is
    backpropagation through time on padded, masked mini-batches with AdamW.

    Fitted with labels ``y`` (a language, a sex, a kind), it learns
    ``p(sequence | label)``: a learned embedding of the label enters the
    first layer at every step. Scoring, :meth:`sample` and :meth:`complete`
    then take the labels to work under as ``y``.

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
        layer ``l``, then ``W_y`` and ``b_y``; with labels, also the label
        embedding ``E``, one row per class.

    classes_ : ndarray of shape (n_classes,)
        The sorted distinct labels given to fit, only when fit was given
        ``y``.

    class_count_ : ndarray of shape (n_classes,)
        Number of training sequences of each label (``partial_fit`` and a
        warm-started ``fit`` add to it), only when fit was given ``y``.

    n_iter_ : int
        Number of epochs run.

    t_ : int
        Number of optimizer steps taken.

    loss_curve_ : list of float
        Mean training loss per token (nats) of every epoch.

    validation_scores_ : list of float or None
        Held-out score (mean log-likelihood per token) of every epoch, when
        ``early_stopping`` is True (of every epoch since it was set, for a
        model fitted without it and continued with ``warm_start``).

    best_validation_score_ : float or None
        Best of ``validation_scores_``; its weights are the ones kept.

    best_loss_ : float
        Lowest training loss per token of any epoch.

    max_length_ : int
        Length of the longest training sequence.

    input_kind_ : {"str", "tokens"}
        The form of input fit was given: ``"str"`` for strings (sequences
        of characters), ``"tokens"`` for a 2-D array of tokens. Scoring and
        ``partial_fit`` expect the same form, and generated sequences come
        back in it (strings, or lists of tokens).

    training_hashes_ : ndarray of shape (n_distinct,), dtype uint64
        Sorted 64-bit BLAKE2b hashes of the distinct training sequences (of
        their token indices), 8 bytes per sequence: what
        ``exclude_training=True`` checks generated sequences against, without
        keeping the training data. Every ``fit`` recomputes it; ``partial_fit``
        and a warm-started ``fit`` add to it. With labels, each sequence is
        hashed tagged with its label, so that a label's samples are checked
        against the training sequences of that label only.

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
    >>> gen = CharRNNGenerator(hidden_size=16, max_iter=1000, tol=1e-3, dropout=0.0,
    ...                        early_stopping=False, random_state=0).fit(names)
    >>> gen.score_samples(["anna", "zed"]).shape
    (2,)
    >>> len(gen.sample(3))
    3
    >>> gen.complete("an").startswith("an")
    True

    With labels, it learns names of a kind:

    >>> labelled = CharRNNGenerator(hidden_size=16, max_iter=100,
    ...                             early_stopping=False, random_state=0)
    >>> labelled = labelled.fit(["anna", "emma", "sato", "suzuki"],
    ...                         ["en", "en", "ja", "ja"])
    >>> labelled.classes_.tolist()
    ['en', 'ja']
    >>> len(labelled.sample(3, y="ja")), labelled.score_samples(["sato"], y="ja").shape
    (3, (1,))
    """

    # The "?" of the HTML repr links to this class's page of the API
    # reference. The site is built locally and has no public address, so the
    # link is relative: it resolves on every page of the built site that
    # shows a repr (the gallery, the API pages), opened from disk or served.
    _doc_link_module = "sklearn_charrnn"
    _doc_link_template = "../generated/{estimator_module}.{estimator_name}.html"

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
            Empty strings are skipped with a warning (with their labels).
        y : array-like of shape (n_samples,), default=None
            A label per sequence: the model then learns ``p(sequence |
            label)`` and keeps the sorted labels in ``classes_``. None
            learns one model of all sequences, without labels.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, random_state=0)
        >>> gen.fit(names).vocabulary_["a"]
        1
        >>> len(gen.loss_curve_) == len(gen.validation_scores_) == gen.n_iter_
        True
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one epoch over X, without early stopping.

        The first call fixes the vocabulary and the labels; a later call
        whose X holds a token, or whose y a label, not seen then raises a
        ValueError that names it.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences.
        y : array-like of shape (n_samples,), default=None
            A label per sequence, as in :meth:`fit`: given to every call, or
            to none.

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
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, incremental):
        rng = check_random_state(self.random_state)
        with self._as_before_if_refused():  # checks first, then training
            resume = (incremental or self.warm_start) and hasattr(self, "weights_")
            if not resume:
                self._forget_input()
            sequences, kind, labels = self._training_data(X, y, resume)
            if resume:
                self._check_input_kind(kind)
                self._check_architecture()
            else:
                self._initialize(sequences, kind, rng)
            codes, lengths = self._encode(sequences, kind)
            if resume:
                self._check_known(codes, lengths, sequences)
            self._add_training_hashes(codes, lengths, labels)

            seed = rng.randint(np.iinfo(np.int32).max)
            gen = np.random.default_rng(seed)
            early_stopping = self.early_stopping and not incremental
            train_index, valid = self._split(lengths, early_stopping, gen)
            max_iter = 1 if incremental else self.max_iter
            if early_stopping and self.validation_scores_ is None:
                # fitted without early stopping until now: its scores start here
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        self._apply_optimizer_settings()
        with limited_blas() as n_threads:
            train(
                self,
                codes,
                lengths,
                train_index,
                valid,
                max_iter,
                gen,
                incremental,
                n_threads,
                labels,
            )
        return self

    def _initialize(self, sequences, kind, rng):
        """Set every fitted attribute for a fresh fit."""
        tokens = _sequences.build_vocabulary(sequences, kind)
        self.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
        self.input_kind_ = kind
        n_tokens = len(tokens) + 2
        self._check_size(n_tokens)
        init_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        self.weights_ = init_weights(
            init_rng,
            cell=self.cell,
            n_layers=self.n_layers,
            hidden_size=self.hidden_size,
            n_tokens=n_tokens,
            dtype=np.dtype(self.dtype),
            n_classes=len(getattr(self, "classes_", ())),
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

    def _apply_optimizer_settings(self):
        """The optimizer's settings are the parameters' now, as ``set_params``
        left them; its moments and step count carry on."""
        optimizer = self._optimizer
        optimizer.learning_rate = self.learning_rate_init
        optimizer.beta_1, optimizer.beta_2 = self.beta_1, self.beta_2
        optimizer.epsilon, optimizer.weight_decay = self.epsilon, self.weight_decay

    def _split(self, lengths, early_stopping, gen):
        """Indices of the training and validation sequences."""
        n = len(lengths)
        if not early_stopping:
            return np.arange(n), None
        n_valid = int(np.ceil(self.validation_fraction * n))
        if n < 2:
            raise ValueError(
                f"early_stopping needs at least 2 sequences to hold some out "
                f"for validation; got n_samples={n} (1 sample is not enough). "
                "Pass more sequences or set early_stopping=False."
            )
        if n_valid >= n:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} holds out all "
                f"{n} sequences for early stopping, leaving none to train on: "
                "lower it, or set early_stopping=False."
            )
        order = gen.permutation(n)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    # ------------------------------------------------------------ helpers

    def _encode(self, sequences, kind):
        return _sequences.encode(sequences, kind, self._tokens())

    def _check_size(self, n_tokens):
        """Refuse, before allocating, a network that cannot fit in memory.

        Training holds the weights, their gradients and AdamW's two moments:
        four copies, in float64 while initialising.
        """
        shapes = weight_shapes(
            cell=self.cell,
            n_layers=self.n_layers,
            hidden_size=self.hidden_size,
            n_tokens=n_tokens,
            n_classes=len(getattr(self, "classes_", ())),
        )
        n_weights = sum(math.prod(shape) for shape in shapes.values())
        needed = 4 * 8 * n_weights
        available = physical_memory()
        if available is not None and needed > available:
            raise ValueError(
                f"hidden_size={self.hidden_size} with n_layers={self.n_layers} "
                f"and {n_tokens} tokens makes {n_weights:,} weights; training "
                f"needs about {needed / 2**30:,.1f} GiB, more than this "
                f"machine's {available / 2**30:,.1f} GiB. Lower hidden_size."
            )

    def _fitted_architecture(self):
        """``cell``, ``n_layers``, ``hidden_size`` and ``dtype`` of ``weights_``."""
        W_h = self.weights_["W_h0"]
        return {
            "cell": self._fitted_cell(),
            "n_layers": self._n_layers(),
            "hidden_size": W_h.shape[0],
            "dtype": W_h.dtype.name,
        }

    def _check_architecture(self):
        """Refuse to continue training weights of another architecture.

        Scoring and generation use the fitted weights whatever the
        parameters say now; ``partial_fit`` and ``warm_start`` cannot.
        """
        for name, fitted in self._fitted_architecture().items():
            if getattr(self, name) != fitted:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} was set after fit, but the "
                    f"fitted weights have {name}={fitted!r}: partial_fit and "
                    f"warm_start continue the fitted network. Set {name}="
                    f"{fitted!r} back, or fit a new model (warm_start=False)."
                )

    def _steps(self, dtype=None, label=None):
        """The fitted network's step interface (:mod:`.generation`).

        In ``dtype`` when given (float64 for scores), else the model's own.
        A model fitted with labels needs ``label``, an index of
        ``classes_``: the network then reads that label at every step.
        """
        weights = self.weights_
        if dtype is not None:
            weights = {name: w.astype(dtype) for name, w in weights.items()}
        if ("E" in weights) != (label is not None):
            check_labelled(self, label, 1, "label")  # says which was expected
        if label is not None:
            weights = bind_label(weights, label)
        return RecurrentSteps(weights, self._fitted_cell(), self._n_layers())

    def _fitted_cell(self):
        """The cell of the fitted weights (``cell`` may have been set since)."""
        n_gates = self.weights_["W_h0"].shape[1] // self.weights_["W_h0"].shape[0]
        by_gates = {cell.n_gates: name for name, cell in CELLS.items()}
        return by_gates[n_gates]

    def _n_layers(self):
        """The number of layers of the fitted weights."""
        return sum(name.startswith("W_h") for name in self.weights_)

    def _log_likelihoods(
        self, codes, lengths, index=None, weights=None, n_threads=None, labels=None
    ):
        """Log-likelihood of each selected sequence, in batches of similar length.

        In float64, so that a score is the same, up to rounding, whichever
        other sequences it is computed with. ``weights`` defaults to the
        fitted ``weights_``. Without ``n_threads`` (inside another call),
        BLAS is limited here. ``labels`` gives every sequence's class index
        (all of them, not only the selected ones) for a conditional model.
        """
        if n_threads is None:
            with limited_blas() as n_threads:
                return self._log_likelihoods(
                    codes, lengths, index, weights, n_threads, labels
                )
        weights = self.weights_ if weights is None else weights
        weights = {name: w.astype(np.float64) for name, w in weights.items()}
        cell, n_layers = self._fitted_cell(), self._n_layers()
        offsets = np.cumsum(lengths) - lengths
        index = np.arange(len(lengths)) if index is None else index
        result = np.empty(len(index))
        row_bytes = 8 * CELLS[cell].n_gates * weights["W_y"].shape[0]

        def score(batch):
            def run():
                inputs, targets, mask = _sequences.pad_batch(
                    codes, offsets, lengths, index[batch]
                )
                batch_labels = None if labels is None else labels[index[batch]]
                result[batch] = sequence_log_likelihood(
                    weights, cell, n_layers, inputs, targets, mask, batch_labels
                )

            return run

        longest = int(lengths[index].max(initial=1)) + 1
        size = int(np.clip(_SCORE_BYTES // (row_bytes * longest), 1, _SCORE_BATCH))
        batches = _sequences.make_batches(lengths[index], size)
        with Threads(n_threads) as threads:
            threads.run_all([score(batch) for batch in batches])
        return result

    def _class_log_likelihoods(self, codes, lengths):
        """``log p(sequence | label)`` of every sequence under every label.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples, n_classes)
        """
        result = np.empty((len(lengths), len(self.classes_)))
        with limited_blas() as n_threads:
            for c in range(len(self.classes_)):
                labels = np.full(len(lengths), c)
                result[:, c] = self._log_likelihoods(
                    codes, lengths, n_threads=n_threads, labels=labels
                )
        return result

    def _label_scores(self, codes, lengths, labels):
        """Log-likelihood of every sequence under its label (a class index)."""
        return self._log_likelihoods(codes, lengths, labels=labels)

    def _mean_log_likelihood(
        self, codes, lengths, index, weights=None, n_threads=None, labels=None
    ):
        total = self._log_likelihoods(
            codes, lengths, index, weights, n_threads, labels
        ).sum()
        return float(total / (lengths[index].sum() + len(index)))

    # ------------------------------------------------------------ scoring

    def score_samples(self, X, y=None):
        """Log-likelihood of each sequence under the model.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Sequences to score.
        y : label or array-like of shape (n_samples,), default=None
            For a model fitted with labels (and only then): the label to
            score every sequence under, one for all or one each; the
            result is then ``log p(sequence | label)``. None, for a model
            fitted with labels, scores under the mixture of every label
            weighted by its training frequency (``class_count_``):
            ``log sum_c p(c) p(sequence | c)``.

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
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, tol=1e-3, dropout=0.0,
        ...                        early_stopping=False, random_state=0).fit(names)
        >>> log_likelihood = gen.score_samples(["anna", "xyz"])
        >>> log_likelihood.shape, bool((log_likelihood < 0).all())
        ((2,), True)
        """
        codes, lengths = self._validate(X)
        return self._scores(codes, lengths, y)

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
        y : label or array-like of shape (n_samples,), default=None
            The labels to score under, for a model fitted with labels (see
            :meth:`score_samples`: None scores under their mixture); must be
            None for a model fitted without.

        Returns
        -------
        score : float
            Mean log-likelihood per token, in nats.

        Examples
        --------
        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, tol=1e-3, dropout=0.0,
        ...                        early_stopping=False, random_state=0).fit(names)
        >>> n_tokens = len("anna") + 1 + len("bob") + 1
        >>> total = gen.score_samples(["anna", "bob"]).sum()
        >>> bool(abs(gen.score(["anna", "bob"]) - total / n_tokens) < 1e-9)
        True
        """
        codes, lengths = self._validate(X)
        total = self._scores(codes, lengths, y).sum()
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
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, tol=1e-3, dropout=0.0,
        ...                        early_stopping=False, random_state=0)
        >>> gen = gen.fit(["anna", "bob", "carla"])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     gen.save(os.path.join(folder, "names.npz"))
        ...     print(os.listdir(folder))
        ['names.npz']
        """
        _persistence.save_fitted(
            _charrnn_file, self, path, include_optimizer=include_optimizer
        )

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
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, tol=1e-3, dropout=0.0,
        ...                        early_stopping=False, random_state=0)
        >>> gen = gen.fit(["anna", "bob", "carla"])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     gen.save(os.path.join(folder, "names.npz"))
        ...     loaded = CharRNNGenerator.load(os.path.join(folder, "names.npz"))
        >>> loaded.sample(3) == gen.sample(3)
        True
        """
        return _persistence.load_fitted(_charrnn_file, cls, path)

    def __getstate__(self):
        return _charrnn_file.pickle_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_charrnn_file.unpickle_state(state, type(self).__name__))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
