package seccomp

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Offsets into struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// badArch is returned for an ABI the profile does not cover. libseccomp's
// default for this case is to kill; killing the whole process rather than
// one thread (SCMP_ACT_KILL) leaves no half-dead program behind.
const badArch = unix.SECCOMP_RET_KILL_PROCESS

// leafSize is how many syscall ranges the search tree tests one after the
// other: below it, a comparison per range is cheaper than more tree levels.
const leafSize = 6

type cond struct {
	index           uint
	op              specs.LinuxSeccompOperator
	value, valueTwo uint64
}

// rule is one alternative for a syscall: all conds hold -> ret.
type rule struct {
	conds []cond
	ret   uint32
}

// syscallRules is everything a profile says about one syscall number.
//
// Evaluation: the conditional rules in profile order, the first whose
// conditions all hold decides; then the first unconditional rule; then the
// default action. For the profiles docker and runc accept (libseccomp
// refuses conflicting actions for one syscall) this is libseccomp's result;
// trying conditional rules first keeps a catch-all rule from hiding a more
// specific one whatever order they were written in.
type syscallRules struct {
	rules  []rule
	uncond *uint32
}

// table holds one ABI's rules by syscall number.
type table map[uint32]*syscallRules

// buildTables resolves the syscall names of every rule for each ABI.
// Names an ABI does not have are skipped, as docker skips them: the default
// profile names syscalls of every architecture at once.
func buildTables(rs *specs.LinuxSeccomp, abis []abi, def uint32) ([]table, error) {
	tables := make([]table, len(abis))
	for i := range tables {
		tables[i] = table{}
	}
	for _, s := range rs.Syscalls {
		ret, err := actionValue(s.Action, s.ErrnoRet)
		if err != nil {
			return nil, err
		}
		if ret == def {
			// runc skips these (libseccomp refuses them), so under docker
			// they have no effect; compiling them could make the same
			// profile behave differently here.
			continue
		}
		alts := alternatives(s.Args)
		for _, name := range s.Names {
			for i, a := range abis {
				nr, ok := a.nr(name)
				if !ok {
					continue
				}
				sr := tables[i][nr]
				if sr == nil {
					sr = &syscallRules{}
					tables[i][nr] = sr
				}
				for _, conds := range alts {
					if len(conds) == 0 {
						if sr.uncond == nil {
							r := ret
							sr.uncond = &r
						}
						continue
					}
					sr.rules = append(sr.rules, rule{conds: conds, ret: ret})
				}
			}
		}
	}
	return tables, nil
}

// alternatives turns a rule's argument list into OR'ed groups of AND'ed
// conditions. runc ANDs the conditions of a rule, except that when one
// argument index appears twice it adds each condition as a rule of its own
// (runc#2735); docker's profile is written for that, so it is kept.
func alternatives(args []specs.LinuxSeccompArg) [][]cond {
	seen := map[uint]bool{}
	repeated := false
	all := make([]cond, 0, len(args))
	for _, a := range args {
		if seen[a.Index] {
			repeated = true
		}
		seen[a.Index] = true
		all = append(all, cond{index: a.Index, op: a.Op, value: a.Value, valueTwo: a.ValueTwo})
	}
	if !repeated {
		return [][]cond{all}
	}
	alts := make([][]cond, len(all))
	for i, c := range all {
		alts[i] = []cond{c}
	}
	return alts
}

// truth is what can be known about a condition before any syscall is made.
type truth int

const (
	sometimes truth = iota
	always
	never
)

// static decides conditions the ABI settles alone: on a 32-bit ABI the
// argument is its low word zero-extended, so a value with high bits set
// decides the comparison by itself.
func static(c cond, bits32 bool) truth {
	if !bits32 {
		return sometimes
	}
	switch c.op {
	case specs.OpMaskedEqual:
		if c.valueTwo>>32 != 0 {
			return never
		}
		return sometimes
	case specs.OpEqualTo, specs.OpGreaterThan, specs.OpGreaterEqual:
		if c.value>>32 != 0 {
			return never
		}
	case specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual:
		if c.value>>32 != 0 {
			return always
		}
	}
	return sometimes
}

// live drops what cannot matter on this ABI: rules with a condition that
// never holds, conditions that always hold, and everything after a rule left
// with no condition (it always decides).
func (sr *syscallRules) live(bits32 bool, def uint32) (rules []rule, final uint32) {
	final = def
	if sr.uncond != nil {
		final = *sr.uncond
	}
	for _, r := range sr.rules {
		var conds []cond
		dead := false
		for _, c := range r.conds {
			switch static(c, bits32) {
			case never:
				dead = true
			case sometimes:
				conds = append(conds, c)
			}
		}
		if dead {
			continue
		}
		if len(conds) == 0 {
			return rules, r.ret
		}
		rules = append(rules, rule{conds: conds, ret: r.ret})
	}
	// Trailing rules that return what falling through returns anyway.
	for len(rules) > 0 && rules[len(rules)-1].ret == final {
		rules = rules[:len(rules)-1]
	}
	return rules, final
}

// span is a run of syscall numbers handled alike: either all returning ret,
// or (lo == hi) one syscall whose argument checks are at body.
type span struct {
	lo, hi uint32
	ret    uint32
	body   label
	rules  []rule // non-empty: argument checks, emitted at body
	final  uint32
	bits32 bool
}

// spans orders an ABI's syscalls and merges neighbours with the same plain
// action; syscalls that end at the default action need no code at all.
func spans(a *asm, t table, bits32 bool, def uint32) []span {
	nrs := make([]uint32, 0, len(t))
	for nr := range t {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	var out []span
	for _, nr := range nrs {
		rules, final := t[nr].live(bits32, def)
		if len(rules) > 0 {
			out = append(out, span{lo: nr, hi: nr, body: a.newLabel(), rules: rules, final: final, bits32: bits32})
			continue
		}
		if final == def {
			continue
		}
		if n := len(out); n > 0 && len(out[n-1].rules) == 0 && out[n-1].ret == final && out[n-1].hi+1 == nr {
			out[n-1].hi = nr
			continue
		}
		out = append(out, span{lo: nr, hi: nr, ret: final})
	}
	return out
}

// tree emits a binary search over spans for the syscall number in the
// accumulator, so a syscall costs a few comparisons rather than one per
// rule. A number in no span returns def.
func tree(a *asm, sp []span, def uint32) {
	if len(sp) > leafSize {
		mid := len(sp) / 2
		right := a.newLabel()
		a.jump(unix.BPF_JGE, sp[mid].lo, right, next)
		tree(a, sp[:mid], def)
		a.bind(right)
		tree(a, sp[mid:], def)
		return
	}
	rets := map[uint32]label{}
	var order []uint32
	retLabel := func(ret uint32) label {
		l, ok := rets[ret]
		if !ok {
			l = a.newLabel()
			rets[ret] = l
			order = append(order, ret)
		}
		return l
	}
	for _, s := range sp {
		target := s.body
		if len(s.rules) == 0 {
			target = retLabel(s.ret)
		}
		if s.lo == s.hi {
			a.jump(unix.BPF_JEQ, s.lo, target, next)
			continue
		}
		skip := a.newLabel()
		in := a.newLabel()
		a.jump(unix.BPF_JGE, s.lo, in, skip)
		a.bind(in)
		a.jump(unix.BPF_JGT, s.hi, skip, target)
		a.bind(skip)
	}
	a.ret(def)
	for _, ret := range order {
		a.bind(rets[ret])
		a.ret(ret)
	}
}

// body emits a syscall's argument checks.
func body(a *asm, s span) {
	a.bind(s.body)
	for _, r := range s.rules {
		fail := a.newLabel()
		for _, c := range r.conds {
			argCheck(a, c, s.bits32, fail)
		}
		a.ret(r.ret)
		a.bind(fail)
	}
	a.ret(s.final)
}

// argCheck falls through when c holds and jumps to fail when not. Arguments
// are 64-bit and compared unsigned, as libseccomp does; BPF registers are 32
// bits, so the high word decides unless it is equal. Both supported
// architectures are little-endian: the low word comes first.
func argCheck(a *asm, c cond, bits32 bool, fail label) {
	lo := uint32(offArgs + 8*c.index)
	hi := lo + 4
	vl, vh := uint32(c.value), uint32(c.value>>32)
	ok := a.newLabel()
	if bits32 {
		// static() has settled every value with high bits set.
		a.ld(lo)
		switch c.op {
		case specs.OpEqualTo:
			a.jump(unix.BPF_JEQ, vl, next, fail)
		case specs.OpNotEqual:
			a.jump(unix.BPF_JEQ, vl, fail, next)
		case specs.OpGreaterThan:
			a.jump(unix.BPF_JGT, vl, next, fail)
		case specs.OpGreaterEqual:
			a.jump(unix.BPF_JGE, vl, next, fail)
		case specs.OpLessThan:
			a.jump(unix.BPF_JGE, vl, fail, next)
		case specs.OpLessEqual:
			a.jump(unix.BPF_JGT, vl, fail, next)
		case specs.OpMaskedEqual:
			a.and(vl)
			a.jump(unix.BPF_JEQ, uint32(c.valueTwo), next, fail)
		}
		a.bind(ok)
		return
	}
	a.ld(hi)
	switch c.op {
	case specs.OpEqualTo:
		a.jump(unix.BPF_JEQ, vh, next, fail)
		a.ld(lo)
		a.jump(unix.BPF_JEQ, vl, next, fail)
	case specs.OpNotEqual:
		a.jump(unix.BPF_JEQ, vh, next, ok)
		a.ld(lo)
		a.jump(unix.BPF_JEQ, vl, fail, next)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		a.jump(unix.BPF_JGT, vh, ok, next)
		a.jump(unix.BPF_JEQ, vh, next, fail)
		a.ld(lo)
		op := uint16(unix.BPF_JGT)
		if c.op == specs.OpGreaterEqual {
			op = unix.BPF_JGE
		}
		a.jump(op, vl, next, fail)
	case specs.OpLessThan, specs.OpLessEqual:
		a.jump(unix.BPF_JGT, vh, fail, next)
		a.jump(unix.BPF_JEQ, vh, next, ok)
		a.ld(lo)
		op := uint16(unix.BPF_JGE) // lo < vl  <=>  !(lo >= vl)
		if c.op == specs.OpLessEqual {
			op = unix.BPF_JGT
		}
		a.jump(op, vl, fail, next)
	case specs.OpMaskedEqual:
		a.and(vh)
		a.jump(unix.BPF_JEQ, uint32(c.valueTwo>>32), next, fail)
		a.ld(lo)
		a.and(vl)
		a.jump(unix.BPF_JEQ, uint32(c.valueTwo), next, fail)
	}
	a.bind(ok)
}

// generate lays out the whole filter:
//
//	load arch; dispatch to the section of each covered audit arch; else kill
//	section: load nr; [x86_64: split off x32 numbers]; search tree
//	argument-check bodies, reached from the trees
func generate(abis []abi, tables []table, def uint32) ([]unix.SockFilter, error) {
	a := &asm{}
	type section struct {
		audit uint32
		plain int // index into abis, -1 if none
		x32   int
	}
	var sections []section
	for i, ab := range abis {
		j := slices.IndexFunc(sections, func(s section) bool { return s.audit == ab.audit })
		if j < 0 {
			sections = append(sections, section{audit: ab.audit, plain: -1, x32: -1})
			j = len(sections) - 1
		}
		if ab.x32 {
			sections[j].x32 = i
		} else {
			sections[j].plain = i
		}
	}

	a.ld(offArch)
	starts := make([]label, len(sections))
	for i, s := range sections {
		starts[i] = a.newLabel()
		a.jump(unix.BPF_JEQ, s.audit, starts[i], next)
	}
	a.ret(badArch)

	var bodies []span
	emitTree := func(i int) {
		sp := spans(a, tables[i], abis[i].bits32, def)
		for _, s := range sp {
			if len(s.rules) > 0 {
				bodies = append(bodies, s)
			}
		}
		tree(a, sp, def)
	}
	for i, s := range sections {
		a.bind(starts[i])
		a.ld(offNr)
		if s.audit == unix.AUDIT_ARCH_X86_64 {
			// x32 tasks share x86_64's audit arch; without this split a
			// profile without SCMP_ARCH_X32 would let x32 numbers through
			// to the default action, and a default of allow would make
			// every x86_64 rule bypassable.
			x32 := a.newLabel()
			plain := a.newLabel()
			a.jump(unix.BPF_JGE, x32SyscallBit, x32, plain)
			a.bind(x32)
			if s.x32 >= 0 {
				emitTree(s.x32)
			} else {
				// -1 (a tracer skipping the syscall, or a bogus number) is
				// no x32 call: it gets the default action like any other
				// number no rule names, rather than a kill.
				a.jump(unix.BPF_JEQ, 0xffffffff, plain, next)
				a.ret(badArch)
			}
			a.bind(plain)
		}
		if s.plain >= 0 {
			emitTree(s.plain)
		} else {
			a.ret(badArch)
		}
	}
	for _, b := range bodies {
		body(a, b)
	}
	return a.assemble()
}
