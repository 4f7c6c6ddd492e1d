"""PyTorch reference for the speed benchmark: the same model, fused modules.

The network is the package's: one-hot tokens into ``nn.RNN``, ``nn.GRU`` or
``nn.LSTM`` (one layer, ``input_size`` = vocabulary size, so the parameter
count matches ``W_x, W_h, b``), then ``nn.Linear`` to the vocabulary. It
trains on the same padded ``(T, B)`` batches as the package, with the loss on
the real (unmasked) positions only, ``clip_grad_norm_`` and ``torch.optim.AdamW``
with weight decay on the weight matrices only, as the package does.

Imported only by ``speed.py`` and only when torch is installed.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

MODULES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class TorchCharRNN(nn.Module):
    """One recurrent layer over one-hot tokens, then a linear read-out."""

    def __init__(self, cell, n_tokens, hidden_size):
        super().__init__()
        self.n_tokens = n_tokens
        self.rnn = MODULES[cell](n_tokens, hidden_size)
        self.out = nn.Linear(hidden_size, n_tokens)

    def forward(self, inputs, state=None):
        """``inputs`` (T, B) token indices -> hidden states (T, B, H), state."""
        x = F.one_hot(inputs, self.n_tokens).to(torch.float32)  # (T, B, V)
        return self.rnn(x, state)


def make_optimizer(model, *, learning_rate, weight_decay, betas, eps):
    """AdamW with decay on weight matrices only, like the package."""
    decay = [p for p in model.parameters() if p.ndim == 2]
    no_decay = [p for p in model.parameters() if p.ndim != 2]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=learning_rate,
        betas=betas,
        eps=eps,
        foreach=True,
    )


def train_step(model, optimizer, inputs, targets, mask, clip_norm):
    """One AdamW step on one padded batch; returns the mean loss per token.

    Parameters
    ----------
    inputs, targets : ndarray of shape (T, B), int
    mask : ndarray of shape (T, B), bool
        False on padding; only real positions enter the loss.
    """
    inputs = torch.from_numpy(inputs)
    positions = torch.from_numpy(np.flatnonzero(mask))  # (N,)
    tgt = torch.from_numpy(targets.reshape(-1))[positions]  # (N,)
    hs, _ = model(inputs)  # (T, B, H)
    h_out = hs.reshape(-1, hs.shape[-1])[positions]  # (N, H)
    loss = F.cross_entropy(model.out(h_out), tgt)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def sample(model, n_samples, max_length, generator):
    """Draw ``n_samples`` names as one batch, one step for all at a time.

    Finished rows leave the batch, as in the package's sampler.

    Returns
    -------
    sequences : list of list of int
        Token indices of each name, end token excluded.
    """
    active = torch.arange(n_samples)
    tokens = torch.zeros(n_samples, dtype=torch.long)
    state = None
    out = torch.zeros((n_samples, max_length), dtype=torch.long)
    lengths = torch.full((n_samples,), max_length, dtype=torch.long)
    for t in range(max_length):
        hs, state = model(tokens[None, :], state)  # (1, A, H)
        probs = torch.softmax(model.out(hs[0]), dim=-1)  # (A, V)
        probs[:, -1] = 0.0  # never the unknown token
        nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]  # (A,)
        ended = nxt == 0
        lengths[active[ended]] = t
        out[active, t] = nxt
        keep = ~ended
        if not keep.any():
            break
        active, tokens = active[keep], nxt[keep]
        if isinstance(state, tuple):
            state = tuple(s[:, keep] for s in state)
        else:
            state = state[:, keep]
    # one conversion to lists, then slices: not a tensor slice per name
    return [row[:n] for row, n in zip(out.tolist(), lengths.tolist(), strict=True)]


def load_package_weights(model, weights):
    """Copy a one-layer package model's weights into ``model``.

    The package computes ``x W_x + h W_h + b``; PyTorch computes
    ``x W_ih^T + b_ih + h W_hh^T + b_hh``: same gate order, transposed
    matrices, and the bias goes to ``b_ih`` with ``b_hh`` at zero.
    """
    with torch.no_grad():
        model.rnn.weight_ih_l0.copy_(torch.from_numpy(weights["W_x0"].T.copy()))
        model.rnn.weight_hh_l0.copy_(torch.from_numpy(weights["W_h0"].T.copy()))
        model.rnn.bias_ih_l0.copy_(torch.from_numpy(weights["b0"].copy()))
        model.rnn.bias_hh_l0.zero_()
        model.out.weight.copy_(torch.from_numpy(weights["W_y"].T.copy()))
        model.out.bias.copy_(torch.from_numpy(weights["b_y"].copy()))
