"""Interpolated Kneser-Ney character n-gram: the classical baseline.

Scored the same way as ``CharRNNGenerator.score``: nats per token, where a
name's tokens are its characters plus one end token. The context before the
first character is ``order - 1`` start symbols.

For the highest order (Chen and Goodman, 1999, interpolated KN)::

    P(w | h) = max(c(h w) - D, 0) / c(h)
               + D * N1+(h .) / c(h) * P_lower(w | h[1:])

Lower orders use continuation counts ``N1+(. h w)`` in place of ``c(h w)``;
the recursion ends in a uniform distribution over the vocabulary plus one
unknown token. A context never seen backs off entirely to the lower order.
"""

from collections import defaultdict

import numpy as np

START = "\x02"
END = "\x03"


class KneserNeyNgram:
    """Interpolated Kneser-Ney character n-gram model.

    Parameters
    ----------
    order : int
        Length of the n-grams (context length + 1).
    discount : float
        Absolute discount ``D`` in (0, 1), the same at every order.
    """

    def __init__(self, order=5, discount=0.75):
        self.order = order
        self.discount = discount

    def _padded(self, name):
        return START * (self.order - 1) + name + END

    def fit(self, names):
        """Count n-grams of every order from 1 to ``order``."""
        n = self.order
        self.vocabulary_ = sorted(set("".join(names))) + [END]
        # counts[k][context][w]: c(context w) for the top order,
        # continuation counts N1+(. context w) for the lower ones.
        self.counts_ = [defaultdict(lambda: defaultdict(int)) for _ in range(n)]
        seen = set()  # n-gram types of length >= 2 met so far
        for name in names:
            s = self._padded(name)
            for i in range(n - 1, len(s)):
                self.counts_[n - 1][s[i - n + 1 : i]][s[i]] += 1
                # a new m-gram type adds one left-continuation to its
                # (m-1)-suffix; a seen one means every shorter one was seen
                for m in range(n, 1, -1):
                    gram = s[i - m + 1 : i + 1]
                    if gram in seen:
                        break
                    seen.add(gram)
                    self.counts_[m - 2][gram[1:-1]][gram[-1]] += 1
        self.totals_ = [
            {h: (sum(ws.values()), len(ws)) for h, ws in level.items()}
            for level in self.counts_
        ]
        return self

    def _prob(self, context, w):
        """P(w | context) for a context of length order - 1 or less."""
        prob = 1.0 / (len(self.vocabulary_) + 1)
        D = self.discount
        for k in range(0, len(context) + 1):
            h = context[len(context) - k :] if k else ""
            total = self.totals_[k].get(h)
            if total is None:
                continue
            count_h, types_h = total
            c = self.counts_[k][h].get(w, 0)
            prob = max(c - D, 0.0) / count_h + D * types_h / count_h * prob
        return prob

    def score_samples(self, names):
        """Log-likelihood of each name in nats (characters and end token)."""
        out = np.empty(len(names))
        n = self.order
        for j, name in enumerate(names):
            s = self._padded(name)
            out[j] = sum(
                np.log(self._prob(s[i - n + 1 : i], s[i])) for i in range(n - 1, len(s))
            )
        return out

    def score(self, names):
        """Mean log-likelihood per token, in nats."""
        tokens = sum(len(name) + 1 for name in names)
        return float(self.score_samples(names).sum() / tokens)


DISCOUNTS = tuple(np.round(np.arange(0.5, 1.0, 0.05), 2))


def tune(train, valid, orders=range(2, 8), discounts=DISCOUNTS):
    """Pick the order and discount with the best score on ``valid``.

    Returns
    -------
    order, discount, score
    """
    best = (None, None, -np.inf)
    for order in orders:
        model = KneserNeyNgram(order).fit(train)
        for discount in discounts:
            model.discount = float(discount)
            score = model.score(valid)
            if score > best[2]:
                best = (order, float(discount), score)
    return best
