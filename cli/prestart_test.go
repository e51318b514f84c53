package cli

import (
	"strings"
	"testing"

	"github.com/sbx-dev/sbx/run"
)

func TestGuessRun(t *testing.T) {
	values := runValueFlags()
	for _, tc := range []struct {
		args string
		want run.CreateOptions
		ok   bool
	}{
		{"sbx run --rm busybox true", run.CreateOptions{}, true},
		{"sbx --debug run -it busybox sh", run.CreateOptions{Tty: true, OpenStdin: true}, true},
		{"sbx run -i -t=false busybox sh", run.CreateOptions{OpenStdin: true}, true},
		{"sbx run --net=none -v /a:/b busybox true", run.CreateOptions{Network: "none"}, true},
		{"sbx run --network host --name x busybox true", run.CreateOptions{Network: "host"}, true},
		{"sbx run -h myhost -e A=1 busybox true", run.CreateOptions{}, true},
		{"sbx run --userns=keep-id --init busybox id", run.CreateOptions{Userns: "keep-id", Init: true}, true},
		{"sbx run --tty --interactive=true busybox", run.CreateOptions{Tty: true, OpenStdin: true}, true},
		// A value that looks like a flag is still the value.
		{"sbx run --name -t busybox true", run.CreateOptions{}, true},
		// Detached, help, no image, or anything unclear: no guess.
		{"sbx run -d busybox true", run.CreateOptions{}, false},
		{"sbx run -dit busybox sh", run.CreateOptions{}, false},
		{"sbx run --detach=true busybox true", run.CreateOptions{}, false},
		{"sbx run --help", run.CreateOptions{}, false},
		{"sbx run --rm", run.CreateOptions{}, false},
		{"sbx run --name", run.CreateOptions{}, false},
		{"sbx run -- busybox true", run.CreateOptions{}, false},
		{"sbx run -te A=1 busybox", run.CreateOptions{}, false},
		{"sbx run --rm=maybe busybox true", run.CreateOptions{}, false},
		{"sbx ps -a", run.CreateOptions{}, false},
		{"sbx", run.CreateOptions{}, false},
	} {
		got, ok := guessRun(strings.Fields(tc.args), values)
		if ok != tc.ok || (ok && !equalGuess(got, tc.want)) {
			t.Errorf("guessRun(%q) = %+v, %v; want %+v, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

func equalGuess(a, b run.CreateOptions) bool {
	return a.Tty == b.Tty && a.OpenStdin == b.OpenStdin && a.Init == b.Init && a.Network == b.Network && a.Userns == b.Userns
}
