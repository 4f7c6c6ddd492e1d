"""
=========================
Generating dinosaur names
=========================

Train a small character-level network on the 1,530 dinosaur genus names that
ship with the package, then use it the three ways it offers: invent new
names, score names, and complete the start of a name.

A name of ``L`` characters is ``L + 1`` tokens for the model (its characters
and one end token), and every score is in nats per token: see
:ref:`user_guide`.
"""

# %%
# A first model
# -------------
# The defaults are a larger network (a wide LSTM with dropout); a GRU
# of 64 units with a larger learning rate trains in a few seconds. Early
# stopping (on by default) holds out 10% of the names and keeps the weights of
# the epoch that scored them best.
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
print(f"{len(names)} names, {len(gen.vocabulary_)} distinct characters")
print(f"{gen.n_iter_} epochs; best held-out score {gen.best_validation_score_:.3f}")

# %%
# New names
# ---------
# :meth:`~sklearn_charrnn.CharRNNGenerator.sample` draws names one character
# at a time until the network draws the end token. A sample can also be a
# name of the training list, one the network learned well; the mark shows
# which ones are (none of these twelve), and the count below how often it
# happens.
training = set(names)
for name in gen.sample(12, random_state=0):
    print(name + (" (in the training list)" if name in training else ""))
many = gen.sample(1000, random_state=1)
print(f"{sum(name in training for name in many)} of 1000 samples are training names")

# %%
# Scores
# ------
# :meth:`~sklearn_charrnn.CharRNNGenerator.score_samples` gives the
# log-likelihood of each name (a sum over its tokens, so longer names score
# lower); dividing by the number of tokens makes names of different lengths
# comparable. A name that looks like a dinosaur scores higher per token than
# a jumble of the same letters.
candidates = ["tyrannosaurus", "raptorsaurus", "suruastnyrano", "qwxzkjvv"]
log_likelihood = gen.score_samples(candidates)
for name, ll in zip(candidates, log_likelihood, strict=True):
    print(f"{name:<15} {ll:8.2f} nats  {ll / (len(name) + 1):6.3f} nats/token")

# %%
# Completions
# -----------
# :meth:`~sklearn_charrnn.CharRNNGenerator.complete` reads a prefix, then
# draws the rest.
print(gen.complete(["tyra", "stego", "micro"], random_state=0))

# %%
# Did it learn when to stop?
# --------------------------
# The end token is what ends a name: if the network learned it, the lengths
# of its names follow the lengths of the training names.
import matplotlib.pyplot as plt
import numpy as np

samples = gen.sample(1000, random_state=1)
bins = np.arange(1, 31)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist([len(n) for n in names], bins=bins, density=True, alpha=0.6, label="training")
ax.hist([len(n) for n in samples], bins=bins, density=True, alpha=0.6, label="sampled")
ax.set_xlabel("name length (characters)")
ax.set_ylabel("share of names")
ax.set_title("Length of training and sampled names")
ax.legend()
fig.tight_layout()
plt.show()
