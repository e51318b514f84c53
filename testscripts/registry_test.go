package testscripts

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// registryMain is the `registry` command of the scripts: a real OCI distribution registry
// (go-containerregistry's) on 127.0.0.1, optionally behind HTTP basic auth, seeded from
// docker archives. It writes its host:port to ADDRFILE once it serves, then runs until
// the script ends.
//
//	registry [-auth USER:PASS] ADDRFILE [ARCHIVE REPO:TAG]...
func registryMain() {
	fs := flag.NewFlagSet("registry", flag.ExitOnError)
	auth := fs.String("auth", "", "require HTTP basic auth USER:PASS")
	fs.Parse(os.Args[1:])
	args := fs.Args()
	if len(args) < 1 || len(args)%2 != 1 {
		log.Fatal("usage: registry [-auth USER:PASS] ADDRFILE [ARCHIVE REPO:TAG]...")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	var h http.Handler = registry.New(registry.Logger(log.New(os.Stderr, "", 0)))
	if *auth != "" {
		user, pass, _ := strings.Cut(*auth, ":")
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="sbx-test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	go func() { log.Fatal(http.Serve(ln, h)) }()
	var opts []remote.Option
	if *auth != "" {
		user, pass, _ := strings.Cut(*auth, ":")
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	for i := 1; i < len(args); i += 2 {
		img, err := tarball.ImageFromPath(args[i], nil)
		if err != nil {
			log.Fatalf("reading %s: %v", args[i], err)
		}
		ref, err := name.ParseReference(addr+"/"+args[i+1], name.Insecure)
		if err != nil {
			log.Fatal(err)
		}
		if err := remote.Write(ref, img, opts...); err != nil {
			log.Fatalf("seeding %s: %v", ref, err)
		}
	}
	// Written last and atomically: a script that sees the file may use the registry.
	tmp := args[0] + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, args[0]); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "registry serving on", addr)
	select {}
}
