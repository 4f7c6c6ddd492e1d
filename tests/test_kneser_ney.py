"""KneserNeyGenerator and its mathematics (sklearn_charrnn.ngram.kneser_ney)."""

import pickle
from collections import defaultdict

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split

from sklearn_charrnn import KneserNeyGenerator
from sklearn_charrnn.ngram import kneser_ney

TINY = ["ab", "abb", "ba"]


# ------------------------------------------------------- slow reference


class ReferenceKneserNey:
    """Interpolated modified Kneser-Ney written from the formula, with dicts.

    A sequence is read after one start boundary (0) and ends with the
    boundary; a history is at most ``order - 1`` tokens and stops at the
    start. Tokens are ints, 0 the boundary, ``V - 1`` the unknown token.
    """

    def __init__(self, sequences, order, n_tokens):
        self.order, self.V = order, n_tokens
        raw = defaultdict(int)  # every observed n-gram (tuple), length <= order
        for seq in sequences:
            s = (0, *seq, 0)
            for i in range(1, len(s)):
                for k in range(1, min(order, i + 1) + 1):
                    raw[s[i - k + 1 : i + 1]] += 1
        left = defaultdict(set)  # distinct tokens seen before each n-gram
        for gram in raw:
            if len(gram) >= 2:
                left[gram[1:]].add(gram[0])
        self.counts = {}
        for gram, c in raw.items():
            top = len(gram) == order or (len(gram) >= 2 and gram[0] == 0)
            self.counts[gram] = c if top else len(left[gram])

    def count_of_counts(self, k):
        values = [c for g, c in self.counts.items() if len(g) == k]
        return [sum(v == r for v in values) for r in (1, 2, 3, 4)]

    def closed_form_discounts(self, k):
        n1, n2, n3, n4 = self.count_of_counts(k)
        y = n1 / (n1 + 2 * n2)
        return [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3]

    def prob(self, history, w, discounts, base=None, lowest=1):
        """p(w | history), history a tuple of at most order - 1 tokens.

        Below level ``lowest`` it is ``base``, ``p_0(w)`` (1 / V if None).
        """
        k = len(history) + 1
        p_0 = 1.0 / self.V if base is None else base
        if k < lowest:
            return p_0
        lower = (
            p_0 if not history else self.prob(history[1:], w, discounts, base, lowest)
        )
        following = {
            g[-1]: c
            for g, c in self.counts.items()
            if len(g) == k and g[:-1] == history
        }
        total = sum(following.values())
        if total == 0:
            return lower
        D = discounts[k - 1]

        def discount(c):
            return D[min(c, 3) - 1]

        gamma = sum(discount(c) for c in following.values()) / total
        c = following.get(w, 0)
        return max(c - discount(c), 0) / total + gamma * lower if c else gamma * lower

    def log_probs_along(self, seq, discounts):
        """(len(seq) + 1, V) next-token log-probabilities along ``seq``."""
        s = (0, *seq)
        rows = []
        for i in range(1, len(s) + 1):
            history = s[max(0, i - self.order + 1) : i]
            rows.append(
                [np.log(self.prob(history, w, discounts)) for w in range(self.V)]
            )
        return np.array(rows)


def steps_log_probs_along(steps, seq):
    """(len(seq) + 1, V): log_probs at every step of reading ``seq``."""
    state = steps.start(1)
    rows = [steps.log_probs(state)[0]]
    for token in seq:
        state = steps.advance(state, np.array([token]))
        rows.append(steps.log_probs(state)[0])
    return np.array(rows)


def test_tiny_corpus_matches_hand_counts_and_reference():
    gen = KneserNeyGenerator(order=3).fit(TINY)
    # counts of counts worked by hand (a = 1, b = 2, V = 4):
    # level 3: 0ab:2, ab0, abb, bb0, 0ba, ba0 -> n = (5, 1, 0, 0)
    # level 2: 0a:2, 0b:1 (raw, after the start), ab:1, b0:2, bb:1, ba:1, a0:1
    #          -> n = (5, 2, 0, 0)
    # level 1: a:2 (after 0 and b), b:3 (after a, 0, b), 0:2 -> n = (0, 2, 1, 0)
    y3, y2 = 5 / 7, 5 / 9
    expected = [
        # n1 = 0: Y = 0.5 and D1 = Y; n3 > 0 but n4 = 0: D3+ falls back to 1.5
        [0.5, 2 - 3 * 0.5 * 1 / 2, 1.5],
        [1 - 2 * y2 * 2 / 5, 1.0, y2],  # n3 = 0: D2 falls back to 1, D3+ = Y
        [1 - 2 * y3 * 1 / 5, 1.0, y3],
    ]
    np.testing.assert_allclose(gen.discounts_, expected)

    # p(b | 0 a) by hand: level 3 has only 0ab, count 2, D2 = 1, so
    # p(b | 0 a) = (2 - 1) / 2 + (1 / 2) p2(b | a); after a, level 2 has
    # ab:1 and a0:1, so p2(b | a) = (1 - D1) / 2 + (2 D1 / 2) p1(b), with
    # p1(b) = (3 - 1.5) / 7 + gamma_1 / V, gamma_1 = (1.25 + 1.5 + 1.25) / 7
    D1 = 1 - 2 * y2 * 2 / 5
    p1_b = (3 - 1.5) / 7 + (1.25 + 1.5 + 1.25) / 7 / 4
    p_b = 1 / 2 + 1 / 2 * ((1 - D1) / 2 + D1 * p1_b)
    steps = gen._steps()
    state = steps.advance(steps.start(1), np.array([1]))  # read "a"
    np.testing.assert_allclose(np.exp(steps.log_probs(state)[0, 2]), p_b)

    reference = ReferenceKneserNey([[1, 2], [1, 2, 2], [2, 1]], 3, 4)
    for seq in ([1, 2], [1, 2, 2], [2, 1], [2, 2, 1, 1], [3, 1, 2], [], [1, 3, 3]):
        np.testing.assert_allclose(
            steps_log_probs_along(steps, seq),
            reference.log_probs_along(seq, gen.discounts_),
        )


@pytest.mark.parametrize("order", [2, 4, 6])
def test_matches_reference_on_dinosaurs(dinosaurs, order):
    train, test = dinosaurs[:150], dinosaurs[150:170]
    gen = KneserNeyGenerator(order=order).fit(train)
    tokens = list(gen.vocabulary_)
    V = len(tokens) + 2

    def encode(name):
        return [gen.vocabulary_.get(c, V - 1) for c in name]

    reference = ReferenceKneserNey([encode(n) for n in train], order, V)
    for k in range(2, order + 1):
        # every count of count is nonzero here, so no fallback applies
        assert all(reference.count_of_counts(k))
        np.testing.assert_allclose(
            gen.discounts_[k - 1], reference.closed_form_discounts(k)
        )
    steps = gen._steps()
    for name in [*test[:5], "qqzx", "saurus"]:
        np.testing.assert_allclose(
            steps_log_probs_along(steps, encode(name)),
            reference.log_probs_along(encode(name), gen.discounts_),
        )


# ---------------------------------------------------------- step interface


@pytest.fixture(scope="module")
def dinosaur_model():
    from sklearn_charrnn.datasets import load_dinosaurs

    return KneserNeyGenerator(random_state=0).fit(load_dinosaurs()[:1000])


def random_names(rng, n, alphabet="abcdeorsuxyz\u00e9"):
    letters = np.array(list(alphabet))
    return ["".join(rng.choice(letters, rng.integers(0, 15))) for _ in range(n)]


def test_steps_sum_to_score_samples(dinosaur_model):
    gen = dinosaur_model
    steps = gen._steps()
    names = random_names(np.random.default_rng(0), 50)
    V = steps.n_tokens
    assert V == len(gen.vocabulary_) + 2
    total = np.zeros(len(names))
    for i, name in enumerate(names):
        state = steps.start(1)
        for token in [gen.vocabulary_.get(c, V - 1) for c in name] + [0]:
            total[i] += steps.log_probs(state)[0, token]
            state = steps.advance(state, np.array([token]))
    np.testing.assert_allclose(total, gen.score_samples(names))


def test_log_probs_rows_are_distributions(dinosaur_model):
    steps = dinosaur_model._steps()
    log_probs = steps.log_probs(np.arange(dinosaur_model.log_probs_.shape[0]))
    assert log_probs.dtype == np.float64
    assert np.isfinite(log_probs).all()  # boundary and unknown included
    np.testing.assert_allclose(np.exp(log_probs).sum(axis=1), 1.0)


def test_advance_with_parents(dinosaur_model):
    steps = dinosaur_model._steps()
    state = steps.start(3)
    state = steps.advance(state, np.array([1, 2, 3]))
    tokens = np.array([5, 6, 7, 8], dtype=np.intp)
    parents = np.array([2, 0, 0, 1])
    moved = steps.advance(state, tokens, parents)
    one_by_one = [
        steps.advance(state[[p]], tokens[[i]])[0] for i, p in enumerate(parents)
    ]
    np.testing.assert_array_equal(moved, one_by_one)
    assert moved.dtype == np.intp
    np.testing.assert_array_equal(
        steps.log_probs(moved), dinosaur_model.log_probs_[moved]
    )


# ------------------------------------------------------------- counting


def test_ngram_windows_pad_the_start_and_predict_the_end():
    windows = kneser_ney.ngram_windows(np.array([1, 2, 3]), np.array([2, 1]), 3)
    np.testing.assert_array_equal(
        windows, [[0, 0, 1], [0, 1, 2], [1, 2, 0], [0, 0, 3], [0, 3, 0]]
    )


def test_aggregate_windows_counts_distinct_rows():
    windows = np.array([[0, 1], [2, 1], [0, 1], [1, 0]])
    ngrams, counts = kneser_ney.aggregate_windows(windows, np.array([1, 1, 2, 5]))
    np.testing.assert_array_equal(ngrams, [[0, 1], [1, 0], [2, 1]])
    np.testing.assert_array_equal(counts, [3, 5, 1])


def test_modified_discounts_closed_form_and_fallbacks():
    counts = np.array([1] * 10 + [2] * 4 + [3] * 2 + [4] + [7])
    y = 10 / (10 + 2 * 4)
    np.testing.assert_allclose(
        kneser_ney.modified_discounts(counts),
        [1 - 2 * y * 4 / 10, 2 - 3 * y * 2 / 4, 3 - 4 * y * 1 / 2],
    )
    # no count of 1: Y = 0.5; no count of 2 either: D2 = Y; D1 = Y too;
    # counts of 3 but none of 4: D3+ = 3 would take whole counts, so the
    # fallback 1.5
    np.testing.assert_allclose(
        kneser_ney.modified_discounts(np.array([3, 3, 5])), [0.5, 0.5, 1.5]
    )
    # many doubles push D1 below zero: clipped to the minimum; no triple:
    # D2 falls back to 1
    low = kneser_ney.modified_discounts(np.array([1] + [2] * 50))
    assert low[0] == kneser_ney.MIN_DISCOUNT
    assert low[1] == kneser_ney.FALLBACK_DISCOUNTS[1]


def test_a_repeated_training_name_outranks_its_unseen_prefix():
    """Every n-gram seen three times and none four: the formula's D3+ = 3
    would take their whole counts and rank 'ann' (never seen) above 'anna'
    and 'anne', training names one character longer."""
    names = ["anna", "anne", "annie", "bob", "bobby", "bert"] * 3
    gen = KneserNeyGenerator(order=3).fit(names)
    assert (gen.discounts_ < [1.0, 2.0, 3.0]).all()
    unseen, anna, anne = gen.score_samples(["ann", "anna", "anne"])
    assert min(anna, anne) > unseen


# ------------------------------------------------------------ estimator


def test_defaults_reach_the_dinosaur_target_on_one_split(dinosaurs):
    # benchmarks/ngram_kn.py measures this split and four others
    train, test = train_test_split(dinosaurs, test_size=0.1, random_state=0)
    gen = KneserNeyGenerator(random_state=0).fit(train)
    assert gen.order_ in gen.order_scores_
    assert gen.order_scores_[gen.order_] == max(gen.order_scores_.values())
    assert gen.score(test) > -1.60


def test_same_random_state_same_model(dinosaurs):
    a = KneserNeyGenerator(random_state=3).fit(dinosaurs[:400])
    b = KneserNeyGenerator(random_state=3).fit(dinosaurs[:400])
    assert a.order_scores_ == b.order_scores_
    np.testing.assert_array_equal(a.log_probs_, b.log_probs_)


def test_partial_fit_adds_counts(dinosaurs):
    first, second = dinosaurs[:300], dinosaurs[300:500]
    gen = KneserNeyGenerator(order=4).partial_fit(first).partial_fit(second)
    whole = KneserNeyGenerator(order=4).fit(first + second)
    # the vocabulary of the first part covers the second here
    assert gen.vocabulary_ == whole.vocabulary_
    np.testing.assert_array_equal(gen.ngrams_, whole.ngrams_)
    np.testing.assert_array_equal(gen.ngram_counts_, whole.ngram_counts_)
    np.testing.assert_allclose(gen.discounts_, whole.discounts_)
    np.testing.assert_allclose(
        gen.score_samples(dinosaurs[600:650]), whole.score_samples(dinosaurs[600:650])
    )
    assert gen.max_length_ == whole.max_length_
    np.testing.assert_array_equal(gen.training_hashes_, whole.training_hashes_)


def test_partial_fit_refuses_new_tokens_and_other_input():
    gen = KneserNeyGenerator(order=2).partial_fit(["abc", "cab"])
    with pytest.raises(ValueError, match="Token 'z' \\(in sequence 1\\)"):
        gen.partial_fit(["ab", "az"])
    with pytest.raises(ValueError, match="fitted on strings"):
        gen.partial_fit(np.array([[1, 2], [3, 4]]))


def test_fixed_discount_and_small_data():
    gen = KneserNeyGenerator(discount=0.7).fit(["anna", "bob", "carla"])
    assert gen.order_ == 3 and gen.order_scores_ is None  # too few to hold out
    np.testing.assert_array_equal(gen.discounts_, np.full((3, 3), 0.7))


def test_unknown_tokens_score_finite(dinosaur_model):
    scores = dinosaur_model.score_samples(["\u00e9\u00e9", "saurus", "q!"])
    assert np.isfinite(scores).all()
    assert scores[1] > scores[0]


def test_empty_strings_skipped_with_a_warning_and_scored():
    with pytest.warns(UserWarning, match="Skipped 1 empty string in X"):
        gen = KneserNeyGenerator(order=2).fit(["ab", "", "ba"])
    assert np.isfinite(gen.score_samples([""])).all()
    with pytest.raises(ValueError, match="only empty strings"):
        KneserNeyGenerator().fit(["", ""])


def test_token_arrays():
    X = np.array([[3, 1, 2], [1, 2, 2], [2, 3, 1], [1, 1, 1]])
    gen = KneserNeyGenerator(order=3).fit(X)
    assert gen.input_kind_ == "tokens" and gen.n_features_in_ == 3
    assert gen.vocabulary_ == {1: 1, 2: 2, 3: 3}
    assert np.isfinite(gen.score_samples(X)).all()
    with pytest.raises(ValueError, match="fitted on 2-D token arrays"):
        gen.score(["ab"])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"order": 1}, "'order' parameter"),
        ({"order": "big"}, "'order' parameter"),
        ({"order": 100_000}, r"'order' parameter .* in the range \[2, 64\]"),
        ({"discount": 0}, "'discount' parameter"),
        ({"discount": 1.5}, "'discount' parameter"),
        ({"discount": True}, r"'discount' parameter .* \(not a bool\)"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        KneserNeyGenerator(**params).fit(["ab", "ba"])


def test_tables_larger_than_memory_are_refused_before_allocating(monkeypatch):
    """A dense row per context: a vocabulary of thousands of tokens would
    need more memory than there is (NumPy's own MemoryError before)."""
    monkeypatch.setattr(kneser_ney, "physical_memory", lambda: 2**20)  # 1 MiB
    X = np.arange(600).reshape(-1, 3)  # 600 distinct tokens
    with pytest.raises(ValueError, match=r"contexts x 602 tokens, .* use CharRNN"):
        KneserNeyGenerator(order=2).fit(X)


@pytest.mark.parametrize("order, n_labels", [(3, 0), ("auto", 0), (3, 4)])
def test_the_memory_guard_counts_on_what_the_fit_allocates(
    monkeypatch, order, n_labels
):
    """The guard's estimate before each table covers the peak of NumPy's
    allocations during the whole fit: compiling temporaries and, with
    labels, the tables compiled before (a 3 GiB machine once passed the
    guard and then raised NumPy's MemoryError)."""
    import tracemalloc

    estimates = []
    check = kneser_ney.check_table_size

    def recording(*table):
        estimates.append(kneser_ney.table_bytes(*table))
        return check(*table)

    monkeypatch.setattr(kneser_ney, "check_table_size", recording)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 300, size=(1500, 5))
    y = rng.integers(0, n_labels, size=len(X)) if n_labels else None
    tracemalloc.start()
    try:
        KneserNeyGenerator(order=order, random_state=0).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(estimates) >= peak


def test_not_fitted():
    with pytest.raises(NotFittedError):
        KneserNeyGenerator().score(["ab"])
    with pytest.raises(NotFittedError):
        KneserNeyGenerator()._steps()


def test_pickle_round_trip(dinosaur_model):
    loaded = pickle.loads(pickle.dumps(dinosaur_model))
    np.testing.assert_array_equal(
        loaded.score_samples(["saurus", "rex"]),
        dinosaur_model.score_samples(["saurus", "rex"]),
    )
