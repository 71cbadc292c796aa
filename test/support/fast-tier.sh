#!/bin/sh
# `npm run test:fast`: lint first (seconds), then the type-check, the Go server's vet and tests, and the
# unit and replay tests side by side. Run one after another they took 90 s on 2 cores; tsc and Go are
# single-threaded, so they fit beside vitest. Every failure is reported; the exit status is the first
# failing step's.
set -u
npx biome check . || exit 1

npx tsc --noEmit &
typecheck=$!
npm run -s test:go &
go=$!
sh test/support/unit-tests.sh
unit=$?
wait "$typecheck"
typecheck_status=$?
wait "$go"
go_status=$?

[ "$typecheck_status" -eq 0 ] || echo "test:fast: the type-check (tsc --noEmit) failed" >&2
[ "$go_status" -eq 0 ] || echo "test:fast: the Go server's vet or tests (npm run test:go) failed" >&2
[ "$unit" -eq 0 ] || echo "test:fast: the unit or replay tests failed" >&2
[ "$typecheck_status" -eq 0 ] || exit "$typecheck_status"
[ "$go_status" -eq 0 ] || exit "$go_status"
exit "$unit"
