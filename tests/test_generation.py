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

from sklearn_charrnn import CharRNNGenerator, _sequences
from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.nn import sampling
from sklearn_charrnn.nn.network import (
    advance,
    init_weights,
    next_token_log_probs,
    sequence_log_likelihood,
)
from sklearn_charrnn.nn.sampling import (
    beam_search,
    contains,
    draw,
    filter_log_probs,
    generate,
    sequence_hash,
    sequence_hashes,
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
    np.testing.assert_allclose(filter_log_probs(log_probs), np.exp(log_probs))
    cold = filter_log_probs(log_probs, temperature=0.5)
    expected = np.exp(2 * log_probs)
    np.testing.assert_allclose(cold, expected / expected.sum(1, keepdims=True))

    def entropy(p):
        return -(p * np.log(p)).sum(axis=1)

    hot = filter_log_probs(log_probs, temperature=2.0)
    assert np.all(entropy(cold) < entropy(np.exp(log_probs)))
    assert np.all(entropy(np.exp(log_probs)) < entropy(hot))


@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_top_k_keeps_the_k_most_probable(top_k):
    rng = np.random.default_rng(1)
    log_probs = np.log(rng.dirichlet(np.ones(8), size=4))  # (4, 8)
    probs = filter_log_probs(log_probs, top_k=top_k)
    for row, lp in zip(probs, log_probs, strict=True):
        kept = np.flatnonzero(row)
        np.testing.assert_array_equal(np.sort(kept), np.sort(np.argsort(-lp)[:top_k]))
        np.testing.assert_allclose(row[kept], np.exp(lp[kept]) / np.exp(lp[kept]).sum())


@pytest.mark.parametrize("top_p", [0.3, 0.75, 0.95, 1.0])
def test_top_p_keeps_the_smallest_nucleus(top_p):
    rng = np.random.default_rng(2)
    log_probs = np.log(rng.dirichlet(np.ones(10), size=5))  # (5, 10)
    probs = filter_log_probs(log_probs, top_p=top_p)
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
    probs = np.array([0.5, 0.0, 0.2, 0.3, 0.0])
    rng = np.random.RandomState(0)
    cdf = np.cumsum(probs)[:, None]  # (V, 1): one group
    drawn = draw(cdf / cdf[-1], np.zeros(20_000, dtype=np.intp), rng.random(20_000))
    frequencies = np.bincount(drawn, minlength=probs.size) / drawn.size
    np.testing.assert_allclose(frequencies, probs, atol=0.015)
    assert frequencies[1] == 0 and frequencies[4] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_draw_never_passes_the_last_probable_token(dtype):
    probs = np.array([0.2, 0.5, 0.3, 0.0, 0.0], dtype=dtype)
    cdf = np.cumsum(probs)[:, None]
    cdf /= cdf[-1]
    # 1 - 1e-10 is 1.0 in float32: the draw must still stop at token 2
    for u in (0.0, 0.2, 0.69, 0.7, 1 - 1e-10):
        (token,) = draw(cdf, np.zeros(1, dtype=np.intp), np.array([u]))
        assert token == (0 if u < 0.2 else 1 if u < 0.7 else 2)


def test_greedy_takes_the_most_probable_token_at_every_step(model):
    weights, cell, n_layers = model.weights_, model.cell, model.n_layers
    unknown = model._unknown_index()
    (sequence,) = generate(
        weights,
        cell,
        n_layers,
        [np.zeros(0, dtype=np.intp)],
        np.random.RandomState(0),
        banned=(unknown,),
        greedy=True,
        min_length=4,
        max_length=30,
    )
    tokens, states = np.zeros(1, dtype=np.intp), None
    for t, token in enumerate([*sequence, 0]):
        log_probs, states = next_token_log_probs(
            weights, cell, n_layers, tokens, states
        )
        allowed = log_probs[0].copy()
        allowed[unknown] = -np.inf
        if t < 4:
            allowed[0] = -np.inf
        if t == 30:  # stopped by max_length, without an end token
            break
        assert token == np.argmax(allowed)
        tokens = np.array([token])
    assert len(sequence) >= 4


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_advance_shares_the_products_of_a_common_past(cell, n_layers):
    rng = np.random.default_rng(0)
    weights = init_weights(
        rng, cell=cell, n_layers=n_layers, hidden_size=6, n_tokens=9, dtype=np.float64
    )
    n_states = 2 if cell == "lstm" else 1
    states = [
        tuple(rng.standard_normal((4, 6)) for _ in range(n_states))
        for _ in range(n_layers)
    ]  # four pasts
    parent = np.array([0, 0, 2, 3, 3, 3])  # row 1 has no continuation
    tokens = np.array([1, 5, 2, 2, 7, 8])
    shared_top, shared_states = advance(weights, cell, n_layers, tokens, states, parent)
    alone = [tuple(s[parent] for s in layer) for layer in states]
    top, expected_states = advance(weights, cell, n_layers, tokens, alone)
    np.testing.assert_allclose(shared_top, top, rtol=1e-12, atol=1e-12)
    for got, want in zip(shared_states, expected_states, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _reference_sample(model, n, seed, max_length):
    """Every sequence on its own row, nothing shared: the plain algorithm."""
    weights, cell, n_layers = model.weights_, model.cell, model.n_layers
    rng = np.random.RandomState(seed)
    unknown = model._unknown_index()
    sequences = [[] for _ in range(n)]
    active = np.arange(n)
    tokens, states = np.zeros(n, dtype=np.intp), None
    for _ in range(max_length):
        log_probs, states = next_token_log_probs(
            weights, cell, n_layers, tokens, states
        )  # (A, V)
        probs = np.exp(log_probs.astype(np.float64))
        probs[:, unknown] = 0.0
        cdf = np.cumsum(probs, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random(n)[active]  # one number per sequence and step
        nxt = (cdf <= u[:, None]).sum(axis=1)
        going = nxt != 0
        for row, token in zip(active[going], nxt[going], strict=True):
            sequences[row].append(int(token))
        active, tokens = active[going], nxt[going]
        states = [tuple(s[going] for s in layer) for layer in states]
        if not active.size:
            break
    return sequences


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("split_at", [2, 40, 10**9])
def test_split_groups_draw_what_the_plain_algorithm_draws(
    model, monkeypatch, n_threads, split_at
):
    """Sharing the steps of a common past, with the groups split in halves
    on one thread or two, or not split: every sequence still draws what it
    draws alone (float64 model)."""
    monkeypatch.setattr(sampling, "_SPLIT_GROUPS", split_at)
    expected = _reference_sample(model, 300, seed=3, max_length=20)
    got = generate(
        model.weights_,
        model.cell,
        model.n_layers,
        [np.zeros(0, dtype=np.intp)] * 300,
        np.random.RandomState(3),
        banned=(model._unknown_index(),),
        max_length=20,
        n_threads=n_threads,
    )
    assert [list(s) for s in got] == expected


def test_parts_run_as_calls_one_after_the_other(model, monkeypatch):
    def draw_padded(count, rng):
        return sampling.generate_padded(
            model.weights_,
            model.cell,
            model.n_layers,
            [np.zeros(0, dtype=np.intp)] * count,
            rng,
            banned=(model._unknown_index(),),
            max_length=20,
        )

    monkeypatch.setattr(sampling, "_PART_MAX", 70)
    out, lengths = draw_padded(300, np.random.RandomState(5))
    monkeypatch.setattr(sampling, "_PART_MAX", 10**9)
    rng = np.random.RandomState(5)
    for start in range(0, 300, 70):
        part_out, part_lengths = draw_padded(min(70, 300 - start), rng)
        np.testing.assert_array_equal(out[start : start + 70], part_out)
        np.testing.assert_array_equal(lengths[start : start + 70], part_lengths)


def test_halves_split_between_groups_at_half_the_rows():
    group = np.array([0, 0, 0, 0, 1, 2, 2, 3])  # rows per group: 4, 1, 2, 1
    parent = np.array([0, 0, 1, 2])  # groups 0 and 1 continue row 0
    states = [(np.arange(3.0)[:, None] * np.ones((1, 2)),)]
    run = sampling._Run(
        np.arange(10, 18), group, np.array([5, 6, 7, 8]), states, parent, 4
    )
    first, second = run.halves()
    np.testing.assert_array_equal(first.active, [10, 11, 12, 13])
    np.testing.assert_array_equal(first.group, [0, 0, 0, 0])
    np.testing.assert_array_equal(first.group_tokens, [5])
    np.testing.assert_array_equal(second.active, [14, 15, 16, 17])
    np.testing.assert_array_equal(second.group, [0, 1, 1, 2])
    np.testing.assert_array_equal(second.group_tokens, [6, 7, 8])
    # each half holds the states its groups continue, and points into them
    np.testing.assert_array_equal(first.states[0][0][first.parent], [[0, 0]])
    np.testing.assert_array_equal(
        second.states[0][0][second.parent], [[0, 0], [1, 1], [2, 2]]
    )
    assert first.t == second.t == 4


@pytest.mark.parametrize("max_length", [12, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_prefixes_of_every_length_draw_the_same_split_or_not(
    model, monkeypatch, n_threads, max_length
):
    rng = np.random.default_rng(0)
    n_tokens = len(model.vocabulary_)
    prefixes = [rng.integers(1, n_tokens + 1, rng.integers(0, 5)) for _ in range(230)]

    def draw_padded():
        return sampling.generate_padded(
            model.weights_,
            model.cell,
            model.n_layers,
            prefixes,
            np.random.RandomState(0),
            banned=(model._unknown_index(),),
            max_length=max_length,
            n_threads=n_threads,
        )

    whole = draw_padded()
    monkeypatch.setattr(sampling, "_SPLIT_GROUPS", 3)
    split = draw_padded()
    np.testing.assert_array_equal(split[0], whole[0])
    np.testing.assert_array_equal(split[1], whole[1])
    for prefix, row, length in zip(prefixes, *whole, strict=True):
        assert list(row[: len(prefix)]) == list(prefix) and length >= len(prefix)
        assert length <= max(len(prefix), max_length)
        assert row[:length].all() and not row[length:].any()
    assert (whole[1] == max_length).any()  # some stopped by the length limit


def test_sampling_computes_the_same_bits_on_one_thread_or_two(monkeypatch):
    """BLAS may round a row differently in a taller matrix: the groups must
    be split the same way whatever the threads, or a float32 draw could
    flip between machines."""
    weights = init_weights(
        np.random.default_rng(0),
        cell="gru",
        n_layers=2,
        hidden_size=48,
        n_tokens=12,
        dtype=np.dtype("float32"),
    )
    monkeypatch.setattr(sampling, "_SPLIT_GROUPS", 16)
    group_cdf = sampling._group_cdf
    seen = []

    def recording(logits, t, options):
        cdf = group_cdf(logits, t, options)
        seen.append((t, cdf.shape, cdf.tobytes()))
        return cdf

    monkeypatch.setattr(sampling, "_group_cdf", recording)
    results = {}
    for n_threads in (1, 2):
        seen.clear()
        out, lengths = sampling.generate_padded(
            weights,
            "gru",
            2,
            [np.zeros(0, dtype=np.intp)] * 500,
            np.random.RandomState(0),
            banned=(11,),
            max_length=8,
            n_threads=n_threads,
        )
        results[n_threads] = (sorted(seen), out, lengths)
    one, two = results[1], results[2]
    assert len(one[0]) > 10 and one[0] == two[0]  # every step's cdf, bit for bit
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("n_threads", [1, 2])
def test_sample_is_the_same_on_any_thread_count(model, monkeypatch, n_threads):
    monkeypatch.setattr(sampling, "_SPLIT_GROUPS", 4)
    monkeypatch.setattr("sklearn_charrnn._estimator._thread_budget", lambda: 1)
    expected = model.sample(400, random_state=7)
    monkeypatch.setattr("sklearn_charrnn._estimator._thread_budget", lambda: n_threads)
    assert model.sample(400, random_state=7) == expected


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
    code = (
        "from sklearn_charrnn.nn.sampling import sequence_hash as h; print(h([7, 2]))"
    )
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
        tiny_network,
        "gru",
        1,
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
        tiny_network,
        "gru",
        1,
        np.array([]),
        8,  # holds every candidate of length <= 3 at every step
        max_length=3,
        banned=(3,),
        excluded=excluded,
    )
    assert [list(s) for s in sequences] == [candidates[i] for i in order[3:11]]
    np.testing.assert_allclose(log_probs, truth[order[3:11]], rtol=1e-12)


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
        codes = [0] + [model.vocabulary_[c] for c in name] + [0]
        states = None
        for t in range(len(codes) - 1):
            log_probs, states = next_token_log_probs(
                model.weights_, model.cell, 1, np.array([codes[t]]), states
            )
            allowed = log_probs[0].copy()
            allowed[model._unknown_index()] = -np.inf
            assert codes[t + 1] in np.argsort(-allowed)[:3], name


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


def test_exclude_training_most_likely(parrot):
    best = [name for name, _ in parrot.complete("", n_samples=5, most_likely=True)]
    assert set(best) == set(MEMORISED)  # what it would give without the option
    pairs = parrot.complete("", n_samples=3, most_likely=True, exclude_training=True)
    assert len(pairs) == 3
    assert not {name for name, _ in pairs} & set(MEMORISED)
    np.testing.assert_allclose(
        [ll for _, ll in pairs], parrot.score_samples([n for n, _ in pairs]), rtol=1e-4
    )


def test_exclude_training_warns_when_it_runs_out(parrot):
    assert parrot.sample(1, greedy=True)[0] in MEMORISED
    with pytest.warns(UserWarning, match=r"Found only 0 of 5 new sequences in 5 draws"):
        assert parrot.sample(5, greedy=True, exclude_training=True) == []
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


def test_scratch_memory_is_kept_per_thread_and_dropped_when_large(model, monkeypatch):
    expected = model.sample(300, random_state=2)
    sampling._WORKSPACES.works = None
    assert model.sample(300, random_state=2) == expected
    kept = sampling._WORKSPACES.works
    assert kept is not None  # small: kept for the next call
    assert model.sample(300, random_state=2) == expected  # reused, same draws
    assert sampling._WORKSPACES.works is kept
    monkeypatch.setattr(sampling, "_KEEP_BYTES", 0)
    assert model.sample(300, random_state=2) == expected
    assert sampling._WORKSPACES.works is None  # too large: dropped


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
