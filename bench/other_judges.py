"""Generated pieces judged by two other emotion classifiers, a random forest and a small neural
network, trained on the same note features of EMOPIA's train split as the shipped (linear) judge:
a check that a verdict does not hang on one model's reading of the features.

    python bench/other_judges.py --data ../shared/data/emopia DIR [DIR ...]

DIR: folders of pieces with Q1..Q4 name prefixes or a manifest.csv (as `muser evaluate
--generate` writes them). Prints each judge's quadrant accuracy on EMOPIA val and on the pieces,
per asked quadrant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from musER.data import data_dir
from musER.emotion_classifier import QUADRANTS, note_features, split_features
from musER.errors import MusERError
from musER.evaluate import asked_pieces


def judges() -> dict:
    return {"random forest": RandomForestClassifier(500, min_samples_leaf=3, random_state=0),
            "neural network": make_pipeline(StandardScaler(),
                                            MLPClassifier((64,), alpha=1.0, max_iter=2000, random_state=0))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA)")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    root = data_dir(args.data)
    x_train, y_train, _ = split_features(root, "train")
    x_val, y_val, _ = split_features(root, "val")
    try:
        pairs = asked_pieces(args.dirs)
    except MusERError as exc:
        sys.exit(str(exc))
    x = np.array([note_features(piece.notes) for piece, _ in pairs])
    asked = np.array([QUADRANTS.index(q) for _, q in pairs])
    print(f"| judge | EMOPIA val (n={len(y_val)}) | pieces (n={len(asked)}) | "
          + " | ".join(f"asked {q}" for q in QUADRANTS) + " |")
    print("|---|---|---|" + "---|" * len(QUADRANTS))
    for name, judge in judges().items():
        judge.fit(x_train, y_train)
        verdict = judge.predict(x)
        per = " | ".join(f"{(verdict[asked == k] == k).mean():.2f}" if (asked == k).any() else "-"
                         for k in range(len(QUADRANTS)))  # "-": no piece asked for that quadrant
        print(f"| {name} | {(judge.predict(x_val) == y_val).mean():.3f} | {(verdict == asked).mean():.3f} | {per} |")


if __name__ == "__main__":
    main()
