"""
==============================================
Training and validation curves, early stopping
==============================================

With ``early_stopping=True`` (the default) the estimator holds out
``validation_fraction`` of the names, scores them after every epoch, and
stops once the score has not improved by more than ``tol`` for
``n_iter_no_change`` epochs in a row. It then puts back the weights of the
best epoch, so the model you get is the one that generalised best, not the
last one, exactly as scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
does.

``loss_curve_`` holds the training loss of every epoch (mean negative
log-likelihood per token, in nats) and ``validation_scores_`` the held-out
score (mean log-likelihood per token, so its negative is on the same scale
as the loss). With ``weight_averaging`` on (the default), the held-out score
is that of the running average of the weights, and the weights put back are
the average at the best epoch; the training loss is that of the weights being
trained.
"""

# %%
# Fit with a learning rate high enough to overfit quickly
# -------------------------------------------------------
# No dropout and a large step size make the network memorise the training
# names within a few epochs, which shows the point of early stopping.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_dinosaurs

names = load_dinosaurs()
gen = CharRNNGenerator(
    hidden_size=64,
    cell="gru",
    learning_rate_init=1e-2,
    dropout=0.0,
    max_iter=40,
    early_stopping=True,
    validation_fraction=0.1,
    n_iter_no_change=3,
    random_state=0,
    verbose=True,
).fit(names)

# %%
# The curves
# ----------
epochs = np.arange(1, gen.n_iter_ + 1)
validation_loss = -np.asarray(gen.validation_scores_)
best_epoch = int(np.argmax(gen.validation_scores_)) + 1

fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(epochs, gen.loss_curve_, "o-", label="training loss")
ax.plot(epochs, validation_loss, "s-", label="validation loss (-validation score)")
ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch ({best_epoch})")
ax.set_xlabel("epoch")
ax.set_ylabel("nats per token")
ax.set_title("Training loss falls; validation loss turns back up")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The weights kept are those of the best epoch, not of the last one:
print(f"epochs run: {gen.n_iter_}, best epoch: {best_epoch}")
print(f"best_validation_score_: {gen.best_validation_score_:.4f}")
print(f"validation score of the last epoch: {gen.validation_scores_[-1]:.4f}")
