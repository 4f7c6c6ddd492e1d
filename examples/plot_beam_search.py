"""
====================================
Completing prefixes with beam search
====================================

:meth:`~sklearn_charrnn.CharRNNGenerator.complete` finishes the start of a
name in two ways:

- by **sampling** (the default): the prefix is read, then characters are
  drawn until the end token, so every call can give a different name;
- with ``most_likely=True``, by **beam search**: at every step it keeps the
  ``n_samples`` most probable starts, and returns the ``n_samples`` most
  probable completions it finds, most probable first, each with its
  log-likelihood. No randomness is involved. Like any beam search it is
  approximate: a completion whose start ranked low on the way is missed,
  and a wider beam (a larger ``n_samples``) finds it.

The log-likelihood returned by beam search is that of the whole name, prefix
and end token included: the number
:meth:`~sklearn_charrnn.CharRNNGenerator.score_samples` gives for it (up to
rounding).
"""

# %%
# Train a model
# -------------
import matplotlib.pyplot as plt
import numpy as np

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_dinosaurs

names = load_dinosaurs()
gen = CharRNNGenerator(
    hidden_size=64,
    cell="gru",
    learning_rate_init=1e-2,
    dropout=0.0,
    max_iter=20,
    n_iter_no_change=3,
    random_state=0,
).fit(names)

# %%
# The most likely completions
# ---------------------------
prefixes = ["tyra", "stego", "veloci"]
beams = gen.complete(prefixes, n_samples=5, most_likely=True)
for prefix, completions in zip(prefixes, beams, strict=True):
    print(f"{prefix!r}:")
    for name, log_likelihood in completions:
        print(f"    {name:<20} {log_likelihood:8.3f}")

# %%
# The log-likelihoods are those of :meth:`score_samples`:
best = [completions[0] for completions in beams]
print(np.allclose([ll for _, ll in best], gen.score_samples([n for n, _ in best])))

# %%
# A beam of 5 is not the 5 best: a wider beam finds completions that the
# narrow one passed by (here the first five of a beam of 50, for 'stego').
wide = gen.complete("stego", n_samples=50, most_likely=True)[:5]
for name, log_likelihood in wide:
    print(f"    {name:<20} {log_likelihood:8.3f}")

# %%
# Sampled completions, for comparison
# -----------------------------------
# Sampling explores: its completions are more varied and, on average, less
# probable than the beam's (some may beat the narrow beam's last ones, as
# above).
sampled = gen.complete(prefixes, n_samples=20, random_state=0)
for prefix, completions in zip(prefixes, sampled, strict=True):
    print(f"{prefix!r}: {', '.join(completions[:6])}")

# %%
# Log-likelihood of beam and sampled completions
# ----------------------------------------------
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for i, (beam, samples) in enumerate(zip(beams, sampled, strict=True)):
    sample_ll = gen.score_samples(samples)
    ax.scatter(
        np.full(len(sample_ll), i - 0.12),
        sample_ll,
        color="C0",
        alpha=0.6,
        label="sampled" if i == 0 else None,
    )
    ax.scatter(
        np.full(len(beam), i + 0.12),
        [ll for _, ll in beam],
        color="C3",
        marker="D",
        label="beam search (top 5)" if i == 0 else None,
    )
ax.set_xticks(range(len(prefixes)), [repr(p) for p in prefixes])
ax.set_xlabel("prefix")
ax.set_ylabel("log-likelihood of the name (nats)")
ax.set_title("Beam search (a beam of 5) finds likely completions")
ax.legend()
fig.tight_layout()
plt.show()
