package testscripts

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log"
	"os"
)

// mkevilMain is the `mkevil` command of the scripts: it writes a tarball holding one good
// file and one member with the given (unsafe) name; with -docker, a docker archive whose
// only layer is that tarball.
//
//	mkevil [-docker] OUT MEMBER-NAME
func mkevilMain() {
	args := os.Args[1:]
	docker := len(args) > 0 && args[0] == "-docker"
	if docker {
		args = args[1:]
	}
	if len(args) != 2 {
		log.Fatal("usage: mkevil [-docker] OUT MEMBER-NAME")
	}
	layer := tarOf(map[string][]byte{"good.txt": []byte("good\n"), args[1]: []byte("evil\n")}, []string{"good.txt", args[1]})
	if !docker {
		if err := os.WriteFile(args[0], layer, 0o644); err != nil {
			log.Fatal(err)
		}
		return
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + sum(layer)}},
	})
	man, _ := json.Marshal([]map[string]any{{
		"Config": sum(cfg) + ".json", "RepoTags": []string{"evil:1"}, "Layers": []string{sum(layer) + "/layer.tar"},
	}})
	archive := tarOf(map[string][]byte{
		sum(cfg) + ".json": cfg, sum(layer) + "/layer.tar": layer, "manifest.json": man,
	}, []string{sum(cfg) + ".json", sum(layer) + "/layer.tar", "manifest.json"})
	if err := os.WriteFile(args[0], archive, 0o644); err != nil {
		log.Fatal(err)
	}
}

func tarOf(files map[string][]byte, order []string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range order {
		data := files[name]
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
	}
	tw.Close()
	return buf.Bytes()
}
