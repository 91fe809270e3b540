#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer + AddressSanitizer, release) and runs each, printing per target the
# runs, the inputs that added coverage, and the crashes. Exits 1 if any target crashed or broke an invariant.
#
#   contrib/fuzz/run.sh                      every target for 30 s each (what CI runs)
#   contrib/fuzz/run.sh --time 600 config    one target for 10 minutes
#   contrib/fuzz/run.sh --runs 1000000       every target for a million runs
#
# Corpora grow in .build-fuzz/corpus/<target> (seeded from contrib/examples, contrib/example-hosts and
# contrib/fuzz/seeds); crash inputs land in .build-fuzz/artifacts/. A crash input worth keeping becomes a
# regression test in Tests/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-fuzz"

limit=(-max_total_time=30)
targets=()
while (($#)); do
    case "$1" in
        --time) limit=(-max_total_time="$2"); shift 2 ;;
        --runs) limit=(-runs="$2"); shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
all=(config labels vgpu-types type-description sysfs-number uevent status-file vgpu-record holder-links layout-record options)
((${#targets[@]})) || targets=("${all[@]}")

echo "fuzz: building (release, -sanitize=fuzzer,address)" >&2
(cd "$here" && swift build -c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address 2>&1 \
    | grep -v "Cannot export local symbol" >&2)
binary="$scratch/release/mdev-fuzz"
[ -x "$binary" ] || { echo "fuzz: build failed" >&2; exit 1; }

# Seed corpora: the committed seeds, plus every example of the kind a target reads.
seed() {
    local target="$1" corpus="$scratch/corpus/$1"
    mkdir -p "$corpus"
    [ -d "$here/seeds/$target" ] && cp -n "$here/seeds/$target/"* "$corpus/" 2>/dev/null || true
    local file name sum names=()
    case "$target" in
        config) for file in "$root"/contrib/examples/*.yaml; do cp -n "$file" "$corpus/"; done ;;
        labels) cp -n "$root/contrib/examples/labels" "$corpus/example-labels" ;;
        vgpu-types) names=(creatable_vgpu_types) ;;
        type-description) names=(description) ;;
        sysfs-number) names=(available_instances sriov_totalvfs sriov_numvfs current_vgpu_type) ;;
    esac
    # The example hosts' files of those names, distinct contents only (the hosts repeat the same files).
    for name in "${names[@]}"; do
        find "$root/contrib/example-hosts" -name "$name" -type f -print0 | xargs -0 -r md5sum | sort -u -k1,1 |
            while read -r sum file; do cp -n "$file" "$corpus/$name-${sum:0:12}"; done
    done
}

export SWIFT_BACKTRACE=enable=no  # Swift's crash handler would get in the way of the sanitizer's report.
mkdir -p "$scratch/artifacts" "$scratch/logs"
failed=0
printf '%-18s %12s %10s %8s %s\n' TARGET RUNS NEW-UNITS CRASHES SECONDS
for target in "${targets[@]}"; do
    seed "$target"
    dictionary=()
    [ -f "$here/dictionaries/$target.dict" ] && dictionary=(-dict="$here/dictionaries/$target.dict")
    log="$scratch/logs/$target.log"
    before=$(ls "$scratch/artifacts" | grep -c "^$target-" || true)
    start=$(date +%s)
    status=0
    "$binary" "$target" "${limit[@]}" "${dictionary[@]}" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$scratch/artifacts/$target-" "$scratch/corpus/$target" > "$log" 2>&1 || status=$?
    seconds=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    crashes=$(($(ls "$scratch/artifacts" | grep -c "^$target-" || true) - before))
    if ((status != 0 && crashes == 0)); then crashes=1; fi
    printf '%-18s %12s %10s %8s %s\n' "$target" "${runs:-?}" "${new:-?}" "$crashes" "$seconds"
    if ((crashes)); then
        failed=1
        grep -E "invariant broken|ERROR: |SUMMARY: |Test unit written" "$log" | head -5 | sed 's/^/    /' >&2
    fi
done
exit $failed
