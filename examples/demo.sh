#!/bin/bash
# The main job end to end: build sbx, make a small image from the host's busybox-static,
# and run a container with a volume. Run it as an ordinary user with /etc/subuid and
# /etc/subgid ranges (or as root); .ci/setup prepares a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
make sbx

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A root filesystem: busybox and one symlink per applet.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for applet in $("$work/rootfs/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/rootfs/etc/passwd"
echo 'root:x:0:' > "$work/rootfs/etc/group"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .

./sbx image import "$work/busybox.tar" busybox
./sbx images busybox
mkdir -p "$work/storage"
./sbx run --rm -v "$work/storage:/leader" busybox sh -c 'echo hello from $(hostname) > /leader/greeting; id'
echo "the host sees: $(cat "$work/storage/greeting") (owner: $(stat -c %U "$work/storage/greeting"))"
