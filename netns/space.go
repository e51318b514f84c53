// Package netns owns the user's bridge network namespace: one network namespace, owned by
// the holder's user namespace, that carries the bridges of every network, the outbound link
// to the world (slirp4netns or pasta) and the nftables rules. It attaches containers to it
// with veth pairs and forwards published ports into it.
//
// Host side: it runs in the holder's namespaces (every sbx command does), never inside a
// container. The namespace is bind-mounted inside the holder's private tmpfs, so it lives
// exactly as long as the holder: it is made by the first container that needs it and is
// gone, with its outbound helper, when the last sbx process of the user has exited.
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Space is the user's bridge network namespace.
type Space struct {
	Dir  string   // the namespace's directory in the holder tmpfs (lock, state, the ns file)
	File *os.File // the namespace itself
}

// Close releases the namespace file (the namespace stays).
func (s *Space) Close() error { return s.File.Close() }

// Path is where the namespace is bind-mounted.
func (s *Space) Path() string { return filepath.Join(s.Dir, "ns") }

// In runs fn on a fresh OS thread that has joined the network namespace ns. The thread is
// thrown away afterwards: a rootless process may enter a namespace its user namespace owns
// but can never go back to the host's, so the thread must not serve other goroutines.
func In(ns *os.File, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with this goroutine.
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("entering the network namespace: %w", err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// nsfsMagic is statfs's f_type of a namespace file (NSFS_MAGIC).
const nsfsMagic = 0x6e736673

// openExisting opens the namespace at path, or returns os.ErrNotExist when nothing
// (or a leftover plain file from an interrupted creation) is there.
func openExisting(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != nsfsMagic {
		f.Close()
		return nil, os.ErrNotExist
	}
	return f, nil
}

// create makes a new network namespace and bind-mounts it at path. The namespace has
// loopback up and forwarding on, so the bridges can route to the outbound link.
func create(path string) (*os.File, error) {
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the new namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("creating the bridge network namespace: %w", err)
			return
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
			done <- fmt.Errorf("keeping the bridge network namespace: %w", err)
			return
		}
		done <- setupNamespace()
	}()
	if err := <-done; err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return nil, err
	}
	f, err := openExisting(path)
	if err != nil {
		return nil, errors.New("the bridge network namespace vanished while it was made")
	}
	return f, nil
}

// OpenExisting returns the bridge namespace if there is one (os.ErrNotExist if not),
// without making it: for clean-up, which must never start what it cleans.
func OpenExisting(dir string) (*Space, error) {
	f, err := openExisting(filepath.Join(dir, "ns"))
	if err != nil {
		return nil, err
	}
	return &Space{Dir: dir, File: f}, nil
}
