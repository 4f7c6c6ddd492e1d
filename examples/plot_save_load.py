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
import shutil
import tempfile
import warnings
from pathlib import Path

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
print(loaded)

# %%
# The loaded model is the same model
# ----------------------------------
# Same scores, and with the same seed the same samples.
check = ["tyrannosaurus", "velociraptor"]
print(np.array_equal(gen.score_samples(check), loaded.score_samples(check)))
print(gen.sample(5, random_state=0))
print(loaded.sample(5, random_state=0))

# %%
# What is inside
# --------------
# An ``.npz`` file is a zip of ``.npy`` arrays, readable by NumPy with
# pickling switched off: the weights, the optimizer's moments, and a
# ``metadata`` member that holds UTF-8 JSON (format version, library
# versions, hyperparameters, vocabulary, training history).
with np.load(path, allow_pickle=False) as archive:
    for member in sorted(archive.files):
        if member.startswith(("weights/", "metadata")):
            print(f"{member:<14} {archive[member].dtype}  {archive[member].shape}")
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
    print(f"ModelFileError: {error}")

# %%
# Keep training where you stopped
# -------------------------------
# By default the file also stores the optimizer's state, so a loaded model
# can continue with ``partial_fit`` (or ``fit`` with ``warm_start=True``).
loaded.partial_fit(names)
print(f"epochs: {gen.n_iter_} saved, {loaded.n_iter_} after one more")

shutil.rmtree(folder)
