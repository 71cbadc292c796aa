#!/usr/bin/env bash
# The tree `npm start` leaves, soaked (issue 16): run the tour on a dev stack of its own, then keep the
# worker (`npm run worker`: reference + rotation worker) running and read the demo API's counters every
# five minutes. At the end: the schedule's describe, the tree, and whether any call was refused after
# the tour (the tour's own probe of the revoked v1 is the one refusal in its baseline).
#
#   test/faults/start-soak.sh                          # 60 minutes, ./.tokenrelay/start-soak, ports 16400+
#   TOKENRELAY_SOAK_MINUTES=10 test/faults/start-soak.sh
#
# Environment: TOKENRELAY_SOAK_MINUTES (60), TOKENRELAY_SOAK_HOME (.tokenrelay/start-soak),
# TOKENRELAY_SOAK_PORT_BASE (16400). The stack is left running for a look around: stop it with
# `TOKENRELAY_HOME=<home> npx tokenrelay dev down`. Exits 1 when a call was refused after the tour.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TOKENRELAY_HOME="${TOKENRELAY_SOAK_HOME:-.tokenrelay/start-soak}"
export TOKENRELAY_PORT_BASE="${TOKENRELAY_SOAK_PORT_BASE:-16400}"
minutes="${TOKENRELAY_SOAK_MINUTES:-60}"
out="$TOKENRELAY_HOME/soak"
mkdir -p "$out"

refused() { node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(Object.values(s.rejected).reduce((a,b)=>a+b,0))'; }

echo "tour: $(date -Is)"
npx tsx src/cli/main.ts start >"$out/start.log" 2>&1
url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).demoApi.url)' "$TOKENRELAY_HOME/dev.json")
curl -s "$url/stats" >"$out/stats-0.json"
baseline=$(refused <"$out/stats-0.json")

# Its own process group, so that stopping it stops tsx's node child too.
setsid npx tsx src/cli/main.ts worker >"$out/worker.log" 2>&1 </dev/null &
worker=$!
trap 'kill -INT -- "-$worker" 2>/dev/null || true' EXIT
echo "worker: $(date -Is), baseline $(cat "$out/stats-0.json")"
end=$((SECONDS + minutes * 60))
while ((SECONDS < end)); do
  sleep $((end - SECONDS < 300 ? end - SECONDS : 300))
  echo "$(date -Is) $(curl -s "$url/stats")" | tee -a "$out/stats.log"
done
npx tsx src/cli/main.ts rotation schedule describe --schedule-id inventory-sync-rotation >"$out/describe.txt" 2>&1 || true
npx tsx src/cli/main.ts token tree --workflow-id inventory-sync >"$out/tree.txt" 2>&1 || true
final=$(curl -s "$url/stats" | refused)
echo "end: $(date -Is), refused after the tour: $((final - baseline)) (files in $out)"
((final == baseline))
