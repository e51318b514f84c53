package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// maxInsns is BPF_MAXINSNS, the longest filter the kernel loads.
const maxInsns = 4096

// label names an instruction position that is not known until assembly.
type label int32

// next is the instruction after a jump: conditional jumps fall through to it.
const next label = -1

// insn is a BPF instruction whose jumps go to labels.
type insn struct {
	code   uint16
	k      uint32
	jt, jf label // conditional jumps; jt alone for BPF_JA
}

type item struct {
	bind label // >= 0: binds this label here; the item is no instruction
	ins  insn
}

// asm is a classic-BPF assembler with symbolic forward jumps. Conditional
// jumps reach only 255 instructions, so assemble routes longer ones through
// an unconditional BPF_JA (32-bit offset); the generator can then place code
// without caring about distances.
type asm struct {
	items   []item
	nlabels label
}

func (a *asm) newLabel() label {
	a.nlabels++
	return a.nlabels - 1
}

func (a *asm) bind(l label) { a.items = append(a.items, item{bind: l}) }

func (a *asm) emit(i insn) { a.items = append(a.items, item{bind: -1, ins: i}) }

// ld loads the 32-bit word of struct seccomp_data at off.
func (a *asm) ld(off uint32) {
	a.emit(insn{code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, k: off})
}

func (a *asm) and(k uint32) { a.emit(insn{code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, k: k}) }

// jump compares the accumulator with k (op is BPF_JEQ, BPF_JGT, BPF_JGE).
func (a *asm) jump(op uint16, k uint32, jt, jf label) {
	a.emit(insn{code: unix.BPF_JMP | op | unix.BPF_K, k: k, jt: jt, jf: jf})
}

func (a *asm) ja(l label) { a.emit(insn{code: unix.BPF_JMP | unix.BPF_JA, jt: l}) }

func (a *asm) ret(k uint32) { a.emit(insn{code: unix.BPF_RET | unix.BPF_K, k: k}) }

func isCond(i insn) bool {
	return i.code&0x07 == unix.BPF_JMP && i.code&0xf0 != unix.BPF_JA
}

// positions maps every label to the index of the instruction it precedes.
func (a *asm) positions() []int {
	pos := make([]int, a.nlabels)
	for i := range pos {
		pos[i] = -1
	}
	n := 0
	for _, it := range a.items {
		if it.bind >= 0 {
			pos[it.bind] = n
		} else {
			n++
		}
	}
	return pos
}

// assemble resolves labels, inserting trampolines until every conditional
// jump fits in 8 bits; each pass only lengthens the program, so it ends.
func (a *asm) assemble() ([]unix.SockFilter, error) {
	for {
		pos := a.positions()
		offset := func(at int, l label) (int, error) {
			if l == next {
				return 0, nil
			}
			if pos[l] < 0 {
				return 0, fmt.Errorf("seccomp: internal error: label %d never bound", l)
			}
			off := pos[l] - at - 1
			if off < 0 {
				return 0, fmt.Errorf("seccomp: internal error: backward jump to label %d", l)
			}
			return off, nil
		}
		var out []item
		grew := false
		n := 0
		for _, it := range a.items {
			if it.bind >= 0 {
				out = append(out, it)
				continue
			}
			ins := it.ins
			if !isCond(ins) {
				out = append(out, it)
				n++
				continue
			}
			var far []label
			for _, t := range []*label{&ins.jt, &ins.jf} {
				off, err := offset(n, *t)
				if err != nil {
					return nil, err
				}
				if off > 255 {
					far = append(far, *t)
					tramp := a.newLabel()
					*t = tramp
					far = append(far, tramp)
				}
			}
			if len(far) == 0 {
				out = append(out, it)
				n++
				continue
			}
			grew = true
			// The trampolines sit where the fall-through was, so a jump to
			// "next" must now name the instruction after them.
			after := a.newLabel()
			if ins.jt == next {
				ins.jt = after
			}
			if ins.jf == next {
				ins.jf = after
			}
			out = append(out, item{bind: -1, ins: ins})
			for i := 0; i < len(far); i += 2 {
				out = append(out, item{bind: far[i+1]}, item{bind: -1, ins: insn{code: unix.BPF_JMP | unix.BPF_JA, jt: far[i]}})
			}
			out = append(out, item{bind: after})
			n++
		}
		a.items = out
		if !grew {
			break
		}
	}

	pos := a.positions()
	var prog []unix.SockFilter
	for _, it := range a.items {
		if it.bind >= 0 {
			continue
		}
		at := len(prog)
		f := unix.SockFilter{Code: it.ins.code, K: it.ins.k}
		switch {
		case isCond(it.ins):
			jt, jf := 0, 0
			if it.ins.jt != next {
				jt = pos[it.ins.jt] - at - 1
			}
			if it.ins.jf != next {
				jf = pos[it.ins.jf] - at - 1
			}
			f.Jt, f.Jf = uint8(jt), uint8(jf)
		case it.ins.code == unix.BPF_JMP|unix.BPF_JA:
			if it.ins.jt != next {
				f.K = uint32(pos[it.ins.jt] - at - 1)
			}
		}
		prog = append(prog, f)
	}
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("filter has %d instructions, the kernel loads at most %d", len(prog), maxInsns)
	}
	return prog, nil
}
