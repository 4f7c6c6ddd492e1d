"""Generation: batched sampling, beam search, and the training-name hashes.

Every function reads token indices: 0 is the start/end token. Sampling
advances every sequence one token per step together; beam search keeps the
``k`` most probable partial sequences of one prefix. Log-probabilities are in
nats and, like :meth:`CharRNNGenerator.score_samples`, a finished sequence's
log-probability counts its tokens and its end token.
"""

import hashlib

import numpy as np

from .network import next_token_log_probs


def filter_log_probs(log_probs, *, temperature=1.0, top_k=None, top_p=None):
    """Reshape next-token distributions for sampling.

    Parameters
    ----------
    log_probs : ndarray of shape (B, V)
        Log-probabilities; ``-inf`` marks tokens that may not be drawn.
    temperature : float, default=1.0
        Divides the log-probabilities: below 1 sharpens (safer), above 1
        flattens (more adventurous).
    top_k : int, default=None
        Keep only the ``top_k`` most probable tokens.
    top_p : float, default=None
        Keep the smallest set of most probable tokens whose probability adds
        up to at least ``top_p`` (nucleus sampling).

    Returns
    -------
    probs : ndarray of shape (B, V), dtype float64
        Normalised probabilities.
    """
    logits = log_probs.astype(np.float64) / temperature  # (B, V)
    if top_k is not None and top_k < logits.shape[1]:
        kth = -np.partition(-logits, top_k - 1, axis=1)[:, top_k - 1 : top_k]
        logits[logits < kth] = -np.inf
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, axis=1, kind="stable")  # (B, V)
        sorted_probs = np.take_along_axis(probs, order, axis=1)
        # keep a token when the mass before it is still below top_p
        mass_before = np.cumsum(sorted_probs, axis=1) - sorted_probs
        drop_sorted = mass_before >= top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=1)
        probs[drop] = 0.0
        probs /= probs.sum(axis=1, keepdims=True)
    return probs


def draw(probs, rng):
    """Draw one index per row of ``probs`` by inverting the CDF."""
    cdf = np.cumsum(probs, axis=1)  # (B, V)
    u = rng.random(probs.shape[0]) * cdf[:, -1]  # (B,)
    index = (cdf <= u[:, None]).sum(axis=1)
    # never step past the last token with nonzero probability
    last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    return np.minimum(index, last)


def generate(
    weights,
    cell,
    n_layers,
    prefixes,
    rng,
    *,
    banned=(),
    temperature=1.0,
    top_k=None,
    top_p=None,
    greedy=False,
    min_length=0,
    max_length=50,
):
    """Generate one sequence for each prefix, all advancing together.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    prefixes : list of ndarray of int
        Token indices each sequence must start with (empty for free samples).
        The prefix is fed one token at a time.
    rng : numpy.random.RandomState
    banned : sequence of int, default=()
        Token indices that are never drawn (the unknown token).
    temperature, top_k, top_p : see :func:`filter_log_probs`
    greedy : bool, default=False
        Take the most probable token at every step instead of drawing.
    min_length : int, default=0
        The end token (index 0) cannot be drawn before a sequence holds this
        many tokens.
    max_length : int, default=50
        A sequence stops at this many tokens (prefix included) even without
        an end token.

    Returns
    -------
    sequences : list of ndarray of int
        Token indices of each sequence, prefix included, end token excluded.
    """
    n = len(prefixes)
    lengths = np.array([len(p) for p in prefixes])
    longest = max(int(lengths.max(initial=0)), max_length)
    out = np.zeros((n, longest), dtype=np.intp)  # (n, L)
    for i, p in enumerate(prefixes):
        out[i, : len(p)] = p
    final_length = np.full(n, max_length)
    final_length = np.maximum(final_length, lengths)
    banned = np.asarray(banned, dtype=np.intp)

    active = np.arange(n)  # rows still generating
    tokens = np.zeros(n, dtype=np.intp)  # (n,) token read now: the start token
    states = None
    t = 0
    while active.size:
        log_probs, states = next_token_log_probs(
            weights, cell, n_layers, tokens, states
        )  # (A, V)
        forced = t < lengths[active]
        nxt = np.empty(active.size, dtype=np.intp)
        nxt[forced] = out[active[forced], t]
        free = ~forced
        if free.any():
            lp = log_probs[free].copy()
            lp[:, banned] = -np.inf
            if t < min_length:
                lp[:, 0] = -np.inf
            if greedy:
                nxt[free] = np.argmax(lp, axis=1)
            else:
                probs = filter_log_probs(
                    lp, temperature=temperature, top_k=top_k, top_p=top_p
                )
                nxt[free] = draw(probs, rng)
        ended = (nxt == 0) & free
        final_length[active[ended]] = t
        keep_writing = ~ended
        out[active[keep_writing], t] = nxt[keep_writing]
        t += 1
        still = keep_writing & (t < final_length[active])
        active = active[still]
        tokens = nxt[still]
        states = [tuple(s[still] for s in layer) for layer in states]
    return [out[i, : final_length[i]] for i in range(n)]


def sequence_hash(sequence):
    """A stable 64-bit hash of one sequence of token indices.

    BLAKE2b with an 8-byte digest of the indices as little-endian uint32: the
    same sequence hashes the same in every process and Python version (unlike
    the salted built-in ``hash``).

    Parameters
    ----------
    sequence : array-like of int
        Token indices, without the start and end tokens.

    Returns
    -------
    digest : int
        In ``[0, 2**64)``.
    """
    data = np.asarray(sequence, dtype="<u4").tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def sequence_hashes(codes, lengths):
    """The sorted, distinct hashes of the sequences of a flat code array.

    Parameters
    ----------
    codes : ndarray of shape (total_length,)
        Every sequence's token indices, end to end.
    lengths : ndarray of shape (n_samples,)

    Returns
    -------
    hashes : ndarray of shape (n_distinct,), dtype uint64
        8 bytes per distinct sequence, sorted for :func:`contains`.
    """
    ends = np.cumsum(lengths)  # (n,)
    starts = ends - lengths
    hashes = np.fromiter(
        (sequence_hash(codes[a:b]) for a, b in zip(starts, ends, strict=True)),
        dtype=np.uint64,
        count=len(lengths),
    )
    return np.unique(hashes)


def contains(table, hashes):
    """Which of ``hashes`` are in the sorted ``table`` (both uint64)."""
    hashes = np.asarray(hashes, dtype=np.uint64)  # (n,)
    if table.size == 0:
        return np.zeros(hashes.shape, dtype=bool)
    index = np.minimum(np.searchsorted(table, hashes), table.size - 1)
    return table[index] == hashes


def beam_search(
    weights,
    cell,
    n_layers,
    prefix,
    k,
    *,
    max_length,
    min_length=0,
    banned=(),
    excluded=None,
):
    """The ``k`` most probable sequences that start with ``prefix``.

    Beam search: after reading the prefix, every step extends each kept
    sequence by every allowed token and keeps the ``k`` most probable
    extensions; a sequence is finished when its extension is the end token.
    Extending a sequence can only lower its log-probability, so the search
    stops as soon as no kept sequence can beat the ``k``-th finished one.
    Like every beam search it can miss a sequence whose start ranked below
    the ``k``-th at some step; it is exact for ``k`` at least the number of
    candidates.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    prefix : ndarray of int
        Token indices every sequence starts with (may be empty).
    k : int
        Number of sequences to return (fewer if fewer exist).
    max_length : int
        A sequence that reaches this many tokens (prefix included) must end
        there: only its end token is considered.
    min_length : int, default=0
        The end token is not considered before a sequence holds this many
        tokens (prefix included).
    banned : sequence of int, default=()
        Token indices never used (the unknown token).
    excluded : ndarray of uint64, default=None
        Sorted :func:`sequence_hash` values of sequences that may not be
        returned (the training sequences); the search goes on past them.

    Returns
    -------
    sequences : list of ndarray of int
        At most ``k`` sequences, most probable first; each holds the prefix
        and the generated tokens, not the end token.
    log_probs : ndarray of shape (len(sequences),), dtype float64
        Log-probability of each sequence followed by the end token (the
        prefix included): what ``score_samples`` gives for it.
    """
    prefix = np.asarray(prefix, dtype=np.intp)
    banned = np.asarray(banned, dtype=np.intp)
    last_length = max(max_length, prefix.size)

    tokens = np.zeros(1, dtype=np.intp)  # (1,) the start token
    states = None
    prefix_log_prob = 0.0
    for token in prefix:
        log_probs, states = next_token_log_probs(
            weights, cell, n_layers, tokens, states
        )  # (1, V)
        prefix_log_prob += float(log_probs[0, token])
        tokens = np.array([token], dtype=np.intp)

    beams = prefix[None, :]  # (A, t) the kept sequences
    scores = np.array([prefix_log_prob])  # (A,)
    finished = []  # (log_prob, sequence), most probable first
    length = prefix.size
    while beams.shape[0]:
        log_probs, states = next_token_log_probs(
            weights, cell, n_layers, tokens, states
        )  # (A, V)
        extended = scores[:, None] + log_probs.astype(np.float64)  # (A, V)
        extended[:, banned] = -np.inf
        if length >= min_length:
            rows = np.flatnonzero(np.isfinite(extended[:, 0]))
            if excluded is not None:
                hashes = [sequence_hash(beams[row]) for row in rows]
                rows = rows[~contains(excluded, hashes)]
            finished.extend((float(extended[row, 0]), beams[row]) for row in rows)
            finished.sort(key=lambda item: -item[0])
            del finished[k:]
        if length >= last_length:
            break
        extended[:, 0] = -np.inf
        flat = extended.ravel()  # (A * V,)
        best = np.argsort(-flat, kind="stable")[:k]
        best = best[np.isfinite(flat[best])]
        if len(finished) == k:
            best = best[flat[best] > finished[-1][0]]
        parent, token = np.divmod(best, extended.shape[1])
        beams = np.concatenate([beams[parent], token[:, None]], axis=1)
        scores = flat[best]
        states = [tuple(s[parent] for s in layer) for layer in states]
        tokens = token
        length += 1
    sequences = [sequence for _, sequence in finished]
    return sequences, np.array([log_prob for log_prob, _ in finished])
