package userns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOwnDir(t *testing.T) {
	uid := os.Getuid()
	dir := filepath.Join(t.TempDir(), "sbx")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ownDir(dir, uid); err != nil {
		t.Errorf("the user's own 0700 directory: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := ownDir(dir, uid); err == nil || !strings.Contains(err.Error(), "anyone may write") {
		t.Errorf("a 0777 directory: got %v", err)
	}
	os.Chmod(dir, 0o700)
	if err := ownDir(dir, uid+1); err == nil || !strings.Contains(err.Error(), "belongs to uid") {
		t.Errorf("someone else's directory: got %v", err)
	}
	link := filepath.Join(filepath.Dir(dir), "link")
	os.Symlink(dir, link)
	if err := ownDir(link, uid); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a symlink: got %v", err)
	}
}
