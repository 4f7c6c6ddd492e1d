"""
=========================
Saving and loading safely
=========================

A fitted :class:`~sklearn_charrnn.CharRNNGenerator` holds only plain arrays,
numbers, strings and dicts, so it can be stored three ways:

- :meth:`~sklearn_charrnn.CharRNNGenerator.save` and
  :meth:`~sklearn_charrnn.CharRNNGenerator.load`: a NumPy ``.npz`` archive of
  the weights with JSON metadata. Loading it never unpickles and runs no
  code from the file; a file that is truncated, tampered with or not a model
  is refused with :class:`~sklearn_charrnn.ModelFileError`. This is the way
  to share a model, or to load one you did not make.
- ``pickle`` or ``joblib``: works, but loading a pickle can run arbitrary
  code, so only ever load pickles you wrote yourself.
- ``skops``: a pickle-like format that asks which types to trust.
"""

# %%
# Train, save, load
# -----------------
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import CharRNNGenerator, ModelFileError
from sklearn_charrnn.datasets import load_dinosaurs

names = load_dinosaurs()
gen = CharRNNGenerator(
    hidden_size=32, cell="gru", max_iter=5, early_stopping=False, random_state=0
)
# Five epochs keep the example fast; the warning that training stopped at
# max_iter is expected.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    gen.fit(names)

folder = Path(tempfile.mkdtemp())
path = folder / "dinosaurs.npz"
gen.save(path)
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")

loaded = CharRNNGenerator.load(path)

# %%
# The loaded model is a fitted estimator like any other. In a notebook (and
# here) it shows its parameters and fitted attributes; in these built pages
# its "?" opens its page of the API reference. A script prints it with
# ``print(loaded)``.
loaded

# %%
# The loaded model is the same model
# ----------------------------------
# Every training name gets the same score from both models, and with the same
# seed they draw the same samples. The score here is per token (the name's
# log-likelihood divided by its characters plus one end token), so that
# short and long names share one scale.
n_tokens = np.array([len(name) + 1 for name in names])
original_scores = gen.score_samples(names) / n_tokens
loaded_scores = loaded.score_samples(names) / n_tokens
print("identical scores:", np.array_equal(original_scores, loaded_scores))
print(gen.sample(5, random_state=0))
print(loaded.sample(5, random_state=0))

# %%
# The figure shows the two score distributions on top of each other (left)
# and every name's two scores against each other (right): one histogram, and
# every point on the diagonal. A model file that lost precision or mixed up
# weights would move the points off it.
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
bins = np.linspace(original_scores.min(), original_scores.max(), 40)
left.hist(original_scores, bins=bins, color="tab:blue", alpha=0.5, label="original")
left.hist(loaded_scores, bins=bins, histtype="step", color="black", label="loaded")
left.set_xlabel("log-likelihood per token (nats)")
left.set_ylabel("training names")
left.legend()
right.plot(original_scores, loaded_scores, ".", markersize=3, alpha=0.5)
low, high = bins[0], bins[-1]
right.plot([low, high], [low, high], color="grey", linewidth=0.8)
largest = np.abs(original_scores - loaded_scores).max()
right.set_title(f"largest difference: {largest:g} nats", fontsize="medium")
right.set_xlabel("original model")
right.set_ylabel("loaded model")
fig.suptitle(f"Scores of the {len(names):,} dinosaur names, before and after saving")
fig.tight_layout()
plt.show()

# %%
# What is inside
# --------------
# An ``.npz`` file is a zip of ``.npy`` arrays, readable by NumPy with
# pickling switched off: the weights, the optimizer's moments (``m`` and
# ``v``, one of each per weight), the hashes of the training names (for
# ``exclude_training``), and a ``metadata`` member that holds UTF-8 JSON
# (format version, library versions, hyperparameters, vocabulary, training
# history).
with np.load(path, allow_pickle=False) as archive:
    for member in sorted(archive.files):
        if not member.startswith("optimizer/v/"):  # the same shapes as m
            print(f"{member:<26} {archive[member].dtype}  {archive[member].shape}")
    metadata = json.loads(archive["metadata"].tobytes())
print(sorted(metadata))
print(metadata["versions"])

# %%
# A damaged file is refused
# -------------------------
# Here the file is cut in half, as by an interrupted download.
damaged = folder / "damaged.npz"
damaged.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
try:
    CharRNNGenerator.load(damaged)
except ModelFileError as error:
    # (the message names the file; the temporary folder is left out here)
    print(f"ModelFileError: {str(error).replace(str(folder) + os.sep, '')}")

# %%
# Keep training where you stopped
# -------------------------------
# By default the file also stores the optimizer's state, so a loaded model
# can continue with ``partial_fit`` (or ``fit`` with ``warm_start=True``).
loaded.partial_fit(names)
print(f"epochs: {gen.n_iter_} saved, {loaded.n_iter_} after one more")

shutil.rmtree(folder)
