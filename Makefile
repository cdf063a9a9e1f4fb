# oidcrp — make targets. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test unit lint bench

## test: lint, then every test with the race detector
test: lint unit

## unit: go test -race ./...
unit:
	$(GO) test -race -count=1 ./...

## lint: gofmt, go vet, staticcheck (pinned)
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: run the benchmarks and print their table
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./... | tee .bench.out
