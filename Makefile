# pgchaos: `make quickstart` runs the quickstart scenario against a fresh lab,
# `make test` runs every test (what CI runs). Both install what they need.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/pgchaos
SCENARIO ?= scenarios/quickstart.yaml

.PHONY: quickstart test images deps build vet unit integration scenarios clean

quickstart: build images
	$(BIN) run $(SCENARIO)

build:
	$(GO) build -o $(BIN) ./cmd/pgchaos

deps:
	@scripts/deps.sh

# Lab images from Debian's packages (no registry needed); present ones are
# kept. ARGS picks some: make images ARGS="postgres18 nettools".
images: deps
	@images/build.sh $(ARGS)

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -short -count=1 ./...

# Everything: unit and integration tests against real labs (Docker).
test: deps images vet build
	$(GO) test -count=1 -timeout 40m -p 2 ./...

clean:
	rm -rf bin
