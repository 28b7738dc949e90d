#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time on a copy of its committed seed corpus, so the
# committed corpus is never written to (new inputs stay in the build dir). Exits non-zero if any
# target crashes, leaks, times out on an input, or breaks an invariant; the input that did it is
# left in <build>/fuzz-run/<target>/artifacts/.
# Usage: fuzz/run.sh <build dir> <seconds per target> <target>...
set -euo pipefail

build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
status=0
for target in "$@"; do
  run="$build/fuzz-run/$target"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp "$here/corpus/$target/"* "$run/corpus/"
  echo "fuzz: $target for ${seconds}s (log: $run/log)" >&2
  # -timeout: one input taking longer than this is a hang; -rss_limit_mb: a runaway is a failure.
  if "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$run/artifacts/" "$run/corpus" >"$run/log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$run/log" | tail -1 >&2 || true
  else
    status=1
    echo "fuzz: $target FAILED; the end of its log:" >&2
    tail -40 "$run/log" >&2
    ls "$run/artifacts" >&2
  fi
done
exit $status
