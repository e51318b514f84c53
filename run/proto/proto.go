// Package proto is the one small message protocol between sbx's host side (the supervisor,
// package run) and the code that runs inside a container's namespaces (package initproc).
// Both ends import it; it imports nothing of sbx.
//
// The conversation happens on a unix socketpair handed to the child as fd 3:
//
//	parent -> child   Config            (one message in its binary form, codec.go)
//	child  -> parent  Message{Stage}    progress, and the pty master (SCM_RIGHTS) when Config.TTY
//	child  -> parent  Message{Error}    setup failed; the child exits with Message.ExitCode
//	EOF                                 the socket is close-on-exec: EOF without an error means
//	                                    the container's command was executed
package proto

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// EnvInit marks a re-executed sbx as a container init; EnvExec as an exec stage.
const (
	EnvInit = "_SBX_INIT"
	EnvExec = "_SBX_EXEC"
	// SyncFD is the socket's descriptor number in the child.
	SyncFD = 3
)

// Mount is one mount to make inside the container, relative to its root.
type Mount struct {
	Source      string   // host path (bind) or fs name (tmpfs, proc, ...)
	Destination string   // absolute path inside the container
	Type        string   // "bind", "tmpfs", ...
	Options     []string // mount options: "ro", "rbind", "nosuid", "size=64m", "mode=1777", ...
	// File says a bind source is a file: the destination is created as an empty file.
	File bool
}

// Rlimit is one --ulimit.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// Process is what is executed, and how: shared by run (the container's first process) and
// exec (an additional one).
type Process struct {
	// PidsLimit, when > 0, comes with the container's pids.max files open for writing (in
	// PidsFiles, attached to the message): the init writes the limit itself, just before it
	// executes the command. Until then the cgroup leaves headroom for the threads of the
	// init's Go runtime, which would otherwise fail to start and crash the init.
	PidsLimit      int64
	PidsFiles      []*os.File `json:"-"`
	Args           []string
	Env            []string
	Cwd            string
	UID, GID       uint32
	AdditionalGIDs []uint32
	Caps           []string // capability names kept (bounding, permitted, effective, ambient for non-root)
	NoNewPrivs     bool
	Seccomp        string // "" docker's default, "unconfined", or a profile path (for messages)
	SeccompBody    []byte // the profile's content, read on the host side
	// SeccompProg and SeccompFlags are the filter compiled on the host side
	// (seccomp.Filter.Encode); the init installs them. Empty with "unconfined".
	SeccompProg  []byte
	SeccompFlags uintptr
	Rlimits      []Rlimit
	TTY          bool
	// Init keeps sbx as PID 1 that reaps zombies and forwards signals (--init).
	Init bool
}

// Config is everything the container init needs; the host side resolved it all.
type Config struct {
	Process  Process
	Rootfs   string // absolute host path of the root filesystem (already mounted)
	ReadOnly bool
	Hostname string
	Mounts   []Mount // in order, after the standard /proc, /dev, /sys
	// NewNet says the container has its own network namespace (bring lo up; mount a fresh
	// sysfs). False for --net=host.
	NewNet bool
	// JoinNet, when not 0, is the descriptor (in the child) of another container's network
	// namespace to join (--net=container:X): its lo is already up, and sysfs then shows it.
	JoinNet int
	// MaskedPaths are hidden (a /dev/null bind or an empty read-only tmpfs); ReadonlyPaths are
	// remounted read-only: docker's lists.
	MaskedPaths   []string
	ReadonlyPaths []string
	// DevptsGID is the gid devpts gives new ptys (5, "tty"), or -1 when not mapped.
	DevptsGID int
	// RootfsTree says the last descriptor that comes with the config is Rootfs as a
	// detached mount tree (open_tree), to attach at Rootfs: the init's mount namespace was
	// made before the root filesystem was mounted. Tree is that descriptor, in the init.
	RootfsTree bool
	Tree       *os.File `json:"-"`
	// WaitNetwork makes the init, once its root filesystem is set up, wait for a Message
	// with Stage StageNetwork before it starts the command: the supervisor attaches the
	// container's network meanwhile, and the two take turns no longer.
	WaitNetwork bool
	// BindNotify asks the init to send bind(2) calls of the container's processes to the
	// supervisor (a seccomp user-notification filter, its listener sent with
	// StageBindNotify), which hands a published port's host socket to a server that binds
	// the port (see netns.Forwarder.ServeBinds). An init that cannot do it sends nothing:
	// the supervisor then relays the ports.
	BindNotify bool
}

// Stages reported by the child.
const (
	StageMounted = "mounted"
	StagePTY     = "pty" // carries the pty master
	// StageBindNotify carries the seccomp listener of Config.BindNotify.
	StageBindNotify = "bind-notify"
)

// StageNetwork is the supervisor's word to an init that waits for its network (see
// Config.WaitNetwork): the interfaces are in place.
const StageNetwork = "network"

// Message is what the child reports (and, once, StageNetwork, what the supervisor says).
type Message struct {
	Stage    string `json:",omitempty"`
	Error    string `json:",omitempty"`
	ExitCode int    `json:",omitempty"` // for Error: 127 not found, 126 not executable, 125 setup
}

// Conn is one end of the sync socket (SOCK_SEQPACKET: a message is one datagram). The
// supervisor's end is a *net.UnixConn behind an adapter (package run); the init's is FD.
type Conn interface {
	SendMsg(b, oob []byte) error
	RecvMsg(b, oob []byte) (n, oobn int, err error)
}

// FD is the init's end of the sync socket: its descriptor, used with plain blocking system
// calls. The init has nothing else to do while it waits, and needs no poller (package net
// would start one, and cost the init's start its initialisation).
type FD int

// SyncConn readies the child's end of the sync socket, fd SyncFD, as an FD: blocking, and
// close-on-exec, so that the supervisor reads end-of-file once the command executes.
func SyncConn() (FD, error) {
	if err := unix.SetNonblock(SyncFD, false); err != nil {
		return -1, err
	}
	unix.CloseOnExec(SyncFD)
	return FD(SyncFD), nil
}

func (f FD) SendMsg(b, oob []byte) error { return unix.Sendmsg(int(f), b, oob, nil, 0) }

func (f FD) RecvMsg(b, oob []byte) (int, int, error) {
	n, oobn, _, _, err := unix.Recvmsg(int(f), b, oob, unix.MSG_CMSG_CLOEXEC)
	return n, oobn, err
}

// Close closes the descriptor.
func (f FD) Close() error { return unix.Close(int(f)) }

// Send writes one message, with fds attached when given: a Config or Process in their
// binary form (codec.go), anything else as a JSON line.
func Send(c Conn, v any, fds ...int) error {
	var data []byte
	var err error
	if m, ok := v.(encoding.BinaryMarshaler); ok {
		data, err = m.MarshalBinary()
		data = append([]byte{binaryTag}, data...)
	} else {
		data, err = json.Marshal(v)
		data = append(data, '\n')
	}
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return c.SendMsg(data, oob)
}

// Receive reads one message (see Send) and the fds that came with it. It reads one
// datagram-sized chunk: each Send is a single write, and messages are small.
func Receive(c Conn, v any) ([]*os.File, error) {
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, err := c.RecvMsg(buf, oob)
	if errors.Is(err, io.EOF) {
		return nil, errEOF
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errEOF
	}
	var files []*os.File
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			fds, err := unix.ParseUnixRights(&m)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "received"))
			}
		}
	}
	if u, ok := v.(encoding.BinaryUnmarshaler); ok && buf[0] == binaryTag {
		return files, u.UnmarshalBinary(buf[1:n])
	}
	if err := json.Unmarshal(buf[:n], v); err != nil {
		return files, fmt.Errorf("decoding message: %w", err)
	}
	return files, nil
}

var errEOF = errors.New("end of messages")

// IsEOF reports whether Receive hit the end of the conversation.
func IsEOF(err error) bool { return errors.Is(err, errEOF) }
