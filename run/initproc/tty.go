package initproc

import (
	"golang.org/x/sys/unix"

	"github.com/sbx-dev/sbx/run/proto"
)

// setupTTY creates the terminal inside the container's own devpts, so that ttyname() and
// everything built on it work there; the master goes to the supervisor over the sync
// socket. The slave becomes the controlling terminal and stdio.
func setupTTY(sync proto.FD, uid uint32) error {
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(125, "opening /dev/pts/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fail(125, "unlocking the pty: %v", err)
	}
	// TIOCGPTPEER opens the slave through the master, immune to a racing /dev/pts lookup.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), uintptr(unix.TIOCGPTPEER), uintptr(unix.O_RDWR|unix.O_NOCTTY))
	if errno != 0 {
		return fail(125, "opening the pty: %v", errno)
	}
	slave := int(r)
	if uid != 0 {
		unix.Fchown(slave, int(uid), -1)
	}
	if err := proto.Send(sync, proto.Message{Stage: proto.StagePTY}, master); err != nil {
		return fail(125, "passing the pty: %v", err)
	}
	unix.Close(master)
	if _, err := unix.Setsid(); err != nil {
		return fail(125, "setsid: %v", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fail(125, "setting the controlling terminal: %v", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup2(slave, fd); err != nil {
			return fail(125, "dup2: %v", err)
		}
	}
	if slave > 2 {
		unix.Close(slave)
	}
	return nil
}
