# pgchaos: `make quickstart` runs the quickstart scenario against a fresh lab,
# `make test` runs every check and test (what CI runs). Both install what
# they need. `make` alone builds bin/pgchaos.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/pgchaos
PREFIX ?= /usr/local
SCENARIO ?= scenarios/quickstart.yaml

# STEPS names the caller in a banner each step prints as it starts, with
# the seconds since STEPS_START (.ci/run sets both: "== ci: lint (35 s)").
STEPS ?=
ifeq ($(origin STEPS_START),undefined)
STEPS_START := $(shell date +%s)
endif
step = @if [ -n "$(STEPS)" ]; then echo "== $(STEPS): $(1) ($$(( $$(date +%s) - $(STEPS_START) )) s)"; fi

.DEFAULT_GOAL := build
.PHONY: build install quickstart test deps images lint unit integration clean

build:
	$(call step,build)
	$(GO) build -o $(BIN) ./cmd/pgchaos

# Puts pgchaos on the PATH: $(PREFIX)/bin/pgchaos (PREFIX=$$HOME/.local
# needs no root). `go install ./cmd/pgchaos` does the same into $$GOBIN.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pgchaos

quickstart: build images
	$(BIN) run $(SCENARIO)

deps:
	$(call step,deps)
	@scripts/deps.sh

# Lab images from Debian's packages (no registry needed); present ones are
# kept. ARGS picks some: make images ARGS="postgres18 nettools".
images: deps
	$(call step,images)
	@images/build.sh $(ARGS)

# gofmt, go vet and staticcheck (its default checks; the version is pinned
# by the tool directive in go.mod).
lint:
	$(call step,lint)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Unit tests only: under -short every test that needs Docker skips
# (internal/labtest.RequireDocker), so no container is made.
unit:
	$(call step,unit)
	$(GO) test -short -race -count=1 ./...

# Every test without -short: the integration tests start real labs (Docker,
# the local images, the binary).
integration: deps images build
	$(call step,integration)
	$(GO) test -count=1 -timeout 40m -p 2 ./...

# Everything, in this order: set-up, lint, unit, integration.
test: deps images lint unit integration

clean:
	rm -rf bin
