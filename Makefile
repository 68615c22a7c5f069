# Postern build and test entry points. `make help` lists them.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/postern
PKGS     := ./...
UNIT     := $(shell $(GO) list ./... 2>/dev/null | grep -v /integration)
FUZZTIME ?= 20s
COVERDIR := $(CURDIR)/.cover
export CGO_ENABLED = 0

.PHONY: help build run test integration check fuzz bench cover test-all deps docs clean install deb image

help:
	@echo "make build        static binary in $(BIN), version $(VERSION)"
	@echo "make run          build, write run/postern.toml if missing, serve on unprivileged ports"
	@echo "make test         unit tests (race detector, shuffled)"
	@echo "make integration  real-binary tests with real clients (swaks, python3, postfix...)"
	@echo "make check        gofmt, go vet, staticcheck, generated docs up to date"
	@echo "make fuzz         every fuzz target for FUZZTIME ($(FUZZTIME)) each"
	@echo "make bench        Go benchmarks"
	@echo "make cover        unit + integration coverage merged into .cover/cover.txt"
	@echo "make test-all     deps + check + test + integration (what CI runs)"
	@echo "make deb          Debian package bin/postern_VERSION_amd64.deb (dpkg-deb)"
	@echo "make image        container image localhost/postern (FROM scratch, podman or docker)"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/postern

# A working server from a checkout: unprivileged ports, state and sockets under run/.
run: build
	@mkdir -p run
	@test -f run/postern.toml || cp packaging/postern.dev.toml run/postern.toml
	./$(BIN) serve --config run/postern.toml

# The race detector needs cgo.
test:
	CGO_ENABLED=1 $(GO) test -race -shuffle=on -count=1 $(UNIT)

integration:
	$(GO) test -count=1 -timeout 20m ./integration/...

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) test -count=1 -run 'TestReference|TestCLIDocs' ./server/config ./cmd/postern

# Installs the test peers from Debian first (idempotent; uses sudo when not root).
deps:
	bash .ci/deps

test-all: deps check test integration

fuzz:
	@set -e; for pkg in $(UNIT); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(UNIT)

# Receiving mail against Postfix + Dovecot on this machine: ROUNDS (default 3) interleaved
# rounds of fsync ceiling, classic stack, Postern, with per-round ratios and their medians
# (not part of CI; needs root, the Debian packages in ../shared/bench/README.md and a real
# disk under BENCH_DIR).
.PHONY: bench-compare
bench-compare: build
	integration/bench/receive.sh

# Reading mail (IMAPS) against Dovecot on this machine, in one run (not part of CI; needs root
# and the Debian packages in ../shared/bench/README.md).
.PHONY: bench-imap
bench-imap: build
	integration/bench/imap.sh

# Sending through a smart host (smtp-sink) against Postfix relaying to the same sink, in one run
# (not part of CI; needs root and the Debian packages in ../shared/bench/README.md).
.PHONY: bench-relay
bench-relay: build
	integration/bench/relay.sh

cover:
	rm -rf $(COVERDIR) && mkdir -p $(COVERDIR)/unit $(COVERDIR)/integration
	$(GO) test -count=1 -cover -covermode=atomic $(UNIT) -args -test.gocoverdir=$(COVERDIR)/unit
	POSTERN_GOCOVERDIR=$(COVERDIR)/integration $(GO) test -count=1 -timeout 20m ./integration/...
	$(GO) tool covdata textfmt -i=$(COVERDIR)/unit,$(COVERDIR)/integration -o $(COVERDIR)/cover.txt
	$(GO) tool cover -func=$(COVERDIR)/cover.txt | tail -1

docs:
	$(GO) test -count=1 -run 'TestReference|TestCLIDocs' ./server/config ./cmd/postern -args -update

# DESTDIR-aware install of the binary, its sendmail/mailq names, the systemd unit,
# sysusers/tmpfiles entries and the example config. Never overwrites an existing config.
PREFIX  ?= /usr
UNITDIR ?= /lib/systemd/system
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/postern
	install -d $(DESTDIR)$(PREFIX)/sbin
	ln -sf ../bin/postern $(DESTDIR)$(PREFIX)/sbin/sendmail
	ln -sf postern $(DESTDIR)$(PREFIX)/bin/mailq
	install -D -m 0644 packaging/postern.service $(DESTDIR)$(UNITDIR)/postern.service
	install -D -m 0644 packaging/sysusers.d/postern.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/postern.conf
	install -D -m 0644 packaging/tmpfiles.d/postern.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/postern.conf
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/postern/README.md
	install -d -m 0755 $(DESTDIR)/etc/postern
	h=$$(hostname -f 2>/dev/null); case "$$h" in *.*) ;; *) h=mail.example.com ;; esac; \
	  ./$(BIN) config default --hostname "$$h" > $(DESTDIR)$(PREFIX)/share/doc/postern/postern.toml.example
	test -e $(DESTDIR)/etc/postern/postern.toml || install -m 0644 $(DESTDIR)$(PREFIX)/share/doc/postern/postern.toml.example $(DESTDIR)/etc/postern/postern.toml
	test -e $(DESTDIR)/etc/postern/relay.password || install -m 0600 /dev/null $(DESTDIR)/etc/postern/relay.password

# The Debian package, built with dpkg-deb from packaging/deb (no nfpm, no debhelper):
# bin/postern_VERSION_amd64.deb. Check it with: lintian bin/postern_*.deb
deb: build
	packaging/deb/build.sh $(BIN) $(VERSION) bin

# The container image: FROM scratch, so nothing is pulled from a registry (packaging/Dockerfile).
CONTAINER ?= $(shell command -v podman || command -v docker)
image: build
	packaging/image-root.sh $(BIN) bin/image
	$(CONTAINER) build -f bin/image/Dockerfile -t localhost/postern:$(VERSION) -t localhost/postern:latest bin/image

clean:
	rm -rf bin run .cover
