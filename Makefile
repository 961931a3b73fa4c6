# The targets mirror CI (.ci/run runs `make ci`).
GO ?= go
PKGS ?= ./...

.PHONY: help build test check fmt vet lint fuzz-smoke bench run ci

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build the handset binary into ./bin
	$(GO) build -o bin/handset ./cmd/handset

test: ## all tests with the race detector (peer tests fail under CI=true when a peer is missing)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

check: fmt vet lint ## gofmt, go vet, golangci-lint (pinned by the tool directive in go.mod)

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint:
	$(GO) tool golangci-lint run $(PKGS)

fuzz-smoke: ## run every Fuzz target briefly (FUZZTIME, default 3s)
	./scripts/fuzz-smoke.sh

bench: ## the benchmark suite at a size for a 2-core machine
	./scripts/bench.sh

run: build ## the main job: handset load against the embedded lab front end
	./bin/handset load

ci: check test fuzz-smoke ## what CI runs
