"""Generation over the step interface: sampling, beam search, name hashes.

The step interface
------------------
Every generator hands generation its fitted model as an object with one
attribute and three methods, and generation uses nothing else:

``n_tokens``
    ``V``, the number of tokens; index 0 is the boundary token, read first
    by every sequence and drawn last (the end token).
``start(n)``
    The state of ``n`` sequences that have read the start token.
``advance(state, tokens, parents=None)``
    A new state whose row ``i`` is row ``parents[i]`` of ``state`` (row
    ``i`` when ``parents`` is None) after reading ``tokens[i]``; ``tokens``
    and ``parents`` are integer arrays of one length ``m``, and ``parents``
    may repeat rows and leave some out. ``state`` is not changed.
``log_probs(state)``
    The next-token log-probabilities of every row: an array of shape
    ``(n, V)``, float32 or float64, ``-inf`` for a token that cannot come.

A state is opaque here: only the model reads it. The recurrent network's is
its layers' states (:class:`~sklearn_charrnn.nn.network.RecurrentSteps`).
:func:`sample` may call ``advance`` and ``log_probs`` of one model from
several threads at once, on different states: they must not write anything
the calls share (a scratch buffer kept on the model would mix the threads'
rows).
A sequence's log-probability under a model is the sum, over its tokens and
its end token, of ``log_probs`` of the token after the ones before: what the
generators' ``score_samples`` gives.

Every function here reads and returns token indices. Log-probabilities are
in nats.
"""

import hashlib

import numpy as np

# Sequences generated in one part, at most; the count depends on the
# vocabulary (a part keeps a few (rows, V) arrays) and never on the machine.
_PART_ROWS = 8192
_PART_CELLS = 1 << 22


def part_rows(n_tokens):
    """How many sequences one part of a sampling call holds at most.

    Parameters
    ----------
    n_tokens : int
        The model's number of tokens ``V``: a part keeps a few arrays of
        ``rows x V`` numbers, so its rows shrink as the vocabulary grows.

    Returns
    -------
    rows : int
    """
    return int(np.clip(_PART_CELLS // n_tokens, 64, _PART_ROWS))


def part_slices(n, n_tokens):
    """The parts of ``n`` sequences: as few as :func:`part_rows` allows, of
    sizes differing by at most one, so that parts run side by side finish
    together (10,000 names: two parts of 5,000, not 8,192 and 1,808).

    Parameters
    ----------
    n : int
        Number of sequences.
    n_tokens : int
        The model's number of tokens ``V`` (see :func:`part_rows`).

    Returns
    -------
    parts : list of slice
    """
    n_parts = -(-n // part_rows(n_tokens))  # none for no sequences
    bounds = [n * k // n_parts for k in range(n_parts + 1)] if n else [0]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def next_token_probs(log_probs, *, temperature=1.0, top_k=None, top_p=None):
    """Reshape next-token distributions for sampling.

    Parameters
    ----------
    log_probs : ndarray of shape (B, V)
        Log-probabilities; ``-inf`` marks tokens that may not be drawn. Every
        row holds at least one finite value.
    temperature : float, default=1.0
        Divides the log-probabilities: below 1 sharpens (safer), above 1
        flattens (more adventurous). Its limits hold at any value: towards
        0 the most probable tokens (greedy), towards infinity every token
        that may be drawn alike (uniform).
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
    z = np.array(log_probs, dtype=np.float64).T  # (V, B)
    probs = _reshaped(z, temperature, top_k, top_p)
    return (probs / probs.sum(axis=0)).T


# Inside the sampler distributions are laid out vocabulary first, (V, G):
# every reduction over the vocabulary (largest, sum, cumulative sum, count)
# then runs along rows of G groups, several times faster than along the
# short rows of (G, V) (measured in NumPy, no BLAS involved).


def _reshaped(z, temperature, top_k, top_p, top=None):
    """``exp(z / temperature)`` with ``top_k`` and ``top_p``, up to a factor.

    ``z`` is ``(V, G)`` float64 log-probabilities (overwritten), each column
    with at least one finite value, ``top`` its largest if known; the result
    is ``(V, G)``, unnormalised.
    """
    # shifted first: the largest is 0, which any temperature leaves at 0
    z -= z.max(axis=0) if top is None else top
    if temperature != 1.0:
        z /= float(temperature)
    if top_k is not None and top_k < z.shape[0]:
        kth = -np.partition(-z, top_k - 1, axis=0)[top_k - 1]  # (G,)
        z[z < kth] = -np.inf
    probs = np.exp(z, out=z)  # (V, G)
    if top_p is not None and top_p < 1.0:
        probs /= probs.sum(axis=0)
        order = np.argsort(-probs, axis=0, kind="stable")  # (V, G)
        sorted_probs = np.take_along_axis(probs, order, axis=0)
        # keep a token when the mass before it is still below top_p
        mass_before = np.cumsum(sorted_probs, axis=0) - sorted_probs
        drop = np.zeros(probs.shape, dtype=bool)
        np.put_along_axis(drop, order, mass_before >= top_p, axis=0)
        probs[drop] = 0.0
    return probs


def _allowed_log_probs(log_probs, t, options):
    """``log_probs`` as ``(V, G)`` float64, the tokens that may not come now at
    -inf, and the largest of each column ``(G,)``.

    The banned tokens never come, the end token not before ``min_length``;
    a group left with no token at all may end.
    """
    z = np.array(log_probs.T, dtype=np.float64)  # (V, G)
    z[options["banned"]] = -np.inf
    if t < options["min_length"]:
        z[0] = -np.inf
    top = z.max(axis=0)  # (G,): NaN where a column holds NaN
    if np.isnan(top).any():
        z[np.isnan(z)] = -np.inf
        top = z.max(axis=0)
    stuck = top == -np.inf
    z[0, stuck], top[stuck] = 0.0, 0.0
    return z, top


def _cumulative(probs):
    """Cumulative sums over the vocabulary of ``(V, G)`` probabilities."""
    V = probs.shape[0]
    if V > 256:  # long columns: NumPy's own cumulative sum
        return np.cumsum(probs.T, axis=1).T
    cdf = probs.copy()
    for v in range(1, V):  # one add per token, along rows of G groups
        cdf[v] += cdf[v - 1]
    return cdf


def draw(probs, rows, u):
    """Draw one token per row from its group's distribution.

    Each draw takes its uniform number ``u`` in ``[0, 1)`` and returns the
    first token whose cumulative probability exceeds it: a token of zero
    probability is never returned.

    Parameters
    ----------
    probs : ndarray of shape (V, G)
        One distribution per group, vocabulary first, each summing to a
        positive number (normalised here).
    rows : ndarray of shape (n,) of int
        The group of every draw.
    u : ndarray of shape (n,)
        The uniform number of every draw, in ``[0, 1)``.

    Returns
    -------
    tokens : ndarray of shape (n,) of int
    """
    cdf = _cumulative(probs)  # (V, G)
    # x / x is exactly 1: every entry from the last nonzero probability on
    # is 1, above any u, so the count below stops there
    cdf /= cdf[-1]
    below = np.take(cdf, rows, axis=1) <= u  # (V, n)
    return np.count_nonzero(below, axis=0)


def _choose(log_probs, group, u, t, options):
    """The token of every row, drawn (or greedy) from its group's distribution."""
    z, top = _allowed_log_probs(log_probs, t, options)  # (V, G), (G,)
    if options["greedy"]:
        return np.argmax(z, axis=0)[group]
    probs = _reshaped(
        z, options["temperature"], options["top_k"], options["top_p"], top
    )
    return draw(probs, group, u)


def _sample_part(model, out, lengths, final_length, rng, options):
    """Generate the sequences of one part, all advancing together.

    Sequences that have read the same tokens so far are in the same state,
    so each step advances one row of the model per distinct sequence read
    so far (a *group*), not per sequence. Every sequence draws its own next
    token from its group's distribution with its own uniform number.

    ``out`` holds each sequence's prefix in its first ``lengths`` entries and
    zeros after; it receives the tokens, and ``final_length`` each length.
    """
    V = model.n_tokens
    active = np.arange(out.shape[0])  # (A,) rows still going
    group = np.zeros(active.size, dtype=np.intp)  # (A,) the group of each
    state = model.start(1)
    t = 0
    while active.size:
        u = rng.random(active.size)  # (A,) one per sequence and step
        forced = t < lengths[active]  # (A,) still reading their prefix
        tokens = out[active, t]  # (A,) the prefix's token, else 0
        if not forced.all():
            log_probs = model.log_probs(state)  # (G, V)
            free = ~forced
            tokens[free] = _choose(log_probs, group[free], u[free], t, options)
        out[active, t] = tokens
        ended = (tokens == 0) & ~forced
        final_length[active[ended]] = t
        t += 1
        going = ~ended & (t < final_length[active])
        active, group, tokens = active[going], group[going], tokens[going]
        if active.size:
            parents, group_tokens, group = _regroup(group, tokens, V)
            state = model.advance(state, group_tokens, parents)


def _regroup(group, tokens, n_tokens):
    """Number the distinct ``(group, token)`` pairs of the rows, in order.

    Returns
    -------
    parents : ndarray of shape (G,)
        The group each new group continues, sorted.
    group_tokens : ndarray of shape (G,)
        The token each new group has just read.
    new_group : ndarray of shape (A,)
        Each row's new group.
    """
    key = group * n_tokens + tokens  # (A,)
    seen = np.zeros((group.max() + 1) * n_tokens, dtype=bool)  # (G_old * V,)
    seen[key] = True
    number = np.cumsum(seen) - 1  # each pair's new group
    parents, group_tokens = np.divmod(np.flatnonzero(seen), n_tokens)
    return parents, group_tokens, number[key]


def sample(
    model,
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
    threads=None,
):
    """Generate one sequence for each prefix.

    The sequences are generated in the parts of :func:`part_slices`,
    each with its own random stream seeded in order from ``rng``; the parts
    run on ``threads`` when given. How the work is cut depends on the
    number of sequences and the vocabulary only, so the samples do not
    depend on the threads.

    Parameters
    ----------
    model : step interface
        See the module notes.
    prefixes : list of ndarray of int
        Token indices each sequence must start with (empty for free samples).
    rng : numpy.random.RandomState or numpy.random.Generator
        Seeds the parts' random streams.
    banned : sequence of int, default=()
        Token indices that are never drawn (the unknown token).
    temperature, top_k, top_p : see :func:`next_token_probs`
    greedy : bool, default=False
        Take the most probable token at every step instead of drawing.
    min_length : int, default=0
        The end token (index 0) cannot be drawn before a sequence holds this
        many tokens.
    max_length : int, default=50
        A sequence stops at this many tokens (prefix included) even without
        an end token; a longer prefix is returned whole.
    threads : Threads, default=None
        Threads to run the parts on (:class:`~.nn.parallel.Threads`).

    Returns
    -------
    tokens : ndarray of shape (n, L) of int
        Row ``i`` holds sequence ``i`` (prefix included, end token excluded)
        in its first ``lengths[i]`` entries and zeros after them.
    lengths : ndarray of shape (n,) of int
    """
    n = len(prefixes)
    lengths = np.fromiter(map(len, prefixes), dtype=np.intp, count=n)
    final_length = np.maximum(lengths, max_length)  # (n,)
    out = np.zeros((n, int(final_length.max(initial=0)) + 1), dtype=np.intp)
    for i in np.flatnonzero(lengths):
        out[i, : lengths[i]] = prefixes[i]
    options = {
        "banned": np.asarray(banned, dtype=np.intp),
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "greedy": greedy,
        "min_length": min_length,
    }
    parts = part_slices(n, model.n_tokens)
    rngs = _spawn(rng, len(parts))

    def part(rows, part_rng):
        return lambda: _sample_part(
            model, out[rows], lengths[rows], final_length[rows], part_rng, options
        )

    functions = [part(s, r) for s, r in zip(parts, rngs, strict=True)]
    if threads is None:
        for function in functions:
            function()
    else:
        threads.run_all(functions)
    return out[:, :-1], final_length


def _spawn(rng, n):
    """``n`` independent generators seeded in order from ``rng``."""
    draw_ints = rng.integers if hasattr(rng, "integers") else rng.randint
    entropy = [int(x) for x in draw_ints(0, 2**31 - 1, size=4)]
    return [np.random.default_rng(s) for s in np.random.SeedSequence(entropy).spawn(n)]


def token_log_probs(model, codes, lengths):
    """Log-probability of every token of every sequence, end tokens included.

    The sequences run through the step interface together, in the parts of
    :func:`part_slices`.

    Parameters
    ----------
    model : step interface
        See the module notes.
    codes : ndarray of shape (total_length,) of int
        Every sequence's token indices, end to end.
    lengths : ndarray of shape (n,) of int

    Returns
    -------
    log_probs : ndarray of shape (total_length + n,), dtype float64
        Sequence by sequence: the log-probability of each of its tokens given
        the ones before, then of its end token.
    """
    n = len(lengths)
    offsets = np.cumsum(lengths) - lengths
    targets = np.zeros((n, int(lengths.max(initial=0)) + 1), dtype=np.intp)  # (n, T)
    for i in np.flatnonzero(lengths):
        targets[i, : lengths[i]] = codes[offsets[i] : offsets[i] + lengths[i]]
    out = np.zeros(targets.shape)  # (n, T)
    for rows in part_slices(n, model.n_tokens):
        _token_log_probs_part(model, targets[rows], lengths[rows], out[rows])
    mask = np.arange(targets.shape[1]) <= lengths[:, None]  # (n, T)
    return out[mask]


def _token_log_probs_part(model, targets, lengths, out):
    active = np.arange(targets.shape[0])  # (A,) rows not yet ended
    state = model.start(active.size)
    for t in range(targets.shape[1]):
        tokens = targets[active, t]  # (A,)
        log_probs = model.log_probs(state)  # (A, V)
        out[active, t] = log_probs[np.arange(active.size), tokens]
        going = t < lengths[active]  # the end token was not read yet
        active = active[going]
        if not active.size:
            break
        state = model.advance(state, tokens[going], np.flatnonzero(going))


def beam_search(
    model, prefix, k, *, max_length, min_length=0, banned=(), excluded=None, tag=None
):
    """The ``k`` most probable sequences that start with ``prefix``.

    Beam search: after reading the prefix, every step extends each kept
    sequence by every allowed token and keeps the ``k`` most probable
    extensions; a sequence is finished when its extension is the end token.
    Extending a sequence can only lower its log-probability, so the search
    stops as soon as no kept sequence can beat the ``k``-th finished one.
    Like every beam search it can miss a sequence whose start ranked below
    the ``k``-th at some step; it is exact for ``k`` at least the number of
    candidates, the ``excluded`` ones among them (they take places until
    they end).

    Parameters
    ----------
    model : step interface
        See the module notes.
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
    tag : int, default=None
        Hashed before every sequence checked against ``excluded`` (a label's
        tag, see :func:`sequence_hash`).

    Returns
    -------
    sequences : list of ndarray of int
        At most ``k`` sequences, most probable first; each holds the prefix
        and the generated tokens, not the end token.
    log_probs : ndarray of shape (len(sequences),), dtype float64
        Log-probability of each sequence followed by the end token (the
        prefix included).
    """
    prefix = np.asarray(prefix, dtype=np.intp)
    banned = np.asarray(banned, dtype=np.intp)
    last_length = max(max_length, prefix.size)
    state = model.start(1)
    prefix_log_prob = 0.0
    for token in prefix:
        prefix_log_prob += float(model.log_probs(state)[0, token])
        state = model.advance(state, np.array([token]))
    beams = prefix[None, :]  # (A, t) the kept sequences
    scores = np.array([prefix_log_prob])  # (A,)
    finished = []  # (log_prob, sequence), most probable first
    length = prefix.size
    while beams.shape[0]:
        extended = scores[:, None] + model.log_probs(state).astype(np.float64)
        extended[:, banned] = -np.inf  # (A, V)
        if length >= min_length:
            _finish(finished, extended[:, 0], beams, k, excluded, tag)
        if length >= last_length:
            break
        extended[:, 0] = -np.inf
        flat = extended.ravel()  # (A * V,)
        order = np.argsort(-flat, kind="stable")
        order = order[np.isfinite(flat[order])]
        if excluded is not None and length + 1 >= last_length:
            # the extensions can only end: one that is excluded is dead
            best = _first_not_excluded(
                order, beams, extended.shape[1], k, excluded, tag
            )
        else:
            best = order[:k]
        if len(finished) == k:
            best = best[flat[best] > finished[-1][0]]
        parent, token = np.divmod(best, extended.shape[1])
        beams = np.concatenate([beams[parent], token[:, None]], axis=1)
        scores = flat[best]
        if beams.shape[0]:
            state = model.advance(state, token, parent)
        length += 1
    sequences = [sequence for _, sequence in finished]
    return sequences, np.array([log_prob for log_prob, _ in finished])


def _first_not_excluded(order, beams, n_tokens, k, excluded, tag):
    """The first ``k`` extensions in ``order`` (flat indices of (beam, token)
    pairs) that are not in ``excluded``."""
    kept = []
    for index in order:
        parent, token = divmod(int(index), n_tokens)
        hashed = sequence_hash(np.append(beams[parent], token), tag)
        if not contains(excluded, [hashed])[0]:
            kept.append(index)
            if len(kept) == k:
                break
    return np.array(kept, dtype=np.intp)


def _finish(finished, end_scores, beams, k, excluded, tag=None):
    """Add the beams ended now to ``finished``, keeping the ``k`` best."""
    rows = np.flatnonzero(np.isfinite(end_scores))
    if excluded is not None:
        hashes = [sequence_hash(beams[row], tag) for row in rows]
        rows = rows[~contains(excluded, hashes)]
    finished.extend((float(end_scores[row]), beams[row]) for row in rows)
    finished.sort(key=lambda item: -item[0])
    del finished[k:]


def sequence_hash(sequence, tag=None):
    """A stable 64-bit hash of one sequence of token indices.

    BLAKE2b with an 8-byte digest of the indices as little-endian uint32: the
    same sequence hashes the same in every process and Python version (unlike
    the salted built-in ``hash``).

    Parameters
    ----------
    sequence : array-like of int
        Token indices, without the start and end tokens.
    tag : int, default=None
        Hashed as a first index when given: a conditional generator tags a
        sequence with its label (:func:`label_tag`), so that one table holds
        every label's sequences apart.

    Returns
    -------
    digest : int
        In ``[0, 2**64)``.
    """
    if tag is not None:
        sequence = np.concatenate([[tag], sequence])
    data = np.asarray(sequence, dtype="<u4").tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def label_tag(n_tokens, label):
    """The tag of a label's sequences: an index past every token's.

    Parameters
    ----------
    n_tokens : int
        ``V``, the number of tokens of the model.
    label : int
        A class index.

    Returns
    -------
    tag : int
        ``n_tokens + label``, for :func:`sequence_hash`.
    """
    return n_tokens + int(label)


def sequence_hashes(codes, lengths, tags=None):
    """The sorted, distinct hashes of the sequences of a flat code array.

    Parameters
    ----------
    codes : ndarray of shape (total_length,)
        Every sequence's token indices, end to end.
    lengths : ndarray of shape (n_samples,)
    tags : ndarray of shape (n_samples,), default=None
        Each sequence's tag (see :func:`sequence_hash`).

    Returns
    -------
    hashes : ndarray of shape (n_distinct,), dtype uint64
        8 bytes per distinct sequence, sorted for :func:`contains`.
    """
    ends = np.cumsum(lengths)  # (n,)
    starts = ends - lengths
    tags = [None] * len(lengths) if tags is None else tags
    hashes = np.fromiter(
        (
            sequence_hash(codes[a:b], tag)
            for a, b, tag in zip(starts, ends, tags, strict=True)
        ),
        dtype=np.uint64,
        count=len(lengths),
    )
    return np.unique(hashes)


def contains(table, hashes):
    """Which of ``hashes`` are in the sorted ``table``.

    Parameters
    ----------
    table : ndarray of shape (n_table,), dtype uint64
        Sorted hashes (:func:`sequence_hashes`).
    hashes : array-like of shape (n,)
        Hashes to look up.

    Returns
    -------
    found : ndarray of shape (n,), dtype bool
    """
    hashes = np.asarray(hashes, dtype=np.uint64)  # (n,)
    if table.size == 0:
        return np.zeros(hashes.shape, dtype=bool)
    index = np.minimum(np.searchsorted(table, hashes), table.size - 1)
    return table[index] == hashes
