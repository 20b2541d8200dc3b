"""Pool the classifier's verdicts of several `muser evaluate` reports (say, one per seed) and
give each share with its 95 % interval: 100 pieces are too few to rank settings (docs/history.md).

    for s in 0 1 2 3; do muser evaluate runs/s$s --generate 25 --bars 16 --seed $s --data DATA; done
    python bench/pooled_verdicts.py runs/s0 runs/s1 runs/s2 runs/s3
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musER.evaluate import verdict_hits, wilson_interval


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", help="folders evaluated by `muser evaluate` (DIR/evaluation/pieces.csv)")
    args = ap.parse_args()
    hits = {"quadrant": 0, "arousal": 0, "valence": 0}
    n = 0
    for folder in args.dirs:
        with (Path(folder) / "evaluation" / "pieces.csv").open() as fh:
            for row in csv.DictReader(fh):
                hit = verdict_hits(row)
                if hit is None:
                    continue
                n += 1
                for name, h in zip(hits, hit):
                    hits[name] += h
    if not n:
        sys.exit("no judged pieces with an asked quadrant in these reports")
    print(f"{n} pieces from {len(args.dirs)} reports")
    for name, h in hits.items():
        low, high = wilson_interval(h, n)
        print(f"{name}: {h / n:.3f} (95 % interval {low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
