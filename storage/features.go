package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// The overlay driver probes the kernel when it opens (test mounts for overlay itself,
// metacopy, the opaque-directory bug, idmapped lower layers: a dozen mounts and a child
// process, about a quarter of a container start) and records each answer as an empty file
// named FEATURE-true or FEATURE-false in its run directory, so that the next open skips the
// probe. sbx's run directory is the holder's tmpfs, which goes with the holder, so without
// help every command after a quiet moment would probe again. podman keeps these records
// until reboot (its run root is on /run); sbx does the same: the records are copied to a
// directory of the host's runtime dir named by the boot id, and copied back before the
// store opens. The answers depend on the kernel (fixed for a boot) and on the filesystem
// and options of the store, which is why the key also names the graph root and driver.

// featureCache is the persistent copy of one store's feature records for this boot; ""
// when the boot cannot be identified (then nothing is cached).
func featureCache(dir string, o Options, driver string, driverOpts []string) string {
	if dir == "" {
		return ""
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	h := sha256.Sum256([]byte(o.GraphRoot + "\x00" + driver + "\x00" + strings.Join(driverOpts, "\x00")))
	return filepath.Join(dir, strings.TrimSpace(string(boot)), hex.EncodeToString(h[:8]))
}

// isFeatureRecord: the driver's records, and nothing else of its run directory (mount
// state must never outlive the holder).
func isFeatureRecord(e os.DirEntry) bool {
	n := e.Name()
	return e.Type().IsRegular() && !strings.HasPrefix(n, ".") &&
		(strings.HasSuffix(n, "-true") || strings.HasSuffix(n, "-false"))
}

// copyFeatures copies the feature records of from that to lacks. Best effort: a record
// that is not copied only costs a probe.
func copyFeatures(from, to string) {
	ents, err := os.ReadDir(from)
	if err != nil {
		return
	}
	made := false
	for _, e := range ents {
		if !isFeatureRecord(e) {
			continue
		}
		dst := filepath.Join(to, e.Name())
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			continue
		}
		if !made {
			if os.MkdirAll(to, 0o700) != nil {
				return
			}
			made = true
		}
		// Through a temporary name: a concurrent reader sees the whole record or none.
		tmp, err := os.CreateTemp(to, ".feature-*")
		if err != nil {
			return
		}
		_, werr := tmp.Write(data)
		if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), dst) != nil {
			os.Remove(tmp.Name())
		}
	}
}

// forgetOtherBoots removes the records of earlier boots (a persistent SBX_ROOT keeps them).
func forgetOtherBoots(cache string) {
	parent, self := filepath.Dir(filepath.Dir(cache)), filepath.Base(filepath.Dir(cache))
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && e.Name() != self {
			os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
