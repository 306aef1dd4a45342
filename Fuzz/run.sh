#!/usr/bin/env bash
# Builds and runs the libFuzzer targets, one after another, at nice 19.
#
#   Fuzz/run.sh [seconds-per-target] [target...]
#
# seconds-per-target defaults to 60; targets default to all of them:
#   thrift-compact thrift-binary agent otlp-protobuf otlp-json jaeger-json
#   zipkin-json dump gzip query terminal-input
#
# Results go under Fuzz/out/ (git-ignored; FUZZ_OUT moves it):
#   corpus/<target>/   what the fuzzer found worth keeping (grows run to run)
#   seeds/<target>/    seeds the target generates from Samples/ in its own format
#   crashes/<target>/  crash-*, timeout-*, oom-* and leak-* inputs
#   logs/<target>.log  libFuzzer's output of the last run
#   summary.tsv        one line per run: date, commit, target, seconds asked, seconds taken (a
#                      run stops at its first finding), execs, cov, ft, corpus, findings
# The seed fixtures are read in place from ../shared/fixtures (read-only).
# Reproduce a finding: Fuzz/out/bin/<target> Fuzz/out/crashes/<target>/<file>
# Extra libFuzzer flags: FUZZ_FLAGS="-jobs=1 ..." Fuzz/run.sh ...
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${FUZZ_OUT:-$ROOT/Fuzz/out}
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(thrift-compact thrift-binary agent otlp-protobuf otlp-json jaeger-json zipkin-json dump gzip query terminal-input)
FIXTURES=$ROOT/../shared/fixtures

"$ROOT/Fuzz/build.sh" "${TARGETS[@]}" || exit 1

# Bounds every run asserts: a 10 s input is a hang, one allocation over
# 512 MiB or a process over 2 GiB is an over-bound allocation.
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=65536 -print_final_stats=1)

commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Fuzz || echo +dirty)
[ -f "$OUT/summary.tsv" ] || printf 'date\tcommit\ttarget\tseconds\telapsed\texecs\tcov\tft\tcorpus\tfindings\n' > "$OUT/summary.tsv"

for target in "${TARGETS[@]}"; do
    corpus=$OUT/corpus/$target seeds=$OUT/seeds/$target crashes=$OUT/crashes/$target
    mkdir -p "$corpus" "$crashes" "$OUT/logs"
    rm -rf "$seeds"; mkdir -p "$OUT/seeds"
    FUZZ_EMIT_SEEDS=$seeds FUZZ_SAMPLES=$ROOT/Samples/seed.ndjson "$OUT/bin/$target" >/dev/null 2>&1
    dirs=("$corpus" "$seeds")
    dict=()
    case $target in
        thrift-compact|agent) dirs+=("$FIXTURES"/jaeger-udp/*/); dict=(-dict="$ROOT/Fuzz/dicts/thrift.dict") ;;
        thrift-binary) dirs+=("$FIXTURES"/jaeger-http/*/); dict=(-dict="$ROOT/Fuzz/dicts/thrift.dict") ;;
        otlp-protobuf) dirs+=("$FIXTURES"/otlp-http/python-protobuf/ "$FIXTURES"/otlp-http/python-protobuf-gzip/) ;;
        otlp-json) dirs+=("$FIXTURES"/otlp-http/python-json/ "$ROOT/Samples"); dict=(-dict="$ROOT/Fuzz/dicts/json.dict") ;;
        jaeger-json) dict=(-dict="$ROOT/Fuzz/dicts/json.dict") ;;
        zipkin-json) dirs+=("$FIXTURES"/zipkin-http/*/); dict=(-dict="$ROOT/Fuzz/dicts/json.dict") ;;
        dump) dirs+=("$ROOT/Samples"); dict=(-dict="$ROOT/Fuzz/dicts/json.dict") ;;
        query) dict=(-dict="$ROOT/Fuzz/dicts/query.dict") ;;
    esac
    existing=()
    for d in "${dirs[@]}"; do [ -d "$d" ] && existing+=("$d"); done
    log=$OUT/logs/$target.log
    before=$(ls "$crashes" | wc -l)
    echo "== $target: ${SECONDS_PER_TARGET}s (log: $log)"
    started=$(date +%s)
    FUZZ_SAMPLES=$ROOT/Samples/seed.ndjson nice -n 19 "$OUT/bin/$target" "${LIMITS[@]}" "${dict[@]}" ${FUZZ_FLAGS:-} \
        -max_total_time="$SECONDS_PER_TARGET" -artifact_prefix="$crashes/" "${existing[@]}" > "$log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - started ))
    after=$(ls "$crashes" | wc -l)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
    corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' | cut -d' ' -f2)
    findings=$((after - before))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$target" "$SECONDS_PER_TARGET" "$elapsed" \
        "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$findings" >> "$OUT/summary.tsv"
    echo "   exit $status, execs ${execs:-?}, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, new findings $findings"
    [ "$findings" -gt 0 ] && grep -E 'ERROR|INVARIANT|Fatal error|SUMMARY' "$log" | head -5
done
