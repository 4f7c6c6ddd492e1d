"""
==================
First names by sex
==================

The 1990 US census lists first names by sex
(:func:`~sklearn_charrnn.datasets.load_us_first_names`). One
:class:`~sklearn_charrnn.CharRNNGenerator` fitted with the sex as label
writes women's or men's names on demand (``sample(n, y="F")``), and its
scores under each label say how a name leans: by Bayes' rule with the
training frequencies, ``p(F | name)``.
"""

# %%
# Fit one model on both lists
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_us_first_names

# 331 names are listed under both sexes (``mary``: F 2.629%, M 0.009%). The
# lists count names, not people, so each such name is kept under the sex
# with the larger share of its people only.
data = load_us_first_names()
best = {}
for name, sex, percent in zip(data.data, data.target, data.percent, strict=True):
    if name not in best or percent > best[name][1]:
        best[name] = (sex, percent)
X = list(best)
y = [best[name][0] for name in X]
gen = CharRNNGenerator(
    hidden_size=96,
    cell="gru",
    dropout=0.0,
    learning_rate_init=1e-2,
    max_iter=20,
    n_iter_no_change=3,
    random_state=0,
).fit(X, y)
counts = ", ".join(
    f"{sex} {int(n)}" for sex, n in zip(gen.classes_, gen.class_count_, strict=True)
)
print(f"{len(X)} names ({counts}), {gen.n_iter_} epochs")

# %%
# New names of each sex
# ---------------------
# ``exclude_training=True`` keeps only names that are not on that sex's list.
for sex in gen.classes_:
    names = gen.sample(
        10, y=sex, temperature=0.8, exclude_training=True, random_state=0
    )
    print(f"{sex}: {', '.join(names)}")

# %%
# How a name leans
# ----------------
# ``log p(name | F)`` and ``log p(name | M)`` with the label frequencies give
# ``p(F | name)``. The last two are not in the lists. The label frequencies
# count names on each list (78% are on the girls' list), not people, and a
# name listed under both sexes was kept under one only (above): for such
# names (``morgan``, ``jordan``, ``robin``), ``p(F | name)`` mostly gives
# back that choice, not the census's share of girls and boys.
names = [
    "mary",
    "john",
    "jordan",
    "taylor",
    "morgan",
    "kelly",
    "alexis",
    "robin",
    "bryleigh",
    "brantley",
]
log_prior = np.log(gen.class_count_ / gen.class_count_.sum())
joint = np.column_stack([gen.score_samples(names, y=s) for s in gen.classes_])
joint += log_prior
female = np.exp(joint[:, 0] - np.logaddexp(joint[:, 0], joint[:, 1]))
for name, p in zip(names, female, strict=True):
    print(f"{name:<9} p(F | name) = {p:.2f}")

fig, ax = plt.subplots(figsize=(7, 3.6))
ax.barh(names[::-1], female[::-1], color="C1")
ax.axvline(0.5, color="grey", linestyle="--")
ax.set_xlim(0, 1)
ax.set_xlabel("p(F | name)")
ax.set_title("How first names lean, by one conditional model")
fig.tight_layout()
plt.show()
