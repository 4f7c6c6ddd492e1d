"""PyTorch GRU and LSTM name models for the quality benchmark.

The same model as ``CharRNNGenerator`` (a per-token input vector, stacked
recurrent layers, dropout on every layer's output, a linear softmax layer),
trained the same way: AdamW, clipping by global norm, length-bucketed
mini-batches, early stopping on a held-out tenth with the best weights kept.
Benchmark-only: PyTorch is never a dependency of the package.
"""

import numpy as np
import torch
from torch import nn


class CharModel(nn.Module):
    def __init__(self, n_tokens, hidden_size, cell, n_layers, dropout):
        super().__init__()
        self.embed = nn.Embedding(n_tokens, hidden_size)
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn(
            hidden_size,
            hidden_size,
            num_layers=n_layers,
            dropout=dropout if n_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, n_tokens)

    def forward(self, inputs):  # (T, B)
        hs, _ = self.rnn(self.embed(inputs))  # (T, B, H)
        return self.out(self.drop(hs))  # (T, B, V)


class TorchGenerator:
    """Fit and score a PyTorch char model on lists of str."""

    def __init__(
        self,
        cell="lstm",
        hidden_size=256,
        n_layers=1,
        dropout=0.25,
        max_iter=60,
        batch_size=32,
        learning_rate=3e-3,
        weight_decay=0.01,
        clip_norm=5.0,
        validation_fraction=0.1,
        n_iter_no_change=5,
        random_state=0,
    ):
        self.__dict__.update(locals())
        del self.__dict__["self"]

    def _encode(self, names):
        return [np.array([self.index_.get(c, 0) for c in n] + [0]) for n in names]

    def _batch(self, seqs):
        """Inputs (T, B) starting with token 0, targets (T, B) with -1 padding."""
        T = max(len(s) for s in seqs)
        inputs = np.zeros((T, len(seqs)), dtype=np.int64)
        targets = np.full((T, len(seqs)), -1, dtype=np.int64)
        for j, s in enumerate(seqs):
            inputs[1 : len(s), j] = s[:-1]
            targets[: len(s), j] = s
        return torch.from_numpy(inputs), torch.from_numpy(targets)

    def _batches(self, seqs, rng):
        order = rng.permutation(len(seqs))
        pool = 64 * self.batch_size
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: len(seqs[i]))
            batches += [
                chunk[i : i + self.batch_size]
                for i in range(0, len(chunk), self.batch_size)
            ]
        return [batches[i] for i in rng.permutation(len(batches))]

    def fit(self, names):
        torch.manual_seed(self.random_state)
        rng = np.random.RandomState(self.random_state)
        chars = sorted(set("".join(names)))
        self.index_ = {c: i + 1 for i, c in enumerate(chars)}
        self.model_ = CharModel(
            len(chars) + 2, self.hidden_size, self.cell, self.n_layers, self.dropout
        )
        seqs = self._encode(names)
        order = rng.permutation(len(seqs))
        n_valid = int(np.ceil(self.validation_fraction * len(seqs)))
        valid = [seqs[i] for i in order[:n_valid]]
        train = [seqs[i] for i in order[n_valid:]]
        opt = torch.optim.AdamW(
            self.model_.parameters(),
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
        )
        loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
        best, best_state, stale = -np.inf, None, 0
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.model_.train()
            for batch in self._batches(train, rng):
                inputs, targets = self._batch([train[i] for i in batch])
                logits = self.model_(inputs)
                loss = loss_fn(
                    logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
                )
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.model_.parameters(), self.clip_norm)
                opt.step()
            self.n_iter_ += 1
            score = self._score_encoded(valid)
            if score > best:
                best_state = {k: v.clone() for k, v in self.model_.state_dict().items()}
            stale = 0 if score > best + 1e-4 else stale + 1
            best = max(best, score)
            if stale >= self.n_iter_no_change:
                break
        self.model_.load_state_dict(best_state)
        return self

    @torch.no_grad()
    def _score_encoded(self, seqs):
        self.model_.eval()
        total, count = 0.0, 0
        for start in range(0, len(seqs), 512):
            inputs, targets = self._batch(seqs[start : start + 512])
            logp = torch.log_softmax(self.model_(inputs), dim=-1)
            mask = targets >= 0
            picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            total += float(picked[mask].sum())
            count += int(mask.sum())
        return total / count

    def score(self, names):
        """Mean log-likelihood per token in nats; unseen characters map to an
        untrained token, as in the package."""
        seqs = [
            np.array([self.index_.get(c, len(self.index_) + 1) for c in n] + [0])
            for n in names
        ]
        return self._score_encoded(seqs)
