"""The seeded sampler: top-p, masks, temperature, seeds."""

from __future__ import annotations

import numpy as np
import torch

from musER.sampling import sample as torch_sample

PROBS = np.array([0.5, 0.3, 0.15, 0.05])


def sample(logits, seed, temperature=1.0, p=None, allowed=None):
    return torch_sample(torch.tensor(logits, dtype=torch.float32), torch.Generator().manual_seed(seed), temperature, p,
                        None if allowed is None else torch.tensor(allowed)).numpy()


def draws(n=4000, seed=0, **kw):
    logits = np.log(np.tile(PROBS, (n, 1)))
    return np.bincount(sample(logits, seed, **kw), minlength=len(PROBS)) / n


def test_without_top_p_the_probabilities_are_kept():
    assert np.allclose(draws(), PROBS, atol=0.03)


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    kept = draws(p=0.9)  # 0.5 + 0.3 < 0.9, so 0.15 stays; the mass before 0.05 is 0.95
    assert kept[3] == 0 and np.allclose(kept[:3], PROBS[:3] / 0.95, atol=0.03)
    assert draws(p=0.75)[2:].sum() == 0  # the mass before 0.15 is already 0.8
    assert draws(p=0.01)[0] == 1.0  # always at least the most likely id


def test_forbidden_ids_are_never_drawn_and_temperature_zero_is_argmax():
    allowed = np.tile([False, True, True, False], (4000, 1))
    kept = draws(allowed=allowed)
    assert kept[0] == kept[3] == 0 and np.isclose(kept[1], 0.3 / 0.45, atol=0.03)
    logits = np.log(np.tile(PROBS, (3, 1)))
    assert sample(logits, 0, 0).tolist() == [0, 0, 0]
    assert sample(logits, 0, 0, allowed=allowed[:3]).tolist() == [1, 1, 1]


def test_higher_temperature_flattens_and_the_seed_repeats():
    assert draws(temperature=3.0)[3] > 0.12  # 0.05 at temperature 1
    assert np.array_equal(draws(seed=5), draws(seed=5)) and not np.array_equal(draws(seed=5), draws(seed=6))


def test_draws_are_torch_multinomials_draws_for_the_same_generator():
    logits = torch.randn(64, 128)
    ours = torch_sample(logits, torch.Generator().manual_seed(3), 1.0, None)
    theirs = torch.multinomial(torch.softmax(logits, -1), 1, generator=torch.Generator().manual_seed(3)).squeeze(-1)
    assert torch.equal(ours, theirs)
