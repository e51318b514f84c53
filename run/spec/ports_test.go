package spec

import (
	"reflect"
	"testing"
)

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Publish
		err  bool
	}{
		{"80", []Publish{{"", 0, 80, "tcp"}}, false},
		{"8080:80", []Publish{{"", 8080, 80, "tcp"}}, false},
		{"127.0.0.1:8443:443", []Publish{{"127.0.0.1", 8443, 443, "tcp"}}, false},
		{"5353:53/udp", []Publish{{"", 5353, 53, "udp"}}, false},
		{"127.0.0.1::80", []Publish{{"127.0.0.1", 0, 80, "tcp"}}, false},
		{"9000-9001:80-81", []Publish{{"", 9000, 80, "tcp"}, {"", 9001, 81, "tcp"}}, false},
		{"[::1]:8080:80", []Publish{{"::1", 8080, 80, "tcp"}}, false},
		{"80-81", []Publish{{"", 0, 80, "tcp"}, {"", 0, 81, "tcp"}}, false},
		{"8080:80/sctp", nil, true},
		{"70000:80", nil, true},
		{"x:80", nil, true},
		{"1.2.3:80:80", nil, true},
		{"9000-9002:80-81", nil, true},
		{"9000:80-81", nil, true},
		{"", nil, true},
	} {
		got, err := ParsePublish(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePublish(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestParseExpose(t *testing.T) {
	got, err := ParseExpose("80-81/udp")
	if err != nil || !reflect.DeepEqual(got, []string{"80/udp", "81/udp"}) {
		t.Errorf("ParseExpose = %v, %v", got, err)
	}
	if _, err := ParseExpose("0"); err == nil {
		t.Error("ParseExpose(0) succeeded")
	}
}
