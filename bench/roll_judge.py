"""A judge that reads piano rolls, not our note features: a small convolutional network trained
here on EMOPIA's train clips, which judges generated pieces and measures how far they lie from
real music of their quadrant in its own embedding. A check that our figures do not hang on the
features the shipped judges share.

    python bench/roll_judge.py --data ../shared/data/emopia DIR [DIR ...]

DIR: folders of pieces with Q1..Q4 name prefixes or a manifest.csv (as `muser evaluate
--generate` writes them). Prints the network's quadrant accuracy on EMOPIA val (the clips are
never seen in training), on the pieces per asked quadrant, and per quadrant the distance between
the embeddings of the pieces and of EMOPIA's val clips (diagonal Frechet distance); the clips of a fifth
of the train songs, held out of training, give the distance of real music to real music.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from torch import nn

from musER.data import data_dir, quadrant_of, split_files
from musER.emotion_classifier import QUADRANTS, song_of
from musER.errors import MusERError
from musER.evaluate import asked_pieces
from musER.midi_io import read_midi

FPS = 10  # frames per second
LOW, PITCHES = 21, 88  # the piano's keys
CROP = 128  # frames per excerpt (12.8 s)


def piano_roll(notes: np.ndarray) -> np.ndarray:
    """(88, frames) of velocity / 127 while each key sounds."""
    frames = max(int(np.ceil(notes[:, 1].max() * FPS)) + 1, CROP) if len(notes) else CROP
    roll = np.zeros((PITCHES, frames), dtype=np.float32)
    for on, off, pitch, vel in notes:
        key = int(pitch) - LOW
        if 0 <= key < PITCHES:
            a = int(on * FPS)
            roll[key, a:max(int(off * FPS), a + 1)] = vel / 127
    return roll


def crops(roll: np.ndarray) -> np.ndarray:
    """Consecutive excerpts covering the roll (the last one ends with it)."""
    starts = sorted({*range(0, roll.shape[1] - CROP + 1, CROP), roll.shape[1] - CROP})
    return np.stack([roll[:, s:s + CROP] for s in starts])


class RollNet(nn.Module):
    def __init__(self, width: int = 64, embed: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(PITCHES, width, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(width, width, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(width, embed, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(embed, len(QUADRANTS))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def train(rolls: list[np.ndarray], labels: np.ndarray, epochs: int = 60, seed: int = 0) -> RollNet:
    """One random excerpt per clip and epoch, moved by up to two semitones."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = RollNet()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-2)
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(rolls)), max(len(rolls) // 32, 1)):
            x = []
            for i in batch:
                roll = rolls[i]
                s = rng.integers(0, roll.shape[1] - CROP + 1)
                x.append(np.roll(roll[:, s:s + CROP], rng.integers(-2, 3), axis=0))
            loss = nn.functional.cross_entropy(net(torch.from_numpy(np.stack(x))), torch.from_numpy(labels[batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def judge(net: RollNet, rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(quadrant probabilities, embeddings), each averaged over a piece's excerpts."""
    probs, embeddings = [], []
    for roll in rolls:
        e = net.embed(torch.from_numpy(crops(roll)))
        probs.append(net.head(e).softmax(-1).mean(0).numpy())
        embeddings.append(e.mean(0).numpy())
    return np.array(probs), np.array(embeddings)


def frechet_diagonal(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians with diagonal covariances (few real clips per quadrant)."""
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + ((a.std(0) - b.std(0)) ** 2).sum())


def clip_rolls(root: Path, split: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Rolls, quadrant labels and song names of a split's clips."""
    files = split_files(root, split)
    return ([piano_roll(read_midi(f).notes) for f in files],
            np.array([QUADRANTS.index(quadrant_of(f.name)) for f in files]), np.array([song_of(f.name) for f in files]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--nets", type=int, default=5, help="networks in the ensemble (training seeds)")
    ap.add_argument("--seed", type=int, default=0, help="the first network's training seed")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    root = data_dir(args.data)
    rolls, labels, songs = clip_rolls(root, "train")
    val_rolls, val_labels, _ = clip_rolls(root, "val")
    # a fifth of the train songs held out of training, as val's songs are
    held_songs = np.random.default_rng(0).permutation(np.unique(songs))[: len(np.unique(songs)) // 5]
    held = np.nonzero(np.isin(songs, held_songs))[0]
    fit = np.nonzero(~np.isin(songs, held_songs))[0]
    try:
        pairs = [(piece, q) for piece, q in asked_pieces(args.dirs) if piece.n_notes]
    except MusERError as exc:
        sys.exit(str(exc))
    gen_rolls = [piano_roll(piece.notes) for piece, _ in pairs]
    asked = np.array([QUADRANTS.index(q) for _, q in pairs])
    k_all = range(len(QUADRANTS))
    probs, val_probs, gen_d, real_d = 0, 0, [], []
    for seed in range(args.seed, args.seed + args.nets):  # an ensemble: one network's verdicts hang on its seed
        net = train([rolls[i] for i in fit], labels[fit], args.epochs, seed)
        p_val, e_val = judge(net, val_rolls)
        _, e_held = judge(net, [rolls[i] for i in held])
        p_gen, e_gen = judge(net, gen_rolls)
        probs, val_probs = probs + p_gen, val_probs + p_val
        # embeddings in standard deviations of the val clips', so that the networks' distances are comparable
        mu, sd = e_val.mean(0), e_val.std(0) + 1e-6
        e_val, e_held, e_gen = (e_val - mu) / sd, (e_held - mu) / sd, (e_gen - mu) / sd
        gen_d.append([frechet_diagonal(e_gen[asked == k], e_val[val_labels == k]) if (asked == k).any() else np.nan
                      for k in k_all])
        real_d.append([frechet_diagonal(e_held[labels[held] == k], e_val[val_labels == k]) for k in k_all])
    verdict, val_verdict = probs.argmax(1), val_probs.argmax(1)
    gen_d, real_d = np.nanmean(gen_d, 0), np.mean(real_d, 0)
    print(f"| piano-roll networks ({args.nets}) | EMOPIA val (n={len(val_labels)}) | pieces (n={len(asked)}) | "
          + " | ".join(f"asked {q}" for q in QUADRANTS) + " |")
    print("|---|---|---|" + "---|" * len(QUADRANTS))
    per = " | ".join(f"{(verdict[asked == k] == k).mean():.2f}" if (asked == k).any() else "-" for k in k_all)
    print(f"| quadrant accuracy | {(val_verdict == val_labels).mean():.3f} | {(verdict == asked).mean():.3f} | {per} |")
    print(f"| distance to val, pieces | | {np.nanmean(gen_d):.2f} | " + " | ".join(f"{d:.2f}" for d in gen_d) + " |")
    print(f"| distance to val, held-out train clips | | {np.mean(real_d):.2f} | "
          + " | ".join(f"{d:.2f}" for d in real_d) + " |")

if __name__ == "__main__":
    main()
