#!/bin/sh
# Runs the test suite (the same files as `npm test`) with TAP output, shows it, and prints
# "N passed, N failed" from the TAP totals, keeping ava's exit code.
npx ava --tap > ava.tap
rc=$?
cat ava.tap
awk '/^# pass/{p=$3} /^# fail/{f=$3} END{print (p+0)" passed, "(f+0)" failed"}' ava.tap
exit $rc
