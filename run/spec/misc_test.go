package spec

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseDuration(t *testing.T) {
	const expect = "expected a number of seconds or a duration like 90s or 10m"
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "10", want: 10 * time.Second},
		{in: "90s", want: 90 * time.Second},
		{in: "10m", want: 10 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1.5s", want: 1500 * time.Millisecond},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "0s", want: 0},
		{in: "", wantErr: `invalid duration "": ` + expect},
		{in: "abc", wantErr: `invalid duration "abc": ` + expect},
		{in: "1.5", wantErr: `invalid duration "1.5": ` + expect},
		{in: "10 s", wantErr: `invalid duration "10 s": ` + expect},
		{in: "-1", wantErr: `invalid duration "-1": must not be negative`},
		{in: "-5s", wantErr: `invalid duration "-5s": must not be negative`},
		{in: "9223372037", wantErr: `invalid duration "9223372037": too large`},
		{in: "99999999999999999999", wantErr: `invalid duration "99999999999999999999": too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	const expect = "expected a name such as TERM, SIGKILL or RTMIN+1, or a number 1-64"
	tests := []struct {
		in      string
		want    unix.Signal
		wantErr string
	}{
		{in: "TERM", want: unix.SIGTERM},
		{in: "SIGTERM", want: unix.SIGTERM},
		{in: "15", want: unix.SIGTERM},
		{in: "sigkill", want: unix.SIGKILL},
		{in: "Kill", want: unix.SIGKILL},
		{in: "9", want: unix.SIGKILL},
		{in: "HUP", want: unix.SIGHUP},
		{in: "INT", want: unix.SIGINT},
		{in: "QUIT", want: unix.SIGQUIT},
		{in: "USR1", want: unix.SIGUSR1},
		{in: "SIGUSR2", want: unix.SIGUSR2},
		{in: "WINCH", want: unix.SIGWINCH},
		{in: "STOP", want: unix.SIGSTOP},
		{in: "CONT", want: unix.SIGCONT},
		{in: "PWR", want: unix.SIGPWR},
		{in: "IOT", want: unix.SIGABRT},
		{in: "CLD", want: unix.SIGCHLD},
		{in: "POLL", want: unix.SIGIO},
		{in: "STKFLT", want: unix.SignalNum("SIGSTKFLT")},
		{in: "RTMIN", want: 34},
		{in: "SIGRTMIN+3", want: 37},
		{in: "rtmax-1", want: 63},
		{in: "RTMAX", want: 64},
		{in: "64", want: 64},
		{in: "1", want: 1},
		{in: "", wantErr: `invalid signal "": ` + expect},
		{in: "FOO", wantErr: `invalid signal "FOO": ` + expect},
		{in: "SIG", wantErr: `invalid signal "SIG": ` + expect},
		{in: "RTMIN+31", wantErr: `invalid signal "RTMIN+31": ` + expect},
		{in: "RTMIN+x", wantErr: `invalid signal "RTMIN+x": ` + expect},
		{in: "RTMAX-+1", wantErr: `invalid signal "RTMAX-+1": ` + expect},
		{in: "0", wantErr: `invalid signal "0": number out of range (expected 1-64)`},
		{in: "65", wantErr: `invalid signal "65": number out of range (expected 1-64)`},
		{in: "-9", wantErr: `invalid signal "-9": number out of range (expected 1-64)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSignal(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr bool
	}{
		{"web", false},
		{"ab", false},
		{"my_app.v1-2", false},
		{"0abc", false},
		{"A-B", false},
		{"", true},
		{"a", true},
		{"_abc", true},
		{"-abc", true},
		{".abc", true},
		{"/abc", true},
		{"ab c", true},
		{"ab/c", true},
		{"héllo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ""
			if tt.wantErr {
				want = "Invalid container name (" + tt.name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
			}
			checkErr(t, ValidName(tt.name), want)
		})
	}
}

func TestValidHostname(t *testing.T) {
	const expect = "expected letters, digits and hyphens in dot-separated labels, e.g. web-1.local"
	l63 := strings.Repeat("a", 63)
	tests := []struct {
		in      string
		wantErr string
	}{
		{in: "web"},
		{in: "web-1"},
		{in: "1web"},
		{in: "a"},
		{in: "db.example.com"},
		{in: "A-B.c0"},
		{in: l63},
		{in: strings.Repeat("a", 31) + "." + strings.Repeat("b", 32)},
		{in: "", wantErr: `invalid hostname "": empty (` + expect + `)`},
		{in: strings.Repeat("a.", 32) + "b", wantErr: `invalid hostname "` + strings.Repeat("a.", 32) + `b": 65 characters, at most 64 allowed`},
		{in: l63 + "a", wantErr: `invalid hostname "` + l63 + `a": label "` + l63 + `a" is longer than 63 characters`},
		{in: "web.", wantErr: `invalid hostname "web.": empty label (` + expect + `)`},
		{in: ".web", wantErr: `invalid hostname ".web": empty label (` + expect + `)`},
		{in: "a..b", wantErr: `invalid hostname "a..b": empty label (` + expect + `)`},
		{in: "-web", wantErr: `invalid hostname "-web": label "-web" starts or ends with a hyphen`},
		{in: "a.web-", wantErr: `invalid hostname "a.web-": label "web-" starts or ends with a hyphen`},
		{in: "web_1", wantErr: `invalid hostname "web_1": character '_' not allowed (` + expect + `)`},
		{in: "my host", wantErr: `invalid hostname "my host": character ' ' not allowed (` + expect + `)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			checkErr(t, ValidHostname(tt.in), tt.wantErr)
		})
	}
}

// Every name the kernel table knows for 1-31 parses, with and without SIG, to its number.
func TestParseSignalKernelNames(t *testing.T) {
	for n := unix.Signal(1); n < 32; n++ {
		name := unix.SignalName(n)
		if name == "" {
			continue
		}
		for _, in := range []string{name, strings.TrimPrefix(name, "SIG"), strings.ToLower(name)} {
			if got, err := ParseSignal(in); err != nil || got != n {
				t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, n)
			}
		}
	}
}
