// Package transferjob is how sbx asks for an image to be moved into or out of its store:
// load, import, pull and save. The work itself (package image/transfer) needs the image
// library's copy machinery, whose registry, signature and encryption packages cost every
// process that links them about five milliseconds of start-up before main runs. sbx starts
// a process for every container, so that code lives in a program of its own, carried inside
// sbx and run only for these commands (see Run).
package transferjob

import (
	"github.com/sbx-dev/sbx/storage"
)

// Save formats.
const (
	FormatDockerArchive = "docker-archive"
	FormatOCIArchive    = "oci-archive"
)

// Operations.
const (
	OpLoad   = "load"
	OpImport = "import"
	OpPull   = "pull"
	OpSave   = "save"
)

// Request is one transfer. The program doing it inherits sbx's namespaces, standard
// streams and environment (registry credentials are found through it).
type Request struct {
	Op    string
	Store storage.Options
	// LayerLock is the file whose lock excludes other writers of new layers.
	LayerLock string
	// BlobInfoCacheDir and TmpDir are where the image library keeps its blob cache and
	// stages big files; TmpDir also holds unpacked archives and spooled standard input.
	BlobInfoCacheDir string
	TmpDir           string
	AuthFile         string
	// Progress writes the copy's progress to standard error; Debug, the store's log.
	Progress bool
	Debug    bool

	// Input is the archive or layout to load or the tarball to import; "" (load) or "-"
	// (import) reads standard input.
	Input string
	// Name is the image to pull, or the name an import gets ("" for none).
	Name string
	// TLSVerify, for a pull: nil follows docker's default (loopback registries are
	// insecure, the rest verified).
	TLSVerify *bool
	// Message and Changes are an import's history comment and --change instructions.
	Message string
	Changes []string

	// Output is the archive a save writes; "" writes standard output.
	Output string
	Format string
	Names  []string
}

// Loaded is one image a load, import or pull put into the store.
type Loaded struct {
	ID    string   // full image ID (hex)
	Names []string // stored names; empty for an untagged image
}

// Result is what a transfer reports back. Loaded holds what was stored even when Error
// says a later image of the same archive failed.
type Result struct {
	Loaded []Loaded
	Error  string
}
