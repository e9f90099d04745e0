# cardverify — build, test and measure.
#
#   make demo    build, then verify testdata/demo/customers.csv against the
#                built-in simulated API and write out/demo.verified.xlsx
#   make test    gofmt check, go vet, and the race-enabled test suite (short)
#   make test-browser  the web console driven by a headless chromium

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/cardverify
GOFILES  = $(shell git ls-files '*.go' 2>/dev/null || find . -name '*.go')

.PHONY: build test test-browser test-long demo bench bench-e2e bench-e2e-quick bench-parts fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cardverify

test:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The binary links no test code (the sandbox is production code).
	@if $(GO) list -deps ./cmd/cardverify | grep -E '^(testing|net/http/httptest)$$'; then \
		echo "cmd/cardverify links test packages"; exit 1; fi
	$(GO) test -race -short -count=1 ./...

# The web console in a real browser (chromium, driven by chromedp). Keep the
# screenshots with CARDVERIFY_SCREENSHOTS=testdata/web (a path from the repo).
test-browser:
	CARDVERIFY_REQUIRE_BROWSER=$${CARDVERIFY_REQUIRE_BROWSER:-0} $(GO) test -tags browser -count=1 -timeout 10m -run '^TestBrowser$$' -v ./cmd/cardverify

# The whole suite, heavy crash and fault tests included.
test-long:
	$(GO) test -race -count=1 -timeout 30m ./...

demo: build
	@mkdir -p out
	./$(BIN) run testdata/demo/customers.csv --sandbox --progress plain \
		--out out/demo.verified.xlsx --db out/demo.cardverify.db
	@echo
	@echo "annotated output: out/demo.verified.xlsx (checkpoint: out/demo.cardverify.db)"
	@echo "try: ./$(BIN) status --db out/demo.cardverify.db"

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

# Issue 17's table end to end (100k and 1M rows, medians of 3): ~30 min.
bench-e2e: build
	$(GO) run ./cmd/benche2e -bin $(BIN) $(BENCHFLAGS)

# A quick try of the same (10k and 100k rows, 1 run each): a few minutes.
bench-e2e-quick: build
	$(GO) run ./cmd/benche2e -bin $(BIN) -quick $(BENCHFLAGS)

# What a row of a run costs, part by part, each part alone (medians of 3):
# the checkpoint's call (Begin and End, committed), Plan, the history's
# filing, the read-back for the output, reading and writing 100k rows. Set
# beside the floor of bench-e2e (-only throughput): README, "Performance".
bench-parts:
	$(GO) test -run '^$$' -bench 'BenchmarkCall$$|BenchmarkPlan$$|HistoryRecord/held=0|Results/rows=100000$$' -benchmem -count=3 ./store
	$(GO) test -run '^$$' -bench 'Read(CSV|XLSX)/rows=100000$$' -benchmem -count=3 ./reader
	$(GO) test -run '^$$' -bench 'Write(CSV|XLSX)/100k$$' -benchmem -count=3 ./writer

# Each fuzz target for 30 s (go test -fuzz takes one target at a time).
# Minimising a new sheet input can take a minute; 20 tries is plenty.
FUZZ_TARGETS = reader:FuzzDelimited reader:FuzzNormalize reader:FuzzFormat reader:FuzzSheet \
	reader:FuzzXMLScanner pipeline/juhe:FuzzParse writer:FuzzXLSXText pipeline:FuzzMaskCard
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime 30s -fuzzminimizetime 20x ./$$pkg; \
	done

clean:
	rm -rf bin out
