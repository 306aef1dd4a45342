#!/usr/bin/env bash
# End-to-end UDP ingest over loopback into the store with the live UI running.
#
# The sender pre-encodes rate x seconds distinct seed-shaped server-1 spans
# (root + hop of fresh traces; at most 3,000,000, then they repeat) before
# it starts the clock, so the receiver sees new traces as from a real service.
#
# For each datagram shape (65,000-byte emitBatch datagrams; one span per
# datagram) and each rate of a ladder, one run: `tracetty live` in tmux
# (120x36, the explorer drawing, follow mode) listening on a free port,
# `tracetty udp-send-bench` sending paced Jaeger compact datagrams for
# $SECONDS_PER_RUN seconds, then `q`; tracetty's exit summary says how many
# spans jaeger-compact accepted, and how many of them were dropped before
# the store (`record`: how many reached the dump). Lossless = what arrived
# == sent. Prints a table
# and the highest lossless rate per shape.
#
# Environment: TRACETTY=path (else a release build in .build-bench),
#   UDP_BIG_RATES / UDP_SINGLE_RATES (space-separated spans/s ladders; set
#   one empty to skip that shape),
#   SECONDS_PER_RUN (default 3), UDP_TRIES (runs per rate, default 1),
#   UDP_COMMAND (live: the explorer in tmux, default; record: no UI, spans
#   appended to a dump in a temporary folder), UDP_EXTRA (more options for
#   tracetty, e.g. "--udp-receive-buffer 64MiB"), UDP_GRACE (seconds between
#   the last datagram and `q` / SIGINT, default 1.5: a flood the store takes
#   in slower than it came waits in tracetty's queues meanwhile; what has
#   not reached the store by `q` counts as lost), UDP_SHOW=1 (print
#   tracetty's exit summary after each run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ -n "${TRACETTY:-}" ]]; then
    bin="$TRACETTY"
else
    echo "building release (scratch path .build-bench)..." >&2
    (cd "$root" && swift build -c release --product tracetty --scratch-path .build-bench >&2)
    bin="$root/.build-bench/release/tracetty"
fi
big_rates="${UDP_BIG_RATES-250000 500000 1000000 1500000 2000000}"
single_rates="${UDP_SINGLE_RATES-50000 100000 200000 300000 400000}"
secs="${SECONDS_PER_RUN:-3}"
grace="${UDP_GRACE:-1.5}"
tries="${UDP_TRIES:-1}"
command="${UDP_COMMAND:-live}"
extra="${UDP_EXTRA:-}"
tmp="$(mktemp -d)"
socket="tracetty-udp-bench-$$"
trap 'for s in /tmp/tmux-$(id -u)/tracetty-udp-bench-$$-*; do tmux -S "$s" kill-server 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1); net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max)"
echo "binary:  $bin ($(cd "$root" && git rev-parse --short HEAD))"
echo
printf '%-7s %12s %12s %12s %8s %10s\n' shape "target/s" "sent" "accepted" "loss%" "lossless"
best_big=0; best_single=0
run() { # shape rate
    local shape=$1 rate=$2 port; port=$(free_port)
    # A tmux server per run: a server still exiting must not meet the next run.
    local socket="tracetty-udp-bench-$$-$shape-$rate-$RANDOM"
    local offs="--off jaeger-binary --off zipkin-compact --off jaeger-collector --off otlp-http --off zipkin-http --off otlp-grpc"
    rm -f "$tmp/summary" "$tmp/dump.ndjson"
    local recorder=""
    if [[ $command == record ]]; then
        "$bin" record -o "$tmp/dump.ndjson" --jaeger-compact-port "$port" $offs $extra >"$tmp/summary" 2>&1 &
        recorder=$!
        for _ in $(seq 50); do grep -q "listening" "$tmp/summary" 2>/dev/null && break; sleep 0.1; done
    else
        tmux -L "$socket" new-session -d -s live -x 120 -y 36 \
            "env TERM=xterm-256color '$bin' live --jaeger-compact-port $port $offs --max-spans 20000000 $extra 2> '$tmp/summary'; sleep 3"
        for _ in $(seq 50); do tmux -L "$socket" capture-pane -p -t live 2>/dev/null | grep -q "live" && break; sleep 0.1; done
    fi
    local sent_line; sent_line="$("$bin" udp-send-bench --port "$port" --shape "$shape" --rate "$rate" --seconds "$secs")"
    sleep "$grace"
    if [[ $command == record ]]; then
        kill -INT "$recorder"; wait "$recorder" || true
    else
        tmux -L "$socket" send-keys -t live q
        for _ in $(seq 100); do grep -q "jaeger-compact" "$tmp/summary" 2>/dev/null && break; sleep 0.1; done
        tmux -L "$socket" kill-server 2>/dev/null || true
    fi
    local sent accepted
    sent=$(sed -E 's/.* datagrams, ([0-9]+) spans.*/\1/' <<<"$sent_line")
    if [[ $command == record ]]; then   # what reached the dump
        accepted=$(grep -m1 "wrote" "$tmp/summary" | sed -E 's/.*wrote ([0-9]+) spans.*/\1/')
    else
        accepted=$(grep -m1 "jaeger-compact" "$tmp/summary" | sed -E 's/[^0-9]*([0-9,]+) spans.*/\1/' | tr -d ,)
        # Accepted but dropped before the store (its queue full) is lost too.
        local lost; lost=$(grep -m1 "dropped before the store" "$tmp/summary" | sed -E 's/[^0-9]*([0-9]+) accepted spans.*/\1/' || true)
        accepted=$(( ${accepted:-0} - ${lost:-0} ))
    fi
    accepted=${accepted:-0}
    local loss; loss=$(python3 -c "print(f'{100*(1-$accepted/$sent):.2f}' if $sent else 'n/a')")
    local ok=no; [[ "$accepted" == "$sent" ]] && ok=yes
    printf '%-7s %12s %12s %12s %8s %10s\n' "$shape" "$rate" "$sent" "$accepted" "$loss" "$ok"
    # UDP_SHOW=1: tracetty's own summary of the run, for where anything was lost.
    if [[ -n "${UDP_SHOW:-}" ]]; then sed 's/^/        | /' "$tmp/summary"; fi
    if [[ $ok == yes ]]; then
        if [[ $shape == big ]]; then best_big=$rate; else best_single=$rate; fi
    fi
}
echo "command: $command $extra; $tries tr$( ((tries == 1)) && echo y || echo ies) per rate, $secs s each, q after $grace s"
for r in $big_rates; do for _ in $(seq "$tries"); do run big "$r"; done; done
for r in $single_rates; do for _ in $(seq "$tries"); do run single "$r"; done; done
echo
echo "highest lossless rate: big datagrams $best_big spans/s; one span per datagram $best_single spans/s"
