"""AdamW and clipping by global gradient norm."""

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
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, params, grads, work=None):
        """Update every array of ``params`` in place from ``grads``.

        ``work`` is an optional :class:`~.workspace.Workspace` for the one
        scratch array the update needs.
        """
        self.t += 1
        lr = self.learning_rate
        beta_1, beta_2 = self.beta_1, self.beta_2
        correction_1 = 1.0 - beta_1**self.t
        correction_2 = 1.0 - beta_2**self.t
        step_size = lr * np.sqrt(correction_2) / correction_1
        # eps is added to sqrt(v_hat); scaling it by sqrt(correction_2) keeps
        # the update exact while working on the uncorrected v.
        eps = self.epsilon * np.sqrt(correction_2)
        for name, p in params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            tmp = empty(work, "adamw", p.shape, p.dtype)
            # m = beta_1 m + (1 - beta_1) g, as m += (1 - beta_1) (g - m):
            # the same value in fewer passes over memory, and no temporaries.
            np.subtract(g, m, out=tmp)
            tmp *= 1.0 - beta_1
            m += tmp
            np.multiply(g, g, out=tmp)
            tmp -= v
            tmp *= 1.0 - beta_2
            v += tmp
            if self.weight_decay and self.decay[name]:
                p *= 1.0 - lr * self.weight_decay
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


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
    if max_norm is not None and norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm
