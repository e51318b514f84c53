package format

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type sandboxRow struct {
	ID           string
	Name         string
	Status       string
	CreatedSince string
	Labels       []string
}

var (
	testCols = []Column{
		{Field: "ID", Header: "SANDBOX ID"},
		{Field: "Name", Header: "NAME"},
		{Field: "Status", Header: "STATUS"},
	}
	testRows = []sandboxRow{
		{ID: "abc123", Name: "web", Status: "Up 2 minutes", CreatedSince: "2 minutes ago", Labels: []string{"a=1", "b=2"}},
		{ID: "def4567890ab", Name: "database", Status: "Exited (0) 3 hours ago", CreatedSince: "3 hours ago"},
	}
)

func TestTable(t *testing.T) {
	ptrRows := []*sandboxRow{&testRows[0], &testRows[1]}
	tests := []struct {
		name   string
		format string
		rows   any
		want   string
	}{
		{
			name:   "default table",
			format: "",
			rows:   testRows,
			want: "SANDBOX ID     NAME       STATUS\n" +
				"abc123         web        Up 2 minutes\n" +
				"def4567890ab   database   Exited (0) 3 hours ago\n",
		},
		{
			name:   "bare table keyword is the default table",
			format: "table",
			rows:   ptrRows,
			want: "SANDBOX ID     NAME       STATUS\n" +
				"abc123         web        Up 2 minutes\n" +
				"def4567890ab   database   Exited (0) 3 hours ago\n",
		},
		{
			name:   "default table without rows prints the header",
			format: "",
			rows:   []sandboxRow(nil),
			want:   "SANDBOX ID   NAME      STATUS\n",
		},
		{
			name:   "custom table maps headers and splits unknown field names",
			format: `table {{.Name}}\t{{.CreatedSince}}\t{{.ID}}`,
			rows:   testRows,
			want: "NAME       CREATED SINCE   SANDBOX ID\n" +
				"web        2 minutes ago   abc123\n" +
				"database   3 hours ago     def4567890ab\n",
		},
		{
			name:   "table header keeps literal text and ignores functions",
			format: `table id={{truncate .ID 3}}\t{{upper .Name}}\t{{join .Labels ","}}`,
			rows:   testRows,
			want: "id=SANDBOX ID   NAME       LABELS\n" +
				"id=abc          WEB        a=1,b=2\n" +
				"id=def          DATABASE   \n",
		},
		{
			name:   "json lines",
			format: "json",
			rows:   ptrRows,
			want: `{"ID":"abc123","Name":"web","Status":"Up 2 minutes","CreatedSince":"2 minutes ago","Labels":["a=1","b=2"]}` + "\n" +
				`{"ID":"def4567890ab","Name":"database","Status":"Exited (0) 3 hours ago","CreatedSince":"3 hours ago","Labels":null}` + "\n",
		},
		{
			name:   "plain template",
			format: "{{.ID}}: {{.Name}} <{{lower .Status}}>",
			rows:   testRows,
			want:   "abc123: web <up 2 minutes>\ndef4567890ab: database <exited (0) 3 hours ago>\n",
		},
		{
			name:   "plain template escapes become literal tab and newline",
			format: `{{.ID}}\t{{.Name}}\n--`,
			rows:   testRows,
			want:   "abc123\tweb\n--\ndef4567890ab\tdatabase\n--\n",
		},
		{
			name:   "template functions",
			format: `{{title .Name}}|{{pad .Name 1 2}}|{{index (split .Status " ") 0}}|{{json .Labels}}`,
			rows:   testRows[:1],
			want:   "Web| web  |Up|[\"a=1\",\"b=2\"]\n",
		},
		{
			name:   "single struct is one row",
			format: "{{.Name}}",
			rows:   testRows[1],
			want:   "database\n",
		},
		{
			name:   "nil rows",
			format: "{{.Name}}",
			rows:   nil,
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Table(&buf, tt.format, testCols, tt.rows); err != nil {
				t.Fatalf("Table: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// failWriter fails the test if anything is written to it.
type failWriter struct{ t *testing.T }

func (w failWriter) Write(p []byte) (int, error) {
	w.t.Errorf("unexpected write %q", p)
	return len(p), nil
}

func TestTableErrors(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		wantText []string
	}{
		{
			name:     "missing field",
			format:   "{{.Name}} {{.Nope}}",
			wantText: []string{"--format: ", "Nope"},
		},
		{
			name:     "missing field in table",
			format:   `table {{.Name}}\t{{.Nope}}`,
			wantText: []string{"--format: ", "can't evaluate field Nope"},
		},
		{
			name:     "bad template",
			format:   "{{.Name",
			wantText: []string{"invalid --format template: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Table(failWriter{t}, tt.format, testCols, testRows)
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			for _, s := range tt.wantText {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
			if !strings.HasPrefix(msg, tt.wantText[0]) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting %q", msg, tt.wantText[0])
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		format string
		want   string // "" means no error
	}{
		{"", ""},
		{"json", ""},
		{"table", ""},
		{`table {{.ID}}\t{{.Name}}`, ""},
		{"{{.ID}} {{json .}} {{truncate .ID 3}} {{println .ID}}", ""},
		{"{{.ID", `invalid --format template: unclosed action`},
		{"{{nosuch .ID}}", `invalid --format template: function "nosuch" not defined`},
		{"table {{.ID}}{{end}}", `invalid --format template: unexpected {{end}}`},
		{"ok\n{{.ID", `invalid --format template: line 2: unclosed action`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			err := Parse(tt.format)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("expected error %q", tt.want)
			case tt.want != "" && err.Error() != tt.want:
				t.Fatalf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestEach(t *testing.T) {
	type obj struct {
		Id     string
		Config struct{ Image string }
	}
	a := obj{Id: "abc"}
	a.Config.Image = "alpine<3>"
	b := obj{Id: "def"}
	b.Config.Image = "busybox"
	arrayAB := "[\n    {\n        \"Id\": \"abc\",\n        \"Config\": {\n            \"Image\": \"alpine<3>\"\n        }\n    },\n" +
		"    {\n        \"Id\": \"def\",\n        \"Config\": {\n            \"Image\": \"busybox\"\n        }\n    }\n]\n"
	tests := []struct {
		name   string
		format string
		values any
		want   string
	}{
		{"default json array", "", []obj{a, b}, arrayAB},
		{"json keyword", "json", []*obj{&a, &b}, arrayAB},
		{"empty array", "", []obj{}, "[]\n"},
		{"nil", "json", nil, "[]\n"},
		{"template per value", "{{.Id}} {{.Config.Image}}", []obj{a, b}, "abc alpine<3>\ndef busybox\n"},
		{"template json", "{{json .Config}}", []obj{a}, `{"Image":"alpine<3>"}` + "\n"},
		{"escapes", `{{.Id}}\t{{.Config.Image}}`, []obj{a}, "abc\talpine<3>\n"},
		{"single value", "{{.Id}}", b, "def\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Each(&buf, tt.format, tt.values); err != nil {
				t.Fatalf("Each: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestEachErrors(t *testing.T) {
	values := []map[string]any{{"Id": "abc", "N": 1}}
	if err := Each(failWriter{t}, "{{.Id", values); err == nil || !strings.HasPrefix(err.Error(), "invalid --format template: ") {
		t.Errorf("parse error: got %v", err)
	}
	type obj struct{ Id string }
	err := Each(failWriter{t}, "{{.Id}} {{.State.Status}}", []obj{{Id: "abc"}})
	if err == nil || !strings.HasPrefix(err.Error(), "--format: ") || !strings.Contains(err.Error(), "State") {
		t.Errorf("exec error: got %v", err)
	}
}

func TestExecErrorText(t *testing.T) {
	err := Table(&bytes.Buffer{}, "{{.Nope}}", nil, testRows)
	want := "--format: <.Nope>: can't evaluate field Nope in type format.sandboxRow"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestHeaderName(t *testing.T) {
	tests := map[string]string{
		"ID":           "ID",
		"Name":         "NAME",
		"CreatedSince": "CREATED SINCE",
		"ImageID":      "IMAGE ID",
		"HTTPPort":     "HTTP PORT",
		"RunningFor":   "RUNNING FOR",
		"disk_usage":   "DISK USAGE",
		"Size2Go":      "SIZE2 GO",
	}
	for in, want := range tests {
		if got := headerName(in); got != want {
			t.Errorf("headerName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{999, "999B"},
		{1000, "1kB"},
		{1024, "1.02kB"},
		{4100, "4.1kB"},
		{1234567, "1.23MB"},
		{142_000_000, "142MB"},
		{1_240_000_000, "1.24GB"},
		{999_999, "1MB"},
		{999_499, "999kB"},
		{5_000_000_000_000, "5TB"},
		{-4100, "-4.1kB"},
	}
	for _, tt := range tests {
		if got := HumanSize(tt.in); got != tt.want {
			t.Errorf("HumanSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "Less than a second"},
		{0, "Less than a second"},
		{999 * time.Millisecond, "Less than a second"},
		{time.Second, "1 second"},
		{45 * time.Second, "45 seconds"},
		{59 * time.Second, "59 seconds"},
		{60 * time.Second, "About a minute"},
		{119 * time.Second, "About a minute"},
		{5 * time.Minute, "5 minutes"},
		{59 * time.Minute, "59 minutes"},
		{60 * time.Minute, "About an hour"},
		{89 * time.Minute, "About an hour"},
		{90 * time.Minute, "2 hours"},
		{3 * time.Hour, "3 hours"},
		{47 * time.Hour, "47 hours"},
		{48 * time.Hour, "2 days"},
		{13 * day, "13 days"},
		{14 * day, "2 weeks"},
		{3 * 7 * day, "3 weeks"},
		{59 * day, "8 weeks"},
		{60 * day, "2 months"},
		{4 * 30 * day, "4 months"},
		{729 * day, "24 months"},
		{730 * day, "2 years"},
		{3 * 365 * day, "3 years"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.in); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSince(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		then time.Time
		want string
	}{
		{now.Add(-5 * time.Minute), "5 minutes ago"},
		{now.Add(-3 * time.Hour), "3 hours ago"},
		{now, "Less than a second ago"},
	}
	for _, tt := range tests {
		if got := Since(tt.then, now); got != tt.want {
			t.Errorf("Since(%v) = %q, want %q", tt.then, got, tt.want)
		}
	}
}
