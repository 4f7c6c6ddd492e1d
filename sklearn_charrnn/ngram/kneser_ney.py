"""Interpolated modified Kneser-Ney: counting, discounts and a context automaton.

Everything here is a pure function of arrays, except :class:`KneserNeySteps`
and :class:`LabelSteps`, which only hold the compiled tables, and
:class:`ClassTables`, which names them. The path from data to model is::

    codes, lengths --ngram_windows--> windows (M, N)  one row per token
    windows --aggregate_windows--> ngrams (m, N), counts (m,)  distinct rows
    ngrams, counts --compile_automaton--> log_probs (S, V), transitions (S, V)

Token 0 is the boundary token: every sequence is counted after ``N - 1`` of
them (so that every row has ``N`` columns) and ends by predicting one (the
end). A sequence starts once, so a context that begins with two boundary
tokens is the same context as its suffix: the model has one start context,
a single boundary token, and the n-grams that begin with two boundaries are
not counted. ``V`` is the number of tokens, the unknown one included.

The model is Chen and Goodman's interpolated modified Kneser-Ney. For a
context ``h`` of length ``k - 1`` (level ``k``) and a token ``w``::

    p_k(w | h) = max(c_k(h w) - D_k(c_k(h w)), 0) / c_k(h .)
                 + gamma_k(h) * p_{k-1}(w | h[1:])
    gamma_k(h) = (D_k1 N_1(h .) + D_k2 N_2(h .) + D_k3+ N_3+(h .)) / c_k(h .)
    p_0(w) = 1 / V

where ``c_k(h .)`` is the sum of ``c_k(h w)`` over ``w`` and ``N_r(h .)`` the
number of tokens ``w`` with ``c_k(h w) = r`` (3 or more for ``N_3+``). At the
top level ``c_N`` is the raw count; below it is the continuation count
``N_1+(. h w)``, the number of distinct tokens seen before ``h w``, except
for n-grams that begin with the start boundary: nothing can come before the
start, so those keep their raw counts (as KenLM does for ``<s>``). A context
never seen at level ``k`` leaves ``p_k = p_{k-1}``.

The automaton has one node per context seen in training (of length 0 to
``N - 1``; the longest suffix of what was read that is such a context). Row
``s`` of ``log_probs`` is the whole interpolated distribution after that
context and row ``s`` of ``transitions`` the node after reading each token,
so scoring and sampling are table look-ups.

With labels, the model of all labels is the model of the counts summed
over labels, and each label has its own automaton of the contexts it saw
(:func:`class_model`): the part of every next-token probability that its
own counts give, and the weight it leaves to the model of all labels. A
sequence of a label walks both automata (:class:`LabelSteps`), so the model
of all labels is read after the whole history, not only after the part of
it the label saw.
"""

from typing import NamedTuple

import numpy as np

from .._params import physical_memory

# Discounts are kept at least this large, so that every seen context leaves
# some probability to the lower orders and, through them, to every token.
MIN_DISCOUNT = 0.05
# D1, D2, D3+ where the counts of counts cannot estimate them: no n-gram seen
# r + 1 times would make D_r = r and take the whole count of the n-grams seen
# r times. The values are those of KenLM's --discount_fallback, which KenLM
# applies to a whole order and on other conditions; here each discount
# without an estimate takes its own.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


# ----------------------------------------------------------------- counting


def ngram_windows(codes, lengths, order):
    """One row of ``order`` tokens for every token predicted.

    Parameters
    ----------
    codes : ndarray of shape (total_length,) of int
        Every sequence's token indices, end to end (no boundary tokens).
    lengths : ndarray of shape (n_samples,) of int
    order : int
        ``N``, the length of the n-grams.

    Returns
    -------
    windows : ndarray of shape (total_length + n_samples, order), dtype intp
        Row ``t`` holds the ``N - 1`` tokens before a predicted token, then
        that token. The context before the first token of a sequence is
        ``N - 1`` boundary tokens (0), and the last token predicted is the
        boundary token.
    """
    codes = np.asarray(codes, dtype=np.intp)
    lengths = np.asarray(lengths, dtype=np.intp)
    pad = order - 1
    n = len(lengths)
    padded_lengths = lengths + pad + 1  # (n,)
    padded = np.zeros(int(padded_lengths.sum()), dtype=np.intp)  # (P,)
    starts = np.cumsum(padded_lengths) - padded_lengths  # (n,)
    # each token's place in the padded array: its sequence's start plus pad,
    # plus its place within the sequence
    owner = np.repeat(np.arange(n), lengths)  # (total_length,)
    within = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    padded[starts[owner] + pad + within] = codes
    # targets: every position after the start padding of its sequence
    is_target = np.ones(len(padded), dtype=bool)
    for shift in range(pad):
        is_target[starts + shift] = False
    targets = np.flatnonzero(is_target)  # (M,)
    columns = np.arange(-pad, 1)  # (N,)
    return padded[targets[:, None] + columns]  # (M, N)


def _row_ids(windows):
    """Integer id of every row, equal for equal rows.

    Built column by column from the right, each step ranking the pair
    (id so far, next token), so that the keys never overflow.
    """
    ids = np.zeros(len(windows), dtype=np.int64)  # (M,)
    for column in windows.T[::-1]:
        keys = ids * (int(column.max(initial=0)) + 1) + column
        _, ids = np.unique(keys, return_inverse=True)
        ids = ids.reshape(-1)
    return ids


def aggregate_windows(windows, counts=None):
    """The distinct rows of ``windows`` and how often each occurs.

    Parameters
    ----------
    windows : ndarray of shape (M, N) of int
    counts : ndarray of shape (M,) of int, default=None
        Weight of each row (1 each by default).

    Returns
    -------
    ngrams : ndarray of shape (m, N), dtype intp
        The distinct rows, sorted lexicographically.
    ngram_counts : ndarray of shape (m,), dtype int64
    """
    windows = np.asarray(windows, dtype=np.intp)
    if counts is None:
        counts = np.ones(len(windows), dtype=np.int64)
    ids = _row_ids(windows)  # (M,)
    distinct, first = np.unique(ids, return_index=True)  # (m,)
    totals = np.bincount(ids, weights=counts, minlength=len(distinct))  # (m,)
    ngrams = windows[first]  # (m, N)
    order = np.lexsort(ngrams.T[::-1])
    return ngrams[order], np.rint(totals[order]).astype(np.int64)


def suffix_ids(ngrams, n_tokens):
    """Ids of the strings that end where the n-grams, contexts and their prefixes end.

    A string of length ``k`` gets its id from the id of its last ``k - 1``
    tokens and its first token, so that equal strings get equal ids
    wherever they sit in a row.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
    n_tokens : int
        ``V``.

    Returns
    -------
    ids : list of ndarray of shape (3, m), dtype int64
        ``ids[k][e, r]`` is the id, among strings of length ``k``, of the
        ``k`` tokens of row ``r`` that end at column ``N - 2 + e`` (exclusive):
        ``e = 2`` is the n-gram's last ``k`` tokens, ``e = 1`` the last
        ``k`` tokens of its context, ``e = 0`` those of the context minus its
        last token. Entries whose string would start before column 0 are -1.
    """
    m, N = ngrams.shape
    ends = np.array([N - 2, N - 1, N])  # (3,)
    ids = [np.zeros((3, m), dtype=np.int64)]
    for k in range(1, N + 1):
        valid = ends - k >= 0  # (3,)
        first = ngrams[:, np.maximum(ends - k, 0)].T  # (3, m)
        keys = ids[k - 1] * n_tokens + first  # (3, m)
        level = np.full((3, m), -1, dtype=np.int64)
        _, inverse = np.unique(keys[valid], return_inverse=True)
        level[valid] = inverse.reshape(-1, m)
        ids.append(level)
    return ids


def level_counts(ngrams, counts, ids, k):
    """The counts of level ``k``: raw at the top, continuation counts below.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
    counts : ndarray of shape (m,) of int
        Raw count of each (distinct) n-gram.
    ids : list of ndarray
        From :func:`suffix_ids`.
    k : int
        The level, 1 to N: the count of the last ``k`` tokens of each row.

    Returns
    -------
    rows : ndarray of shape (g,), dtype intp
        A row that holds each distinct k-gram in its last ``k`` columns.
        k-grams that begin with two boundary tokens are left out: a sequence
        starts once, so they are the same as their suffix.
    k_counts : ndarray of shape (g,), dtype int64
        Raw count of the k-gram if ``k == N`` or it begins with the start
        boundary (``k >= 2`` and its first token is 0); otherwise the number
        of distinct tokens seen before it.
    """
    N = ngrams.shape[1]
    grams = ids[k][2]  # (m,)
    distinct, rows = np.unique(grams, return_index=True)  # (g,)
    k_counts = np.rint(np.bincount(grams, weights=counts)[distinct])  # (g,) raw
    if k < N:
        longer = np.unique(ids[k + 1][2], return_index=True)[1]  # (k+1)-grams
        continuation = np.bincount(grams[longer], minlength=len(distinct))
        starts_at_boundary = (ngrams[rows, N - k] == 0) & (k >= 2)  # (g,)
        k_counts = np.where(starts_at_boundary, k_counts, continuation[distinct])
    if k >= 3:
        keep = ~_starts_twice(ngrams[rows], N - k)
        rows, k_counts = rows[keep], k_counts[keep]
    return rows, k_counts.astype(np.int64)


def modified_discounts(counts):
    """Chen and Goodman's discounts ``D1, D2, D3+`` from counts of counts.

    With ``n_r`` the number of n-grams seen exactly ``r`` times and
    ``Y = n_1 / (n_1 + 2 n_2)``::

        D_r = r - (r + 1) Y n_{r+1} / n_r      (r = 1, 2, 3)

    When ``n_1`` is 0, ``Y`` is taken as 0.5; when ``n_r`` is 0 (no n-gram
    has ``r`` counts, so ``D_r`` only matters for ``D3+``), ``D_r`` is ``Y``;
    when ``n_r`` is positive but ``n_{r+1}`` is 0, the formula would give
    ``D_r = r``, which takes the whole count of the n-grams seen ``r``
    times (they would count for nothing at that order), so ``D_r`` is
    :data:`FALLBACK_DISCOUNTS` (0.5, 1, 1.5: the values of KenLM's
    ``--discount_fallback``). Every discount is then clipped to
    ``[MIN_DISCOUNT, r]``, so that it removes at most the count and leaves
    some probability to lower orders.

    Parameters
    ----------
    counts : ndarray of shape (g,) of int
        Counts of the distinct n-grams of one level (all positive).

    Returns
    -------
    discounts : ndarray of shape (3,), dtype float64
    """
    n = np.array([np.count_nonzero(counts == r) for r in (1, 2, 3, 4)])  # (4,)
    y = n[0] / (n[0] + 2 * n[1]) if n[0] > 0 else 0.5
    discounts = np.empty(3)
    for r in (1, 2, 3):
        if n[r - 1] == 0:
            discounts[r - 1] = y
        elif n[r] == 0:
            discounts[r - 1] = FALLBACK_DISCOUNTS[r - 1]
        else:
            discounts[r - 1] = r - (r + 1) * y * n[r] / n[r - 1]
    return np.clip(discounts, MIN_DISCOUNT, [1.0, 2.0, 3.0])


# ---------------------------------------------------------------- automaton


def _context_rows(ngrams, ids, j):
    """One row per distinct context of length ``j``, and the contexts' ids.

    Contexts that begin with two boundary tokens are left out: they are the
    same context as their suffix (a sequence starts once), so the automaton
    has no node for them.

    Returns
    -------
    context_ids : ndarray of shape (S_j,)
        Sorted.
    rows : ndarray of shape (S_j,)
        A row whose context ends with each of them.
    """
    N = ngrams.shape[1]
    context_ids, rows = np.unique(ids[j][1], return_index=True)  # (S_j,)
    if j >= 2:
        keep = ~_starts_twice(ngrams[rows], N - 1 - j)
        context_ids, rows = context_ids[keep], rows[keep]
    return context_ids, rows


def _starts_twice(ngrams, column):
    """Whether the strings that begin at ``column`` begin with two boundaries."""
    return (ngrams[:, column] == 0) & (ngrams[:, column + 1] == 0)


def _node_of(contexts, offsets, j, context_ids):
    """Node index of contexts of length ``j`` given their ids."""
    return offsets[j] + np.searchsorted(contexts[j], context_ids)


def level_discounts(ngrams, counts, n_tokens, discount=None):
    """The discounts ``D1, D2, D3+`` of every level of the model.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
    counts : ndarray of shape (m,) of int
    n_tokens : int
    discount : float or None, default=None
        A single discount for every level and count (interpolated
        Kneser-Ney); None for Chen and Goodman's estimates
        (:func:`modified_discounts`) of each level.

    Returns
    -------
    discounts : ndarray of shape (N, 3)
        Row ``k - 1`` holds level ``k``'s ``D1, D2, D3+``.
    """
    N = ngrams.shape[1]
    if discount is not None:
        return np.full((N, 3), float(discount))
    ids = suffix_ids(ngrams, n_tokens)
    return np.array(
        [
            modified_discounts(level_counts(ngrams, counts, ids, k)[1])
            for k in range(1, N + 1)
        ]
    )


def compile_automaton(ngrams, counts, n_tokens, discounts):
    """Turn n-gram counts into next-token log-probabilities and transitions.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
        Distinct n-grams (from :func:`aggregate_windows`), each ``N - 1``
        context tokens then the token predicted; ``N >= 2``.
    counts : ndarray of shape (m,) of int
        How often each was seen.
    n_tokens : int
        ``V``, the number of tokens (boundary and unknown included).
    discounts : ndarray of shape (N, 3)
        Level ``k``'s ``D1, D2, D3+`` in row ``k - 1``.

    Returns
    -------
    log_probs : ndarray of shape (S, V), dtype float64
        Row ``s``: the log-probability of every next token after node ``s``.
    transitions : ndarray of shape (S, V), dtype int32
        Row ``s``: the node after reading each token from node ``s``.
    start : int
        The node of the start context (one boundary token).
    """
    probs, transitions, start = automaton_probs(
        ngrams, counts, n_tokens, discounts, np.full(int(n_tokens), 1.0 / n_tokens)
    )
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs, out=probs)  # in place: no second table
    return log_probs, transitions, start


# Bytes per cell (a context's row, a token's column) that compiling a table
# needs at its peak: every next token's probability and node (8 + 4), and,
# while a level is computed, its contexts' suffix rows, their new rows and
# transitions (8 + 8 + 4). A labelled fit keeps the tables compiled before
# (the model of all labels: 8 + 4; each label's block: 8 + 4, joined to the
# others at the end: as much again). benchmarks/ngram_memory.py prints the
# peaks these bound.
_COMPILE_BYTES = 32
_HELD_BYTES = 24


def table_bytes(n_contexts, n_tokens, held_cells=0):
    """Bytes that compiling a table of ``n_contexts x n_tokens`` needs at its
    peak, with ``held_cells`` cells of tables compiled before it still held."""
    return _COMPILE_BYTES * n_contexts * n_tokens + _HELD_BYTES * held_cells


def check_table_size(n_contexts, n_tokens, held_cells=0):
    """Refuse, before allocating, a table whose compiling needs more than
    half the machine's memory (:func:`table_bytes`)."""
    needed = table_bytes(n_contexts, n_tokens, held_cells)
    available = physical_memory()
    if available is not None and needed > available // 2:
        held = " with the tables compiled before them," if held_cells else ""
        raise ValueError(
            f"The n-gram's tables would hold {n_contexts:,} contexts x "
            f"{n_tokens:,} tokens, and compiling them{held} needs about "
            f"{needed / 2**30:,.1f} GiB, more than half "
            f"this machine's {available / 2**30:,.1f} GiB. A Kneser-Ney n-gram "
            "keeps a dense row per context, which suits an alphabet of "
            "characters; for so many distinct tokens use CharRNNGenerator."
        )


def automaton_probs(ngrams, counts, n_tokens, discounts, base, lowest=1, held_cells=0):
    """The automaton's next-token probabilities, over a given lowest order.

    :func:`compile_automaton` with ``p_0 = base`` instead of the uniform
    distribution, in probabilities rather than logs.

    Parameters
    ----------
    ngrams, counts, n_tokens, discounts
        As for :func:`compile_automaton`.
    base : ndarray of shape (V,)
        ``p_0``. Zeros give the part of every row that does not come from
        ``p_0``: each row is linear in it.
    lowest : int, default=1
        The lowest level that reads the counts: below it ``p_k = p_0``.
    held_cells : int, default=0
        Cells of the tables compiled before this one and still held (see
        :func:`check_table_size`).

    Returns
    -------
    probs : ndarray of shape (S, V)
    transitions : ndarray of shape (S, V), dtype int32
    start : int
    """
    ngrams = np.asarray(ngrams, dtype=np.intp)
    N = ngrams.shape[1]
    V = int(n_tokens)
    ids = suffix_ids(ngrams, V)
    levels = [_context_rows(ngrams, ids, j) for j in range(N)]
    contexts = [context_ids for context_ids, _ in levels]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in contexts])])
    check_table_size(int(offsets[-1]), V, held_cells)
    probs = np.empty((offsets[-1], V))  # (S, V)
    transitions = np.zeros((offsets[-1], V), dtype=np.int32)  # (S, V)
    for j, (context_ids, rows) in enumerate(levels):
        nodes = slice(offsets[j], offsets[j + 1])
        if j == 0:
            lower = np.asarray(base, dtype=np.float64)[None, :]  # (1, V)
        else:
            # the node of each context's suffix
            parents = _node_of(contexts, offsets, j - 1, ids[j - 1][1][rows])
            lower = probs[parents]  # (S_j, V)
            transitions[nodes] = transitions[parents]
        if j + 1 < lowest:
            probs[nodes] = lower
        else:
            probs[nodes] = _level_probs(
                ngrams, counts, ids, j + 1, lower, context_ids, discounts[j]
            )
        if j + 1 < N:
            _link_children(
                ngrams, ids, levels[j + 1][1], contexts, offsets, j + 1, transitions
            )
    start = int(_node_of(contexts, offsets, 1, ids[1][1][_start_row(ngrams)]))
    return probs, transitions, start


def _start_row(ngrams):
    """A row whose context is all boundary tokens (the first of a sequence)."""
    return int(np.flatnonzero((ngrams[:, :-1] == 0).all(axis=1))[0])


def _level_probs(ngrams, counts, ids, k, lower, context_ids, level_discount):
    """Interpolated distribution of every context of length ``k - 1``.

    Parameters
    ----------
    lower : ndarray of shape (S_j, V) or (1, V)
        The distribution of each context's suffix (level ``k - 1``).
    context_ids : ndarray of shape (S_j,)
        Sorted ids of the contexts of length ``k - 1``.
    level_discount : ndarray of shape (3,)

    Returns
    -------
    probs : ndarray of shape (S_j, V)
    """
    N = ngrams.shape[1]
    rows, k_counts = level_counts(ngrams, counts, ids, k)  # (g,)
    context = np.searchsorted(context_ids, ids[k - 1][1][rows])  # (g,)
    token = ngrams[rows, N - 1]  # (g,)
    D = level_discount[np.minimum(k_counts, 3) - 1]  # (g,)
    S_j = len(context_ids)
    total = np.bincount(context, weights=k_counts, minlength=S_j)  # (S_j,)
    gamma = np.bincount(context, weights=D, minlength=S_j) / total  # (S_j,)
    probs = gamma[:, None] * lower  # (S_j, V)
    probs[context, token] += np.maximum(k_counts - D, 0.0) / total[context]
    return probs


def _link_children(ngrams, ids, rows, contexts, offsets, j, transitions):
    """Point ``h --v--> h v`` for every context ``h v`` of length ``j``.

    ``rows`` holds one row per context of length ``j`` (a node).
    """
    N = ngrams.shape[1]
    child = _node_of(contexts, offsets, j, ids[j][1][rows])
    parent = _node_of(contexts, offsets, j - 1, ids[j - 1][0][rows])  # h
    token = ngrams[rows, N - 2]  # v
    transitions[parent, token] = child


# ------------------------------------------------------------------ scoring


def sequence_log_likelihoods(steps, state, codes, lengths):
    """Log-likelihood of every sequence: its tokens, then the boundary token.

    Every sequence advances through the automaton together, one position
    at a time, longest first: the work is one gather per token.

    Parameters
    ----------
    steps : KneserNeySteps or LabelSteps
        The model's tables.
    state : ndarray of shape (n_samples,) or (n_samples, 2) of intp
        Every sequence's start state (``steps.start``, or one per sequence).
    codes : ndarray of shape (total_length,) of int
    lengths : ndarray of shape (n_samples,) of int

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,), dtype float64
    """
    lengths = np.asarray(lengths, dtype=np.intp)
    # one boundary after the last token: every sequence's end reads there
    codes = np.append(np.asarray(codes, dtype=np.intp), 0)  # (total_length + 1,)
    order = np.argsort(-lengths, kind="stable")  # (n,)
    lens = lengths[order]  # (n,) decreasing
    offsets = (np.cumsum(lengths) - lengths)[order]  # (n,)
    state = np.asarray(state, dtype=np.intp)[order]  # (n,) or (n, 2), a copy
    total = np.zeros(len(lengths))  # (n,)
    for t in range(int(lens.max(initial=0)) + 1):
        active = int(np.searchsorted(-lens, -t, side="right"))  # lens >= t
        # past its last token a sequence reads the end token (0)
        token = np.where(lens[:active] > t, codes[offsets[:active] + t], 0)  # (a,)
        total[:active] += steps.token_log_probs(state[:active], token)
        state[:active] = steps.advance(state[:active], token)
    result = np.empty(len(lengths))
    result[order] = total
    return result


class KneserNeySteps:
    """The step interface of a fitted Kneser-Ney model.

    The state of a batch of sequences is an intp array of automaton nodes,
    one per sequence.

    Parameters
    ----------
    log_probs : ndarray of shape (S, V)
    transitions : ndarray of shape (S, V) of int
    start : int

    Attributes
    ----------
    n_tokens : int
        ``V``; token 0 is the boundary token.
    """

    def __init__(self, log_probs, transitions, start):
        self._log_probs = log_probs
        self._transitions = transitions
        self._start = int(start)
        self.n_tokens = log_probs.shape[1]

    def start(self, n):
        """State of ``n`` sequences that have read the start boundary."""
        return np.full(n, self._start, dtype=np.intp)  # (n,)

    def advance(self, state, tokens, parents=None):
        """State after row ``parents[i]`` of ``state`` reads ``tokens[i]``.

        Parameters
        ----------
        state : ndarray of shape (n,) of intp
        tokens : ndarray of shape (m,) of int
        parents : ndarray of shape (m,) of int, default=None
            Row of ``state`` each new row continues; ``arange(m)`` if None.

        Returns
        -------
        state : ndarray of shape (m,) of intp
        """
        rows = state if parents is None else state[parents]  # (m,)
        return self._transitions[rows, tokens].astype(np.intp)  # (m,)

    def log_probs(self, state):
        """Next-token log-probabilities, ndarray of shape (n, V), float64."""
        return self._log_probs[state]  # (n, V)

    def token_log_probs(self, state, tokens):
        """Log-probability of ``tokens[i]`` next in row ``i``, shape (n,)."""
        return self._log_probs[state, tokens]  # (n,)


class LabelSteps:
    """The step interface of one label's model, over the model of all labels.

    A label's next-token probability after a history is its own part,
    read in the longest suffix of the history that the label saw, plus the
    model of all labels read in the longest suffix that any label saw,
    with the weight the label's model leaves to it::

        p(w | history, label) = a(w | h_label) + g(h_label) p_all(w | h_all)

    (:func:`class_model`). The state of a batch of sequences is an intp
    array of shape (n, 2): each sequence's node in the labels' tables and its
    node in the model of all labels. Only :meth:`start` depends on the
    label: a state of any label advances and reads here.

    Parameters
    ----------
    tables : ClassTables
    label : int or None, default=None
        An index of the labels, where :meth:`start` starts. None for
        sequences of several labels, whose start states
        :func:`label_start_states` gives.

    Attributes
    ----------
    n_tokens : int
        ``V``; token 0 is the boundary token.
    """

    def __init__(self, tables, label=None):
        self._tables = tables
        self._label = label
        self._probs = tables.class_probs  # (S, V) a(w | h)
        self._backoff = tables.class_backoff  # (S,) g(h)
        self._transitions = tables.class_transitions  # (S, V)
        self._all = KneserNeySteps(tables.log_probs, tables.transitions, tables.start)
        self.n_tokens = self._probs.shape[1]

    def start(self, n):
        """State of ``n`` sequences of the label that have read the start boundary."""
        if self._label is None:
            raise ValueError("steps of several labels: use label_start_states")
        return label_start_states(self._tables, np.full(n, self._label))  # (n, 2)

    def advance(self, state, tokens, parents=None):
        """State after row ``parents[i]`` of ``state`` reads ``tokens[i]``.

        Parameters
        ----------
        state : ndarray of shape (n, 2) of intp
        tokens : ndarray of shape (m,) of int
        parents : ndarray of shape (m,) of int, default=None
            Row of ``state`` each new row continues; ``arange(m)`` if None.

        Returns
        -------
        state : ndarray of shape (m, 2) of intp
        """
        rows = state if parents is None else state[parents]  # (m, 2)
        own = self._transitions[rows[:, 0], tokens]  # (m,)
        return np.column_stack([own, self._all.advance(rows[:, 1], tokens)])

    def log_probs(self, state):
        """Next-token log-probabilities, ndarray of shape (n, V), float64."""
        own = state[:, 0]  # (n,)
        p_all = np.exp(self._all.log_probs(state[:, 1]))  # (n, V)
        with np.errstate(divide="ignore"):
            return np.log(self._probs[own] + self._backoff[own, None] * p_all)

    def token_log_probs(self, state, tokens):
        """Log-probability of ``tokens[i]`` next in row ``i``, shape (n,)."""
        own = state[:, 0]  # (n,)
        p_all = np.exp(self._all.token_log_probs(state[:, 1], tokens))  # (n,)
        with np.errstate(divide="ignore"):
            return np.log(self._probs[own, tokens] + self._backoff[own] * p_all)


# ------------------------------------------------------------ whole models


def fit_tables(ngrams, counts, n_tokens, discount=None):
    """Discounts and automaton of the model of the given n-gram counts.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
    counts : ndarray of shape (m,) of int
    n_tokens : int
    discount : float or None, default=None
        See :func:`level_discounts`.

    Returns
    -------
    discounts : ndarray of shape (N, 3)
    log_probs, transitions : ndarray of shape (S, V)
    start : int
    """
    discounts = level_discounts(ngrams, counts, n_tokens, discount)
    return discounts, *compile_automaton(ngrams, counts, n_tokens, discounts)


def order_scores(train, valid, n_tokens, orders, discount=None, patience=2):
    """Held-out mean log-likelihood per token of models of several orders.

    Orders are tried in increasing order; the search stops once
    ``patience`` orders in a row have not beaten the best score so far
    (on names, the score rises to a peak and then falls).

    Parameters
    ----------
    train, valid : tuple of (codes, lengths)
        Encoded sequences to count and to score.
    n_tokens : int
    orders : sequence of int
        Increasing, each at least 2.
    discount : float or None, default=None
    patience : int, default=2

    Returns
    -------
    scores : dict of int to float
        Nats per token (tokens and one end token per sequence) of each
        order tried.
    """
    valid_codes, valid_lengths = valid
    windows = ngram_windows(*train, max(orders))  # (M, N_max)

    def score(order):
        ngrams, counts = aggregate_windows(windows[:, windows.shape[1] - order :])
        _, log_probs, transitions, start = fit_tables(
            ngrams, counts, n_tokens, discount
        )
        steps = KneserNeySteps(log_probs, transitions, start)
        return sequence_log_likelihoods(
            steps, steps.start(len(valid_lengths)), valid_codes, valid_lengths
        )

    return _scores_until_worse(orders, score, valid_lengths, patience)


def _scores_until_worse(orders, log_likelihoods, lengths, patience):
    """Nats per token of each order, until ``patience`` in a row are not best.

    Parameters
    ----------
    orders : sequence of int
    log_likelihoods : callable
        ``log_likelihoods(order)``: ndarray of shape (n,), the held-out
        sequences' log-likelihoods under the model of that order.
    lengths : ndarray of shape (n,) of int
        The held-out sequences' lengths.
    patience : int

    Returns
    -------
    scores : dict of int to float
    """
    n_tokens = lengths.sum() + len(lengths)  # one end token per sequence
    scores, best, worse = {}, -np.inf, 0
    for order in orders:
        scores[order] = float(log_likelihoods(order).sum() / n_tokens)
        worse = 0 if scores[order] > best else worse + 1
        best = max(best, scores[order])
        if worse >= patience:
            break
    return scores


# ------------------------------------------------------------ with labels


# The lowest level a label's own counts enter: below it, a label's model is
# the model of all labels (see :func:`class_model`). On the surnames
# (``benchmarks/ngram_labels.py``) starting at level 2 beats level 1.
CLASS_LOWEST_LEVEL = 2


def class_ngram_counts(windows, classes, n_classes, counts=None):
    """The distinct n-grams and how often each was seen with each label.

    Parameters
    ----------
    windows : ndarray of shape (M, N) of int
        From :func:`ngram_windows` (or distinct n-grams with ``counts``).
    classes : ndarray of shape (M,) of int
        The label (an index of ``classes_``) of every row.
    n_classes : int
    counts : ndarray of shape (M,) of int, default=None
        Weight of each row (1 each by default).

    Returns
    -------
    ngrams : ndarray of shape (m, N), dtype intp
        The distinct n-grams, sorted lexicographically.
    class_counts : ndarray of shape (m, n_classes), dtype int64
        How often each was seen with each label.
    """
    N = np.shape(windows)[1]
    labelled = np.column_stack([windows, classes])  # (M, N + 1)
    rows, totals = aggregate_windows(labelled, counts)  # sorted by n-gram first
    ngrams, owner = np.unique(rows[:, :N], axis=0, return_inverse=True)
    class_counts = np.zeros((len(ngrams), n_classes), dtype=np.int64)
    np.add.at(class_counts, (owner.reshape(-1), rows[:, N]), totals)
    return ngrams, class_counts


def class_model(ngrams, counts, n_tokens, discounts, held_cells=0):
    """One label's automaton, over the model of all labels.

    The label's interpolated Kneser-Ney model of its own counts, from level
    :data:`CLASS_LOWEST_LEVEL` up, with the model of all labels in place of
    the uniform distribution. Every row is linear in ``p_0``: after a history
    whose longest suffix the label saw is ``h``, the probability of ``w`` is
    ``a(w | h) + g(h) p_0(w)``. The automaton is compiled once with ``p_0``
    all on the unknown token (token ``V - 1``), which no n-gram holds: its
    column is then ``g(h)`` exactly (a product of the levels' weights, never
    0), and the other columns ``a``. :class:`LabelSteps` reads ``p_0`` from
    the model of all labels after the whole history (the longest suffix of
    it that any label saw), so a history the label never saw still gets the
    others' longer contexts.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
        The n-grams of the label.
    counts : ndarray of shape (m,) of int
        How often the label saw each.
    n_tokens : int
    discounts : ndarray of shape (N, 3)
        The label's own (:func:`level_discounts` of its counts).
    held_cells : int, default=0
        See :func:`automaton_probs`.

    Returns
    -------
    probs : ndarray of shape (S, V)
        ``a(w | h)``.
    backoff : ndarray of shape (S,)
        ``g(h)``, the weight left to the model of all labels.
    transitions : ndarray of shape (S, V), dtype int32
    start : int
    """
    V = int(n_tokens)
    unknown = np.zeros(V)  # (V,) p_0 on the unknown token alone
    unknown[V - 1] = 1.0
    probs, transitions, start = automaton_probs(
        ngrams, counts, V, discounts, unknown, CLASS_LOWEST_LEVEL, held_cells
    )  # (S, V)
    backoff = probs[:, V - 1].copy()  # (S,) g(h)
    probs[:, V - 1] = 0.0  # a(unknown | h): never counted
    return probs, backoff, transitions, start


class ClassTables(NamedTuple):
    """The compiled model of every label (:func:`class_tables`)."""

    discounts: np.ndarray  # (N, 3) of the model of all labels
    log_probs: np.ndarray  # (S_all, V) the model of all labels
    transitions: np.ndarray  # (S_all, V)
    start: int
    class_discounts: np.ndarray  # (C, N, 3)
    class_probs: np.ndarray  # (S, V) every label's a(w | h), block after block
    class_backoff: np.ndarray  # (S,) g(h)
    class_transitions: np.ndarray  # (S, V) into the labels' blocks
    class_starts: np.ndarray  # (C,) each label's start node in them
    class_offsets: np.ndarray  # (C + 1,) label c: rows offsets[c] to offsets[c + 1]


def class_tables(ngrams, class_counts, n_tokens, discount=None):
    """The compiled model of all labels, and of every label over it.

    The model of all labels is the model of the counts summed over labels
    (the model a fit without labels makes). Every label's model
    (:func:`class_model`) is a block of the labels' tables, its transitions
    offset to point into its own block. A label with no n-grams (all its
    sequences were empty) gets a block of one node that leaves everything
    to the model of all labels.

    Parameters
    ----------
    ngrams : ndarray of shape (m, N) of int
    class_counts : ndarray of shape (m, n_classes) of int
    n_tokens : int
    discount : float or None, default=None
        See :func:`level_discounts`.

    Returns
    -------
    tables : ClassTables
    """
    V = int(n_tokens)
    discounts, log_probs, transitions, start = fit_tables(
        ngrams, class_counts.sum(axis=1), V, discount
    )
    n_classes = class_counts.shape[1]
    class_discounts = np.tile(discounts, (n_classes, 1, 1))  # (C, N, 3)
    class_starts = np.zeros(n_classes, dtype=np.int64)
    offsets = np.zeros(n_classes + 1, dtype=np.int64)
    probs, backoff, moves = [], [], []
    for c in range(n_classes):
        seen = class_counts[:, c] > 0  # (m,)
        if seen.any():
            own, counts = ngrams[seen], class_counts[seen, c]
            class_discounts[c] = level_discounts(own, counts, V, discount)
            held = log_probs.size + int(offsets[c]) * V  # the tables so far
            a, g, to, first = class_model(own, counts, V, class_discounts[c], held)
        else:  # one node that leaves everything to the model of all labels
            a, g, to, first = (
                np.zeros((1, V)),
                np.ones(1),
                np.zeros((1, V), np.int32),
                0,
            )
        probs.append(a)
        backoff.append(g)
        moves.append(to + np.int32(offsets[c]))
        class_starts[c] = offsets[c] + first
        offsets[c + 1] = offsets[c] + len(a)
    return ClassTables(
        discounts,
        log_probs,
        transitions,
        start,
        class_discounts,
        np.concatenate(probs),
        np.concatenate(backoff),
        np.concatenate(moves),
        class_starts,
        offsets,
    )


def class_order_scores(train, valid, n_tokens, n_classes, orders, discount=None):
    """Held-out score of the labelled models of several orders.

    As :func:`order_scores`, each held-out sequence scored under its label.

    Parameters
    ----------
    train, valid : tuple of (codes, lengths, classes)
        Encoded sequences and their labels (indices of ``classes_``).
    n_tokens, n_classes : int
    orders : sequence of int
    discount : float or None, default=None

    Returns
    -------
    scores : dict of int to float
    """
    codes, lengths, classes = train
    valid_codes, valid_lengths, valid_classes = valid
    windows = ngram_windows(codes, lengths, max(orders))  # (M, N_max)
    owner = np.repeat(classes, lengths + 1)  # (M,)

    def score(order):
        ngrams, class_counts = class_ngram_counts(
            windows[:, windows.shape[1] - order :], owner, n_classes
        )
        tables = class_tables(ngrams, class_counts, n_tokens, discount)
        return label_log_likelihoods(tables, valid_classes, valid_codes, valid_lengths)

    return _scores_until_worse(orders, score, valid_lengths, patience=2)


def label_log_likelihoods(tables, labels, codes, lengths):
    """Log-likelihood of every sequence under its label.

    Parameters
    ----------
    tables : ClassTables
    labels : ndarray of shape (n_samples,) of int
        Indices of labels.
    codes : ndarray of shape (total_length,) of int
    lengths : ndarray of shape (n_samples,) of int

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,), dtype float64
    """
    state = label_start_states(tables, labels)  # (n, 2)
    return sequence_log_likelihoods(LabelSteps(tables), state, codes, lengths)


def label_start_states(tables, labels):
    """The :class:`LabelSteps` start state of sequences of the given labels.

    Parameters
    ----------
    tables : ClassTables
    labels : ndarray of shape (n,) of int
        Indices of labels.

    Returns
    -------
    state : ndarray of shape (n, 2), dtype intp
    """
    own = tables.class_starts[labels]  # (n,)
    return np.column_stack([own, np.full(len(own), tables.start)]).astype(np.intp)
