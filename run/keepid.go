package run

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/sbx-dev/sbx/userns"
)

// keepIDMaps maps the user's own uid (and gid) inside the container to the user on the
// host, as podman's --userns=keep-id does. Containers normally run in the holder's user
// namespace, where container root is the user; a keep-id container gets one more user
// namespace nested in it: inner id U is outer 0 (the user), inner 0..U-1 are outer 1..U,
// and the rest of the holder's range follows unchanged. Files the user owns then belong to
// the same uid inside the container as outside.
func keepIDMaps(hostID int, selfMap string) ([]syscall.SysProcIDMap, error) {
	m, err := userns.ReadMap(selfMap)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, e := range m {
		if e.Container+e.Count > size {
			size = e.Container + e.Count
		}
	}
	if hostID <= 0 || hostID >= size {
		return nil, fmt.Errorf("--userns=keep-id: id %d is outside the %d ids this user namespace maps; add a larger range to /etc/subuid and /etc/subgid", hostID, size)
	}
	maps := []syscall.SysProcIDMap{
		{ContainerID: 0, HostID: 1, Size: hostID},
		{ContainerID: hostID, HostID: 0, Size: 1},
	}
	if rest := size - hostID - 1; rest > 0 {
		maps = append(maps, syscall.SysProcIDMap{ContainerID: hostID + 1, HostID: hostID + 1, Size: rest})
	}
	return maps, nil
}

// rootlessIDs are the user's own uid and gid on the host, as sbx recorded them on entering
// the holder.
func rootlessIDs() (int, int) {
	uid, _ := strconv.Atoi(os.Getenv("_CONTAINERS_ROOTLESS_UID"))
	gid := os.Getgid()
	if v := os.Getenv("_SBX_ROOTLESS_GID"); v != "" {
		gid, _ = strconv.Atoi(v)
	}
	return uid, gid
}
