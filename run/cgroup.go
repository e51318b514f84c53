package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Resource limits (--memory, --cpus, --pids-limit) are enforced with cgroups where the host
// lets sbx use them: as root with the v1 controllers mounted (/sys/fs/cgroup/memory, ...)
// or on a pure cgroup v2 host with the controllers enabled. Rootless limits would need a
// v2 hierarchy delegated to the user (systemd does that on v2 hosts); on a v1 or hybrid
// host they cannot work, and sbx says so instead of ignoring the flags.

const cgroupRoot = "/sys/fs/cgroup"

// limits is what a container asks for.
type limits struct {
	memory    int64
	nanoCPUs  int64
	pidsLimit int64
}

func (l limits) any() bool { return l.memory > 0 || l.nanoCPUs > 0 || l.pidsLimit > 0 }

func (l limits) flags() string {
	var f []string
	if l.memory > 0 {
		f = append(f, "--memory")
	}
	if l.nanoCPUs > 0 {
		f = append(f, "--cpus")
	}
	if l.pidsLimit > 0 {
		f = append(f, "--pids-limit")
	}
	return strings.Join(f, ", ")
}

// cgroupV2 reports whether /sys/fs/cgroup is a cgroup v2 hierarchy.
func cgroupV2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// checkCgroups says whether the limits can be enforced, and how to fix it when not.
func checkCgroups(l limits, rootless bool) error {
	if !l.any() {
		return nil
	}
	if rootless {
		if cgroupV2() {
			return fmt.Errorf("%s: rootless cgroup limits are not supported by sbx yet; run as root or without %s", l.flags(), l.flags())
		}
		return fmt.Errorf("%s: this host has cgroups v1 (or hybrid), where an unprivileged user cannot set limits; run as root, boot with systemd.unified_cgroup_hierarchy=1, or run without %s", l.flags(), l.flags())
	}
	need := map[string]bool{}
	if l.memory > 0 {
		need["memory"] = true
	}
	if l.nanoCPUs > 0 {
		need["cpu"] = true
	}
	if l.pidsLimit > 0 {
		need["pids"] = true
	}
	if cgroupV2() {
		data, _ := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"))
		have := strings.Fields(string(data))
		for c := range need {
			if !contains(have, c) {
				return fmt.Errorf("%s: the %s cgroup controller is not enabled in %s/cgroup.subtree_control", l.flags(), c, cgroupRoot)
			}
		}
		return nil
	}
	for c := range need {
		if _, err := os.Stat(filepath.Join(cgroupRoot, c, "cgroup.procs")); err != nil {
			return fmt.Errorf("%s: the %s cgroup controller is not mounted at %s/%s", l.flags(), c, cgroupRoot, c)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cgroupDirs are the container's cgroups: sbx/ID under each controller used (v1), or one
// sbx/ID directory (v2).
func cgroupDirs(id string, l limits) map[string]string {
	dirs := map[string]string{}
	if cgroupV2() {
		dirs["v2"] = filepath.Join(cgroupRoot, "sbx", id)
		return dirs
	}
	if l.memory > 0 {
		dirs["memory"] = filepath.Join(cgroupRoot, "memory", "sbx", id)
	}
	if l.nanoCPUs > 0 {
		dirs["cpu"] = filepath.Join(cgroupRoot, "cpu", "sbx", id)
	}
	if l.pidsLimit > 0 {
		dirs["pids"] = filepath.Join(cgroupRoot, "pids", "sbx", id)
	}
	return dirs
}

// applyCgroups creates the container's cgroups, sets the limits and moves pid in. The
// container's init is still waiting for its config, so nothing it runs escapes them.
func applyCgroups(id string, pid int, l limits) error {
	if !l.any() {
		return nil
	}
	write := func(dir, file, value string) error {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
			return fmt.Errorf("setting %s: %w", file, err)
		}
		return nil
	}
	const period = 100000
	quota := l.nanoCPUs * period / 1e9
	for ctl, dir := range cgroupDirs(id, l) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		var err error
		switch ctl {
		case "v2":
			if l.memory > 0 {
				err = errors.Join(err, write(dir, "memory.max", strconv.FormatInt(l.memory, 10)))
			}
			if l.nanoCPUs > 0 {
				err = errors.Join(err, write(dir, "cpu.max", fmt.Sprintf("%d %d", quota, period)))
			}
			if l.pidsLimit > 0 {
				err = errors.Join(err, write(dir, "pids.max", strconv.FormatInt(l.pidsLimit+setupPids, 10)))
			}
		case "memory":
			err = write(dir, "memory.limit_in_bytes", strconv.FormatInt(l.memory, 10))
		case "cpu":
			err = errors.Join(write(dir, "cpu.cfs_period_us", strconv.Itoa(period)), write(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10)))
		case "pids":
			err = write(dir, "pids.max", strconv.FormatInt(l.pidsLimit+setupPids, 10))
		}
		if err == nil {
			err = write(dir, "cgroup.procs", strconv.Itoa(pid))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", l.flags(), err)
		}
	}
	return nil
}

// setupPids is headroom in pids.max while the container's init, a Go program whose
// runtime starts threads as it pleases, sets the container up; the init itself writes the
// real limit just before it executes the command (see openPidsMax).
const setupPids = 64

// openPidsMax opens the container's pids.max files for the init to write the real limit.
func openPidsMax(id string, l limits) ([]*os.File, error) {
	if l.pidsLimit <= 0 {
		return nil, nil
	}
	var files []*os.File
	for ctl, dir := range cgroupDirs(id, l) {
		if ctl != "v2" && ctl != "pids" {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, "pids.max"), os.O_WRONLY, 0)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("--pids-limit: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

// removeCgroups deletes the container's cgroups once its processes are gone.
func removeCgroups(id string, l limits) {
	for _, dir := range cgroupDirs(id, l) {
		os.Remove(dir)
	}
}

func containerLimits(c *Container) limits {
	return limits{memory: c.Host.Memory, nanoCPUs: c.Host.NanoCPUs, pidsLimit: c.Host.PidsLimit}
}
