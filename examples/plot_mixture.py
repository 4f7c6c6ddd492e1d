"""
Mixing a network and an n-gram
===============================

A :class:`~sklearn_charrnn.KneserNeyGenerator` counts character n-grams and
fits in a fraction of a second; a :class:`~sklearn_charrnn.CharRNNGenerator`
learns a recurrent network. They make different mistakes, so a
:class:`~sklearn_charrnn.GeneratorMixture`, which adds their next-token
probabilities with weights fitted by EM on held-out names, scores new names
better than either.

This example fits the three on 90% of the dinosaur names and scores them on
the other 10%, then shows the mixture's weights and how EM raised the
held-out likelihood while fitting them. The network is small here so that
the example runs in seconds; the defaults do better (see the quality
benchmark).
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklearn_charrnn import CharRNNGenerator, GeneratorMixture, KneserNeyGenerator
from sklearn_charrnn.datasets import load_dinosaurs

train, test = train_test_split(load_dinosaurs(), test_size=0.1, random_state=0)

# %%
# Fit the mixture; it fits its components itself, and keeps them fitted
# in ``named_estimators_``.
mixture = GeneratorMixture(
    [
        ("rnn", CharRNNGenerator(hidden_size=48, max_iter=15, random_state=0)),
        ("ngram", KneserNeyGenerator()),
    ],
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    mixture.fit(train)

scores = {
    "network": mixture.named_estimators_.rnn.score(test),
    "n-gram": mixture.named_estimators_.ngram.score(test),
    "mixture": mixture.score(test),
}
for name, score in scores.items():
    print(f"{name:>8}: {score:.4f} nats per token")
weights = zip(mixture.named_estimators_, mixture.weights_, strict=True)
print("weights:", ", ".join(f"{name} {w:.3f}" for name, w in weights))
print("mixture samples:", mixture.sample(8, random_state=0))

# %%
# Held-out cross-entropy (the negated score: lower is better), and the
# held-out log-likelihood per token at each EM iteration: EM never lowers it.
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
losses = {name: -score for name, score in scores.items()}
left.bar(list(losses), list(losses.values()), color=["C0", "C1", "C2"])
left.set_ylim(min(losses.values()) - 0.05, max(losses.values()) + 0.02)
left.set_ylabel("nats per token (lower is better)")
left.set_title("Held-out names")
right.plot(mixture.em_curve_, marker=".")
right.set_xlabel("EM iteration")
right.set_ylabel("log-likelihood per token")
right.set_title("Fitting the weights")
fig.tight_layout()
plt.show()
