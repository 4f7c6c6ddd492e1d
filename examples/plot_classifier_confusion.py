"""
================================================
Telling a surname's language: a confusion matrix
================================================

:class:`~sklearn_charrnn.CharRNNClassifier` fits one conditional generator,
``p(surname | language)`` (by default a network mixed token by token with a
Kneser-Ney n-gram), and turns it around with Bayes' rule and the languages'
training frequencies: ``p(language | surname)``. The confusion
matrix of held-out surnames shows which languages it tells apart and which
it mixes up.

Six languages and a small, quickly trained model keep the example fast;
``benchmarks/labels.py`` measures the defaults on all eighteen.
"""

# %%
# Fit on six languages
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, balanced_accuracy_score
from sklearn.model_selection import train_test_split

from sklearn_charrnn import CharRNNClassifier
from sklearn_charrnn.datasets import load_surnames

languages = ["Chinese", "Greek", "Irish", "Italian", "Japanese", "Russian"]
X, y = load_surnames(return_X_y=True)
X, y = np.asarray(X, dtype=object), np.asarray(y)
rng = np.random.RandomState(0)
keep = np.concatenate(
    [rng.permutation(np.flatnonzero(y == lang))[:250] for lang in languages]
)
X_train, X_test, y_train, y_test = train_test_split(
    X[keep].tolist(), y[keep], test_size=0.25, stratify=y[keep], random_state=0
)
clf = CharRNNClassifier(
    hidden_size=96,
    cell="gru",
    dropout=0.0,
    learning_rate_init=1e-2,
    max_iter=25,
    n_iter_no_change=3,
    random_state=0,
).fit(X_train, y_train)
predicted = clf.predict(X_test)
print(
    f"accuracy {np.mean(predicted == y_test):.1%}, balanced accuracy "
    f"{balanced_accuracy_score(y_test, predicted):.1%} on {len(y_test)} surnames"
)

# %%
# The confusion matrix
# --------------------
ConfusionMatrixDisplay.from_predictions(
    y_test, predicted, normalize="true", values_format=".0%", xticks_rotation=45
)
plt.title("Held-out surnames: true language against predicted")
plt.tight_layout()
plt.show()

# %%
# How sure it is
# --------------
# ``predict_proba`` gives a probability per language (columns in the order of
# ``classes_``).
for name in ["tanaka", "rossi", "o'connor", "ivanov", "papadopoulos", "wong"]:
    proba = clf.predict_proba([name])[0]
    top = np.argsort(-proba)[:2]
    print(f"{name:<13}" + "  ".join(f"{clf.classes_[i]} {proba[i]:.0%}" for i in top))
