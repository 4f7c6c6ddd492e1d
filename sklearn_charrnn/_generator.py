"""What every generator shares: sampling, completing, and their options.

A generator class mixes in :class:`GeneratorMixin` and provides its fitted
model through the step interface (:mod:`.generation`): ``_steps()``. It also
sets ``vocabulary_`` (token to index, from 1), ``input_kind_``,
``training_hashes_`` and ``max_length_`` in fit. Everything here reads only
those, so sampling, completion, beam search and ``exclude_training`` work
the same for every generator.

A conditional generator (fitted with labels ``y``) also sets ``classes_``,
gives the step interface of one label as ``_steps(label=i)`` (``i`` an index
of ``classes_``) and hashes its training sequences tagged with their label
(:func:`.generation.label_tag`). ``sample`` and ``complete`` then take ``y``
and run one generation per distinct label, each with its own random stream
drawn in order from the call's, and put the results back in order.
"""

import contextlib
import dataclasses
import itertools
import os
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn.base
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

from . import _sequences, generation
from ._labels import check_every_class_kept, check_labelled, fit_labels, short_repr
from ._params import NumberInterval, physical_memory
from ._sequences import STRING
from ._signals import held_interrupts
from .generation import beam_search, contains, label_tag, sequence_hash
from .nn.parallel import Threads, limited_blas

# exclude_training draws at most this many candidates per sequence asked for,
# in rounds of at most this many sequences each: as many rounds as that budget
# fills, and this many more (a round may draw less than its size).
_NEW_DRAWS_PER_SAMPLE = 100
_NEW_MAX_ROUNDS = 20
_NEW_ROUND_SIZE = 8192
# Largest max_length and number of sequences a call may ask for: the output
# array holds one row of max_length 8-byte integers per sequence, and may
# take at most this many of them, nor more than this share of the machine's
# memory.
_MAX_CELLS = 1 << 31
_MAX_MEMORY_SHARE = 0.5

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SKLEARN_BASE = os.path.abspath(sklearn.base.__file__)


def warn(message, category=UserWarning):
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


def _is_1d_array(x):
    """A one-dimensional NumPy array or pandas Series (of prefixes)."""
    return hasattr(x, "dtype") and getattr(x, "ndim", None) == 1


def drop_empty(sequences, kind):
    """Skip the empty strings of X, with a warning; all empty is an error.

    Returns the sequences kept and which were kept: a boolean mask for
    strings, None for token sequences (never dropped).
    """
    if kind != STRING:
        return sequences, None
    keep = np.array([bool(s) for s in sequences], dtype=bool)
    kept = [s for s in sequences if s]
    if not kept:
        raise ValueError(
            f"X holds only empty strings ({len(sequences)} of them): "
            "expected at least one non-empty str."
        )
    n_empty = len(sequences) - len(kept)
    if n_empty:
        warn(f"Skipped {n_empty} empty string{'s' * (n_empty != 1)} in X.")
    return kept, keep


_CONSTRAINTS = {  # as the hyperparameters: no count or rate is a bool
    "n_samples": [NumberInterval(Integral, 1, None, closed="left")],
    "temperature": [NumberInterval(Real, 0, None, closed="neither")],
    "top_k": [NumberInterval(Integral, 1, None, closed="left"), None],
    "top_p": [NumberInterval(Real, 0, 1, closed="right"), None],
    "greedy": ["boolean"],
    "min_length": [NumberInterval(Integral, 0, None, closed="left")],
    "max_length": [NumberInterval(Integral, 1, None, closed="left"), None],
    "exclude_training": ["boolean"],
    "most_likely": ["boolean"],
    "random_state": ["random_state"],
}


def _check_memory(n_sequences, max_length):
    """Refuse a call whose output array alone could not fit in memory."""
    cells = n_sequences * (max_length + 1)
    available = physical_memory()
    limit = _MAX_CELLS
    why = f"at most {8 * _MAX_CELLS / 2**30:,.0f} GiB"
    if available is not None:
        limit = min(limit, int(available * _MAX_MEMORY_SHARE) // 8)
        why = f"half this machine's {available / 2**30:,.1f} GiB, and {why}"
    if cells > limit:
        raise ValueError(
            f"{n_sequences} sequences of up to max_length={max_length} tokens "
            f"need {8 * cells / 2**30:,.1f} GiB for their tokens alone, more "
            f"than the {8 * limit / 2**30:,.1f} GiB a call may take ({why}): "
            "ask for fewer or shorter sequences, in several calls."
        )


@dataclasses.dataclass(frozen=True)
class GenerationOptions:
    """The arguments of ``sample`` and ``complete``, validated once.

    See :meth:`GeneratorMixin.sample` for what each means. ``max_length``
    is never None here: :meth:`validated` sets its default.
    """

    n_samples: int = 1
    temperature: float = 1.0
    top_k: int = None
    top_p: float = None
    greedy: bool = False
    min_length: int = 0
    max_length: int = None
    exclude_training: bool = False
    most_likely: bool = False
    random_state: object = None

    @classmethod
    def validated(
        cls, caller, default_max_length, longest_prefix=0, n_prefixes=1, **options
    ):
        """Check every option, set ``max_length``'s default, return the options.

        Parameters
        ----------
        caller : str
            The method's name, for error messages.
        default_max_length : int
            ``max_length`` when None, after the longest prefix (raised to
            ``min_length`` if that is longer).
        longest_prefix : int, default=0
            Length of the longest prefix: an explicit ``max_length`` must
            hold it.
        n_prefixes : int, default=1
            Number of prefixes, each completed ``n_samples`` times.
        **options
            The method's arguments.
        """
        validate_parameter_constraints(
            {name: _CONSTRAINTS[name] for name in options},
            options,
            caller_name=caller,
        )
        max_length, min_length = options.get("max_length"), options["min_length"]
        if max_length is None:  # room after the longest prefix
            max_length = max(longest_prefix + default_max_length, min_length)
        elif min_length > max_length:
            raise ValueError(
                f"min_length={min_length} is greater than "
                f"max_length={max_length}: no sequence can be both."
            )
        elif longest_prefix > max_length:
            raise ValueError(
                f"max_length={max_length} counts the prefix, and the prefix "
                f"holds {longest_prefix} tokens: pass max_length >= "
                f"{longest_prefix}, or None for the default."
            )
        _check_memory(n_prefixes * options.get("n_samples", 1), max_length)
        options["max_length"] = max_length
        if options.get("most_likely"):
            sampling = {
                name: options[name]
                for name in ("temperature", "top_k", "top_p", "greedy")
                if options[name] != cls.__dataclass_fields__[name].default
            }
            if sampling:
                raise ValueError(
                    "most_likely=True ranks completions by their probability "
                    "under the model; temperature, top_k, top_p and greedy "
                    f"only apply to sampling. Got {sampling}."
                )
        return cls(**options)

    def sampling(self):
        """The options :func:`.generation.sample` takes."""
        names = ("temperature", "top_k", "top_p", "greedy", "min_length", "max_length")
        return {name: getattr(self, name) for name in names}


class GeneratorMixin:
    """``sample`` and ``complete`` for a generator with the step interface."""

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
        y=None,
    ):
        """Generate new sequences, all advancing together as one batch.

        Every sequence starts from the start token and draws one token at a
        time from the model's next-token distribution, reshaped by
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
        y : label or array-like of shape (n_samples,), default=None
            For a model fitted with labels (and only then): the label of
            every sequence, one for all or one each. The samples come back
            in the order of ``y``.

        Returns
        -------
        samples : list
            ``n_samples`` str, or lists of tokens for a model fitted on a
            2-D array of tokens.

        Examples
        --------
        With a :class:`CharRNNGenerator`; every generator of the package
        takes the same arguments.

        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, tol=1e-3, dropout=0.0,
        ...                        early_stopping=False, random_state=0).fit(names)
        >>> samples = gen.sample(4, temperature=0.8, max_length=12)
        >>> len(samples), all(len(s) <= 12 for s in samples)
        (4, True)
        >>> gen.sample(4, random_state=1) == gen.sample(4, random_state=1)
        True
        """
        check_is_fitted(self)
        options = GenerationOptions.validated(
            f"{type(self).__name__}.sample",
            self._default_max_length(),
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
        labels = check_labelled(self, y, n_samples)
        empty = np.zeros(0, dtype=np.intp)
        if labels is None:
            results, n_drawn = self._generate([empty], options)
        else:
            samples, n_drawn = [None] * n_samples, np.zeros(1, dtype=np.int64)
            for index, label, rng in self._per_label(labels, options):
                some = dataclasses.replace(options, n_samples=len(index))
                found, drawn = self._generate([empty], some, label, rng)
                for i, sample in zip(index, found[0], strict=False):
                    samples[i] = sample
                n_drawn += drawn
            # fewer than asked only with exclude_training: the rest keep order
            results = [[sample for sample in samples if sample is not None]]
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
        y=None,
    ):
        """Complete a prefix: sequences that start with it.

        The model reads the prefix one token at a time, then tokens are
        drawn until the end token, as in :meth:`sample`; or, with
        ``most_likely=True``, the most probable completions are found by beam
        search.

        Parameters
        ----------
        prefix : str or list of str
            The start of the sequence (a list or 1-D array of tokens for a
            model fitted on token arrays). A list of prefixes (for tokens, a
            list of such lists, or a 2-D array) gives one result per prefix.
        n_samples : int, default=None
            Number of completions per prefix. None gives one completion (a
            str); an int gives a list of that many.
        most_likely : bool, default=False
            Return the ``n_samples`` most probable completions that a beam
            search of that width finds (deterministic, and approximate: a
            wider beam can find more probable ones), most probable first, each as a
            ``(completion, log_likelihood)`` pair. The log-likelihood is the
            whole sequence's, prefix and end token included: what
            :meth:`score_samples` gives for it, up to rounding (the same
            token probabilities, computed a step at a time; about 1e-7 apart
            in float32). Sampling arguments
            (``temperature``, ``top_k``, ``top_p``, ``greedy``,
            ``random_state``) do not apply.
        temperature, top_k, top_p, greedy : see :meth:`sample`
        min_length : int, default=0
            The end token is not allowed before the sequence (prefix included)
            holds this many tokens.
        max_length : int, default=None
            Stop at this many tokens (prefix included) even without an end
            token; with ``most_likely``, every completion ends there at the
            latest. None means the longest prefix's length plus twice the
            longest training sequence plus 10 (or ``min_length`` if that is
            more), so that a long prefix has as much room as an empty one.
        exclude_training : bool, default=False
            Return only completions that are not in the training data (see
            :meth:`sample`). When too few turn up: with ``n_samples``, the
            list is shorter and a UserWarning says so; without it, there is no
            shorter answer, so a ValueError is raised.
        random_state : int, RandomState instance or None, default=None
            Seed for the draws; None uses the estimator's ``random_state``.
        y : label or array-like of shape (n_prefixes,), default=None
            For a model fitted with labels (and only then): the label to
            complete each prefix under, one for all or one per prefix.

        Returns
        -------
        completion : str, list, or list of lists
            For one prefix: a str that starts with it, or with ``n_samples``
            a list of them (of pairs with ``most_likely``). For a list of
            prefixes: a list with one such result per prefix.

        Examples
        --------
        With a :class:`CharRNNGenerator`; every generator of the package
        takes the same arguments.

        >>> from sklearn_charrnn import CharRNNGenerator
        >>> names = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]
        >>> gen = CharRNNGenerator(hidden_size=8, max_iter=1000, tol=1e-3, dropout=0.0,
        ...                        early_stopping=False, random_state=0).fit(names)
        >>> gen.complete("be").startswith("be")
        True
        >>> [c.startswith("da") for c in gen.complete("da", n_samples=3)]
        [True, True, True]
        >>> best = gen.complete("an", n_samples=2, most_likely=True)
        >>> [(name[:2], bool(ll < 0)) for name, ll in best]
        [('an', True), ('an', True)]
        """
        check_is_fitted(self)
        single = self._is_single_prefix(prefix)
        prefixes = [prefix] if single else [*prefix]
        encoded = [self._encode_prefix(p) for p in prefixes]
        options = GenerationOptions.validated(
            f"{type(self).__name__}.complete",
            self._default_max_length(),
            max((len(p) for p in encoded), default=0),
            len(encoded),
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
        labels = check_labelled(self, y, len(encoded))
        if labels is None:
            results, n_drawn = self._complete_all(encoded, options)
        else:
            results, n_drawn = [None] * len(encoded), np.zeros(len(encoded), int)
            for index, label, rng in self._per_label(labels, options):
                some, drawn = self._complete_all(
                    [encoded[i] for i in index], options, label, rng
                )
                for i, result in zip(index, some, strict=True):
                    results[i] = result
                if drawn is not None:
                    n_drawn[index] = drawn
            n_drawn = None if most_likely else n_drawn
        self._check_enough(
            results, prefixes, n_drawn, options, strict=n_samples is None
        )
        if n_samples is None:
            results = [r[0] for r in results]
        return results[0] if single else results

    def _per_label(self, labels, options):
        """Each distinct label's items, in label order, with a random stream.

        The streams are seeded in order from the call's random state, so a
        label's sequences depend on the seed and on which labels are asked
        for, never on the threads.

        Yields
        ------
        index : ndarray of int
            The items (sequences or prefixes) of the label, in order.
        label : int
            An index of ``classes_``.
        rng : numpy.random.RandomState
        """
        rng = self._call_rng(options)
        distinct = np.unique(labels)
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(distinct))
        for label, seed in zip(distinct, seeds, strict=True):
            index = np.flatnonzero(labels == label)
            yield index, int(label), np.random.RandomState(seed)

    def _call_rng(self, options):
        """The call's random state: its ``random_state``, else the estimator's."""
        seed = options.random_state
        return check_random_state(self.random_state if seed is None else seed)

    def _complete_all(self, prefixes, options, label=None, rng=None):
        """Complete every prefix: the results, and the draws (None for beams)."""
        if options.most_likely:
            return [self._most_likely(p, options, label) for p in prefixes], None
        return self._generate(prefixes, options, label, rng)

    def _generate(self, prefixes, options, label=None, rng=None):
        """Draw ``options["n_samples"]`` sequences for every prefix.

        Under ``label`` (an index of ``classes_``) for a conditional model;
        ``rng`` defaults to the one ``options`` and ``random_state`` give.

        Returns
        -------
        results : list of list
            The decoded sequences of each prefix; fewer than asked only with
            ``exclude_training``.
        n_drawn : ndarray of shape (n_prefixes,)
            Number of sequences drawn for each prefix.
        """
        if rng is None:
            rng = self._call_rng(options)
        n_each = options.n_samples
        sampling = options.sampling()
        kind, tokens = self.input_kind_, self._tokens()
        steps = self._label_steps(label)
        if options.exclude_training:
            found, n_drawn = self._generate_new(
                prefixes, n_each, rng, sampling, steps, self._hash_tag(label)
            )
            decoded = [[_sequences.decode(s, kind, tokens) for s in f] for f in found]
            return decoded, n_drawn
        repeated = (itertools.repeat(p, n_each) for p in prefixes)
        batch = list(itertools.chain.from_iterable(repeated))
        padded, lengths = self._draw(batch, rng, sampling, steps)
        flat = _sequences.decode_padded(padded, lengths, kind, tokens)
        decoded = [flat[i : i + n_each] for i in range(0, len(batch), n_each)]
        return decoded, np.full(len(prefixes), n_each)

    @contextlib.contextmanager
    def _as_before_if_refused(self):
        """Put every attribute back if the block raises.

        A fit or ``partial_fit`` refused (bad sequences, labels or
        parameters) then leaves the model as it was, not half refitted:
        checks, counts and fitted attributes change together or not at all.
        """
        before = dict(vars(self))  # attributes are replaced, never changed in place
        try:
            yield
        except BaseException:
            with held_interrupts():
                state = vars(self)
                state.update(before)  # first: never left with no attributes
                for added in set(state) - set(before):
                    del state[added]
            raise

    def _forget_input(self, *others):
        """Delete what an earlier fit learnt of its input, and ``others``.

        A 2-D X sets ``n_features_in_`` and ``feature_names_in_`` again (a
        one-column DataFrame of str included); a list of str has none. Labels
        (``classes_``, ``class_count_``) come from the new ``y`` or not at all.
        """
        names = ("n_features_in_", "feature_names_in_", "classes_", "class_count_")
        for name in (*names, *others):
            if hasattr(self, name):
                delattr(self, name)

    def _training_data(self, X, y, resume):
        """The checked, non-empty training sequences, their kind, their labels.

        Labels are class indices, None without ``y``: a fresh fit sets
        ``classes_`` from ``y``, a resumed one reads ``y`` against them (and
        a model fitted with labels needs them, and the reverse). A call with
        labels adds them to ``class_count_``.
        """
        sequences, kind = _sequences.check_sequences(self, X, reset=not resume)
        n = len(sequences)
        if resume and (y is None or not hasattr(self, "classes_")):
            check_labelled(self, y, n)  # raises if only one of them is set
            labels = None
        elif y is None:
            labels = None
        elif resume:
            classes, labels = fit_labels(y, n, self.classes_)
        else:
            classes, labels = fit_labels(y, n)
        kept, keep = drop_empty(sequences, kind)
        if labels is not None:
            if keep is not None:  # the labels of the sequences kept
                labels = labels[keep]
            counts = np.bincount(labels, minlength=len(classes)).astype(float)
            if not resume:
                check_every_class_kept(classes, counts)
            self.classes_ = classes
            self.class_count_ = getattr(self, "class_count_", 0.0) + counts
        return kept, kind, labels

    def _scores(self, codes, lengths, y):
        """Log-likelihood of every sequence under the labels ``y``.

        For a model fitted with labels and ``y`` None: under the mixture of
        every label weighted by its training frequency, ``log sum_c p(c)
        p(sequence | c)``. Each generator gives ``_label_scores(codes,
        lengths, labels)`` (class indices, or None for a model without
        labels) and ``_class_log_likelihoods(codes, lengths)``.
        """
        if y is None and hasattr(self, "classes_"):
            log_prior = np.log(self.class_count_ / self.class_count_.sum())
            joint = self._class_log_likelihoods(codes, lengths) + log_prior
            return logsumexp(joint, axis=1)  # (n,)
        labels = check_labelled(self, y, len(lengths))
        return self._label_scores(codes, lengths, labels)

    def _add_training_hashes(self, codes, lengths, labels=None):
        """Add sequences to ``training_hashes_``, each tagged with its label."""
        tags = None if labels is None else [self._hash_tag(i) for i in labels]
        self.training_hashes_ = np.union1d(
            self.training_hashes_, generation.sequence_hashes(codes, lengths, tags)
        )

    def _label_steps(self, label):
        """The step interface, of one label for a conditional model."""
        return self._steps() if label is None else self._steps(label=label)

    def _hash_tag(self, label):
        """What a sequence of ``label`` is tagged with in ``training_hashes_``."""
        return None if label is None else label_tag(len(self.vocabulary_) + 2, label)

    def _draw(self, prefixes, rng, sampling, steps):
        """Draw one sequence per prefix: a padded array and the lengths."""
        with limited_blas() as n_threads, Threads(n_threads) as threads:
            return generation.sample(
                steps,
                prefixes,
                rng,
                banned=(self._unknown_index(),),
                threads=threads,
                **sampling,
            )

    def _generate_new(self, prefixes, n_each, rng, sampling, steps, tag=None):
        """Rejection-sample sequences outside the training set, in rounds.

        Each round draws, for every prefix still short, its missing count
        divided by the share of new sequences seen so far, within a budget of
        ``_NEW_DRAWS_PER_SAMPLE`` draws per sequence asked for (a greedy
        search gives the same sequence every time, so it gets one try), at
        most ``_NEW_ROUND_SIZE`` in a round.
        """
        n_prefixes = len(prefixes)
        found = [[] for _ in range(n_prefixes)]
        n_drawn = np.zeros(n_prefixes, dtype=np.int64)
        n_new = np.zeros(n_prefixes, dtype=np.int64)
        budget = n_each if sampling["greedy"] else _NEW_DRAWS_PER_SAMPLE * n_each
        full_rounds = -(-n_prefixes * budget // _NEW_ROUND_SIZE)  # the budget's
        for _ in range(full_rounds + _NEW_MAX_ROUNDS):
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
            padded, lengths = self._draw(
                [prefixes[i] for i in owner], rng, sampling, steps
            )
            sequences = [row[:n] for row, n in zip(padded, lengths, strict=True)]
            hashes = [sequence_hash(s, tag) for s in sequences]
            is_new = ~contains(self.training_hashes_, hashes)  # (D,)
            n_drawn += n_draw
            n_new += np.bincount(owner[is_new], minlength=n_prefixes)
            for i, sequence, new in zip(owner, sequences, is_new, strict=True):
                if new and len(found[i]) < n_each:
                    found[i].append(sequence)
        return found, n_drawn

    def _most_likely(self, prefix, options, label=None):
        """The most probable completions of one prefix, by beam search."""
        excluded = self.training_hashes_ if options.exclude_training else None
        with limited_blas():
            sequences, log_probs = beam_search(
                self._label_steps(label),
                prefix,
                options.n_samples,
                max_length=options.max_length,
                min_length=options.min_length,
                banned=(self._unknown_index(),),
                excluded=excluded,
                tag=self._hash_tag(label),
            )
        return [
            (self._decode(s), float(lp))
            for s, lp in zip(sequences, log_probs, strict=True)
        ]

    def _check_enough(self, results, prefixes, n_drawn, options, strict):
        """Warn, or raise when ``strict``, if a prefix got too few sequences."""
        n_each = options.n_samples
        short = [i for i, r in enumerate(results) if len(r) < n_each]
        if not short:
            return
        i = short[0]
        what = "new " if options.exclude_training else ""
        where = f" starting with {prefixes[i]!r}" if len(prefixes[i]) else ""
        how = "by beam search" if n_drawn is None else f"in {n_drawn[i]} draws"
        message = (
            f"Found only {len(results[i])} of {n_each} {what}sequences{where} {how}"
        )
        if options.exclude_training and n_drawn is None:
            message += (  # the search's own limit, not the model's
                ": the sequences it kept were in the training data, and it may "
                "have passed new ones by. Raise n_samples (a wider search) or "
                "max_length, or draw (without most_likely) to reach further "
                "from it."
            )
        elif options.exclude_training and options.greedy:
            message += (  # one sequence per prefix: no draws
                ": the others were in the training data. Raise max_length, or "
                "draw (without greedy) to reach further from it."
            )
        elif options.exclude_training:
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
        warn(message, UserWarning)

    def _check_input_kind(self, kind):
        """Refuse strings for a model fitted on token arrays, and the reverse."""
        if kind != self.input_kind_:
            fitted = "strings" if self.input_kind_ == STRING else "2-D token arrays"
            got = "strings" if kind == STRING else "a 2-D array of tokens"
            raise ValueError(f"This model was fitted on {fitted}; X is {got}.")

    def _check_known(self, codes, lengths, sequences):
        """Raise a ValueError naming the first token outside the vocabulary."""
        unknown = np.flatnonzero(codes == self._unknown_index())
        if unknown.size == 0:
            return
        ends = np.cumsum(lengths)
        row = int(np.searchsorted(ends, unknown[0], side="right"))
        token = sequences[row][int(unknown[0] - (ends[row] - lengths[row]))]
        raise ValueError(
            f"Token {token!r} (in sequence {row}) was not seen when the "
            "vocabulary was fixed by the first fit; the model cannot learn it."
        )

    def _validate(self, X, caller=None):
        """Check X against the fitted model and encode it: codes and lengths.

        ``caller``, an estimator that holds this one (a classifier), is the
        one whose columns X is checked against and whom messages name.
        """
        check_is_fitted(self)
        sequences, kind = _sequences.check_sequences(caller or self, X, reset=False)
        self._check_input_kind(kind)
        return _sequences.encode(sequences, kind, self._tokens())

    def _default_max_length(self):
        """``max_length`` when None: twice the longest training sequence, plus 10."""
        return 2 * self.max_length_ + 10

    def _tokens(self):
        return list(self.vocabulary_)

    def _unknown_index(self):
        return len(self.vocabulary_) + 1

    def _decode(self, sequence):
        return _sequences.decode(sequence, self.input_kind_, self._tokens())

    def _is_single_prefix(self, prefix):
        if self.input_kind_ == STRING:
            if isinstance(prefix, str):
                return True
            if isinstance(prefix, (list, tuple)) or _is_1d_array(prefix):
                _sequences.check_str_items(prefix, what="prefix")
                return False
            raise TypeError(
                f"prefix must be a str or a list of str; got {type(prefix).__name__}."
            )
        if isinstance(prefix, np.ndarray) and prefix.ndim in (1, 2):
            return prefix.ndim == 1  # a row of tokens (X[0, :3]), or rows
        if isinstance(prefix, (list, tuple)):
            nested = [isinstance(p, (list, tuple)) or _is_1d_array(p) for p in prefix]
            if all(nested):
                return False
            if not any(nested):
                return True
            i = nested.index(True)
            raise TypeError(
                f"prefix mixes tokens and lists of tokens (item {i} is a "
                f"{type(prefix[i]).__name__}): pass one list of tokens, or a "
                "list of such lists."
            )
        raise TypeError(
            "prefix must be a list (or 1-D array) of tokens, or a list (or 2-D "
            f"array) of such rows; got {type(prefix).__name__}."
        )

    def _encode_prefix(self, prefix):
        for token in prefix:
            try:
                hash(token)
            except TypeError:
                raise TypeError(
                    f"prefix {short_repr(prefix)} holds a {type(token).__name__}: "
                    "a token is a str, int, float or bool."
                ) from None
        unknown = [token for token in prefix if token not in self.vocabulary_]
        if unknown:
            raise ValueError(
                f"prefix {prefix!r} holds {unknown[0]!r}, which was not seen in "
                "fit: the model cannot continue from it."
            )
        return np.array([self.vocabulary_[t] for t in prefix], dtype=np.intp)
