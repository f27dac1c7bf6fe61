#!/usr/bin/env bash
# Peak resident memory of the `fleet` example streaming every device of 20 and of 200 small
# tenants (50 devices each): memory must stay flat in the number of tenants (ratio <= 1.5).
#
# The tenants are served by the standalone simulator (`examples/simulator.rs --tenants N`) in
# its own process, so the measured peak (`/usr/bin/time -v`, "Maximum resident set size") is
# the fleet's alone: `fleet inventory --tenants FILE --format json > /dev/null`, with tokens
# from the simulator's token endpoint (EXO_AUTHORITY, EXO_CLIENT_ID, EXO_CLIENT_SECRET and
# EXO_ENDPOINT from its ready file; no EXO_TENANT_ID, no static token).
#
# Usage: benches/fleet_memory.sh      (from anywhere inside the repository)
#
# Environment (optional): SIZES (default "20 200"), DEVICES (default 50), SIM_ARGS (more
# simulator arguments, e.g. "--cap 2 --latency-ms 200 --mailboxes 240"), FLEET_ARGS (more
# `fleet inventory` arguments, e.g. "--with-statistics"). The large fleet of the README:
#   SIZES="20 20" DEVICES=600 SIM_ARGS="--cap 2 --latency-ms 200 --mailboxes 240" \
#       FLEET_ARGS=--with-statistics benches/fleet_memory.sh
# Exit status: 0 when the target is met, 1 when it is missed, 2 on a setup failure.
set -euo pipefail

cd "$(dirname "$0")/.."
read -r -a SIZES <<<"${SIZES:-20 200}"
DEVICES=${DEVICES:-50}
read -r -a SIM_EXTRA <<<"${SIM_ARGS:-}"
read -r -a FLEET_EXTRA <<<"${FLEET_ARGS:-}"
MAX_RATIO=1.5

if [[ ! -x /usr/bin/time ]]; then
    echo "fleet_memory.sh needs GNU time as /usr/bin/time (apt-get install time)" >&2
    exit 2
fi

echo "building the release examples (simulator, fleet)…" >&2
cargo build --release --all-features --example simulator --example fleet >&2
SIMULATOR=target/release/examples/simulator
CLIENT=target/release/examples/fleet

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

# The value of NAME in the ready file $1.
ready_value() {
    sed -n "s/^$2=//p" "$1"
}

# measure N [FLEET ARGS...]: prints "<peak KiB>" on stdout; details on stderr.
measure() {
    local n=$1 dir
    # A fresh directory per run (an old ready file would name a stopped simulator).
    dir=$(mktemp -d "$WORK/$1-XXXX")
    shift
    "$SIMULATOR" --port 0 --ready-file "$dir/ready" --tenants "$n" --devices "$DEVICES" \
        --seed 1 --tenants-file "$dir/tenants.txt" ${SIM_EXTRA[@]+"${SIM_EXTRA[@]}"} \
        >"$dir/simulator.out" 2>"$dir/simulator.err" &
    SIM_PID=$!
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
    if ! env -u EXO_TENANT_ID -u EXO_ACCESS_TOKEN \
        EXO_ENDPOINT="$(ready_value "$dir/ready" EXO_ENDPOINT)" \
        EXO_AUTHORITY="$(ready_value "$dir/ready" EXO_AUTHORITY)" \
        EXO_CLIENT_ID="$(ready_value "$dir/ready" EXO_CLIENT_ID)" \
        EXO_CLIENT_SECRET="$(ready_value "$dir/ready" EXO_CLIENT_SECRET)" \
        /usr/bin/time -v "$CLIENT" inventory --tenants "$dir/tenants.txt" --format json \
        ${FLEET_EXTRA[@]+"${FLEET_EXTRA[@]}"} "$@" \
        >"$dir/client.out" 2>"$dir/client.err"; then
        echo "fleet failed for $n tenants:" >&2
        tail -20 "$dir/client.err" >&2
        exit 2
    fi
    stop_simulator
    local lines peak wall
    lines=$(wc -l <"$dir/client.out")
    if [[ "$lines" != "$((n * DEVICES))" ]]; then
        echo "fleet printed ${lines} devices, expected $((n * DEVICES)):" >&2
        tail -20 "$dir/client.err" >&2
        exit 2
    fi
    peak=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$dir/client.err")
    if [[ -z "$peak" ]]; then
        echo "no 'Maximum resident set size' in /usr/bin/time's report" >&2
        exit 2
    fi
    wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/client.err")
    echo "$n tenants${*:+ ($*)}: ${lines} devices, peak RSS ${peak} KiB ($((peak / 1024)) MiB), wall ${wall}" >&2
    echo "$peak"
}

small=$(measure "${SIZES[0]}")
large=$(measure "${SIZES[1]}")
# Diagnostic only (not judged): the same live-tenant count as the small run (with 20
# tenants all 20 run at once; with 200, the default tenant concurrency of 32).
same_live=$(measure "${SIZES[1]}" --tenant-concurrency "${SIZES[0]}")
ratio=$(awk -v a="$large" -v b="$small" 'BEGIN { printf "%.2f", a / b }')
echo "peak RSS ${SIZES[0]} tenants: ${small} KiB ($((small / 1024)) MiB)"
echo "peak RSS ${SIZES[1]} tenants: ${large} KiB ($((large / 1024)) MiB)"
echo "ratio ${SIZES[1]}/${SIZES[0]} = ${ratio} (target <= ${MAX_RATIO})"
echo "diagnostic: ${SIZES[1]} tenants with --tenant-concurrency ${SIZES[0]}: ${same_live} KiB, ratio $(awk -v a="$same_live" -v b="$small" 'BEGIN { printf "%.2f", a / b }')"
if awk -v r="$ratio" -v m="$MAX_RATIO" 'BEGIN { exit !(r > m) }'; then
    echo "FAIL: memory grows with the number of tenants" >&2
    exit 1
fi
echo "fleet memory: PASS"
