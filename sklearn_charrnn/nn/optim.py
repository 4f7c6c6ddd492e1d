"""AdamW and clipping by global gradient norm."""

import math

import numpy as np

from .workspace import empty


class AdamW:
    """Adam with bias correction and decoupled weight decay.

    The optimizer owns only its moments and its step count; it updates, in
    place, the arrays it is handed. One step for a parameter ``p`` with
    gradient ``g`` is (Loshchilov and Hutter, 2019)::

        t += 1
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        p -= lr * weight_decay * p          (only where decay applies)
        p -= lr * (m / (1 - beta_1 ** t)) / (sqrt(v / (1 - beta_2 ** t)) + eps)

    Parameters
    ----------
    params : dict of str to ndarray
        The parameters, used for their shapes and dtypes.
    learning_rate : float
    beta_1 : float
    beta_2 : float
    epsilon : float
    weight_decay : float
    decay : dict of str to bool, default=None
        Which parameters weight decay applies to; all when None.

    Attributes
    ----------
    t : int
        Number of steps taken.
    m, v : dict of str to ndarray
        First and second moment estimates.
    """

    def __init__(
        self,
        params,
        learning_rate=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=0.0,
        decay=None,
    ):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.decay = decay or {name: True for name in params}
        self.t = 0
        self.m = _flat_dict(params)
        self.v = _flat_dict(params)

    def step(self, params, grads, work=None, max_norm=None):
        """Update every array of ``params`` in place from ``grads``.

        Parameters
        ----------
        params, grads : dict of str to ndarray
        work : Workspace, default=None
            Scratch arrays for the update.
        max_norm : float, default=None
            Clip first: scale the gradients so that their joint L2 norm is at
            most ``max_norm``, as :func:`clip_by_global_norm` does (the scale
            is folded into the moment updates; ``grads`` are not changed).
            No clipping when None.

        Returns
        -------
        norm : float
            The gradients' joint L2 norm before clipping. When it is not
            finite, nothing is updated: not the parameters, not the moments,
            not the step count.
        """
        # The moments live end to end in one array each, so that the update
        # is a dozen NumPy calls over one long array, not a dozen per weight.
        names = list(params)
        m, v = _flat(self.m, names), _flat(self.v, names)
        g = empty(work, "adamw_g", m.shape, m.dtype)
        np.concatenate([grads[name].ravel() for name in names], out=g)
        norm = math.sqrt(float(np.vdot(g, g)))
        if not math.isfinite(norm):
            return norm
        scale = _clip_scale(norm, max_norm)
        self.t += 1
        # Python floats: a NumPy float64 scalar would make every float32
        # operation below take NumPy's slow mixed-type path.
        lr = float(self.learning_rate)
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        correction_1 = 1.0 - beta_1**self.t
        correction_2 = 1.0 - beta_2**self.t
        step_size = lr * math.sqrt(correction_2) / correction_1
        # eps is added to sqrt(v_hat); scaling it by sqrt(correction_2) keeps
        # the update exact while working on the uncorrected v.
        eps = float(self.epsilon) * math.sqrt(correction_2)
        tmp = empty(work, "adamw_tmp", m.shape, m.dtype)
        # m = beta_1 m + (1 - beta_1) scale g
        np.multiply(g, (1.0 - beta_1) * scale, out=tmp)
        m *= beta_1
        m += tmp
        # v = beta_2 v + (1 - beta_2) (scale g)^2
        np.multiply(g, g, out=tmp)
        tmp *= (1.0 - beta_2) * scale * scale
        v *= beta_2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        start = 0
        for name in names:
            p = params[name]
            if self.weight_decay and self.decay[name]:
                p *= 1.0 - lr * float(self.weight_decay)
            p -= tmp[start : start + p.size].reshape(p.shape)
            start += p.size
        return norm


def _clip_scale(norm, max_norm):
    """What gradients of joint norm ``norm`` are multiplied by to clip them."""
    if max_norm is not None and norm > max_norm:
        return float(max_norm) / (norm + 1e-12)
    return 1.0


def _flat_dict(params):
    """Zero arrays shaped like ``params``: views of one array, end to end."""
    sizes = [p.size for p in params.values()]
    flat = np.zeros(sum(sizes), dtype=np.result_type(*params.values()))
    return _views(flat, params)


def _views(flat, shapes_from):
    views, start = {}, 0
    for name, p in shapes_from.items():
        views[name] = flat[start : start + p.size].reshape(p.shape)
        start += p.size
    return views


def _flat(moments, names):
    """The one array that holds ``moments[name]`` for ``names`` end to end.

    ``_views`` lays the moments out in their dict's order, so views of one
    base, in ``names`` order, filling it, are that layout. A moment dict
    restored from a file holds separate arrays: they are copied once into
    one array, and the dict's values become its views.
    """
    base = moments[names[0]].base
    if (
        base is not None
        and list(moments) == names
        and all(moments[name].base is base for name in names)
        and sum(moments[name].size for name in names) == base.size
    ):
        return base
    flat = np.concatenate([moments[name].ravel() for name in names])
    moments.update(_views(flat, {name: moments[name] for name in names}))
    return flat


def clip_by_global_norm(grads, max_norm):
    """Scale every gradient in place so that their joint L2 norm <= max_norm.

    Parameters
    ----------
    grads : dict of str to ndarray
    max_norm : float or None
        No clipping when None.

    Returns
    -------
    norm : float
        The global norm before clipping.
    """
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    scale = _clip_scale(norm, max_norm)
    if scale != 1.0:
        for g in grads.values():
            g *= scale
    return norm


class WeightAverage:
    """Exponential moving average of parameters, with bias correction.

    After ``k`` updates with parameters ``p_1 ... p_k`` the average is::

        sum_i (1 - decay) * decay ** (k - i) * p_i / (1 - decay ** k)

    a weighted mean of the recent iterates that does not lean towards zero
    (or towards the starting point) early on. Averaging the iterates of a
    noisy optimizer lands nearer the bottom of the valley than the last
    iterate does, which on small data gives better held-out scores.

    Parameters
    ----------
    params : dict of str to ndarray
        Used for shapes and dtypes.
    decay : float
        In (0, 1): the weight of the past at each update.

    Attributes
    ----------
    n_steps : int
        Number of updates so far.
    """

    def __init__(self, params, decay):
        # a Python float: a NumPy float64 scalar would push every float32
        # update onto NumPy's slow mixed-type path
        self.decay = float(decay)
        self.n_steps = 0
        self._sum = {name: np.zeros_like(p) for name, p in params.items()}

    def update(self, params):
        """Fold the current ``params`` into the average."""
        self.n_steps += 1
        for name, p in params.items():
            total = self._sum[name]
            # total = decay * total + (1 - decay) * p, in place
            total -= p
            total *= self.decay
            total += p

    def value(self):
        """The bias-corrected average, as new arrays."""
        correction = 1.0 - self.decay**self.n_steps
        return {name: total / correction for name, total in self._sum.items()}
