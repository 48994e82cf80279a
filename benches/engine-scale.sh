#!/usr/bin/env bash
# The per-worker engine at scale (issue 16), on loopback against one nginx worker, in one
# run. Prints figures; asserts nothing.
#   1. requests/s of one stagegate engine (`stagegate load`, what each worker runs) and
#      of a plain goose program with the same scenario, interleaved rounds: the ratio;
#   2. requests/s of `run --shards N --launcher local` for N = 1, 2, 4 (each worker
#      with the same users, so the total grows with N), and per worker;
#   3. peak memory (max RSS) of one engine with 10,000 and 50,000 thinking users, at this
#      process's own descriptor limit (`ulimit -n`, 20,000 on the project's machines).
#
#   benches/engine-scale.sh [USERS_PER_WORKER] [SECONDS]
#   ROUNDS=3 THINK=5s benches/engine-scale.sh 50 10
#
# Needs (installed when missing, as root): nginx, time.
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-50}
D=${2:-10}
ROUNDS=${ROUNDS:-3}
THINK=${THINK:-5s}
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

cargo build --release --quiet --bin stagegate --example plain_goose
SG=$PWD/target/release/stagegate
GOOSE=$PWD/target/release/examples/plain_goose

work=$(mktemp -d)
# shellcheck source=benches/nginx-target.sh
. benches/nginx-target.sh
echo "machine: $(nproc) cores, ulimit -n $(ulimit -n); target: nginx (1 worker) at $URL"

echo
echo "1. one engine against plain goose: $C users, ${D}s, $ROUNDS interleaved rounds (median)"
: > "$work/ratio"
for round in $(seq "$ROUNDS"); do
  sg=$("$SG" load "$URL" --users "$C" --duration "${D}s" --output json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rps"],1))')
  goose=$("$GOOSE" "$URL" "$C" "$D" 2>/dev/null | awk '/requests_per_second/ {print $2}')
  echo "   round $round: stagegate $sg/s, plain goose $goose/s"
  echo "$sg $goose" >> "$work/ratio"
done
python3 - "$work/ratio" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
sg, goose = (statistics.median(c) for c in zip(*rows))
print(f"   median: stagegate {sg:.1f}/s, plain goose {goose:.1f}/s, ratio {sg/goose:.3f}x (target >= 1.0x)")
PY

echo
echo "2. local workers (run --shards N --launcher local), $C users per worker, ${D}s"
proj="$work/project"
"$SG" --root "$proj" init bench >/dev/null
python3 - "$proj" "$BASE" "$C" "$D" <<'PY'
import pathlib, re, sys
proj, base, users, seconds = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
env = proj / "environments/test.toml"
text = env.read_text().replace("http://127.0.0.1:18080", base)
# The benchmark asks for more than the example's limits: lift them for this target only.
text = re.sub(r"max-rps = \d+", "max-rps = 10000000", text)
text = re.sub(r"max-users = \d+", "max-users = 100000", text)
env.write_text(text)
(proj / "scenarios/bench/bench-load.toml").write_text('''version = 1
kind = "load"
description = "One GET of a small static file"

[[transactions]]
name = "get"

[[transactions.steps]]
name = "index"
method = "GET"
path = "/index.html"
checks = [{ kind = "status", equals = 200 }]
''')
rollout = proj / "scenarios/bench/rollout.toml"
text = rollout.read_text()
head, sep, rest = text.partition("[stages.real-test]")
head = re.sub(r'suites = \[[^\]]*\]', 'suites = ["bench-load"]', head, count=1)
head = re.sub(r'traffic = \{[^}]*\}', 'traffic = { users = USERS, ramp-up = "0s", duration = "SECONDSs" }'.replace("SECONDS", seconds), head, count=1)
head = re.sub(r'  \{ metric = "security-[a-z]+".*\n', '', head)
rollout.write_text(head + sep + rest)
PY
: > "$work/workers"
for n in 1 2 4; do
  sed -i "0,/users = [0-9A-Z]*/s//users = $((C * n))/" "$proj/scenarios/bench/rollout.toml"
  "$SG" --root "$proj" --ledger "$work/ledger-$n.db" run bench --release 1.0.0 --stage trial-test \
    --key "$proj/.stagegate/keys/qa.tester" --shards "$n" --launcher local \
    --out "$work/runs-$n" --output json >/dev/null 2>"$work/run-$n.err" || true
  summary=$(find "$work/runs-$n" -name summary.json | head -1)
  if [ -z "$summary" ]; then echo "   $n worker(s): no summary ($(tail -1 "$work/run-$n.err"))"; continue; fi
  python3 - "$summary" "$n" <<'PY' | tee -a "$work/workers"
import json, sys
m = json.load(open(sys.argv[1]))["measurements"]
n = int(sys.argv[2])
rps = m["requests"] / m["duration_s"] if m["duration_s"] else 0.0
print(f"   {n} worker(s): {m['requests']} requests, {m['errors']} errors, {rps:.1f}/s in all, {rps/n:.1f}/s per worker")
PY
done

echo
echo "3. peak memory of one engine with thinking users (think time $THINK, 20 s ramp-up, 20 s hold)"
for users in 10000 50000; do
  /usr/bin/time -f '%M' -o "$work/rss" "$SG" load "$URL" --users "$users" --think-time "$THINK" \
    --ramp-up 20s --duration 20s --output json > "$work/mem.json" 2>"$work/mem.err" || true
  python3 - "$work/mem.json" "$(tail -1 "$work/rss")" "$users" "$work/mem.err" <<'PY'
import json, sys
users, rss_kib = int(sys.argv[3]), int(sys.argv[2])
try:
    s = json.load(open(sys.argv[1]))
    extra = f"{s['requests']} requests ({s['rps']:.0f}/s), {s['errors']} errors"
except Exception:
    extra = "no summary: " + open(sys.argv[4]).read().strip().splitlines()[-1:][0]
print(f"   {users:>6} users: max RSS {rss_kib/1024:.0f} MiB ({rss_kib/users:.1f} KiB per user); {extra}   (target: within 2048 MiB)")
PY
done
