#!/bin/bash
# run_start.sh: how fast sbx starts a container, and what one costs while it runs.
#
# 1. Start latency: hyperfine (RUNS runs, default 20, 3 warmups, no shell: -N) times
#      sbx run --rm --net=none busybox true
#      podman run --rm --network=none busybox true
#      crun run (a bundle running /bin/true)
#      bwrap --unshare-all (the same rootfs, /bin/true)
#      unshare -mpf --mount-proc true   (the floor; -Urmpf rootless)
#    and prints the medians with the ratios sbx/bwrap (goal <= 2.5), sbx/podman
#    (goal <= 0.1), sbx/crun and sbx/floor.
# 2. Parallel: 10 rounds of 16 `sbx run --rm` at once; p50, p99 and p99/p50 (goal < 2)
#    of the 160 wall times. Every run must exit 0 and leave no container behind.
# 3. Memory: the RSS, PSS and USS of the supervisor of one running container
#    (goal < 10 MB).
# The image is a busybox rootfs made from the host's busybox-static. Every tool uses a
# throwaway store; the host's podman, crun and sbx state is never touched.
#
# Run it as root:
#   apt-get install -y busybox-static hyperfine crun bubblewrap podman && make sbx && bench/run_start.sh
# Environment: SBX (the binary, default ../sbx next to this script; a copy is used, so
# rebuilding during the run is harmless), RUNS, BENCH_USER (a user with /etc/subuid and
# /etc/subgid ranges; everything is measured again rootless as that user), BENCH_DIR
# (where the throwaway stores go, default /tmp; /dev/shm takes the disk out of the figures).
set -euo pipefail

die() { echo "run_start.sh: $*" >&2; exit 1; }
# fail: a measurement went wrong; the rest still runs, the script exits 1 at the end.
fail() { echo "FAILED: $*" | tee -a "$TMP/failed" >&2; }
RUNS=${RUNS:-20}
export LC_ALL=C # EPOCHREALTIME with a decimal point

[ "$(id -u)" = 0 ] || die "run as root"
for c in hyperfine podman crun bwrap busybox unshare nsenter pgrep python3; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install -y busybox-static hyperfine crun bubblewrap podman)"
done
src=${SBX:-$(dirname "$0")/../sbx}
[ -x "$src" ] || die "no sbx binary at $src (run make sbx)"
[ -z "${BENCH_USER:-}" ] || id "$BENCH_USER" >/dev/null 2>&1 || die "no user $BENCH_USER"

# Every tool's store and files go under BENCH_DIR. Where it is a disk filesystem, a tool
# that makes many files pays for what ran before: on a journal-less ext4 each new file skips
# the inodes freed in the last minute or more, one by one.
TMP=$(mktemp -d "${BENCH_DIR:-/tmp}/sbxs.XXXXXX")
chmod 755 "$TMP" # BENCH_USER reads the binary, the rootfs and the bundle from here
RUNROOT=/run/sbxr-$$ # podman refuses a runroot path of 50 characters or more
SBX=$TMP/sbx
cp "$src" "$SBX"
NS=

cleanup() {
	set +e
	local d id
	local -a u
	for d in "$TMP/root" "$TMP/user"; do
		[ -d "$d" ] || continue
		u=()
		[ "$d" = "$TMP/root" ] || u=(runuser -u "$BENCH_USER" --)
		# sbx's own reset removes its containers too; rootless only the user can.
		[ -d "$d/sbx" ] && "${u[@]}" env SBX_ROOT="$d/sbx" "$SBX" system reset --force >/dev/null 2>&1
		for id in $(crun --root "$d/crun" list -q 2>/dev/null); do
			crun --root "$d/crun" delete -f "$id" >/dev/null 2>&1
		done
		# A rootless podman keeps a pause process (it holds its user namespace) alive.
		[ -s "$d/xdg/libpod/tmp/pause.pid" ] && kill "$(cat "$d/xdg/libpod/tmp/pause.pid")"
	done
	# podman as root bind-mounts its overlay dir onto itself; the namespace file is a mount.
	awk -v t="$TMP/" -v r="$RUNROOT/" 'index($5, t) == 1 || index($5, r) == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r | xargs -r umount -l
	rm -rf --one-file-system "$TMP" "$RUNROOT"
}
trap cleanup EXIT

q() { printf '%q ' "$@"; } # quote for hyperfine's word splitting and for sh -c

podman_at() { # podman_at ROOT RUNROOT: a podman command line using only that store
	q podman --root "$1" --runroot "$2" --storage-driver overlay \
		--events-backend none --cgroup-manager cgroupfs
}

# The rootfs: busybox, one symlink per applet, root in /etc/passwd, empty mount points.
rootfs=$TMP/bundle/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$rootfs/bin/"
for a in $(/bin/busybox --list); do [ -e "$rootfs/bin/$a" ] || ln -s busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" --numeric-owner -cf "$TMP/rootfs.tar" .
chmod 644 "$TMP/rootfs.tar"
# crun's rootless spec has no uid mappings (crun maps the caller to 0), so the one bundle
# serves root and BENCH_USER.
(cd "$TMP/bundle" && crun spec --rootless)
python3 - "$TMP/bundle/config.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["process"]["args"], s["process"]["terminal"] = ["/bin/true"], False
json.dump(s, open(sys.argv[1], "w"), indent=1)
EOF

# crun refuses hybrid cgroups whose v2 hierarchy has controllers (it won't start a
# container at all, as root or not). Where that is so, a pinned mount namespace hides
# the v2 controller list, and crun and podman are tried in it if they fail outside.
# hyperfine itself runs in that namespace, so no extra process is timed.
if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
	NS=$TMP/mntns
	touch "$NS"
	unshare --mount="$NS" --propagation private \
		mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers
fi

# report LABEL start JSON... | parallel FILE | memory PID: one summary line per comparison.
report() {
	python3 - "$@" <<'EOF'
import json, math, sys
label, kind, *args = sys.argv[1:]
ms = lambda s: f"{s * 1000:.1f} ms"
if kind == "start":
    med = {}
    for path in args:
        med.update({r["command"]: r["median"] for r in json.load(open(path))["results"]})
    goals = {"bwrap": " (goal <= 2.5)", "podman": " (goal <= 0.1)"}
    for other in ("bwrap", "podman", "crun", "floor"):
        if other in med:
            r = med['sbx'] / med[other]
            # Three decimals below 1: 0.104 and 0.096 must not both read 0.10 against 0.1.
            print(f"start, {label}: sbx {ms(med['sbx'])}, {other} {ms(med[other])}, "
                  f"sbx/{other} {r:.{3 if r < 1 else 2}f}{goals.get(other, '')}")
elif kind == "parallel":
    runs = [l.split() for l in open(args[0])]
    t = sorted(float(e) - float(s) for rc, s, e in runs if rc == "0")
    if not t:
        sys.exit(print(f"parallel start, {label}: no run of {len(runs)} ok"))
    p = lambda q: t[math.ceil(q / 100 * len(t)) - 1]
    print(f"parallel start, {label}: {len(t)} of {len(runs)} runs ok (16 at once): p50 {ms(p(50))}, "
          f"p99 {ms(p(99))}, p99/p50 {p(99) / p(50):.2f} (goal < 2)")
else:
    kb = {}
    for l in open(f"/proc/{args[0]}/smaps_rollup"):
        f = l.split()
        if len(f) == 3 and f[2] == "kB":
            kb[f[0].rstrip(":")] = int(f[1])
    mb = {"RSS": kb["Rss"], "PSS": kb["Pss"], "USS": kb["Private_Clean"] + kb["Private_Dirty"]}
    mb = {k: v * 1024 / 1e6 for k, v in mb.items()}
    met = [k for k, v in mb.items() if v < 10]
    print(f"supervisor memory, {label}: " + ", ".join(f"{k} {v:.1f} MB" for k, v in mb.items())
          + f" (goal < 10 MB: {'met by ' + ', '.join(met) if met else 'not met'})")
EOF
}

# parallel_rounds SBX OUT: 10 rounds of 16 concurrent starts; "rc start end" per run.
parallel_rounds() {
	for _ in {1..10}; do
		for _ in {1..16}; do
			(
				s=$EPOCHREALTIME
				"$1" run --rm --net=none busybox true >/dev/null 2>>"$2.err"
				rc=$?
				echo "$rc $s $EPOCHREALTIME" >>"$2"
			) &
		done
		wait
	done
}

# section USER DIR RUNROOT: everything, as root (USER empty) or rootless as USER.
section() {
	local user=$1 dir=$2 runroot=$3 label=root floor="unshare -mpf --mount-proc true"
	local -a as=(env) masked=()
	if [ -n "$user" ]; then
		label="rootless as $user"
		floor="unshare -Urmpf --mount-proc true"
		# Its own HOME and XDG_RUNTIME_DIR: neither podman's config nor the real home is used.
		mkdir -p "$dir/home" "$dir/xdg"
		chmod 700 "$dir/xdg"
		chown -R "$user:" "$dir"
		local -a envs=(env HOME="$dir/home" XDG_RUNTIME_DIR="$dir/xdg" XDG_CONFIG_HOME="$dir/home/.config")
		as=(runuser -u "$user" -- "${envs[@]}")
		[ -z "$NS" ] || masked=(nsenter --mount="$NS" -S "$(id -u "$user")" -G "$(id -g "$user")" "${envs[@]}")
	else
		mkdir -p "$dir"
		[ -z "$NS" ] || masked=(nsenter --mount="$NS" env)
	fi
	echo "== $label"
	local sbx podman crun
	sbx=$(q "$SBX")
	podman=$(podman_at "$dir/podman" "$runroot")
	crun="$(q crun --root "$dir/crun") run --bundle $(q "$TMP/bundle") sbxbench"
	"${as[@]}" SBX_ROOT="$dir/sbx" "$SBX" image import -q "$TMP/rootfs.tar" busybox >/dev/null
	"${as[@]}" sh -c "$podman import -q $(q "$TMP/rootfs.tar") busybox" >/dev/null

	# Commands timed as they are, and those that only run in the namespace of $NS.
	local -a plain=(-n sbx "$sbx run --rm --net=none busybox true"
		-n bwrap "bwrap --unshare-all --ro-bind $(q "$rootfs") / --proc /proc --dev /dev /bin/true"
		-n floor "$floor") inns=()
	local way ulimit cmd err=
	local -a run nsnames=()
	# podman as root may fail in crun's setrlimit (no CAP_SYS_RESOURCE in some sandboxes):
	# --ulimit host is tried next.
	for way in plain masked; do
		[ $way = plain ] || [ -n "$NS" ] || continue
		for ulimit in "" "--ulimit host "; do
			cmd="$podman run --rm --network=none ${ulimit}busybox true"
			# A rootless pause process made outside the namespace would take podman back out.
			[ $way = plain ] || [ ! -s "$dir/xdg/libpod/tmp/pause.pid" ] ||
				kill "$(cat "$dir/xdg/libpod/tmp/pause.pid")"
			if [ $way = plain ]; then run=("${as[@]}"); else run=("${masked[@]}"); fi
			if "${run[@]}" sh -c "$cmd" >"$dir/try.log" 2>&1; then
				if [ $way = plain ]; then plain+=(-n podman "$cmd"); else inns+=(-n podman "$cmd") nsnames+=(podman); fi
				err= && break 2
			fi
			err=$(grep -v '^$' "$dir/try.log" | tail -n 1)
		done
	done
	[ -z "$err" ] || echo "podman run skipped ($label): $err" | tee -a "$TMP/summary"
	# crun run without -d deletes the container when it exits, so one id serves every run.
	if "${as[@]}" sh -c "$crun" >"$dir/try.log" 2>&1; then
		plain+=(-n crun "$crun")
	elif [ -n "$NS" ] && "${masked[@]}" sh -c "$crun" >"$dir/try.log" 2>&1; then
		inns+=(-n crun "$crun") nsnames+=(crun)
	else
		echo "crun skipped ($label): $(grep -v '^$' "$dir/try.log" | tail -n 1)" | tee -a "$TMP/summary"
	fi

	local -a hf=(hyperfine -N --warmup 3 --runs "$RUNS")
	"${as[@]}" SBX_ROOT="$dir/sbx" "${hf[@]}" --export-json "$dir/start.json" "${plain[@]}"
	local json=("$dir/start.json")
	if [ ${#inns[@]} -gt 0 ]; then
		echo "($(IFS=/ && echo "${nsnames[*]}") timed in a mount namespace hiding the cgroup v2 controllers, $label)" |
			tee -a "$TMP/summary"
		"${masked[@]}" "${hf[@]}" --export-json "$dir/start-ns.json" "${inns[@]}"
		json+=("$dir/start-ns.json")
	fi
	report "$label" start "${json[@]}" >>"$TMP/summary"

	# Parallel starts, each timed with bash's own clock (no timing process is started).
	"${as[@]}" SBX_ROOT="$dir/sbx" bash -c "$(declare -f parallel_rounds); parallel_rounds $(q "$SBX" "$dir/parallel")"
	local n bad left
	n=$(wc -l <"$dir/parallel")
	bad=$(awk '$1 != 0' "$dir/parallel" | wc -l)
	[ "$n" = 160 ] || fail "parallel ($label): only $n of 160 runs finished"
	[ "$bad" = 0 ] || fail "parallel ($label): $bad of $n runs failed; the last error: $(tail -n 1 "$dir/parallel.err")"
	left=$("${as[@]}" SBX_ROOT="$dir/sbx" "$SBX" ps -a -q)
	[ -z "$left" ] || fail "parallel ($label): containers left behind: ${left//$'\n'/ }"
	report "$label" parallel "$dir/parallel" >>"$TMP/summary"

	# Memory of the supervisor (argv: sbx __supervise ID) of a running container.
	local id pid
	id=$("${as[@]}" SBX_ROOT="$dir/sbx" "$SBX" run -d --net=none busybox sleep 1000)
	pid=$(pgrep -f "sbx __supervise $id") || die "no supervisor for container $id"
	[ "$(echo "$pid" | wc -l)" = 1 ] || die "more than one supervisor for $id: $pid"
	sleep 1 # let it settle
	report "$label" memory "$pid" >>"$TMP/summary"
	"${as[@]}" SBX_ROOT="$dir/sbx" "$SBX" rm -f "$id" >/dev/null
}

echo "$("$SBX" --version); $(podman --version); $(crun --version | head -n 1); $(bwrap --version); $(hyperfine --version)"
section "" "$TMP/root" "$RUNROOT"
[ -z "${BENCH_USER:-}" ] || section "$BENCH_USER" "$TMP/user" "$TMP/user/run"

echo
cat "$TMP/summary"
[ ! -s "$TMP/failed" ] || { echo; cat "$TMP/failed"; exit 1; } >&2
