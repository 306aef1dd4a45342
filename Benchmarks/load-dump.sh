#!/usr/bin/env bash
# Load+assemble benchmark (see BENCHMARKS.md, "Load and assemble a 1,000,000-span dump").
#
# Generates a deterministic OTLP JSON lines dump into Benchmarks/out/ (only if
# missing), then, in one run and interleaved so both see the same machine noise:
#   - N load+assemble runs of `tracetty load-bench FILE --runs 1`, each in a
#     fresh process so its peak RSS is that of one load;
#   - N orjson runs of `python3 -c`: read the whole file, split it into lines,
#     orjson.loads every line (results are dropped, nothing is stored).
# and prints medians (min, max) and the ratio tracetty/orjson.
#
# Environment:
#   TRACETTY=path        use this binary instead of building release
#   LOAD_DUMP_SPANS=N    spans in the dump (default 1000000)
#   LOAD_DUMP_RUNS=N     runs of each tool (default 5)
#   LOAD_DUMP_CPU=N      pin every measured process to this CPU (taskset); default: no pinning
#   LOAD_DUMP_NICE=N     run every measured process at this niceness (negative needs root);
#                        default: unchanged. Both tools always get the same treatment.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
spans="${LOAD_DUMP_SPANS:-1000000}"
runs="${LOAD_DUMP_RUNS:-5}"
seed=42
per_line=100
interval_ms=50
out="$here/out"
mkdir -p "$out"

pin=()
if [[ -n "${LOAD_DUMP_CPU:-}" ]]; then pin=(taskset -c "$LOAD_DUMP_CPU"); fi
if [[ -n "${LOAD_DUMP_NICE:-}" ]]; then pin=(nice -n "$LOAD_DUMP_NICE" "${pin[@]}"); fi

python3 -c 'import orjson' 2>/dev/null || { echo "load-dump: python3 with orjson is required" >&2; exit 1; }

# --- binary ---------------------------------------------------------------
if [[ -n "${TRACETTY:-}" ]]; then
    bin="$TRACETTY"
else
    echo "building release (scratch path .build-bench)..." >&2
    (cd "$root" && swift build -c release --product tracetty --scratch-path .build-bench >&2)
    bin="$(cd "$root" && swift build -c release --product tracetty --scratch-path .build-bench --show-bin-path)/tracetty"
fi
[[ -x "$bin" ]] || { echo "load-dump: no executable at $bin" >&2; exit 1; }

# --- files ----------------------------------------------------------------
generate() { # spans file
    if [[ ! -s "$2" ]]; then
        echo "generating $1 spans into $2..." >&2
        "$bin" generate -o "$2.tmp" --spans "$1" --seed "$seed" --interval-ms "$interval_ms" --spans-per-line "$per_line"
        mv "$2.tmp" "$2"
    fi
}
dump="$out/otlp-${spans}-seed${seed}-k${per_line}-i${interval_ms}.jsonl"
tiny="$out/otlp-100-seed${seed}-k${per_line}-i${interval_ms}.jsonl"
generate "$spans" "$dump"
generate 100 "$tiny"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.tsv"   # tool run bytes spans traces seconds parse_seconds maxrss_kib user sys wall

have_time=0
if /usr/bin/time -f '%M' true >/dev/null 2>&1; then have_time=1; fi

# Runs a command; stdout to $tmp/stdout, "wall user sys maxrss_kib" to $tmp/rusage.
measure() {
    if (( have_time )); then
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/rusage" "${pin[@]}" "$@" >"$tmp/stdout"
    else
        "${pin[@]}" "$@" >"$tmp/stdout"
        echo "0 0 0 0" >"$tmp/rusage"
    fi
}

# "run 1: N decode threads, B bytes, S spans (I malformed skipped), T traces in X s: ... peak RSS M MiB = P B/span"
tracetty_run() { # tag run file
    measure "$bin" load-bench "$3" --runs 1
    local line; line="$(grep '^run 1:' "$tmp/stdout")"
    local bytes spans traces secs bps
    read -r bytes spans traces secs bps < <(sed -E 's/^run 1: [0-9]+ decode threads?, ([0-9]+) bytes, ([0-9]+) spans[^,]*, ([0-9]+) traces in ([0-9.]+) s:.* = ([0-9]+) B\/span$/\1 \2 \3 \4 \5/' <<<"$line")
    local wall user sys kib; read -r wall user sys kib <"$tmp/rusage"
    if (( kib == 0 )); then kib=$(( bps * spans / 1024 )); fi   # fallback: the binary's own getrusage
    printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\t%s\t%s\t%s\n' "$1" "$2" "$bytes" "$spans" "$traces" "$secs" "$kib" "$user" "$sys" "$wall" >>"$results"
}

# read+parse: open, read the whole file, split lines, orjson.loads each line.
# parse-only: orjson.loads of every line (lines already split, in memory).
orjson_py='
import sys, time, orjson
loads = orjson.loads
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    data = f.read()
lines = data.split(b"\n")
t1 = time.perf_counter()
for line in lines:
    if line:
        loads(line)
t2 = time.perf_counter()
print(len(data), t2 - t0, t2 - t1)
'
orjson_run() { # run file
    measure python3 -c "$orjson_py" "$2"
    local bytes secs parse; read -r bytes secs parse <"$tmp/stdout"
    local wall user sys kib; read -r wall user sys kib <"$tmp/rusage"
    printf 'orjson\t%s\t%s\t-\t-\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$bytes" "$secs" "$parse" "$kib" "$user" "$sys" "$wall" >>"$results"
}

# --- environment ----------------------------------------------------------
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(free -g | awk '/^Mem:/{print $2}') GiB RAM"
echo "kernel:   $(uname -sr)"
echo "swift:    $(swift --version 2>/dev/null | head -1 || echo '?')"
echo "python:   $(python3 -c 'import sys, orjson; print(sys.version.split()[0], "orjson", orjson.__version__)')"
echo "binary:   $bin"
echo "source:   $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$root" && [[ -n "$(git status --porcelain -- Sources Package.swift 2>/dev/null)" ]] && echo ' (+ uncommitted changes)')$([[ -n "${TRACETTY:-}" ]] && echo ' (binary given by TRACETTY: may not match)')"
echo "file:     $dump"
echo "          $(stat -c %s "$dump") bytes, $(wc -l <"$dump") lines (seed $seed, $per_line spans/line, interval $interval_ms ms)"
echo "pinning:  ${pin[*]:-none}"
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg); busiest processes:"
ps -eo pid,pcpu,etime,args --sort=-pcpu | head -4 | cut -c1-150 | sed 's/^/    /'

cat "$dump" >/dev/null   # warm the page cache: both tools read from memory

# Baseline: a process that loads a tiny (100-span) file.
for i in 1 2 3; do tracetty_run baseline "$i" "$tiny"; done
# Interleaved: tracetty, orjson, tracetty, orjson, ...
for i in $(seq 1 "$runs"); do
    tracetty_run tracetty "$i" "$dump"
    orjson_run "$i" "$dump"
    echo "  run $i/$runs done" >&2
done
echo "load avg after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- report ---------------------------------------------------------------
python3 - "$results" "$runs" <<'EOF'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
runs = int(sys.argv[2])
def col(tool, i, f=float): return [f(r[i]) for r in rows if r[0] == tool]
base_kib = st.median(col("baseline", 7))
t_bytes = col("tracetty", 2, int); t_spans = col("tracetty", 3, int); t_traces = col("tracetty", 4, int)
t_secs = col("tracetty", 5); t_kib = col("tracetty", 7)
t_cpu = [u + s for u, s in zip(col("tracetty", 8), col("tracetty", 9))]
o_bytes = col("orjson", 2, int); o_secs = col("orjson", 5); o_parse = col("orjson", 6)
o_cpu = [u + s for u, s in zip(col("orjson", 8), col("orjson", 9))]
bytes_, spans = t_bytes[0], t_spans[0]
assert all(b == bytes_ for b in t_bytes + o_bytes), "runs disagree on the file size"
assert all(s == spans for s in t_spans), "runs disagree on the span count"
print(f"dump: {bytes_} bytes, {spans} spans, {t_traces[0]} traces; {runs} runs of each tool, interleaved")
print(f"baseline: tracetty loading a 100-span file peaks at {base_kib/1024:.1f} MiB RSS (median of 3)")
print()
rows_out = []
def add(name, vals, fmt):
    rows_out.append((name, fmt(st.median(vals)), fmt(min(vals)), fmt(max(vals))))
mb = lambda secs: [bytes_ / s / 1e6 for s in secs]
add("tracetty load+assemble   MB/s", mb(t_secs), lambda v: f"{v:.1f}")
add("tracetty load+assemble   spans/s", [spans / s for s in t_secs], lambda v: f"{v:,.0f}")
add("tracetty seconds (in-process)", t_secs, lambda v: f"{v:.3f}")
add("tracetty CPU s (user+sys, whole process)", t_cpu, lambda v: f"{v:.2f}")
add("tracetty peak RSS MiB", [k / 1024 for k in t_kib], lambda v: f"{v:.1f}")
add("tracetty peak RSS B/span (gross)", [k * 1024 / spans for k in t_kib], lambda v: f"{v:.0f}")
add("tracetty peak RSS B/span (net of baseline)", [(k - base_kib) * 1024 / spans for k in t_kib], lambda v: f"{v:.0f}")
add("orjson read+parse        MB/s", mb(o_secs), lambda v: f"{v:.1f}")
add("orjson parse-only        MB/s", mb(o_parse), lambda v: f"{v:.1f}")
add("orjson CPU s (user+sys, whole process)", o_cpu, lambda v: f"{v:.2f}")
add("tracetty MB per CPU-second (whole process)", [bytes_ / c / 1e6 for c in t_cpu], lambda v: f"{v:.1f}")
add("orjson   MB per CPU-second (whole process)", [bytes_ / c / 1e6 for c in o_cpu], lambda v: f"{v:.1f}")
w = max(len(r[0]) for r in rows_out)
print(f"{'metric':<{w}}  {'median':>12}  {'min':>12}  {'max':>12}")
for r in rows_out: print(f"{r[0]:<{w}}  {r[1]:>12}  {r[2]:>12}  {r[3]:>12}")
print()
tm, om, op = st.median(mb(t_secs)), st.median(mb(o_secs)), st.median(mb(o_parse))
pairs = [o / t for t, o in zip(t_secs, o_secs)]  # per interleaved pair: tracetty MB/s / orjson MB/s
print(f"ratio tracetty load+assemble / orjson read+parse (medians): {tm / om:.2f}x"
      f"  (per-pair median {st.median(pairs):.2f}x, min {min(pairs):.2f}x, max {max(pairs):.2f}x)")
print(f"ratio tracetty load+assemble / orjson parse-only (medians): {tm / op:.2f}x")
if min(t_cpu) > 0 and min(o_cpu) > 0:
    print(f"ratio by CPU time, whole processes (orjson CPU s / tracetty CPU s, medians): {st.median(o_cpu) / st.median(t_cpu):.2f}x")
print()
print("raw (tool run bytes spans traces seconds parse_s maxrss_kib user sys wall):")
for r in rows: print("  " + " ".join(r))
EOF
