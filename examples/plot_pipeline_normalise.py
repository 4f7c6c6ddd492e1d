"""
==================================================
Normalise names in a Pipeline before the generator
==================================================

Real name lists are dirty: the dinosaur file as published capitalises every
genus, and lists gathered from several sources add accents and stray spaces.
The network treats ``"T"`` and ``"t"`` as two unrelated characters, so
every capital first letter is a token it sees once per name and never again.

A :class:`~sklearn.preprocessing.FunctionTransformer` in front of
:class:`~sklearn_charrnn.CharRNNGenerator` cleans the names every time the
pipeline sees them: in ``fit``, in ``score`` and inside every
cross-validation fold. Generation is not a pipeline method, so ``sample``
and ``complete`` are reached on the pipeline's last step.
"""

# %%
# Dirty names
# -----------
# The raw file, capitalised, plus the same names typed carelessly.
import unicodedata
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_dinosaurs

raw = load_dinosaurs(lowercase=False, deduplicate=False)
careless = [f"  {name.upper()} " for name in raw[::10]]
careless += [name.replace("e", "é") for name in raw[5::10]]
names = raw + careless
accented = next(name for name in careless if "é" in name)
print(f"{len(names)} names, for example {names[0]!r}, {careless[0]!r}, {accented!r}")
print("distinct characters:", len(set("".join(names))))


# %%
# The normaliser
# --------------
# A plain function of a list of str; it lives at module level so that it
# pickles (process-parallel searches and ``joblib.dump`` need that).
def normalise(names):
    """Strip accents and outer spaces, lowercase."""
    cleaned = []
    for name in names:
        decomposed = unicodedata.normalize("NFKD", name.strip())
        letters = "".join(c for c in decomposed if not unicodedata.combining(c))
        cleaned.append(letters.casefold())
    return cleaned


print(normalise(["  Tyrannosaurus ", "Ankylosaurus", "Stégosaurus"]))

# %%
# What normalising changes
# ------------------------
# The upper-case copies are three characters longer than their names (two
# spaces before, one after), and capitals and accents are characters of
# their own. After normalising, every copy has the length of the name it
# copies, and the alphabet shrinks to the 26 lowercase letters: the model
# then learns one distribution of lengths and letters instead of several.
clean = normalise(names)
print("distinct characters after normalising:", len(set("".join(clean))))
raw_lengths = np.array([len(name) for name in names])
clean_lengths = np.array([len(name) for name in clean])
print(f"mean length: {raw_lengths.mean():.2f} before, {clean_lengths.mean():.2f} after")

# %%
# The pipeline
# ------------
# ``fit`` and ``score`` go through the normaliser; the generator only ever
# sees clean names, so its vocabulary is the 26 lowercase letters.
pipe = Pipeline(
    [
        ("normalise", FunctionTransformer(normalise)),
        (
            "generator",
            CharRNNGenerator(
                hidden_size=64,
                cell="gru",
                learning_rate_init=1e-2,
                dropout=0.0,
                max_iter=15,
                n_iter_no_change=3,
                random_state=0,
            ),
        ),
    ]
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a short budget
    pipe.fit(names)
generator = pipe[-1]  # or pipe.named_steps["generator"]
print("vocabulary:", "".join(generator.vocabulary_))
# on the names it trained on: not a held-out score (cross-validation below is)
print(f"score of the dirty names: {pipe.score(names):.3f} nats per token")

# %%
# Sampling and completing through the pipeline
# ---------------------------------------------
# ``sample`` needs no input, so it is called on the last step. A prefix is
# input: send it through the normaliser first (``pipe[:-1]`` is every step
# but the last), so that ``"  Tyr"`` becomes ``"tyr"``.
print("new names:", generator.sample(5, exclude_training=True, random_state=0))
(prefix,) = pipe[:-1].transform(["  Tyr"])
print(f"completions of {prefix!r}:", generator.complete(prefix, n_samples=3))
for name, log_likelihood in generator.complete(prefix, n_samples=3, most_likely=True):
    print(f"  most likely: {name:<16} {log_likelihood:.2f} nats")

# %%
# The figure shows the length distributions. Left: the careless copies as
# typed (the upper-case half three characters too long, with its spaces; the
# accented half at its true length) and after normalising, back at the
# lengths of the names they copy. Right: all names after normalising against
# 1,000 names the fitted generator draws: the samples follow the clean
# names' lengths, a little shorter and more spread out (a small model,
# trained briefly), and none carries a padding space, which the generator
# never saw.
sampled_lengths = np.array([len(name) for name in generator.sample(1000)])
careless_before = np.array([len(name) for name in careless])
careless_after = np.array([len(name) for name in normalise(careless)])
bins = np.arange(0, max(raw_lengths.max(), sampled_lengths.max()) + 2) - 0.5
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), sharex=True)
left.hist(careless_before, bins=bins, color="tab:red", alpha=0.4, label="as typed")
left.hist(careless_after, bins=bins, histtype="step", linewidth=2, label="normalised")
left.set_title(f"the {len(careless)} careless copies", fontsize="medium")
left.set_ylabel("names")
right.hist(clean_lengths, bins=bins, density=True, alpha=0.4, label="normalised")
right.hist(
    sampled_lengths,
    bins=bins,
    density=True,
    histtype="step",
    linewidth=2,
    color="black",
    label="sampled",
)
right.set_title("all names, and 1,000 samples", fontsize="medium")
right.set_ylabel("share of names")
for ax in (left, right):
    ax.set_xlabel("length (characters)")
    ax.legend()
fig.tight_layout()
plt.show()

# %%
# Cross-validation refits the whole pipeline
# ------------------------------------------
# Each fold fits the normaliser and the generator on its training names and
# scores the held-out ones, dirty as they are. ``n_jobs=2`` gives the same
# scores as ``n_jobs=1``: see :ref:`model_selection`.
# a clone: set_params changes the estimator it is called on, and returns it
fast = clone(pipe).set_params(generator__max_iter=5, generator__early_stopping=False)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    folds = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(fast, names, cv=folds, n_jobs=2)
print("held-out score per fold:", scores.round(3))
