"""KneserNeyGenerator: the scikit-learn face of the Kneser-Ney n-gram."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import _ngram_file, _persistence, _sequences
from .._generator import GeneratorMixin
from .._labels import check_labelled
from .._params import NumberInterval
from .._persistence import VersionedPickleMixin
from . import kneser_ney

# The largest order: fit's time and memory grow with it (order 64 on the
# 32,033 bundled names: about 7 s and 43 MiB of n-grams; order 100,000 on 16
# names ran for minutes), and names need far less (order="auto" tries up to 10).
MAX_ORDER = 64
# order="auto" tries these orders on held-out sequences.
AUTO_ORDERS = range(2, 11)
# Below this many sequences order="auto" holds none out and takes this order.
MIN_AUTO_SEQUENCES = 10
SMALL_DATA_ORDER = 3
VALIDATION_FRACTION = 0.1
# Fitted only with labels.
LABELLED = _ngram_file.LABELLED
# The attribute of a fit with labels that holds each field of
# kneser_ney.ClassTables.
CLASS_TABLES = {
    "discounts": "discounts_",
    "log_probs": "log_probs_",
    "transitions": "transitions_",
    "start": "start_node_",
    "class_discounts": "class_discounts_",
    "class_probs": "class_probs_",
    "class_backoff": "class_backoff_",
    "class_transitions": "class_transitions_",
    "class_starts": "class_start_nodes_",
    "class_offsets": "class_offsets_",
}


class KneserNeyGenerator(VersionedPickleMixin, GeneratorMixin, BaseEstimator):
    """Character n-gram with interpolated modified Kneser-Ney smoothing.

    Each token is predicted from the ``order - 1`` tokens before it, with
    the counts of every shorter context mixed in (interpolation), down to a
    uniform distribution over all tokens, so that every token, the end
    token and the unknown one included, has a nonzero probability. Fitting
    is counting: no training loop, a fraction of a second on a few thousand
    names. It is the model to reach for on tiny lists and when no training
    time is wanted.

    Likelihoods are in nats. A sequence of ``L`` characters counts ``L + 1``
    tokens: its characters and one end token.

    Parameters
    ----------
    order : int or "auto", default="auto"
        Length of the n-grams (the context is ``order - 1`` tokens), from 2
        to ``MAX_ORDER`` (64): fit's time and memory grow with the order,
        and names need far less. ``"auto"`` holds out a tenth of the training sequences
        (drawn with ``random_state``), scores the orders 2, 3, ... 10
        counted on the rest (stopping once two orders in a row do not beat
        the best), keeps the best, and counts all the sequences at that
        order. With fewer than 10 sequences it takes order 3.

    discount : float in (0, 1] or "auto", default="auto"
        ``"auto"``: Chen and Goodman's modified discounts, three per order
        (``D1``, ``D2``, ``D3+`` for n-grams seen once, twice, three times
        or more), estimated in closed form from the training counts; where
        the counts cannot estimate one (no n-gram of an order seen ``r + 1``
        times), 0.5, 1 or 1.5 instead (the values of KenLM's fallback). A
        float: that one discount for every order and count (interpolated
        Kneser-Ney).

    random_state : int, RandomState instance or None, default=None
        Draws the held-out sequences of ``order="auto"``. Pass an int for a
        reproducible choice.

    Attributes
    ----------
    vocabulary_ : dict
        Maps every token seen in fit to its index (1 to n, in sorted order).
        Index 0 is the start/end token and index n + 1 the unknown token.

    input_kind_ : {"str", "tokens"}
        Whether fit was given strings or a 2-D array of tokens.

    order_ : int
        The order used.

    order_scores_ : dict of int to float or None
        With ``order="auto"`` and enough sequences: the held-out score
        (nats per token) of every order tried. None otherwise.

    discounts_ : ndarray of shape (n_orders, 3)
        Row ``k - 1``: the discounts ``D1, D2, D3+`` of the n-grams of
        length ``k``; ``n_orders`` is ``order_``.

    ngrams_ : ndarray of shape (n_ngrams, n_orders), dtype intp
        Every distinct n-gram seen (token indices; the context before a
        sequence is boundary tokens, 0), sorted; ``n_orders`` is ``order_``.

    ngram_counts_ : ndarray of shape (n_ngrams,), dtype int64
        How often each was seen: the counts ``partial_fit`` adds to.

    log_probs_ : ndarray of shape (n_nodes, n_tokens)
        The compiled model: one row per context seen in fit (of length 0 to
        ``order_ - 1``), the log-probability of every next token.

    transitions_ : ndarray of shape (n_nodes, n_tokens), dtype int32
        Row ``s``: the context (row of ``log_probs_``) after reading each
        token in context ``s``: the longest suffix seen in fit.

    start_node_ : int
        The row of ``log_probs_`` before the first token of a sequence.

    classes_ : ndarray of shape (n_classes,)
        The sorted distinct labels given to fit, only when fit was given
        ``y``. With labels, ``ngrams_``, ``ngram_counts_``, ``discounts_``,
        ``log_probs_``, ``transitions_`` and ``start_node_`` describe the
        model of all labels (the model a fit without labels makes), and the
        attributes below each label's.

    class_count_ : ndarray of shape (n_classes,)
        Number of training sequences of each label, only with labels.

    ngram_class_counts_ : ndarray of shape (n_ngrams, n_classes), dtype int64
        How often each n-gram was seen with each label, only with labels.

    class_discounts_ : ndarray of shape (n_classes, n_orders, 3)
        Each label's discounts, from its own counts, only with labels.

    class_probs_ : ndarray of shape (n_class_nodes, n_tokens)
        The labels' compiled models, one block of rows per label, only with
        labels: one row per context the label saw, the part of every next
        token's probability that comes from the label's own counts.

    class_backoff_ : ndarray of shape (n_class_nodes,)
        The rest of each row's probability, only with labels: the weight of
        the model of all labels, read after the whole history (its row of
        ``log_probs_``). See :ref:`labels`.

    class_transitions_ : ndarray of shape (n_class_nodes, n_tokens), dtype int32
        As ``transitions_``, in the labels' blocks, only with labels.

    class_start_nodes_ : ndarray of shape (n_classes,), dtype int64
        The row of ``class_probs_`` where each label's sequences start, only
        with labels.

    class_offsets_ : ndarray of shape (n_classes + 1,), dtype int64
        Label ``c``'s block: rows ``class_offsets_[c]`` to
        ``class_offsets_[c + 1]`` (excluded) of ``class_probs_``, only with
        labels.

    max_length_ : int
        Length of the longest training sequence.

    training_hashes_ : ndarray of shape (n_distinct,), dtype uint64
        Sorted 64-bit hashes of the distinct training sequences, as in
        :class:`~sklearn_charrnn.CharRNNGenerator`.

    n_features_in_ : int
        Number of columns of X, only when fit was given a 2-D array.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, only when fit was given a DataFrame with str names.

    See Also
    --------
    CharRNNGenerator : the recurrent network, with the same face.

    Notes
    -----
    For a context ``h`` of ``k - 1`` tokens and a token ``w``::

        p_k(w | h) = max(c_k(h w) - D_k(c_k(h w)), 0) / c_k(h .)
                     + gamma_k(h) p_{k-1}(w | h[1:])
        gamma_k(h) = (D_k1 N_1(h .) + D_k2 N_2(h .) + D_k3+ N_3+(h .)) / c_k(h .)
        p_0(w) = 1 / V

    ``c_k(h .)`` sums ``c_k(h w)`` over ``w``, ``N_r(h .)`` counts the
    tokens ``w`` with ``c_k(h w) = r`` (at least 3 for ``N_3+``) and ``V``
    is the number of tokens (the boundary and the unknown one included).
    ``c_k`` is the raw count for ``k = order_``; below, it is the number of
    distinct tokens seen before ``h w`` (the continuation count), except
    for n-grams that begin at the start of a sequence, which keep their raw
    counts since nothing comes before the start. A context never seen skips
    its level (``p_k = p_{k-1}``). The discounts are
    ``D_r = r - (r + 1) Y n_{r+1} / n_r`` with ``Y = n_1 / (n_1 + 2 n_2)``
    and ``n_r`` the number of n-grams of the level with count ``r``.

    Fit compiles the model into a table of the whole next-token
    distribution of every context seen and a table of transitions between
    contexts, so scoring is a look-up per token.

    Fitted with labels, every label ``c`` gets its own interpolated
    modified Kneser-Ney model of its own counts (its own discounts), over
    the shared vocabulary, from the bigram level up; below that it does not
    fall to the uniform distribution but to the model of all labels after
    the whole history: ``p(w | history, c) = a_c(w | h_c) + g_c(h_c)
    p_all(w | h)``, where ``h_c`` is the longest suffix of the history that
    the label saw, ``h`` the longest that any label saw, ``a_c`` the
    label's discounted counts down its chain of contexts and ``g_c(h_c)``
    the probability they leave. A label with a few dozen names then borrows
    the spelling of all the others where its own counts are thin, in the
    longest context they know. On the surnames' held-out split this scores
    -1.8098 nats/token against -1.8230 for one model per language, and gains
    up to 0.56 on the languages with fewer than 100 names
    (``benchmarks/ngram_labels.py``).

    Tokens never seen in fit all map to one unknown token, which keeps the
    uniform share of probability: scoring a sequence that holds one stays
    finite.

    References
    ----------
    Chen, S. F. and Goodman, J. (1999). An empirical study of smoothing
    techniques for language modeling. Computer Speech and Language, 13(4),
    359-394.

    Examples
    --------
    >>> from sklearn_charrnn import KneserNeyGenerator
    >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
    >>> gen = KneserNeyGenerator(order=3).fit(names)
    >>> gen.order_, gen.discounts_.shape
    (3, (3, 3))
    >>> bool(gen.score_samples(["anna"])[0] > gen.score_samples(["nnaa"])[0])
    True
    """

    _parameter_constraints: dict = {
        "order": [
            Interval(Integral, 2, MAX_ORDER, closed="both"),
            StrOptions({"auto"}),
        ],
        "discount": [NumberInterval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "random_state": ["random_state"],
    }

    def __init__(self, *, order="auto", discount="auto", random_state=None):
        self.order = order
        self.discount = discount
        self.random_state = random_state

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Count the n-grams of X and compile the model.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences: str (one character per token), or rows of
            tokens. A single column of str is read as one str per row.
            Empty strings are skipped with a warning.
        y : array-like of shape (n_samples,), default=None
            A label per sequence: the model then learns ``p(sequence |
            label)`` (see Notes) and keeps the sorted labels in
            ``classes_``; ``order="auto"`` scores each held-out sequence
            under its label. None fits today's model of all sequences.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> from sklearn_charrnn import KneserNeyGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = KneserNeyGenerator(order=3).fit(names)
        >>> gen.vocabulary_["a"], gen.ngrams_.shape[1]
        (1, 3)
        >>> labelled = KneserNeyGenerator(order=3).fit(
        ...     ["anna", "emma", "sato", "suzuki"], ["en", "en", "ja", "ja"])
        >>> labelled.classes_.tolist(), len(labelled.sample(2, y="ja"))
        (['en', 'ja'], 2)
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the n-gram counts of X to the model's.

        The first call fixes the vocabulary and the order (``order="auto"``
        chooses it on that call's sequences); a later call whose X holds a
        token not seen then raises a ValueError that names it. The
        discounts are estimated again from all the counts. Fitting ``A``
        then ``B`` with ``partial_fit`` gives the model of ``A + B`` at the
        same order.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences.
        y : array-like of shape (n_samples,), default=None
            A label per sequence, as in :meth:`fit`: given to every call, or
            to none. The first call fixes the labels; a label not seen then
            raises a ValueError that names it.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> from sklearn_charrnn import KneserNeyGenerator
        >>> gen = KneserNeyGenerator(order=2).partial_fit(["anna", "bob"])
        >>> int(gen.ngram_counts_.sum())  # 4 + 1 and 3 + 1 tokens
        9
        >>> int(gen.partial_fit(["nab"]).ngram_counts_.sum())
        13
        """
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, incremental):
        with self._as_before_if_refused():  # counted whole, or not at all
            resume = incremental and hasattr(self, "ngrams_")
            if not resume:
                self._forget_input(*LABELLED)
            sequences, kind, labels = self._training_data(X, y, resume)
            if resume:
                self._check_input_kind(kind)
            else:
                tokens = _sequences.build_vocabulary(sequences, kind)
                self.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
                self.input_kind_ = kind
            codes, lengths = _sequences.encode(sequences, kind, self._tokens())
            if resume:
                self._check_known(codes, lengths, sequences)
            else:
                self.order_, self.order_scores_ = self._choose_order(
                    codes, lengths, labels
                )
                self.max_length_ = 0
                self.training_hashes_ = np.zeros(0, dtype=np.uint64)
            windows = kneser_ney.ngram_windows(codes, lengths, self.order_)
            if labels is None:
                self._add_counts(windows, resume)
            else:
                self._add_class_counts(windows, np.repeat(labels, lengths + 1), resume)
            self.max_length_ = max(self.max_length_, int(lengths.max()))
            self._add_training_hashes(codes, lengths, labels)
        return self

    def _add_counts(self, windows, resume):
        """Count the windows (added to the counts so far) and compile."""
        if resume:
            windows = np.concatenate([self.ngrams_, windows])
            counts = np.concatenate(
                [self.ngram_counts_, np.ones(len(windows) - len(self.ngrams_), int)]
            )
            ngrams, counts = kneser_ney.aggregate_windows(windows, counts)
        else:
            ngrams, counts = kneser_ney.aggregate_windows(windows)
        self._set_model(ngrams, counts)

    def _add_class_counts(self, windows, classes, resume):
        """Count the windows per label (added to the counts so far), compile."""
        n_classes = len(self.classes_)
        counts = None
        if resume:
            rows, columns = np.nonzero(self.ngram_class_counts_)
            old = self.ngram_class_counts_[rows, columns]
            windows = np.concatenate([self.ngrams_[rows], windows])
            classes = np.concatenate([columns, classes])
            counts = np.concatenate([old, np.ones(len(windows) - len(old), int)])
        ngrams, class_counts = kneser_ney.class_ngram_counts(
            windows, classes, n_classes, counts
        )
        self.ngrams_, self.ngram_class_counts_ = ngrams, class_counts
        self.ngram_counts_ = class_counts.sum(axis=1)
        tables = kneser_ney.class_tables(
            ngrams, class_counts, self._n_tokens(), self._discount()
        )
        for field, value in tables._asdict().items():
            setattr(self, CLASS_TABLES[field], value)

    def _discount(self):
        return None if self.discount == "auto" else float(self.discount)

    def _choose_order(self, codes, lengths, labels=None):
        """The order to use, and the held-out score of each order tried.

        With labels, each held-out sequence is scored under its label.
        """
        if self.order != "auto":
            return int(self.order), None
        n = len(lengths)
        if n < MIN_AUTO_SEQUENCES:
            return SMALL_DATA_ORDER, None
        rng = check_random_state(self.random_state)
        n_valid = int(np.ceil(VALIDATION_FRACTION * n))
        held_out = np.zeros(n, dtype=bool)
        held_out[rng.permutation(n)[:n_valid]] = True
        owner = np.repeat(held_out, lengths)  # (total_length,)
        train = (codes[~owner], lengths[~held_out])
        valid = (codes[owner], lengths[held_out])
        if labels is None:
            scores = kneser_ney.order_scores(
                train, valid, self._n_tokens(), AUTO_ORDERS, self._discount()
            )
        else:
            scores = kneser_ney.class_order_scores(
                (*train, labels[~held_out]),
                (*valid, labels[held_out]),
                self._n_tokens(),
                len(self.classes_),
                AUTO_ORDERS,
                self._discount(),
            )
        return max(scores, key=scores.get), scores

    def _set_model(self, ngrams, counts):
        self.ngrams_, self.ngram_counts_ = ngrams, counts
        (
            self.discounts_,
            self.log_probs_,
            self.transitions_,
            self.start_node_,
        ) = kneser_ney.fit_tables(ngrams, counts, self._n_tokens(), self._discount())

    # ------------------------------------------------------------ helpers

    def _tokens(self):
        return list(self.vocabulary_)

    def _n_tokens(self):
        return len(self.vocabulary_) + 2

    def _steps(self, dtype=None, label=None):
        """The step interface of the fitted model (float64 whatever ``dtype``).

        A model fitted with labels needs ``label``, an index of
        ``classes_``: the steps then start at that label's start node and
        walk the label's automaton beside the model of all labels.

        Returns
        -------
        steps : KneserNeySteps or LabelSteps
            Without labels, its state is an intp array of rows of
            ``log_probs_``; with labels, an intp array of shape (n, 2) of
            rows of ``class_probs_`` and of ``log_probs_``.
        """
        check_is_fitted(self)
        if hasattr(self, "classes_") != (label is not None):
            check_labelled(self, label, 1, "label")  # says which was expected
        if label is None:
            return kneser_ney.KneserNeySteps(
                self.log_probs_, self.transitions_, self.start_node_
            )
        return kneser_ney.LabelSteps(self._class_tables(), label)

    def _class_tables(self):
        """The fitted labels' tables, as :func:`kneser_ney.class_tables` gives."""
        return kneser_ney.ClassTables(
            **{field: getattr(self, name) for field, name in CLASS_TABLES.items()}
        )

    def _class_log_likelihoods(self, codes, lengths):
        """``log p(sequence | label)`` of every sequence under every label.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples, n_classes)
        """
        n = len(lengths)
        return np.column_stack(
            [
                self._label_scores(codes, lengths, np.full(n, c))
                for c in range(len(self.classes_))
            ]
        )

    def _label_scores(self, codes, lengths, labels):
        """Log-likelihood of every sequence under its label (a class index)."""
        if labels is not None:
            return kneser_ney.label_log_likelihoods(
                self._class_tables(), labels, codes, lengths
            )
        steps = self._steps()
        return kneser_ney.sequence_log_likelihoods(
            steps, steps.start(len(lengths)), codes, lengths
        )

    # ------------------------------------------------------------ scoring

    def score_samples(self, X, y=None):
        """Log-likelihood of each sequence under the model.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Sequences to score.
        y : label or array-like of shape (n_samples,), default=None
            For a model fitted with labels (and only then): the label to
            score every sequence under, one for all or one each. None, for a
            model fitted with labels, scores under the mixture of every label
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
        >>> from sklearn_charrnn import KneserNeyGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = KneserNeyGenerator(order=3).fit(names)
        >>> log_likelihood = gen.score_samples(["anna", "xyz"])
        >>> log_likelihood.shape, bool(log_likelihood[0] > log_likelihood[1])
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
            :meth:`score_samples`); must be None for one fitted without.

        Returns
        -------
        score : float
            Mean log-likelihood per token, in nats.

        Examples
        --------
        >>> from sklearn_charrnn import KneserNeyGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = KneserNeyGenerator(order=3).fit(names)
        >>> n_tokens = len("anna") + 1 + len("bob") + 1
        >>> total = gen.score_samples(["anna", "bob"]).sum()
        >>> bool(abs(gen.score(["anna", "bob"]) - total / n_tokens) < 1e-12)
        True
        """
        codes, lengths = self._validate(X)
        total = self._scores(codes, lengths, y).sum()
        return float(total / (lengths.sum() + len(lengths)))

    # -------------------------------------------------------- persistence

    def save(self, path):
        """Write the fitted model to a file that loads without pickle.

        The file is a NumPy ``.npz`` archive of the n-gram counts, the
        compiled tables and JSON metadata (hyperparameters, vocabulary,
        versions), in the format of :meth:`CharRNNGenerator.save`. It is
        written to a temporary file that then replaces ``path``, so a failed
        write leaves an existing file intact. Load it with :meth:`load` or
        :func:`~sklearn_charrnn.load_model`.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write (used as given; ``.npz`` is a good suffix).

        Raises
        ------
        ValueError
            ``Cannot save ...`` if the model would not load back (parameters
            changed after ``fit`` that contradict the tables, an attribute
            the format does not know). Nothing is written.
        PermissionError
            Where ``open(path, "wb")`` would refuse.

        See Also
        --------
        load : Read the file back.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn_charrnn import KneserNeyGenerator
        >>> gen = KneserNeyGenerator(order=3).fit(["anna", "bob", "carla"])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     gen.save(os.path.join(folder, "names.npz"))
        ...     print(os.listdir(folder))
        ['names.npz']
        """
        _persistence.save_fitted(_ngram_file, self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`, without running any code.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        estimator : KneserNeyGenerator
            The fitted model: ``score_samples`` and seeded ``sample`` give
            the same results as the saved one.

        Raises
        ------
        ModelFileError
            If the file is truncated, corrupted, holds a pickled object, or
            does not describe a valid model (a transition or token out of
            range, log-probabilities that are not finite or do not sum to
            1, discounts out of range, ...); nothing is loaded.

        See Also
        --------
        save : Write the file.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn_charrnn import KneserNeyGenerator
        >>> gen = KneserNeyGenerator(order=3).fit(["anna", "bob", "carla"])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     gen.save(os.path.join(folder, "names.npz"))
        ...     loaded = KneserNeyGenerator.load(os.path.join(folder, "names.npz"))
        >>> loaded.sample(3, random_state=0) == gen.sample(3, random_state=0)
        True
        """
        return _persistence.load_fitted(_ngram_file, cls, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
