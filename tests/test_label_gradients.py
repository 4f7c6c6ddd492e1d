"""The conditional network: finite differences, and what a label changes."""

import numpy as np
import pytest
from _gradcheck import central_differences, padded_batch

from sklearn_charrnn.generation import token_log_probs
from sklearn_charrnn.nn.network import (
    RecurrentSteps,
    bind_label,
    init_weights,
    loss_and_gradients,
    sequence_log_likelihood,
    weight_shapes,
)


def _weights(cell, n_layers, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    weights = init_weights(
        rng,
        cell=cell,
        n_layers=n_layers,
        hidden_size=5,
        n_tokens=7,
        dtype=np.float64,
        n_classes=n_classes,
    )
    for w in weights.values():
        w += rng.normal(scale=0.3, size=w.shape)
    return weights


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_label_gradients_match_finite_differences(cell, n_layers):
    """Every entry of every weight's gradient, E included, on a padded batch
    with two columns of one label, one label unused and one used once."""
    weights = _weights(cell, n_layers, n_classes=4)
    inputs, targets, mask = padded_batch(np.random.default_rng(1), 7, [1, 4, 2, 6])
    labels = np.array([2, 0, 2, 3])

    def loss(ws):
        return loss_and_gradients(
            ws, cell, n_layers, inputs, targets, mask, labels=labels
        )[0]

    _, grads = loss_and_gradients(
        weights, cell, n_layers, inputs, targets, mask, labels=labels
    )
    assert set(grads) == set(weights)
    assert not grads["E"][1].any()  # label 1 is in no column
    for name, w in weights.items():
        numeric = central_differences(lambda: loss(weights), w)
        np.testing.assert_allclose(
            grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name
        )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_without_labels_the_network_is_unconditional(cell):
    """No E without classes, and the other weights are the same draws."""
    kwargs = dict(cell=cell, n_layers=2, hidden_size=4, n_tokens=6, dtype=np.float32)
    plain = init_weights(np.random.default_rng(3), **kwargs)
    conditional = init_weights(np.random.default_rng(3), n_classes=3, **kwargs)
    assert "E" not in plain
    assert set(conditional) - set(plain) == {"E"}
    for name, w in plain.items():
        np.testing.assert_array_equal(conditional[name], w)
    shapes = weight_shapes(cell=cell, n_layers=2, hidden_size=4, n_tokens=6)
    assert shapes == {name: w.shape for name, w in plain.items()}
    assert weight_shapes(
        cell=cell, n_layers=2, hidden_size=4, n_tokens=6, n_classes=3
    ) == {name: w.shape for name, w in conditional.items()}


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_bound_label_steps_score_as_thepadded_batch(cell):
    """Stepping the network bound to a label scores each sequence as the
    labelled batch does; another label scores it differently."""
    weights = _weights(cell, 2, n_classes=3)
    inputs, targets, mask = padded_batch(np.random.default_rng(2), 7, [3, 1, 5])
    labels = np.array([1, 0, 1])
    batch = sequence_log_likelihood(
        weights, cell, 2, inputs, targets, mask, labels=labels
    )
    for column, label in enumerate(labels):
        length = int(mask[:, column].sum()) - 1
        sequence = inputs[1 : length + 1, column]
        steps = RecurrentSteps(bind_label(weights, label), cell, 2)
        stepped = token_log_probs(steps, sequence, np.array([length])).sum()
        assert stepped == pytest.approx(batch[column], rel=1e-10)
        other = RecurrentSteps(bind_label(weights, (label + 1) % 3), cell, 2)
        assert token_log_probs(
            other, sequence, np.array([length])
        ).sum() != pytest.approx(batch[column], rel=1e-6)


def test_labels_given_only_to_a_conditional_network():
    conditional = _weights("rnn", 1, n_classes=2)
    plain = _weights("rnn", 1, n_classes=0)
    inputs, targets, mask = padded_batch(np.random.default_rng(0), 7, [2, 3])
    with pytest.raises(ValueError, match="only for, a conditional network"):
        sequence_log_likelihood(conditional, "rnn", 1, inputs, targets, mask)
    with pytest.raises(ValueError, match="network without E"):
        sequence_log_likelihood(
            plain, "rnn", 1, inputs, targets, mask, labels=np.zeros(2, int)
        )
    with pytest.raises(ValueError, match=r"expected shape \(2,\), got \(3,\)"):
        sequence_log_likelihood(
            conditional, "rnn", 1, inputs, targets, mask, labels=np.zeros(3, int)
        )
