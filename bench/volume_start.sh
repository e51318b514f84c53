#!/bin/bash
# volume_start.sh: does a bind mount's size change how fast a container starts? sbx never
# walks or chowns a bind source (ownership comes from the id mapping), so a directory of
# 100,000 files should start exactly as fast as an empty one.
#
# hyperfine (RUNS runs, default 20, 3 warmups, -N) times, with DIR holding 100,000 files
# and with DIR empty:
#   sbx run --rm --net=none -v DIR:/data busybox true
#   podman run --rm --network=none -v DIR:/data busybox true   (skipped, with the reason,
#                                                              where podman cannot run)
# and prints the medians and the ratio full/empty (goal: no measurable difference).
# Run it as root: make sbx && bench/volume_start.sh. BENCH_USER=sbxtest measures rootless.
set -euo pipefail

die() { echo "volume_start.sh: $*" >&2; exit 1; }
RUNS=${RUNS:-20}
[ "$(id -u)" = 0 ] || die "run as root"
for c in hyperfine busybox python3; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install -y hyperfine busybox-static)"
done
src=${SBX:-$(dirname "$0")/../sbx}
[ -x "$src" ] || die "no sbx binary at $src (run make sbx)"

TMP=$(mktemp -d /tmp/sbxv.XXXXXX)
chmod 755 "$TMP"
cleanup() {
	SBX_ROOT="$TMP/sbx" "$TMP/bin/sbx" system reset --force >/dev/null 2>&1 || true
	if [ -n "${BENCH_USER:-}" ]; then
		runuser -u "$BENCH_USER" -- env SBX_ROOT="$TMP/sbxu" "$TMP/bin/sbx" system reset --force >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/bin" "$TMP/rootfs/bin" "$TMP/rootfs/etc" "$TMP/empty" "$TMP/full" "$TMP/out"
chmod 1777 "$TMP/out" # hyperfine writes its results here as the rootless user too
cp "$src" "$TMP/bin/sbx"
sbx="$TMP/bin/sbx"
cp "$(command -v busybox)" "$TMP/rootfs/bin/busybox"
for a in $("$TMP/rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$TMP/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$TMP/rootfs/etc/passwd"
tar -C "$TMP/rootfs" -cf "$TMP/rootfs.tar" .
python3 -c '
import os, sys
d = sys.argv[1]
for i in range(100000):
    open(os.path.join(d, "f%06d" % i), "w").close()
' "$TMP/full"
chmod -R a+rX "$TMP/full" "$TMP/empty" "$TMP/rootfs.tar"

median() { python3 -c 'import json,sys; print("%.1f" % (1000*json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"]))' "$1" "$2"; }
ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1])/float(sys.argv[2])))' "$1" "$2"; }

# measure LABEL AS-PREFIX...: the sbx pair, as root or through runuser.
measure() {
	local label=$1 root=$2; shift 2
	"$@" env SBX_ROOT="$root" "$sbx" image import -q "$TMP/rootfs.tar" busybox >/dev/null
	local json="$TMP/out/${label// /_}.json"
	"$@" env SBX_ROOT="$root" hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$json" \
		"$sbx run --rm --net=none -v $TMP/full:/data busybox true" \
		"$sbx run --rm --net=none -v $TMP/empty:/data busybox true" >/dev/null
	local full empty
	full=$(median "$json" 0)
	empty=$(median "$json" 1)
	echo "bind of 100,000 files, $label: sbx ${full} ms, empty dir ${empty} ms, ratio $(ratio "$full" "$empty") (goal: 1.00)"
}

measure root "$TMP/sbx"
if [ -n "${BENCH_USER:-}" ]; then
	mkdir -p "$TMP/sbxu"
	chown "$BENCH_USER" "$TMP/sbxu"
	measure "rootless as $BENCH_USER" "$TMP/sbxu" runuser -u "$BENCH_USER" --
fi

# podman, in a throwaway store.
if command -v podman >/dev/null; then
	P=(podman --root "$TMP/proot" --runroot "/run/sbxv-$$" --storage-driver overlay --events-backend none --cgroup-manager cgroupfs)
	"${P[@]}" import -q "$TMP/rootfs.tar" busybox >/dev/null
	if err=$("${P[@]}" run --rm --network=none -v "$TMP/empty:/data" busybox true 2>&1); then
		hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$TMP/podman.json" \
			"${P[*]} run --rm --network=none -v $TMP/full:/data busybox true" \
			"${P[*]} run --rm --network=none -v $TMP/empty:/data busybox true" >/dev/null
		full=$(median "$TMP/podman.json" 0)
		empty=$(median "$TMP/podman.json" 1)
		echo "bind of 100,000 files, root: podman ${full} ms, empty dir ${empty} ms, ratio $(ratio "$full" "$empty")"
	else
		echo "podman run skipped (root): $(echo "$err" | tail -1)"
	fi
	"${P[@]}" rmi -a -f >/dev/null 2>&1 || true
	umount "$TMP/proot/overlay" 2>/dev/null || true
	rm -rf "/run/sbxv-$$"
fi
