"""
==============================================
Grid search over hidden size and learning rate
==============================================

:class:`~sklearn_charrnn.CharRNNGenerator` is a scikit-learn estimator whose
``score`` is the mean log-likelihood per token of held-out names (higher is
better), so :class:`~sklearn.model_selection.GridSearchCV` can tune it with
no ``y`` and no custom scorer: each candidate is trained on some folds and
scored on the names it did not see.

To keep the example fast, every fit uses the plain ``"rnn"`` cell and a fixed
budget of 6 epochs (``early_stopping=False``); a real search would use the
cell and epoch budget of the final model. This example also needs pandas
for its table (``pip install pandas``).
"""

# %%
# The search
# ----------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_dinosaurs

names = load_dinosaurs()
param_grid = {
    "hidden_size": [16, 32, 64],
    "learning_rate_init": [1e-3, 3e-3, 1e-2],
}
search = GridSearchCV(
    CharRNNGenerator(
        cell="rnn", max_iter=6, early_stopping=False, dropout=0.0, random_state=0
    ),
    param_grid,
    cv=KFold(n_splits=3, shuffle=True, random_state=0),
)
# Six epochs is a budget chosen for speed, not convergence: every fit would
# warn that it stopped at max_iter.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(names)

print("best parameters:", search.best_params_)
print(f"best mean held-out score: {search.best_score_:.3f} nats per token")

# %%
# The results as a table
# ----------------------
results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_hidden_size",
    columns="param_learning_rate_init",
    values="mean_test_score",
)
print(table.round(3))

# %%
# A heatmap of ``cv_results_``
# ----------------------------
fig, ax = plt.subplots(figsize=(5.5, 4))
image = ax.imshow(table.to_numpy(), cmap="viridis", origin="lower")
ax.set_xticks(np.arange(table.shape[1]), [f"{v:g}" for v in table.columns])
ax.set_yticks(np.arange(table.shape[0]), [str(v) for v in table.index])
ax.set_xlabel("learning_rate_init")
ax.set_ylabel("hidden_size")
middle = (table.to_numpy().max() + table.to_numpy().min()) / 2
for (i, j), value in np.ndenumerate(table.to_numpy()):
    color = "black" if value > middle else "white"
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color=color)
fig.colorbar(image, ax=ax, label="mean held-out score (nats per token)")
ax.set_title("3-fold cross-validated score, 6 epochs")
fig.tight_layout()
plt.show()

# %%
# With this short, fixed budget, the search favours what learns fastest; with
# early stopping and more epochs, the ranking can change. The refitted best model
# (``search.best_estimator_``) is ready to use:
print(search.best_estimator_.sample(5, random_state=0))
