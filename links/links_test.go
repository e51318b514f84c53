package links

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Link
		wantErr bool
	}{
		{"db", Link{"db", "db"}, false},
		{"myjavaserver:serverM1", Link{"myjavaserver", "serverM1"}, false},
		{"/db:sql", Link{"db", "sql"}, false},
		{"", Link{}, true},
		{":x", Link{}, true},
		{"db:bad alias", Link{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestEnv(t *testing.T) {
	got := Env("client", Link{"myjavaserver", "serverM1"}, Target{
		Name: "myjavaserver", IP: "10.88.0.2", Exposed: []string{"3306/tcp", "53/udp"},
		Env: []string{"PATH=/bin", "MYSQL_USER=app", "HOME=/root"},
	})
	want := []string{
		"SERVERM1_PORT=udp://10.88.0.2:53",
		"SERVERM1_PORT_53_UDP=udp://10.88.0.2:53",
		"SERVERM1_PORT_53_UDP_ADDR=10.88.0.2",
		"SERVERM1_PORT_53_UDP_PORT=53",
		"SERVERM1_PORT_53_UDP_PROTO=udp",
		"SERVERM1_PORT_3306_TCP=tcp://10.88.0.2:3306",
		"SERVERM1_PORT_3306_TCP_ADDR=10.88.0.2",
		"SERVERM1_PORT_3306_TCP_PORT=3306",
		"SERVERM1_PORT_3306_TCP_PROTO=tcp",
		"SERVERM1_NAME=/client/serverM1",
		"SERVERM1_ENV_MYSQL_USER=app",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Env:\n got %q\nwant %q", got, want)
	}
	if p := envPrefix("my-db.1"); p != "MY_DB_1" {
		t.Errorf("envPrefix = %q", p)
	}
}

func TestHostsLine(t *testing.T) {
	got := HostsLine(Link{"myjavaserver", "serverM1"}, Target{Name: "myjavaserver", ID: "0123456789abcdef", IP: "10.88.0.2"})
	if got != "10.88.0.2\tserverM1 0123456789ab myjavaserver" {
		t.Errorf("HostsLine = %q", got)
	}
}
