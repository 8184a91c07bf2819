#!/usr/bin/env bash
# Compares corenats with nats-server using loadgen; writes docs/bench/. See compare.py --help.
# A sanity run of the script itself: CORENATS_BIN=$(command -v nats-server) tools/compare/run.sh --quick
# TLS rows only: --groups tls (certificates are made per run with openssl or Python's cryptography).
# Leaf rows only: --groups leaf (each side's leaf dials its own nats-server hub on the other CPU).
# Cluster rows only: --groups cluster (a 2-node cluster per side, node 1 on CPU 0 and node 2 on CPU 1;
# publisher/requester on node 1, subscriber/responder on node 2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$here/compare.py" "$@"
