package spec

import (
	"fmt"
	"strings"
	"testing"
)

// checkErr fails unless err's text is want ("" = no error).
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Fatalf("error\n got: %s\nwant: %s", err, want)
	}
}

func sprintfIf(format, arg string) string {
	if !strings.Contains(format, "%s") {
		return format
	}
	return fmt.Sprintf(format, arg)
}
