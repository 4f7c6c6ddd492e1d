"""Generation: sampling controls, beam search, exclude_training, complete."""

import hashlib
import itertools
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import CharRNNGenerator, _sequences, generation
from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.generation import (
    beam_search,
    contains,
    draw,
    next_token_probs,
    sequence_hash,
    sequence_hashes,
)
from sklearn_charrnn.nn.network import (
    RecurrentSteps,
    init_weights,
    sequence_log_likelihood,
)

MEMORISED = ["ada", "bea", "cid", "dot", "eve"]


def _fit(names, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CharRNNGenerator(**params).fit(names)


@pytest.fixture(scope="module")
def model(dinosaurs):
    """A small float64 model of 300 dinosaur names."""
    return _fit(
        dinosaurs[:300],
        hidden_size=24,
        max_iter=3,
        early_stopping=False,
        dropout=0.0,
        random_state=0,
        dtype="float64",
    )


@pytest.fixture(scope="module")
def parrot():
    """A model that has learned five names by heart."""
    parrot = _fit(
        MEMORISED,
        hidden_size=32,
        max_iter=150,
        early_stopping=False,
        dropout=0.0,
        learning_rate_init=0.02,
        weight_decay=0.0,
        random_state=0,
    )
    # the tests below need a model that mostly repeats its training names
    draws = parrot.sample(50, random_state=0)
    assert np.mean([name in MEMORISED for name in draws]) > 0.8
    return parrot


# ------------------------------------------------------ pure functions


def test_temperature_divides_log_probs():
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(8), size=3))  # (3, 8)
    np.testing.assert_allclose(next_token_probs(log_probs), np.exp(log_probs))
    cold = next_token_probs(log_probs, temperature=0.5)
    expected = np.exp(2 * log_probs)
    np.testing.assert_allclose(cold, expected / expected.sum(1, keepdims=True))

    def entropy(p):
        return -(p * np.log(p)).sum(axis=1)

    hot = next_token_probs(log_probs, temperature=2.0)
    assert np.all(entropy(cold) < entropy(np.exp(log_probs)))
    assert np.all(entropy(np.exp(log_probs)) < entropy(hot))


@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_top_k_keeps_the_k_most_probable(top_k):
    rng = np.random.default_rng(1)
    log_probs = np.log(rng.dirichlet(np.ones(8), size=4))  # (4, 8)
    probs = next_token_probs(log_probs, top_k=top_k)
    for row, lp in zip(probs, log_probs, strict=True):
        kept = np.flatnonzero(row)
        np.testing.assert_array_equal(np.sort(kept), np.sort(np.argsort(-lp)[:top_k]))
        np.testing.assert_allclose(row[kept], np.exp(lp[kept]) / np.exp(lp[kept]).sum())


@pytest.mark.parametrize("top_p", [0.3, 0.75, 0.95, 1.0])
def test_top_p_keeps_the_smallest_nucleus(top_p):
    rng = np.random.default_rng(2)
    log_probs = np.log(rng.dirichlet(np.ones(10), size=5))  # (5, 10)
    probs = next_token_probs(log_probs, top_p=top_p)
    for row, lp in zip(probs, log_probs, strict=True):
        original = np.exp(lp)
        kept = row > 0
        mass = original[kept].sum()
        assert mass >= top_p - 1e-12
        # dropping the least probable kept token would fall below top_p
        assert mass - original[kept].min() < top_p
        # kept tokens are the most probable ones
        assert original[kept].min() >= original[~kept].max(initial=0)
        np.testing.assert_allclose(row[kept], original[kept] / mass)


def test_draw_follows_the_probabilities():
    probs = np.array([[0.5, 0.0, 0.2, 0.3, 0.0], [0.0, 0.0, 0.0, 0.1, 0.9]])
    rng = np.random.RandomState(0)
    rows = np.repeat([0, 1], 20_000)
    drawn = draw(probs.T, rows, rng.random_sample(rows.size))
    for g in (0, 1):
        frequencies = np.bincount(drawn[rows == g], minlength=5) / 20_000
        np.testing.assert_allclose(frequencies, probs[g], atol=0.015)
        assert (frequencies[probs[g] == 0] == 0).all()


def test_draw_never_passes_the_last_probable_token():
    probs = np.array([[0.2, 0.5, 0.3, 0.0, 0.0]] * 3000).T
    for u in (0.0, 0.2, 0.69, 0.7, 1 - 1e-10, np.nextafter(1.0, 0.0)):
        (token,) = draw(probs, np.array([2999]), np.array([u]))
        assert token == (0 if u < 0.2 else 1 if u < 0.7 else 2)


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 1e-3, 1e3, 1e39, 1e300])
def test_any_temperature_gives_its_distribution_or_its_limit(temperature):
    log_probs = np.array([np.log([0.1, 0.2, 0.3, 0.4]).tolist() + [-np.inf]])
    probs = next_token_probs(log_probs, temperature=temperature)
    assert np.isfinite(probs).all() and probs.sum() == pytest.approx(1.0)
    assert probs[0, 4] == 0.0  # never a token of zero probability
    if temperature <= 1e-3:  # towards 0: the most probable token
        assert probs[0, 3] == pytest.approx(1.0)
    else:  # towards infinity: every possible token alike
        np.testing.assert_allclose(probs[0, :4], 0.25, rtol=1e-2)


def test_extreme_temperatures_keep_min_length(model):
    for temperature in (1e-40, 1e39):
        names = model.sample(
            20, temperature=temperature, min_length=3, max_length=8, random_state=0
        )
        assert all(3 <= len(name) <= 8 for name in names)


def test_greedy_takes_the_most_probable_token_at_every_step(model):
    steps = model._steps()
    unknown = model._unknown_index()
    out, lengths = generation.sample(
        steps,
        [np.zeros(0, dtype=np.intp)],
        np.random.RandomState(0),
        banned=(unknown,),
        greedy=True,
        min_length=4,
        max_length=30,
    )
    sequence = out[0, : lengths[0]]
    state = steps.start(1)
    for t, token in enumerate([*sequence, 0]):
        allowed = steps.log_probs(state)[0].copy()
        allowed[unknown] = -np.inf
        if t < 4:
            allowed[0] = -np.inf
        if t == 30:  # stopped by max_length, without an end token
            break
        assert token == np.argmax(allowed)
        state = steps.advance(state, np.array([token]))
    assert len(sequence) >= 4


def _plain_sample(steps, prefixes, rng, max_length):
    """Every sequence on its own row, drawing as generation.sample does."""
    n = len(prefixes)
    out = np.zeros((n, max_length), dtype=np.intp)
    lengths = np.full(n, max_length)
    active = np.arange(n)
    state = steps.start(n)
    for t in range(max_length):
        u = rng.random(active.size)
        probs = np.exp(steps.log_probs(state).astype(np.float64))
        tokens = draw(probs.T, np.arange(active.size), u)
        for k, i in enumerate(active):
            if t < len(prefixes[i]):
                tokens[k] = prefixes[i][t]
        out[active, t] = tokens
        ended = tokens == 0
        lengths[active[ended]] = t
        keep = ~ended
        active, tokens = active[keep], tokens[keep]
        if not active.size:
            break
        state = steps.advance(state, tokens, np.flatnonzero(keep))
    return out, lengths


def test_shared_states_draw_what_each_sequence_alone_would(model):
    """Sequences that share a past share a state row; each still draws with
    its own number, so the samples are those of one row per sequence."""
    steps = model._steps()
    prefixes = [np.array(p, dtype=np.intp) for p in ([], [1], [1, 2], [], [3])] * 30
    out, lengths = generation.sample(
        steps, prefixes, np.random.RandomState(5), max_length=12
    )
    (part_rng,) = generation._spawn(np.random.RandomState(5), 1)
    plain, plain_lengths = _plain_sample(steps, prefixes, part_rng, 12)
    np.testing.assert_array_equal(lengths, plain_lengths)
    for row, plain_row, n in zip(out, plain, lengths, strict=True):
        np.testing.assert_array_equal(row[:n], plain_row[:n])


def test_sampling_draws_from_the_model_distribution():
    """Frequencies of whole names against their exact probabilities."""
    rng = np.random.default_rng(3)
    weights = init_weights(
        rng, cell="gru", n_layers=1, hidden_size=4, n_tokens=3, dtype=np.float64
    )
    weights["b_y"][0] = 1.5  # names end early: few distinct names
    steps = RecurrentSteps(weights, "gru", 1)
    n = 40_000
    out, lengths = generation.sample(
        steps, [np.zeros(0, np.intp)] * n, np.random.RandomState(0), max_length=40
    )
    names = [tuple(row[:k]) for row, k in zip(out, lengths, strict=True)]
    for name in [(), (1,), (2,), (1, 1), (2, 1), (1, 2)]:
        codes = np.array(name, dtype=np.intp)
        batch = pad_batch(codes, np.array([0]), np.array([len(name)]), np.array([0]))
        p = np.exp(sequence_log_likelihood(weights, "gru", 1, *batch)[0])
        frequency = names.count(name) / n
        assert frequency == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n) + 1e-3)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_sample_is_the_same_on_any_thread_count(model, monkeypatch, n_threads):
    monkeypatch.setattr(generation, "_PART_ROWS", 64)
    monkeypatch.setattr("sklearn_charrnn.nn.parallel.thread_budget", lambda: 1)
    expected = model.sample(400, random_state=7)
    monkeypatch.setattr("sklearn_charrnn.nn.parallel.thread_budget", lambda: n_threads)
    assert model.sample(400, random_state=7) == expected


def test_max_length_counts_the_prefix(model):
    assert all(len(c) <= 6 for c in model.complete("ab", n_samples=20, max_length=6))
    with pytest.raises(ValueError, match="max_length=3 counts the prefix"):
        model.complete("abcde", max_length=3)
    assert model.complete("abcdefgh").startswith("abcdefgh")


def test_the_default_max_length_counts_from_the_end_of_the_prefix():
    """A prefix as long as the default cap got no room at all: every
    completion came back as the bare prefix, an end the model never drew."""
    from sklearn_charrnn import KneserNeyGenerator

    model = KneserNeyGenerator(order=2).fit(["ab", "ba", "aab", "abba"])
    cap = 2 * model.max_length_ + 10
    prefix = "ab" * (cap // 2)
    completions = model.complete(prefix, n_samples=50, random_state=0)
    assert all(c.startswith(prefix) for c in completions)
    assert all(len(c) <= len(prefix) + cap for c in completions)
    assert sum(c != prefix for c in completions) > 25  # 0 before; 37 here


@pytest.mark.parametrize(
    "tokens, kind",
    [
        (list("abc"), _sequences.STRING),
        (["a", "\x00", "c"], _sequences.STRING),  # NUL: the per-row path
        (["ab", 3, None], _sequences.TOKENS),
    ],
)
def test_decode_padded_matches_decode(tokens, kind):
    rng = np.random.default_rng(0)
    lengths = np.array([0, 1, 4, 2, 5])
    padded = np.zeros((5, 6), dtype=np.intp)
    for row, length in zip(padded, lengths, strict=True):
        row[:length] = rng.integers(1, len(tokens) + 1, length)
    got = _sequences.decode_padded(padded, lengths, kind, tokens)
    want = [
        _sequences.decode(row[:length], kind, tokens)
        for row, length in zip(padded, lengths, strict=True)
    ]
    assert got == want


def test_sequence_hash_is_blake2b_of_the_indices():
    sequence = [3, 1, 4, 1, 5]
    data = np.array(sequence, dtype="<u4").tobytes()
    expected = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    assert sequence_hash(sequence) == expected
    assert sequence_hash(sequence) != sequence_hash(sequence[:-1])


def test_sequence_hash_does_not_depend_on_the_process():
    code = "from sklearn_charrnn.generation import sequence_hash as h; print(h([7, 2]))"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == sequence_hash([7, 2])


def test_sequence_hashes_and_contains():
    codes = np.array([1, 2, 3, 4, 1, 2, 5])
    lengths = np.array([2, 2, 2, 1])  # [1 2], [3 4], [1 2], [5]
    table = sequence_hashes(codes, lengths)
    assert table.dtype == np.uint64 and table.size == 3
    assert np.all(table[1:] > table[:-1])
    queries = [sequence_hash(s) for s in ([1, 2], [5], [2, 1], [])]
    np.testing.assert_array_equal(contains(table, queries), [True, True, False, False])
    assert not contains(np.zeros(0, dtype=np.uint64), queries).any()


# --------------------------------------------------------- beam search


def _all_log_likelihoods(weights, cell, sequences):
    """Log-likelihood of every sequence (end token included), in one batch."""
    lengths = np.array([len(s) for s in sequences])
    codes = np.array([t for s in sequences for t in s], dtype=np.intp)
    offsets = np.cumsum(lengths) - lengths
    inputs, targets, mask = pad_batch(codes, offsets, lengths, np.arange(len(lengths)))
    return sequence_log_likelihood(weights, cell, 1, inputs, targets, mask)


@pytest.fixture(scope="module")
def tiny_network():
    """Two real tokens (1, 2), the end token 0 and a banned token 3."""
    rng = np.random.default_rng(3)
    weights = init_weights(
        rng, cell="gru", n_layers=1, hidden_size=6, n_tokens=4, dtype=np.float64
    )
    for w in weights.values():
        w += rng.normal(scale=0.8, size=w.shape)
    return weights


@pytest.mark.parametrize("prefix", [[], [2], [1, 2]])
@pytest.mark.parametrize("min_length", [0, 2])
def test_beam_search_is_exact_when_the_beam_holds_every_candidate(
    tiny_network, prefix, min_length
):
    max_length = 4
    # every sequence over {1, 2} that starts with prefix, within the lengths
    candidates = [
        [*prefix, *rest]
        for n in range(max_length - len(prefix) + 1)
        for rest in itertools.product([1, 2], repeat=n)
        if len(prefix) + n >= min_length
    ]
    truth = _all_log_likelihoods(tiny_network, "gru", candidates)
    order = np.argsort(-truth, kind="stable")
    k = 2 ** (max_length - len(prefix))  # no step ever has more candidates
    sequences, log_probs = beam_search(
        RecurrentSteps(tiny_network, "gru", 1),
        np.array(prefix),
        k,
        max_length=max_length,
        min_length=min_length,
        banned=(3,),
    )
    assert len(sequences) == min(k, len(candidates))
    np.testing.assert_allclose(log_probs, truth[order[: len(sequences)]], rtol=1e-12)
    assert {tuple(s) for s in sequences} == {
        tuple(candidates[i]) for i in order[: len(sequences)]
    }


def test_beam_search_skips_excluded_sequences(tiny_network):
    candidates = [
        list(s) for n in range(4) for s in itertools.product([1, 2], repeat=n)
    ]
    truth = _all_log_likelihoods(tiny_network, "gru", candidates)
    order = np.argsort(-truth, kind="stable")
    best_three = [candidates[i] for i in order[:3]]
    excluded = np.unique(np.array([sequence_hash(s) for s in best_three], np.uint64))
    sequences, log_probs = beam_search(
        RecurrentSteps(tiny_network, "gru", 1),
        np.array([]),
        8,  # holds every candidate of length <= 3 at every step
        max_length=3,
        banned=(3,),
        excluded=excluded,
    )
    assert [list(s) for s in sequences] == [candidates[i] for i in order[3:11]]
    np.testing.assert_allclose(log_probs, truth[order[3:11]], rtol=1e-12)


def test_beam_search_spends_no_slot_on_an_excluded_sequence_that_must_end(
    tiny_network,
):
    """At max_length a kept sequence can only end: an excluded one would take
    a slot and end nowhere (here the only slot, and nothing was returned)."""
    steps = RecurrentSteps(tiny_network, "gru", 1)
    state = steps.advance(steps.advance(steps.start(1), np.array([1])), np.array([2]))
    next_log_probs = steps.log_probs(state)[0]
    assert next_log_probs[1] > next_log_probs[2]  # [1, 2, 1] ranks first
    excluded = np.array([sequence_hash([1, 2, 1])], dtype=np.uint64)
    sequences, log_probs = beam_search(
        steps,
        np.array([1, 2]),
        1,
        max_length=3,
        min_length=3,
        banned=(3,),
        excluded=excluded,
    )
    assert [list(s) for s in sequences] == [[1, 2, 2]]
    np.testing.assert_allclose(
        log_probs, _all_log_likelihoods(tiny_network, "gru", [[1, 2, 2]]), rtol=1e-12
    )


@pytest.mark.parametrize("prefix", ["", "a", "tyr"])
def test_most_likely_log_likelihoods_are_score_samples(model, prefix):
    pairs = model.complete(prefix, n_samples=5, most_likely=True)
    names = [name for name, _ in pairs]
    log_likelihoods = np.array([ll for _, ll in pairs])
    assert len(set(names)) == 5
    assert all(name.startswith(prefix) for name in names)
    assert np.all(np.diff(log_likelihoods) <= 0)
    np.testing.assert_allclose(log_likelihoods, model.score_samples(names), rtol=1e-10)


def test_most_likely_in_float32_matches_score_samples(dinosaurs):
    model = _fit(dinosaurs[:200], hidden_size=16, max_iter=2, random_state=0)
    pairs = model.complete("br", n_samples=4, most_likely=True)
    names = [name for name, _ in pairs]
    np.testing.assert_allclose(
        [ll for _, ll in pairs], model.score_samples(names), rtol=1e-4
    )


def test_most_likely_is_deterministic_and_needs_no_seed(model):
    first = model.complete(["ab", "st"], n_samples=3, most_likely=True)
    again = model.complete(
        ["ab", "st"], n_samples=3, most_likely=True, random_state=123
    )
    assert first == again
    single = model.complete("ab", most_likely=True)
    assert single == first[0][0]


def test_most_likely_refuses_sampling_arguments(model):
    with pytest.raises(ValueError, match="temperature"):
        model.complete("ab", most_likely=True, temperature=0.5)
    with pytest.raises(ValueError, match="greedy"):
        model.complete("ab", most_likely=True, greedy=True)


# ---------------------------------------------------- sampling methods


def test_top_k_one_is_greedy(model):
    greedy = model.sample(3, greedy=True, random_state=0)
    assert greedy == model.sample(3, top_k=1, random_state=1)
    assert len(set(greedy)) == 1


def test_min_and_max_length(model):
    names = model.sample(60, min_length=6, max_length=9, random_state=0)
    assert all(6 <= len(name) <= 9 for name in names)
    completions = model.complete("ab", n_samples=30, min_length=5, random_state=0)
    assert all(len(c) >= 5 and c.startswith("ab") for c in completions)
    assert all(len(name) <= 3 for name in model.sample(30, max_length=3))


def test_default_max_length_leaves_room_for_min_length(model):
    long = model.sample(3, min_length=2 * model.max_length_ + 20, random_state=0)
    assert all(len(name) == 2 * model.max_length_ + 20 for name in long)


def test_lower_temperature_gives_more_likely_names(model):
    scores = [
        model.score(model.sample(200, temperature=t, min_length=1, random_state=0))
        for t in (0.5, 1.0, 2.0)
    ]
    assert scores[0] > scores[1] > scores[2]


def test_nucleus_and_top_k_sampling_run_through_the_estimator(model):
    names = model.sample(40, top_k=3, top_p=0.9, random_state=0)
    assert len(names) == 40
    # top_k=3 never takes a token outside the three most probable allowed ones
    for name in names[:10]:
        codes = [model.vocabulary_[c] for c in name] + [0]
        steps = model._steps()
        state = steps.start(1)
        for code in codes:
            allowed = steps.log_probs(state)[0].copy()
            allowed[model._unknown_index()] = -np.inf
            assert code in np.argsort(-allowed)[:3], name
            state = steps.advance(state, np.array([code]))


def test_seeds(model, dinosaurs):
    assert model.sample(5, random_state=3) == model.sample(5, random_state=3)
    assert model.sample(5, random_state=3) != model.sample(5, random_state=4)
    # without random_state, sampling uses the estimator's own
    seeded = _fit(dinosaurs[:50], hidden_size=8, max_iter=1, random_state=7)
    assert seeded.sample(4) == seeded.sample(4) == seeded.sample(4, random_state=7)


def test_complete_shapes(model):
    one = model.complete("ab", random_state=0)
    assert isinstance(one, str) and one.startswith("ab")
    three = model.complete("ab", n_samples=3, random_state=0)
    assert len(three) == 3 and all(c.startswith("ab") for c in three)
    nested = model.complete(["ab", "ce"], n_samples=2, random_state=0)
    assert [len(group) for group in nested] == [2, 2]
    assert all(
        c.startswith(p) for p, g in zip(["ab", "ce"], nested, strict=True) for c in g
    )
    flat = model.complete(["ab", "ce"], random_state=0)
    assert [c[:2] for c in flat] == ["ab", "ce"]


def test_token_model_completes_token_lists():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 5, size=(40, 4))
    model = _fit(X, hidden_size=8, max_iter=2, early_stopping=False, random_state=0)
    pairs = model.complete([1, 2], n_samples=2, most_likely=True)
    assert all(tokens[:2] == [1, 2] for tokens, _ in pairs)
    drawn = model.complete([[1], [2, 3]], n_samples=2, random_state=0)
    assert all(seq[0] == 1 for seq in drawn[0])
    assert all(seq[:2] == [2, 3] for seq in drawn[1])
    # rows of an array are prefixes too; mixed or unhashable items are named
    from_rows = model.complete(list(np.array([[1], [2]])), random_state=0)
    assert [seq[0] for seq in from_rows] == [1, 2]
    # and arrays themselves: a 1-D array is one prefix (X[0, :2]), a 2-D
    # array one prefix per row, as their lists are
    assert model.complete(X[0, :2], random_state=0) == model.complete(
        X[0, :2].tolist(), random_state=0
    )
    assert model.complete(X[:3, :2], random_state=0) == model.complete(
        X[:3, :2].tolist(), random_state=0
    )
    with pytest.raises(TypeError, match=r"or a list \(or 2-D array\) of such rows"):
        model.complete(X[:2, :2, None])
    with pytest.raises(TypeError, match=r"mixes tokens and lists of tokens \(item 0"):
        model.complete([[1, 2], 3])
    with pytest.raises(TypeError, match="holds a dict: a token is a str, int"):
        model.complete([1, {2: 3}])


# ---------------------------------------------------- exclude_training


def test_training_hashes_record_the_training_names(dinosaurs):
    names = dinosaurs[:50] + dinosaurs[:10]  # duplicates count once
    model = _fit(names, hidden_size=8, max_iter=1, random_state=0)
    vocabulary = model.vocabulary_

    def blake(name):
        data = np.array([vocabulary[c] for c in name], dtype="<u4").tobytes()
        digest = hashlib.blake2b(data, digest_size=8).digest()
        return int.from_bytes(digest, "little")

    expected = np.array(sorted({blake(n) for n in names}), dtype=np.uint64)
    np.testing.assert_array_equal(model.training_hashes_, expected)
    assert model.training_hashes_.nbytes == 8 * 50


def test_training_hashes_follow_fit_partial_fit_and_warm_start():
    first, second = ["abc", "cab", "bca"], ["aab", "ccb"]  # same characters
    model = _fit(first, hidden_size=8, max_iter=1, early_stopping=False)
    assert model.training_hashes_.size == 3
    model.partial_fit(second)
    assert model.training_hashes_.size == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(second)  # a fresh fit forgets the first names
        assert model.training_hashes_.size == 2
        model.set_params(warm_start=True).fit(first)
    assert model.training_hashes_.size == 5


def test_exclude_training_returns_only_new_names(parrot):
    names = parrot.sample(20, exclude_training=True, random_state=0)
    assert len(names) == 20
    assert not set(names) & set(MEMORISED)
    completions = parrot.complete(
        ["a", "e"], n_samples=3, temperature=2.0, exclude_training=True
    )
    for prefix, group in zip(["a", "e"], completions, strict=True):
        assert len(group) == 3
        assert all(c.startswith(prefix) and c not in MEMORISED for c in group)


def test_exclude_training_draws_as_many_rounds_as_a_large_call_needs(
    parrot, monkeypatch
):
    """Rounds of at most _NEW_ROUND_SIZE draws, as many as the budget of
    draws fills: a call for more sequences than 20 rounds could draw, from a
    model that mostly repeats its training names (about one draw in ten is
    new), gets them all."""
    from sklearn_charrnn import _generator

    monkeypatch.setattr(_generator, "_NEW_ROUND_SIZE", 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "found only" warning
        names = parrot.sample(500, exclude_training=True, random_state=0)
    assert len(names) == 500 and not set(names) & set(MEMORISED)


def test_exclude_training_most_likely(parrot):
    best = [name for name, _ in parrot.complete("", n_samples=5, most_likely=True)]
    assert set(best) == set(MEMORISED)  # what it would give without the option
    pairs = parrot.complete("", n_samples=3, most_likely=True, exclude_training=True)
    assert len(pairs) == 3
    assert not {name for name, _ in pairs} & set(MEMORISED)
    np.testing.assert_allclose(
        [ll for _, ll in pairs], parrot.score_samples([n for n, _ in pairs]), rtol=1e-4
    )


def test_beam_search_short_of_new_sequences_says_it_may_have_passed_some():
    from sklearn_charrnn import KneserNeyGenerator

    # every a/b string of 1 to 3 letters but "bbb", those without a "b" in
    # their first two letters four times: up to 3 letters the new ones are ""
    # and "bbb", and training sequences fill a beam of 2
    X = ["".join(p) for n in (1, 2, 3) for p in itertools.product("ab", repeat=n)]
    X = [x for x in X if x != "bbb"]
    gen = KneserNeyGenerator(order=3).fit(X + [x for x in X if "b" not in x[:2]] * 3)
    kwargs = dict(most_likely=True, max_length=3, exclude_training=True)
    with pytest.warns(UserWarning, match="Found only 1 of 2 new") as record:
        assert [name for name, _ in gen.complete("", n_samples=2, **kwargs)] == [""]
    message = str(record[0].message)
    assert "the others were in the training data" not in message
    assert "may have passed new ones by" in message and "Raise n_samples" in message
    # as wide as every candidate, the 14 excluded ones included: exact
    with pytest.warns(UserWarning, match="Found only 2 of 15 new"):
        found = gen.complete("", n_samples=15, **kwargs)
    assert [name for name, _ in found] == ["", "bbb"]


def test_exclude_training_warns_when_it_runs_out(parrot):
    assert parrot.sample(1, greedy=True)[0] in MEMORISED
    with pytest.warns(
        UserWarning, match=r"Found only 0 of 5 new sequences in 5 draws"
    ) as record:
        assert parrot.sample(5, greedy=True, exclude_training=True) == []
    # no advice that greedy ignores
    assert "draw (without greedy)" in str(record[0].message)
    assert "temperature" not in str(record[0].message)
    # a cold model nearly always repeats itself: bounded draws, then a warning
    with pytest.warns(UserWarning, match="new sequences in") as record:
        found = parrot.sample(4, temperature=0.02, exclude_training=True)
    assert len(found) < 4
    draws = int(re.search(r"in (\d+) draws", str(record[0].message)).group(1))
    assert draws <= 100 * 4


def test_exclude_training_complete_without_n_samples_raises(parrot):
    prefix = parrot.complete("", greedy=True)[:1]
    assert parrot.complete(prefix, greedy=True) in MEMORISED
    with pytest.raises(ValueError, match="Pass n_samples"):
        parrot.complete(prefix, greedy=True, exclude_training=True)
    with pytest.warns(UserWarning, match=f"starting with '{prefix}'"):
        short = parrot.complete(prefix, n_samples=2, greedy=True, exclude_training=True)
    assert short == []


# --------------------------------------------------------- validation


@pytest.mark.parametrize(
    "method, kwargs, name",
    [
        ("sample", {"n_samples": 0}, "n_samples"),
        ("sample", {"n_samples": 2.0}, "n_samples"),
        ("sample", {"temperature": 0}, "temperature"),
        ("sample", {"temperature": -1.0}, "temperature"),
        ("sample", {"temperature": float("nan")}, "temperature"),
        ("sample", {"temperature": "hot"}, "temperature"),
        ("sample", {"top_k": 0}, "top_k"),
        ("sample", {"top_k": 2.5}, "top_k"),
        ("sample", {"top_p": 0.0}, "top_p"),
        ("sample", {"top_p": 1.5}, "top_p"),
        ("sample", {"greedy": "yes"}, "greedy"),
        ("sample", {"min_length": -1}, "min_length"),
        ("sample", {"max_length": 0}, "max_length"),
        ("sample", {"min_length": 5, "max_length": 3}, "min_length"),
        ("sample", {"exclude_training": 1}, "exclude_training"),
        ("sample", {"random_state": "seed"}, "random_state"),
        ("complete", {"n_samples": 0}, "n_samples"),
        ("complete", {"most_likely": "yes"}, "most_likely"),
        ("complete", {"top_p": -0.1}, "top_p"),
    ],
)
def test_invalid_generation_arguments(model, method, kwargs, name):
    args = ("ab",) if method == "complete" else ()
    with pytest.raises((ValueError, TypeError), match=name):
        getattr(model, method)(*args, **kwargs)


def test_arguments_are_keyword_only(model):
    with pytest.raises(TypeError):
        model.sample(2, 0.5)
    with pytest.raises(TypeError):
        model.complete("ab", 2)


def test_concurrent_calls_from_threads_draw_what_serial_calls_draw(model):
    import threading

    seeds = range(6)
    expected = {seed: model.sample(200, random_state=seed) for seed in seeds}
    got = {}

    def draw(seed):
        for _ in range(3):
            got[seed] = model.sample(200, random_state=seed)

    threads = [threading.Thread(target=draw, args=(seed,)) for seed in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == expected


@pytest.mark.parametrize("n", [0, 1, 63, 8192, 8193, 10_000, 50_001])
@pytest.mark.parametrize("n_tokens", [28, 3000])
def test_sampling_parts_are_even_and_cover_every_sequence(n, n_tokens):
    parts = generation.part_slices(n, n_tokens)
    sizes = [p.stop - p.start for p in parts]
    assert (
        sum(sizes) == n
        and [p.start for p in parts] == list(np.cumsum([0, *sizes[:-1]]))[: len(parts)]
    )
    if n:
        assert max(sizes) <= generation.part_rows(n_tokens)
        assert max(sizes) - min(sizes) <= 1
        assert len(parts) == -(-n // generation.part_rows(n_tokens))


def test_tokens_that_may_not_come_are_minus_inf():
    """NaN, a banned token and an early end are -inf; a row left with no
    token may end (and only end)."""
    log_probs = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 1.0], [0.2, 0.3, 0.5]]))
    log_probs[1, 2] = -np.inf
    log_probs[0, 1] = np.nan
    log_probs[1, 1] = np.nan
    options = {"banned": np.array([2]), "min_length": 0}
    z, top = generation._allowed_log_probs(log_probs, 0, options)  # (V, G)
    assert top.tolist() == [np.log(0.1), np.log(0.5), np.log(0.3)]
    assert z.shape == (3, 3) and z.dtype == np.float64
    assert z[0, 0] == np.log(0.1) and z[0, 2] == np.log(0.2)
    assert np.all(z[1:, 0] == -np.inf) and np.all(z[2] == -np.inf)
    assert z[:, 1].tolist() == [np.log(0.5), -np.inf, -np.inf]
    z, top = generation._allowed_log_probs(log_probs, 0, {**options, "min_length": 1})
    assert top.tolist() == [0.0, 0.0, np.log(0.3)]
    for stuck in (0, 1):  # no token left: it may end
        assert z[:, stuck].tolist() == [0.0, -np.inf, -np.inf]
    assert z[:, 2].tolist() == [-np.inf, np.log(0.3), -np.inf]
