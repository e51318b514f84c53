#!/bin/bash
# Runs examples/testscript (its own Go module) against $SBX the way a user would: `go test`
# in a copy of the module. Run as root it runs twice: as root, then as the unprivileged
# $SBX_TEST_USER in a copy the user owns, with a module cache of its own filled from root's
# (the example pins sbx's own versions, so its go test needs nothing from the network).
set -euo pipefail
: "${SBX:?set SBX to the sbx binary}"
SBX=$(realpath "$SBX")
cd "$(dirname "$0")/.."
# The example pins sbx's own versions of these: fetch them as sbx's module (a no-op when the
# cache has them, as it does once the testscripts have been built), then never again.
go mod download github.com/rogpeppe/go-internal golang.org/x/sys golang.org/x/tools
cd examples/testscript
export SBX GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
go test -count=1 ./...
user=${SBX_TEST_USER:-}
if [ "$(id -u)" != 0 ] || [ -z "$user" ]; then
	exit 0
fi
if ! id "$user" >/dev/null 2>&1; then
	echo "run_example: user $user does not exist; run .ci/setup first (or set SBX_TEST_USER= to test as root only)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/sbx-example-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
# The checkout and root's module cache may sit in directories only root can read.
mkdir "$tmp/src" "$tmp/tmp" "$tmp/gocache" "$tmp/gopath"
cp -r go.mod go.sum ./*.go testdata "$tmp/src/"
cp "$SBX" "$tmp/sbx"
cache=$(go env GOMODCACHE)
(cd "$tmp/src" && GOMODCACHE="$tmp/mod" GOPROXY="file://$cache/cache/download" go mod download)
chown -R "$user:" "$tmp/src" "$tmp/tmp" "$tmp/gocache" "$tmp/gopath"
cd "$tmp/src"
runuser -u "$user" -- env -i \
	PATH="$(dirname "$(command -v go)"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	HOME="$(getent passwd "$user" | cut -d: -f6)" USER="$user" TMPDIR="$tmp/tmp" \
	GOMODCACHE="$tmp/mod" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" \
	GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local SBX="$tmp/sbx" \
	go test -count=1 ./...
