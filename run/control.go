package run

import (
	"fmt"
	"syscall"
	"time"
)

// Stop sends the container's stop signal (or sig), waits grace (the container's stop
// timeout when nil), then kills it; it returns once the supervisor has recorded the exit.
func (r *Runtime) Stop(c *Container, sig string, grace *time.Duration) error {
	if !c.Running() {
		return nil
	}
	g := time.Duration(c.Host.StopTimeout) * time.Second
	if grace != nil {
		g = *grace
	}
	if sig == "" {
		sig = c.Config.StopSignal
	}
	if c.State.Pid.Alive() {
		stopProcess(c.State.Pid.PID, sig, g)
	}
	r.waitSupervisor(c)
	return nil
}

// Kill sends sig to the container's init.
func (r *Runtime) Kill(c *Container, sig syscall.Signal) error {
	if !c.Running() || !c.State.Pid.Alive() {
		return fmt.Errorf("cannot kill container %s: container is not running", c.Name)
	}
	if err := syscall.Kill(c.State.Pid.PID, sig); err != nil {
		return fmt.Errorf("cannot kill container %s: %w", c.Name, err)
	}
	return nil
}

// Remove deletes a container; a running one only with force (it is killed first); with
// withVolumes, its anonymous volumes that no other container uses go too.
func (r *Runtime) Remove(c *Container, force, withVolumes bool) error {
	if c.Running() {
		if !force {
			return fmt.Errorf("%w: you cannot remove a running container %s: stop it first or use rm -f", ErrRunning, c.ShortID())
		}
		if c.State.Pid.Alive() {
			syscall.Kill(c.State.Pid.PID, syscall.SIGKILL)
		}
		r.waitSupervisor(c)
		c2, err := r.Containers.Load(c.ID)
		if err != nil {
			return nil // the supervisor removed it (--rm)
		}
		c = r.Reconcile(c2)
		if c == nil {
			return nil
		}
	}
	if withVolumes {
		defer r.removeAnonymousVolumes(c)
	}
	return r.Delete(c)
}

// waitSupervisor blocks until the container's supervisor has exited (it records the exit
// status and releases the mounts on its way out).
func (r *Runtime) waitSupervisor(c *Container) {
	if c.State.Supervisor.Alive() {
		waitGone(c.State.Supervisor.PID, 60*time.Second)
	}
}

// Wait blocks until the container has exited and returns its exit code.
func (r *Runtime) Wait(ref string) (int, error) {
	for {
		c, err := r.Find(ref)
		if err != nil {
			return 0, err
		}
		switch c.State.Status {
		case StatusExited:
			return c.State.ExitCode, nil
		case StatusRunning:
			if c.State.Supervisor.Alive() {
				waitGone(c.State.Supervisor.PID, 24*time.Hour)
			}
		default:
			// Created but not started: docker waits for it to run and exit.
			time.Sleep(100 * time.Millisecond)
		}
		// A container removed by --rm as it exits: its record is gone.
		if _, err := r.Containers.Load(c.ID); err != nil {
			return c.State.ExitCode, nil
		}
	}
}
