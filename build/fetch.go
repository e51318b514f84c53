package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"time"
)

// fetch downloads an ADD URL into a private directory, as a file named like the URL's last
// path component, and returns it with its sha256. With a checksum, a different content is
// an error.
func (x *build) fetch(ctx context.Context, src, checksum string) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", src, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("fetching %s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("fetching %s: the server answered %s", src, resp.Status)
	}
	dir, err := os.MkdirTemp(x.TmpDir, "add-")
	if err != nil {
		return "", "", err
	}
	file := filepath.Join(dir, urlBase(src))
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("fetching %s: %w", src, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if checksum != "" && checksum != "sha256:"+sum {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("%s: the content's digest is sha256:%s, not %s", src, sum, checksum)
	}
	// The file's time is the server's Last-Modified, as docker sets it.
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		os.Chtimes(file, lm, lm)
	} else {
		now := time.Unix(0, 0)
		os.Chtimes(file, now, now)
	}
	return file, sum, nil
}

// urlBase is the file name ADD gives a fetched URL: its path's last component.
func urlBase(src string) string {
	u, err := url.Parse(src)
	if err != nil {
		return "download"
	}
	b := path.Base(u.Path)
	if b == "/" || b == "." || b == "" {
		return "download"
	}
	return b
}
