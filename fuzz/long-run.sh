#!/usr/bin/env bash
# Long coverage-guided runs of every fuzz target (nightly toolchain and cargo-fuzz needed; see
# README.md here). Usage: fuzz/long-run.sh [RUNS] [TARGET...]; default 10,000,000 runs of each target.
# New corpus entries go to fuzz/corpus/<target> (not committed); the seeds are read from fuzz/seeds.
# Prints libFuzzer's final statistics per target; a crash stops with the reproducer's path.
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parser sublist config connect live)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t"
  echo "== $t: $runs runs"
  start=$(date +%s)
  # live: every input is real TCP traffic to a server in the process; AddressSanitizer more than
  # halves its rate, so the long run goes without it (the other targets keep it, and a short live
  # run with it is `cargo +nightly fuzz run -O live`). sublist: each input builds a trie of up to a
  # few hundred subscriptions, so its inputs stay at 1 KiB for a useful rate.
  san=(); maxlen=4096
  [ "$t" = live ] && san=(-s none)
  [ "$t" = sublist ] && maxlen=1024
  cargo +nightly fuzz run -O "${san[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -runs="$runs" -max_len="$maxlen" -print_final_stats=1 -close_fd_mask=3 2>&1 \
    | grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)|Done|ERROR|crash-|panicked' || true
  echo "   wall: $(( $(date +%s) - start )) s"
done
