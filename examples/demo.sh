#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds weir, starts a local
# mosquitto on 127.0.0.1, the simulator and weir with config/weir.json, and shows the
# aggregates, alerts and dead letters as they arrive. Stops by itself after DEMO_SECONDS
# (default 60) or on Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/tests/install_deps.sh"
build="$root/build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEIR_BUILD_TESTS=OFF -DWEIR_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target weir weir-sim
seconds="${DEMO_SECONDS:-60}"
port="${DEMO_PORT:-1883}"
work="$(mktemp -d)"
pids=()
# Stop in reverse order of start: weir before the broker it talks to.
cleanup() {
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is taken (another broker?); run with DEMO_PORT=18830" >&2; exit 1
fi
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 0
max_inflight_messages 1000
CONF
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

sed "s/\"port\": 1883/\"port\": $port/" "$root/config/weir.json" > "$work/weir.json"
"$build/src/app/weir" check -c "$work/weir.json"
mosquitto_sub -h 127.0.0.1 -p "$port" -v -t 'agg/#' -t 'alerts/#' -t 'weir/dlq/#' & pids+=($!)
"$build/src/app/weir" run -c "$work/weir.json" & pids+=($!)
sleep 1
echo "== weir-sim: 20 devices, 5 readings/s each, anomalies and 1% malformed payloads, for ${seconds}s =="
"$build/src/sim/weir-sim" --port "$port" --devices 20 --rate 5 --duration "$seconds" \
  --anomaly-rate 0.002 --malformed 0.01 --quiet || true
sleep 3
echo "== demo finished =="
