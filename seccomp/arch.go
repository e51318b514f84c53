package seccomp

//go:generate go run mksyscalls.go

import (
	"fmt"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// x32SyscallBit marks x32 syscall numbers: x32 tasks enter the kernel with
// AUDIT_ARCH_X86_64, so only this bit tells them apart from x86_64 ones.
const x32SyscallBit = 0x40000000

// abi is one syscall ABI a filter can match: an audit arch plus a numbering.
type abi struct {
	arch  specs.Arch
	audit uint32
	// x32 numbers carry x32SyscallBit and share x86_64's audit arch.
	x32 bool
	// bits32: the kernel's handlers see only the low 32 bits of each
	// argument, so only those are compared (as libseccomp does), and the
	// high word, which a 64-bit task entering through int 0x80 can leave
	// set, cannot be used to dodge a rule.
	bits32 bool
	nr     func(name string) (uint32, bool)
}

// abisFor lists the ABIs this machine can execute, native first. Other
// architectures a profile names can never reach this kernel's filter, so
// they need no code.
func abisFor(goarch string) ([]abi, error) {
	switch goarch {
	case "amd64":
		return []abi{
			{arch: specs.ArchX86_64, audit: unix.AUDIT_ARCH_X86_64, nr: nrX86_64},
			{arch: specs.ArchX86, audit: unix.AUDIT_ARCH_I386, bits32: true, nr: nrI386},
			{arch: specs.ArchX32, audit: unix.AUDIT_ARCH_X86_64, x32: true, bits32: true, nr: nrX32},
		}, nil
	case "arm64":
		return []abi{
			{arch: specs.ArchAARCH64, audit: unix.AUDIT_ARCH_AARCH64, nr: nrAArch64},
			{arch: specs.ArchARM, audit: unix.AUDIT_ARCH_ARM, bits32: true, nr: nrARM},
		}, nil
	}
	// The generated tables cover these two; other ports would also need
	// their byte order checked in the argument loads.
	return nil, fmt.Errorf("seccomp: architecture %s is not supported", goarch)
}

// selectABIs picks the ABIs the filter covers: the native one always (as
// libseccomp always includes the native arch) plus those the resolved
// profile lists. ABIs left out are killed by the filter (see badArch).
func selectABIs(listed []specs.Arch) ([]abi, error) {
	all, err := abisFor(runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	out := []abi{all[0]}
	for _, a := range all[1:] {
		for _, l := range listed {
			if l == a.arch {
				out = append(out, a)
				break
			}
		}
	}
	return out, nil
}
