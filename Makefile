# CCCDKit: two commands on a fresh machine.
#   make demo   the main job (end to end on the embedded defaults)
#   make test   the whole test suite
SWIFT ?= swift
CCCD = .build/debug/cccd

.PHONY: deps build demo test soak bench fuzz clean embedded

deps:
	@bash scripts/ensure-deps.sh

build: deps
	$(SWIFT) build

demo: build
	@bash scripts/with-pcscd.sh bash scripts/demo.sh

# The CLI contract tests run the built cccd, so build it first.
# pcscd (with four virtual readers) and a throwaway PostgreSQL cluster for the multi-station journal tests.
# Tests named soak… (scale and soak runs: 1,000 cards, a million random inputs) are `make soak`'s.
test: build
	@bash scripts/with-pcscd.sh bash scripts/with-postgres.sh $(SWIFT) test --skip 'soak[A-Z]'

# The scale and soak runs (.ci/run runs them after make test).
soak: build
	@bash scripts/with-pcscd.sh bash scripts/with-postgres.sh $(SWIFT) test --filter 'soak[A-Z]'

bench: deps
	$(SWIFT) run -c release CCCDBenchmarks

# Every fuzz target under libFuzzer + AddressSanitizer + LeakSanitizer (FUZZ_SECONDS, FUZZ_MIN_RUNS, FUZZ_WORKERS,
# FUZZ_TARGETS; README "Fuzzing"). Not part of `make test`.
fuzz: deps
	@bash scripts/fuzz.sh

# After editing Profiles/*.yaml or Vectors/sample-card: embed them in cccd again.
embedded:
	@bash scripts/embed-resources.sh

clean:
	rm -rf .build .build-fuzz
