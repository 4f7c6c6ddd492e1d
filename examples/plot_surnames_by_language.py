"""
==================================
Surnames of five languages at once
==================================

One :class:`~sklearn_charrnn.CharRNNGenerator` fitted on surnames **and their
languages** (``fit(X, y)``) learns ``p(surname | language)``: a learned
embedding of the language enters the network at every step. Asking for a
language with ``sample(n, y=language)`` then writes surnames of that kind,
from one model, where other name generators train one model per label.

A small model on a few hundred names per language keeps this example fast;
``benchmarks/labels.py`` measures the defaults on every surname.
"""

# %%
# Fit one model on five languages
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_surnames

languages = ["Japanese", "Italian", "Russian", "Irish", "Greek"]
X, y = load_surnames(return_X_y=True)
X, y = np.asarray(X, dtype=object), np.asarray(y)
rng = np.random.RandomState(0)
keep = np.concatenate(
    [rng.permutation(np.flatnonzero(y == lang))[:300] for lang in languages]
)
gen = CharRNNGenerator(
    hidden_size=96,
    cell="gru",
    dropout=0.0,
    learning_rate_init=1e-2,
    max_iter=25,
    n_iter_no_change=3,
    random_state=0,
).fit(X[keep].tolist(), y[keep])
print(f"{len(keep)} surnames, {gen.n_iter_} epochs")

# %%
# Sample each language
# --------------------
# One call, one label per name: the names come back in the order of ``y``.
n_each = 10
asked = np.repeat(languages, n_each)
names = gen.sample(len(asked), y=asked, temperature=0.8, random_state=0)
columns = {
    lang: names[i * n_each : (i + 1) * n_each] for i, lang in enumerate(languages)
}
for lang, some in columns.items():
    print(f"{lang:<9} {', '.join(some)}")

# %%
# Side by side
# ------------
fig, ax = plt.subplots(figsize=(9, 3.6))
ax.axis("off")
for i, (lang, some) in enumerate(columns.items()):
    ax.text(i / len(columns), 1.0, lang, fontweight="bold", va="top")
    ax.text(i / len(columns), 0.88, "\n".join(s.title() for s in some), va="top")
fig.suptitle("Sampled surnames, one conditional model")
plt.show()

# %%
# The same names scored under each language
# -----------------------------------------
# ``score_samples(X, y=label)`` gives ``log p(name | label)``: each sampled
# name is most likely under the language it was sampled for, most of the time.
scores = np.column_stack([gen.score_samples(names, y=lang) for lang in languages])
best = np.asarray(languages)[scores.argmax(axis=1)]
print(
    f"sampled names most likely under their own language: {np.mean(best == asked):.0%}"
)
