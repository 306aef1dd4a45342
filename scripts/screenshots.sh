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
keys q
