#!/usr/bin/env bash
# Raises the open-files limit (the connections workload holds tens of thousands of sockets in
# the load generator and in each target, and children inherit the limit), then runs the bench.
set -euo pipefail
cd "$(dirname "$0")/.."
want=65536
hard=$(ulimit -Hn)
if [[ "$hard" != unlimited && "$hard" -lt "$want" ]]; then
  # Only root may raise the hard limit; everyone else gets as far as the hard limit allows.
  ulimit -Hn "$want" 2>/dev/null || want=$hard
fi
ulimit -Sn "$want"
exec node --import tsx bench/run.ts "$@"
