"""Pool the classifier's verdicts of several `muser evaluate` reports (say, one per seed) and
give each share with its 95 % interval: 100 pieces are too few to rank settings (README).

    for s in 0 1 2 3; do muser evaluate runs/s$s --generate 25 --bars 16 --seed $s --data DATA; done
    python bench/pooled_verdicts.py runs/s0 runs/s1 runs/s2 runs/s3
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musER.elements import Quadrant
from musER.evaluate import wilson_interval

QUADRANTS = [q.name for q in Quadrant]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", help="folders evaluated by `muser evaluate` (DIR/evaluation/pieces.csv)")
    args = ap.parse_args()
    hits = {"quadrant": 0, "arousal": 0, "valence": 0}
    n = 0
    for folder in args.dirs:
        with (Path(folder) / "evaluation" / "pieces.csv").open() as fh:
            for row in csv.DictReader(fh):
                if row.get("quadrant") not in QUADRANTS or not row.get("judged_quadrant"):
                    continue
                k = QUADRANTS.index(row["quadrant"])
                n += 1
                hits["quadrant"] += row["judged_quadrant"] == row["quadrant"]
                hits["arousal"] += (row["judged_arousal_high"] == "True") == (k in (0, 1))
                hits["valence"] += (row["judged_valence_high"] == "True") == (k in (0, 3))
    if not n:
        sys.exit("no judged pieces with an asked quadrant in these reports")
    print(f"{n} pieces from {len(args.dirs)} reports")
    for name, h in hits.items():
        low, high = wilson_interval(h, n)
        print(f"{name}: {h / n:.3f} (95 % interval {low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
