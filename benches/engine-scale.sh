#!/usr/bin/env bash
# The per-worker engine at scale (issue 16), on loopback against one nginx worker, in one
# run. Prints figures; asserts nothing.
#   1. requests/s of one stagegate engine (`stagegate load`, what each worker runs) and
#      of a plain goose program with the same scenario, interleaved rounds: the ratio.
#      Both are counted the same way: the requests nginx answered while the program ran
#      (its stub_status counter), over the program's wall time, start-up and shutdown
#      included; each program's own figure is shown beside it;
#   2. requests/s of `run --shards N --launcher local` for N = 1, 2, 4 (each worker
#      with the same users, so the total grows with N), and per worker;
#   3. peak memory (max RSS) of one engine with 10,000 and 50,000 thinking users, at this
#      process's own descriptor limit (`ulimit -n`, 20,000 on the project's machines).
#
#   benches/engine-scale.sh [USERS_PER_WORKER] [SECONDS]
#   ROUNDS=3 THINK=5s benches/engine-scale.sh 50 10
#   PROFILE=release (default) builds and runs target/$PROFILE; SECTIONS="1 2 3" picks.
#
# Needs (installed when missing, as root): nginx, time.
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-50}
D=${2:-10}
ROUNDS=${ROUNDS:-3}
THINK=${THINK:-5s}
PROFILE=${PROFILE:-release}
SECTIONS=${SECTIONS:-1 2 3}
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

# stagegate and the plain goose program are always built with the same profile.
cargo build --profile "$PROFILE" --locked --quiet --bin stagegate --example plain_goose
dir=$PROFILE
[ "$PROFILE" = dev ] && dir=debug
SG=$PWD/target/$dir/stagegate
GOOSE=$PWD/target/$dir/examples/plain_goose

work=$(mktemp -d)
# shellcheck source=benches/nginx-target.sh
. benches/nginx-target.sh
echo "machine: $(nproc) cores, ulimit -n $(ulimit -n), local ports $(tr '\t' - < /proc/sys/net/ipv4/ip_local_port_range); build: $PROFILE; target: nginx (1 worker) at $URL"
echo "load: $(uptime)"

# Requests nginx has answered so far (stub_status; this request itself included).
served() {
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode().splitlines()[2].split()[2])' "$BASE/nginx_status"
}
now() { date +%s.%N; }

section() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if section 1; then
echo
echo "1. one engine against plain goose: $C users, ${D}s, $ROUNDS interleaved rounds (median)"
: > "$work/ratio"
# One program's run: "<requests nginx answered>/<wall seconds> <its own figure> <CPU µs per
# request>". The CPU time (user + system, from /usr/bin/time) per request answered is the
# engine's cost, which the machine's other work does not change much, unlike its share.
measure() {
  local before after t0 t1 own
  before=$(served); t0=$(now)
  case $1 in
    stagegate) own=$(/usr/bin/time -f '%U %S' -o "$work/cpu" "$SG" load "$URL" --users "$C" --duration "${D}s" --output json 2>"$work/sg.err" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rps"],1))') ;;
    goose) own=$(/usr/bin/time -f '%U %S' -o "$work/cpu" "$GOOSE" "$URL" "$C" "$D" 2>"$work/goose.err" | awk '/requests_per_second/ {print $2}') ;;
  esac
  t1=$(now); after=$(served)
  python3 -c 'import sys; b,a,t0,t1=map(float,sys.argv[1:5]); u,s=map(float,open(sys.argv[6]).read().split()[-2:]); print(f"{(a-b-1)/(t1-t0):.1f} {sys.argv[5]} {(u+s)*1e6/max(a-b-1,1):.1f}")' "$before" "$after" "$t0" "$t1" "$own" "$work/cpu"
}
for round in $(seq "$ROUNDS"); do
  # Who goes first alternates, so a drift in the machine's load favours neither.
  if [ $((round % 2)) = 1 ]; then sg=$(measure stagegate); goose=$(measure goose)
  else goose=$(measure goose); sg=$(measure stagegate); fi
  read -r sg_rps sg_own sg_cpu <<< "$sg"
  read -r goose_rps goose_own goose_cpu <<< "$goose"
  echo "   round $round: stagegate ${sg_rps}/s (own figure ${sg_own}/s, ${sg_cpu} µs CPU/request), plain goose ${goose_rps}/s (own figure ${goose_own}/s, ${goose_cpu} µs CPU/request)   [load $(cut -d' ' -f1-3 /proc/loadavg)]"
  echo "$sg_rps $goose_rps $sg_own $goose_own $sg_cpu $goose_cpu" >> "$work/ratio"
done
python3 - "$work/ratio" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
sg, goose, sg_own, goose_own, sg_cpu, goose_cpu = (statistics.median(c) for c in zip(*rows))
ratios = sorted(r[0] / r[1] for r in rows)
print(f"   median, counted by nginx over wall time: stagegate {sg:.1f}/s, plain goose {goose:.1f}/s, ratio {sg/goose:.3f}x (target >= 1.0x); per-round ratios {', '.join(f'{r:.2f}' for r in ratios)}")
print(f"   median, each program's own figure:       stagegate {sg_own:.1f}/s, plain goose {goose_own:.1f}/s, ratio {sg_own/goose_own:.3f}x")
print(f"   median CPU time per request:             stagegate {sg_cpu:.1f} µs, plain goose {goose_cpu:.1f} µs, goose/stagegate {goose_cpu/sg_cpu:.3f}x")
PY
echo "   load: $(uptime)"
fi

if section 2; then
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
# No rate cap at all (a cap, however high, would run goose's throttle on every request,
# which `stagegate load` in section 1 does not).
text = re.sub(r"max-rps = \d+\n", "", text)
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
for n in 1 2 4; do
  sed -i "0,/users = [0-9A-Z]*/s//users = $((C * n))/" "$proj/scenarios/bench/rollout.toml"
  before=$(served); t0=$(now)
  code=0
  "$SG" --root "$proj" --ledger "$work/ledger-$n.db" run bench --release 1.0.0 --stage trial-test \
    --key "$proj/.stagegate/keys/qa.tester" --shards "$n" --launcher local \
    --out "$work/runs-$n" --output json >/dev/null 2>"$work/run-$n.err" || code=$?
  t1=$(now); after=$(served)
  summary=$(find "$work/runs-$n" -name summary.json 2>/dev/null | head -1 || true)
  if [ -z "$summary" ]; then echo "   $n worker(s): exit $code, no summary ($(tail -3 "$work/run-$n.err" | tr '\n' ' '))"; continue; fi
  python3 - "$summary" "$n" "$code" "$before" "$after" "$t0" "$t1" <<'PY' | tee -a "$work/workers"
import json, sys
m = json.load(open(sys.argv[1]))["measurements"]
n, code = int(sys.argv[2]), sys.argv[3]
before, after, t0, t1 = map(float, sys.argv[4:8])
rps = m["requests"] / m["duration_s"] if m["duration_s"] else 0.0
print(f"   {n} worker(s): exit {code}; {m['requests']} requests, {m['errors']} errors, {rps:.1f}/s in all over the load's {m['duration_s']:.1f}s, {rps/n:.1f}/s per worker; nginx answered {after-before-1:.0f} in the run's {t1-t0:.1f}s wall time")
PY
  echo "      [$(cut -d' ' -f1-3 /proc/loadavg)]"
done
echo "   load: $(uptime)"
fi

if section 3; then
echo
echo "3. peak memory of one engine with thinking users (think time $THINK, 20 s ramp-up, 20 s hold)"
for users in 10000 50000; do
  code=0
  /usr/bin/time -f '%M' -o "$work/rss" "$SG" load "$URL" --users "$users" --think-time "$THINK" \
    --ramp-up 20s --duration 20s --output json > "$work/mem.json" 2>"$work/mem.err" || code=$?
  python3 - "$work/mem.json" "$(tail -1 "$work/rss")" "$users" "$work/mem.err" "$code" <<'PY'
import json, sys
users, rss_kib, code = int(sys.argv[3]), int(sys.argv[2]), sys.argv[5]
try:
    s = json.load(open(sys.argv[1]))
    extra = f"{s['requests']} requests ({s['rps']:.0f}/s), {s['errors']} errors {s['errors_by_kind']}, p99 {s['latency_ms']['p99']:.1f} ms"
    if s.get("first_error"):
        extra += f", first error: {s['first_error']}"
except Exception:
    extra = "no summary: " + " / ".join(open(sys.argv[4]).read().strip().splitlines()[-3:])
print(f"   {users:>6} users: exit {code}, max RSS {rss_kib/1024:.0f} MiB ({rss_kib/users:.1f} KiB per user); {extra}   (target: within 2048 MiB)")
PY
  echo "      [$(cut -d' ' -f1-3 /proc/loadavg)]"
done
echo "   load: $(uptime)"
fi
