#!/usr/bin/env python3
"""weir replay output (NDJSON lines {"topic": "scores", "payload": {"timestamp", "score"}})
-> timestamp,score CSV with one row per input row, in input order.

usage: ndjson_to_csv.py NDJSON INPUT_CSV OUT_CSV
Rows are matched by position; a missing or non-numeric score is written as 0 and counted.
The timestamp is written as in the input CSV, so the scorer can match it exactly."""
import csv
import json
import sys


def main() -> int:
    nd_path, in_path, out_path = sys.argv[1:4]
    scores = []
    with open(nd_path) as nd:
        for line in nd:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line)
            if msg.get("topic") != "scores":
                continue
            s = msg.get("payload", {}).get("score")
            scores.append(float(s) if isinstance(s, (int, float)) else None)
    with open(in_path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    missing = 0
    with open(out_path, "w") as out:
        out.write("timestamp,score\n")
        for i, row in enumerate(rows):
            s = scores[i] if i < len(scores) else None
            if s is None:
                missing += 1
                s = 0.0
            out.write(f"{row[0]},{s!r}\n")
    if missing or len(scores) != len(rows):
        print(f"{in_path}: {len(scores)} scores for {len(rows)} rows ({missing} missing)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
