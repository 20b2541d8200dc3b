"""EMOPIA's gaps between onsets (musER.rhythm) and how generation reweighs the prior's positions with them."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
import torch

from musER.api import GenerationRequest, MusER
from musER.beat_codes import BeatCodes
from musER.elements import COLUMN, quadrant_weights
from musER.generation import GROOVE_WEIGHT, SamplingSettings, SequenceState, StepDecoder
from musER.rhythm import MAX_GAP, GapModel, at_least, next_gap, onset_units
from musER.vocab import STEPS_PER_BAR, Vocab


def _clip(vocab: Vocab, positions_per_bar: list[list[int]]) -> np.ndarray:
    """Content ids: each bar a bar line, then its positions, each with one note."""
    rows = []
    for positions in positions_per_bar:
        rows.append(("metrical", "bar"))
        for p in positions:
            rows += [("metrical", p), ("note",)]
    out = np.zeros((len(rows), 8), dtype=np.int64)
    for k, (kind, *beat) in enumerate(rows):
        out[k, COLUMN["type"]] = vocab.id_of("type", kind)
        if kind == "metrical":
            out[k, COLUMN["beat"]] = vocab.id_of("beat", beat[0])
        else:
            out[k, COLUMN["pitch"]] = 40
    return out


@pytest.fixture(scope="module")
def vocab():
    return Vocab.default()


@pytest.fixture(scope="module")
def gaps(vocab):
    eighths = _clip(vocab, [list(range(0, 48, 6))] * 4)  # happy: a stream of eighths
    quarters = _clip(vocab, [[0, 12, 24, 36]] * 4)  # sad: quarters
    return GapModel.count([(eighths, 1), (eighths, 1), (quarters, 3)], vocab)


def test_onsets_are_counted_in_grid_units_across_bars(vocab):
    ids = _clip(vocab, [[0, 6], [], [3]])  # an empty bar in the middle
    assert onset_units(ids, vocab).tolist() == [0, 6, 2 * STEPS_PER_BAR + 3]


def test_each_quadrant_gets_the_gaps_it_was_counted_on(gaps):
    happy, sad = gaps.log_probs(quadrant_weights(1, 1)), gaps.log_probs(quadrant_weights(-1, -1))
    assert int(np.argmax(next_gap(happy, 6, 6))) == 6
    assert int(np.argmax(next_gap(sad, 12, 12))) == 12
    assert int(np.argmax(next_gap(happy, 0, 0))) == 6  # no gap yet: the quadrant's usual gap
    for table in (happy, sad, gaps.log_probs(np.zeros(4))):  # no emotion: all quadrants alike
        assert np.isfinite(table[..., 1:]).all()  # smoothed: no gap is ruled out
        assert np.allclose(np.exp(table).sum(-1), 1)
    # a mixed emotion lies between the two
    mixed = gaps.log_probs(np.array([0.5, 0, 0.5, 0]))
    lo, hi = sorted([next_gap(happy, 0, 12)[12], next_gap(sad, 0, 12)[12]])
    assert lo < next_gap(mixed, 0, 12)[12] < hi


def test_the_chance_of_a_gap_at_least_this_long_falls_with_the_length(gaps):
    table = gaps.log_probs(quadrant_weights(1, 1))
    chances = [at_least(table, 6, 6, g) for g in range(1, MAX_GAP + 4)]
    assert chances[0] == pytest.approx(0.0, abs=1e-9)  # every gap is at least one unit
    assert all(a >= b for a, b in itertools.pairwise(chances))


def test_the_table_survives_meta_json(gaps):
    again = GapModel.from_dict(json.loads(json.dumps(gaps.to_dict())))
    assert np.array_equal(again.counts, gaps.counts)


def _decoder(model, valence: float, arousal: float, gaps: GapModel, vocab: Vocab) -> StepDecoder:
    engine = model._engine
    emotion = torch.tensor([quadrant_weights(valence, arousal)], dtype=torch.float32)
    # one code per beat value, so code k stands for beat id k
    codes = BeatCodes(np.arange(vocab.size("beat")), np.arange(vocab.size("beat")))
    return StepDecoder(engine.vqvae, engine.prior, vocab, emotion, engine.window, SamplingSettings(),
                       torch.Generator().manual_seed(0), codes, gaps)


def _stream_of_eighths() -> SequenceState:
    """In the second bar, at position 6, after gaps of 6, as in the bar before."""
    st = SequenceState(bars=2, position=6, last_onset=2 * STEPS_PER_BAR + 6, ioi=6)
    st.last_bar_onsets = {0, 6, 12, 18}
    return st


def test_aroused_and_sad_music_move_on_in_emopias_rhythm_as_often_as_the_prior_moves_on(tiny_ckpt, gaps, vocab):
    model = MusER.load(tiny_ckpt)
    bar = vocab.id_of("beat", "bar")
    st = _stream_of_eighths()
    logits = torch.zeros(1, vocab.size("beat"))
    out = _decoder(model, 1, 1, gaps, vocab).reweigh_positions(logits, [st])[0]
    code = torch.arange(vocab.size("beat"))
    moves = (code > bar + 1 + 6) | (code == bar)  # later positions and the bar line
    assert int(out.argmax()) == bar + 1 + 12  # the gap of 6 again, where the last bar had an onset too
    assert out[bar] < out[bar + 1 + 12]
    assert torch.logsumexp(out[moves], 0) == pytest.approx(float(torch.logsumexp(logits[0, moves], 0)), abs=1e-5)
    assert torch.equal(out[~moves], logits[0, ~moves])  # notes and earlier positions: as they were
    # sad music: only the last bar's onsets weigh, and the bar line is flattened, not weighed
    sad = _decoder(model, -1, -1, gaps, vocab).reweigh_positions(logits, [st])[0]
    assert sad[bar + 1 + 12] == sad[bar + 1 + 18] > sad[bar + 1 + 13] == sad[bar]
    assert torch.equal(sad[~moves], logits[0, ~moves])
    # calm music keeps the prior's positions
    calm = _decoder(model, 1, -0.5, gaps, vocab).reweigh_positions(logits, [st])[0]
    assert torch.equal(calm, logits[0])


def test_tense_music_weighs_the_last_bars_onsets_more_than_happy_music(tiny_ckpt, gaps, vocab):
    model = MusER.load(tiny_ckpt)
    bar = vocab.id_of("beat", "bar")
    st = _stream_of_eighths()
    logits = torch.zeros(1, vocab.size("beat"))
    bonus = {}
    for name, (valence, arousal) in {"happy": (1, 1), "tense": (-1, 1), "between": (0, 1)}.items():
        decoder = _decoder(model, valence, arousal, gaps, vocab)
        decoder.gap_tables = [np.zeros_like(t) for t in decoder.gap_tables]  # every gap alike: the groove alone
        out = decoder.reweigh_positions(logits, [st])[0]
        bonus[name] = float(out[bar + 1 + 18] - out[bar + 1 + 13])  # 18 had an onset in the last bar, 13 not
    assert bonus["happy"] == pytest.approx(GROOVE_WEIGHT[0], abs=1e-5)
    assert bonus["tense"] == pytest.approx(GROOVE_WEIGHT[1], abs=1e-5)
    assert bonus["happy"] < bonus["between"] < bonus["tense"]  # blended by the asked emotion


def test_a_checkpoint_without_the_gap_table_still_generates(tiny_ckpt, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_ckpt, old)
    meta = json.loads((old / "meta.json").read_text())
    del meta["onset_gaps"]
    (old / "meta.json").write_text(json.dumps(meta))
    pieces = MusER.load(old).generate(GenerationRequest(valence=1, arousal=1, bars=2, seed=2))
    assert len(pieces) == 1 and pieces[0].n_bars >= 1
