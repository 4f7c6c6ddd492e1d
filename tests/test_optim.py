"""AdamW and gradient clipping against computations written out by hand."""

import numpy as np
import pytest

from sklearn_charrnn.nn.optim import AdamW, clip_by_global_norm


def _params():
    return {
        "W": np.array([[0.5, -1.0], [2.0, 0.25]]),
        "b": np.array([0.1, -0.3]),
    }


@pytest.mark.parametrize("epsilon", [1e-8, 0.1])
def test_adamw_two_steps_match_hand_computation(epsilon):
    lr, beta_1, beta_2, weight_decay = 0.05, 0.9, 0.999, 0.1
    params = _params()
    opt = AdamW(
        params,
        learning_rate=lr,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        weight_decay=weight_decay,
        decay={"W": True, "b": False},
    )
    grads_1 = {"W": np.array([[0.3, -0.2], [1.5, 0.0]]), "b": np.array([-0.4, 2.0])}
    grads_2 = {"W": np.array([[-0.1, 0.6], [0.5, 3.0]]), "b": np.array([0.2, 0.2])}

    expected = {name: p.copy() for name, p in params.items()}
    m = {name: np.zeros_like(p) for name, p in params.items()}
    v = {name: np.zeros_like(p) for name, p in params.items()}
    for t, grads in enumerate([grads_1, grads_2], start=1):
        opt.step(params, {name: g.copy() for name, g in grads.items()})
        for name in expected:
            g = grads[name]
            m[name] = beta_1 * m[name] + (1 - beta_1) * g
            v[name] = beta_2 * v[name] + (1 - beta_2) * g**2
            m_hat = m[name] / (1 - beta_1**t)
            v_hat = v[name] / (1 - beta_2**t)
            p = expected[name]
            decay = lr * weight_decay * p if name == "W" else 0.0
            expected[name] = p - decay - lr * m_hat / (np.sqrt(v_hat) + epsilon)
        assert opt.t == t
        for name in expected:
            np.testing.assert_allclose(params[name], expected[name], rtol=1e-12)
            np.testing.assert_allclose(opt.m[name], m[name], rtol=1e-12)
            np.testing.assert_allclose(opt.v[name], v[name], rtol=1e-12)


def test_adamw_first_step_in_numbers():
    # At t=1, m_hat / sqrt(v_hat) = g / |g|: the step is lr * sign(g), plus decay.
    params = {"W": np.array([1.0, -2.0]), "b": np.array([1.0, -2.0])}
    opt = AdamW(
        params,
        learning_rate=0.1,
        epsilon=1e-12,
        weight_decay=0.01,
        decay={"W": True, "b": False},
    )
    opt.step(params, {"W": np.array([0.5, -3.0]), "b": np.array([0.5, -3.0])})
    # W: 1 - 0.1*0.01*1 - 0.1 = 0.899; -2 - 0.1*0.01*(-2) + 0.1 = -1.898
    np.testing.assert_allclose(params["W"], [0.899, -1.898], rtol=1e-10)
    # b is not decayed: 1 - 0.1 = 0.9; -2 + 0.1 = -1.9
    np.testing.assert_allclose(params["b"], [0.9, -1.9], rtol=1e-10)


def test_adamw_without_decay_table_decays_everything():
    params = {"a": np.array([2.0]), "c": np.array([4.0])}
    opt = AdamW(params, learning_rate=0.1, weight_decay=0.5)
    opt.step(params, {"a": np.array([0.0]), "c": np.array([0.0])})
    # zero gradient: only the decay moves the parameters, by a factor 1 - 0.05
    np.testing.assert_allclose(params["a"], [1.9])
    np.testing.assert_allclose(params["c"], [3.8])


def test_adamw_updates_float32_in_place():
    params = {name: p.astype(np.float32) for name, p in _params().items()}
    ids = {name: id(p) for name, p in params.items()}
    opt = AdamW(params, learning_rate=0.01)
    opt.step(params, {name: np.ones_like(p) for name, p in params.items()})
    for name, p in params.items():
        assert id(p) == ids[name]
        assert p.dtype == np.float32
        assert opt.m[name].dtype == np.float32


def test_clip_by_global_norm_scales_to_max_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}
    norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    clipped = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert clipped == pytest.approx(1.0)
    # direction kept: every gradient scaled by 1/5
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.0, 0.8]])


@pytest.mark.parametrize("max_norm", [5.0, 10.0, None])
def test_clip_by_global_norm_leaves_small_gradients_alone(max_norm):
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}
    norm = clip_by_global_norm(grads, max_norm)
    assert norm == pytest.approx(5.0)
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])
    np.testing.assert_array_equal(grads["b"], [[0.0, 4.0]])


@pytest.mark.parametrize("max_norm", [0.5, 1e3, None])
def test_adamw_step_clips_like_clip_by_global_norm(max_norm):
    """``step(max_norm=...)`` is ``clip_by_global_norm`` then a plain step."""
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    twin = {name: p.copy() for name, p in params.items()}
    kwargs = dict(learning_rate=0.1, weight_decay=0.01, decay={"W": True, "b": False})
    opt, opt_twin = AdamW(params, **kwargs), AdamW(twin, **kwargs)
    for _ in range(3):
        grads = {
            name: rng.normal(scale=2.0, size=p.shape) for name, p in params.items()
        }
        kept = {name: g.copy() for name, g in grads.items()}
        norm = opt.step(params, grads, max_norm=max_norm)
        for name in grads:  # the gradients themselves are left as they were
            np.testing.assert_array_equal(grads[name], kept[name])
        assert norm == pytest.approx(clip_by_global_norm(kept, max_norm), rel=1e-12)
        opt_twin.step(twin, kept)
        for name in params:
            np.testing.assert_allclose(params[name], twin[name], rtol=1e-12)
            np.testing.assert_allclose(opt.m[name], opt_twin.m[name], rtol=1e-12)
            np.testing.assert_allclose(opt.v[name], opt_twin.v[name], rtol=1e-12)
    if max_norm == 0.5:  # the norms drawn were all above it: clipping happened
        assert norm > max_norm


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_adamw_step_with_a_non_finite_gradient_updates_nothing(bad):
    params = {"W": np.array([[1.0, 2.0]]), "b": np.array([0.5])}
    opt = AdamW(params, learning_rate=0.1)
    opt.step(params, {"W": np.array([[0.1, 0.2]]), "b": np.array([0.3])}, max_norm=1.0)
    before = {name: p.copy() for name, p in params.items()}
    moments = {name: (opt.m[name].copy(), opt.v[name].copy()) for name in params}
    norm = opt.step(params, {"W": np.array([[bad, 0.2]]), "b": np.array([0.3])})
    assert not np.isfinite(norm)
    assert opt.t == 1
    for name in params:
        np.testing.assert_array_equal(params[name], before[name])
        np.testing.assert_array_equal(opt.m[name], moments[name][0])
        np.testing.assert_array_equal(opt.v[name], moments[name][1])
