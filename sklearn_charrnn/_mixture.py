"""GeneratorMixture: generators mixed token by token."""

import inspect
import re
from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from . import _mixture_file, _persistence, _sequences
from ._generator import GeneratorMixin
from ._labels import check_labelled, label_indices, short_repr
from ._params import real_numbers
from ._persistence import VersionedPickleMixin
from .generation import token_log_probs

# Below this many sequences weights="auto" holds none out: equal weights.
_MIN_AUTO_SEQUENCES = 10


def em_weights(log_probs, *, max_iter=1000, tol=1e-10):
    """Mixture weights that maximise the likelihood of held-out tokens, by EM.

    Parameters
    ----------
    log_probs : ndarray of shape (n_tokens, n_components)
        Log-probability of every held-out token under every component.
    max_iter : int, default=1000
    tol : float, default=1e-10
        Stop when an iteration raises the mean log-likelihood by less.

    Returns
    -------
    weights : ndarray of shape (n_components,)
        Non-negative, summing to 1.
    curve : list of float
        The mean log-likelihood per token before each iteration: EM never
        lowers it.

    Raises
    ------
    ValueError
        When a log-probability is NaN or above 0, or a token has probability
        0 under every component: no weights give it a finite likelihood.
    """
    n, k = log_probs.shape
    if np.isnan(log_probs).any() or (log_probs > 0).any():
        column = int(np.flatnonzero((np.isnan(log_probs) | (log_probs > 0)).any(0))[0])
        raise ValueError(
            f"Estimator {column} of the mixture gave held-out tokens "
            "log-probabilities that are NaN or above 0: expected numbers <= 0 "
            "(-inf for a token that cannot come)."
        )
    impossible = np.flatnonzero(~np.isfinite(log_probs).any(axis=1))
    if impossible.size:  # -inf under every weighting: EM would give NaN
        raise ValueError(
            f"No estimator gives a probability above 0 to {impossible.size} of "
            f"the {n} held-out tokens (the first is token {impossible[0]} of "
            "them): the mixture cannot weigh its estimators on them. Give "
            "fixed weights, or estimators that give every token a probability."
        )
    weights = np.full(k, 1.0 / k)
    curve = []
    for _ in range(max_iter):
        with np.errstate(divide="ignore"):
            joint = log_probs + np.log(weights)  # (n, k)
        total = logsumexp(joint, axis=1)  # (n,)
        curve.append(float(total.mean()))
        weights = np.exp(joint - total[:, None]).mean(axis=0)  # responsibilities
        if len(curve) > 1 and curve[-1] - curve[-2] < tol:
            break
    return weights / weights.sum(), curve


class MixtureSteps:
    """The step interface of a mixture: ``p = sum_k w_k p_k``, token by token.

    Parameters
    ----------
    components : list of step interfaces
    token_maps : list of ndarray of shape (V,) of int
        For every component, its index of each of the mixture's tokens (its
        unknown token for one it never saw).
    weights : ndarray of shape (n_components,)
    """

    def __init__(self, components, token_maps, weights):
        self.components, self.token_maps = components, token_maps
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(np.asarray(weights, dtype=np.float64))
        self.n_tokens = len(token_maps[0])

    def start(self, n):
        """State of ``n`` sequences that have read the start token."""
        return tuple(component.start(n) for component in self.components)

    def advance(self, state, tokens, parents=None):
        """Every component's state advanced by the tokens it knows them as."""
        return tuple(
            component.advance(s, token_map[tokens], parents)
            for component, s, token_map in zip(
                self.components, state, self.token_maps, strict=True
            )
        )

    def log_probs(self, state):
        """``log sum_k w_k p_k(token)`` of every mixture token: ``(n, V)``.

        A token a component never saw gets that component's unknown-token
        probability; each row is normalised again, so that such tokens share
        it rather than count it twice.
        """
        mixed = logsumexp(
            [
                log_w + np.asarray(component.log_probs(s), np.float64)[:, token_map]
                for component, s, token_map, log_w in zip(
                    self.components,
                    state,
                    self.token_maps,
                    self.log_weights,
                    strict=True,
                )
            ],
            axis=0,
        )  # (n, V)
        return mixed - logsumexp(mixed, axis=1, keepdims=True)


def _default_estimators():
    from ._estimator import CharRNNGenerator
    from .ngram import KneserNeyGenerator

    return [("rnn", CharRNNGenerator()), ("ngram", KneserNeyGenerator())]


class GeneratorMixture(
    VersionedPickleMixin, GeneratorMixin, _BaseComposition, BaseEstimator
):
    """Generators mixed token by token: the next-token probabilities of
    several generators, weighted and added.

    Every component reads the same sequence; at every step the mixture's
    probability of the next token is ``sum_k w_k p_k(token | tokens so
    far)``. Models that make different mistakes correct each other: a
    recurrent network and a Kneser-Ney n-gram together score held-out names
    better than either alone. Several :class:`CharRNNGenerator` with
    different seeds form an ensemble.

    Likelihoods are in nats. A sequence of ``L`` characters counts ``L + 1``
    tokens: its characters and one end token.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples, default=None
        The generators to mix, each with a name. Each is cloned and fitted
        on the training sequences. None means
        ``[("rnn", CharRNNGenerator()), ("ngram", KneserNeyGenerator())]``;
        as with scikit-learn's ``None`` defaults, their parameters are not
        the mixture's: pass that list to set them (``rnn__hidden_size``) or
        to search over them.

    weights : "auto" or array-like of shape (n_estimators,), default="auto"
        ``"auto"``: the weights that maximise the likelihood of held-out
        sequences, found by EM (see Notes). An array: fixed weights,
        normalised to sum to 1.

    validation_fraction : float, default=0.1
        Share of the training sequences held out to fit ``weights="auto"``.

    random_state : int, RandomState instance or None, default=None
        Draws the held-out sequences, and seeds every component whose own
        ``random_state`` is None, so that an int makes the whole mixture
        reproducible.

    Attributes
    ----------
    estimators_ : list of estimators
        The components, fitted on all the training sequences.

    named_estimators_ : Bunch
        The fitted components by name.

    weights_ : ndarray of shape (n_estimators,)
        The mixture weights, summing to 1.

    em_curve_ : list of float or None
        With ``weights="auto"``: the held-out mean log-likelihood per token
        before each EM iteration (never lower than the one before).

    vocabulary_ : dict
        Maps every token seen in fit to its index (1 to n, in sorted order).

    input_kind_ : {"str", "tokens"}
        Whether fit was given strings or a 2-D array of tokens.

    classes_ : ndarray of shape (n_classes,)
        The sorted distinct labels given to fit, only when fit was given
        ``y``.

    class_count_ : ndarray of shape (n_classes,)
        Number of training sequences of each label, only when fit was given
        ``y``.

    max_length_ : int
        Length of the longest training sequence.

    training_hashes_ : ndarray of uint64
        Sorted hashes of the training sequences (for ``exclude_training``),
        with labels each tagged with its label.

    n_features_in_ : int
        Number of columns of X, when fit was given a 2-D array.

    See Also
    --------
    CharRNNGenerator : A recurrent network; the best single model on long
        lists.
    KneserNeyGenerator : A Kneser-Ney n-gram; fits in a second.

    Notes
    -----
    With ``weights="auto"`` fit holds out ``validation_fraction`` of the
    training sequences (drawn with ``random_state``), fits a clone of every
    component on the rest, and runs EM on the held-out tokens: the weights
    are those that maximise ``sum_t log sum_k w_k p_k(token_t)``, with no
    component scored on a sequence it was trained on. It then fits the
    components on all the sequences and keeps those weights. This costs a
    second fit of every component. With fewer than 10 sequences the weights
    are equal, and so they are when, with labels, no held-out sequence has a
    label the other sequences hold.

    Fitted with labels ``y``, every component learns ``p(sequence |
    label)`` and the mixture is ``p(token | tokens so far, label) = sum_k
    w_k p_k(token | tokens so far, label)``, with one weight vector for all
    labels (EM on the held-out sequences, each scored under its own label).
    ``sample``, ``complete``, ``score_samples`` and ``score`` then take
    ``y`` as :class:`CharRNNGenerator`'s do.

    Examples
    --------
    >>> from sklearn_charrnn import GeneratorMixture, KneserNeyGenerator
    >>> from sklearn_charrnn.datasets import load_dinosaurs
    >>> mixture = GeneratorMixture(
    ...     [("bigram", KneserNeyGenerator(order=2)),
    ...      ("ngram", KneserNeyGenerator())],
    ...     random_state=0,
    ... ).fit(load_dinosaurs()[:300])
    >>> float(mixture.weights_.sum())
    1.0
    >>> len(mixture.sample(3))
    3
    """

    _parameter_constraints: dict = {
        "estimators": [list, None],
        "weights": [StrOptions({"auto"}), "array-like"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimators=None,
        *,
        weights="auto",
        validation_fraction=0.1,
        random_state=None,
    ):
        self.estimators = estimators
        self.weights = weights
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def get_params(self, deep=True):
        """Get the parameters, the components' ones as ``name__param``.

        Parameters
        ----------
        deep : bool, default=True
            Also return the components and their parameters.

        Returns
        -------
        params : dict
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set the parameters, the components' ones as ``name__param``.

        Parameters
        ----------
        **params : dict
            Parameter names and values; ``name__param`` sets the parameter
            ``param`` of the component called ``name``.

        Returns
        -------
        self : GeneratorMixture
        """
        self._set_params("estimators", **params)
        return self

    def fit(self, X, y=None):
        """Fit every component and the mixture weights.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences, as :meth:`CharRNNGenerator.fit` takes them.
        y : array-like of shape (n_samples,), default=None
            A label per sequence: every component is then fitted with the
            labels and learns ``p(sequence | label)`` (a component that
            cannot take labels is a ValueError), and the mixture keeps the
            sorted labels in ``classes_``. The weights are one vector for
            all labels, fitted on held-out sequences each scored under its
            own label. None fits without labels.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        with self._as_before_if_refused():  # a refused fit changes nothing
            return self._fit(X, y)

    def _fit(self, X, y):
        named = self._named_estimators()
        rng = check_random_state(self.random_state)
        self._forget_input()
        if y is not None:
            _check_take_labels(named)
        sequences, kind, labels = self._training_data(X, y, resume=False)
        tokens = _sequences.build_vocabulary(sequences, kind)
        self.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
        self.input_kind_ = kind
        codes, lengths = _sequences.encode(sequences, kind, tokens)
        self.max_length_ = int(lengths.max())
        self.training_hashes_ = np.zeros(0, dtype=np.uint64)
        self._add_training_hashes(codes, lengths, labels)
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(named))
        components = [
            (name, _seeded(e, s)) for (name, e), s in zip(named, seeds, strict=True)
        ]
        y_fit = None if labels is None else self.classes_[labels]
        if isinstance(self.weights, str):
            self.weights_, self.em_curve_ = self._auto_weights(
                components, sequences, rng, y_fit
            )
        else:
            self.weights_, self.em_curve_ = self._fixed_weights(len(named)), None
        fit_args = () if y_fit is None else (y_fit,)
        self.estimators_ = _fit_clones(
            components, sequences, fit_args, self.estimators is None
        )
        self.named_estimators_ = Bunch(
            **{name: e for (name, _), e in zip(named, self.estimators_, strict=True)}
        )
        return self

    def _named_estimators(self):
        named = _default_estimators() if self.estimators is None else self.estimators
        if not named:
            raise ValueError("estimators is empty: expected at least one generator.")
        for item in named:
            if not (
                isinstance(item, (tuple, list))
                and len(item) == 2
                and isinstance(item[0], str)
            ):
                raise TypeError(
                    "estimators must be a list of (name, generator) pairs with "
                    f"str names; got an item {type(item).__name__} "
                    f"{short_repr(item)}."
                )
        names = [name for name, _ in named]
        if len(set(names)) != len(names):
            raise ValueError(f"estimators must have distinct names; got {names}.")
        # as scikit-learn's ensembles: no name of a parameter, no "__"
        self._validate_names(names)
        for name, estimator in named:
            if not hasattr(estimator, "_steps"):
                raise TypeError(
                    f"Estimator {name!r} ({type(estimator).__name__}) is not a "
                    "generator of this package: it has no step interface."
                )
        return named

    def _fixed_weights(self, n):
        weights = real_numbers(self.weights)
        if (
            weights is None
            or weights.shape != (n,)
            or not np.isfinite(weights).all()
            or (weights < 0).any()
            or weights.max() == 0
        ):
            raise ValueError(
                f"weights must be 'auto' or {n} non-negative numbers (int or "
                f"float), not all zero, one per estimator; got {self.weights!r}."
            )
        weights = weights / weights.max()  # a sum of huge weights would overflow
        return weights / weights.sum()

    def _auto_weights(self, components, sequences, rng, labels=None):
        """EM weights on held-out sequences, components fitted on the rest.

        With ``labels``, each held-out sequence is scored under its label;
        one whose label the rest does not hold is left out.
        """
        n = len(sequences)
        k = len(components)
        if n < _MIN_AUTO_SEQUENCES or k == 1:
            return np.full(k, 1.0 / k), None
        n_valid = int(np.ceil(self.validation_fraction * n))
        if n_valid >= n:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} holds out all "
                f"{n} sequences, leaving none to fit the estimators on: lower it, "
                "or give fixed weights."
            )
        order = rng.permutation(n)
        train, valid = np.sort(order[n_valid:]), np.sort(order[:n_valid])
        if labels is None:
            fit_args, groups = (), [(valid, None)]
        else:
            fit_args, seen = (labels[train],), np.unique(labels[train])
            groups = [
                (valid[labels[valid] == label], label)
                for label in np.intersect1d(labels[valid], seen)
            ]
            if not groups:  # every held-out label is missing from the rest
                return np.full(k, 1.0 / k), None
        note = (
            f"This fit was on {len(train)} of the {n} sequences: the mixture "
            "holds the others out to weigh its estimators."
        )
        fitted = _fit_clones(
            components,
            _rows(sequences, train),
            fit_args,
            self.estimators is None,
            note=note,
        )
        log_probs = np.column_stack(
            [
                np.concatenate(
                    [
                        _token_log_probs(e, _rows(sequences, index), label)
                        for index, label in groups
                    ]
                )
                for e in fitted
            ]
        )  # (n_tokens, k)
        return em_weights(log_probs)

    def _steps(self, dtype=None, label=None):
        """The mixture's step interface (:mod:`.generation`).

        A mixture fitted with labels needs ``label``, an index of
        ``classes_``: every component then steps under that label.
        """
        check_is_fitted(self)
        if hasattr(self, "classes_") != (label is not None):
            check_labelled(self, label, 1, "label")  # says which was expected
        value = None if label is None else self.classes_[label]
        tokens = self._tokens()
        return MixtureSteps(
            [_component_steps(e, dtype, value) for e in self.estimators_],
            [_token_map(tokens, e) for e in self.estimators_],
            self.weights_,
        )

    def _class_log_likelihoods(self, codes, lengths):
        """``log p(sequence | label)`` of every sequence under every label.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples, n_classes)
        """
        return np.column_stack(
            [
                self._label_scores(codes, lengths, np.full(len(lengths), c))
                for c in range(len(self.classes_))
            ]
        )

    def _label_scores(self, codes, lengths, labels):
        """Log-likelihood of every sequence under its label (an index)."""
        if labels is None:
            per_token = token_log_probs(self._steps(np.float64), codes, lengths)
            return _sums(per_token, lengths)
        result = np.empty(len(lengths))
        for label in np.unique(labels):
            index = np.flatnonzero(labels == label)
            group = codes[np.repeat(labels == label, lengths)]
            steps = self._steps(np.float64, label=int(label))
            per_token = token_log_probs(steps, group, lengths[index])
            result[index] = _sums(per_token, lengths[index])
        return result

    def score_samples(self, X, y=None):
        """Log-likelihood of each sequence under the mixture.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Sequences to score.
        y : label or array-like of shape (n_samples,), default=None
            For a mixture fitted with labels (and only then): the label to
            score every sequence under, one for all or one each. None, for a
            mixture fitted with labels, scores under the mixture of every
            label weighted by its training frequency (``class_count_``):
            ``log sum_c p(c) p(sequence | c)``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Natural log of each sequence's probability: the sum over its
            characters and its end token of the log of the mixed probability
            of each given the ones before.
        """
        codes, lengths = self._validate(X)
        return self._scores(codes, lengths, y)

    def score(self, X, y=None):
        """Mean log-likelihood per token over all of X: higher is better.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Sequences to score.
        y : label or array-like of shape (n_samples,), default=None
            The labels to score under, for a mixture fitted with labels (see
            :meth:`score_samples`); must be None for one fitted without.

        Returns
        -------
        score : float
            Total log-likelihood divided by the number of tokens (characters
            plus one end token per sequence), in nats.
        """
        codes, lengths = self._validate(X)
        total = self._scores(codes, lengths, y).sum()
        return float(total / (lengths.sum() + len(lengths)))

    # -------------------------------------------------------- persistence

    def save(self, path, *, include_optimizer=True):
        """Write the fitted mixture to a file that loads without pickle.

        One file holds the mixture's parameters, weights and vocabulary and
        every component's whole state, each component as its own
        :meth:`~CharRNNGenerator.save` or :meth:`~KneserNeyGenerator.save`
        would write it. It is written to a temporary file that then
        replaces ``path``, so a failed write leaves an existing file intact.
        Load it with :meth:`load` or :func:`~sklearn_charrnn.load_model`.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write (used as given; ``.npz`` is a good suffix).
        include_optimizer : bool, default=True
            Store the AdamW moments of every :class:`CharRNNGenerator`
            component (see :meth:`CharRNNGenerator.save`).

        Raises
        ------
        ValueError
            ``Cannot save ...`` if the mixture would not load back: a
            component that is neither a :class:`CharRNNGenerator` nor a
            :class:`KneserNeyGenerator` (a mixture of mixtures: use
            pickle), a component that its own ``save`` refuses, or
            ``estimators`` changed after ``fit``. Nothing is written.
        PermissionError
            Where ``open(path, "wb")`` would refuse.

        See Also
        --------
        load : Read the file back.
        """
        _persistence.save_fitted(
            _mixture_file, self, path, include_optimizer=include_optimizer
        )

    @classmethod
    def load(cls, path):
        """Read a mixture written by :meth:`save`, without running any code.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        estimator : GeneratorMixture
            The fitted mixture: ``score_samples`` and seeded ``sample`` give
            the same results as the saved one.

        Raises
        ------
        ModelFileError
            If the file is truncated, corrupted, holds a pickled object, or
            does not describe a valid mixture: a component its own class's
            checks refuse (the message names it), weights that are negative
            or do not sum to 1, components whose names or classes contradict
            ``estimators``, ...; nothing is loaded.

        See Also
        --------
        save : Write the file.
        """
        return _persistence.load_fitted(_mixture_file, cls, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags


def _check_take_labels(named):
    """Refuse a component that cannot take labels (its steps have none)."""
    for name, estimator in named:
        if "label" not in inspect.signature(estimator._steps).parameters:
            raise ValueError(
                f"Estimator {name!r} ({type(estimator).__name__}) cannot take "
                "labels (its step interface has no label): fit the mixture "
                "without y, or leave it out."
            )


def _seeded(estimator, seed):
    """A clone of ``estimator`` with ``random_state=seed`` if it had None."""
    estimator = clone(estimator)
    if "random_state" in estimator.get_params() and estimator.random_state is None:
        estimator.set_params(random_state=int(seed))
    return estimator


# How _fit_clones words a component's error: component_error takes it apart.
_COMPONENT_ERROR = re.compile(
    r"Estimator '(?P<name>\w+)' of the mixture \([^)]*\): (?P<message>.*) "
    r"\(The mixture is as it was before this fit\.\)",
    re.DOTALL,
)


def component_error(message):
    """``(name, message)`` of a component's error as the mixture words it.

    Parameters
    ----------
    message : str

    Returns
    -------
    parts : tuple of (str, str) or None
        The component's name and its own message; None for another message.
    """
    match = _COMPONENT_ERROR.fullmatch(message)
    return None if match is None else (match["name"], match["message"])


def _fit_clones(components, X, fit_args, defaults=False, note=None):
    """A clone of every ``(name, estimator)`` fitted on ``X``.

    A component's ValueError says which component it is, how its
    parameters are set through the mixture (``name__parameter``; with
    ``defaults``, the components of ``estimators=None``, by passing
    ``estimators``), then ``note`` when given (on what it was fitted), and
    that the mixture keeps nothing of the fit (it is put back as it was).
    """
    fitted = []
    for name, estimator in components:
        try:
            fitted.append(clone(estimator).fit(X, *fit_args))
        except ValueError as error:
            if len(error.args) == 1 and isinstance(error.args[0], str):
                how = (
                    "a default component: pass estimators=[...] to set its parameters"
                    if defaults
                    else f"set its parameters as {name}__<parameter>"
                )
                said = str(error) if note is None else f"{error} ({note})"
                error.args = (
                    f"Estimator {name!r} of the mixture ({how}): {said} (The "
                    "mixture is as it was before this fit.)",
                )
            raise
    return fitted


def _rows(sequences, index):
    """The sequences at ``index``: a list of str or rows of a 2-D array."""
    if isinstance(sequences, list):
        return [sequences[i] for i in index]
    return sequences[index]


def _token_map(tokens, estimator):
    """``estimator``'s index of every token of ``tokens`` (0 and unknown too)."""
    unknown = len(estimator.vocabulary_) + 1
    inner = [estimator.vocabulary_.get(token, unknown) for token in tokens]
    return np.array([0, *inner, unknown], dtype=np.intp)


def _token_log_probs(estimator, sequences, label=None):
    """Every token's log-probability under a fitted component, end tokens
    included; under ``label`` (a label, not an index) when given."""
    codes, lengths = _sequences.encode(
        sequences, estimator.input_kind_, list(estimator.vocabulary_)
    )
    steps = _component_steps(estimator, np.float64, label)
    return token_log_probs(steps, codes, lengths)


def _component_steps(estimator, dtype, label=None):
    """A component's step interface, under ``label`` (a label) when given."""
    if label is None:
        return estimator._steps(dtype)
    index = label_indices(estimator.classes_, label, 1, "label")[0]
    return estimator._steps(dtype, label=int(index))


def _sums(per_token, lengths):
    """Each sequence's sum of its tokens' values (end tokens included)."""
    ends = np.cumsum(lengths + 1)
    return np.add.reduceat(per_token, ends - lengths - 1) if len(ends) else ends
