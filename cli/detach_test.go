package cli

import (
	"slices"
	"testing"

	"github.com/sbx-dev/sbx/userns/nsenter"
)

// The constructor reads `sbx run`'s flags to see -d before Go starts (sbx_detached_run):
// it must know every flag that takes a value, or it would take a value for the image.
func TestDetachForkKnowsTheRunValueFlags(t *testing.T) {
	var want []string
	for _, f := range runCommand(&env{}).Flags {
		if _, ok := f.(boolFlag); !ok {
			want = append(want, f.Names()...)
		}
	}
	got := nsenter.RunValueFlags()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the constructor's value flags are\n%v\nbut run's are\n%v", got, want)
	}
}
