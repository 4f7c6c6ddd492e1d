"""Batched generation: every sequence advances one token per step together."""

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
