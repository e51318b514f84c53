#!/bin/bash
# image_load.sh: how fast sbx loads and lists images, compared with podman.
#
# Uses hyperfine to time two pairs and prints one line per pair with the two medians
# and the ratio sbx/podman (the goal is <= 1.0):
#   1. `sbx image load -q -i debian.docker.tar` vs `podman load -q -i ...`. Every run
#      starts from a fresh empty store (RUNS runs, default 5).
#   2. `sbx images` vs `podman images` with that image loaded (20 runs, 3 warmups).
# The image is Debian bookworm minbase (100+ MB). It is built once with debootstrap and
# podman, then cached as bench/out/debian.docker.tar (bench/out/ is git-ignored).
#
# Run it as root on Debian 12:
#   apt-get install -y podman debootstrap hyperfine && make sbx && bench/image_load.sh
# Environment: SBX (the binary, default ../sbx next to this script), RUNS, MIRROR (a
# Debian mirror for debootstrap), BENCH_USER (a user with /etc/subuid and /etc/subgid
# ranges; both pairs are timed again rootless as that user).
# The host's podman state is never touched: every podman call uses a throwaway store.
set -euo pipefail

die() { echo "image_load.sh: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
SBX=$(realpath "${SBX:-$(dirname "$0")/../sbx}")
RUNS=${RUNS:-5}
IMAGE=$here/out/debian.docker.tar

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and the root pair need it)"
for c in podman debootstrap hyperfine python3; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install -y podman debootstrap hyperfine)"
done
[ -x "$SBX" ] || die "no sbx binary at $SBX (run make sbx)"
[ -z "${BENCH_USER:-}" ] || id "$BENCH_USER" >/dev/null 2>&1 || die "no user $BENCH_USER"

TMP=$(mktemp -d /tmp/sbxb.XXXXXX)
RUNROOT=/run/sbxb-$$ # podman refuses a runroot path of 50 characters or more
cleanup() {
	# A rootless podman keeps a pause process (it holds its user namespace) alive.
	local pause=$TMP/user/xdg/libpod/tmp/pause.pid
	if [ -s "$pause" ]; then kill "$(cat "$pause")" 2>/dev/null || true; fi
	# load and images leave nothing mounted; should that change, don't delete through a mount.
	rm -rf --one-file-system "$TMP" "$RUNROOT"
}
trap cleanup EXIT

q() { printf '%q ' "$@"; } # quote for the shell hyperfine runs commands with

# podman_at ROOT RUNROOT [ARGS...]: a podman command line using only that store.
podman_at() {
	q podman --root "$1" --runroot "$2" --storage-driver overlay \
		--events-backend none --cgroup-manager cgroupfs
	shift 2
	[ $# = 0 ] || q "$@" # printf would print '' for no arguments
}

# mirrors: deb.debian.org first, then the Debian mirrors apt is configured with.
mirrors() {
	{
		echo "${MIRROR:-http://deb.debian.org/debian}"
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
			grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)'
	} | tr -d ' ' | awk '!seen[$0]++'
}

build_image() {
	[ -s "$IMAGE" ] && return
	local rootfs=$TMP/rootfs mirror ok=
	echo "building $IMAGE (once; takes a few minutes)"
	for mirror in $(mirrors); do
		rm -rf "$rootfs"
		if debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$TMP/debootstrap.log" 2>&1; then
			ok=1 && break
		fi
		echo "debootstrap from $mirror failed: $(tail -n 1 "$TMP/debootstrap.log")" >&2
	done
	[ -n "$ok" ] || die "debootstrap failed from every mirror"
	tar -C "$rootfs" --numeric-owner -cf "$TMP/rootfs.tar" .
	rm -rf "$rootfs"
	local podman
	podman=$(podman_at "$TMP/build" "$RUNROOT")
	eval "$podman import -q $(q "$TMP/rootfs.tar") localhost/sbxbench/debian:bookworm" >/dev/null
	mkdir -p "$(dirname "$IMAGE")"
	eval "$podman save -q --format docker-archive -o $(q "$IMAGE.part") localhost/sbxbench/debian:bookworm"
	eval "$podman rmi -a -f" >/dev/null
	rm -rf "$TMP/build" "$TMP/rootfs.tar" "$RUNROOT"
	mv "$IMAGE.part" "$IMAGE"
}

# summary TITLE JSON: median sbx, median podman (if it ran) and their ratio.
summary() {
	python3 - "$@" <<'EOF'
import json, sys
title, path = sys.argv[1:]
med = {r["command"]: r["median"] for r in json.load(open(path))["results"]}
fmt = lambda s: f"{s:.2f} s" if s >= 1 else f"{s * 1000:.1f} ms"
line = f"{title}: sbx {fmt(med['sbx'])}"
if "podman" in med:
    line += f", podman {fmt(med['podman'])}, ratio {med['sbx'] / med['podman']:.2f} (goal <= 1.0)"
print(line)
EOF
}

# section LABEL DIR RUNROOT SKIP [RUNNER...]: both pairs with stores under DIR, every
# command run through RUNNER. SKIP, when not empty, says why podman is left out.
section() {
	local label=$1 dir=$2 runroot=$3 skip=$4
	shift 4
	"$@" mkdir -p "$dir"
	local sbx podman image mb sbx_reset podman_reset
	sbx="SBX_ROOT=$(q "$dir/sbx") $(q "$SBX")"
	podman=$(podman_at "$dir/podman" "$runroot")
	image=$(q "$IMAGE")
	mb=$(($(stat -c %s "$IMAGE") / 1000000))
	sbx_reset="$sbx system reset --force >/dev/null"
	podman_reset="$podman rmi -a -f >/dev/null 2>&1; rm -rf $(q "$dir/podman" "$runroot")"
	local -a pload=() plist=()
	echo "== ${label:-as root}"
	if [ -n "$skip" ]; then
		echo "podman skipped${label:+ ($label)}: $skip" | tee -a "$TMP/summary"
	else
		pload=(-n podman --prepare "$podman_reset" "$podman load -q -i $image")
		plist=(-n podman "$podman images")
	fi

	"$@" hyperfine --runs "$RUNS" --export-json "$dir/load.json" \
		-n sbx --prepare "$sbx_reset" "$sbx image load -q -i $image" "${pload[@]}"
	# Populate each store once for the listing pair.
	"$@" sh -c "$sbx_reset && $sbx image load -q -i $image >/dev/null"
	[ -n "$skip" ] || "$@" sh -c "$podman_reset; $podman load -q -i $image >/dev/null"
	"$@" hyperfine --runs 20 --warmup 3 --export-json "$dir/images.json" \
		-n sbx "$sbx images" "${plist[@]}"
	"$@" sh -c "$sbx_reset"
	[ -n "$skip" ] || "$@" sh -c "$podman_reset"

	summary "image load (debian $mb MB${label:+, $label})" "$dir/load.json" >>"$TMP/summary"
	summary "images (1 image${label:+, $label})" "$dir/images.json" >>"$TMP/summary"
}

build_image
echo "$("$SBX" --version); $(podman --version); image $IMAGE"
section "" "$TMP/root" "$RUNROOT" ""

if [ -n "${BENCH_USER:-}" ]; then
	# The user gets its own HOME and XDG_RUNTIME_DIR so that neither podman's
	# config nor the user's real home is involved.
	u=$TMP/user
	mkdir -p "$u/home" "$u/xdg"
	chmod 755 "$TMP"
	chmod 700 "$u/xdg"
	chown -R "$BENCH_USER:" "$u"
	as=(runuser -u "$BENCH_USER" -- env HOME="$u/home" XDG_RUNTIME_DIR="$u/xdg" XDG_CONFIG_HOME="$u/home/.config")
	# One trial load tells whether rootless podman works here at all (the section's
	# first reset empties that store again).
	skip=
	if ! "${as[@]}" sh -c "$(podman_at "$u/podman" "$u/run" load -q -i "$IMAGE")" >"$TMP/try.log" 2>&1; then
		skip="rootless podman load failed: $(grep -v '^$' "$TMP/try.log" | tail -n 1)"
	fi
	section "rootless as $BENCH_USER" "$u" "$u/run" "$skip" "${as[@]}"
fi

echo
cat "$TMP/summary"
