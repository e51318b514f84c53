package spec

import (
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCapNames(t *testing.T) {
	names := CapNames()
	if len(names) != unix.CAP_LAST_CAP+1 {
		t.Fatalf("%d names, want %d", len(names), unix.CAP_LAST_CAP+1)
	}
	tests := []struct {
		name string
		num  int
	}{
		{"CAP_CHOWN", unix.CAP_CHOWN},
		{"CAP_DAC_OVERRIDE", unix.CAP_DAC_OVERRIDE},
		{"CAP_DAC_READ_SEARCH", unix.CAP_DAC_READ_SEARCH},
		{"CAP_FOWNER", unix.CAP_FOWNER},
		{"CAP_FSETID", unix.CAP_FSETID},
		{"CAP_KILL", unix.CAP_KILL},
		{"CAP_SETGID", unix.CAP_SETGID},
		{"CAP_SETUID", unix.CAP_SETUID},
		{"CAP_SETPCAP", unix.CAP_SETPCAP},
		{"CAP_LINUX_IMMUTABLE", unix.CAP_LINUX_IMMUTABLE},
		{"CAP_NET_BIND_SERVICE", unix.CAP_NET_BIND_SERVICE},
		{"CAP_NET_BROADCAST", unix.CAP_NET_BROADCAST},
		{"CAP_NET_ADMIN", unix.CAP_NET_ADMIN},
		{"CAP_NET_RAW", unix.CAP_NET_RAW},
		{"CAP_IPC_LOCK", unix.CAP_IPC_LOCK},
		{"CAP_IPC_OWNER", unix.CAP_IPC_OWNER},
		{"CAP_SYS_MODULE", unix.CAP_SYS_MODULE},
		{"CAP_SYS_RAWIO", unix.CAP_SYS_RAWIO},
		{"CAP_SYS_CHROOT", unix.CAP_SYS_CHROOT},
		{"CAP_SYS_PTRACE", unix.CAP_SYS_PTRACE},
		{"CAP_SYS_PACCT", unix.CAP_SYS_PACCT},
		{"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN},
		{"CAP_SYS_BOOT", unix.CAP_SYS_BOOT},
		{"CAP_SYS_NICE", unix.CAP_SYS_NICE},
		{"CAP_SYS_RESOURCE", unix.CAP_SYS_RESOURCE},
		{"CAP_SYS_TIME", unix.CAP_SYS_TIME},
		{"CAP_SYS_TTY_CONFIG", unix.CAP_SYS_TTY_CONFIG},
		{"CAP_MKNOD", unix.CAP_MKNOD},
		{"CAP_LEASE", unix.CAP_LEASE},
		{"CAP_AUDIT_WRITE", unix.CAP_AUDIT_WRITE},
		{"CAP_AUDIT_CONTROL", unix.CAP_AUDIT_CONTROL},
		{"CAP_SETFCAP", unix.CAP_SETFCAP},
		{"CAP_MAC_OVERRIDE", unix.CAP_MAC_OVERRIDE},
		{"CAP_MAC_ADMIN", unix.CAP_MAC_ADMIN},
		{"CAP_SYSLOG", unix.CAP_SYSLOG},
		{"CAP_WAKE_ALARM", unix.CAP_WAKE_ALARM},
		{"CAP_BLOCK_SUSPEND", unix.CAP_BLOCK_SUSPEND},
		{"CAP_AUDIT_READ", unix.CAP_AUDIT_READ},
		{"CAP_PERFMON", unix.CAP_PERFMON},
		{"CAP_BPF", unix.CAP_BPF},
		{"CAP_CHECKPOINT_RESTORE", unix.CAP_CHECKPOINT_RESTORE},
	}
	for _, tt := range tests {
		if names[tt.num] != tt.name {
			t.Errorf("CapNames()[%d] = %s, want %s", tt.num, names[tt.num], tt.name)
		}
	}
	names[0] = "changed"
	if CapNames()[0] != "CAP_CHOWN" {
		t.Error("CapNames returns shared state")
	}
}

func TestCapabilities(t *testing.T) {
	// The default set in kernel order.
	def := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
		"CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",
		"CAP_AUDIT_WRITE", "CAP_SETFCAP"}
	without := func(list []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(c string) bool { return slices.Contains(drop, c) })
	}
	old := CapNames()[:38] // a kernel without PERFMON, BPF, CHECKPOINT_RESTORE
	newer := append(CapNames(), "CAP_FUTURE")
	const expect = "(expected a name such as NET_ADMIN or CAP_NET_ADMIN, or ALL)"
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		allKnown   []string
		want       []string
		wantErr    string
	}{
		{name: "default", want: def},
		{name: "privileged", privileged: true, want: CapNames()},
		{name: "privileged old kernel", privileged: true, allKnown: old, want: old},
		{name: "privileged newer kernel", privileged: true, allKnown: newer, want: newer},
		{name: "privileged ignores add drop", privileged: true, drop: []string{"ALL"}, want: CapNames()},
		{name: "add forms", add: []string{"net_admin", "CAP_SYS_PTRACE", " Sys_Admin ", "chown"},
			want: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
				"CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_CHROOT",
				"CAP_SYS_PTRACE", "CAP_SYS_ADMIN", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}},
		{name: "drop", drop: []string{"net_raw", "CAP_MKNOD", "cap_sys_admin"}, want: without(def, "CAP_NET_RAW", "CAP_MKNOD")},
		{name: "add wins over drop", add: []string{"NET_RAW"}, drop: []string{"net_raw"}, want: def},
		{name: "drop all", drop: []string{"ALL"}, want: []string{}},
		{name: "drop all add some", drop: []string{"all"}, add: []string{"chown", "kill"}, want: []string{"CAP_CHOWN", "CAP_KILL"}},
		{name: "add all", add: []string{"ALL"}, want: CapNames()},
		{name: "add all drop some", add: []string{"ALL"}, drop: []string{"sys_admin", "NET_ADMIN"}, want: without(CapNames(), "CAP_SYS_ADMIN", "CAP_NET_ADMIN")},
		{name: "add all and drop all", add: []string{"ALL"}, drop: []string{"ALL"}, want: CapNames()},
		{name: "add all old kernel", add: []string{"ALL"}, allKnown: old, want: old},
		{name: "add unsupported by kernel", add: []string{"BPF"}, allKnown: old, want: def},
		{name: "add known only to kernel", add: []string{"future"}, allKnown: newer, want: append(slices.Clone(def), "CAP_FUTURE")},
		{name: "unknown add", add: []string{"NET_ADMIN", "foo"}, wantErr: `invalid --cap-add "foo": unknown capability "CAP_FOO" ` + expect},
		{name: "unknown drop", drop: []string{"cap_bar"}, wantErr: `invalid --cap-drop "cap_bar": unknown capability "CAP_BAR" ` + expect},
		{name: "empty name", add: []string{""}, wantErr: `invalid --cap-add "": unknown capability "CAP_" ` + expect},
		{name: "reset refused", drop: []string{"RESET"}, wantErr: `invalid --cap-drop "RESET": unknown capability "CAP_RESET" ` + expect},
		{name: "unknown when privileged", add: []string{"nope"}, privileged: true, wantErr: `invalid --cap-add "nope": unknown capability "CAP_NOPE" ` + expect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Capabilities(tt.add, tt.drop, tt.privileged, tt.allKnown)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDefaultCapabilities(t *testing.T) {
	got := DefaultCapabilities()
	want := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
		"CAP_KILL", "CAP_AUDIT_WRITE"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
