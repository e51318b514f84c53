package proto

import (
	"encoding/binary"
	"errors"
)

// Config and Process travel in a binary form of their own rather than JSON: the init reads
// its config first thing, on the critical path of every start, and encoding/json took it
// about 0.3 ms there (a fresh process builds its reflection caches at first use). The
// fields go in a fixed order: integers as varints, strings and byte slices with their
// length, lists with their count. A length or count is stored plus one, so that zero says
// nil and a nil slice comes back nil. Both ends are the same build of sbx (the init is
// embedded in it), so the form needs no version. The C init (run/cinit/cinit.c, decode)
// reads the Config form too: a change here is a change there.

// binaryTag starts a message in this form; a JSON message never starts with it.
const binaryTag = 0

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) string(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(v []byte) {
	if v == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(v)) + 1)
	e.b = append(e.b, v...)
}

// count starts a list of n elements, nil when isNil.
func (e *encoder) count(n int, isNil bool) {
	if isNil {
		e.uint(0)
		return
	}
	e.uint(uint64(n) + 1)
}

func (e *encoder) strings(v []string) {
	e.count(len(v), v == nil)
	for _, s := range v {
		e.string(s)
	}
}

var errShort = errors.New("decoding message: truncated or malformed")

type decoder struct {
	b   []byte
	err error
}

// fail marks the message malformed: every read after it gives zero values.
func (d *decoder) fail() {
	d.err = errShort
	d.b = nil
}

// varint reads one varint with read (binary.Uvarint or binary.Varint).
func varint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	v, n := read(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint() uint64 { return varint(d, binary.Uvarint) }
func (d *decoder) int() int64   { return varint(d, binary.Varint) }

func (d *decoder) bool() bool { return d.uint() != 0 }

// take returns the next n bytes.
func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.take(d.uint())) }

func (d *decoder) bytes() []byte {
	n := d.uint()
	if n == 0 {
		return nil
	}
	return append([]byte{}, d.take(n-1)...)
}

// count reads a list's length; nil says the list was nil. A count larger than what is
// left of the message (every element takes at least a byte) is malformed.
func (d *decoder) count() (n int, isNil bool) {
	c := d.uint()
	if c == 0 {
		return 0, true
	}
	if c-1 > uint64(len(d.b)) {
		d.fail()
		return 0, true
	}
	return int(c - 1), false
}

func (d *decoder) strings() []string {
	n, isNil := d.count()
	if isNil {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.string()
	}
	return v
}

// MarshalBinary encodes p (see the form above); PidsFiles travel as descriptors.
func (p Process) MarshalBinary() ([]byte, error) {
	var e encoder
	p.encode(&e)
	return e.b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (p *Process) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	p.decode(&d)
	return d.end()
}

func (p *Process) encode(e *encoder) {
	e.int(p.PidsLimit)
	e.strings(p.Args)
	e.strings(p.Env)
	e.string(p.Cwd)
	e.uint(uint64(p.UID))
	e.uint(uint64(p.GID))
	e.count(len(p.AdditionalGIDs), p.AdditionalGIDs == nil)
	for _, g := range p.AdditionalGIDs {
		e.uint(uint64(g))
	}
	e.strings(p.Caps)
	e.bool(p.NoNewPrivs)
	e.string(p.Seccomp)
	e.bytes(p.SeccompBody)
	e.bytes(p.SeccompProg)
	e.uint(uint64(p.SeccompFlags))
	e.count(len(p.Rlimits), p.Rlimits == nil)
	for _, r := range p.Rlimits {
		e.int(int64(r.Resource))
		e.uint(r.Soft)
		e.uint(r.Hard)
	}
	e.bool(p.TTY)
	e.bool(p.Init)
}

func (p *Process) decode(d *decoder) {
	p.PidsLimit = d.int()
	p.Args = d.strings()
	p.Env = d.strings()
	p.Cwd = d.string()
	p.UID = uint32(d.uint())
	p.GID = uint32(d.uint())
	if n, isNil := d.count(); !isNil {
		p.AdditionalGIDs = make([]uint32, n)
		for i := range p.AdditionalGIDs {
			p.AdditionalGIDs[i] = uint32(d.uint())
		}
	}
	p.Caps = d.strings()
	p.NoNewPrivs = d.bool()
	p.Seccomp = d.string()
	p.SeccompBody = d.bytes()
	p.SeccompProg = d.bytes()
	p.SeccompFlags = uintptr(d.uint())
	if n, isNil := d.count(); !isNil {
		p.Rlimits = make([]Rlimit, n)
		for i := range p.Rlimits {
			p.Rlimits[i] = Rlimit{Resource: int(d.int()), Soft: d.uint(), Hard: d.uint()}
		}
	}
	p.TTY = d.bool()
	p.Init = d.bool()
}

// MarshalBinary encodes c (see the form above); Tree and the PidsFiles travel as
// descriptors.
func (c Config) MarshalBinary() ([]byte, error) {
	var e encoder
	c.Process.encode(&e)
	e.string(c.Rootfs)
	e.bool(c.ReadOnly)
	e.string(c.Hostname)
	e.count(len(c.Mounts), c.Mounts == nil)
	for _, m := range c.Mounts {
		e.string(m.Source)
		e.string(m.Destination)
		e.string(m.Type)
		e.strings(m.Options)
		e.bool(m.File)
	}
	e.bool(c.NewNet)
	e.int(int64(c.JoinNet))
	e.strings(c.MaskedPaths)
	e.strings(c.ReadonlyPaths)
	e.int(int64(c.DevptsGID))
	e.bool(c.RootfsTree)
	e.bool(c.WaitNetwork)
	e.bool(c.BindNotify)
	return e.b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (c *Config) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	c.Process.decode(&d)
	c.Rootfs = d.string()
	c.ReadOnly = d.bool()
	c.Hostname = d.string()
	if n, isNil := d.count(); !isNil {
		c.Mounts = make([]Mount, n)
		for i := range c.Mounts {
			c.Mounts[i] = Mount{Source: d.string(), Destination: d.string(), Type: d.string(),
				Options: d.strings(), File: d.bool()}
		}
	}
	c.NewNet = d.bool()
	c.JoinNet = int(d.int())
	c.MaskedPaths = d.strings()
	c.ReadonlyPaths = d.strings()
	c.DevptsGID = int(d.int())
	c.RootfsTree = d.bool()
	c.WaitNetwork = d.bool()
	c.BindNotify = d.bool()
	return d.end()
}

// end reports a malformed message: an error on the way, or bytes left over.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errShort
	}
	return d.err
}
