# oidcrp — make targets. `make test` is what CI runs; `make demo` is the demo.
SHELL := /bin/bash
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests that start a real Ory Hydra and a real Chromium run under make.
export OIDCRP_HYDRA := 1
export OIDCRP_BROWSER := 1

.PHONY: test deps lint unit fuzz interop demo bench

## test: dependencies, lint, every test with the race detector (fuzz seeds included), then every fuzz target for FUZZTIME
test: deps lint unit fuzz

## deps: Chromium and redis-server from Debian (with CI=true), Ory Hydra v2.3.0
deps:
	scripts/deps.sh

## unit: go test -race ./... (Hydra and browser tests included)
unit:
	$(GO) test -race -count=1 -timeout 15m ./...

## fuzz: every fuzz target for FUZZTIME (default 10s) each
FUZZTIME ?= 10s
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## interop: only the tests against a real Ory Hydra and Chromium
interop: deps
	$(GO) test -race -count=1 -timeout 15m -run 'Hydra|Demo|Browser' ./...

## lint: gofmt, go vet, staticcheck (pinned)
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## demo: Ory Hydra, a login page and the reference app; open the printed URL
demo:
	$(GO) run ./examples/quickstart

## bench: run the benchmarks and print their table
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | tee .bench.out
