"""PyTorch's name classifier, the tutorial's RNN, for the labels benchmark.

Run from the repository root::

    python benchmarks/labels_torch.py            # the three recipes (a few minutes)
    python benchmarks/labels_torch.py --recipe adam

The network is the one of PyTorch's tutorial "NLP From Scratch: Classifying
Names with a Character-Level RNN": each character one-hot, into ``nn.RNN``
(one tanh layer of 128 hidden units), the last hidden state into a linear
layer over the languages, log-softmax, negative log-likelihood. Unlike the
tutorial, the names keep their accents (the tutorial folds them to ASCII):
the one-hot vocabulary is the training part's characters, and a character
never seen in training is an all-zero input.

It is trained by one of three recipes (``RECIPES``):

- ``"adam"``, the row of ``labels.py``: the network trained as a careful user
  would today. Mini-batches of 64 packed sequences (the mean loss of each),
  Adam at the learning rate ``ADAM_LEARNING_RATE``, gradients clipped to a
  global norm of 3 (the tutorial's clip), a stratified tenth of the training
  part held out for early stopping on its mean loss (patience 5 epochs, at
  most 100), the best epoch's weights kept;
- ``"tutorial-batched"``, the tutorial's current recipe: plain SGD at 0.15 on
  the summed loss of mini-batches of 64 (``np.array_split`` of a shuffle into
  ``n // 64`` parts), gradients clipped to a global norm of 3, 55 epochs, no
  validation. The tutorial sums the batch's losses name by name; here one
  packed batch computes the same sum;
- ``"tutorial-single"``, the tutorial's original recipe: plain SGD at 0.005 on
  one example at a time, 100,000 of them, each drawn as the tutorial draws
  it (a language uniformly at random, then one of its names), no clipping,
  no validation. Drawing the language first trains on balanced classes.

Run alone, the script prints for each recipe its held-out accuracy,
balanced accuracy, fit time, epochs run (examples, for
``"tutorial-single"``) and the epoch whose weights were kept.

Every recipe seeds ``torch.manual_seed(random_state)`` and a NumPy
``RandomState(random_state)`` for the shuffles, and runs with
``torch.set_num_threads(2)``: two runs print the same figures, but on one
thread the weights drift from two threads' in the last float32 bits (6e-8
after three epochs on 3,000 names), so a long fit on another thread count
may end at other figures. ``labels.py`` calls ``classification_row``,
which prints ``n/a`` when torch is not installed: this module imports
without torch, and imports it on first use (``load_torch``), after
``labels.py`` has timed its other models.

Benchmark-only: PyTorch is never a dependency of the package.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import train_test_split

torch = nn = pack_sequence = None  # set by load_torch(), on first use

HIDDEN_SIZE = 128  # the tutorial's n_hidden
CLIP_NORM = 3.0  # the tutorial's clip_grad_norm_
BATCH_SIZE = 64  # the tutorial's n_batch_size
N_THREADS = 2
# Of ADAM_RATES, the rate with the best validation loss on the validation
# tenth of the training part (``--tune-rate`` prints them). It is the grid's
# smallest; 1e-4 was not tried (3e-4 already runs 55 epochs, 0.012 nats
# better than 1e-3).
ADAM_LEARNING_RATE = 3e-4
ADAM_RATES = [3e-4, 1e-3, 3e-3, 1e-2]
VALIDATION_FRACTION = 0.1
MAX_EPOCHS = 100
N_ITER_NO_CHANGE = 5
ROW_NAME = "PyTorch RNN, the tutorial's (Adam)"


def load_torch():
    """Import torch into this module on first use; False if it is not installed.

    Lazily, so that ``labels.py`` fits and times its other models before
    torch's libraries (its own BLAS and OpenMP) are loaded.
    """
    global torch, nn, pack_sequence
    if torch is None:
        try:
            import torch as torch_module
        except ModuleNotFoundError:
            return False
        torch, nn = torch_module, torch_module.nn
        pack_sequence = torch_module.nn.utils.rnn.pack_sequence
    return True


def make_network(n_letters, n_classes, hidden_size=HIDDEN_SIZE):
    """The tutorial's ``CharRNN``: ``nn.RNN`` then ``nn.Linear`` over the classes."""
    return nn.ModuleDict(
        {
            "rnn": nn.RNN(n_letters, hidden_size),
            "h2o": nn.Linear(hidden_size, n_classes),
        }
    )


def forward(network, packed):
    """Log-probabilities of the classes, from each name's last hidden state.

    Parameters
    ----------
    network : torch.nn.ModuleDict
        From ``make_network``.
    packed : torch.nn.utils.rnn.PackedSequence
        One-hot names, ``n_names`` of them.

    Returns
    -------
    log_probs : torch.Tensor of shape (n_names, n_classes)
    """
    _, hidden = network["rnn"](packed)  # (1, B, H), each name's last step
    return torch.log_softmax(network["h2o"](hidden[0]), dim=1)  # (B, C)


def one_hot_names(names, index):
    """One float tensor ``(len(name), n_letters)`` per name; unseen letters zero.

    Raises
    ------
    ValueError
        If a name is empty: the network needs at least one character.
    """
    n_letters = len(index)
    tensors = []
    for name in names:
        if not name:
            raise ValueError(
                f"expected non-empty names; got an empty one at {len(tensors)}"
            )
        codes = torch.tensor([index.get(c, n_letters) for c in name])  # (T,)
        onehot = nn.functional.one_hot(codes, n_letters + 1)  # (T, V + 1)
        tensors.append(onehot[:, :n_letters].float())  # (T, V)
    return tensors


class TorchNameClassifier:
    """The tutorial's network, fitted by ``fit_torch_classifier``.

    Attributes
    ----------
    classes_ : ndarray of str
        Sorted labels.
    index_ : dict of str to int
        Column of each training character in the one-hot input.
    network_ : torch.nn.ModuleDict
        The fitted network (the best epoch's weights for ``"adam"``).
    recipe : str
        Key of ``RECIPES``.
    n_epochs_ : int
        Epochs run (examples for ``"tutorial-single"``).
    best_epoch_ : int or None
        Epoch whose weights were kept (``"adam"`` only).
    fit_seconds_ : float
        Wall-clock time of the fit, vocabulary and encoding included.
    """

    def predict_log_proba(self, X, batch_size=1024):
        """Log-probabilities ``(n_names, n_classes)`` as a NumPy array."""
        seqs = one_hot_names(X, self.index_)
        self.network_.eval()
        with torch.no_grad():
            parts = [
                forward(self.network_, pack_sequence(seqs[i : i + batch_size], False))
                for i in range(0, len(seqs), batch_size)
            ]
        return torch.cat(parts).numpy()  # (N, C)

    def predict(self, X):
        """The most probable label of each name in ``X`` (list of str)."""
        return self.classes_[np.argmax(self.predict_log_proba(X), axis=1)]


def batch_loss(network, seqs, targets, rows, reduction):
    """NLL of ``rows`` of ``seqs`` (list of tensors) against ``targets`` (tensor)."""
    packed = pack_sequence([seqs[i] for i in rows], enforce_sorted=False)
    return nn.functional.nll_loss(
        forward(network, packed), targets[rows], reduction=reduction
    )


def sgd_step(network, optimizer, loss, clip_norm):
    optimizer.zero_grad()
    loss.backward()
    if clip_norm is not None:
        nn.utils.clip_grad_norm_(network.parameters(), clip_norm)
    optimizer.step()


def train_adam(network, seqs, targets, rng, learning_rate=ADAM_LEARNING_RATE):
    """Adam on batches of 64, early stopping on a stratified validation tenth.

    Returns
    -------
    n_epochs : int
    best_epoch : int
    valid_losses : list of float
        Mean validation loss (nats per name) after each epoch.
    """
    fit_rows, valid_rows = train_test_split(
        np.arange(len(seqs)),
        test_size=VALIDATION_FRACTION,
        stratify=targets.numpy(),
        random_state=rng,
    )
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
    best_loss, best_state, best_epoch, losses = np.inf, None, 0, []
    for epoch in range(1, MAX_EPOCHS + 1):
        network.train()
        order = fit_rows[rng.permutation(len(fit_rows))]
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            loss = batch_loss(network, seqs, targets, rows, "mean")
            sgd_step(network, optimizer, loss, CLIP_NORM)
        network.eval()
        with torch.no_grad():
            losses.append(float(batch_loss(network, seqs, targets, valid_rows, "mean")))
        if losses[-1] < best_loss:
            best_loss, best_epoch = losses[-1], epoch
            best_state = {k: v.clone() for k, v in network.state_dict().items()}
        if epoch - best_epoch >= N_ITER_NO_CHANGE:
            break
    network.load_state_dict(best_state)
    return epoch, best_epoch, losses


def train_tutorial_batched(network, seqs, targets, rng, n_epochs=55):
    """The tutorial's current recipe: SGD 0.15 on summed losses of 64 names."""
    optimizer = torch.optim.SGD(network.parameters(), lr=0.15)
    network.train()
    for _ in range(n_epochs):
        order = rng.permutation(len(seqs))
        for rows in np.array_split(order, len(order) // BATCH_SIZE):
            loss = batch_loss(network, seqs, targets, rows, "sum")
            sgd_step(network, optimizer, loss, CLIP_NORM)
    return n_epochs, None, []


def train_tutorial_single(network, seqs, targets, rng, n_iters=100_000):
    """The tutorial's original recipe: SGD 0.005, one random example a step."""
    optimizer = torch.optim.SGD(network.parameters(), lr=0.005)
    network.train()
    by_class = [np.flatnonzero(targets.numpy() == c) for c in range(targets.max() + 1)]
    for _ in range(n_iters):
        rows = by_class[rng.randint(len(by_class))]
        row = rows[rng.randint(len(rows))]
        loss = batch_loss(network, seqs, targets, [row], "sum")
        sgd_step(network, optimizer, loss, None)
    return n_iters, None, []


RECIPES = {
    "adam": train_adam,
    "tutorial-batched": train_tutorial_batched,
    "tutorial-single": train_tutorial_single,
}


def fit_torch_classifier(X_train, y_train, random_state=0, recipe="adam", **kwargs):
    """Fit the tutorial's network on names ``X_train`` and labels ``y_train``.

    Parameters
    ----------
    X_train : list of str
        Non-empty names.
    y_train : array-like of str of shape (n_names,)
        Their labels.
    random_state : int, default=0
        Seeds ``torch.manual_seed`` (weights) and NumPy's shuffles.
    recipe : {"adam", "tutorial-batched", "tutorial-single"}, default="adam"
        How to train it (see the module docstring).
    **kwargs
        Passed to the recipe's training function (``learning_rate`` for
        ``"adam"``).

    Returns
    -------
    classifier : TorchNameClassifier
        With ``predict(X)`` and ``fit_seconds_``.
    """
    if not load_torch():
        raise ModuleNotFoundError("fit_torch_classifier needs torch")
    if recipe not in RECIPES:
        raise ValueError(f"expected recipe in {sorted(RECIPES)}; got {recipe!r}")
    if len(X_train) != len(y_train):
        raise ValueError(
            f"expected one label per name; got {len(X_train)} names and "
            f"{len(y_train)} labels"
        )
    start = time.perf_counter()
    torch.set_num_threads(N_THREADS)
    torch.manual_seed(random_state)
    rng = np.random.RandomState(random_state)
    clf = TorchNameClassifier()
    clf.recipe = recipe
    clf.classes_, codes = np.unique(np.asarray(y_train), return_inverse=True)
    clf.index_ = {c: i for i, c in enumerate(sorted(set("".join(X_train))))}
    seqs = one_hot_names(X_train, clf.index_)
    targets = torch.from_numpy(codes.astype(np.int64))  # (N,)
    clf.network_ = make_network(len(clf.index_), len(clf.classes_))
    clf.n_epochs_, clf.best_epoch_, clf.valid_losses_ = RECIPES[recipe](
        clf.network_, seqs, targets, rng, **kwargs
    )
    clf.fit_seconds_ = time.perf_counter() - start
    return clf


def scores(clf, X_test, y_test):
    """Accuracy and balanced accuracy of ``clf`` on ``(X_test, y_test)``."""
    predicted = clf.predict(X_test)
    return accuracy_score(y_test, predicted), balanced_accuracy_score(y_test, predicted)


def classification_row(X_train, y_train, X_test, y_test, name=ROW_NAME):
    """The row of ``labels.py``'s classification table: ``n/a`` without torch."""
    if not load_torch():
        return f"  {name:<38}{'n/a':>7}  {'n/a':>7}  {'n/a':>8}  (torch not installed)"
    clf = fit_torch_classifier(X_train, y_train, random_state=0)
    accuracy, balanced = scores(clf, X_test, y_test)
    return f"  {name:<38}{accuracy:7.1%}  {balanced:7.1%}  {clf.fit_seconds_:8.1f}"


def tune_rate(X_train, y_train):
    """Print the best validation loss of each Adam rate (the test part unread)."""
    print("Adam learning rate   epochs  best epoch  validation loss  fit (s)")
    for rate in ADAM_RATES:
        clf = fit_torch_classifier(X_train, y_train, learning_rate=rate)
        print(
            f"  {rate:<18g} {clf.n_epochs_:6d}  {clf.best_epoch_:10d}  "
            f"{min(clf.valid_losses_):15.4f}  {clf.fit_seconds_:7.1f}",
            flush=True,
        )


def main():
    sys.path.insert(0, str(Path(__file__).parent))
    from _machine import machine_line
    from labels_baseline import split

    from sklearn_charrnn.datasets import load_surnames

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), action="append")
    parser.add_argument(
        "--tune-rate",
        action="store_true",
        help="Adam's rate on the validation tenth of the training part",
    )
    args = parser.parse_args()
    if not load_torch():
        sys.exit("labels_torch.py needs torch (pip install torch)")
    X, y = load_surnames(return_X_y=True)
    X_train, X_test, y_train, y_test = split(X, y)
    print(machine_line() + f"; torch {torch.__version__}, {N_THREADS} threads")
    print(f"load_surnames(): {len(X_train):,} train / {len(X_test):,} held out\n")
    if args.tune_rate:
        tune_rate(X_train, y_train)
        return
    # "epochs" counts single examples for tutorial-single.
    print("recipe              accuracy  balanced   fit (s)  epochs  best epoch")
    for recipe in args.recipe or list(RECIPES):
        clf = fit_torch_classifier(X_train, y_train, recipe=recipe)
        accuracy, balanced = scores(clf, X_test, y_test)
        best = clf.best_epoch_ or "-"
        print(
            f"  {recipe:<18}{accuracy:7.1%}  {balanced:7.1%}  "
            f"{clf.fit_seconds_:8.1f}  {clf.n_epochs_:6d}  {best:>10}",
            flush=True,
        )


if __name__ == "__main__":
    main()
