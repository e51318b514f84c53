#!/bin/bash
# build.sh: how fast sbx builds a Dockerfile, compared with podman build.
#
# Uses hyperfine to time two pairs on the same Dockerfile and context (a Debian bookworm
# minbase base, COPY of a few hundred small files and a 5 MB file, RUNs that write and
# delete files) and prints one line per pair with the two medians and the ratio
# sbx/podman (the goal is <= 1.0):
#   1. a first build: `build --no-cache` (RUNS runs, default 5);
#   2. a cached rebuild of the unchanged context (20 runs, 2 warmups).
# The base image is the one bench/image_load.sh makes (bench/out/debian.docker.tar, built
# once with debootstrap and podman when missing).
#
# podman runs its RUN steps with --isolation chroot: on a host whose cgroup v2 hierarchy
# has controllers while v1 is in use (hybrid), crun refuses to start containers at all,
# and chroot isolation needs no OCI runtime. It is the lighter of podman's isolations;
# sbx's RUN gets a container's full set of namespaces. Both use --network host.
#
# Run it as root on Debian 12:
#   apt-get install -y podman debootstrap hyperfine && make sbx && bench/build.sh
# Environment: SBX (the binary, default ../sbx next to this script), RUNS, MIRROR (a
# Debian mirror for debootstrap), BENCH_USER (a user with /etc/subuid and /etc/subgid
# ranges; both pairs are timed again rootless as that user).
# The host's podman state is never touched: every podman call uses a throwaway store.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 1; }
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

TMP=$(mktemp -d /tmp/sbxbb.XXXXXX)
RUNROOT=/run/sbxbb-$$ # podman refuses a runroot path of 50 characters or more
cleanup() {
	local pause=$TMP/user/xdg/libpod/tmp/pause.pid
	if [ -s "$pause" ]; then kill "$(cat "$pause")" 2>/dev/null || true; fi
	rm -rf --one-file-system "$TMP" "$RUNROOT"
}
trap cleanup EXIT

q() { printf '%q ' "$@"; } # quote for the shell hyperfine runs commands with

# podman_at ROOT RUNROOT [ARGS...]: a podman command line using only that store.
podman_at() {
	q podman --root "$1" --runroot "$2" --storage-driver overlay \
		--events-backend none --cgroup-manager cgroupfs
	shift 2
	[ $# = 0 ] || q "$@"
}

# The base image: made once by image_load.sh's recipe when it is not there yet.
build_image() {
	[ -s "$IMAGE" ] && return
	echo "building $IMAGE (once; takes a few minutes)"
	local rootfs=$TMP/rootfs podman
	debootstrap --variant=minbase bookworm "$rootfs" "${MIRROR:-http://deb.debian.org/debian}" >"$TMP/debootstrap.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 1 "$TMP/debootstrap.log")"
	tar -C "$rootfs" --numeric-owner -cf "$TMP/rootfs.tar" .
	rm -rf "$rootfs"
	podman=$(podman_at "$TMP/build" "$RUNROOT")
	eval "$podman import -q $(q "$TMP/rootfs.tar") localhost/sbxbench/debian:bookworm" >/dev/null
	mkdir -p "$(dirname "$IMAGE")"
	eval "$podman save -q --format docker-archive -o $(q "$IMAGE.part") localhost/sbxbench/debian:bookworm"
	eval "$podman rmi -a -f" >/dev/null
	rm -rf "$TMP/build" "$TMP/rootfs.tar" "$RUNROOT"
	mv "$IMAGE.part" "$IMAGE"
}

# write_context DIR: the Dockerfile and the files it copies.
write_context() {
	local ctx=$1 i
	mkdir -p "$ctx/src"
	for i in $(seq 300); do echo "source file $i" >"$ctx/src/file$i.txt"; done
	head -c 5000000 /dev/urandom >"$ctx/blob.bin"
	echo "*.tmp" >"$ctx/.dockerignore"
	cat >"$ctx/Dockerfile" <<'EOF'
FROM localhost/sbxbench/debian:bookworm
ARG VERSION=1
ENV APP=/app
WORKDIR /app
COPY src/ /app/src/
COPY blob.bin /app/
RUN echo "version $VERSION" > /app/version.txt && ls /usr/bin | wc -l > /app/bins.txt
RUN rm -rf /usr/share/doc /usr/share/man /var/cache/apt
LABEL org.example.bench=build
CMD ["cat", "/app/version.txt"]
EOF
}

# summary TITLE JSON: median sbx, median podman and their ratio.
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

# section LABEL DIR RUNROOT [RUNNER...]: both pairs with stores under DIR, every command
# run through RUNNER.
section() {
	local label=$1 dir=$2 runroot=$3
	shift 3
	"$@" mkdir -p "$dir"
	local sbx podman ctx
	sbx="SBX_ROOT=$(q "$dir/sbx") $(q "$SBX")"
	podman=$(podman_at "$dir/podman" "$runroot")
	ctx=$(q "$TMP/ctx")
	echo "== ${label:-as root}"
	"$@" sh -c "$sbx image load -q -i $(q "$IMAGE") >/dev/null"
	"$@" sh -c "$podman load -q -i $(q "$IMAGE") >/dev/null"
	local sb="$sbx build -q --network host -t bench:1" pb="$podman build -q --isolation chroot --network host -t bench:1"
	"$@" hyperfine --runs "$RUNS" --export-json "$dir/first.json" \
		-n sbx "$sb --no-cache $ctx" -n podman "$pb --no-cache $ctx"
	"$@" hyperfine --runs 20 --warmup 2 --export-json "$dir/cached.json" \
		-n sbx "$sb $ctx" -n podman "$pb $ctx"
	# The two images agree on what the build made.
	"$@" sh -c "$sbx run --rm --net=none bench:1" | grep -qx "version 1" || die "sbx's image does not run"
	"$@" sh -c "$sbx system reset --force >/dev/null"
	"$@" sh -c "$podman rmi -a -f >/dev/null 2>&1; rm -rf $(q "$dir/podman") $(q "$runroot")"
	summary "first build (no cache${label:+, $label})" "$dir/first.json" >>"$TMP/summary"
	summary "cached rebuild${label:+ ($label)}" "$dir/cached.json" >>"$TMP/summary"
}

build_image
write_context "$TMP/ctx"
chmod -R a+rX "$TMP"
echo "$("$SBX" --version); $(podman --version); base $IMAGE"
section "" "$TMP/root" "$RUNROOT"

if [ -n "${BENCH_USER:-}" ]; then
	u=$TMP/user
	mkdir -p "$u/home" "$u/xdg"
	chmod 755 "$TMP"
	chmod 700 "$u/xdg"
	chown -R "$BENCH_USER:" "$u"
	as=(runuser -u "$BENCH_USER" -- env HOME="$u/home" XDG_RUNTIME_DIR="$u/xdg" XDG_CONFIG_HOME="$u/home/.config")
	section "rootless as $BENCH_USER" "$u" "$u/run" "${as[@]}"
fi

echo
cat "$TMP/summary"
