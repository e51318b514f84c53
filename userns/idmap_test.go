package userns

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSubIDs(t *testing.T) {
	file := `# comment
alice:100000:65536
bob:165536:65536
1000:300000:10
alice:400000:5
broken line
alice:x:5
alice:500000:0
`
	tests := []struct {
		name string
		id   int
		want []IDRange
	}{
		{"alice", 1000, []IDRange{{100000, 65536}, {300000, 10}, {400000, 5}}},
		{"bob", 1001, []IDRange{{165536, 65536}}},
		{"carol", 1002, nil},
	}
	for _, tt := range tests {
		got, err := ParseSubIDs(strings.NewReader(file), tt.name, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBuildMap(t *testing.T) {
	got := BuildMap(1000, []IDRange{{100000, 65536}, {300000, 10}})
	want := []Mapping{{0, 1000, 1}, {1, 100000, 65536}, {65537, 300000, 10}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if a := strings.Join(Args(got), " "); a != "0 1000 1 1 100000 65536 65537 300000 10" {
		t.Fatalf("args %q", a)
	}
	if s := FormatMap(got); s != "0:1000:1,1:100000:65536,65537:300000:10" {
		t.Fatalf("format %q", s)
	}
}
