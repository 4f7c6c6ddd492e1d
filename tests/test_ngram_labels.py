"""KneserNeyGenerator fitted with labels: p(name | label)."""

import pickle

import numpy as np
import pytest
from _tamper import edit_array, edit_metadata, members_of, set_item, write_members
from scipy.special import logsumexp
from test_kneser_ney import ReferenceKneserNey, steps_log_probs_along

from sklearn_charrnn import KneserNeyGenerator, ModelFileError, load_model
from sklearn_charrnn._sequences import encode
from sklearn_charrnn.generation import contains, label_tag, sequence_hash

# Two labels with mostly disjoint alphabets, one much smaller than the other.
LOW = ["abba", "cab", "dace", "bead", "ace", "bad", "cade", "ebb", "dab", "abed"]
LOW += ["baba", "cabbed", "deb", "aba"]
HIGH = ["pots", "stop", "tops", "spot", "post", "opt", "pros", "rot", "sort"]
X = LOW + HIGH
Y = ["low"] * len(LOW) + ["high"] * len(HIGH)


@pytest.fixture(scope="module")
def labelled():
    return KneserNeyGenerator(order=3).fit(X, Y)


def test_every_row_of_every_label_sums_to_one(labelled):
    assert labelled.classes_.tolist() == ["high", "low"]
    np.testing.assert_allclose(np.exp(logsumexp(labelled.log_probs_, axis=1)), 1.0)
    np.testing.assert_allclose(
        labelled.class_probs_.sum(axis=1) + labelled.class_backoff_, 1.0
    )
    for label in range(2):
        steps = labelled._steps(label=label)
        state = steps.start(1)
        for token in encode(["abed"], "str", list(labelled.vocabulary_))[0]:
            assert np.isclose(np.exp(steps.log_probs(state)).sum(), 1.0)
            state = steps.advance(state, np.array([token]))


def test_the_model_of_all_labels_is_the_model_without_labels(labelled):
    plain = KneserNeyGenerator(order=3).fit(X)
    np.testing.assert_array_equal(labelled.ngrams_, plain.ngrams_)
    np.testing.assert_array_equal(labelled.ngram_counts_, plain.ngram_counts_)
    np.testing.assert_allclose(labelled.log_probs_, plain.log_probs_)
    np.testing.assert_array_equal(labelled.transitions_, plain.transitions_)
    assert labelled.start_node_ == plain.start_node_
    assert (
        labelled.ngram_class_counts_.sum(axis=1).tolist()
        == plain.ngram_counts_.tolist()
    )


def test_the_first_token_follows_the_documented_formula():
    """Order 2 at the start: the label's discounted counts over all labels."""
    model = KneserNeyGenerator(order=2).fit(X, Y)
    plain = KneserNeyGenerator(order=2).fit(X)
    p_all = np.exp(plain._steps().log_probs(plain._steps().start(1))[0])  # (V,)
    for label, names in ((0, HIGH), (1, LOW)):
        counts = np.zeros(len(p_all))
        for name in names:
            counts[model.vocabulary_[name[0]]] += 1
        D = model.class_discounts_[label, 1][np.minimum(counts, 3).astype(int) - 1]
        D[counts == 0] = 0
        gamma = D.sum() / counts.sum()
        expected = np.maximum(counts - D, 0) / counts.sum() + gamma * p_all
        steps = model._steps(label=label)
        got = np.exp(steps.log_probs(steps.start(1))[0])
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_history_the_label_never_saw_reads_all_labels_after_all_of_it():
    """p(w | h, c) = a(w | h_c) + g(h_c) p_all(w | h): ``h_c``, the longest
    suffix of ``h`` that the label saw, is the same after 'ab' and 'cb' for
    the label that never saw 'a' or 'c' before 'b', so its distributions
    after them differ exactly by ``g(h_c)`` times those of all labels."""
    X3 = ["xab", "xabs", "ycb", "ycbt", "ob", "ob", "bo"]
    y3 = ["u", "u", "u", "u", "v", "v", "v"]
    model = KneserNeyGenerator(order=3).fit(X3, y3)
    plain = KneserNeyGenerator(order=3).fit(X3)

    def after(steps, history):
        state = steps.start(1)
        for char in history:
            state = steps.advance(state, np.array([model.vocabulary_[char]]))
        return np.exp(steps.log_probs(state)[0])  # (V,)

    v = model._steps(label=1)  # saw 'ob' and 'bo', never 'ab' or 'cb'
    gap = after(v, "xab") - after(v, "ycb")
    gap_all = after(plain._steps(), "xab") - after(plain._steps(), "ycb")
    assert np.abs(gap_all).max() > 0.1  # all labels tell the two apart
    backoff = gap[np.argmax(np.abs(gap_all))] / gap_all[np.argmax(np.abs(gap_all))]
    assert 0 < backoff < 1
    np.testing.assert_allclose(gap, backoff * gap_all, atol=1e-12)


@pytest.mark.parametrize("order", [2, 3, 5])
def test_every_label_matches_a_reference_written_from_the_formula(dinosaurs, order):
    """p(w | history, c) = a_c(w | h_c) + g_c(h_c) p_all(w | h): the label's
    own model from level 2 (CLASS_LOWEST_LEVEL) over the model of all labels
    after the whole history, next to the dict-based reference of
    tests/test_kneser_ney.py, along names each label saw and did not see."""
    names = dinosaurs[:150]
    labels = [i % 3 for i in range(len(names))]
    model = KneserNeyGenerator(order=order).fit(names, labels)
    V = len(model.vocabulary_) + 2

    def encode(name):
        return [model.vocabulary_.get(char, V - 1) for char in name]

    everyone = ReferenceKneserNey([encode(n) for n in names], order, V)
    for c in range(3):
        own = [encode(n) for n, label in zip(names, labels, strict=True) if label == c]
        label_model = ReferenceKneserNey(own, order, V)
        steps = model._steps(label=c)
        for name in [*names[:4], "qqzx", "saurus"]:
            seq = (0, *encode(name))
            expected = []
            for i in range(1, len(seq) + 1):
                history = seq[max(0, i - order + 1) : i]
                row = []
                for w in range(V):
                    p_all = everyone.prob(history, w, model.discounts_)
                    row.append(
                        label_model.prob(
                            history, w, model.class_discounts_[c], p_all, lowest=2
                        )
                    )
                expected.append(np.log(row))
            np.testing.assert_allclose(
                steps_log_probs_along(steps, seq[1:]), expected, rtol=1e-10, atol=1e-12
            )


def test_labels_change_scores_and_samples(labelled):
    # 'high' never saw c, a or b: it reads the model of all labels after
    # them, which knows 'cab' from 'low', so the gap is about 1.0 nats
    low, high = labelled.score_samples(["cab", "cab"], ["low", "high"])
    assert low > high + 0.9

    def share_low(label):
        samples = labelled.sample(100, y=label, random_state=0)
        return np.mean([set(s) <= set("abcde") for s in samples])

    assert share_low("high") + 0.3 < share_low("low")
    per_label = labelled.sample(4, y=["low", "high", "low", "high"], random_state=0)
    assert len(per_label) == 4
    assert labelled.complete("ca", y="low", random_state=0).startswith("ca")


def test_score_without_labels_is_the_mixture_over_labels(labelled):
    joint = np.column_stack(
        [labelled.score_samples(["cab", "sort"], label) for label in ("high", "low")]
    ) + np.log(labelled.class_count_ / labelled.class_count_.sum())
    np.testing.assert_allclose(
        labelled.score_samples(["cab", "sort"]), logsumexp(joint, axis=1)
    )
    assert labelled.class_count_.tolist() == [len(HIGH), len(LOW)]


def test_order_auto_picks_one_order_on_held_out_names_under_their_labels():
    model = KneserNeyGenerator(random_state=0).fit(X, Y)
    assert model.order_scores_ is not None
    assert model.order_ == max(model.order_scores_, key=model.order_scores_.get)


def test_label_errors_name_the_problem(labelled):
    with pytest.raises(ValueError, match="'middle'"):
        labelled.sample(2, y="middle")
    with pytest.raises(ValueError, match="'middle'"):
        labelled.score_samples(["cab"], ["middle"])
    with pytest.raises(ValueError, match="fitted with labels"):
        labelled.sample(2)
    with pytest.raises(ValueError, match="fitted with labels"):
        labelled.complete("ca")
    plain = KneserNeyGenerator(order=3).fit(X)
    with pytest.raises(ValueError, match="without labels"):
        plain.sample(2, y="low")
    with pytest.raises(ValueError, match="without labels"):
        plain.score(["cab"], ["low"])
    with pytest.raises(ValueError, match="one label per sequence"):
        labelled.score_samples(["cab", "pots"], ["low"])


def test_partial_fit_keeps_the_labels_of_its_first_call():
    half = len(X) // 2
    order = np.random.RandomState(0).permutation(len(X))
    Xs, Ys = [X[i] for i in order], [Y[i] for i in order]
    model = KneserNeyGenerator(order=3)
    model.partial_fit(Xs[:half], Ys[:half]).partial_fit(Xs[half:], Ys[half:])
    whole = KneserNeyGenerator(order=3).fit(Xs, Ys)
    np.testing.assert_array_equal(model.ngram_class_counts_, whole.ngram_class_counts_)
    np.testing.assert_allclose(model.log_probs_, whole.log_probs_)
    np.testing.assert_allclose(model.class_probs_, whole.class_probs_)
    np.testing.assert_allclose(model.class_backoff_, whole.class_backoff_)
    np.testing.assert_array_equal(model.class_transitions_, whole.class_transitions_)
    np.testing.assert_array_equal(model.class_start_nodes_, whole.class_start_nodes_)
    assert model.class_count_.tolist() == whole.class_count_.tolist()
    with pytest.raises(ValueError, match="'middle'"):
        model.partial_fit(["cab"], ["middle"])
    with pytest.raises(ValueError, match="fitted with labels"):
        model.partial_fit(["cab"])
    plain = KneserNeyGenerator(order=3).partial_fit(X)
    with pytest.raises(ValueError, match="without labels"):
        plain.partial_fit(["cab"], ["low"])


def test_exclude_training_excludes_the_names_of_that_label(labelled):
    drawn = labelled.sample(300, y="low", random_state=0)
    assert set(drawn) & set(LOW)  # the label's own names come up...
    new = labelled.sample(100, y="low", exclude_training=True, random_state=0)
    assert not set(new) & set(LOW)  # ...and are excluded
    tokens = list(labelled.vocabulary_)
    codes, _ = encode(["pots"], "str", tokens)
    n_tokens = len(tokens) + 2
    high, low = (label_tag(n_tokens, i) for i in range(2))
    assert contains(labelled.training_hashes_, [sequence_hash(codes, high)])[0]
    assert not contains(labelled.training_hashes_, [sequence_hash(codes, low)])[0]


def test_file_and_pickle_keep_the_labels(labelled, tmp_path):
    path = tmp_path / "labelled.npz"
    labelled.save(path)
    for copy in (load_model(path), pickle.loads(pickle.dumps(labelled))):
        assert copy.classes_.tolist() == labelled.classes_.tolist()
        assert copy.sample(5, y="high", random_state=3) == labelled.sample(
            5, y="high", random_state=3
        )
        np.testing.assert_array_equal(
            copy.score_samples(X, Y), labelled.score_samples(X, Y)
        )


def test_a_file_with_inconsistent_label_tables_does_not_save(tmp_path):
    model = KneserNeyGenerator(order=3).fit(X, Y)
    model.class_start_nodes_ = model.class_start_nodes_ + len(model.class_probs_)
    with pytest.raises(ValueError, match="class_start_nodes_"):
        model.save(tmp_path / "bad.npz")
    model = KneserNeyGenerator(order=3).fit(X, Y)
    model.class_backoff_ = model.class_backoff_ * 0.5
    with pytest.raises(ValueError, match="row 0 of class_probs_ with class_backoff_"):
        model.save(tmp_path / "bad.npz")
    model = KneserNeyGenerator(order=3).fit(X, Y)
    model.class_transitions_ = model.class_transitions_ + len(model.class_probs_)
    with pytest.raises(
        ValueError, match="row 0 of class_transitions_ leaves label 0.s rows"
    ):
        model.save(tmp_path / "bad.npz")
    model = KneserNeyGenerator(order=3).fit(X, Y)
    model.ngram_class_counts_ = model.ngram_class_counts_ * 2
    with pytest.raises(ValueError, match="add up"):
        model.save(tmp_path / "bad.npz")


def _swap(array, i, j):
    array = array.copy()
    array[[i, j]] = array[[j, i]]
    return array


LABEL_TAMPERING = {
    "labels' start nodes swapped": (
        edit_array("model/class_start_nodes_", lambda a: _swap(a, 0, 1)),
        r"class_start_nodes_\[0\] is .* outside label 0's rows",
    ),
    "a transition into another label's block": (
        edit_array("model/class_transitions_", lambda a: set_item(a, (0, 1), a.max())),
        "row 0 of class_transitions_ leaves label 0's rows",
    ),
    "blocks that do not cover the rows": (
        edit_array("model/class_offsets_", lambda a: set_item(a, -1, a[-1] - 1)),
        "class_offsets_ must rise from 0 to the",
    ),
    "an empty block": (
        edit_array("model/class_offsets_", lambda a: set_item(a, 1, 0)),
        "each label a block of at least one row",
    ),
    "a negative part": (
        edit_array("model/class_probs_", lambda a: set_item(a, (3, 1), -0.1)),
        "class_probs_ must be finite and non-negative; row 3 is not",
    ),
    "a NaN weight": (
        edit_array("model/class_backoff_", lambda a: set_item(a, 2, np.nan)),
        "class_backoff_ must be finite and non-negative; row 2 is not",
    ),
    "a row that leaves nothing to all labels": (
        edit_array("model/class_backoff_", lambda a: set_item(a, 1, 0.0)),
        "row 1 of class_backoff_ is 0",
    ),
    "a row of a label that does not sum to 1": (
        edit_array("model/class_backoff_", lambda a: a * 0.5),
        "row 0 of class_probs_ with class_backoff_ sums to",
    ),
    "a label's discount NaN": (
        edit_array("model/class_discounts_", lambda a: set_item(a, (1, 1, 0), np.nan)),
        "class_discounts_ must be finite and positive",
    ),
    "labels' tables of another size": (
        edit_metadata(lambda m: m["model"].update(n_class_nodes=3)),
        r"class_probs_.npy' has shape \(\d+, \d+\), expected \(3, ",
    ),
    "no size of the labels' tables": (
        edit_metadata(lambda m: m["model"].pop("n_class_nodes")),
        r"metadata model lacks keys \['n_class_nodes'\]",
    ),
}


@pytest.mark.parametrize("name", list(LABEL_TAMPERING))
def test_a_tampered_labelled_file_is_refused(labelled, tmp_path, name):
    path = tmp_path / "labelled.npz"
    labelled.save(path)
    tamper, message = LABEL_TAMPERING[name]
    bad = write_members(tmp_path / "bad.npz", tamper(members_of(path)))
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)


def test_a_label_whose_names_are_all_empty_is_refused():
    """No sequence to count (tests/test_labels.py checks every generator)."""
    model = KneserNeyGenerator(order=2)
    with pytest.warns(UserWarning, match="empty"):
        with pytest.raises(ValueError, match="Every sequence of label 'none'"):
            model.fit([*X, ""], [*Y, "none"])
