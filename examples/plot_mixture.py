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
likelihood of the names it held out for them while fitting them. The network
is a small GRU here so that the example runs in seconds; the defaults do
better (see the quality benchmark).
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from sklearn_charrnn import CharRNNGenerator, GeneratorMixture, KneserNeyGenerator
from sklearn_charrnn.datasets import load_dinosaurs

train, test = train_test_split(load_dinosaurs(), test_size=0.1, random_state=0)

# %%
# Fit the mixture; it fits its components itself, and keeps them fitted
# in ``named_estimators_``.
mixture = GeneratorMixture(
    [
        (
            "rnn",
            CharRNNGenerator(
                hidden_size=64,
                cell="gru",
                learning_rate_init=1e-2,
                dropout=0.0,
                max_iter=20,
                n_iter_no_change=3,
                random_state=0,
            ),
        ),
        ("ngram", KneserNeyGenerator()),
    ],
    random_state=0,
)
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
# Held-out cross-entropy (the negated score: lower is better), and, at each
# EM iteration, the log-likelihood per token of the names the mixture held
# out of ``train`` to fit its weights (not the test names): EM never lowers
# it.
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
