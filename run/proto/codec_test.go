package proto

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// fill gives v (a settable value) a non-zero value of its type, picked by r; nil slices
// stay nil now and then, and empty ones empty, since the form keeps the two apart.
func fill(t *testing.T, v reflect.Value, r *rand.Rand) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(strings.Repeat("é/x", 1+r.Intn(4)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int63n(1<<40) - 1<<39)
	case reflect.Uint8, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(r.Int63n(1<<31)) & (1<<(8*v.Type().Size()) - 1))
	case reflect.Slice:
		n := r.Intn(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fill(t, s.Index(i), r)
		}
		v.Set(s)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Tag.Get("json") != "-" {
				fill(t, v.Field(i), r)
			}
		}
	default:
		t.Fatalf("the codec test does not know %s", v.Type())
	}
}

func roundTrip(t *testing.T, in *Config) {
	t.Helper()
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out Config
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if !reflect.DeepEqual(*in, out) {
		t.Fatalf("round trip changed the config:\n in %+v\nout %+v", *in, out)
	}
}

// Every field of Config and Process survives, each on its own (a field added to them but
// not to the codec fails here), and all of them at once, with random values.
func TestCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	roundTrip(t, &Config{})
	var each func(prefix string, v reflect.Value)
	each = func(prefix string, typ reflect.Value) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Type().Field(i)
			if f.Tag.Get("json") == "-" {
				continue
			}
			var c Config
			field := reflect.ValueOf(&c).Elem().FieldByIndex(append(append([]int{}, prefixIndex(prefix)...), i))
			fill(t, field, r)
			t.Run(prefix+f.Name, func(t *testing.T) { roundTrip(t, &c) })
		}
	}
	each("", reflect.ValueOf(Config{}))
	each("Process.", reflect.ValueOf(Process{}))
	for i := 0; i < 200; i++ {
		var c Config
		fill(t, reflect.ValueOf(&c).Elem(), r)
		c.Tree, c.Process.PidsFiles = nil, nil
		if i%3 == 0 {
			c.Mounts, c.Process.Env = []Mount{}, []string{}
		}
		roundTrip(t, &c)
	}
}

func prefixIndex(prefix string) []int {
	if prefix == "Process." {
		f, _ := reflect.TypeOf(Config{}).FieldByName("Process")
		return f.Index
	}
	return nil
}

// A truncated or padded message is an error, never a config with holes in it.
func TestCodecRefusesDamage(t *testing.T) {
	var c Config
	fill(t, reflect.ValueOf(&c).Elem(), rand.New(rand.NewSource(2)))
	c.Tree, c.Process.PidsFiles = nil, nil
	b, _ := c.MarshalBinary()
	for _, bad := range [][]byte{b[:len(b)-1], b[:len(b)/2], append(append([]byte{}, b...), 0), {}} {
		var out Config
		if err := out.UnmarshalBinary(bad); err == nil {
			t.Errorf("a damaged message of %d bytes (of %d) decoded", len(bad), len(b))
		}
	}
}
