#!/usr/bin/env bash
# Scores weir's auto detector on NAB: replays every CSV named in DATA_DIR/windows.json
# through bench/nab/auto.json, turns the emitted {"topic":"scores","payload":{...}} lines
# into OUT_DIR/<same path> as timestamp,score CSVs, then prints nab_score's table.
#
#   bench/nab/run.sh DATA_DIR OUT_DIR        (WEIR_BUILD: build dir, default build-rel)
#   bench/nab/run.sh --convert-only DATA_DIR OUT_DIR NDJSON_DIR
#       skips weir: converts NDJSON_DIR/<file>.ndjson files that already exist.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
convert_only=0
if [[ "${1:-}" == "--convert-only" ]]; then convert_only=1; shift; fi
if [[ $# -lt 2 ]]; then
  echo "usage: $0 [--convert-only] DATA_DIR OUT_DIR [NDJSON_DIR]" >&2
  exit 2
fi
data="$(cd "$1" && pwd)"
mkdir -p "$2"
out="$(cd "$2" && pwd)"
build="${WEIR_BUILD:-build-rel}"
[[ "$build" = /* ]] || build="$root/$build"
weir="$build/src/app/weir"
nab_score="$build/bench/nab_score"
ndjson_dir="${3:-$out/ndjson}"
mkdir -p "$ndjson_dir"

mapfile -t files < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' \
  "$data/windows.json")
for f in "${files[@]}"; do
  nd="$ndjson_dir/${f//\//__}.ndjson"
  if [[ $convert_only -eq 0 ]]; then
    "$weir" replay -c "$here/auto.json" -i "$data/$f" --topic nab > "$nd"
  fi
  mkdir -p "$(dirname "$out/$f")"
  python3 "$here/ndjson_to_csv.py" "$nd" "$data/$f" "$out/$f"
done
"$nab_score" --data "$data" --results "$out" ${NAB_VERBOSE:+--verbose}
