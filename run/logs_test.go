package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The log's entries: one per line, long lines split as docker splits them (and as the idle
// supervisor does), the trailing partial line on Flush; together they are the output.
func TestStreamLogEntries(t *testing.T) {
	long := strings.Repeat("x", 2*maxLogLine+5)
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"lines", []string{"a\nb", "c\n", "d"}, []string{"a\n", "bc\n", "d"}},
		{"escapes", []string{"say \"hi\"\\\t\x01\n"}, []string{"say \"hi\"\\\t\x01\n"}},
		{"long", []string{long[:100], long[100:] + "\n"}, []string{long[:maxLogLine], long[maxLogLine : 2*maxLogLine], long[2*maxLogLine:] + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ctr.log")
			lw, err := newLogWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			s := lw.Stream("stdout")
			for _, w := range tt.writes {
				s.Write([]byte(w))
			}
			s.Flush()
			lw.Close()
			var out strings.Builder
			if _, err := ReadLogs(path, LogOptions{Tail: -1}, &out, os.Stderr); err != nil {
				t.Fatal(err)
			}
			if out.String() != strings.Join(tt.want, "") {
				t.Errorf("output %q, want %q", out.String(), strings.Join(tt.want, ""))
			}
			data, _ := os.ReadFile(path)
			if n := strings.Count(string(data), "\n"); n != len(tt.want) {
				t.Errorf("%d entries, want %d", n, len(tt.want))
			}
		})
	}
}
