#!/usr/bin/env bash
# Peak resident memory of a client streaming every mobile device of a tenant, for 10,000 and
# 100,000 devices: memory must stay flat (ratio <= 1.15) and below 32 MiB at 100,000; and of
# the inventory with statistics at 100,000 devices (20,000 mailboxes): below 48 MiB.
#
# The tenant is served by the standalone simulator (`examples/simulator.rs`) in its own
# process, so the measured peak (`/usr/bin/time -v`, "Maximum resident set size") is the
# client's alone: `examples/stream_to_sink.rs` (streams Get-MobileDevice into a counting sink)
# and `examples/inventory.rs --with-statistics --format json > file` (every device joined with
# its statistics, one JSON line each; the lines are counted).
#
# Usage: benches/memory.sh            (from anywhere inside the repository; RUNS=N for the
#                                      number of runs whose median is reported, default 3)
# Exit status: 0 when both targets are met, 1 when one is missed, 2 on a setup failure.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=(10000 100000)
MAX_RATIO=1.15
MAX_KIB=$((32 * 1024))
MAX_STATS_KIB=$((48 * 1024))

if [[ ! -x /usr/bin/time ]]; then
    echo "memory.sh needs GNU time as /usr/bin/time (apt-get install time)" >&2
    exit 2
fi

echo "building the release examples (simulator, stream_to_sink)…" >&2
cargo build --release --all-features --example simulator --example stream_to_sink \
    --example inventory >&2
SIMULATOR=target/release/examples/simulator
CLIENT=target/release/examples/stream_to_sink
INVENTORY=target/release/examples/inventory

WORK=$(mktemp -d)
SIM_PID=""
stop_simulator() {
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -TERM "$SIM_PID" 2>/dev/null || true
        # Graceful stop first; force it after 5 s.
        for _ in $(seq 50); do
            kill -0 "$SIM_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    SIM_PID=""
}
cleanup() {
    stop_simulator
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# measure N [stats]: prints "<peak KiB>" on stdout; details on stderr.
measure() {
    local n=$1 mode=${2:-plain} dir
    dir=$(mktemp -d "$WORK/$1-${2:-plain}-XXXX")
    "$SIMULATOR" --port 0 --ready-file "$dir/ready" --devices "$n" --seed 1 \
        >"$dir/simulator.out" 2>"$dir/simulator.err" &
    SIM_PID=$!
    # Building a 100,000-device tenant takes a moment.
    for _ in $(seq 1200); do
        [[ -s "$dir/ready" ]] && break
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            echo "the simulator exited early:" >&2
            cat "$dir/simulator.err" >&2
            exit 2
        fi
        sleep 0.1
    done
    if [[ ! -s "$dir/ready" ]]; then
        echo "the simulator did not get ready within 120 s" >&2
        exit 2
    fi
    # The three EXO_* assignments, exported to the client only.
    if ! (
        set -a
        # shellcheck disable=SC1091
        . "$dir/ready"
        set +a
        if [[ "$mode" == stats ]]; then
            /usr/bin/time -v "$INVENTORY" --with-statistics --format json \
                >"$dir/rows.json" 2>"$dir/client.err"
            echo "devices=$(wc -l <"$dir/rows.json") with statistics" >"$dir/client.out"
        else
            /usr/bin/time -v "$CLIENT" >"$dir/client.out" 2>"$dir/client.err"
        fi
    ); then
        echo "the client ($mode) failed for $n devices:" >&2
        cat "$dir/client.err" >&2
        exit 2
    fi
    stop_simulator
    local devices peak
    devices=$(sed -n 's/^devices=\([0-9]*\).*/\1/p' "$dir/client.out")
    if [[ "$devices" != "$n" ]]; then
        echo "the client ($mode) counted '${devices}' devices, expected $n:" >&2
        cat "$dir/client.out" "$dir/client.err" >&2
        exit 2
    fi
    peak=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$dir/client.err")
    if [[ -z "$peak" ]]; then
        echo "no 'Maximum resident set size' in /usr/bin/time's report" >&2
        exit 2
    fi
    local wall
    wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/client.err")
    echo "$n devices: $(cat "$dir/client.out"), peak RSS ${peak} KiB ($((peak / 1024)) MiB), wall ${wall}" >&2
    echo "$peak"
}

# The median of RUNS runs (default 3): a process's peak RSS varies by about a MiB from run
# to run (allocator arenas, thread timing), which is a tenth of the figures compared.
RUNS=${RUNS:-3}
median() {
    local runs=() i
    for ((i = 0; i < RUNS; i++)); do
        runs+=("$(measure "$@")")
    done
    printf '%s\n' "${runs[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
small=$(median "${SIZES[0]}")
large=$(median "${SIZES[1]}")
stats=$(median "${SIZES[1]}" stats)
ratio=$(awk -v a="$large" -v b="$small" 'BEGIN { printf "%.2f", a / b }')
echo "peak RSS ${SIZES[0]} devices: ${small} KiB ($((small / 1024)) MiB)"
echo "peak RSS ${SIZES[1]} devices: ${large} KiB ($((large / 1024)) MiB)"
echo "ratio ${SIZES[1]}/${SIZES[0]} = ${ratio} (target <= ${MAX_RATIO}; ${SIZES[1]} devices below $((MAX_KIB / 1024)) MiB)"
echo "peak RSS ${SIZES[1]} devices with statistics: ${stats} KiB ($((stats / 1024)) MiB; target below $((MAX_STATS_KIB / 1024)) MiB)"
status=0
if awk -v r="$ratio" -v m="$MAX_RATIO" 'BEGIN { exit !(r > m) }'; then
    echo "FAIL: memory grows with the tenant" >&2
    status=1
fi
if ((large >= MAX_KIB)); then
    echo "FAIL: ${large} KiB for ${SIZES[1]} devices" >&2
    status=1
fi
if ((stats >= MAX_STATS_KIB)); then
    echo "FAIL: ${stats} KiB for ${SIZES[1]} devices with statistics" >&2
    status=1
fi
((status == 0)) && echo "memory: PASS"
exit "$status"
