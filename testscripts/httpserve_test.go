package testscripts

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

// httpserveMain serves a directory over plain HTTP on a free loopback port (for ADD of a
// URL) and writes the address to ADDRFILE once it listens.
func httpserveMain() {
	if len(os.Args) != 3 {
		log.Fatal("usage: httpserve ADDRFILE DIR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	// Written atomically: a script that sees the file may use the server.
	tmp := os.Args[1] + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, os.Args[1]); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "httpserve serving on", addr)
	log.Fatal(http.Serve(ln, http.FileServer(http.Dir(os.Args[2]))))
}
