#!/usr/bin/env bash
# Builds the fuzz targets into Fuzz/out/bin (see FUZZING.md).
#
#   Fuzz/build.sh [target...]      # default: every target
#
# The library modules are built by SwiftPM in a scratch path of their own
# (Fuzz/out/build, release, instrumented with -sanitize=fuzzer,address,
# -enable-testing for @testable imports); each target is then one swiftc
# link of its file(s) with those objects. Nothing is added to Package.swift,
# so `swift build` and `swift test` never see the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${FUZZ_OUT:-$ROOT/Fuzz/out}
SCRATCH=$OUT/build
mkdir -p "$OUT/bin"

ALL_TARGETS=(thrift-compact thrift-binary agent otlp-protobuf otlp-json jaeger-json zipkin-json dump gzip query terminal-input)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")

FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)
for module in TraceFormats TerminalUI; do
    nice -n 19 swift build -c release --scratch-path "$SCRATCH" --target "$module" "${FLAGS[@]}" 2>&1 \
        | grep -v '^\[' || true
done

BIN=$SCRATCH/release
MODULES=(TraceFormats TraceModel Histogram Numerics RealModule ComplexModule _NumericsShims TerminalUI)
OBJECTS=()
for module in "${MODULES[@]}"; do
    while IFS= read -r object; do OBJECTS+=("$object"); done < <(find "$BIN/$module.build" -name '*.o' | sort)
done
NUMERICS=$(find "$SCRATCH/checkouts" -maxdepth 1 -name 'swift-numerics*' | head -1)

for target in "${TARGETS[@]}"; do
    sources=("Fuzz/Support/FuzzSupport.swift" "Fuzz/Targets/$target.swift")
    case $target in
        thrift-compact|thrift-binary|agent) sources+=("Fuzz/Targets/ThriftCommon.swift") ;;
        otlp-json|jaeger-json|zipkin-json) sources+=("Fuzz/Targets/JSONCommon.swift") ;;
    esac
    [ -f "Fuzz/Targets/$target.swift" ] || { echo "no such target: $target" >&2; exit 2; }
    echo "linking $target"
    rm -f "$OUT/bin/$target"
    nice -n 19 swiftc -O -parse-as-library -sanitize=fuzzer,address -module-name "Fuzz_${target//-/_}" \
        -I "$BIN/Modules" \
        -Xcc -fmodule-map-file="$ROOT/Sources/CZlib/module.modulemap" \
        -Xcc -fmodule-map-file="$NUMERICS/Sources/_NumericsShims/include/module.modulemap" \
        -Xcc -I -Xcc "$NUMERICS/Sources/_NumericsShims/include" \
        "${sources[@]}" "${OBJECTS[@]}" -lz -lm -o "$OUT/bin/$target" 2>&1 \
        | grep -v "ld.gold: warning: Cannot export local symbol" || true
    [ -x "$OUT/bin/$target" ] || { echo "build of $target failed" >&2; exit 1; }
done
