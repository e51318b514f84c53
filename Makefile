# sbx is one static binary: cgo is on only for the namespace-joining constructor
# (userns/nsenter), linked statically against glibc.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TAGS     := exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp exclude_disk_quota netgo osusergo sqlite_omit_load_extension urfave_cli_no_docs
LDFLAGS  := -s -w -X main.version=$(VERSION) -linkmode external -extldflags '-static'
export CGO_ENABLED := 1

.PHONY: all sbx test test-unit test-scripts test-example vet clean demo

all: sbx

# Three programs are built first (static) and embedded in sbx: the container init in C
# (run/cinit) and in Go (see run/initbin), and the image transfer program for load,
# import, pull and save (see image/transferjob), whose libraries would otherwise slow
# every sbx start. Without the sbx_embed tag sbx does all of it itself. The C init's build
# ID keeps two builds of it apart (progfile names a copy by its first page).
#
# Then sbx itself, twice: the full program, with every command, and the lite one that is
# shipped (tag sbx_lite), which carries the full one and starts containers of known images
# without linking the layer store (see internal/fullbin).
INIT_BIN     := run/initbin/sbx-init
CINIT_BIN    := run/initbin/sbx-cinit
TRANSFER_BIN := image/transferjob/sbx-transfer
FULL_BIN     := internal/fullbin/sbx-full

sbx:
	$(CC) -O2 -static -s -Wall -Wl,--build-id=sha1 -o $(CINIT_BIN) run/cinit/cinit.c
	CGO_ENABLED=0 $(GO) build -trimpath -tags 'netgo osusergo' -ldflags '-s -w' -o $(INIT_BIN) ./run/initproc/cmd/sbx-init
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '-s -w' -o $(TRANSFER_BIN) ./image/transfer/cmd/sbx-transfer
	$(GO) build -trimpath -tags '$(TAGS) sbx_embed' -ldflags "$(LDFLAGS)" -o $(FULL_BIN) .
	$(GO) build -trimpath -tags '$(TAGS) sbx_embed sbx_lite' -ldflags "$(LDFLAGS)" -o sbx .

# The lite program's own files (tag sbx_lite) need the full program built to embed.
vet: sbx
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) vet -tags '$(TAGS) sbx_embed sbx_lite' . ./cli ./internal/fullbin

test-unit:
	$(GO) test -tags '$(TAGS)' $(shell $(GO) list ./... | grep -v /testscripts)

# The testscript suite drives the real ./sbx; run as root it runs every script twice, as
# root and (when the user exists) as the unprivileged $(SBX_TEST_USER).
SBX_TEST_USER ?= sbxtest
test-scripts: sbx
	SBX_BIN=$(CURDIR)/sbx SBX_TEST_USER=$(SBX_TEST_USER) ./testscripts/run.sh

# examples/testscript is a Go module of its own that users copy: its go test runs against
# ./sbx, as root and as $(SBX_TEST_USER), offline from the module cache.
test-example: sbx
	SBX=$(CURDIR)/sbx SBX_TEST_USER=$(SBX_TEST_USER) ./testscripts/run_example.sh

test: vet test-unit test-scripts test-example

demo: sbx
	./examples/demo.sh

clean:
	rm -f sbx $(INIT_BIN) $(CINIT_BIN) $(TRANSFER_BIN) $(FULL_BIN)
