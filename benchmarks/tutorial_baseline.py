"""The tutorial's algorithm, as the speed benchmark's per-character baseline.

This is the loop of Karpathy's ``min-char-rnn.py``, kept as it is written
there: one name at a time, one character at a time, column vectors, the input
as a one-hot vector multiplied by ``W_xh``, a tanh RNN, a softmax, and a
parameter update after every name. Only what the comparison needs changed:

- every name is one sequence, read from the start token (index 0) and ending
  with the end token (index 0), as in the package;
- the update is the package's AdamW with clipping by global norm, with the
  same settings, instead of Adagrad and element-wise clipping;
- float32 throughout, like the package's default;
- the sampler never draws the unknown token (the last index), as the
  package's does, and draws with a ``numpy.random.Generator``.

Its weights use the tutorial's layout: ``W_xh (H, V)``, ``W_hh (H, H)``,
``W_hy (V, H)``, ``b_h (H, 1)``, ``b_y (V, 1)``.
"""

import numpy as np


def init_weights(rng, n_tokens, hidden_size, dtype=np.float32):
    """Uniform in ``[-1/sqrt(H), 1/sqrt(H)]``, as the package draws them."""
    bound = 1.0 / np.sqrt(hidden_size)
    H, V = hidden_size, n_tokens
    return {
        "W_xh": rng.uniform(-bound, bound, (H, V)).astype(dtype),
        "W_hh": rng.uniform(-bound, bound, (H, H)).astype(dtype),
        "W_hy": rng.uniform(-bound, bound, (V, H)).astype(dtype),
        "b_h": np.zeros((H, 1), dtype=dtype),
        "b_y": np.zeros((V, 1), dtype=dtype),
    }


def from_package(weights):
    """The tutorial's layout of a one-layer tanh-RNN package model."""
    return {
        "W_xh": np.ascontiguousarray(weights["W_x0"].T),
        "W_hh": np.ascontiguousarray(weights["W_h0"].T),
        "W_hy": np.ascontiguousarray(weights["W_y"].T),
        "b_h": weights["b0"].reshape(-1, 1).copy(),
        "b_y": weights["b_y"].reshape(-1, 1).copy(),
    }


def loss_fun(weights, inputs, targets):
    """Forward and backward pass over one name, one character at a time.

    Parameters
    ----------
    weights : dict of str to ndarray
    inputs, targets : list of int
        ``inputs = [0] + codes`` and ``targets = codes + [0]``.

    Returns
    -------
    loss : float
        Negative log-likelihood of the name, in nats.
    grads : dict of str to ndarray
    """
    W_xh, W_hh, W_hy = weights["W_xh"], weights["W_hh"], weights["W_hy"]
    b_h, b_y = weights["b_h"], weights["b_y"]
    V, H = W_hy.shape
    dtype = W_hh.dtype
    xs, hs, ps = {}, {}, {}
    hs[-1] = np.zeros((H, 1), dtype=dtype)
    loss = 0.0
    for t in range(len(inputs)):
        xs[t] = np.zeros((V, 1), dtype=dtype)  # one-hot (V, 1)
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(W_xh, xs[t]) + np.dot(W_hh, hs[t - 1]) + b_h)
        ys = np.dot(W_hy, hs[t]) + b_y  # (V, 1)
        ps[t] = np.exp(ys) / np.sum(np.exp(ys))
        loss += -np.log(ps[t][targets[t], 0])
    dW_xh, dW_hh, dW_hy = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros_like(W_hy)
    db_h, db_y = np.zeros_like(b_h), np.zeros_like(b_y)
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        dW_hy += np.dot(dy, hs[t].T)
        db_y += dy
        dh = np.dot(W_hy.T, dy) + dh_next
        dh_raw = (1 - hs[t] * hs[t]) * dh
        db_h += dh_raw
        dW_xh += np.dot(dh_raw, xs[t].T)
        dW_hh += np.dot(dh_raw, hs[t - 1].T)
        dh_next = np.dot(W_hh.T, dh_raw)
    grads = {"W_xh": dW_xh, "W_hh": dW_hh, "W_hy": dW_hy, "b_h": db_h, "b_y": db_y}
    return float(loss), grads


class Adam:
    """AdamW with clipping by global norm, updated after every name."""

    def __init__(self, weights, *, learning_rate, weight_decay, betas, eps, clip):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.beta_1, self.beta_2 = betas
        self.eps = eps
        self.clip = clip
        self.t = 0
        self.m = {name: np.zeros_like(w) for name, w in weights.items()}
        self.v = {name: np.zeros_like(w) for name, w in weights.items()}

    def step(self, weights, grads):
        norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        scale = min(1.0, self.clip / (norm + 1e-12))
        self.t += 1
        lr = self.learning_rate
        c1 = 1 - self.beta_1**self.t
        c2 = 1 - self.beta_2**self.t
        for name, w in weights.items():
            g = grads[name] * scale
            self.m[name] = self.beta_1 * self.m[name] + (1 - self.beta_1) * g
            self.v[name] = self.beta_2 * self.v[name] + (1 - self.beta_2) * g * g
            if name.startswith("W_"):
                w -= lr * self.weight_decay * w
            w -= lr * (self.m[name] / c1) / (np.sqrt(self.v[name] / c2) + self.eps)


def train(weights, optimizer, names):
    """One pass over ``names`` (lists of token indices), one update per name.

    Returns
    -------
    loss : float
        Mean negative log-likelihood per token, in nats.
    """
    total, n_tokens = 0.0, 0
    for codes in names:
        inputs = [0] + list(codes)
        targets = list(codes) + [0]
        loss, grads = loss_fun(weights, inputs, targets)
        optimizer.step(weights, grads)
        total += loss
        n_tokens += len(targets)
    return total / n_tokens


def sample(weights, rng, max_length):
    """Draw one name, one character at a time, as the tutorial samples.

    Returns
    -------
    codes : list of int
        Token indices of the name, end token excluded.
    """
    W_xh, W_hh, W_hy = weights["W_xh"], weights["W_hh"], weights["W_hy"]
    b_h, b_y = weights["b_h"], weights["b_y"]
    V, H = W_hy.shape
    x = np.zeros((V, 1), dtype=W_hh.dtype)  # one-hot (V, 1): the start token
    x[0] = 1
    h = np.zeros((H, 1), dtype=W_hh.dtype)
    codes = []
    for _ in range(max_length):
        h = np.tanh(np.dot(W_xh, x) + np.dot(W_hh, h) + b_h)
        # float64 here: Generator.choice checks that p sums to 1 to 1e-8
        y = (np.dot(W_hy, h) + b_y).astype(np.float64)
        p = np.exp(y[:-1]) / np.sum(np.exp(y[:-1]))  # never the unknown token
        ix = int(rng.choice(V - 1, p=p.ravel()))
        if ix == 0:
            break
        codes.append(ix)
        x = np.zeros((V, 1), dtype=W_hh.dtype)
        x[ix] = 1
    return codes
