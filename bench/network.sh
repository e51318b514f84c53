#!/bin/bash
# network.sh: what sbx networking costs, against the host and the peers, in one run.
#
# 1. Port forward: iperf3 from the host to a server behind -p (detached: the idle
#    supervisor hands the port's listener to iperf3 when it binds it; and, with
#    relay_ports = true, its C relay), against the host's loopback, podman's rootless
#    forwarder (rootlessport) and pasta's own (pasta -t). Goal: >= 0.8x loopback.
# 2. Memory per published port: the supervisor's RSS/PSS with 0, 1, 10 and 100 published
#    TCP ports (all served by the idle supervisor), what they add over no port and what each
#    port beyond the first adds, and how many processes the container adds (goal: < 1 MB per
#    port, no extra process); podman's per-container helpers with one published port.
# 3. Outbound: iperf3 from a container to a server on the host's address, with sbx on
#    slirp4netns and on pasta (outbound = "pasta", a second store so that it has a holder
#    of its own), against slirp4netns (MTU 65520) alone and pasta alone. Goal: >= 0.9x pasta.
# 4. Container to container over the bridge, against a plain veth pair between two network
#    namespaces. Goal: >= 0.8x veth.
# 5. Scale: 50 detached containers on the default bridge, started one after another from one
#    shell of the user; time and total PSS of what stays running, against rootless podman
#    doing the same. Goal: <= 0.2x podman on both.
#
# sbx and podman run rootless as BENCH_USER (a user with subuid/subgid ranges), the way
# users meet them; the veth baseline needs root. Every tool uses a throwaway store.
#   apt-get install -y iperf3 podman slirp4netns passt busybox-static && make sbx &&
#   BENCH_USER=sbxtest bench/network.sh
# Environment: SBX (binary, default ../sbx), SECS (seconds per iperf3 run, default 5),
# SCALE (containers in part 5, default 50), SKIP_PODMAN=1, BENCH_DIR (where the throwaway
# stores go, default /tmp; /dev/shm takes the disk out of the figures).
set -euo pipefail
die() { echo "network.sh: $*" >&2; exit 1; }
fail() { echo "FAILED: $*" | tee -a "$TMP/failed" >&2; }
SECS=${SECS:-5}
SCALE=${SCALE:-50}
export LC_ALL=C

[ "$(id -u)" = 0 ] || die "run as root (sbx and podman run as BENCH_USER)"
: "${BENCH_USER:?set BENCH_USER to a user with /etc/subuid and /etc/subgid ranges}"
id "$BENCH_USER" >/dev/null 2>&1 || die "no user $BENCH_USER"
for c in iperf3 busybox slirp4netns pasta python3 ip nsenter unshare; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install -y iperf3 busybox-static slirp4netns passt python3 iproute2)"
done
PODMAN=1
{ [ -n "${SKIP_PODMAN:-}" ] || ! command -v podman >/dev/null; } && PODMAN=
src=${SBX:-$(dirname "$0")/../sbx}
[ -x "$src" ] || die "no sbx binary at $src (run make sbx)"
HOST_ADDR=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
[ -n "$HOST_ADDR" ] || die "the host has no global IPv4 address for outbound traffic"

# Every tool's store and files go under BENCH_DIR. Where it is a disk filesystem, a tool
# that makes many files pays for what ran before: on a journal-less ext4 each new file skips
# the inodes freed in the last minute or more, one by one.
TMP=$(mktemp -d "${BENCH_DIR:-/tmp}/sbxn.XXXXXX")
chmod 755 "$TMP"
SBX=$TMP/sbx
cp "$src" "$SBX"
UHOME=$TMP/user
NS=
mkdir -p "$UHOME/xdg"
chmod 700 "$UHOME/xdg"
chown -R "$BENCH_USER" "$UHOME"
if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
	NS=$TMP/mntns
	touch "$NS"
	unshare --mount="$NS" --propagation private mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers
fi
PIDS=()
U() { runuser -u "$BENCH_USER" -- env -C "$UHOME" HOME="$UHOME" XDG_RUNTIME_DIR= TMPDIR="$UHOME" "$@"; }
S() { U env SBX_ROOT="$UHOME/sbx" "$SBX" "$@"; }
# The same user with outbound = "pasta", in a store (and so a holder) of its own.
SP() { U env SBX_ROOT="$UHOME/sbx-pasta" SBX_CONFIG="$UHOME/pasta.toml" "$SBX" "$@"; }
# The same store with relay_ports = true: published ports stay on the supervisor's relay.
SR() { U env SBX_ROOT="$UHOME/sbx" SBX_CONFIG="$UHOME/relay.toml" "$SBX" "$@"; }
# crun (podman's runtime here) refuses hybrid cgroups whose v2 hierarchy lists controllers;
# podman then runs in a pinned mount namespace that hides that list (as run_start.sh does).
PODMAN_ARGS=(--root "$UHOME/podman" --runroot "$UHOME/podman-run" --events-backend none --cgroup-manager cgroupfs)
# PU runs a command as BENCH_USER the way P runs podman.
PU() {
	local -a run=(runuser -u "$BENCH_USER" --)
	[ -z "$NS" ] || run=(nsenter --mount="$NS" -S "$(id -u "$BENCH_USER")" -G "$(id -g "$BENCH_USER")")
	"${run[@]}" env -C "$UHOME" HOME="$UHOME" XDG_RUNTIME_DIR="$UHOME/xdg" XDG_CONFIG_HOME="$UHOME/.config" "$@"
}
P() { PU podman "${PODMAN_ARGS[@]}" "$@"; }

# end_pasta_server ends the iperf3 server that pasta runs for part 1, and pasta with it.
end_pasta_server() {
	local pp
	for pp in $(pgrep -u "$BENCH_USER" -f '^pasta --config-net -t [0-9]+:5201 -- iperf3 -s$'); do
		pkill -P "$pp" 2>/dev/null
	done
	true
}

cleanup() {
	set +e
	end_pasta_server
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	S system reset --force >/dev/null 2>&1
	SP system reset --force >/dev/null 2>&1
	[ -n "${nspid:-}" ] && pkill -u "$BENCH_USER" -f "slirp4netns --configure --mtu=65520 --disable-host-loopback $nspid"
	[ -n "$PODMAN" ] && P rm -af -t 0 >/dev/null 2>&1 && P system reset -f >/dev/null 2>&1
	ip netns del sbxbench-a 2>/dev/null
	ip netns del sbxbench-b 2>/dev/null
	[ -s "$UHOME/xdg/libpod/tmp/pause.pid" ] && kill "$(cat "$UHOME/xdg/libpod/tmp/pause.pid")"
	[ -n "$NS" ] && umount "$NS"
	rm -rf --one-file-system "$TMP" 2>/dev/null
}
trap cleanup EXIT

# The image: busybox plus iperf3 with the libraries it loads.
root=$TMP/rootfs
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$root/bin/"
for a in $(/bin/busybox --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
cp /usr/bin/iperf3 "$root/bin/iperf3"
for lib in $(ldd /usr/bin/iperf3 | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar -C "$root" -cf "$TMP/iperf.tar" .
chmod 644 "$TMP/iperf.tar"
S image import "$TMP/iperf.tar" iperf >/dev/null
if [ -n "$PODMAN" ]; then
	S image save -o "$UHOME/iperf.docker.tar" iperf
	P load -q -i "$UHOME/iperf.docker.tar" >/dev/null || { fail "podman load"; PODMAN=; }
fi

gbit() { python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))'; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b else 'n/a')" "$1" "$2"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
waitport() { # waitport PORT: until a TCP connect to 127.0.0.1:PORT succeeds (20 s at most)
	for _ in $(seq 400); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
serve() { # serve PIDFILE IPERF3-ARGS...: an iperf3 server as a daemon, once its pid is known
	local pidfile=$1
	shift
	"$@" -s -D -I "$pidfile"
	for _ in $(seq 200); do [ -s "$pidfile" ] && break; sleep 0.05; done
	PIDS+=("$(cat "$pidfile")")
}
# client HOST PORT: Gbit/s received. A published port accepts before the server inside
# listens, so a refused first try is tried again.
client() {
	local out
	for _ in $(seq 50); do
		out=$(iperf3 -c "$1" -p "$2" -t "$SECS" -J 2>/dev/null) && { echo "$out" | gbit; return; }
		sleep 0.1
	done
	return 1
}
kib() { awk '/^(Rss|Pss):/ { s[$1] += $2 } END { printf "%d %d\n", s["Rss:"], s["Pss:"] }' "$@" 2>/dev/null || echo "0 0"; }
tree() { # tree PID: the pid and all its descendants
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p"); do tree "$c"; done
}
supervisor_of() { pgrep -u "$BENCH_USER" -f "^sbx __supervise $(S inspect --format '{{.Id}}' "$1")" | head -1; }

echo "== 1. port forward: iperf3 from the host through a published port (${SECS}s each)"
p=$(freeport)
serve "$TMP/iperf-lo.pid" iperf3 -p "$p"
waitport "$p"
LO=$(client 127.0.0.1 "$p")
echo "host loopback:           $LO Gbit/s"
p=$(freeport)
S run -d --name fwd -p "$p:5201" iperf iperf3 -s >/dev/null
waitport "$p"
SBXFWD=$(client 127.0.0.1 "$p")
echo "sbx -p, handed over:     $SBXFWD Gbit/s  (ratio to loopback $(ratio "$SBXFWD" "$LO"), goal >= 0.8)"
printf '[network]\nrelay_ports = true\n' >"$UHOME/relay.toml"
chmod 644 "$UHOME/relay.toml"
p=$(freeport)
SR run -d --name fwdrelay -p "$p:5201" iperf iperf3 -s >/dev/null
waitport "$p"
v=$(client 127.0.0.1 "$p")
echo "sbx -p, C relay:         $v Gbit/s  (ratio to loopback $(ratio "$v" "$LO"); relay_ports = true)"
S rm -f fwdrelay >/dev/null
if [ -n "$PODMAN" ]; then
	# podman 4.3 has no pasta network mode (4.4 added it): its default forwarder only.
	for net in ""; do
		p=$(freeport)
		args=(); [ -n "$net" ] && args=(--network "$net")
		if P run -d --name "pfwd$net" "${args[@]}" -p "$p:5201" iperf iperf3 -s >/dev/null 2>"$TMP/perr" && waitport "$p"; then
			v=$(client 127.0.0.1 "$p")
			echo "podman -p ${net:-rootlessport}: $v Gbit/s  (sbx/podman $(ratio "$SBXFWD" "$v"))"
		else
			fail "podman ${net:-rootlessport}: $(tail -1 "$TMP/perr")"
		fi
		P rm -f -t 0 "pfwd$net" >/dev/null 2>&1 || true
	done
fi
# pasta's own forwarder: its splice path from the host's loopback into a namespace of its
# own, with no bridge behind it. The fastest user-space relay we know of, and so what a
# rootless forwarder reaches on this host.
p=$(freeport)
U pasta --config-net -t "$p:5201" -- iperf3 -s >/dev/null 2>&1 &
if waitport "$p" && v=$(client 127.0.0.1 "$p"); then
	echo "pasta -t, pasta alone:   $v Gbit/s  (ratio to loopback $(ratio "$v" "$LO"), sbx/pasta $(ratio "$SBXFWD" "$v"))"
else
	fail "pasta -t"
fi
end_pasta_server

echo "== 2. memory per published port (supervisor RSS/PSS in KiB; processes of the user)"
S run -d --name keep iperf sleep 100000 >/dev/null # holds the namespaces and the outbound helper
slirp_before=$(pgrep -u "$BENCH_USER" -c -x slirp4netns || true)
for n in 0 1 10 100; do
	args=()
	[ "$n" -gt 0 ] && args=(-p "40000-$((40000 + n - 1))")
	S run -d --name "ports$n" "${args[@]}" iperf sleep 100000 >/dev/null
	sup=$(supervisor_of "ports$n")
	read -r rss pss < <(kib "/proc/$sup/smaps_rollup") || fail "reading the supervisor's memory"
	procs=$(tree "$sup" | wc -l)
	slirp_now=$(pgrep -u "$BENCH_USER" -c -x slirp4netns || true)
	threads=$(awk '/^Threads:/ { print $2 }' "/proc/$sup/status")
	[ "$n" = 0 ] && pss0=$pss
	[ "$n" = 1 ] && pss1=$pss
	# Against ports=0 (the idle supervisor without a forwarder), and, from 1 port on, what
	# each further port adds.
	per=$([ "$n" -gt 1 ] && awk -v a="$pss" -v b="$pss1" -v n="$((n - 1))" 'BEGIN { printf "%.2f KiB/port beyond the first", (a - b) / n }' || echo "-")
	echo "ports=$n  supervisor rss=$rss pss=$pss threads=$threads  over ports=0: $((pss - pss0)) KiB ($per)  processes in the supervisor's tree=$procs, outbound helpers=$slirp_now (before: $slirp_before)"
	S rm -f "ports$n" >/dev/null
done
if [ -n "$PODMAN" ]; then
	before=$(pgrep -u "$BENCH_USER" | sort)
	P run -d --name pmem -p "$(freeport):5201" iperf sleep 100000 >/dev/null || fail "podman run -p"
	after=$(pgrep -u "$BENCH_USER" | sort)
	new=$(comm -13 <(echo "$before") <(echo "$after"))
	tot_rss=0; tot_pss=0; names=""
	for pid in $new; do
		read -r r s < <(kib "/proc/$pid/smaps_rollup") || continue
		tot_rss=$((tot_rss + r)); tot_pss=$((tot_pss + s))
		names="$names $(cat /proc/"$pid"/comm 2>/dev/null || true)"
	done
	echo "podman, 1 port: processes added:$names; rss=$tot_rss pss=$tot_pss KiB"
	P rm -f -t 0 pmem >/dev/null || true
fi

echo "== 3. outbound: iperf3 from inside to $HOST_ADDR (${SECS}s each)"
p=$(freeport)
serve "$TMP/iperf-out.pid" iperf3 -p "$p"
OUT=$(S run --rm iperf iperf3 -c "$HOST_ADDR" -p "$p" -t "$SECS" -J | gbit) || fail "sbx outbound"
echo "sbx (slirp4netns, mtu 65520): ${OUT:-?} Gbit/s"
printf '[network]\noutbound = "pasta"\n' >"$UHOME/pasta.toml"
chmod 644 "$UHOME/pasta.toml"
SP image import "$TMP/iperf.tar" iperf >/dev/null
OUTP=$(SP run --rm iperf iperf3 -c "$HOST_ADDR" -p "$p" -t "$SECS" -J | gbit) || fail "sbx outbound with pasta"
echo "sbx (pasta, mtu 65520):      ${OUTP:-?} Gbit/s"
# slirp4netns alone: a fresh user+network namespace wired by slirp4netns, no bridge.
U unshare -rn sh -c 'echo $$ > "$0"; exec sleep 1000' "$UHOME/ns.pid" &
for _ in $(seq 100); do [ -s "$UHOME/ns.pid" ] && break; sleep 0.05; done
nspid=$(cat "$UHOME/ns.pid")
PIDS+=("$nspid")
U slirp4netns --configure --mtu=65520 --disable-host-loopback "$nspid" tap0 >/dev/null 2>&1 &
PIDS+=($!)
sleep 1
SLIRP=$(U nsenter -t "$nspid" -U -n --preserve-credentials iperf3 -c "$HOST_ADDR" -p "$p" -t "$SECS" -J | gbit) || fail "slirp4netns alone"
echo "slirp4netns alone:       ${SLIRP:-?} Gbit/s  (sbx/slirp4netns $(ratio "${OUT:-0}" "${SLIRP:-0}"))"
# pasta gives its namespace the host's own address, so the host is reached through the
# gateway address, which pasta maps to the host.
PASTA=$(U pasta --config-net -- sh -c 'exec iperf3 -c "$(ip -4 route show default | awk "{ print \$3; exit }")" -p "$0" -t "$1" -J' "$p" "$SECS" 2>/dev/null | gbit) || fail "pasta alone"
echo "pasta alone:             ${PASTA:-?} Gbit/s  (sbx/pasta $(ratio "${OUT:-0}" "${PASTA:-0}"), sbx on pasta/pasta $(ratio "${OUTP:-0}" "${PASTA:-0}"), goal >= 0.9)"

echo "== 4. container to container (${SECS}s each)"
S run -d --name c2c iperf iperf3 -s >/dev/null
ip4=$(S inspect --format '{{.NetworkSettings.IPAddress}}' c2c)
C2C=$(S run --rm iperf sh -c "for i in \$(seq 100); do iperf3 -c $ip4 -t $SECS -J 2>/dev/null && exit 0; sleep 0.1; done; exit 1" | gbit) || fail "sbx container to container"
echo "sbx bridge:              ${C2C:-?} Gbit/s"
ip netns add sbxbench-a
ip netns add sbxbench-b
ip link add sbxbench0 netns sbxbench-a type veth peer name sbxbench1 netns sbxbench-b
ip -n sbxbench-a addr add 10.250.0.1/24 dev sbxbench0
ip -n sbxbench-b addr add 10.250.0.2/24 dev sbxbench1
for n in a b; do ip -n "sbxbench-$n" link set lo up; done
ip -n sbxbench-a link set sbxbench0 up
ip -n sbxbench-b link set sbxbench1 up
serve "$TMP/iperf-veth.pid" ip netns exec sbxbench-a iperf3
VETH=$(ip netns exec sbxbench-b iperf3 -c 10.250.0.1 -t "$SECS" -J | gbit)
echo "plain veth pair:         $VETH Gbit/s  (sbx/veth $(ratio "${C2C:-0}" "$VETH"), goal >= 0.8)"

echo "== 5. scale: $SCALE detached containers on the default bridge"
S rm -f fwd c2c >/dev/null
pss_of_user() { # total PSS (KiB) of the user's processes except the containers' sleep
	local t=0 pid r s
	for pid in $(pgrep -u "$BENCH_USER"); do
		case "$(cat /proc/"$pid"/comm 2>/dev/null)" in sleep) continue ;; esac
		read -r r s < <(kib "/proc/$pid/smaps_rollup") || continue
		t=$((t + ${s:-0}))
	done
	echo "$t"
}
# Each tool starts its containers from one shell of the user, as a user would: switching
# user for every command (5 ms here) would be measured as well, and would weigh on a fast
# tool's figure far more than on a slow one's.
loop='n=$1; shift; for i in $(seq "$n"); do "$@" run -d --name "s$i" iperf sleep 100000 >/dev/null || exit 1; done'
before=$(pss_of_user)
t0=$EPOCHREALTIME
U env SBX_ROOT="$UHOME/sbx" bash -c "$loop" _ "$SCALE" "$SBX" || fail "sbx run -d"
t1=$EPOCHREALTIME
SBXT=$(python3 -c "print('%.2f' % ($t1 - $t0))")
SBXM=$(($(pss_of_user) - before))
echo "sbx:    ${SBXT}s, extra PSS $((SBXM / 1024)) MiB"
S rm -f $(seq -f 's%g' "$SCALE") >/dev/null
if [ -n "$PODMAN" ]; then
	before=$(pss_of_user)
	t0=$EPOCHREALTIME
	PU bash -c "$loop" _ "$SCALE" podman "${PODMAN_ARGS[@]}" || fail "podman run -d"
	t1=$EPOCHREALTIME
	PT=$(python3 -c "print('%.2f' % ($t1 - $t0))")
	PM=$(($(pss_of_user) - before))
	echo "podman: ${PT}s, extra PSS $((PM / 1024)) MiB"
	echo "ratios sbx/podman: time $(ratio "$SBXT" "$PT") (goal <= 0.2), memory $(ratio "$SBXM" "$PM") (goal <= 0.2)"
fi
[ ! -s "$TMP/failed" ] || { echo "some measurements failed:"; cat "$TMP/failed"; exit 1; }
