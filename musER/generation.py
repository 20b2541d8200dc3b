"""Step-by-step generation: the prior picks each step's codes, the decoder turns them into a
compound step, both with key/value caches. Also decoding of given codes (reconstruction and
element transfer). Bars are counted as they are decoded, so length is asked in bars.

Past the trained context (`window` steps) both models continue on a sliding window that
restarts at a bar line half a window back, re-reading that context into fresh caches.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .beat_codes import BeatCodes
from .elements import COLUMN, ELEMENTS, FAMILIES, blend_by_quadrant
from .errors import Cancelled
from .grammar import Grammar
from .metrics import key_correlations
from .model.fused_heads import FusedElementHeads
from .rhythm import MAX_GAP, GapModel, at_least, next_gap
from .sampling import sample
from .vocab import HALF_BAR_STEPS, STEPS_PER_BAR, STEPS_PER_BEAT, Vocab

TYPE_COL = COLUMN["type"]
# bins a bar's tempo may move from the previous bar's: 96 % of EMOPIA's bar-to-bar changes are
# within 3 (one bin is 4.3 %); unconstrained, codes from the prior made tempi jump 52 <-> 130 BPM
TEMPO_STEP = 3
# EMOPIA's bar-to-bar tempo moves by 0, 1, 2, 3 bins (either way; train split, 12,794 bar pairs),
# weighed into the decoder's choice: the latent hardly carries tempo, and the decoder alone kept
# 32 % of bars at the previous tempo against EMOPIA's 49 %, so tempi wobbled from bar to bar
TEMPO_MOVES = (0.491, 0.140, 0.065, 0.032)
FLIP_VALENCE = [1, 0, 3, 2]  # quadrant weights of the same arousal with the valence mirrored
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# The minor mode is the harmonic minor: its leading tone (B in C minor) instead of the natural
# minor's seventh (B-flat), which is the fifth of the relative major (E-flat) and let 41 % of sad
# pieces drift there (they then leaned major, and 38 % of those were judged sad against 86 % of the
# rest). Harmonic, on 800 pieces of fresh seeds: judged 0.906 against 0.795 (sad 0.955 against
# 0.66, tense 0.955 against 0.805), by the two other judges 0.915 / 0.868 against 0.849 / 0.819,
# at distance 0.38 against 0.33, sad music then kept to its scale (KEY_PENALTY; docs/experiments.md)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)
# A held key moves the notes that tell the modes apart by a semitone, as a change to the parallel
# mode does (C major -> C minor: E -> E-flat, A -> A-flat, B-flat -> B), instead of dropping them
# for whatever the decoder liked next, so melodies keep their shape. Intervals above the tonic:
# the minor mode lowers the major third and sixth and raises the minor seventh to the leading
# tone; the major mode raises the minor third, sixth and seventh.
MODE_MOVES = {True: {4: 3, 9: 8, 10: 11}, False: {3: 4, 8: 9, 10: 11}}
SIXTH, SEVENTH = 9, 10  # semitones above the tonic: the major sixth, the minor seventh
# share of the minor seventh's chance (B-flat over C) that stays where it is instead of moving to
# the leading tone (MODE_MOVES), per held mode (minor: True) and quadrant (Q1..Q4), blended by the
# asked emotion; the seventh is then in the held scale. EMOPIA's tense clips play both about as
# often (0.059 and 0.036 of their notes); moved wholly, tense pieces played B 0.103 and B-flat 0.006
# of the time in C minor and three times EMOPIA's share of diminished and augmented triads. Half
# kept, 200 tense pieces of fresh seeds lay nearer real music (distance 0.55 against 0.65,
# pitch-class profile 0.24 against 0.35 from EMOPIA's), judged tense by the three judges 0.970 /
# 0.925 / 0.835 against 0.965 / 0.915 / 0.870. Happy pieces in C major played B 0.080 and B-flat
# 0.021 (EMOPIA 0.046 and 0.031); half kept, 0.168 against 0.201, judged happy 0.840 / 0.810 /
# 0.915 against 0.810 / 0.835 / 0.860 (on seeds 0-3, 0.81 / 0.80 / 0.86 against 0.90 / 0.78 /
# 0.94). Sad pieces keep none: half kept, the network judged them sad 0.76 against 0.88, at
# distance 0.38 against 0.36; calm pieces' profile was already EMOPIA's (docs/experiments.md)
SEVENTH_KEPT = {True: (0.0, 0.5, 0.0, 0.0), False: (0.5, 0.0, 0.0, 0.0)}
KEY_LOCK_AFTER = 12  # notes a piece plays freely before its key is held
# how far the asked valence tips a held key towards major or minor (correlation units); the prior
# alone barely renders mode, the main cue of valence in music
KEY_MODE_WEIGHT = 0.2
# nats a note outside the held key loses against the decoder's other notes. With the scale alone,
# happy and tense pieces used fewer pitch classes than EMOPIA's (7.4 and 8.1 against 9.0: its
# pianists add chromatic notes); at 3, 600 pieces of fresh seeds were judged in their quadrant
# 0.787 of the time against 0.755, by the two other judges 0.837 / 0.808 against 0.788 / 0.797, and
# lay nearer real music (distance 0.32 against 0.38); 1.5 cost happy pieces (0.68 against 0.80).
# Sad pieces kept to the scale alone until the harmonic minor held their mode: at 3 they were
# judged sad 0.48 against 0.66 with the natural minor, and with the harmonic minor 0.94 against
# 0.955, by the network 0.875 against 0.78, nearer real music (0.375 against 0.455; 8 fresh seeds)
KEY_PENALTY = 3.0
# nats taken off KEY_PENALTY per quadrant (Q1..Q4), blended by the asked emotion. At 3 tense pieces
# used fewer pitch classes than EMOPIA's tense clips (8.3 against 9.0); at 2 they used as many
# (8.95), and 200 tense pieces of seeds 4-11 lay nearer real music (distance 0.40 against 0.49),
# judged tense 0.965 / 0.915 / 0.855 by the three judges against 0.980 / 0.925 / 0.845
KEY_PENALTY_EASED = (0.0, 1.0, 0.0, 0.0)
# logit bonus per unit of |valence| for the notes of the held key's tonic triad near the decoder's
# own choice (decode_step): a clearer tonal centre where a clear emotion is asked. In 4 of 8 tense
# pieces the prior drifted to the relative major of the held minor key (its notes allow it). A
# bonus of 3 took 200 pieces from 0.77 / 0.78 judged in their quadrant (two seeds) to 0.81 / 0.78,
# tense ones from 0.32 / 0.48 to 0.52 / 0.52; 5 (with CALM_VELOCITY_SHARE, pedalled) 400 pieces
# from 0.770 to 0.787, tense ones 0.64 to 0.73, with the triad's share of the notes as in EMOPIA
TRIAD_WEIGHT = 5.0
TRIAD_REACH = 7  # semitones from the decoder's own choice within which triad notes get the bonus
# nats the sixth degree of a held major key (A in C major: the root of its relative minor) loses
# in the decoder's pitch choice, per quadrant (Q1..Q4), blended by the asked emotion. 37 of 300
# happy pieces had drifted to the relative minor within the held scale (the triad bonus favours
# C and E, which A minor shares) and were judged tense or sad. At 2, 300 happy pieces (seeds 0-11)
# were judged happy 0.900 / 0.847 / 0.950 by the three judges against 0.830 / 0.807 / 0.897, at
# distance 0.18 as before; at 1, 0.83 / 0.76 / 0.94 against 0.81 / 0.82 / 0.94 (seeds 4-7)
SIXTH_PENALTY = (2.0, 0.0, 0.0, 0.0)
# share of the emotion guidance the type codes get (note or position, hence texture): at full
# strength happy pieces were denser than EMOPIA's (9.6 vs 8.6 notes/s) and 100 pieces were judged
# in their quadrant 0.70 of the time, against 0.80 at half (both before MAX_HOLDS; shipped: 0.79)
GUIDANCE_SHARE = {"type": 0.5}
# share of the guidances the velocity codes get in calm music (StepDecoder.velocity_share): at 1
# sad and calm pieces were quieter than EMOPIA's (mean velocity 46 and 49 against 56 and 52); at
# 0.5, 50-51 and 52 on four seeds, and 400 pieces nearer real music (distance 0.433 -> 0.423)
CALM_VELOCITY_SHARE = 0.5
# times one position may be held while the codes are behind (decode_step): in 8 tense pieces 94 %
# of holds ended within 4, and a decoder that never asks for a bar line would hold forever
MAX_HOLDS = 4
# notes one position may carry, holds included: no EMOPIA clip has more than 10 (99.9 % at most 7),
# and a prior stuck on note codes once piled 2,568 notes into the first bar of a 16-bar piece. The
# cap changed 43 of 100 pieces of the shipped model, judged 0.86 / 0.83 in their quadrant (seeds
# 0 / 1) against 0.83 / 0.78. Per quadrant (Q1..Q4), blended by the asked emotion and rounded:
# tense pieces' chords were fuller than EMOPIA's (polyphony +0.6 standard deviations, 3.3 notes
# per position against 1.9); at 6, 200 tense pieces of seeds 4-11 lay nearer real music (distance
# 0.36 against 0.40) and were judged tense about as often (0.945 / 0.935 / 0.850 by the three
# judges against 0.965 / 0.915 / 0.855); on seeds 0-3 less often (0.94 / 0.95 / 0.81 against
# 0.98 / 0.97 / 0.84). For happy music 6 gained nothing (docs/experiments.md)
MAX_NOTES_AT_POSITION = (10, 6, 10, 10)
# where the first onset of a sampled piece may fall: in its first beat. EMOPIA's files start
# promptly (first note after a median 0.27 s, 7 % after more than 1 s), but the beat grid of a
# tokenized clip reaches back before its first note (the first bar opens a median 1.6 s before
# it), and the prior learned that: 58 % of 100 pieces stayed silent for more than a second
OPENING_STEPS = STEPS_PER_BEAT
# Where aroused or sad music is asked, the prior's next position is reweighed by EMOPIA's rhythm
# (StepDecoder.reweigh_positions), in proportion to the emotion: the prior's choice, near certain
# once it moves on, is flattened by POSITION_TEMPERATURE and weighed by GROOVE_WEIGHT nats where
# the last bar had an onset and, for aroused music, by the chance of its gap after the last one,
# GAP_WEIGHT strong. The prior alone gave happy and tense pieces onsets more irregular than
# EMOPIA's (gaps between onset groups varied 0.76 / 0.86 against 0.40 / 0.35) and sad pieces a
# loose rhythm (grooving 0.77-0.79 against 0.86). Reweighed, 400 pieces were judged in their
# quadrant 0.877 of the time against 0.787, and lay nearer real music (0.39 against 0.42); with
# the gap table sad pieces got denser than EMOPIA's, and calm ones lost more than they gained
# from the groove (docs/experiments.md)
POSITION_TEMPERATURE = 3.0
GAP_WEIGHT = 1.0
# GROOVE_WEIGHT per quadrant (Q1..Q4), blended by the asked emotion; calm music is not reweighed.
# Tense pieces at 2 repeated their bars' onsets less than EMOPIA's (grooving 0.73 against 0.79);
# at 4 (0.78), 200 tense pieces of seeds 4-11 lay nearer real music (distance 0.49 against 0.55)
# and were judged tense as often. Sad pieces at 4 got sparser (3.2 against 3.8 notes/s) and the
# network judged them sad less often (0.76 against 0.88)
GROOVE_WEIGHT = (2.0, 4.0, 2.0, 2.0)
# lowest and highest pitch of a sampled note per quadrant (Q1..Q4), blended by the asked emotion;
# a note outside moves by octaves into it (StepDecoder.fold_into_register). Happy and sad: the 1st
# and 99th percentiles of EMOPIA train's notes. Happy and sad pieces spanned 60-64 and 53-54
# semitones against EMOPIA's 56 and 47, folded 55-57 and 46-48, and 400 pieces were judged in
# their quadrant 0.892 of the time against 0.877, nearer real music (distance 0.35 against 0.39).
# Tense and calm music keep the decoder's register: folded into their percentiles, tense pieces
# were judged tense less often (0.95 -> 0.82, four seeds) for little distance, and calm ones got
# narrower than EMOPIA's (39-40 against 45 semitones; 44-46 unfolded)
REGISTER = ((30, 92), (21, 108), (34, 92), (21, 108))
# Bars repeat earlier bars of their piece, as EMOPIA's do (docs/experiments.md, "Bars that
# repeat"). A bar from the second to the last but one, with a chance per quadrant (Q1..Q4) blended
# by the asked emotion, replays an earlier bar whole (BAR_REPEAT: its codes, decoded afresh, and
# its steps' types and positions) or only its onset positions (RHYTHM_REPEAT: the prior and the
# decoder choose the notes, and how many at each position). EMOPIA's train bars share half their
# notes (Jaccard > 0.5, a sixteenth grid) with one of the 8 bars before in 10-18 % of bars, and
# their onset positions (Jaccard >= 0.8) in 49-67 % (bench/repetition.py; tracked beats, so lower
# bounds); generated bars did in none and 5-29 %
BAR_REPEAT = (0.13, 0.13, 0.13, 0.13)
RHYTHM_REPEAT = (0.35, 0.55, 0.5, 0.5)
# how many bars back the replayed bar lies, and how often. Of those four bars, an EMOPIA bar that
# shares half its notes with one shares the most with the bar before 17 % of the time, two back
# 26 %, four back 41 %, eight back 17 % (first 80 train clips per quadrant); of its bars whose
# positions match the bar 1, 2 or 4 before, the nearest is the bar before for 71-83 %, two back
# for 14-21 %, four back for 3-7 % (bench/repetition.py)
BAR_LAGS = {1: 0.12, 2: 0.22, 4: 0.45, 8: 0.2}
RHYTHM_LAGS = {1: 0.7, 2: 0.2, 4: 0.1}
REPLAYED_COLUMNS = [COLUMN["type"], COLUMN["beat"]]  # ids a whole bar replays with its codes


@dataclass(frozen=True)
class SamplingSettings:
    """Prior sampling (temperature, top-p, per-element temperature factors and top-p, guidance) and
    decoder settings."""

    temperature: float = 1.0
    top_p: float = 0.9
    element_temperature: dict[str, float] = field(default_factory=dict)
    guidance: float = 1.0  # classifier-free guidance on the prior; 1 = plain conditional
    valence_guidance: float = 0.0  # pushes the prior away from the same arousal with opposite valence
    decoder_temperature: float = 0.0  # 0 = most likely token given the codes
    key_lock: bool = False  # keep notes in the key the piece has set up (generation only)
    repeats: bool = False  # bars replay earlier bars (BAR_REPEAT, RHYTHM_REPEAT; generation only)
    element_top_p: dict[str, float] = field(default_factory=dict)  # per-element top-p, instead of top_p


@dataclass
class SequenceState:
    """Grammar and length bookkeeping of one sequence in the batch."""

    tokens: list = field(default_factory=list)  # content steps, each (8,) ids
    codes: list = field(default_factory=list)  # (G,) code ids per step
    latents: list = field(default_factory=list)  # (112,) latent per step (what the decoder read)
    prev_type: int | None = None
    position: int | None = None
    holds: int = 0  # times the current position was held (decode_step)
    notes_here: int = 0  # notes at the current position, holds included
    bars: int = 0
    tempo: int = 0  # tempo id of the last bar (0 before the first)
    last_onset: int | None = None  # grid unit of the last onset position, counted from the piece's start
    ioi: int = 0  # grid units between the last two onset positions (0 before there are two)
    bar_onsets: set = field(default_factory=set)  # onset positions of the current bar
    last_bar_onsets: set = field(default_factory=set)  # and of the bar before
    pitch_classes: np.ndarray = field(default_factory=lambda: np.zeros(12))  # notes so far per class
    key_pitches: np.ndarray | None = None  # pitch ids of the held key (id 0 too), from the KEY_LOCK_AFTER-th note on
    # pitch ids the held mode moves (mode_moves) and the share of each one's chance kept (move_chances)
    key_moves: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    key_triad: torch.Tensor | None = None  # (pitch vocab,) bool: notes of the held key's tonic triad
    key_sixth: torch.Tensor | None = None  # (pitch vocab,) bool: a held major key's sixth, where SIXTH_PENALTY applies
    bar_lines: list = field(default_factory=list)  # index in tokens of each bar line
    replay: list = field(default_factory=list)  # indices in tokens of the steps still to replay whole
    replay_beats: list = field(default_factory=list)  # beat ids of the positions still to replay, then the bar line
    done: bool = False


class StepDecoder:
    """Runs the prior and the decoder one step at a time for a batch, with caches."""

    def __init__(self, vqvae, prior, vocab: Vocab, emotion: torch.Tensor, window: int,
                 settings: SamplingSettings, generator: torch.Generator, beat_codes: BeatCodes | None = None,
                 gaps: GapModel | None = None) -> None:
        self.vqvae, self.prior, self.vocab = vqvae, prior, vocab
        self.beat_codes = beat_codes
        self.grammar = Grammar(vocab)
        self.emotion = emotion  # (B, 4)
        self.window = window
        self.settings = settings
        self.gen = generator
        self.device = emotion.device
        self.window_start = 0
        self.pitch_of_id = np.array([-99] + [int(v) for v in vocab.values["pitch"]])  # id 0: no pitch
        self.pitch_class_of_id = np.where(self.pitch_of_id >= 0, self.pitch_of_id % 12, 12)
        w = emotion.cpu().numpy()
        self.valence = 2 * (w[:, 0] + w[:, 3]) - 1 if w.sum() else np.zeros(len(w))  # undo the bilinear blend
        self.arousal = arousal = 2 * (w[:, 0] + w[:, 1]) - 1 if w.sum() else np.zeros(len(w))
        # EMOPIA's gaps between onsets for each sequence's emotion (reweigh_positions)
        self.gap_tables = None if gaps is None or prior is None else [gaps.log_probs(row) for row in w]

        # (B, 2) lowest and highest pitch of a sampled note (fold_into_register)
        self.register = np.rint(blend_by_quadrant(w, REGISTER)).astype(int)
        self.sixth_penalty = blend_by_quadrant(w, SIXTH_PENALTY)  # (B,)
        self.groove_weight = blend_by_quadrant(w, GROOVE_WEIGHT)  # (B,)
        self.key_penalty = KEY_PENALTY - blend_by_quadrant(w, KEY_PENALTY_EASED)  # (B,)
        self.seventh_kept = {minor: blend_by_quadrant(w, kept) for minor, kept in SEVENTH_KEPT.items()}  # (B,) each
        # (B, 1) share of both guidances for the velocity codes: CALM_VELOCITY_SHARE for calm
        # music, none from arousal 0.5. With full guidance aroused pieces were louder than EMOPIA's
        # (tense: mean velocity 96 against 73), without any sad ones were (66 against 56); a share
        # of 1 - arousal made pieces at arousal 0.5 louder than at 1 (78 against 73)
        share = CALM_VELOCITY_SHARE * (1 - np.clip(2 * arousal, 0, 1))
        self.velocity_share = torch.from_numpy(share).float()[:, None].to(self.device)
        self.fused = FusedElementHeads.of(vqvae.decoder)  # None: element decoders with attention layers
        # the note cap guards against a prior stuck on note codes; latents of a real piece
        # (decode_latents: reconstruction, transfer) are followed as they are
        self.max_notes_here = (np.rint(blend_by_quadrant(w, MAX_NOTES_AT_POSITION)) if prior is not None
                               else np.full(len(w), math.inf))
        # EMOPIA's tempo moves stand in for the tempo the prior's codes hardly carry; a real
        # piece's latents name their bars' tempi as they are (weighed, reconstruction lost 0.03 F1)
        self.tempo_moves = np.log(TEMPO_MOVES) if prior is not None else np.zeros(len(TEMPO_MOVES))
        repeats = prior is not None and settings.repeats
        # (B,) chance of each kind of repeat (plan_repeat)
        self.bar_repeat, self.rhythm_repeat = ((blend_by_quadrant(w, share) if repeats else np.zeros(len(w)))
                                               for share in (BAR_REPEAT, RHYTHM_REPEAT))
        if prior is not None:
            self.prior_weights = self._prior_condition()
            self.prior_embedding = prior.condition(self.prior_weights)
        self._reset_caches()

    def _reset_caches(self) -> None:
        self.dec_caches = self.vqvae.decoder.new_caches()
        self.prior_caches = self.prior.new_caches() if self.prior is not None else None
        self.pos = 0

    # -- prior ---------------------------------------------------------------------------
    def _prior_condition(self) -> torch.Tensor:
        """(copies * B, 4) emotion weights: the asked emotion, then the contrasts guidance needs
        (the null condition; the asked arousal with the opposite valence)."""
        parts = [self.emotion]
        if self.settings.guidance != 1.0:
            parts.append(torch.zeros_like(self.emotion))
        if self.settings.valence_guidance:
            parts.append(self.emotion[:, FLIP_VALENCE])
        return torch.cat(parts)

    @property
    def copies(self) -> int:
        return 1 + (self.settings.guidance != 1.0) + bool(self.settings.valence_guidance)

    def _prior_hidden(self, prev_codes: torch.Tensor | None, prev_tokens: torch.Tensor | None) -> torch.Tensor:
        if self.pos == 0:
            codes = torch.zeros(len(self.prior_weights), 1, self.prior.groups, dtype=torch.long, device=self.device)
            tokens = None
        else:  # the decoded rows too: a prior that reads only codes leaves them (Prior.embed_inputs)
            codes = prev_codes[:, None].repeat(self.copies, 1, 1)
            tokens = prev_tokens[:, None].repeat(self.copies, 1, 1)
        return self.prior.states(codes, self.prior_weights, self.pos, self.prior_caches, self.prior_embedding,
                                 tokens)[:, -1]

    def reweigh_positions(self, logits: torch.Tensor, states: list[SequenceState]) -> torch.Tensor:
        """The beat codes' logits (B, codebook) with, where aroused or sad music is asked, the
        codes of the later positions in the bar and of the bar line reweighed, in proportion to
        the emotion: flattened by POSITION_TEMPERATURE, weighed by a bonus for the last bar's onset
        positions and, for aroused music, by EMOPIA's chance of each gap after the last one
        (GapModel). Their total probability is kept, so notes against positions stay the prior's
        choice."""
        if self.gap_tables is None or self.beat_codes is None:
            return logits
        value, bar = self.beat_codes.value_of_code, self.grammar.bar
        position = value - bar - 1  # the position each code stands for (negative: none, or the bar line)
        bar_line = value == bar
        weight = np.zeros(logits.shape)
        moves = np.zeros(logits.shape, dtype=bool)
        aroused = np.clip(self.arousal, 0, 1)
        strength = aroused + np.clip(-self.arousal, 0, 1) * np.clip(-self.valence, 0, 1)  # sad: the groove only
        for i, st in enumerate(states):
            if st.last_onset is None or st.done or strength[i] == 0:
                continue
            start = st.bars * STEPS_PER_BAR  # grid unit of the current bar line
            gap = start + position - st.last_onset  # the gap each position code would make
            later = position > (st.position if st.position is not None else -1)
            table = self.gap_tables[i]
            chance = next_gap(table, st.last_onset, st.ioi)[np.clip(gap, 0, MAX_GAP)]
            weight[i] = np.where(later, GAP_WEIGHT * chance, 0.0) if aroused[i] else 0.0
            weight[i] += self.groove_weight[i] * (later & np.isin(position, list(st.last_bar_onsets)))
            if aroused[i]:
                weight[i, bar_line] = GAP_WEIGHT * at_least(table, st.last_onset, st.ioi,
                                                            start + STEPS_PER_BAR - st.last_onset)
            moves[i] = later | bar_line
        if not moves.any():
            return logits
        moves_t = torch.from_numpy(moves).to(logits.device)
        temp = torch.from_numpy(1 + (POSITION_TEMPERATURE - 1) * strength).to(logits)[:, None]
        new = logits / temp + torch.from_numpy(strength[:, None] * weight).to(logits)
        lse_old = logits.masked_fill(~moves_t, float("-inf")).logsumexp(-1, keepdim=True)
        lse_new = new.masked_fill(~moves_t, float("-inf")).logsumexp(-1, keepdim=True)
        return torch.where(moves_t, new - lse_new + lse_old, logits)

    def sample_codes(self, prev_codes: torch.Tensor | None, prev_tokens: torch.Tensor | None = None,
                     states: list[SequenceState] | None = None, forced: torch.Tensor | None = None) -> torch.Tensor:
        """The codes of the next step (B, G) from the previous step's codes and decoded rows;
        `forced` (B, G) gives codes to take instead of sampling (-1: sample that group)."""
        b = self.emotion.shape[0]
        x = self._prior_hidden(prev_codes, prev_tokens).view(self.copies, b, -1)  # copies as in _prior_condition
        chosen: dict[int, torch.Tensor] = {}
        s = self.settings
        for g in self.prior.order:
            parts = self.prior.heads[g](x)
            logits = parts[0]
            element = ELEMENTS[g] if self.prior.groups == len(ELEMENTS) else None
            velocity = element == "velocity"
            if s.guidance != 1.0:
                share = self.velocity_share if velocity else GUIDANCE_SHARE.get(element, 1.0)
                logits = parts[1] + (1 + (s.guidance - 1) * share) * (parts[0] - parts[1])
            if s.valence_guidance:
                share = self.velocity_share if velocity else 1.0
                logits = logits + s.valence_guidance * share * (parts[0] - parts[-1])
            if element == "beat" and states is not None:
                logits = self.reweigh_positions(logits, states)
            temp = s.temperature * s.element_temperature.get(element, 1.0)
            chosen[g] = take_forced(sample(logits, self.gen, temp, s.element_top_p.get(element, s.top_p)), forced, g)
            x = x + self.prior.code_embed[g](chosen[g])  # to every copy, as Prior.group_logits adds them
        return torch.stack([chosen[g] for g in range(self.prior.groups)], dim=-1)  # (B, G)

    # -- decoder -------------------------------------------------------------------------
    def decode_step(self, prev_tokens: torch.Tensor | None, z_step: torch.Tensor,
                    states: list[SequenceState], may_end: list[bool],
                    forced: torch.Tensor | None = None, next_beats: np.ndarray | None = None) -> torch.Tensor:
        """One content step for every sequence from its latent (B, 112); returns (B, 8) ids.
        `forced` (B, 8) gives ids to take instead of sampling (-1: sample that column);
        `next_beats` (B,) the beat id a sequence takes if its step opens a position (-1: sampled)."""
        dec = self.vqvae.decoder
        z = z_step[:, None]  # (B, 1, 112)
        h = dec.emotion(self.emotion)[:, None] if self.pos == 0 else dec.embed(prev_tokens[:, None])
        h = h + dec.pos(torch.tensor([self.pos], device=self.device))
        g = dec.global_states(h, z, self.dec_caches["global"])
        out = torch.zeros(len(states), len(FAMILIES), dtype=torch.long, device=self.device)
        allowed = np.stack([self.grammar.allowed_types(st.prev_type, may_end[i], st.position)
                            for i, st in enumerate(states)])
        allowed[[st.notes_here >= self.max_notes_here[i] for i, st in enumerate(states)], self.grammar.note] = False
        allowed = torch.from_numpy(allowed).to(self.device)
        temp = self.settings.decoder_temperature
        # inside a step: type decides which families apply, then beat decides tempo vs chord
        if self.fused is not None:
            x = self.fused.inputs(g[:, -1], z_step)
            type_logits = self.fused.type_logits(x)
        else:
            type_logits = dec.element_logits("type", g, z, None, self.dec_caches)[:, -1]
        out[:, TYPE_COL] = take_forced(sample(type_logits, self.gen, temp, 0.9, allowed), forced, TYPE_COL)
        if self.fused is not None:
            logits = self.fused.other_logits(x, out[:, TYPE_COL])
        else:
            type_ids = out[:, TYPE_COL:TYPE_COL + 1]
            logits = {e: dec.element_logits(e, g, z, type_ids, self.dec_caches)[:, -1] for e in ELEMENTS if e != "type"}
        beat_allowed = torch.from_numpy(np.stack([
            self.grammar.allowed_beats(st.prev_type, st.position) for st in states])).to(self.device)
        if self.prior is not None:  # a sampled piece opens on its first beat (OPENING_STEPS)
            for i, st in enumerate(states):
                if st.bars == 1 and st.position is None and st.prev_type == self.grammar.metrical:
                    beat_allowed[i, self.grammar.bar] = False
                    beat_allowed[i, self.grammar.bar + 1 + OPENING_STEPS:] = False
        # A bar line only where the decoder asks for one. When it names a position that is not
        # after the current one (the codes are behind the decoded bar), hold the current position:
        # the step's notes join its chord and the codes catch up. Moving on to a later position
        # instead ran ahead of the codes at every such step until the bar was cut short.
        bar = self.grammar.bar
        wanted = logits["beat"].argmax(-1)
        wants_bar = wanted == bar
        later = beat_allowed.clone()
        later[:, bar] = False
        for i, st in enumerate(states):
            if (st.position is not None and st.holds < MAX_HOLDS and not wants_bar[i]
                    and st.notes_here < self.max_notes_here[i]
                    and int(wanted[i]) <= bar + 1 + st.position):
                later[i] = False
                later[i, bar + 1 + st.position] = True
        keep_bar = wants_bar | ~later.any(-1)
        beat_allowed = torch.where(keep_bar[:, None], beat_allowed, later)
        out[:, COLUMN["beat"]] = take_forced(sample(logits["beat"], self.gen, temp, 0.9, beat_allowed),
                                             forced, COLUMN["beat"])
        if next_beats is not None:
            replays = torch.from_numpy(next_beats >= 0).to(self.device) & (out[:, TYPE_COL] == self.grammar.metrical)
            out[replays, COLUMN["beat"]] = torch.from_numpy(next_beats).to(self.device)[replays]
        for family in ("tempo", "chord", "pitch", "duration", "velocity"):
            masks = np.stack([self.grammar.family_mask(family, int(out[i, TYPE_COL]), int(out[i, COLUMN["beat"]]))
                              for i in range(len(states))])
            if family == "pitch" and self.settings.key_lock:
                for i, st in enumerate(states):
                    if st.pitch_classes.sum() >= KEY_LOCK_AFTER and masks[i, 1:].any():
                        if st.key_pitches is None:  # chosen once: re-estimating after a mode change drifts flatwards
                            self.hold_key(st, i)
                        row = logits["pitch"][i]
                        move_chances(row, *st.key_moves)
                        if st.key_sixth is not None:
                            row[st.key_sixth] -= float(self.sixth_penalty[i])
                        if math.isinf(self.key_penalty[i]):
                            masks[i] &= st.key_pitches
                        else:
                            row[~torch.from_numpy(st.key_pitches)] -= float(self.key_penalty[i])
                        own_choice = int(row.masked_fill(~torch.from_numpy(masks[i]), float("-inf")).argmax())
                        if own_choice:  # the triad's notes near it, not an octave away, which widened the range
                            near = np.abs(self.pitch_of_id - self.pitch_of_id[own_choice]) <= TRIAD_REACH
                            row[st.key_triad & torch.from_numpy(near)] += TRIAD_WEIGHT * abs(float(self.valence[i]))
            if family == "tempo":
                for i, st in enumerate(states):
                    if st.tempo and masks[i, 1:].any():  # a bar line after the first: keep the pulse
                        moves = np.abs(np.arange(len(masks[i])) - st.tempo)  # id 0 is masked at a bar line
                        masks[i] &= moves <= TEMPO_STEP
                        logits["tempo"][i] += torch.from_numpy(self.tempo_moves[moves.clip(max=TEMPO_STEP)]).float()
            out[:, COLUMN[family]] = take_forced(sample(logits[family], self.gen, temp, 0.9,
                                                        torch.from_numpy(masks).to(self.device)),
                                                 forced, COLUMN[family])
        metrical = self.grammar.metrical
        out[out[:, TYPE_COL] != metrical, COLUMN["beat"]] = 0
        if self.prior is not None:  # a real piece's latents (reconstruction, transfer) keep their register
            self.fold_into_register(out)
        return out

    def hold_key(self, st: SequenceState, i: int) -> None:
        """Hold sequence i's key from its notes so far (held_key): what its later pitch choices keep
        to (the scale, the mode's moves, the tonic triad, a major key's sixth); its free notes take
        the mode now (a kept seventh as well)."""
        tonic, minor = held_key(st.pitch_classes, float(self.valence[i]))
        kept = float(self.seventh_kept[minor][i])
        scale = scale_of(tonic, minor)
        scale[(tonic + SEVENTH) % 12] |= kept > 0
        st.key_pitches = np.append(scale, True)[self.pitch_class_of_id]
        if not minor and self.sixth_penalty[i]:
            st.key_sixth = torch.from_numpy(self.pitch_class_of_id == (tonic + SIXTH) % 12)
        src, dst = mode_moves(self.vocab.values["pitch"], tonic, minor)
        seventh = (self.pitch_of_id[src] - tonic) % 12 == SEVENTH
        st.key_moves = (torch.from_numpy(src), torch.from_numpy(dst),
                        torch.from_numpy(np.where(seventh, kept, 0.0)).float())
        triad = np.append(tonic_triad(tonic, minor), False)  # id 0 (no pitch) gets none
        st.key_triad = torch.from_numpy(triad[self.pitch_class_of_id])
        move_into_mode(st.tokens, st.key_moves)

    def fold_into_register(self, out: torch.Tensor) -> None:
        """In place: notes outside the asked emotion's register (REGISTER) moved by octaves into it."""
        ids = out[:, COLUMN["pitch"]].cpu().numpy()
        pitch = self.pitch_of_id[ids]
        lo, hi = self.register[:, 0], self.register[:, 1]
        shift = 12 * (np.ceil(np.maximum(lo - pitch, 0) / 12) - np.ceil(np.maximum(pitch - hi, 0) / 12))
        out[:, COLUMN["pitch"]] = torch.from_numpy(np.where(ids > 0, ids + shift, ids).astype(np.int64)).to(out.device)

    def advance(self) -> None:
        self.pos += 1

    def plan_repeat(self, st: SequenceState, i: int, bars: int, rng: np.random.Generator) -> None:
        """At a bar line: whether the bar it opens replays an earlier bar whole (BAR_REPEAT) or its
        onset positions (RHYTHM_REPEAT), and which bar (their lags, among the bars there are). The
        replay ends with the bar line that closed that bar. Neither the first bar nor the last
        (which ends the piece) replays."""
        draws = rng.random((2, 2))  # drawn at every bar line, used or not
        if not 2 <= st.bars < bars:
            return
        for kind, share, lags, (draw, pick) in (("bar", self.bar_repeat, BAR_LAGS, draws[0]),
                                                ("rhythm", self.rhythm_repeat, RHYTHM_LAGS, draws[1])):
            if draw < share[i]:
                there = [lag for lag in lags if lag < st.bars]
                chances = np.cumsum([lags[lag] for lag in there])
                lag = there[int(np.searchsorted(chances, pick * chances[-1], side="right"))]
                steps = range(st.bar_lines[-1 - lag] + 1, st.bar_lines[-lag] + 1)
                if kind == "bar":
                    st.replay = list(steps)
                else:
                    beats = [int(st.tokens[t][COLUMN["beat"]]) for t in steps
                             if st.tokens[t][TYPE_COL] == self.grammar.metrical]
                    st.replay_beats = [b for k, b in enumerate(beats) if k == 0 or b != beats[k - 1]]  # holds once
                return

    def replayed(self, states: list[SequenceState]) -> tuple[torch.Tensor | None, torch.Tensor | None,
                                                            np.ndarray | None]:
        """What this step takes from replayed bars: codes (B, G) and ids (B, 8) of bars replayed
        whole, -1 elsewhere (None if there are none), and the beat id each sequence replaying
        positions takes if it opens a position, -1 elsewhere (None if there are none)."""
        codes = ids = beats = None
        if any(st.replay for st in states):
            codes = np.full((len(states), self.prior.groups), -1, dtype=np.int64)
            ids = np.full((len(states), len(FAMILIES)), -1, dtype=np.int64)
            for i, st in enumerate(states):
                if st.replay and not st.done:
                    step = st.replay.pop(0)
                    codes[i] = st.codes[step]
                    ids[i, REPLAYED_COLUMNS] = st.tokens[step][REPLAYED_COLUMNS]
            codes, ids = torch.from_numpy(codes).to(self.device), torch.from_numpy(ids).to(self.device)
        if any(st.replay_beats for st in states):
            beats = np.array([st.replay_beats[0] if st.replay_beats and not st.done else -1 for st in states])
        return codes, ids, beats

    def reprime(self, states: list[SequenceState], start: int | None = None) -> int:
        """Restart the caches on tokens[start:]; by default slide the window to the last
        half window, cut at a bar line shared by the whole batch."""
        n = len(states[0].tokens)
        tokens = np.stack([np.stack(st.tokens) for st in states])  # (B, n, 8)
        if start is None:
            bar, keep = self.vocab.id_of("beat", "bar"), self.window // 2
            starts = [t for t in range(n - keep, n) if all(tokens[b, t, COLUMN["beat"]] == bar
                                                             and tokens[b, t, TYPE_COL] == self.grammar.metrical
                                                             for b in range(len(states)))]
            start = starts[0] if starts else n - keep
        self.window_start = start
        x = torch.from_numpy(tokens[:, start:]).to(self.device)
        z = torch.from_numpy(np.stack([np.stack(st.latents[start:]) for st in states])).to(self.device)
        self._reset_caches()
        dec = self.vqvae.decoder
        h = dec.inputs(x, self.emotion)
        g = dec.global_states(h, z, self.dec_caches["global"])
        if self.fused is None:  # element decoders with attention layers have caches to fill
            for e in ELEMENTS:
                dec.element_logits(e, g, z, None if e == "type" else x[..., TYPE_COL], self.dec_caches)
        if self.prior is not None:
            c = torch.from_numpy(np.stack([np.stack(st.codes[start:]) for st in states])).to(self.device)
            self.prior.states(c.repeat(self.copies, 1, 1), self.prior_weights, 0, self.prior_caches,
                              self.prior_embedding, x.repeat(self.copies, 1, 1))
        self.pos = x.shape[1]
        return start


def held_key(pitch_classes: np.ndarray, valence: float = 0.0) -> tuple[int, bool]:
    """(tonic, minor) of the Krumhansl-Kessler key that best fits a pitch-class histogram; the
    asked valence tips the mode towards major (positive) or minor (negative)."""
    major, minor = key_correlations(pitch_classes)
    tips = KEY_MODE_WEIGHT * valence
    tonic = int(major.argmax()) if major.max() >= minor.max() else int(minor.argmax())
    # the tip changes the mode on the same tonic (C major -> C minor): the relative key (A minor)
    # has the same notes and would not sound minor
    return tonic, bool(major.max() + tips < minor.max() - tips)


def scale_of(tonic: int, minor: bool) -> np.ndarray:
    """(12,) bool: the pitch classes of a major or minor scale."""
    scale = np.zeros(12, dtype=bool)
    scale[[(tonic + k) % 12 for k in (MINOR_SCALE if minor else MAJOR_SCALE)]] = True
    return scale


def tonic_triad(tonic: int, minor: bool) -> np.ndarray:
    """(12,) bool: the pitch classes of the key's tonic triad (C, E-flat, G in C minor)."""
    triad = np.zeros(12, dtype=bool)
    triad[[tonic, (tonic + (3 if minor else 4)) % 12, (tonic + 7) % 12]] = True
    return triad


def mode_moves(pitch_values: list, tonic: int, minor: bool) -> tuple[np.ndarray, np.ndarray]:
    """(from ids, to ids) of the pitches the held mode moves by a semitone (E -> E-flat in C minor);
    pitch id k is pitch_values[k - 1]. A move whose target is not in the vocabulary is left out."""
    moves = MODE_MOVES[minor]
    id_of = {int(pitch): k for k, pitch in enumerate(pitch_values, start=1)}
    src, dst = [], []
    for pitch, k in id_of.items():
        step = (pitch - tonic) % 12
        target = id_of.get(pitch + moves[step] - step) if step in moves else None
        if target is not None:
            src.append(k)
            dst.append(target)
    return np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)


def move_chances(row: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, kept: torch.Tensor) -> None:
    """In place on one note's logits: each note the held mode moves (mode_moves) gives its chance
    to its target, but for the share `kept` (per move), which stays where it is."""
    row[dst] = torch.logaddexp(row[dst], row[src] + torch.log1p(-kept))
    row[src] = torch.where(kept > 0, row[src] + torch.log(kept), row[src])  # moved wholly: the key's penalty


def move_into_mode(steps: list[np.ndarray], key_moves: tuple[torch.Tensor, ...]) -> None:
    """In place: the notes of `steps` that tell the modes apart, moved as the held mode moves later
    notes (mode_moves: E -> E-flat once C minor is held). Applied to the free notes when the key is
    held, so a piece does not open in the other mode: before, 19-24 % of the first 12 notes of
    happy, sad and calm pieces lay outside the piece's key, after 3-9 %, as in EMOPIA (3-9 %)."""
    moves = dict(zip(key_moves[0].tolist(), key_moves[1].tolist()))
    col = COLUMN["pitch"]
    for row in steps:
        row[col] = moves.get(int(row[col]), row[col])


def into_held_mode(seq: np.ndarray, vocab: Vocab, valence: float) -> np.ndarray:
    """A copy of a token sequence whose notes are moved into the mode their key takes at
    `valence` (held_key, mode_moves), as a sampled piece's notes are once its key is held.
    Element transfer uses it where pitch moves toward a target emotion."""
    out = seq.copy()
    notes = np.nonzero((out[:, TYPE_COL] == vocab.id_of("type", "note")) & (out[:, COLUMN["pitch"]] > 0))[0]
    if not len(notes):
        return out
    pitches = np.array([vocab.value_of("pitch", int(i)) for i in out[notes, COLUMN["pitch"]]], dtype=int)
    tonic, minor = held_key(np.bincount(pitches % 12, minlength=12).astype(float), valence)
    src, dst = mode_moves(vocab.values["pitch"], tonic, minor)
    move_into_mode([out[i] for i in notes], (torch.from_numpy(src), torch.from_numpy(dst)))  # rows are views
    return out


def update_state(st: SequenceState, row: np.ndarray, codes: np.ndarray | None, latent: np.ndarray,
                 grammar: Grammar) -> None:
    st.tokens.append(row)
    st.codes.append(codes)
    st.latents.append(latent)
    kind = int(row[TYPE_COL])
    if kind == grammar.eos:
        st.done = True
        return
    if kind == grammar.metrical:
        beat = int(row[COLUMN["beat"]])
        if beat == grammar.bar:
            st.bars += 1
            st.bar_lines.append(len(st.tokens) - 1)
            st.position = None
            st.last_bar_onsets, st.bar_onsets = st.bar_onsets, set()
            st.notes_here = 0
            st.tempo = int(row[COLUMN["tempo"]]) or st.tempo
        else:
            position = beat - grammar.bar - 1
            st.holds = st.holds + 1 if position == st.position else 0
            st.notes_here = st.notes_here if position == st.position else 0
            st.position = position
            onset = st.bars * STEPS_PER_BAR + position
            if st.last_onset is not None and onset > st.last_onset:
                st.ioi = onset - st.last_onset
            st.last_onset = onset
            st.bar_onsets.add(position)
    elif kind == grammar.note:
        st.notes_here += 1
        pitch = grammar.vocab.value_of("pitch", int(row[COLUMN["pitch"]]))
        if pitch is not None:
            st.pitch_classes[int(pitch) % 12] += 1
    st.prev_type = kind


@torch.inference_mode()
def generate_tokens(vqvae, prior, vocab: Vocab, emotion: torch.Tensor, bars: int, window: int,
                    settings: SamplingSettings, seed: int,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: threading.Event | None = None, use_cache: bool = True,
                    beat_codes: BeatCodes | None = None, gaps: GapModel | None = None) -> list[np.ndarray]:
    """Sample len(emotion) pieces of `bars` bars; returns id arrays (emotion step first, EOS last).

    use_cache=False recomputes the whole context at every step (the reference's way; for benchmarks).
    beat_codes (from the checkpoint) keep the prior's codes in step with the decoded positions.
    """
    gen = torch.Generator(device=emotion.device).manual_seed(seed)
    repeat_rng = np.random.default_rng((seed % 2**64, 1))  # apart, so other draws stay as they were
    n = emotion.shape[0]
    dec = StepDecoder(vqvae, prior, vocab, emotion, window, settings, gen, beat_codes, gaps)
    states = [SequenceState() for _ in range(n)]
    max_steps = bars * 160 + 16
    prev_tokens, prev_codes = None, None
    for _ in range(max_steps):
        if cancel is not None and cancel.is_set():
            raise Cancelled("generation cancelled")
        if dec.pos >= window:
            dec.reprime(states)
        elif not use_cache and dec.pos > 0:
            dec.reprime(states, dec.window_start)
        replay_codes, replay_ids, replay_beats = dec.replayed(states)
        codes = dec.sample_codes(prev_codes, prev_tokens, states, replay_codes)
        z = vqvae.quantizer.lookup(codes)
        rows = dec.decode_step(prev_tokens, z, states, [st.bars >= bars for st in states], replay_ids, replay_beats)
        rows_np, codes_np, z_np = rows.cpu().numpy(), codes.cpu().numpy(), z.cpu().numpy()
        if beat_codes is not None:
            beat_codes.resync(codes_np, rows_np, dec.grammar.metrical)
        for i, st in enumerate(states):
            if st.done:  # keep every sequence as long as the batch (a window slide stacks them)
                update_state(st, st.tokens[-1], st.codes[-1], st.latents[-1], dec.grammar)
                continue
            row = rows_np[i]
            ends_here = _ends_piece(row, st, bars, dec.grammar)
            if ends_here:
                row = np.zeros_like(row)
                row[TYPE_COL] = dec.grammar.eos
            if st.replay_beats and row[TYPE_COL] == dec.grammar.metrical:
                st.replay_beats.pop(0)
            opened = st.bars
            update_state(st, row, codes_np[i], z_np[i], dec.grammar)
            if st.bars > opened:
                dec.plan_repeat(st, i, bars, repeat_rng)
        rows = torch.from_numpy(np.stack([st.tokens[-1] for st in states])).to(emotion.device)
        prev_tokens, prev_codes = rows, torch.from_numpy(np.stack([st.codes[-1] for st in states])).to(emotion.device)
        dec.advance()
        if progress:
            progress(min(*(st.bars for st in states), bars), bars)
        if all(st.done for st in states):
            break
    return [_finish(st, vocab, emotion_row) for st, emotion_row in zip(states, emotion.cpu().numpy())]


def _ends_piece(row: np.ndarray, st: SequenceState, bars: int, grammar: Grammar) -> bool:
    """Stop at the asked length: at the bar after the last one, or past the last bar's first half."""
    if st.bars < bars:
        return False
    if row[TYPE_COL] == grammar.eos:
        return True
    if row[TYPE_COL] != grammar.metrical:
        return False
    beat = int(row[COLUMN["beat"]])
    return beat == grammar.bar or (st.position is not None and beat - grammar.bar - 1 >= HALF_BAR_STEPS)


def _finish(st: SequenceState, vocab: Vocab, emotion_w: np.ndarray) -> np.ndarray:
    head = np.zeros(len(FAMILIES), dtype=np.int64)
    head[TYPE_COL] = vocab.id_of("type", "emotion")
    if emotion_w.sum() > 0:
        head[COLUMN["emotion"]] = int(np.argmax(emotion_w)) + 1
    body = _without_held_positions([t for t in st.tokens if t[TYPE_COL] != vocab.id_of("type", "eos")], vocab)
    eos = np.zeros(len(FAMILIES), dtype=np.int64)
    eos[TYPE_COL] = vocab.id_of("type", "eos")
    return np.stack([head, *body, eos])


def _without_held_positions(steps: list[np.ndarray], vocab: Vocab) -> list[np.ndarray]:
    """Drop position steps that repeat the current position (decode_step holds a position while
    the codes are behind): their notes belong to the position already open."""
    metrical, bar = vocab.id_of("type", "metrical"), vocab.id_of("beat", "bar")
    kept, position = [], None
    for row in steps:
        if row[TYPE_COL] == metrical:
            beat = int(row[COLUMN["beat"]])
            if beat != bar and beat == position:
                continue
            position = None if beat == bar else beat
        kept.append(row)
    return kept


def take_forced(sampled: torch.Tensor, forced: torch.Tensor | None, col: int) -> torch.Tensor:
    """A column's forced ids where given (>= 0), else the sampled ones."""
    return sampled if forced is None else torch.where(forced[:, col] >= 0, forced[:, col], sampled)


@torch.inference_mode()
def decode_latents(vqvae, vocab: Vocab, z: torch.Tensor, emotion: torch.Tensor, window: int,
                   settings: SamplingSettings, seed: int,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None, forced: np.ndarray | None = None) -> list[np.ndarray]:
    """Decode given latent sequences (B, L, 112) step by step under the grammar (reconstruction,
    transfer); `forced` (B, L, 8) holds ids to keep instead of sampling, -1 where sampled."""
    gen = torch.Generator(device=emotion.device).manual_seed(seed)
    dec = StepDecoder(vqvae, None, vocab, emotion, window, settings, gen)
    states = [SequenceState() for _ in range(z.shape[0])]
    prev = None
    length = z.shape[1]
    for t in range(length):
        if cancel is not None and cancel.is_set():
            raise Cancelled("decoding cancelled")
        if dec.pos >= window:
            dec.reprime(states)
        keep = None if forced is None else torch.from_numpy(forced[:, t]).to(emotion.device)
        rows = dec.decode_step(prev, z[:, t], states, [t >= length - 1] * len(states), keep)
        rows_np, z_np = rows.cpu().numpy(), z[:, t].cpu().numpy()
        for i, st in enumerate(states):
            if not st.done:
                update_state(st, rows_np[i], None, z_np[i], dec.grammar)
            else:  # keep the bookkeeping aligned with the latents
                st.tokens.append(st.tokens[-1])
                st.latents.append(z_np[i])
        prev = torch.from_numpy(np.stack([st.tokens[-1] for st in states])).to(emotion.device)
        dec.advance()
        if progress:
            progress(t + 1, length)
    return [_finish(st, vocab, e) for st, e in zip(states, emotion.cpu().numpy())]
