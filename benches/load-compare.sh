#!/usr/bin/env bash
# Side-by-side load benchmark on loopback, in one run: stagegate vs a plain goose program
# with the same scenario vs hey vs wrk — same target (nginx serving a small static file,
# one worker), same concurrency, same duration — then memory per virtual user of
# stagegate at 1,000 and 10,000 users. Prints figures; asserts nothing.
#
#   benches/load-compare.sh [CONCURRENCY] [SECONDS]
#
# Needs (installed when missing, as root): nginx, hey, wrk, time.
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-50}
D=${2:-10}

for pair in hey:hey wrk:wrk; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pair#*:}" >/dev/null; }
done
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

cargo build --release --quiet --bin stagegate --example plain_goose
SG=target/release/stagegate
GOOSE=target/release/examples/plain_goose

work=$(mktemp -d)
# shellcheck source=benches/nginx-target.sh
. benches/nginx-target.sh

ROUNDS=${ROUNDS:-3}
echo "target: nginx static file at $URL; concurrency $C; duration ${D}s; $ROUNDS interleaved rounds (median shown)"
# Rounds interleave the tools so a burst of background load hits them all alike.
: > "$work/results"
for round in $(seq "$ROUNDS"); do
  sg=$("$SG" load "$URL" --users "$C" --duration "${D}s" --output json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rps"],1))')
  goose=$("$GOOSE" "$URL" "$C" "$D" 2>/dev/null | awk '/requests_per_second/ {print $2}')
  hey_rps=$(hey -z "${D}s" -c "$C" "$URL" | awk '/Requests\/sec/ {print $2}')
  wrk_rps=$(wrk -t2 -c "$C" -d "${D}s" "$URL" | awk '/Requests\/sec/ {print $2}')
  echo "round $round: stagegate $sg, plain goose $goose, hey $hey_rps, wrk $wrk_rps"
  echo "$sg $goose $hey_rps $wrk_rps" >> "$work/results"
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
sg, goose, hey, wrk = (statistics.median(col) for col in zip(*rows))
print(f"\n{'tool':<14}{'requests/s (median)':>22}")
for name, v in [("stagegate", sg), ("plain goose", goose), ("hey", hey), ("wrk", wrk)]:
    print(f"{name:<14}{v:>22.1f}")
print(f"\nstagegate / plain goose = {sg/goose:.3f}x   (target >= 1.0x)")
print(f"stagegate / hey         = {sg/hey:.3f}x")
print(f"stagegate / wrk         = {sg/wrk:.3f}x")
PY

echo
# Timing accuracy, as figures (the tests keep only the hard bounds, which hold on a
# loaded machine): how closely a target rate is held against a server that keeps up.
echo "target rate held (stagegate load --rate 1000, 50 users, ${D}s):"
"$SG" load "$URL" --users 50 --duration "${D}s" --rate 1000 --output json 2>/dev/null > "$work/rate.json" || true
python3 - "$work/rate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["rate"]
print(f"  target {r['target_rps']:.0f}/s, achieved {r['achieved_rps']:.1f}/s, shortfall {r['shortfall']*100:.2f}%   (target: within 5%)")
PY

echo
echo "memory per virtual user (stagegate load, shared client, 20 s ramp + 10 s hold):"
rss() {
  /usr/bin/time -f '%M' -o "$work/rss" "$SG" load "$URL" --users "$1" --ramp-up 20s --duration 10s --output json >/dev/null 2>&1 || true
  cat "$work/rss"
}
r1=$(rss 1000)
r10=$(rss 10000)
python3 - "$r1" "$r10" <<'PY'
import sys
r1, r10 = map(int, sys.argv[1:])
print(f"  1,000 users: max RSS {r1/1024:.1f} MiB")
print(f" 10,000 users: max RSS {r10/1024:.1f} MiB   (target: within 2 GiB)")
print(f"  per user (difference / 9,000): {(r10-r1)/9000:.1f} KiB")
PY
