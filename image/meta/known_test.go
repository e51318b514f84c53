package meta

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// knownStore makes a graph root with the overlay driver's two record files.
func knownStore(t *testing.T) (*KnownImages, func(file, content string)) {
	t.Helper()
	root := t.TempDir()
	write := func(file, content string) {
		p := filepath.Join(root, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("overlay-images/images.json", `[{"id":"a","names":["localhost/app:latest"]}]`)
	write("overlay-layers/layers.json", `[{"id":"l1"}]`)
	return &KnownImages{Path: filepath.Join(t.TempDir(), "known.json"), GraphRoot: root}, write
}

func TestKnownImagesHoldWhileTheStoreIsUnchanged(t *testing.T) {
	k, write := knownStore(t)
	if _, ok := k.Get("app"); ok {
		t.Fatal("known before anything was put")
	}
	stamp := k.Stamp()
	if stamp == "" {
		t.Fatal("no stamp for a store with both records")
	}
	k.Put(stamp, Known{Name: "app", ID: "a", Config: ContainerConfig{Cmd: []string{"sh"}}, Lower: "/l1/diff"})
	kn, ok := k.Get("app")
	if !ok || kn.ID != "a" || kn.Lower != "/l1/diff" || len(kn.Config.Cmd) != 1 {
		t.Fatalf("Get after Put: %+v %v", kn, ok)
	}
	if _, ok := k.Get("other"); ok {
		t.Fatal("a name never put is known")
	}
	// A tag or a removal rewrites the image records; a new or removed layer, the layers'.
	for _, f := range []string{"overlay-images/images.json", "overlay-layers/layers.json"} {
		k.Put(k.Stamp(), Known{Name: "app", ID: "a"})
		write(f, `[]`)
		if _, ok := k.Get("app"); ok {
			t.Fatalf("still known after %s changed", f)
		}
	}
	// An entry put under an older stamp starts the file afresh.
	k.Put(k.Stamp(), Known{Name: "new", ID: "b"})
	if _, ok := k.Get("app"); ok {
		t.Fatal("an entry of an older store survived a put under a new stamp")
	}
	// Without the store's records there is no stamp, and nothing is put.
	os.Remove(filepath.Join(k.GraphRoot, "overlay-layers/layers.json"))
	if s := k.Stamp(); s != "" {
		t.Fatalf("stamp %q without the layer records", s)
	}
}

func TestKnownImagesStayBounded(t *testing.T) {
	k, _ := knownStore(t)
	stamp := k.Stamp()
	for i := 0; i < 3*maxKnown; i++ {
		k.Put(stamp, Known{Name: fmt.Sprint("img", i), ID: fmt.Sprint(i)})
	}
	f, ok := k.read()
	if !ok || len(f.Images) != maxKnown {
		t.Fatalf("%d entries, want %d", len(f.Images), maxKnown)
	}
	// The latest is kept.
	if kn, ok := k.Get(fmt.Sprint("img", 3*maxKnown-1)); !ok || kn.ID != fmt.Sprint(3*maxKnown-1) {
		t.Fatal("the last entry put is not known")
	}
	// A damaged file is nothing known, and the next put replaces it.
	os.WriteFile(k.Path, []byte("{"), 0o600)
	if _, ok := k.Get("img0"); ok {
		t.Fatal("known from a damaged file")
	}
	k.Put(stamp, Known{Name: "x", ID: "x"})
	if _, ok := k.Get("x"); !ok {
		t.Fatal("not known after a put over a damaged file")
	}
}

func TestKnownImagesLowerOf(t *testing.T) {
	k, write := knownStore(t)
	k.Put(k.Stamp(), Known{Name: "app", ID: "a", Lower: "/l1/diff"})
	if l, ok := k.LowerOf("a"); !ok || l != "/l1/diff" {
		t.Fatalf("LowerOf(a) = %q, %v", l, ok)
	}
	if _, ok := k.LowerOf("b"); ok {
		t.Fatal("LowerOf knows an image it was never told of")
	}
	// Any change of the store makes it unknown.
	write("overlay-images/images.json", `[{"id":"a","names":["localhost/app:latest","localhost/app:v2"]}]`)
	if _, ok := k.LowerOf("a"); ok {
		t.Fatal("LowerOf answers for a store that changed")
	}
}
