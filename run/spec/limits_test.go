package spec

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseUlimit(t *testing.T) {
	const inf = unix.RLIM_INFINITY
	tests := []struct {
		in      string
		want    Ulimit
		wantErr string
	}{
		{in: "nofile=1024:2048", want: Ulimit{Name: "nofile", Resource: unix.RLIMIT_NOFILE, Soft: 1024, Hard: 2048}},
		{in: "nproc=512", want: Ulimit{Name: "nproc", Resource: unix.RLIMIT_NPROC, Soft: 512, Hard: 512}},
		{in: "core=-1", want: Ulimit{Name: "core", Resource: unix.RLIMIT_CORE, Soft: inf, Hard: inf}},
		{in: "core=0", want: Ulimit{Name: "core", Resource: unix.RLIMIT_CORE}},
		{in: "memlock=-1:-1", want: Ulimit{Name: "memlock", Resource: unix.RLIMIT_MEMLOCK, Soft: inf, Hard: inf}},
		{in: "stack=8192:-1", want: Ulimit{Name: "stack", Resource: unix.RLIMIT_STACK, Soft: 8192, Hard: inf}},
		{in: "as=1", want: Ulimit{Name: "as", Resource: unix.RLIMIT_AS, Soft: 1, Hard: 1}},
		{in: "cpu=1", want: Ulimit{Name: "cpu", Resource: unix.RLIMIT_CPU, Soft: 1, Hard: 1}},
		{in: "data=1", want: Ulimit{Name: "data", Resource: unix.RLIMIT_DATA, Soft: 1, Hard: 1}},
		{in: "fsize=1", want: Ulimit{Name: "fsize", Resource: unix.RLIMIT_FSIZE, Soft: 1, Hard: 1}},
		{in: "locks=1", want: Ulimit{Name: "locks", Resource: unix.RLIMIT_LOCKS, Soft: 1, Hard: 1}},
		{in: "msgqueue=1", want: Ulimit{Name: "msgqueue", Resource: unix.RLIMIT_MSGQUEUE, Soft: 1, Hard: 1}},
		{in: "nice=1", want: Ulimit{Name: "nice", Resource: unix.RLIMIT_NICE, Soft: 1, Hard: 1}},
		{in: "rss=1", want: Ulimit{Name: "rss", Resource: unix.RLIMIT_RSS, Soft: 1, Hard: 1}},
		{in: "rtprio=1", want: Ulimit{Name: "rtprio", Resource: unix.RLIMIT_RTPRIO, Soft: 1, Hard: 1}},
		{in: "rttime=1", want: Ulimit{Name: "rttime", Resource: unix.RLIMIT_RTTIME, Soft: 1, Hard: 1}},
		{in: "sigpending=1", want: Ulimit{Name: "sigpending", Resource: unix.RLIMIT_SIGPENDING, Soft: 1, Hard: 1}},
		{in: "nofile=18446744073709551615", want: Ulimit{Name: "nofile", Resource: unix.RLIMIT_NOFILE, Soft: inf, Hard: inf}},
		{in: "nofile=abc", wantErr: `invalid --ulimit "nofile=abc": soft limit "abc" is not a number`},
		{in: "nofile=", wantErr: `invalid --ulimit "nofile=": soft limit "" is not a number`},
		{in: "nofile=1:x", wantErr: `invalid --ulimit "nofile=1:x": hard limit "x" is not a number`},
		{in: "nofile=1:", wantErr: `invalid --ulimit "nofile=1:": hard limit "" is not a number`},
		{in: "nofile=-2", wantErr: `invalid --ulimit "nofile=-2": soft limit "-2" is negative (use -1 for unlimited)`},
		{in: "nofile=1:-5", wantErr: `invalid --ulimit "nofile=1:-5": hard limit "-5" is negative (use -1 for unlimited)`},
		{in: "nofile=99999999999999999999", wantErr: `invalid --ulimit "nofile=99999999999999999999": soft limit "99999999999999999999" is too large`},
		{in: "nofile=2048:1024", wantErr: `invalid --ulimit "nofile=2048:1024": soft limit 2048 is greater than hard limit 1024`},
		{in: "nofile=-1:1024", wantErr: `invalid --ulimit "nofile=-1:1024": soft limit -1 (unlimited) is greater than hard limit 1024`},
		{in: "nofile=1:2:3", wantErr: `invalid --ulimit "nofile=1:2:3": too many values (expected NAME=SOFT[:HARD])`},
		{in: "nofile", wantErr: `invalid --ulimit "nofile": expected NAME=SOFT[:HARD], e.g. nofile=1024:2048`},
		{in: "", wantErr: `invalid --ulimit "": expected NAME=SOFT[:HARD], e.g. nofile=1024:2048`},
		{in: "NOFILE=1", wantErr: `invalid --ulimit "NOFILE=1": unknown limit "NOFILE" (expected one of as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)`},
		{in: "foo=1", wantErr: `invalid --ulimit "foo=1": unknown limit "foo" (expected one of as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUlimit(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	const expect = `expected a number with an optional unit b, k, m, g, t or p, e.g. "512m"`
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "1024", want: 1024},
		{in: "1024b", want: 1024},
		{in: "1024B", want: 1024},
		{in: "4k", want: 4096},
		{in: "4K", want: 4096},
		{in: "4kb", want: 4096},
		{in: "4KiB", want: 4096},
		{in: "512m", want: 512 << 20},
		{in: "512MB", want: 512 << 20},
		{in: "1g", want: 1 << 30},
		{in: "1.5g", want: 3 << 29},
		{in: ".5k", want: 512},
		{in: "1.k", want: 1024},
		{in: "1.0001k", want: 1024},
		{in: "2t", want: 2 << 40},
		{in: "1p", want: 1 << 50},
		{in: "10 m", want: 10 << 20},
		{in: " 10m ", want: 10 << 20},
		{in: "8191p", want: 8191 << 50},
		{in: "", wantErr: `invalid size "": ` + expect},
		{in: "abc", wantErr: `invalid size "abc": ` + expect},
		{in: "m", wantErr: `invalid size "m": ` + expect},
		{in: ".", wantErr: `invalid size ".": ` + expect},
		{in: "1e3", wantErr: `invalid size "1e3": unknown unit "e3" (expected b, k, m, g, t or p)`},
		{in: "1x", wantErr: `invalid size "1x": unknown unit "x" (expected b, k, m, g, t or p)`},
		{in: "1ib", wantErr: `invalid size "1ib": unknown unit "ib" (expected b, k, m, g, t or p)`},
		{in: "1mm", wantErr: `invalid size "1mm": unknown unit "mm" (expected b, k, m, g, t or p)`},
		{in: "1.2.3m", wantErr: `invalid size "1.2.3m": unknown unit ".3m" (expected b, k, m, g, t or p)`},
		{in: "-1", wantErr: `invalid size "-1": must not be negative`},
		{in: "-512m", wantErr: `invalid size "-512m": must not be negative`},
		{in: "+1m", wantErr: `invalid size "+1m": ` + expect},
		{in: "8192p", wantErr: `invalid size "8192p": too large (at most 9223372036854775807 bytes)`},
		{in: "99999999999999999999", wantErr: `invalid size "99999999999999999999": too large (at most 9223372036854775807 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBytes(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseCPUs(t *testing.T) {
	tests := []struct {
		in         string
		wantQuota  int64
		wantPeriod uint64
		wantErr    string
	}{
		{in: "1", wantQuota: 100000, wantPeriod: 100000},
		{in: "1.5", wantQuota: 150000, wantPeriod: 100000},
		{in: "0.5", wantQuota: 50000, wantPeriod: 100000},
		{in: ".25", wantQuota: 25000, wantPeriod: 100000},
		{in: "0.01", wantQuota: 1000, wantPeriod: 100000},
		{in: "0.123456", wantQuota: 12345, wantPeriod: 100000},
		{in: "64", wantQuota: 6400000, wantPeriod: 100000},
		{in: "", wantErr: `invalid --cpus "": expected a number of CPUs, e.g. "1.5"`},
		{in: "abc", wantErr: `invalid --cpus "abc": expected a number of CPUs, e.g. "1.5"`},
		{in: "1/2", wantErr: `invalid --cpus "1/2": expected a number of CPUs, e.g. "1.5"`},
		{in: "1e2", wantErr: `invalid --cpus "1e2": expected a number of CPUs, e.g. "1.5"`},
		{in: "0", wantErr: `invalid --cpus "0": must be greater than 0 (at least 0.01)`},
		{in: "0.0", wantErr: `invalid --cpus "0.0": must be greater than 0 (at least 0.01)`},
		{in: "-1", wantErr: `invalid --cpus "-1": must be greater than 0 (at least 0.01)`},
		{in: "0.009", wantErr: `invalid --cpus "0.009": must be at least 0.01`},
		{in: "1000000000", wantErr: `invalid --cpus "1000000000": too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, p, err := ParseCPUs(tt.in)
			checkErr(t, err, tt.wantErr)
			if q != tt.wantQuota || p != tt.wantPeriod {
				t.Errorf("got %d/%d, want %d/%d", q, p, tt.wantQuota, tt.wantPeriod)
			}
		})
	}
}
