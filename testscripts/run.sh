#!/bin/bash
# Runs the testscript suite against $SBX_BIN: as root and as $SBX_TEST_USER when run as
# root, else as the calling user. Extra arguments go to go test (for example -run).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SBX_BIN:?set SBX_BIN to the sbx binary}"
export SBX_BIN SBX_TEST_USER="${SBX_TEST_USER:-}"
if [ "$(id -u)" = 0 ] && [ -n "$SBX_TEST_USER" ] && ! id "$SBX_TEST_USER" >/dev/null 2>&1; then
	echo "testscripts: user $SBX_TEST_USER does not exist; run .ci/setup first (or set SBX_TEST_USER= to test as root only)" >&2
	exit 1
fi
# Static, so that its helper programs (udpechoserver) also run inside busybox containers.
export CGO_ENABLED=0
exec go test -count=1 -timeout 60m ./testscripts "$@"
