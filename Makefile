# mmbuild — build, install, test, bench, proto, demo.
#
#   make install PREFIX=DIR   DIR/bin/mmbuild and the first-party plugins beside it
#   make release              dist/release/vVERSION/: the binaries and SHA256SUMS for ci/install.sh
#   make demo                 build everything and run examples/hello end to end
#   make test                 the whole test suite (what .ci/run runs)
#   make bench                benchmarks with ratios against the bare tools
#   make proto                regenerate sdk/internal/pb from sdk/proto (pinned tools)

GO      ?= go
PREFIX  ?= $(CURDIR)/dist
BINDIR  := $(PREFIX)/bin
VERSION := $(shell cat VERSION)
# -trimpath and fixed versions keep the binaries reproducible, so their
# sha256 (pinned in mmbuild.lock.hcl) depends on the source and toolchain only.
# -s -w keep the plugins lean: start-up time is every run's fixed cost.
# BUILD_CGO=0 (CGO_ENABLED for the binaries only; make test's -race needs
# cgo): static binaries that run on any runner's libc, and a first build
# without a C compiler's work: syft's rpm reader would otherwise compile the
# zstd C library (DataDog/zstd; without cgo it uses klauspost/compress).
GOFLAGS_BUILD := -trimpath -buildvcs=false
BUILD_CGO     ?= 0
LDFLAGS := -s -w -X main.version=$(VERSION)

# plugin directory : binary name. plugins/local bundles the make handler and
# the file store in one binary (sdk ServeBundle), installed under both names:
# a local build starts one plugin process instead of two. Each of the two also
# builds alone from its own module.
PLUGINS := local:make local:file storage-http:http storage-git:git storage-s3:s3 storage-oci:oci sbom-syft:sbom-syft

# Modules kept out of go.work and built from their own go.mod alone
# (GOWORK=off): syft's ~700 modules in the workspace would move the core's
# own dependencies (spdx/tools-golang to a release candidate, x/net, x/crypto…).
# internal/testplugins/thirdparty is the e2e tests' third-party plugin, built
# as a third party would build it: against the SDK through its own go.mod.
STANDALONE := plugins/sbom-syft internal/testplugins/thirdparty
# $(call gowork,DIR): the GOWORK setting for module DIR in a recipe's shell.
gowork = GOWORK=$$(case " $(STANDALONE) " in *" $(1) "*) echo off;; esac)

# Pinned code generators for `make proto`.
PROTOC_GEN_GO_VERSION      := v1.36.11
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1

.PHONY: all build install release test test-short check bench proto demo demo-remote clean fmt vet

all: build

# The STANDALONE plugins (sbom-syft: syft's ~1,700 packages, most of a first
# build) build beside the workspace's binaries, which share few packages with
# them (other versions of their dependencies): the long single-package
# compiles and links of one fill the cores the other leaves idle.
build:
	@mkdir -p bin
	@set -e; pids=""; trap 'kill $$pids 2>/dev/null || :' EXIT; \
	for p in $(PLUGINS); do \
		dir=$${p%%:*}; name=$${p##*:}; \
		case " $(STANDALONE) " in *" plugins/$$dir "*) ;; *) continue;; esac; \
		echo "go build plugins/$$dir (GOWORK=off, in the background)"; \
		(cd plugins/$$dir && GOWORK=off CGO_ENABLED=$(BUILD_CGO) $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(CURDIR)/bin/mmbuild-plugin-$$name .) & pids="$$pids $$!"; \
	done; \
	echo "go build ./cmd/mmbuild"; \
	CGO_ENABLED=$(BUILD_CGO) $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o bin/mmbuild ./cmd/mmbuild; \
	built=""; for p in $(PLUGINS); do \
		dir=$${p%%:*}; name=$${p##*:}; \
		case " $(STANDALONE) " in *" plugins/$$dir "*) continue;; esac; \
		case " $$built " in *" $$dir:"*) \
			first=$${built##* $$dir:}; first=$${first%% *}; \
			echo "cp bin/mmbuild-plugin-$$first bin/mmbuild-plugin-$$name (one binary, linked once)"; \
			cp bin/mmbuild-plugin-$$first bin/mmbuild-plugin-$$name; continue;; \
		esac; \
		echo "go build plugins/$$dir"; \
		(cd plugins/$$dir && CGO_ENABLED=$(BUILD_CGO) $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(CURDIR)/bin/mmbuild-plugin-$$name .); \
		built="$$built $$dir:$$name"; \
	done; \
	for pid in $$pids; do wait $$pid; done; pids=""

INSTALL_BIN = mkdir -p $(BINDIR) && for f in bin/mmbuild bin/mmbuild-plugin-*; do install -m 0755 $$f $(BINDIR)/; done
install: build
	@$(INSTALL_BIN)
	@echo "installed into $(BINDIR):"; ls -1 $(BINDIR)

# A release of this platform's binaries as ci/install.sh (and so the CI
# templates) reads one, in dist/release/v$(VERSION)/; run once a platform.
# The last line is the pin the templates need (MMBUILD_SHA256SUMS).
release: build
	ci/release.sh bin dist/release/v$(VERSION)

# Every module: the workspace's (the use lines of go.work, read by go
# itself) and the STANDALONE ones, so a module added to either is tested,
# vetted and fuzzed without touching this list. `make modules` prints it.
WORK_MODULES := $(patsubst ./%,%,$(shell $(GO) work edit -json go.work | sed -n 's/^[[:space:]]*"DiskPath": "\(.*\)".*/\1/p'))
MODULES := $(WORK_MODULES) $(STANDALONE)
ifneq ($(filter test check vet test-short modules,$(or $(MAKECMDGOALS),all)),)
ifeq ($(filter .,$(WORK_MODULES)),)
$(error reading the modules of go.work failed: $(GO) work edit -json go.work)
endif
endif

.PHONY: modules
modules:
	@echo $(MODULES)

test: check
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(call gowork,$$m) $(GO) test -race -count=1 -timeout 20m ./...); done
	@# The parsers of untrusted input, fuzzed for a bounded time (6 targets).
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# gofmt and go vet: cheap, and part of the test command.
check:
	@unformatted=$$(git ls-files '*.go' | grep -v '\.pb\.go$$' | xargs gofmt -l); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@set -e; for m in $(MODULES); do (cd $$m && $(call gowork,$$m) $(GO) vet ./...); done

test-short:
	@set -e; for m in $(MODULES); do (cd $$m && $(call gowork,$$m) $(GO) test -short ./...); done

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(call gowork,$$m) $(GO) vet ./...); done

fmt:
	gofmt -l -w $$(git ls-files '*.go' | grep -v '\.pb\.go$$')

# The fixed cost of a run against bare make, hashing against sha256sum,
# 1 GiB get/put through mmbuild-plugin-s3 against rclone on the same
# loopback versitygw (rclone is built once by the install script), and a
# 100 MiB image pushed and pulled through mmbuild-plugin-oci against crane
# on the same loopback registry.
# BENCH_BASELINE=DIR (another build's bin/) measures it in the same rounds.
# Its steps pipe go test through grep: pipefail keeps a failing step failing.
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -c
bench: build
	$(GO) run ./internal/bench -bin $(CURDIR)/bin $(if $(BENCH_BASELINE),-baseline $(BENCH_BASELINE))
	@# The floor of that cost: one plugin's start, handshake and first Info, against an empty Go program's exec.
	$(GO) test ./core/plugins/pluginhost -run '^$$' -bench 'Start|ExecEmptyGo' -benchtime 40x
	$(GO) run ./internal/bench/hash
	.ci/install-test-servers.sh --bench
	@# Cost that grows like the work: 1 GiB and 10,000 files to S3 and file://, and each cache hit, against rclone and cp + sha256sum.
	MMBUILD_BENCH=1 MMBUILD_BENCH_BIN=$(CURDIR)/bin $(GO) test ./internal/bench/scale -run '^TestBenchScale$$' -count=1 -v -timeout 60m | grep -v '^=== RUN'
	cd plugins/storage-s3 && MMBUILD_BENCH=1 $(GO) test -run '^TestBenchTransfer$$' -count=1 -v -timeout 30m . | grep -v '^=== RUN'
	@# Cataloguing a 100 MiB tar.gz through mmbuild-plugin-sbom-syft against syft alone.
	cd plugins/sbom-syft && GOWORK=off MMBUILD_BENCH=1 $(GO) test -run '^TestBenchCatalog$$' -count=1 -v -timeout 30m . | grep -v -e '^=== RUN' -e '\[DEBUG\]'
	cd plugins/storage-oci && MMBUILD_BENCH=1 $(GO) test -run '^TestBenchTransfer$$' -count=1 -v -timeout 30m . | grep -v '^=== RUN'

# The demo's first build needs only the core and the local plugin (make
# handler, file store): on a new machine it runs as soon as those are
# compiled (~335 CPU-seconds with an empty Go cache), not after syft's
# ~1,700 packages (~650 more) and the other plugins (~40). The modules of
# those two are fetched first (go list), alone on the network; then syft's
# cataloger compiles meanwhile, niced, in the background (its output in
# bin/sbom-syft-build.log), and the other plugins after that first build.
# The example's `sbom:` names no generator, so the
# first build's SBOMs list the artifact, source, material and tools; once
# the cataloger is installed and locked, the same build again (--force: the
# staging key does not cover the cataloger, so a clean tree's second run
# would be a cache hit) lists what is inside the tarball too. An interrupted or
# failed demo ends the background go build with the compilers it started:
# it runs in a session of its own (setsid, where there is one), ended as a
# process group (go build ignores SIGINT in a background job).
DEMO_FIRST := local:make local:file
# make itself, expanded here: a recipe line naming $(MAKE) runs even under
# make -n, and the demo's one line would then run the whole demo.
DEMO_MAKE  := $(MAKE) --no-print-directory
SETSID     := $(shell command -v setsid 2>/dev/null)
DEMO_RUN   := cd examples/hello && export PATH=$(BINDIR):$$PATH && mmbuild plugins lock && mmbuild run
demo:
	@set -e; mkdir -p bin $(BINDIR); log=bin/sbom-syft-build.log; \
	echo "go list -deps ./cmd/mmbuild ./plugins/local (their modules first: syft's ~700 would share the network)"; \
	$(GO) list -deps ./cmd/mmbuild ./plugins/local >/dev/null; \
	echo "go build plugins/sbom-syft (GOWORK=off, niced, in the background: $$log)"; \
	(cd plugins/sbom-syft && GOWORK=off CGO_ENABLED=$(BUILD_CGO) exec $(SETSID) nice -n 19 $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(CURDIR)/bin/mmbuild-plugin-sbom-syft .) >$$log 2>&1 & bg=$$!; \
	trap '[ -z "$$bg" ] || kill -TERM -$$bg 2>/dev/null || kill -TERM $$bg 2>/dev/null || :' EXIT; trap 'exit 130' INT TERM HUP; \
	$(DEMO_MAKE) build PLUGINS='$(DEMO_FIRST)'; \
	for f in bin/mmbuild $(patsubst %,bin/mmbuild-plugin-%,$(foreach p,$(DEMO_FIRST),$(lastword $(subst :, ,$(p))))); do install -m 0755 $$f $(BINDIR)/; done; \
	echo "== the example's build, with the core and the local plugin (the SBOM cataloger compiles in the background)"; \
	($(DEMO_RUN)); \
	$(DEMO_MAKE) build PLUGINS='$(filter-out $(DEMO_FIRST) sbom-syft:%,$(PLUGINS))'; \
	echo "== waiting for the SBOM cataloger (go build plugins/sbom-syft)"; \
	if ! wait $$bg; then bg=; cat $$log; echo "go build plugins/sbom-syft failed (log above, in $$log)"; exit 1; fi; bg=; \
	$(INSTALL_BIN); \
	echo "== the same build with every plugin locked: the SBOMs list what is inside the tarball (sbom:syft)"; \
	($(DEMO_RUN) --force)

proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	cd sdk && PATH=$$($(GO) env GOPATH)/bin:$$PATH protoc -I proto \
		--go_out=. --go_opt=module=github.com/mmbuild/mmbuild/sdk \
		--go-grpc_out=. --go-grpc_opt=module=github.com/mmbuild/mmbuild/sdk \
		proto/mmbuild/plugin/v1/plugin.proto

clean:
	rm -rf bin dist
	$(MAKE) -C examples/hello clean

# examples/remote: materials from S3 and HTTP, artifacts to S3, with the
# servers started on loopback (versitygw is built once by the script below).
demo-remote: install
	.ci/install-test-servers.sh
	$(GO) run ./examples/remote/demo -bin $(BINDIR)

# Fuzzing, FUZZTIME per target, one target at a time (go refuses -fuzz over
# several packages): the parsers of untrusted or hand-edited input. Plain
# `go test` (make test) runs every target's seed corpus and the crashers kept
# under testdata/fuzz/; this explores further. A crash is written to the
# package's testdata/fuzz/<Target>/ by go: commit it beside the fix. The
# execs each target reached are printed at the end. FUZZMINIMIZETIME bounds
# the minimizing of each new input, which by default (60s) can take up the
# whole run. Go 1.26 may end a run that found nothing with a bare "context
# deadline exceeded" (golang/go#75804, fixed in Go 1.27): that is not a
# finding, and does not fail the target.
FUZZTIME         ?= 10s
# What make test gives each fuzz target.
TEST_FUZZTIME    ?= 8s
FUZZMINIMIZETIME ?= 1s
# package directory : fuzz target
FUZZ_TARGETS := \
	core/build/config:FuzzParse \
	core/build/remote:FuzzURL \
	core/plugins/lockfile:FuzzParse \
	core/evidence/attestation:FuzzOpen \
	core/evidence/provenance:FuzzDecode \
	core/evidence/signing:FuzzReadBundle

.PHONY: fuzz
fuzz:
	@log=$$(mktemp -d); trap 'rm -rf "$$log"' EXIT; failed=""; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; out="$$log/$$(echo $$t | tr /: __)"; \
		echo "== $$fn ./$$pkg"; \
		{ $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) -parallel 1 ./$$pkg 2>&1; echo $$? > "$$out.rc"; } | tee "$$out"; \
		if [ "$$(cat "$$out.rc")" != 0 ]; then \
			if ! grep -q 'Failing input written' "$$out" && grep -qx '    context deadline exceeded' "$$out"; then \
				echo "(not a finding: go's fuzzing stopped with its own -fuzztime deadline, golang/go#75804)"; \
			else failed="$$failed $$fn(./$$pkg)"; fi; \
		fi; \
	done; \
	echo "== execs in $(FUZZTIME) per target"; \
	for t in $(FUZZ_TARGETS); do \
		out="$$log/$$(echo $$t | tr /: __)"; \
		printf '%-44s %s\n' "$${t##*:} ./$${t%%:*}" "$$(grep -o 'execs: [0-9]*' "$$out" | tail -n 1)"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzzing failed:$$failed (see testdata/fuzz/ in those packages)"; exit 1; fi
