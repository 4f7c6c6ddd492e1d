"""CharRNNClassifier: a sequence's label by Bayes' rule on a conditional model."""

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils.validation import _num_samples, check_is_fitted

from . import _classifier_file, _persistence
from ._estimator import CharRNNGenerator
from ._labels import fit_labels, short_repr, true_labels
from ._mixture import GeneratorMixture, component_error
from ._params import check_epsilon, real_numbers
from ._persistence import VersionedPickleMixin
from .ngram import KneserNeyGenerator


class CharRNNClassifier(VersionedPickleMixin, ClassifierMixin, BaseEstimator):
    """Tell a sequence's label from its spelling, with one conditional model.

    Fits one conditional generator on the sequences and their labels, which
    learns ``p(sequence | label)``, and predicts by Bayes' rule: ``p(label |
    sequence)`` is proportional to ``p(label) p(sequence | label)``, as
    :class:`~sklearn.naive_bayes.MultinomialNB` does with its class prior.
    The generator is a :class:`CharRNNGenerator` mixed token by token with a
    :class:`KneserNeyGenerator` (a :class:`GeneratorMixture`, both fitted
    with the labels), or the network alone with ``mix_ngram=False``. The
    fitted generator (``generator_``) also samples sequences of a label.

    Parameters
    ----------
    hidden_size, cell, n_layers, dropout, max_iter, batch_size, \
learning_rate_init, weight_decay, beta_1, beta_2, epsilon, clip_norm, \
shuffle, early_stopping, validation_fraction, n_iter_no_change, tol, \
weight_averaging, random_state, verbose, dtype
        The generator's parameters: see :class:`CharRNNGenerator`.

    mix_ngram : bool, default=True
        Mix the network with a conditional Kneser-Ney n-gram, token by
        token, with weights fitted by EM on a held-out tenth of the
        training sequences (:class:`GeneratorMixture`; the network is then
        fitted twice, on nine tenths for the weights and on everything). On
        the surnames this predicts the language better than either model
        alone (``benchmarks/labels.py``). False: the network alone.

    class_prior : array-like of shape (n_classes,), default=None
        Prior probability of every class, in the order of ``classes_``. None
        takes the classes' frequencies in the training labels, counting the
        sequences trained on (an empty string is skipped with its label).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted labels seen in fit.

    class_log_prior_ : ndarray of shape (n_classes,)
        Natural log of the prior of every class.

    generator_ : GeneratorMixture or CharRNNGenerator
        The fitted conditional generator (a :class:`CharRNNGenerator` when
        ``mix_ngram=False``): ``generator_.sample(n, y=label)`` draws
        sequences of a label.

    n_iter_ : int
        Number of epochs the network ran (its last fit, on all sequences).

    n_features_in_ : int
        Number of columns of X, only when fit was given a 2-D array.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, only when fit was given a DataFrame with str names.

    See Also
    --------
    CharRNNGenerator : the conditional network, with its parameters.
    GeneratorMixture : how the network and the n-gram are mixed.
    sklearn.naive_bayes.MultinomialNB : the same Bayes' rule on counts.

    Notes
    -----
    Predicting scores every sequence under every class: its cost is the
    number of classes times that of ``score_samples``.

    Examples
    --------
    >>> from sklearn_charrnn import CharRNNClassifier
    >>> X = ["anna", "emma", "bella", "tanaka", "sato", "suzuki"] * 4
    >>> y = ["en", "en", "en", "ja", "ja", "ja"] * 4
    >>> clf = CharRNNClassifier(hidden_size=16, max_iter=100, early_stopping=False,
    ...                         random_state=0).fit(X, y)
    >>> clf.predict(["sato", "emma"]).tolist()
    ['ja', 'en']
    >>> clf.predict_proba(["sato"]).shape
    (1, 2)
    """

    _parameter_constraints: dict = {
        **{
            name: constraints
            for name, constraints in CharRNNGenerator._parameter_constraints.items()
            if name != "warm_start"
        },
        "mix_ngram": ["boolean"],
        "class_prior": ["array-like", None],
    }

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
        random_state=None,
        verbose=False,
        dtype="float32",
        mix_ngram=True,
        class_prior=None,
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
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.mix_ngram = mix_ngram
        self.class_prior = class_prior

    def _validate_params(self):
        """The constraints above, then epsilon against beta_2 and dtype, as
        :class:`CharRNNGenerator` checks them."""
        super()._validate_params()
        check_epsilon(self.epsilon, self.beta_2, self.dtype)

    def _generator(self):
        """An unfitted generator with this classifier's parameters."""
        params = self.get_params(deep=False)
        del params["class_prior"], params["mix_ngram"]
        network = CharRNNGenerator(**params)
        if not self.mix_ngram:
            return network
        return GeneratorMixture(
            [("rnn", network), ("ngram", KneserNeyGenerator())],
            random_state=self.random_state,
        )

    def _network(self):
        """The fitted network: ``generator_`` or its ``rnn`` component."""
        if isinstance(self.generator_, GeneratorMixture):
            return self.generator_.named_estimators_["rnn"]
        return self.generator_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the conditional generator on sequences and their labels.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
            Training sequences (see :meth:`CharRNNGenerator.fit`).
        y : array-like of shape (n_samples,)
            The label of every sequence.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None: pass one label per sequence."
            )
        classes = fit_labels(y, _num_samples(y))[0]  # none: X is empty, see fit
        if len(classes) == 1:
            raise ValueError(
                f"{type(self).__name__} needs sequences of at least 2 classes "
                f"to tell apart, but y holds only one class: {classes.tolist()[0]!r}."
            )
        prior = self._checked_prior(len(classes))  # before training, not after
        # a new generator holding this classifier's parameters themselves: a
        # RandomState instance is drawn from, as CharRNNGenerator draws from it
        try:
            generator = self._generator().fit(X, y)
        except ValueError as error:  # the network's parameters are this one's
            parts = component_error(str(error))
            if parts is not None and len(error.args) == 1:
                name, message = parts
                error.args = (
                    message if name == "rnn" else f"The classifier's {name}: {message}",
                )
            raise
        self.generator_ = generator
        self.classes_ = generator.classes_
        self.n_iter_ = self._network().n_iter_
        if prior is None:  # the training frequencies
            prior = generator.class_count_ / generator.class_count_.sum()
        with np.errstate(divide="ignore"):  # a class of prior 0: log 0 = -inf
            self.class_log_prior_ = np.log(prior)
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.generator_, attr):
                setattr(self, attr, getattr(self.generator_, attr))
            elif hasattr(self, attr):
                delattr(self, attr)
        return self

    def _checked_prior(self, n_classes):
        """``class_prior`` as an array of ``n_classes`` probabilities, or None."""
        if self.class_prior is None:
            return None
        prior = real_numbers(self.class_prior)
        if prior is None or prior.shape != (n_classes,):
            raise ValueError(
                f"class_prior must hold one probability per class, in the order "
                f"of classes_: expected an array of shape ({n_classes},) of int "
                f"or float, got {short_repr(self.class_prior)}."
            )
        if not (np.all(prior >= 0) and np.isclose(prior.sum(), 1.0)):
            raise ValueError(
                f"class_prior must be probabilities (>= 0, summing to 1); got "
                f"{prior.tolist()}."
            )
        return prior

    def _joint_log_likelihood(self, X):
        """``log p(c) + log p(x | c)`` of every sequence and class."""
        check_is_fitted(self)
        codes, lengths = self.generator_._validate(X, caller=self)
        return (
            self.generator_._class_log_likelihoods(codes, lengths)
            + self.class_log_prior_
        )

    def predict(self, X):
        """The most probable label of every sequence.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        joint = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def predict_log_proba(self, X):
        """Log-probability of every label, for every sequence.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        joint = self._joint_log_likelihood(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Probability of every label, for every sequence.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to one.
        """
        return np.exp(self.predict_log_proba(X))

    def score(self, X, y, sample_weight=None):
        """Accuracy: the share of sequences whose label is predicted right.

        Parameters
        ----------
        X : iterable of str, or array-like of shape (n_samples, n_tokens)
        y : array-like of shape (n_samples,)
            The true labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of every sequence.

        Returns
        -------
        score : float
            :func:`sklearn.metrics.accuracy_score` of ``predict(X)``.
        """
        return super().score(X, true_labels(y), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    def save(self, path, *, include_optimizer=True):
        """Write the fitted classifier to a file that loads without pickle.

        One file holds the classifier's parameters, ``classes_``,
        ``class_log_prior_`` and its whole fitted generator, as the
        generator's own ``save`` would write it. It is written to a
        temporary file that then replaces ``path``, so a failed write leaves
        an existing file intact. Load it with :meth:`load` or
        :func:`~sklearn_charrnn.load_model`.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write (used as given; ``.npz`` is a good suffix).
        include_optimizer : bool, default=True
            Store the network's AdamW moments (see
            :meth:`CharRNNGenerator.save`).

        Raises
        ------
        ValueError
            ``Cannot save ...`` if the classifier would not load back: a
            generator its own ``save`` refuses, an attribute the format does
            not know, or ``class_prior`` changed after ``fit`` (it no longer
            gives ``class_log_prior_``). Nothing is written.
        PermissionError
            Where ``open(path, "wb")`` would refuse.

        See Also
        --------
        load : Read the file back.
        """
        _persistence.save_fitted(
            _classifier_file, self, path, include_optimizer=include_optimizer
        )

    @classmethod
    def load(cls, path):
        """Read a classifier written by :meth:`save`, without running any code.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        estimator : CharRNNClassifier
            The fitted classifier: ``predict_proba`` and the generator's
            seeded ``sample`` give the same results as the saved one.

        Raises
        ------
        ModelFileError
            If the file is truncated, corrupted, holds a pickled object, or
            does not describe a valid classifier: a generator its own class's
            checks refuse (the message opens with ``generator_``), one fitted
            without labels or with other classes, a ``class_log_prior_``
            that does not sum to 1 or contradicts ``class_prior``, ...;
            nothing is loaded.

        See Also
        --------
        save : Write the file.
        """
        return _persistence.load_fitted(_classifier_file, cls, path)
