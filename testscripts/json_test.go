package testscripts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// readJSON parses FILE as one JSON value, or, when it holds several (docker's --format json
// writes one object per line), as the array of them. Anything else fails the script.
func readJSON(ts *testscript.TestScript, file string) any {
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(file)))
	dec.UseNumber()
	var vals []any
	for {
		var v any
		err := dec.Decode(&v)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			ts.Fatalf("%s is not JSON: %v", file, err)
		}
		vals = append(vals, v)
	}
	if len(vals) == 1 {
		return vals[0]
	}
	return vals
}

// cmdJSONKeys checks that FILE is JSON whose objects (the value, or each element of an
// array) have exactly the keys given: docker's field names, no more, no fewer.
func cmdJSONKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: jsonkeys FILE KEY...")
	}
	want := slices.Clone(args[1:])
	sort.Strings(want)
	v := readJSON(ts, args[0])
	objs, ok := v.([]any)
	if !ok {
		objs = []any{v}
	}
	if len(objs) == 0 {
		ts.Fatalf("%s: no objects", args[0])
	}
	for i, o := range objs {
		m, ok := o.(map[string]any)
		if !ok {
			ts.Fatalf("%s: element %d is not an object", args[0], i)
		}
		var got []string
		for k := range m {
			got = append(got, k)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			ts.Fatalf("%s: element %d has keys %v, want %v", args[0], i, got, want)
		}
	}
}

// cmdJSONPath checks the value at PATH in FILE's JSON: PATH is dot-separated object keys
// and array indices (0.State.Status; "." is the whole value); the value, printed as JSON
// for anything but a string, must equal WANT. With !, it must differ or be missing.
func cmdJSONPath(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonpath FILE PATH WANT")
	}
	v := readJSON(ts, args[0])
	got, err := walkJSON(v, args[1])
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("%s: %v", args[0], err)
	}
	s, ok := got.(string)
	if !ok {
		b, _ := json.Marshal(got)
		s = string(b)
	}
	if (s == args[2]) == neg {
		ts.Fatalf("%s: %s is %s, want %s%s", args[0], args[1], s, map[bool]string{true: "anything but ", false: ""}[neg], args[2])
	}
}

func walkJSON(v any, path string) (any, error) {
	if path == "." {
		return v, nil
	}
	for _, p := range strings.Split(path, ".") {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[p]
			if !ok {
				return nil, fmt.Errorf("no key %q", p)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(cur) {
				return nil, fmt.Errorf("no element %q in an array of %d", p, len(cur))
			}
			v = cur[i]
		default:
			return nil, fmt.Errorf("%q: not an object or array", p)
		}
	}
	return v, nil
}

// cmdWaitgrep polls until FILE contains TEXT (output that a still-running process writes),
// with a deadline instead of a sleep.
func cmdWaitgrep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitgrep FILE TEXT")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	var data []byte
	for time.Now().Before(deadline) {
		data, _ = os.ReadFile(path)
		if bytes.Contains(data, []byte(args[1])) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not show %q within 30s; it has:\n%s", args[0], args[1], data)
}
