"""
=========================================
Temperature against novelty and diversity
=========================================

``temperature`` divides the network's log-probabilities before every draw:
at ``T < 1`` the likely characters get likelier, at ``T > 1`` the
distribution flattens. Low temperatures give safe names that often repeat
each other; high temperatures give new names that read less and less like
dinosaurs.

We measure, for 1,000 samples at each temperature:

- **novelty**: the share of samples that are not in the training list;
- **diversity**: the share of samples that are distinct from each other;
- **plausibility**: the mean log-likelihood per token of the samples under
  the model itself at ``T = 1`` (higher is more typical of the training
  names).
"""

# %%
# Train one model
# ---------------
import matplotlib.pyplot as plt
import numpy as np

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn.datasets import load_dinosaurs

names = load_dinosaurs()
training = set(names)
gen = CharRNNGenerator(
    hidden_size=64,
    cell="gru",
    learning_rate_init=1e-2,
    dropout=0.0,
    max_iter=20,
    n_iter_no_change=3,
    random_state=0,
).fit(names)

# %%
# Sample at each temperature
# --------------------------
temperatures = [0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0]
n_samples = 1000
novelty, diversity, plausibility = [], [], []
for temperature in temperatures:
    samples = gen.sample(n_samples, temperature=temperature, random_state=0)
    novelty.append(np.mean([s not in training for s in samples]))
    diversity.append(len(set(samples)) / n_samples)
    plausibility.append(gen.score(samples))
    print(f"T = {temperature:<4}  {', '.join(samples[:4])}")

print("\n   T  novelty  diversity  plausibility")
for row in zip(temperatures, novelty, diversity, plausibility, strict=True):
    print("{:4}  {:7.3f}  {:9.3f}  {:12.3f}".format(*row))

# %%
# Plot
# ----
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
ax1.plot(temperatures, novelty, "o-", label="novelty (not in training list)")
ax1.plot(temperatures, diversity, "s-", label="diversity (distinct samples)")
ax1.set_xlabel("temperature")
ax1.set_ylabel(f"share of {n_samples} samples")
ax1.set_ylim(0, 1.05)
ax1.legend(loc="lower right")
ax2.plot(temperatures, plausibility, "o-", color="C2", label="samples")
ax2.axhline(
    gen.best_validation_score_, color="grey", linestyle="--", label="held-out names"
)
ax2.legend()
ax2.set_xlabel("temperature")
ax2.set_ylabel("mean log-likelihood per token (nats)")
ax2.set_title("plausibility of the samples", fontsize="medium")
fig.suptitle("Temperature trades plausibility for novelty")
fig.tight_layout()
plt.show()

# %%
# The dashed line is the yardstick: the score of real names the model did not
# train on (the held-out score of early stopping). A model's own samples
# score above it even at temperature 1 (they never pay for the ways real
# names differ from the model); well above it, they are blander than real
# names, far below it stranger.
print(f"held-out score of real names: {gen.best_validation_score_:.3f}")
