"""Generation, transfer and latents through the facade, on the tiny real (untrained) model."""

from __future__ import annotations

import dataclasses
import itertools
import threading

import numpy as np
import pytest
import torch

from musER.api import GenerationRequest, MusER, load_piece
from musER.elements import ELEMENTS, quadrant_weights, va_to_quadrant
from musER.errors import Cancelled, ConfigError, MidiReadError
from musER.grammar import Grammar
from musER.piece import Piece
from musER.sampling import sample
from musER.testing import synthetic_piece
from musER.vocab import Vocab


def record_held_keys(monkeypatch) -> tuple[list, dict]:
    """Every SequenceState generation makes from now on, and id(state.tokens) -> the number of steps
    when its key was held (the free notes before it)."""
    from musER import generation

    states, locked_at = [], {}

    class Recorded(generation.SequenceState):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            states.append(self)

    original = generation.move_into_mode

    def spy(steps, key_moves):
        original(steps, key_moves)
        locked_at[id(steps)] = len(steps)

    monkeypatch.setattr(generation, "SequenceState", Recorded)
    monkeypatch.setattr(generation, "move_into_mode", spy)
    return states, locked_at


def notes_after_held_keys(model, recorded: tuple[list, dict], valence: float, arousal: float) -> list:
    """Compose three pieces of 16 bars (seed 4, temperature 2) with `recorded` = record_held_keys(...)
    in place; (state, the pitch ids it played once its key was held) for every sequence."""
    from musER.elements import COLUMN

    states, locked_at = recorded
    states.clear()
    model.generate(GenerationRequest(valence, arousal, bars=16, n=3, seed=4, temperature=2.0))
    played = []
    for st in states:
        assert id(st.tokens) in locked_at
        ids = np.array([int(row[COLUMN["pitch"]]) for row in st.tokens[locked_at[id(st.tokens)]:]])
        played.append((st, ids[ids > 0]))
    return played


@pytest.fixture(scope="module")
def model(tiny_ckpt):
    return MusER.load(tiny_ckpt)


def test_same_seed_same_pieces_and_other_seed_other_pieces(model):
    a = model.generate(GenerationRequest(valence=0.5, arousal=0.5, bars=2, n=2, seed=3))
    b = model.generate(GenerationRequest(valence=0.5, arousal=0.5, bars=2, n=2, seed=3))
    c = model.generate(GenerationRequest(valence=0.5, arousal=0.5, bars=2, n=2, seed=4))
    assert all(np.array_equal(x.notes, y.notes) for x, y in zip(a, b))
    assert not all(np.array_equal(x.notes, y.notes) for x, y in zip(a, c))


def test_generated_pieces_respect_length_grammar_and_save(model, tmp_path):
    from musER.midi_io import read_midi

    pieces = model.generate(GenerationRequest(bars=3, n=2, seed=1))
    for i, piece in enumerate(pieces):
        assert 1 <= piece.n_bars <= 3
        assert piece.seed == 1 and piece.valence == 0.0
        if piece.n_notes:
            assert piece.notes[:, 1].max() <= piece.bar_times[-1] + 1e-6 or piece.n_notes
            path = piece.save_midi(tmp_path / f"p{i}.mid")
            assert len(read_midi(path).notes) == piece.n_notes


def test_progress_is_reported_and_cancel_stops(model):
    seen = []
    model.generate(GenerationRequest(bars=2, seed=0), progress=lambda s, t: seen.append((s, t)))
    assert seen and seen[-1][1] == 2
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        model.generate(GenerationRequest(bars=2), cancel=stop)


def test_tempo_moves_by_at_most_a_few_bins_per_bar(model):
    from musER.generation import TEMPO_STEP

    # the widest of the geometric bins (their values are rounded to hundredths of a BPM)
    log_step = np.diff(np.log(Vocab.default().values["tempo"])).max()
    for piece in model.generate(GenerationRequest(bars=8, n=4, seed=2, temperature=2.0)):
        lengths = np.diff(piece.bar_times)[:-1]  # the last bar may be stretched for the final chord
        ratios = lengths[1:] / lengths[:-1]
        assert np.all(np.abs(np.log(ratios)) <= TEMPO_STEP * log_step + 1e-6), ratios


@pytest.mark.parametrize("decoder_wants", ["nothing", "slower"])
def test_bar_tempo_keeps_its_pulse_unless_the_decoder_is_sure(model, monkeypatch, decoder_wants):
    from musER.generation import TEMPO_STEP
    from musER.model.fused_heads import FusedElementHeads

    plain = FusedElementHeads.other_logits
    calls = []

    def tempo_set(self, x, type_ids):
        logits = plain(self, x, type_ids)
        ids = torch.arange(logits["tempo"].shape[-1], dtype=torch.float32)
        # the first step (the first bar line) wants a tempo in the middle of the range; later ones
        # nothing in particular, or slower and slower
        later = -10.0 * ids if decoder_wants == "slower" else 0 * ids
        wanted = later if calls else -10.0 * (ids - 30).abs()
        calls.append(1)
        logits["tempo"] = wanted.expand_as(logits["tempo"]).clone()
        return logits

    monkeypatch.setattr(FusedElementHeads, "other_logits", tempo_set)
    log_step = np.diff(np.log(Vocab.default().values["tempo"]))
    for piece in model.generate(GenerationRequest(bars=6, n=2, seed=2)):
        log_ratios = np.log(np.diff(piece.bar_times)[:-1])  # the last bar may be stretched for the final chord
        steps = np.diff(log_ratios)  # > 0: the next bar is slower
        if decoder_wants == "nothing":  # undecided: EMOPIA's most common move, none
            assert np.allclose(steps, 0, atol=1e-6), steps
        else:  # sure: as far as a bar may move, each bar
            assert np.all(steps >= TEMPO_STEP * log_step.min() - 1e-6), steps
    if decoder_wants == "nothing":  # a real piece's latents are decoded without EMOPIA's moves
        from musER import generation
        from musER.tokenizer import decode_ids

        calls.clear()
        engine = model._engine
        _, z, _ = engine.latents_of(engine.encode_piece(synthetic_piece(0, bars=16)))  # decoded: 5 bars
        ids = generation.decode_latents(engine.vqvae, engine.vocab, z[None], engine._emotion(0, 0, 1),
                                        engine.window, generation.SamplingSettings(), 0)[0]
        lengths = np.diff(decode_ids(ids, engine.vocab).bar_times)[:-1]
        # unweighed, the flat head takes the first allowed tempo, the slowest: every bar slower
        assert len(lengths) >= 3 and np.all(np.diff(np.log(lengths)) > 0), lengths


def test_a_sampled_piece_opens_on_its_first_beat_however_late_the_decoder_wants(model, monkeypatch):
    from musER.model.fused_heads import FusedElementHeads

    plain = FusedElementHeads.other_logits
    bar = Vocab.default().id_of("beat", "bar")

    def late_opening(self, x, type_ids):
        logits = plain(self, x, type_ids)
        wanted = torch.full_like(logits["beat"], -10.0)
        wanted[:, bar + 1 + 40] = 10.0  # the last sixteenth of the bar, or an empty bar
        wanted[:, bar] = 9.0
        logits["beat"] = wanted
        return logits

    monkeypatch.setattr(FusedElementHeads, "other_logits", late_opening)
    # no repeats: a bar replaying the first one's positions would open early too
    for piece in model.generate(GenerationRequest(bars=3, n=3, seed=1, repeats=False)):
        beat = (piece.bar_times[1] - piece.bar_times[0]) / 4
        assert piece.notes[:, 0].min() - piece.bar_times[0] < beat
        later_bar = (piece.notes[:, 0] >= piece.bar_times[1]) & (piece.notes[:, 0] < piece.bar_times[2])
        assert piece.notes[later_bar, 0].min() - piece.bar_times[1] >= 2.5 * beat  # later bars as wanted


def test_rests_of_half_a_beat_or_more_are_bridged_by_the_notes_released_last():
    from musER.engine import ring_through_rests
    from musER.piece import Piece

    bars = np.array([0.0, 2.0, 4.0])  # beats of 0.5 s: rests from 0.25 s on are bridged
    notes = [(0.0, 0.5, 60, 80), (0.0, 0.4, 64, 80),
             (0.6, 0.9, 67, 80),  # after a rest of 0.1 s
             (1.5, 1.7, 72, 80),  # after a rest of 0.6 s
             (1.6, 2.0, 48, 80),
             (2.4, 2.6, 50, 80)]  # after a rest of 0.4 s
    piece = ring_through_rests(Piece(notes, bars))
    offsets = {int(pitch): off for _, off, pitch, _ in piece.notes}
    assert offsets[60] == 0.5 and offsets[64] == 0.4  # a short rest is articulation
    assert offsets[67] == 1.5  # rings on to the next onset
    assert offsets[72] == 1.7 and offsets[48] == 2.4  # only the note released last rings on
    assert offsets[50] == 2.6  # nothing after the last note


def test_a_piece_ends_on_its_last_chord_held_to_the_final_bar_line_and_no_later():
    from musER.engine import end_on_held_chord
    from musER.piece import Piece

    bars = np.array([0.0, 2.0, 4.0])
    notes = [(0.0, 0.5, 60, 80), (1.0, 5.5, 40, 80),  # a long note rings past the end
             (3.0, 3.2, 64, 80), (3.0, 4.8, 67, 80)]  # the last chord: one short note, one long
    piece = end_on_held_chord(Piece(notes, bars))
    offsets = {int(pitch): off for _, off, pitch, _ in piece.notes}
    assert offsets == {60: 0.5, 40: 4.0, 64: 4.0, 67: 4.0}
    assert piece.seconds == 4.0


def test_generated_pieces_last_exactly_the_asked_bars(model, monkeypatch):
    import musER.engine as engine_module

    def long_notes(*args, **kwargs):  # every decoded note held 10 s: far past the end
        piece = decode_ids(*args, **kwargs)
        piece.notes[:, 1] += 10.0
        return piece

    decode_ids = engine_module.decode_ids
    monkeypatch.setattr(engine_module, "decode_ids", long_notes)
    pieces = [p for bars in (1, 3)
              for p in model.generate(GenerationRequest(valence=-1, arousal=-1, bars=bars, n=3, seed=2))]
    assert [p.n_bars for p in pieces] == [1, 1, 1, 3, 3, 3] and sum(p.n_notes for p in pieces) > 0
    for piece in pieces:
        assert piece.seconds == piece.bar_times[-1]
        assert not piece.n_notes or piece.notes[:, 1].max() == piece.bar_times[-1]


def test_the_pedal_lets_notes_ring_to_the_next_half_bar_change():
    from musER.engine import PEDAL_LIFT_S, pedal_piece
    from musER.piece import Piece

    bars = np.array([0.0, 2.0, 4.0])  # pedal changes at 0, 1, 2 and 3 s
    notes = [(0.0, 0.3, 60, 80),  # released under the first pedal
             (0.5, 0.97, 64, 80),  # released while the pedal is lifted: as played
             (0.6, 1.2, 62, 80),  # still down at the change: caught by the next pedal
             (1.1, 1.3, 67, 80), (1.5, 1.6, 67, 80),  # struck again before the change: cut there
             (3.2, 3.4, 72, 80)]  # in the last half bar: rings to the end less the lift
    piece = pedal_piece(Piece(notes, bars))
    offsets = [off for _, off, _, _ in piece.notes]
    assert offsets == pytest.approx([1 - PEDAL_LIFT_S, 0.97, 2 - PEDAL_LIFT_S, 1.5, 2 - PEDAL_LIFT_S, 4 - PEDAL_LIFT_S])
    assert piece.notes[:, 0].tolist() == [0.0, 0.5, 0.6, 1.1, 1.5, 3.2]  # onsets untouched


@pytest.mark.parametrize(("share", "changes"), [(0.0, [0, 2, 4, 6, 8]), (1.0, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
                                                (0.5, [0, 2, 3, 4, 6, 7, 8])])
def test_a_share_of_half_bars_changes_the_pedal_at_its_middle_beat_too(share, changes):
    from musER.engine import PEDAL_LIFT_S, pedal_piece
    from musER.piece import Piece

    bars = np.array([0.0, 4.0, 8.0])  # beats every second
    # one note released just after each beat: it rings to the next change
    notes = [(b, b + 0.1, 60 + b, 80) for b in range(8)]
    piece = pedal_piece(Piece(notes, bars), beat_share=share)
    expected = [min(c for c in changes if c > b) - PEDAL_LIFT_S for b in range(8)]
    assert piece.notes[:, 1] == pytest.approx(expected)


def test_happy_music_changes_the_pedal_every_beat_and_tense_or_sad_music_every_half_bar():
    from musER.elements import blend_by_quadrant, quadrant_weights
    from musER.engine import BEAT_PEDAL_SHARE

    def share(valence, arousal):
        return float(blend_by_quadrant(quadrant_weights(valence, arousal), BEAT_PEDAL_SHARE))

    assert share(1, 1) == 1 and share(-1, 1) == 0 and share(-1, -1) == 0
    assert 0 < share(1, -1) < 1  # calm music in between
    assert share(0.5, 0.5) > share(0, 0) > share(-0.5, 0.5)


def test_velocities_are_scaled_by_the_asked_quadrant_and_no_other(model, monkeypatch):
    def compose(valence, scale):
        monkeypatch.setattr("musER.engine.VELOCITY_SCALE", scale)
        return model.generate(GenerationRequest(valence=valence, arousal=1, bars=2, n=1, seed=3, pedal=False))[0]

    as_decoded, tense = compose(-1, (1.0, 1.0, 1.0, 1.0)), compose(-1, (1.0, 0.5, 1.0, 1.0))
    assert np.array_equal(tense.notes[:, :3], as_decoded.notes[:, :3])
    assert tense.notes[:, 3] == pytest.approx(np.maximum(np.rint(as_decoded.notes[:, 3] * 0.5), 1))
    assert np.array_equal(compose(1, (1.0, 0.5, 1.0, 1.0)).notes, compose(1, (1.0, 1.0, 1.0, 1.0)).notes)


def test_velocity_spread_draws_loudness_toward_the_mean_of_the_asked_quadrant_only(model, monkeypatch):
    monkeypatch.setattr("musER.engine.VELOCITY_SCALE", (1.0, 1.0, 1.0, 1.0))

    def compose(valence, spread):
        monkeypatch.setattr("musER.engine.VELOCITY_SPREAD", spread)
        return model.generate(GenerationRequest(valence=valence, arousal=-1, bars=2, n=1, seed=3, pedal=False))[0]

    as_decoded, sad = compose(-1, (1.0, 1.0, 1.0, 1.0)), compose(-1, (1.0, 1.0, 0.5, 1.0))
    assert np.array_equal(sad.notes[:, :3], as_decoded.notes[:, :3])
    v, w = as_decoded.notes[:, 3], sad.notes[:, 3]
    assert v.std() > 0 and w.std() == pytest.approx(v.std() / 2, abs=0.5)
    assert w.mean() == pytest.approx(v.mean(), abs=0.5)
    assert np.array_equal(compose(1, (1.0, 1.0, 0.5, 1.0)).notes, compose(1, (1.0, 1.0, 1.0, 1.0)).notes)


def test_notes_are_moved_by_the_asked_quadrants_register_shift_and_no_other(model, monkeypatch):
    def compose(valence, shift):
        monkeypatch.setattr("musER.engine.REGISTER_SHIFT", shift)
        return model.generate(GenerationRequest(valence=valence, arousal=1, bars=2, n=1, seed=3))[0]

    as_decoded, happy = compose(1, (0.0, 0.0, 0.0, 0.0)), compose(1, (-3.0, 0.0, 0.0, 0.0))
    assert np.array_equal(happy.notes[:, [0, 1, 3]], as_decoded.notes[:, [0, 1, 3]])
    assert np.array_equal(happy.notes[:, 2], np.clip(as_decoded.notes[:, 2] - 3, 21, 108))
    assert np.array_equal(compose(-1, (-3.0, 0.0, 0.0, 0.0)).notes, compose(-1, (0.0, 0.0, 0.0, 0.0)).notes)


def test_transpose_keeps_notes_on_the_piano():
    from musER.engine import transpose

    piece = Piece(np.array([[0, 1, 22, 80], [1, 2, 60, 80], [1, 2, 107, 80]], dtype=float), np.array([0.0, 2.0]))
    assert transpose(piece, -3).notes[:, 2].tolist() == [21, 57, 104]
    assert transpose(piece, 5).notes[:, 2].tolist() == [26, 62, 108]


def test_scale_velocities_keeps_an_empty_piece_and_the_midi_range():
    from musER.engine import scale_velocities

    def piece():
        return Piece(np.array([[0, 1, 60, 10], [1, 2, 62, 120]], dtype=float), np.array([0.0, 2.0]))

    assert scale_velocities(piece(), 1.0, 0.5).notes[:, 3].tolist() == [38, 92]  # 65 -/+ 27.5
    assert scale_velocities(piece(), 2.0).notes[:, 3].tolist() == [20, 127]
    empty = Piece(np.zeros((0, 4)), np.array([0.0, 2.0]))
    assert scale_velocities(empty, 0.9, 0.5).n_notes == 0


def test_pedal_lengthens_notes_but_for_its_lift_and_can_be_turned_off(model):
    from musER.engine import PEDAL_LIFT_S

    request = GenerationRequest(valence=-0.5, arousal=-0.5, bars=4, n=2, seed=2)
    pedalled, dry = model.generate(request), model.generate(dataclasses.replace(request, pedal=False))
    for a, b in zip(pedalled, dry):
        assert a.info["pedal"] and not b.info["pedal"]
        assert np.array_equal(a.notes[:, [0, 2, 3]], b.notes[:, [0, 2, 3]])
        # a dry note rings through a rest to the next onset; pedalled, it stops where the pedal
        # lifts before a change, and the onset just after the change leaves no rest to ring through
        assert (a.notes[:, 1] >= b.notes[:, 1] - PEDAL_LIFT_S - 1e-9).all()
    assert any((a.notes[:, 1] > b.notes[:, 1] + 1e-6).any() for a, b in zip(pedalled, dry))


def test_generated_pieces_leave_no_beat_silent_and_export_as_they_sound(model, tmp_path):
    from musER.evaluate import piece_from_midi
    from musER.metrics import empty_beat_rate

    for k, piece in enumerate(model.generate(GenerationRequest(bars=4, n=4, seed=5))):
        assert empty_beat_rate(piece.notes, piece.bar_times) == 0.0
        back = piece_from_midi(piece.save_midi(tmp_path / f"{k}.mid"))
        assert back.n_notes == piece.n_notes  # no key struck twice at once, no overlapping strikes
        assert np.allclose(back.notes, piece.notes, atol=2e-3)


def test_held_key_finds_major_and_minor_keys():
    from musER.generation import held_key, scale_of

    def key_scale(pitch_classes, valence=0.0):
        return scale_of(*held_key(pitch_classes, valence))

    c_major = np.zeros(12)
    c_major[[0, 2, 4, 5, 7, 9, 11]] = [5, 2, 4, 2, 4, 2, 1]
    assert set(np.flatnonzero(key_scale(c_major))) == {0, 2, 4, 5, 7, 9, 11}
    a_minor = np.zeros(12)
    a_minor[[9, 0, 4, 2, 11, 5]] = [5, 3, 3, 1, 1, 1]
    assert set(np.flatnonzero(key_scale(a_minor))) == {9, 11, 0, 2, 4, 5, 8}  # harmonic: G-sharp, not G
    # an ambiguous histogram (the shared notes of C major and A minor) follows the asked valence,
    # on the same tonic: C major, or C minor (not A minor, which has the same notes)
    shared = np.zeros(12)
    shared[[0, 2, 4, 5, 7, 9, 11]] = 1
    assert set(np.flatnonzero(key_scale(shared, valence=1.0))) == {0, 2, 4, 5, 7, 9, 11}
    assert set(np.flatnonzero(key_scale(shared, valence=-1.0))) == {0, 2, 3, 5, 7, 8, 11}
    # a clear minor piece asked to be happy turns to the parallel major (A major)
    assert set(np.flatnonzero(key_scale(a_minor, valence=1.0))) == {9, 11, 1, 2, 4, 6, 8}


def test_a_held_mode_moves_the_notes_that_tell_major_from_minor_by_a_semitone():
    from musER.generation import mode_moves

    pitches = list(range(21, 109))  # the vocabulary's piano range; id k is pitches[k - 1]

    def moved(tonic, minor):
        src, dst = mode_moves(pitches, tonic, minor)
        return {pitches[a - 1]: pitches[b - 1] for a, b in zip(src, dst)}

    c_minor = moved(0, True)  # E -> E-flat, A -> A-flat, B-flat -> B in every octave; nothing else moves
    assert c_minor[64] == 63 and c_minor[69] == 68 and c_minor[28] == 27 and c_minor[70] == 71
    assert {p % 12 for p in c_minor} == {4, 9, 10} and all(abs(p - q) == 1 for p, q in c_minor.items())
    a_major = moved(9, False)  # C -> C-sharp, F -> F-sharp, G -> G-sharp
    assert a_major[60] == 61 and a_major[65] == 66 and a_major[67] == 68
    assert {p % 12 for p in a_major} == {0, 5, 7}
    # a move never leaves the keyboard: C8 (108) would go up to C-sharp 8, so it is not moved
    assert 108 not in a_major and all(21 <= q <= 108 for q in a_major.values())


def test_a_moved_note_keeps_the_share_of_its_chance_it_is_told_to():
    from musER.generation import move_chances

    row = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))  # E-flat, E, B-flat, B (ids 0-3)
    src, dst = torch.tensor([1, 2]), torch.tensor([0, 3])
    moved_wholly = row.clone()
    move_chances(moved_wholly, src, dst, torch.tensor([0.0, 0.0]))
    # E and B-flat give all their chance away and keep their own logits (the key's penalty takes them)
    assert moved_wholly.exp().tolist() == pytest.approx([0.3, 0.2, 0.3, 0.7])
    half = row.clone()
    move_chances(half, src, dst, torch.tensor([0.0, 0.5]))  # B-flat keeps half
    assert half.exp().tolist() == pytest.approx([0.3, 0.2, 0.15, 0.55])


def test_tense_and_happy_music_keep_half_the_minor_sevenths_chance_and_sad_and_calm_music_none(model, monkeypatch):
    states, _ = record_held_keys(monkeypatch)

    def kept_shares(valence, arousal):
        states.clear()
        model.generate(GenerationRequest(valence, arousal, bars=8, n=3, seed=4))
        held = [st for st in states if st.key_moves is not None]
        assert held
        for st in held:  # a kept seventh is in the held scale
            src, _, kept = st.key_moves
            assert st.key_pitches[src[kept > 0]].all()
        return torch.cat([st.key_moves[2] for st in held]).unique().tolist()

    assert kept_shares(-1.0, -1.0) == [0.0]
    assert kept_shares(1.0, -1.0) == [0.0]
    # tense minor and happy major keys: the seventh's moves keep half, the others none
    assert kept_shares(-1.0, 1.0) == [0.0, 0.5]
    assert kept_shares(1.0, 1.0) == [0.0, 0.5]


def test_happy_music_plays_the_sixth_of_its_held_major_key_less(model, monkeypatch):
    from musER import generation
    from musER.model.fused_heads import FusedElementHeads

    recorded = record_held_keys(monkeypatch)
    pitches = Vocab.default().size("pitch")
    plain_sample, plain_logits = generation.sample, FusedElementHeads.other_logits

    def flat_pitch(self, x, type_ids):  # a decoder with no view on pitch ...
        return {e: v * 0 if e == "pitch" else v for e, v in plain_logits(self, x, type_ids).items()}

    def drawn_pitch(logits, gen, temperature=1.0, p=None, allowed=None):  # ... whose notes are drawn, not
        return plain_sample(logits, gen, 1.0 if logits.shape[-1] == pitches else temperature, p, allowed)  # argmax

    monkeypatch.setattr(FusedElementHeads, "other_logits", flat_pitch)
    monkeypatch.setattr(generation, "sample", drawn_pitch)
    monkeypatch.setattr(generation, "TRIAD_WEIGHT", 0.0)  # and no pull to the tonic triad

    def sixth_share(valence, arousal, penalty):
        monkeypatch.setattr(generation, "SIXTH_PENALTY", penalty)
        sixths = total = 0
        for st, ids in notes_after_held_keys(model, recorded, valence, arousal):
            if st.key_sixth is not None:
                sixths, total = sixths + int(st.key_sixth[ids].sum()), total + len(ids)
        return sixths / total if total else None

    shipped = generation.SIXTH_PENALTY
    assert sixth_share(1.0, -1.0, shipped) is None  # calm music: no held key's sixth is marked
    assert sixth_share(1.0, 1.0, (float("inf"), 0.0, 0.0, 0.0)) == 0
    # a penalty near zero still marks the sixth, for the count
    assert sixth_share(1.0, 1.0, shipped) < sixth_share(1.0, 1.0, (1e-9, 0.0, 0.0, 0.0))
    assert sixth_share(1.0, 1.0, (1e-9, 0.0, 0.0, 0.0)) > 0.05


def test_a_clear_emotion_draws_notes_to_the_held_keys_tonic_triad(model, monkeypatch):
    from musER import generation
    from musER.generation import KEY_LOCK_AFTER, held_key, tonic_triad

    assert np.flatnonzero(tonic_triad(0, True)).tolist() == [0, 3, 7]  # C, E-flat, G
    assert np.flatnonzero(tonic_triad(9, False)).tolist() == [1, 4, 9]  # A, C-sharp, E

    from musER.elements import COLUMN
    from musER.engine import sampling_settings

    engine, vocab = model._engine, model._engine.vocab
    request = GenerationRequest(valence=-1, arousal=1, bars=16, n=3, seed=4, temperature=2.0)

    def triad_share(weight):  # over the decoder's note steps (a piece strikes a key once per onset)
        monkeypatch.setattr(generation, "TRIAD_WEIGHT", weight)
        shares = []
        for ids in generation.generate_tokens(engine.vqvae, engine.prior, vocab, engine._emotion(-1, 1, 3), 16,
                                              engine.window, sampling_settings(request), 4,
                                              beat_codes=engine.beat_codes):
            notes = ids[ids[:, COLUMN["type"]] == vocab.id_of("type", "note")]
            decoded = np.array([vocab.value_of("pitch", int(i)) for i in notes[:, COLUMN["pitch"]]]) % 12
            triad = tonic_triad(*held_key(np.bincount(decoded[:KEY_LOCK_AFTER], minlength=12), -1.0))
            shares.append(triad[decoded[KEY_LOCK_AFTER + 6:]].mean())
        return np.mean(shares)

    assert 1 - triad_share(3.0) < 0.5 * (1 - triad_share(0.0))  # at least halves the notes off the triad


def test_velocity_codes_get_guidance_only_where_calm_music_is_asked(model):
    from musER.generation import CALM_VELOCITY_SHARE, SamplingSettings, StepDecoder

    engine = model._engine
    emotion = torch.tensor([quadrant_weights(0.3, a) for a in (1.0, 0.25, 0.0, -1.0)], dtype=torch.float32)
    dec = StepDecoder(engine.vqvae, engine.prior, engine.vocab, emotion, engine.window,
                      SamplingSettings(guidance=3.0, valence_guidance=2.0), torch.Generator())
    shares = [0.0, 0.5, 1.0, 1.0]  # of CALM_VELOCITY_SHARE: none from arousal 0.5, all of it from 0 down
    assert dec.velocity_share[:, 0].tolist() == pytest.approx([CALM_VELOCITY_SHARE * x for x in shares], abs=1e-6)
    assert dec.sample_codes(None).shape == (4, engine.prior.groups)


def test_a_decoder_stuck_on_notes_moves_on_after_a_chords_worth(model, monkeypatch):
    from musER import generation
    from musER.elements import COLUMN

    vocab = Vocab.default()
    note, types = vocab.id_of("type", "note"), vocab.size("type")
    plain_sample = generation.sample

    def notes_first(logits, gen, temperature=1.0, p=None, allowed=None):
        if logits.shape[-1] == types:  # the decoder's type head, made to want a note at every step
            logits = logits.clone()
            logits[:, note] += 100.0
        return plain_sample(logits, gen, temperature, p, allowed)

    monkeypatch.setattr(generation, "sample", notes_first)
    shipped = generation.MAX_NOTES_AT_POSITION
    assert shipped[1] < shipped[0]  # tense chords thinner
    monkeypatch.setattr(generation, "MAX_NOTES_AT_POSITION", (4, 2, 4, 4))  # below what this decoder merges to
    most = {}
    for quadrant, (valence, arousal) in {"Q1": (1, 1), "Q2": (-1, 1)}.items():
        pieces = model.generate(GenerationRequest(valence=valence, arousal=arousal, bars=2, n=2, seed=0,
                                                  spread_chords=False))  # chords counted on the grid
        most[quadrant] = max(np.unique(p.notes[:, 0], return_counts=True)[1].max() for p in pieces)
        assert all(p.n_bars == 2 for p in pieces)  # it still reaches the asked length
    assert most == {"Q1": 4, "Q2": 2}
    # latents of a real piece (reconstruction, transfer) are decoded without the cap
    engine = model._engine
    _, z, _ = engine.latents_of(engine.encode_piece(synthetic_piece(0, bars=4)))
    ids = generation.decode_latents(engine.vqvae, vocab, z[None], engine._emotion(0, 0, 1), engine.window,
                                    generation.SamplingSettings(), 0)[0]
    runs = np.split(ids[:, COLUMN["type"]] == note, np.flatnonzero(ids[:, COLUMN["type"]] != note))
    assert max(run.sum() for run in runs) > max(shipped)  # note steps after one position


def record_states(monkeypatch) -> list:
    """Every SequenceState generation makes from now on."""
    from musER import generation

    states = []

    class Recorded(generation.SequenceState):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            states.append(self)

    monkeypatch.setattr(generation, "SequenceState", Recorded)
    return states


@pytest.mark.parametrize("kind", ["bar", "rhythm"])
def test_bars_replay_an_earlier_bar_whole_or_its_onset_positions(model, monkeypatch, kind):
    from musER import generation
    from musER.elements import COLUMN

    states = record_states(monkeypatch)
    monkeypatch.setattr(generation, "BAR_REPEAT", (float(kind == "bar"),) * 4)
    monkeypatch.setattr(generation, "RHYTHM_REPEAT", (1.0,) * 4)
    model.generate(GenerationRequest(-0.5, 0.5, bars=10, n=2, seed=5))
    lags = generation.BAR_LAGS if kind == "bar" else generation.RHYTHM_LAGS
    metrical = Grammar(model._engine.vocab).metrical
    rhythm = [COLUMN["type"], COLUMN["beat"]]

    def positions(rows):  # onset positions in order, a held position once
        beats = [int(r[COLUMN["beat"]]) for r in rows if r[COLUMN["type"]] == metrical]
        return [b for k, b in enumerate(beats) if k == 0 or b != beats[k - 1]]

    for st in states:
        bounds = [*st.bar_lines, len(st.tokens)]
        bars = [np.arange(a + 1, b) for a, b in itertools.pairwise(bounds)]  # step indices after each bar line
        assert len(bars) == 10
        tokens, codes = np.array(st.tokens), np.array(st.codes)
        for b in range(1, len(bars) - 1):  # the first bar and the last replay none
            if kind == "bar":
                assert any(len(bars[b]) == len(bars[b - lag]) and np.array_equal(codes[bars[b]], codes[bars[b - lag]])
                           and np.array_equal(tokens[bars[b]][:, rhythm], tokens[bars[b - lag]][:, rhythm])
                           for lag in lags if lag <= b), f"bar {b + 1} replays no earlier bar"
            else:
                assert any(positions(tokens[bars[b]]) == positions(tokens[bars[b - lag]])
                           for lag in lags if lag <= b), f"bar {b + 1} replays no earlier bar's positions"


def test_without_repeats_pieces_are_composed_as_when_no_bar_repeats(model, monkeypatch):
    from musER import generation

    request = GenerationRequest(0.5, 0.5, bars=6, n=2, seed=2)
    monkeypatch.setattr(generation, "RHYTHM_REPEAT", (1.0, 1.0, 1.0, 1.0))
    off = model.generate(dataclasses.replace(request, repeats=False))
    every = model.generate(request)
    monkeypatch.setattr(generation, "RHYTHM_REPEAT", (0.0, 0.0, 0.0, 0.0))
    monkeypatch.setattr(generation, "BAR_REPEAT", (0.0, 0.0, 0.0, 0.0))
    none = model.generate(request)
    assert all(np.array_equal(a.notes, b.notes) for a, b in zip(off, none))
    assert not all(np.array_equal(a.notes, b.notes) for a, b in zip(off, every))
    assert every[0].info["repeats"] and not off[0].info["repeats"]


def test_key_lock_narrows_the_pitch_classes_of_later_notes(model):
    from musER.generation import KEY_LOCK_AFTER

    def classes_after_the_free_notes(lock):
        pieces = model.generate(GenerationRequest(bars=16, n=3, seed=4, temperature=2.0, key_lock=lock))
        # a few notes of margin: notes sort by onset, not in the order they were decoded
        return [len(set(p.notes[KEY_LOCK_AFTER + 6:, 2].astype(int) % 12)) for p in pieces]

    held = classes_after_the_free_notes(True)
    assert max(held) <= 8  # one major or harmonic minor scale (and the minor seventh, kept), held to the end
    assert np.mean(held) < np.mean(classes_after_the_free_notes(False))


def test_the_free_notes_take_the_held_mode():
    from musER.elements import COLUMN
    from musER.generation import mode_moves, move_into_mode

    vocab = Vocab.default()
    steps = [np.zeros(8, dtype=np.int64) for _ in range(5)]
    for row, pitch in zip(steps, (60, 64, 66, 69)):  # C, E, F-sharp, A; the last step has no pitch
        row[COLUMN["pitch"]] = vocab.id_of("pitch", pitch)
    c_minor = tuple(torch.from_numpy(a) for a in mode_moves(vocab.values["pitch"], 0, True))
    move_into_mode(steps, c_minor)
    # the mode's notes move by a semitone; other notes, and steps without a pitch, stay
    assert [vocab.value_of("pitch", int(row[COLUMN["pitch"]])) for row in steps] == [60, 63, 66, 68, None]


def test_generation_moves_the_notes_before_the_held_key_into_its_mode(model, monkeypatch):
    from musER import generation
    from musER.elements import COLUMN

    states, locked_at = record_held_keys(monkeypatch)
    model.generate(GenerationRequest(bars=8, n=3, seed=4, temperature=2.0))
    held = [st for st in states if st.key_moves is not None]
    assert held
    for st in held:
        pitches = [int(row[COLUMN["pitch"]]) for row in st.tokens[:locked_at[id(st.tokens)]]]
        assert sum(p > 0 for p in pitches) >= generation.KEY_LOCK_AFTER
        assert not set(pitches) & set(st.key_moves[0].tolist())


def test_valence_guidance_acts_only_away_from_neutral_valence(model):
    def notes(valence, push):  # one piece per call
        pieces = model.generate(GenerationRequest(valence=valence, arousal=0.5, bars=4, n=1, seed=5,
                                                  valence_guidance=push))
        return [p.notes for p in pieces]

    # at valence 0 the mirrored emotion is the asked one, so the push is exactly zero
    assert all(np.array_equal(a, b) for a, b in zip(notes(0.0, 0.0), notes(0.0, 3.0)))
    assert not all(np.array_equal(a, b) for a, b in zip(notes(-1.0, 0.0), notes(-1.0, 3.0)))


def test_an_element_top_p_replaces_the_overall_one_for_that_element_only(model, monkeypatch):
    from musER import generation

    def nuclei(**kwargs):  # the top-p of every prior sampling call (the decoder's own calls pass 0.9)
        seen = []

        def recording_sample(logits, generator, temperature=1.0, p=None, allowed=None):
            seen.append(p)
            return sample(logits, generator, temperature, p, allowed)

        monkeypatch.setattr(generation, "sample", recording_sample)
        pieces = model.generate(GenerationRequest(valence=0.5, arousal=0.5, bars=2, n=2, seed=3, top_p=0.8, **kwargs))
        return [x for x in seen if x != 0.9], [p.notes for p in pieces]

    plain, plain_notes = nuclei()
    assert plain and set(plain) == {0.8}
    chosen, _ = nuclei(element_top_p={"pitch": 0.5})
    steps = len(chosen) // len(ELEMENTS)
    assert chosen.count(0.5) == steps and chosen.count(0.8) == (len(ELEMENTS) - 1) * steps
    same, same_notes = nuclei(element_top_p=dict.fromkeys(ELEMENTS, 0.8))
    assert same == plain and all(np.array_equal(a, b) for a, b in zip(same_notes, plain_notes))


@pytest.mark.parametrize("kwargs", [{"valence": 1.5}, {"arousal": -2}, {"bars": 0}, {"bars": 65},
                                    {"n": 0}, {"temperature": 0}, {"top_p": 0},
                                    {"valence_guidance": -1}, {"element_temperature": {"timbre": 1.0}},
                                    {"element_top_p": {"pitch": 0}}, {"element_top_p": {"pitch": 1.5}},
                                    {"element_top_p": {"timbre": 0.5}}])
def test_bad_requests_are_refused(kwargs):
    with pytest.raises(ConfigError):
        GenerationRequest(**kwargs)


def test_transfer_from_a_reference_and_from_a_target(model):
    source, reference = synthetic_piece(1, bars=3), synthetic_piece(2, bars=2)
    a = model.transfer(source, ["velocity", "duration"], reference=reference)
    b = model.transfer(source, "pitch", valence=-1, arousal=-1, seed=2)
    for piece in (a, b):
        assert piece.info["transferred"]
    assert b.valence == -1 and b.arousal == -1


def test_transfer_keeps_every_element_it_does_not_move(model):
    from musER.tokenizer import decode_ids

    source, reference = synthetic_piece(1, bars=4), synthetic_piece(2, bars=2)
    as_read = decode_ids(model._engine.encode_piece(source), Vocab.default())  # the input on its bar grid
    out = model.transfer(source, ["velocity"], reference=reference, valence=-0.5, arousal=0.5, seed=1)
    # the untrained decoder would write other notes: rhythm, pitch, length and tempo stay the input's
    assert np.allclose(out.notes[:, :3], as_read.notes[:, :3])
    assert np.allclose(out.bar_times, as_read.bar_times)
    assert not np.array_equal(out.notes[:, 3], as_read.notes[:, 3])  # the velocities are decoded


def test_a_reference_sampled_for_a_target_is_composed_as_generate_composes(model, monkeypatch):
    import musER.engine as engine_module
    from musER.engine import sampling_settings

    drawn = []
    original = engine_module.generate_tokens
    monkeypatch.setattr(engine_module, "generate_tokens",
                        lambda *a, **k: drawn.append((a[6], k["gaps"])) or original(*a, **k))
    model.transfer(synthetic_piece(1), ["velocity"], valence=0.8, arousal=-0.5, seed=3)
    settings, gaps = drawn[0]  # guidance, valence guidance and key lock as in generate, EMOPIA's gaps
    assert settings == sampling_settings(GenerationRequest(0.8, -0.5, seed=3))
    assert gaps is model._engine.gaps


def test_transfer_refuses_bad_arguments(model, tmp_path):
    with pytest.raises(ConfigError, match="unknown element"):
        model.transfer(synthetic_piece(1), ["timbre"], reference=synthetic_piece(2))
    with pytest.raises(ConfigError, match="reference"):
        model.transfer(synthetic_piece(1), ["pitch"])
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(MidiReadError):
        model.transfer(bad, ["pitch"], valence=0, arousal=0)


def test_latents_and_reference_map(model):
    pieces = [synthetic_piece(i) for i in range(3)]
    points = model.latents(pieces)
    assert set(points) == set(ELEMENTS) and all(p.shape == (3, 2) for p in points.values())
    placed = model.map_points(model.latent_vectors(pieces))  # what `muser latents` prints
    assert all(np.allclose(placed[e], points[e]) for e in ELEMENTS)
    ref = model.reference_map()
    assert set(ref.points) == set(ELEMENTS) and len(ref.names) == len(ref.quadrants)


def test_load_piece_reads_a_user_file(tmp_path):
    path = synthetic_piece(4).save_midi(tmp_path / "mine.mid")
    piece = load_piece(path)
    assert piece.n_notes == synthetic_piece(4).n_notes and piece.n_bars >= 4


def test_emotion_blend_and_quadrants():
    assert quadrant_weights(1, 1) == (1, 0, 0, 0)
    assert sum(quadrant_weights(0.3, -0.7)) == pytest.approx(1)
    assert [va_to_quadrant(*va).name for va in ((1, 1), (-1, 1), (-1, -1), (1, -1))] == ["Q1", "Q2", "Q3", "Q4"]


def test_sliders_reach_a_corner_faster_than_linearly_and_keep_its_ends():
    from musER.elements import asked_weights, slider_response

    positions = np.linspace(-1, 1, 41)
    response = [slider_response(x) for x in positions]
    assert np.all(np.diff(response) > 0)
    assert slider_response(0) == 0 and slider_response(1) == 1 and slider_response(-1) == -1
    assert slider_response(0.5) == pytest.approx(0.70, abs=0.01)
    assert slider_response(-0.5) == -slider_response(0.5)
    assert asked_weights(1, -1) == quadrant_weights(1, -1) == (0, 0, 0, 1)
    assert asked_weights(0.5, 0.5)[0] > quadrant_weights(0.5, 0.5)[0]
    assert sum(asked_weights(-0.3, 0.8)) == pytest.approx(1)


def test_a_request_asks_for_the_sliders_response(model, monkeypatch):
    import musER.engine
    from musER.elements import asked_weights

    asked = []
    real_emotion = musER.engine.Engine._emotion

    def spy(self, valence, arousal, n):
        emotion = real_emotion(self, valence, arousal, n)
        asked.append(emotion[0].tolist())
        return emotion

    monkeypatch.setattr(musER.engine.Engine, "_emotion", spy)
    model.generate(GenerationRequest(valence=0.5, arousal=-0.25, bars=1, n=1, seed=0))
    assert asked == [pytest.approx(list(asked_weights(0.5, -0.25)))]


def test_decoded_steps_follow_the_grammar(model):
    from musER.engine import Engine  # noqa: F401  (the facade's engine is what we check)

    engine = model._engine
    vocab = Vocab.default()
    from musER.generation import SamplingSettings, generate_tokens

    seqs = generate_tokens(engine.vqvae, engine.prior, vocab, engine._emotion(0, 0, 2), 2, engine.window,
                           SamplingSettings(), 5, beat_codes=engine.beat_codes)
    for ids in seqs:
        assert Grammar(vocab).errors(ids) == []


def test_half_weights_on_cpu_change_little_and_keep_the_model_whole(tiny_ckpt):
    from torch import nn

    from musER.model.half import HalfLinear

    linear = nn.Linear(64, 32)
    few, many = torch.randn(3, 64), torch.randn(2, 8, 64)
    with torch.no_grad():
        assert torch.allclose(HalfLinear(linear)(few), linear(few), atol=2e-2)
        assert torch.equal(HalfLinear(linear)(many), linear(many))  # more rows: float32 itself
    half, full = MusER.load(tiny_ckpt, half=True), MusER.load(tiny_ckpt)
    assert half.info["half_weights"] and not full.info["half_weights"]
    assert half.info["parameters"] == full.info["parameters"]
    assert any(isinstance(m, HalfLinear) for m in half._engine.prior.modules())
    request = GenerationRequest(valence=-0.5, arousal=0.5, bars=2, n=2, seed=1)
    a, b = half.generate(request), half.generate(request)
    assert all(np.array_equal(x.notes, y.notes) for x, y in zip(a, b))
    assert all(p.n_notes > 0 and p.n_bars == 2 for p in a)


def test_few_rows_go_through_numpy_with_the_same_products_and_pieces(tiny_ckpt):
    from torch import nn

    from musER.model.blas import BLAS_ROWS, BlasLinear

    linear = nn.Linear(64, 32)
    few, many = torch.randn(3, 64), torch.randn(2, BLAS_ROWS, 64)
    with torch.inference_mode():
        assert torch.allclose(BlasLinear(linear)(few), linear(few), atol=1e-5)
        assert torch.equal(BlasLinear(linear)(many), linear(many))  # more rows: torch's product
    blas, plain = MusER.load(tiny_ckpt), MusER.load(tiny_ckpt, blas=False)
    assert blas.info["blas_products"] and not plain.info["blas_products"]
    assert not MusER.load(tiny_ckpt, half=True).info["blas_products"]  # one kind of copy at a time
    assert any(isinstance(m, BlasLinear) for m in blas._engine.prior.modules())
    assert not any(isinstance(m, BlasLinear) for m in plain._engine.prior.modules())
    request = GenerationRequest(valence=-0.5, arousal=0.5, bars=4, n=2, seed=1)
    assert all(np.array_equal(x.notes, y.notes) for x, y in zip(blas.generate(request), plain.generate(request)))


def _step(vocab, kind, beat=0, pitch=0):
    from musER.elements import COLUMN

    row = np.zeros(8, dtype=np.int64)
    row[COLUMN["type"]] = vocab.id_of("type", kind)
    row[COLUMN["beat"]] = vocab.id_of("beat", beat) if kind == "metrical" else 0
    row[COLUMN["tempo"]] = 10 if beat == "bar" else 0
    if kind == "note":
        row[COLUMN["pitch"]], row[COLUMN["duration"]], row[COLUMN["velocity"]] = pitch, 1, 1
    return row


def test_beat_codes_name_the_beat_each_code_stands_for_and_resync_the_prior():
    from musER.beat_codes import BEAT_GROUP, BeatCodes

    vocab = Vocab.default()
    steps = [("metrical", "bar"), ("metrical", 0), ("note",), ("metrical", 12), ("note",), ("metrical", "bar")]
    ids = np.stack([_step(vocab, *s) for s in steps])
    codes = np.zeros((len(steps), len(ELEMENTS)), dtype=np.int64)
    codes[:, BEAT_GROUP] = [5, 1, 7, 2, 7, 5]  # code 7 only at note steps
    table = BeatCodes.count([(codes, ids), (codes, ids)], 8, vocab)
    assert table.value_of_code[5] == vocab.id_of("beat", "bar")
    assert table.value_of_code[2] == vocab.id_of("beat", 12) and table.value_of_code[7] == 0
    assert table.code_of_value[vocab.id_of("beat", 0)] == 1
    assert BeatCodes.from_dict(table.to_dict()).code_of_value.tolist() == table.code_of_value.tolist()
    # the decoder wrote position 0 where the prior's code stood for 12: the prior goes on from code 1
    sampled = codes[[3, 4]].copy()
    written = np.stack([_step(vocab, "metrical", 0), _step(vocab, "note")])
    table.resync(sampled, written, vocab.id_of("type", "metrical"))
    assert sampled[:, BEAT_GROUP].tolist() == [1, 7]


def test_held_positions_are_dropped_and_their_notes_join_the_open_position():
    from musER.generation import _without_held_positions
    from musER.tokenizer import decode_ids

    vocab = Vocab.default()
    steps = [("metrical", "bar"), ("metrical", 6), ("note", 0, 40), ("metrical", 6), ("note", 0, 44),
             ("metrical", 18), ("note", 0, 47), ("metrical", "bar"), ("metrical", 6), ("note", 0, 40)]
    kept = _without_held_positions([_step(vocab, *s) for s in steps], vocab)
    assert len(kept) == len(steps) - 1  # only the repeated position 6 of the first bar goes
    from musER.elements import COLUMN

    head = np.zeros(8, dtype=np.int64)
    head[COLUMN["type"]] = vocab.id_of("type", "emotion")
    ids = np.stack([head, *kept])
    assert Grammar(vocab).errors(ids) == []
    piece = decode_ids(ids, vocab)
    assert piece.n_notes == 4 and piece.notes[0, 0] == piece.notes[1, 0]  # one chord at position 6


def test_transfer_takes_bar_tempi_from_tokens_and_a_shorter_donor_repeats():
    from musER.elements import COLUMN
    from musER.transfer_align import copy_bar_tempi

    vocab = Vocab.default()
    bars = np.stack([_step(vocab, "metrical", "bar") for _ in range(3)])
    bars[:, COLUMN["tempo"]] = [5, 6, 7]
    donor = bars[:2].copy()
    donor[:, COLUMN["tempo"]] = [20, 30]
    out = copy_bar_tempi(np.concatenate([bars, [_step(vocab, "metrical", 0)]]), donor, vocab)
    assert out[:3, COLUMN["tempo"]].tolist() == [20, 30, 20]
    assert out[3, COLUMN["tempo"]] == 0 and bars[0, COLUMN["tempo"]] == 5  # positions untouched, input kept


def test_moved_tempi_take_the_octave_that_keeps_the_donors_pace():
    from musER.elements import COLUMN
    from musER.transfer_align import copy_bar_tempi, pace_octave

    # 12 notes a bar against a donor's 2 at the same tempo: half the tempo brings the pace nearest
    assert pace_octave(12, np.array([133.0]), 2, np.array([133.0])) == 0.5
    assert pace_octave(8, np.array([100.0, 100.0]), 5, np.array([110.0])) == 1.0  # 4 notes a bar against 5
    assert pace_octave(1, np.array([60.0]), 20, np.array([60.0])) == 2.0  # never more than an octave
    assert pace_octave(0, np.array([60.0]), 20, np.array([60.0])) == 1.0

    vocab = Vocab.default()
    dense = [_step(vocab, "metrical", "bar"), _step(vocab, "metrical", 0)] + [_step(vocab, "note", 0, 40)] * 12
    sparse = [_step(vocab, "metrical", "bar"), _step(vocab, "metrical", 0)] + [_step(vocab, "note", 0, 40)] * 2
    donor = np.stack(sparse * 2)
    donor[0, COLUMN["tempo"]] = vocab.nearest_id("tempo", 132.0)
    donor[len(sparse), COLUMN["tempo"]] = 0  # the second bar keeps the first one's tempo
    ids = np.stack(dense * 2)
    plain, paced = copy_bar_tempi(ids, donor, vocab), copy_bar_tempi(ids, donor, vocab, match_pace=True)
    lines = [0, len(dense)]
    assert plain[lines, COLUMN["tempo"]].tolist() == donor[[0, len(sparse)], COLUMN["tempo"]].tolist()
    half = vocab.value_of("tempo", int(donor[0, COLUMN["tempo"]])) / 2
    assert paced[lines, COLUMN["tempo"]].tolist() == [vocab.nearest_id("tempo", half), 0]


def test_moved_pitches_take_the_mode_of_the_target_valence():
    from musER.elements import COLUMN
    from musER.generation import into_held_mode

    vocab = Vocab.default()
    pitches = [60, 67, 60, 67, 64, 62, 65]  # C major, with little of its third: C minor at valence -1
    seq = np.stack([_step(vocab, "metrical", "bar"), _step(vocab, "metrical", 0)]
                   + [_step(vocab, "note", 0, vocab.id_of("pitch", p)) for p in pitches])

    def played(ids):
        return [vocab.value_of("pitch", int(i)) for i in ids[2:, COLUMN["pitch"]]]

    sad = into_held_mode(seq, vocab, -1.0)
    assert played(sad) == [60, 67, 60, 67, 63, 62, 65]  # E -> E-flat; the rest is in both modes
    assert np.array_equal(sad[:2], seq[:2]) and played(seq) == pitches  # other steps, and the input, kept
    assert np.array_equal(into_held_mode(seq, vocab, 1.0), seq)
    assert np.array_equal(into_held_mode(seq[:2], vocab, -1.0), seq[:2])  # no notes


def test_transfer_keeps_the_input_tempo_unless_tempo_is_moved(model):
    from musER.elements import COLUMN
    from musER.tokenizer import decode_ids

    engine, vocab = model._engine, Vocab.default()

    def bar_lengths(piece):
        content = engine.encode_piece(piece)
        head = np.zeros((1, 8), dtype=np.int64)
        head[0, COLUMN["type"]] = vocab.id_of("type", "emotion")
        return np.diff(decode_ids(np.concatenate([head, content]), vocab).bar_times)

    src, ref = synthetic_piece(0, bpm=80.0), synthetic_piece(5, bpm=140.0)
    kept = model.transfer(src, ["pitch"], reference=ref, valence=0.5, arousal=0.5, seed=0)
    moved = model.transfer(src, ["tempo"], reference=ref, valence=0.5, arousal=0.5, seed=0)
    want_src, want_ref = bar_lengths(src), bar_lengths(ref)
    assert not np.isclose(want_src[0], want_ref[0])
    for piece, want in ((kept, want_src), (moved, want_ref)):  # the untrained decoder may write one bar only
        got = np.diff(piece.bar_times)
        assert np.allclose(got, want[:len(got)])


def test_notes_outside_the_asked_emotions_register_move_by_octaves_into_it(model):
    from musER.elements import COLUMN
    from musER.generation import REGISTER, SamplingSettings, StepDecoder

    engine, vocab = model._engine, model._engine.vocab
    emotion = torch.tensor([quadrant_weights(1, 1), quadrant_weights(1, -1)], dtype=torch.float32)  # happy, calm
    dec = StepDecoder(engine.vqvae, engine.prior, vocab, emotion, engine.window, SamplingSettings(), torch.Generator())
    lo, hi = REGISTER[0]
    for pitch, happy in ((hi + 8, hi + 8 - 12), (lo - 5, lo - 5 + 12), (60, 60)):
        out = torch.zeros(2, 8, dtype=torch.long)
        out[:, COLUMN["pitch"]] = vocab.id_of("pitch", pitch)
        dec.fold_into_register(out)
        assert [vocab.value_of("pitch", int(i)) for i in out[:, COLUMN["pitch"]]] == [happy, pitch]  # calm: as it was
    rests = torch.zeros(2, 8, dtype=torch.long)  # steps without a pitch keep none
    dec.fold_into_register(rests)
    assert not rests.any()


def test_sampled_happy_notes_keep_to_emopias_register(model, monkeypatch):
    from musER import generation
    from musER.elements import COLUMN
    from musER.engine import sampling_settings

    engine, vocab = model._engine, model._engine.vocab
    request = GenerationRequest(valence=1, arousal=1, bars=4, n=2, seed=1, temperature=2.0)

    def pitches():
        emotion = engine._emotion(request.valence, request.arousal, request.n)
        ids = generation.generate_tokens(engine.vqvae, engine.prior, vocab, emotion, request.bars,
                                         engine.window, sampling_settings(request), request.seed)
        notes = np.concatenate([s[s[:, COLUMN["type"]] == vocab.id_of("type", "note"), COLUMN["pitch"]] for s in ids])
        return np.array([vocab.value_of("pitch", int(i)) for i in notes])

    lo, hi = generation.REGISTER[0]
    held = pitches()
    assert lo <= held.min() and held.max() <= hi
    monkeypatch.setattr(generation, "REGISTER", ((21, 108),) * 4)
    free = pitches()
    assert (free < lo).any() or (free > hi).any()  # the untrained model does leave it


def test_the_held_key_lets_a_note_out_only_where_the_decoder_wants_it_much_more(model, monkeypatch):
    from musER import generation
    from musER.model.fused_heads import FusedElementHeads

    recorded = record_held_keys(monkeypatch)
    plain = FusedElementHeads.other_logits

    eased = generation.KEY_PENALTY_EASED

    def off_key_share(valence, arousal, penalty, eased=eased):
        monkeypatch.setattr(generation, "KEY_PENALTY", penalty)
        monkeypatch.setattr(generation, "KEY_PENALTY_EASED", eased)
        off = total = 0
        for st, ids in notes_after_held_keys(model, recorded, valence, arousal):
            off, total = off + int((~st.key_pitches[ids]).sum()), total + len(ids)
        return off / total

    def decisive(self, x, type_ids):  # a decoder that wants its notes by some nats, as a trained one does
        return {e: v * 10 if e == "pitch" else v for e, v in plain(self, x, type_ids).items()}

    monkeypatch.setattr(FusedElementHeads, "other_logits", decisive)
    shipped = generation.KEY_PENALTY
    assert off_key_share(0.5, 0.5, float("inf")) == 0
    assert 0 < off_key_share(0.5, 0.5, shipped) < off_key_share(0.5, 0.5, 0.0)
    assert 0 < off_key_share(-1.0, -1.0, shipped) < off_key_share(-1.0, -1.0, 0.0)  # sad music too
    # tense music's key is eased: more of its notes get out than at the others' penalty
    assert eased[1] > 0  # Q1..Q4: tense
    assert off_key_share(-1.0, 1.0, shipped) > off_key_share(-1.0, 1.0, shipped, eased=(0.0,) * 4) > 0
