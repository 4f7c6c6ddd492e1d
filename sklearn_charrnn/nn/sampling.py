"""Generation: batched sampling, beam search, and the training-name hashes.

Every function reads token indices: 0 is the start/end token. Sampling
advances every sequence one token per step together; beam search keeps the
``k`` most probable partial sequences of one prefix. Log-probabilities are in
nats and, like :meth:`CharRNNGenerator.score_samples`, a finished sequence's
log-probability counts its tokens and its end token.
"""

import hashlib
import threading
from functools import partial

import numpy as np

from .network import _first_of_runs, advance, next_token_log_probs
from .parallel import run_all
from .workspace import Workspace


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


def draw(cdf, rows, u):
    """Draw one token per row from its group's cumulative distribution.

    Each draw takes its uniform number ``u`` in ``[0, 1)`` and returns the
    first token whose cumulative probability exceeds it: a token of zero
    probability adds nothing to the cumulative sums and is never returned.

    Parameters
    ----------
    cdf : ndarray of shape (V, G), float32 or float64
        Cumulative distributions, one column per group, each ending at 1
        (see :func:`_group_cdf`).
    rows : ndarray of shape (n,) of int
        The group (column) of every draw.
    u : ndarray of shape (n,), dtype float64
        The uniform number of every draw, in ``[0, 1)``.

    Returns
    -------
    tokens : ndarray of shape (n,) of int
    """
    if cdf.dtype != u.dtype:
        # compared at the cdf's width (a float32 model's), and kept below the
        # 1 that ends every column: float32(u) may round up to 1
        one = cdf.dtype.type(1)
        u = np.minimum(u.astype(cdf.dtype), np.nextafter(one, cdf.dtype.type(0)))
    below = np.take(cdf, rows, axis=1) <= u  # (V, n)
    # counted as bytes: four times faster than summing booleans
    return below.view(np.uint8).sum(axis=0, dtype=np.int32).astype(np.intp)


def _group_cdf(logits, t, options):
    """Each group's cumulative next-token distribution, vocabulary first.

    Parameters
    ----------
    logits : ndarray of shape (V, G)
        Unnormalised log-probabilities of every group, one column each, in
        the model's dtype; overwritten.
    t : int
        Tokens every sequence holds so far.
    options : dict
        ``banned``, ``min_length``, ``temperature``, ``top_k``, ``top_p``.

    Returns
    -------
    cdf : ndarray of shape (V, G)
        Cumulative probabilities, in the dtype of ``logits`` (float64 after
        ``top_k`` or ``top_p``); every column ends exactly at 1, and so does
        every entry after the last token of nonzero probability.
    """
    z = logits  # (V, G)
    z[options["banned"]] = -np.inf
    if t < options["min_length"]:
        z[0] = -np.inf
    if options["top_k"] is not None or options["top_p"] is not None:
        probs = filter_log_probs(
            z.T,
            temperature=options["temperature"],
            top_k=options["top_k"],
            top_p=options["top_p"],
        ).T  # (V, G)
    else:
        if options["temperature"] != 1.0:
            z /= options["temperature"]
        # reductions over the vocabulary run along long rows in this layout
        z -= z.max(axis=0)
        probs = np.exp(z, out=z)
    V, G = probs.shape
    if G < _ROW_ADDS_FROM:
        # a product with a lower-triangular matrix of ones: one call
        cdf = np.tril(np.ones((V, V))) @ probs  # (V, G)
    else:
        # row after row, in place: each row a long vector; seven times faster
        # than np.cumsum over the short axis, three times faster than the
        # triangular product
        cdf = probs
        for v in range(1, V):
            np.add(cdf[v - 1], cdf[v], out=cdf[v])
    # every entry after the last nonzero probability added only exact zeros
    cdf /= cdf[-1]  # x / x is exactly 1
    return cdf


# Groups from which _group_cdf sums its rows one by one.
_ROW_ADDS_FROM = 64


def _greedy_choice(logits, t, options):
    """Each group's most probable allowed token, shape ``(G,)``."""
    z = logits  # (V, G), overwritten
    z[options["banned"]] = -np.inf
    if t < options["min_length"]:
        z[0] = -np.inf
    return np.argmax(z, axis=0)


def _choose(dist, rows, u, greedy):
    """The token of every row from its group's ``dist``.

    With ``greedy``, ``dist`` holds each group's choice; otherwise it holds
    each group's cumulative distribution (shape ``(V, G)``) and every row
    draws with its uniform number from ``u``.
    """
    return dist[rows] if greedy else draw(dist, rows, u)


def _next_tokens(dist, group, forced_tokens, forced, u, greedy):
    """The token every row reads next: ``forced`` rows copy ``forced_tokens``
    (their prefix), the others choose (:func:`_choose`)."""
    nxt = np.empty(group.size, dtype=np.intp)  # (A,)
    nxt[forced] = forced_tokens
    free = ~forced
    if free.any():
        nxt[free] = _choose(dist, group[free], None if greedy else u[free], greedy)
    return nxt


def _regroup(group, tokens, n_groups, n_tokens):
    """Number the distinct ``(group, token)`` pairs in sorted order.

    Returns
    -------
    old_group : ndarray of shape (G,)
        The group each new group continues, sorted.
    new_tokens : ndarray of shape (G,)
        The token each new group has just read.
    new_group : ndarray of shape (A,)
        Each row's new group.
    """
    key = group * n_tokens + tokens  # (A,)
    seen = np.zeros(n_groups * n_tokens, dtype=bool)  # (G_old * V,)
    seen[key] = True
    distinct = np.flatnonzero(seen)  # (G,)
    number = np.cumsum(seen, dtype=np.int32) - 1  # (G_old * V,)
    old_group, new_tokens = np.divmod(distinct, n_tokens)
    return old_group, new_tokens, number[key]


_WORKSPACES = threading.local()
# Scratch memory kept after a call only up to this size (a part of 8,192
# names of a 200-unit network needs about 30 MB).
_KEEP_BYTES = 64 << 20


def _thread_workspaces():
    """The sampler's scratch memory for the calling thread, kept between calls.

    Fresh memory costs a page fault per 4 KiB page on first touch: about a
    third of the time of a call that samples 10,000 names when every call
    allocated its own (``python benchmarks/sampler_memory.py``). Each
    thread that samples has its own, so concurrent calls never share them,
    and :func:`_release_if_large` drops them after a call that needed more
    than ``_KEEP_BYTES``. Two workspaces used by turns: a step reads the
    states the step before left in the other one.
    """
    works = getattr(_WORKSPACES, "works", None)
    if works is None:
        works = _WORKSPACES.works = (Workspace(), Workspace())
    return works


def _release_if_large(works):
    if sum(work.nbytes for work in works) > _KEEP_BYTES:
        _WORKSPACES.works = None


class _Uniforms:
    """One uniform number per sequence and step, the same however they run.

    Step ``t`` draws ``n`` numbers from ``rng`` (all sequences, finished or
    not), in step order, the first time any thread asks for it: sequence
    ``i`` reads number ``i``. A sequence's draws therefore depend on neither
    the sequences it shares a state with, nor on how the groups are split
    between threads.
    """

    def __init__(self, rng, n):
        self._rng, self._n = rng, n
        self._steps = []
        self._lock = threading.Lock()

    def step(self, t):
        with self._lock:
            while len(self._steps) <= t:
                self._steps.append(self._rng.random(self._n))
            return self._steps[t]


# A call's sequences are generated in parts of at most _PART_MAX, one after
# the other: that bounds the scratch memory and the uniform numbers kept.
_PART_MAX = 16384
# The groups of a part are split in two halves at the first step that holds
# at least _SPLIT_GROUPS of them, and each half runs to the end on its own
# (on its own thread when there are two). Sequences that start differently
# never share a state again, so the halves lose nothing of the sharing, and
# every sequence reads its own uniform numbers (see _Uniforms). The split
# depends on the sizes only, so the computation, to the last bit, does not
# depend on the thread count.
_SPLIT_GROUPS = 1024


def _advance_groups(weights, cell, n_layers, tokens, states, parent, work, t, options):
    """Advance the groups one step and give their next-token distributions.

    Returns
    -------
    states : list of tuple of ndarray
        The groups' new states, in ``work``.
    dist : ndarray
        Each group's choice, shape ``(G,)``, with ``options["greedy"]``;
        otherwise their cumulative distributions, shape ``(V, G)``.
    """
    G = tokens.size
    if G == 1:  # two rows: see advance
        tokens = np.repeat(tokens, 2)
        parent = None if parent is None else np.repeat(parent, 2)
    top, states = advance(weights, cell, n_layers, tokens, states, parent, work)
    W_y, b_y = weights["W_y"], weights["b_y"]
    V = W_y.shape[1]
    # (G, H) times (H, V): BLAS runs this product about twice as fast as the
    # (V, H) times (H, G) one; the vocabulary-first copy follows
    product = np.matmul(
        top, W_y, out=work.empty("product", (top.shape[0], V), W_y.dtype)
    )
    logits = work.empty("logits", (V, G), W_y.dtype)
    np.copyto(logits, product[:G].T)
    logits += b_y[:, None]  # (V, G)
    if options["greedy"]:
        return states, _greedy_choice(logits, t, options)
    return states, _group_cdf(logits, t, options)


class _Run:
    """Where the generation of some sequences stands, between two steps.

    ``active`` are the rows still generating, ``group`` the group of each,
    ``group_tokens`` the token each group reads next, ``parent`` the row of
    ``states`` (the previous step's) each group continues, ``t`` the step.
    """

    def __init__(self, active, group, group_tokens, states, parent, t):
        self.active, self.group, self.group_tokens = active, group, group_tokens
        self.states, self.parent, self.t = states, parent, t

    def halves(self):
        """Two runs that together continue this one, split between groups.

        The split falls where about half of the rows are on each side. Each
        half gets its own copy of the states it continues.
        """
        G = self.group_tokens.size
        rows_before = np.cumsum(np.bincount(self.group, minlength=G))  # (G,)
        cut = int(np.searchsorted(rows_before, rows_before[-1] / 2)) + 1
        cut = min(max(cut, 1), G - 1)
        runs = []
        for lo, hi in ((0, cut), (cut, G)):
            mine = (self.group >= lo) & (self.group < hi)  # (A,)
            kept, where = _first_of_runs(self.parent[lo:hi])
            states = [
                tuple(np.take(s, kept, axis=0) for s in layer) for layer in self.states
            ]
            runs.append(
                _Run(
                    self.active[mine],
                    self.group[mine] - lo,
                    self.group_tokens[lo:hi],
                    states,
                    where,
                    self.t,
                )
            )
        return runs


def _generate_rows(weights, cell, n_layers, run, call, split_at=None):
    """Run the steps of ``run`` to the end, or until it has ``split_at`` groups.

    ``call`` holds what every run of one call shares: ``lengths`` (prefix
    lengths), ``out`` and ``final_length`` (filled in, each run its own
    rows), ``uniforms`` and ``options``.

    Returns
    -------
    run : _Run or None
        Where the steps stopped, if they stopped to split; None when done.
    """
    V = weights["W_y"].shape[1]
    lengths, out, final_length = call["lengths"], call["out"], call["final_length"]
    options, greedy = call["options"], call["options"]["greedy"]
    works = _thread_workspaces()
    longest_prefix = int(lengths.max(initial=0))
    active, group, group_tokens = run.active, run.group, run.group_tokens
    states, parent, t = run.states, run.parent, run.t
    # below it no row stops for its length (max_length, or a longer prefix)
    shortest_final = int(final_length[active].min()) if active.size else 0
    while active.size:
        G = group_tokens.size
        if split_at is not None and G >= split_at:
            _release_if_large(works)
            return _Run(active, group, group_tokens, states, parent, t)
        states, dist = _advance_groups(
            weights,
            cell,
            n_layers,
            group_tokens,
            states,
            parent,
            works[t % 2],
            t,
            options,
        )
        u = None if greedy else call["uniforms"].step(t)[active]  # (A,)
        if t < longest_prefix:  # some rows still read their prefix
            forced = t < lengths[active]  # (A,)
            nxt = _next_tokens(dist, group, out[active[forced], t], forced, u, greedy)
            going = (nxt != 0) | forced
        else:
            nxt = _choose(dist, group, u, greedy)
            going = nxt != 0
        out[active, t] = nxt  # an end token writes the zero already there
        final_length[active[~going]] = t
        t += 1
        still = going if t < shortest_final else going & (t < final_length[active])
        active = active[still]
        if active.size:
            parent, group_tokens, group = _regroup(group[still], nxt[still], G, V)
    _release_if_large(works)
    return None


def generate_padded(
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
    n_threads=1,
):
    """Like :func:`generate`, as one padded array and the lengths.

    At the first step with ``_SPLIT_GROUPS`` groups, the groups are split
    in two halves, each run to the end on its own, on up to ``n_threads``
    threads. The split depends on the sizes only, never on ``n_threads``:
    BLAS may round a row differently in a matrix of another height, so the
    split must be the same whatever the threads for the samples to be.

    Returns
    -------
    tokens : ndarray of shape (n, L) of int
        Row ``i`` holds sequence ``i`` in its first ``lengths[i]`` entries
        and zeros after them.
    lengths : ndarray of shape (n,) of int
    """
    n = len(prefixes)
    lengths = np.fromiter(map(len, prefixes), dtype=np.intp, count=n)
    longest = max(int(lengths.max(initial=0)), max_length)
    out = np.zeros((n, longest), dtype=np.intp)  # (n, L)
    for i in np.flatnonzero(lengths):
        out[i, : lengths[i]] = prefixes[i]
    final_length = np.maximum(lengths, max_length)  # (n,)
    options = {
        "banned": np.asarray(banned, dtype=np.intp),
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "greedy": greedy,
        "min_length": min_length,
    }
    for start in range(0, n, _PART_MAX):
        rows = slice(start, min(start + _PART_MAX, n))
        call = {
            "lengths": lengths[rows],
            "out": out[rows],
            "final_length": final_length[rows],
            "uniforms": _Uniforms(rng, rows.stop - rows.start),
            "options": options,
        }
        size = rows.stop - rows.start
        first = _Run(
            np.arange(size),  # every row generates
            np.zeros(size, dtype=np.intp),  # in one group
            np.zeros(1, dtype=np.intp),  # that reads the start token
            None,  # from the zero state
            None,
            0,
        )
        stopped = _generate_rows(weights, cell, n_layers, first, call, _SPLIT_GROUPS)
        if stopped is not None:
            run_all(
                [
                    partial(_generate_rows, weights, cell, n_layers, half, call)
                    for half in stopped.halves()
                ],
                n_threads,
            )
    return out, final_length


def generate(weights, cell, n_layers, prefixes, rng, **options):
    """Generate one sequence for each prefix, all advancing together.

    Sequences that have read the same tokens so far are in the same state, so
    each step runs the network once per distinct sequence read so far (a
    *group*), not once per sequence: ten thousand free samples share one
    state at the first step and a few dozen at the second. The recurrent
    product of a group's state is computed once for all the groups that
    continue it with different tokens. Every sequence still draws its own
    next token from its group's distribution, with its own uniform number
    for the step (see :class:`_Uniforms`), so what it draws depends neither
    on the sequences it shares a state with nor on the threads.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    prefixes : list of ndarray of int
        Token indices each sequence must start with (empty for free samples).
        The prefix is fed one token at a time.
    rng : numpy.random.RandomState or numpy.random.Generator
        Gives every step's uniform numbers, one per sequence.
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
    n_threads : int, default=1
        Threads the two halves of the groups may run on (see
        :func:`generate_padded`); the samples do not depend on it.

    Returns
    -------
    sequences : list of ndarray of int
        Token indices of each sequence, prefix included, end token excluded.
    """
    out, lengths = generate_padded(weights, cell, n_layers, prefixes, rng, **options)
    return [row[:length] for row, length in zip(out, lengths, strict=True)]


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
