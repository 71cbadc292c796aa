#!/bin/sh
# `npm run test:unit` (and the fast tier): the unit and replay tests, files and the tests in them in a
# new random order each run, so no test comes to rely on another one having run first. The order's
# seed is printed; TOKENRELAY_TEST_SEED=<seed> repeats a failing order. Extra arguments go to vitest.
seed="${TOKENRELAY_TEST_SEED:-$(date +%s)}"
echo "unit tests in random order, seed $seed (repeat it with TOKENRELAY_TEST_SEED=$seed)"
exec npx vitest run --project unit --sequence.shuffle --sequence.seed="$seed" "$@"
