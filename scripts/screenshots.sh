#!/usr/bin/env bash
# Screenshots of the real binary in a real terminal: tmux at 120x36 running
# `tracetty open Samples/seed.ndjson`, captured with colours
# (capture-pane -e) and rendered to PNG by scripts/ansi2png.py.
# Needs tmux, python3 with Pillow (pip install pillow), fonts-dejavu-core.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TRACETTY:-.build/debug/tracetty}"
[ -x "$bin" ] || swift build --product tracetty
out=screenshots
mkdir -p "$out"
socket=tracetty-screenshots
session=shots
tmux -L "$socket" kill-server 2>/dev/null || true
tmux -L "$socket" new-session -d -s "$session" -x 120 -y 36 \
    "env TERM=xterm-256color LANG=C.UTF-8 TZ=UTC '$bin' open Samples/seed.ndjson; sleep 5"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true' EXIT

shot() {
    sleep 0.6
    tmux -L "$socket" capture-pane -e -N -p -t "$session" > "$out/$1.ans"
    python3 scripts/ansi2png.py "$out/$1.ans" "$out/$1.png" --cols 120 --rows 36
    rm "$out/$1.ans"
    echo "wrote $out/$1.png"
}
keys() { tmux -L "$socket" send-keys -t "$session" "$@"; }

sleep 1
# The list, with the sample's error trace (the 10th newest) selected.
keys j j j j j j j j j
shot trace-list
# Its waterfall, server-2 selected.
keys Enter
sleep 0.3
keys j j
shot waterfall
# server-2's detail: tags, process and logs (the exception event).
keys Enter
shot span-detail
# Finding: a query narrows the list under the duration plot; a find in the trace.
keys Escape Escape /
keys -l 'error or alice'
sleep 0.3
shot query
keys Enter Enter /
keys -l server
keys Enter n
shot find
# Understanding it: the critical path, the statistics by service and
# operation, then the two traces the filter kept, marked and compared.
keys Escape c
shot critical-path
keys S b b
shot statistics
keys Escape Escape g m j =
sleep 0.3
shot compare
# Across traces: the filter dropped, the latency view with server-2's row
# and its histogram, then who calls whom.
keys Escape / C-u Enter P
sleep 0.3
keys G
shot latency
keys Escape D
shot service-graph
keys q

# Replay: the sample at its own pace, a few seconds in.
tmux -L "$socket" kill-server 2>/dev/null || true
tmux -L "$socket" new-session -d -s "$session" -x 120 -y 36 \
    "env TERM=xterm-256color LANG=C.UTF-8 TZ=UTC '$bin' replay Samples/seed.ndjson --speed 1; sleep 5"
sleep 5.5
shot replay
keys q

# Live: tracetty listening, the Go seed servers' captured datagrams sent to
# its Jaeger compact port (from ../shared/fixtures when present).
fixtures=../shared/fixtures/jaeger-udp/go-seed-servers
if [ -d "$fixtures" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    tmux -L "$socket" kill-server 2>/dev/null || true
    tmux -L "$socket" new-session -d -s "$session" -x 120 -y 36 \
        "env TERM=xterm-256color LANG=C.UTF-8 TZ=UTC '$bin' live --jaeger-compact-port $port --jaeger-binary-port 0 --zipkin-compact-port 0 --collector-port 0 --otlp-http-port 0 --zipkin-port 0 --otlp-grpc-port 0; sleep 5"
    sleep 1
    for f in "$fixtures"/*.bin; do
        python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(open(sys.argv[1],"rb").read(), ("127.0.0.1", int(sys.argv[2])))' "$f" "$port"
    done
    sleep 0.5
    keys G Enter
    sleep 0.3
    keys j j Enter
    shot live
    keys q
fi

# Demo: `tracetty demo` on free ports, a few requests through the seed's two
# servers, the newest trace's waterfall with the hop selected.
free_tcp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmux -L "$socket" kill-server 2>/dev/null || true
tmux -L "$socket" new-session -d -s "$session" -x 120 -y 36 \
    "env TERM=xterm-256color LANG=C.UTF-8 TZ=UTC '$bin' demo --rate 2 --server-1-port $(free_tcp) --server-2-port $(free_tcp) --agent-port $(free_udp); sleep 5"
sleep 4
keys Enter
sleep 0.3
keys j
shot demo
keys q
