package run

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ShedStartupMemory gives back what a detached supervisor needed only to start its
// container. Starting touches much of sbx: package initialisers, the command line, the
// layer store, the image library; about 17 MB of the binary's code and read-only data end
// up mapped into the process, though none of it is used while the supervisor waits. Those
// mappings are dropped here (MADV_DONTNEED on a read-only file mapping unmaps its pages;
// the page cache keeps them, and whatever runs later faults its own pages back in), and
// the Go heap returns its free pages to the kernel.
//
// Only mappings of the executable that hold nothing but file content are dropped: a
// read-only mapping with anonymous pages (glibc's relocated RELRO data in this static
// binary) would lose them, so those, and every writable mapping, are left alone.
func ShedStartupMemory() {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	type mapping struct {
		start, end uintptr
		drop       bool
	}
	var all []mapping
	var cur *mapping
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			// A mapping's header: "start-end perms offset dev inode [path]".
			lo, hi, _ := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			readOnly := fields[1] == "r-xp" || fields[1] == "r--p"
			all = append(all, mapping{start: uintptr(start), end: uintptr(end),
				drop: err1 == nil && err2 == nil && readOnly && len(fields) >= 6 && fields[5] == exe})
			cur = &all[len(all)-1]
			continue
		}
		if cur != nil && len(fields) == 3 && fields[0] == "Anonymous:" && fields[1] != "0" {
			cur.drop = false
		}
	}
	if s.Err() != nil {
		return
	}
	for _, m := range all {
		if m.drop {
			unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED)
		}
	}
}
