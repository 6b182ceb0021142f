# veilfs build and test entry points. `make help` lists the targets.
#
# `make test` is what CI runs (through .ci/run). On a fresh Debian machine it
# first installs what the tests need (gocryptfs, fuse3, attr) when they are
# missing and it runs as root; otherwise it says what to install.

GO       ?= go
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION)

# FUZZTIME is the per-target budget of `make fuzz`; `make test` uses 5s.
FUZZTIME ?= 60s
# Hard ceilings so a hung FUSE mount fails the run instead of eating CI's budget.
UNIT_TIMEOUT ?= 5m
E2E_TIMEOUT  ?= 10m

# Every package except the black-box tests/ tree and fs/ (fs runs under -race).
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -e '/tests/' -e '/tests$$' -e '/fs$$' -e '/fs/')

.PHONY: all help build demo deps test unit race fuzz fuzz-short e2e stress vet check-deps install clean

all: build

help:
	@echo "make build       build bin/veilfs"
	@echo "make demo        throwaway volume: init, mount, write, show ciphertext, unmount (needs FUSE)"
	@echo "make deps        install gocryptfs fuse3 attr if missing (Debian, as root)"
	@echo "make test        vet + unit + race(fs) + fuzz 5s/target + end-to-end tests (what CI runs)"
	@echo "make unit        unit tests of all packages outside tests/ and fs/"
	@echo "make race        go test -race ./fs/..."
	@echo "make fuzz        every fuzz target for FUZZTIME (default 60s) each"
	@echo "make e2e         go test ./tests/... with FUSE and gocryptfs required"
	@echo "make stress      long tests/stress run: fsx-style exerciser, then concurrency under a -race daemon (~25 min)"
	@echo "make vet         go vet ./..."
	@echo "make check-deps  import-direction rules (tests/arch)"
	@echo "make install     install bin/veilfs into \$$(DESTDIR)\$$(PREFIX)/bin (PREFIX=$(PREFIX))"
	@echo "make clean       remove bin/"
	@echo "make bench       side-by-side benchmark vs native/loopback/gocryptfs/securefs -> bench/results.md + .png (root, ~10 min)"
	@echo "make bench-quick the same, small sizes and 1 rep (~2 min)"
	@echo "make bench-go    go test -bench of the cipher and name hot paths (BENCHTIME=$(BENCHTIME) each, < 1 min)"
	@echo "make bench-mem   veilfs daemon peak RSS while streaming a 4 GiB file in and out (root)"
	@echo "make bench-soak  veilfs daemon RSS over 10 min of mixed workloads; fails on growth (root; SOAK_SECONDS=60 for a quick check)"
	@echo "make bench-rotate veilfs rotate throughput on 10,000 files / 1 GiB (root, ~1 min)"
	@echo "make bench-ops   FUSE requests per opcode of untar/ls -lR/cat/rm -rf, veilfs vs loopback and gocryptfs (root, ~1.5 min)"

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/veilfs ./cmd/veilfs

demo: build
	VEILFS=$(CURDIR)/bin/veilfs ./scripts/demo.sh

# Installs only what is missing, so a prepared machine needs no network.
deps:
	@if command -v gocryptfs >/dev/null && command -v fusermount3 >/dev/null && command -v getfattr >/dev/null; then \
		exit 0; \
	elif [ "$$(id -u)" -eq 0 ]; then \
		echo "installing gocryptfs fuse3 attr (Debian packages the tests use)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gocryptfs fuse3 attr; \
	else \
		echo "missing gocryptfs, fusermount3 or getfattr: run 'sudo apt-get install gocryptfs fuse3 attr'" >&2; exit 1; \
	fi

vet:
	$(GO) vet ./...

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
	VEILFS_REQUIRE_FUSE=1 VEILFS_REQUIRE_GOCRYPTFS=1 $(GO) test -count=1 -timeout $(E2E_TIMEOUT) ./tests/...

# The long variant of tests/stress (`make test` runs the short one as part of
# e2e). Step 1: the data exerciser, VEILFS_FSX_OPS operations per seed on
# every volume kind ("rand" adds a clock seed, logged for replay), then
# VEILFS_CRASH_ITERS SIGKILLs of the daemon and of passwd. Step 2,
# against a daemon built with -race (a race report fails the run): a shorter
# exerciser pass, then the concurrency workload for VEILFS_STRESS_DURATION.
# Each can be overridden: make stress VEILFS_FSX_OPS=500000 VEILFS_STRESS_DURATION=30m
VEILFS_FSX_OPS         ?= 100000
VEILFS_FSX_SEEDS       ?= 1,2,rand
VEILFS_FSX_RACE_OPS    ?= 20000
VEILFS_STRESS_DURATION ?= 5m
VEILFS_CRASH_ITERS     ?= 150
VEILFS_ROTATE_KILLS    ?= 60
STRESS_TIMEOUT         ?= 120m

stress:
	VEILFS_REQUIRE_FUSE=1 VEILFS_FSX_OPS=$(VEILFS_FSX_OPS) VEILFS_FSX_SEEDS=$(VEILFS_FSX_SEEDS) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run '^TestFSX$$' ./tests/stress/
	VEILFS_REQUIRE_FUSE=1 VEILFS_CRASH_ITERS=$(VEILFS_CRASH_ITERS) VEILFS_PASSWD_CRASH_ITERS=$(VEILFS_CRASH_ITERS) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run 'TestCrash' ./tests/faults/
	VEILFS_REQUIRE_FUSE=1 VEILFS_ROTATE_KILLS=$(VEILFS_ROTATE_KILLS) VEILFS_ROTATE_FILES=3000 \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v -run 'TestRotateKill9' ./tests/faults/
	VEILFS_REQUIRE_FUSE=1 VEILFS_BUILDFLAGS=-race VEILFS_STRESS_RACE=1 \
		VEILFS_FSX_OPS=$(VEILFS_FSX_RACE_OPS) VEILFS_FSX_SEEDS=7 VEILFS_STRESS_DURATION=$(VEILFS_STRESS_DURATION) \
		$(GO) test -count=1 -timeout $(STRESS_TIMEOUT) -v ./tests/stress/

# The end-to-end run comes last so CI sees go test's own summary as the final lines.
test: deps vet unit race fuzz-short e2e

install: build
	install -D -m 0755 bin/veilfs $(DESTDIR)$(BINDIR)/veilfs

clean:
	rm -rf bin

# Benchmarks; bench/README.md explains them. All but bench-go need root and
# /dev/fuse, install the Debian packages they need when missing (gocryptfs,
# securefs, fio, gnuplot-nox, attr), and build bin/veilfs themselves. Their knobs are environment variables, e.g.
#   make bench REPS=1 SEQ_MB=64 SYSTEMS="loopback veilfs" WORKLOADS="seqwrite seqread"
# (variables given on the make command line reach the scripts' environment).
BENCHTIME ?= 200ms

.PHONY: bench bench-quick bench-go bench-mem bench-soak bench-ops bench-rotate

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
