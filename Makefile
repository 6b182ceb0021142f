# veilfs build and test entry points. `make help` lists the targets.
#
# `make test` is what CI runs (through .ci/run). On a fresh Debian machine it
# first installs what the tests need (gocryptfs, fuse3, attr) when they are
# missing and it runs as root; otherwise it says what to install.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION)
# A static binary (no libc dependency): veilfs needs nothing from cgo, and the
# .deb then runs on any Debian release. Not exported: `make race` needs cgo.
CGO_ENABLED ?= 0
# Where build, man, completions and deb write; tests/pkg points it elsewhere
# so that a test run never rewrites the bin/veilfs someone may be using.
OUT      ?= bin
# The date in the man page header: the last commit's, so that the page (and
# the .deb) is the same for the same source.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

# `make install` layout; `make uninstall` removes exactly these files.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
SYSTEMDUSERDIR ?= $(PREFIX)/lib/systemd/user
# mount(8) looks for mount.TYPE helpers only in /sbin, /sbin/fs.d and /sbin/fs
# (util-linux's FS_SEARCH_PATH), never in $(PREFIX)/sbin; on a merged-/usr
# system /sbin is /usr/sbin. So for the system prefixes, /usr and /usr/local,
# the link goes to /sbin (under DESTDIR, like everything). Any other prefix
# (~/.local, a staging directory) keeps it inside, in $(PREFIX)/sbin, like
# every other file: a user's install must not need root half way, nor a
# stage plant a /sbin link pointing into the stage; install then says how
# to link it from /sbin. The link points at the installed binary, which
# acts as the helper when called as mount.veilfs.
MOUNTHELPERDIR    ?= $(if $(filter /usr /usr/ /usr/local /usr/local/,$(PREFIX)),/sbin,$(PREFIX)/sbin)
MOUNTHELPERTARGET ?= $(BINDIR)/veilfs
# The directories mount(8) searches, where a link is found without help.
MOUNTHELPERSEARCH  = /sbin /sbin/fs.d /sbin/fs /usr/sbin /usr/sbin/fs.d /usr/sbin/fs
# The user units of contrib/systemd, whichever exist when make runs.
# contrib/systemd holds user units only (the system .mount example lives in
# contrib/systemd/examples/ and is not installed); tests/pkg expects each of
# them in lib/systemd/user of `make install` and the .deb.
SYSTEMD_UNITS = $(wildcard contrib/systemd/*.service contrib/systemd/*.timer contrib/systemd/*.target contrib/systemd/*.mount contrib/systemd/*.path)

# `make deb`: a Debian package with the layout of `make install PREFIX=/usr`.
# Debian's zsh reads packaged completions from vendor-completions, not from
# site-functions (that is for the local administrator).
DEB_VERSION ?= $(shell ./scripts/mkdeb.sh version '$(VERSION)')
DEB_ARCH    ?= $(shell $(GO) env GOARCH | sed 's/^386$$/i386/; s/^arm$$/armhf/')
DEB_FILE     = $(OUT)/veilfs_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_STAGE    = $(OUT)/deb-root

# FUZZTIME is the per-target budget of `make fuzz`; `make test` uses 5s.
FUZZTIME ?= 60s
# Hard ceilings so a hung FUSE mount fails the run instead of eating CI's budget.
# A ceiling, not a budget: fs/... under -race takes about 1.5 minutes on an
# idle 2-core machine, but several times that while the machine is busy,
# and a package killed by its timeout can hang in FUSE on its own mount.
UNIT_TIMEOUT ?= 10m
E2E_TIMEOUT  ?= 10m

# Every package except the black-box tests/ tree and fs/ (fs runs under -race).
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -e '/tests/' -e '/tests$$' -e '/fs$$' -e '/fs/')

.PHONY: all help build man completions docs demo deps test unit race fuzz fuzz-short e2e stress vet cross check-deps install uninstall deb clean

all: build

help:
	@echo "make build       build bin/veilfs"
	@echo "make man         bin/veilfs.1, the man page, generated from the help texts (veilfs manpage)"
	@echo "make completions bin/completions/: bash, zsh and fish completion scripts"
	@echo "make docs        rewrite the help blocks of docs/*.md from the help texts (tests/cli checks them)"
	@echo "make demo        throwaway volume: init, mount, write, show ciphertext, unmount (needs FUSE)"
	@echo "make deps        install what the tests use if missing: $(DEPS_PACKAGES) (Debian, as root)"
	@echo "make test        vet + cross + unit + race(fs) + fuzz 5s/target + end-to-end tests (what CI runs)"
	@echo "make unit        unit tests of all packages outside tests/ and fs/"
	@echo "make race        go test -race ./fs/..."
	@echo "make fuzz        every fuzz target for FUZZTIME (default 60s) each"
	@echo "make e2e         go test ./tests/... with FUSE and gocryptfs required"
	@echo "make stress      long tests/stress run: fsx-style exerciser, then concurrency under a -race daemon (~30 min)"
	@echo "make vet         go vet ./..."
	@echo "make cross       go vet ./... with GOOS=darwin and GOOS=freebsd: it compiles there (nothing runs; seconds)"
	@echo "make check-deps  import-direction rules (tests/arch)"
	@echo "make install     install veilfs, mount.veilfs, the man page, completions, systemd user units (PREFIX=$(PREFIX), DESTDIR)"
	@echo "make uninstall   remove what make install installed (same PREFIX and DESTDIR)"
	@echo "make deb         bin/veilfs_VERSION_ARCH.deb, with dpkg-deb (layout of make install PREFIX=/usr)"
	@echo "make clean       remove bin/"
	@echo "make bench       side-by-side benchmark vs native/loopback/gocryptfs/securefs -> bench/results.md + .png (root, 6 reps, ~15 min)"
	@echo "make bench-quick the same, small sizes and 1 rep (~2 min)"
	@echo "make bench-go    go test -bench of the cipher and name hot paths (BENCHTIME=$(BENCHTIME) each, < 1 min)"
	@echo "make bench-mem   veilfs daemon peak RSS while streaming a 4 GiB file in and out (root)"
	@echo "make bench-soak  veilfs daemon RSS over 10 min of mixed workloads; fails on growth (root; SOAK_SECONDS=60 for a quick check)"
	@echo "make bench-rotate veilfs rotate throughput on 10,000 files / 1 GiB (root, ~1 min)"
	@echo "make bench-ops   FUSE requests per opcode and file, time per request (fuse tracepoints) of untar/ls -lR/cat/rm -rf, veilfs vs loopback/gocryptfs/securefs (root, ~2 min; TREE_DIR=/usr/local/go/src/net: quick)"
	@echo "make bench-reverse veilfs --reverse vs gocryptfs -reverse: 1 GiB read, Go tree, incremental rsync, peak RSS (FUSE, ~3 min)"
	@echo "make xfstests    xfstests' generic quick group (first 160) over FUSE, veilfs and gocryptfs -> bin/xfstests/table.md (root; XFSTESTS_DIR= a built xfstests; not in make test)"
	@echo "make pjdfstest   pjdfstest's prove -r on veilfs, gocryptfs and a plain directory -> bin/xfstests/pjdfstest.md (root; PJDFSTEST_DIR=; not in make test)"

build:
	CGO_ENABLED=$(CGO_ENABLED) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/veilfs ./cmd/veilfs

# The binary as a file, rebuilt only when a source is newer: then
# `make build && sudo make install` does not build again as root, whose PATH
# often has no go.
GO_SOURCES := $(shell find . -name '*.go' ! -name '*_test.go' ! -path './tests/*' ! -path './bench/*' 2>/dev/null) go.mod go.sum
$(OUT)/veilfs: $(GO_SOURCES)
	CGO_ENABLED=$(CGO_ENABLED) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/veilfs ./cmd/veilfs

# The man page is generated from the help texts by the binary itself; a
# generated copy is not kept in git, so it can never be out of date.
man: $(OUT)/veilfs.1
$(OUT)/veilfs.1: $(OUT)/veilfs
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(OUT)/veilfs manpage >$@.tmp
	mv $@.tmp $@

COMPLETIONS = $(OUT)/completions/veilfs.bash $(OUT)/completions/_veilfs $(OUT)/completions/veilfs.fish
completions: $(COMPLETIONS)
$(COMPLETIONS) &: $(OUT)/veilfs
	mkdir -p $(OUT)/completions
	$(OUT)/veilfs completion bash >$(OUT)/completions/veilfs.bash
	$(OUT)/veilfs completion zsh >$(OUT)/completions/_veilfs
	$(OUT)/veilfs completion fish >$(OUT)/completions/veilfs.fish

# docs/*.md repeat the help texts between <!-- help: ... --> markers;
# tests/cli (TestDocsHelpBlocks) fails when they differ from the binary's,
# and this target rewrites them with its -update flag.
docs:
	$(GO) test -count=1 -run '^TestDocsHelpBlocks$$' ./tests/cli/ -args -update

demo: build
	VEILFS=$(abspath $(OUT))/veilfs ./scripts/demo.sh

# Installs only what is missing, so a prepared machine needs no network.
# groff-base (man page rendering), bash-completion, zsh and fish (the
# completion scripts are parsed by each shell) are small.
# syncthing and unison are the real sync clients of tests/sync; systemd's
# systemd-analyze verifies contrib/systemd, e2fsprogs' mkfs.ext4 makes the
# small filesystem of the ENOSPC tests (a minimal image may lack either).
DEPS_PACKAGES = gocryptfs fuse3 attr acl groff-base bash-completion zsh fish rsync syncthing unison systemd e2fsprogs
deps:
	@if command -v gocryptfs >/dev/null && command -v fusermount3 >/dev/null && command -v getfattr >/dev/null && command -v setfacl >/dev/null \
		&& command -v groff >/dev/null && [ -f /usr/share/bash-completion/bash_completion ] && command -v zsh >/dev/null \
		&& command -v fish >/dev/null && command -v rsync >/dev/null \
		&& command -v syncthing >/dev/null && command -v unison >/dev/null \
		&& command -v systemd-analyze >/dev/null && PATH="$$PATH:/sbin:/usr/sbin" command -v mkfs.ext4 >/dev/null; then \
		exit 0; \
	elif [ "$$(id -u)" -eq 0 ]; then \
		echo "installing $(DEPS_PACKAGES) (Debian packages the tests use)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEPS_PACKAGES); \
	else \
		echo "missing a package the tests use: run 'sudo apt-get install $(DEPS_PACKAGES)'" >&2; exit 1; \
	fi

vet:
	$(GO) vet ./...

# veilfs is tested on Linux only; this checks that it still compiles for
# darwin and FreeBSD. go vet type-checks the test files too; the tests/
# packages tagged linux are left out there. Seconds, no cgo.
CROSS_GOOS ?= darwin freebsd
cross:
	@set -e; for os in $(CROSS_GOOS); do echo "GOOS=$$os $(GO) vet ./..."; GOOS=$$os $(GO) vet ./...; done

unit:
	$(GO) test -timeout $(UNIT_TIMEOUT) $(UNIT_PKGS)

race:
	$(GO) test -race -timeout $(UNIT_TIMEOUT) ./fs/...

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

fuzz-short:
	FUZZTIME=5s ./scripts/fuzz.sh

check-deps:
	$(GO) test -count=1 ./tests/arch/

# -count=1: the end-to-end tests run binaries built from source the test cache
# cannot see, so a cached pass would be meaningless.
e2e:
	VEILFS_REQUIRE_FUSE=1 VEILFS_REQUIRE_GOCRYPTFS=1 VEILFS_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout $(E2E_TIMEOUT) ./tests/...

# The long variant of tests/stress (`make test` runs the short one as part of
# e2e). Step 1: the data exerciser, VEILFS_FSX_OPS operations per seed on
# every volume kind ("rand" adds a clock seed, logged for replay), then
# VEILFS_CRASH_ITERS SIGKILLs of the daemon and of passwd, and readers
# against renames over their files (TestRenameOver) for
# VEILFS_RENAMEOVER_DURATION on a plain directory, then on veilfs. Step 2,
# against a daemon built with -race (a race report fails the run): a shorter
# exerciser pass, then the concurrency workload for VEILFS_STRESS_DURATION.
# Each can be overridden: make stress VEILFS_FSX_OPS=500000 VEILFS_STRESS_DURATION=30m
VEILFS_FSX_OPS         ?= 100000
VEILFS_FSX_SEEDS       ?= 1,2,rand
VEILFS_FSX_RACE_OPS    ?= 20000
VEILFS_STRESS_DURATION ?= 5m
VEILFS_CRASH_ITERS     ?= 150
VEILFS_ROTATE_KILLS    ?= 60
# Each of TestRenameOver's two runs (plain directory, then veilfs). Before
# fs/identity.go every run failed: thousands of bad reads in 2 minutes.
VEILFS_RENAMEOVER_DURATION ?= 2m
STRESS_TIMEOUT         ?= 120m

stress:
	VEILFS_REQUIRE_FUSE=1 VEILFS_FSX_OPS=$(VEILFS_FSX_OPS) VEILFS_FSX_SEEDS=$(VEILFS_FSX_SEEDS) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run '^TestFSX$$' ./tests/stress/
	VEILFS_REQUIRE_FUSE=1 VEILFS_CRASH_ITERS=$(VEILFS_CRASH_ITERS) VEILFS_PASSWD_CRASH_ITERS=$(VEILFS_CRASH_ITERS) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run 'TestCrash' ./tests/faults/
	VEILFS_REQUIRE_FUSE=1 VEILFS_ROTATE_KILLS=$(VEILFS_ROTATE_KILLS) VEILFS_ROTATE_FILES=3000 \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run 'TestRotateKill9' ./tests/faults/
	VEILFS_REQUIRE_FUSE=1 VEILFS_RENAMEOVER_DURATION=$(VEILFS_RENAMEOVER_DURATION) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run '^TestRenameOver$$' ./tests/stress/
	VEILFS_REQUIRE_FUSE=1 VEILFS_BUILDFLAGS=-race VEILFS_STRESS_RACE=1 \
		VEILFS_FSX_OPS=$(VEILFS_FSX_RACE_OPS) VEILFS_FSX_SEEDS=7 VEILFS_STRESS_DURATION=$(VEILFS_STRESS_DURATION) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v ./tests/stress/

# The end-to-end run comes last so CI sees go test's own summary as the final lines.
# VEILFS_TEST_STRICT=1 reaches every test it runs: a test that lacks a tool,
# root, /dev/fuse or a capability of the filesystem then fails instead of
# skipping (internal/testenv; only zsh and fish may be missing).
test: export VEILFS_TEST_STRICT := 1
test: deps vet cross unit race fuzz-short e2e

# The mount helper comes last and is the one file that may be skipped: a
# user who owns PREFIX (/usr/local, say) but not /sbin still gets the rest;
# only `mount -t veilfs` needs the link (type fuse.veilfs goes through
# mount.fuse3).
install: $(OUT)/veilfs $(OUT)/veilfs.1 $(COMPLETIONS)
	install -D -m 0755 $(OUT)/veilfs $(DESTDIR)$(BINDIR)/veilfs
	install -D -m 0644 $(OUT)/veilfs.1 $(DESTDIR)$(MANDIR)/man1/veilfs.1
	install -D -m 0644 $(OUT)/completions/veilfs.bash $(DESTDIR)$(BASHCOMPDIR)/veilfs
	install -D -m 0644 $(OUT)/completions/_veilfs $(DESTDIR)$(ZSHCOMPDIR)/_veilfs
	install -D -m 0644 $(OUT)/completions/veilfs.fish $(DESTDIR)$(FISHCOMPDIR)/veilfs.fish
	$(foreach u,$(SYSTEMD_UNITS),install -D -m 0644 $(u) $(DESTDIR)$(SYSTEMDUSERDIR)/$(notdir $(u));)
	@if install -d '$(DESTDIR)$(MOUNTHELPERDIR)' 2>/dev/null && [ -w '$(DESTDIR)$(MOUNTHELPERDIR)' ]; then \
		echo "ln -sfn $(MOUNTHELPERTARGET) $(DESTDIR)$(MOUNTHELPERDIR)/mount.veilfs"; \
		ln -sfn '$(MOUNTHELPERTARGET)' '$(DESTDIR)$(MOUNTHELPERDIR)/mount.veilfs'; \
	else \
		echo "note: $(DESTDIR)$(MOUNTHELPERDIR) is not writable, mount.veilfs skipped (only mount -t veilfs needs it); to add it: sudo ln -sfn $(MOUNTHELPERTARGET) $(MOUNTHELPERDIR)/mount.veilfs"; \
		exit 0; \
	fi; \
	$(if $(filter $(MOUNTHELPERSEARCH),$(MOUNTHELPERDIR)),true,echo "note: mount(8) looks for mount.veilfs only in /sbin; for mount -t veilfs: sudo ln -sfn $(MOUNTHELPERTARGET) /sbin/mount.veilfs")

# Files only: the directories may have been there before, or hold others' files.
# mount.veilfs goes only if it is still the link install made (a package's
# may have replaced it).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/veilfs $(DESTDIR)$(MANDIR)/man1/veilfs.1 \
		$(DESTDIR)$(BASHCOMPDIR)/veilfs $(DESTDIR)$(ZSHCOMPDIR)/_veilfs $(DESTDIR)$(FISHCOMPDIR)/veilfs.fish \
		$(foreach u,$(SYSTEMD_UNITS),$(DESTDIR)$(SYSTEMDUSERDIR)/$(notdir $(u)))
	if [ "$$(readlink $(DESTDIR)$(MOUNTHELPERDIR)/mount.veilfs)" = "$(MOUNTHELPERTARGET)" ]; then \
		rm -f $(DESTDIR)$(MOUNTHELPERDIR)/mount.veilfs; fi

# dpkg-deb only (no debhelper, no lintian): scripts/mkdeb.sh adds the control
# file, copyright, changelog.Debian.gz and md5sums to a `make install` root.
deb: build
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_STAGE)) PREFIX=/usr \
		MOUNTHELPERDIR=/usr/sbin MOUNTHELPERTARGET=../bin/veilfs ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	VERSION='$(VERSION)' GO=$(GO) SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
		./scripts/mkdeb.sh build $(DEB_STAGE) $(DEB_VERSION) $(DEB_ARCH) $(DEB_FILE)
	rm -rf $(DEB_STAGE)

clean:
	rm -rf bin

# Benchmarks; bench/README.md explains them. All but bench-go need root and
# /dev/fuse, install the Debian packages they need when missing (gocryptfs,
# securefs, fio, gnuplot-nox, attr), and build bin/veilfs themselves. Their knobs are environment variables, e.g.
#   make bench REPS=1 SEQ_MB=64 SYSTEMS="loopback veilfs" WORKLOADS="seqwrite seqread"
# (variables given on the make command line reach the scripts' environment).
BENCHTIME ?= 200ms

.PHONY: bench bench-quick bench-go bench-mem bench-soak bench-ops bench-rotate bench-reverse

bench:
	GO=$(GO) ./bench/run.sh

bench-quick:
	GO=$(GO) ./bench/run.sh --quick --out bench/results-quick.md

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./cipher/ ./nametransform/

bench-mem:
	GO=$(GO) ./bench/mem.sh

bench-soak:
	GO=$(GO) ./bench/soak.sh

bench-ops:
	GO=$(GO) ./bench/opcount.sh

bench-rotate:
	GO=$(GO) ./bench/rotate.sh

bench-reverse:
	GO=$(GO) ./bench/reverse.sh

# External conformance suites, not part of `make test`: they need trees of
# xfstests and pjdfstest built outside this repository (docs/xfstests.md).
# FS=veilfs, gocryptfs or both (the default here) for xfstests.
.PHONY: xfstests pjdfstest
xfstests:
	FS=$${FS:-both} ./tests/xfstests/run.sh

pjdfstest:
	./tests/xfstests/pjdfstest.sh
