# ipvet's entry points. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

TOOLS_PATH := $(shell .ci/install-tools.sh path)
export PATH := $(TOOLS_PATH):$(PATH)
# The environment cargo-leptos gives its debug builds. Every cargo command here gets the
# same, so the tests and `cargo leptos build` share one set of compiled artifacts instead of
# building the server stack twice.
export RUSTFLAGS := --cfg erase_components
export LEPTOS_OUTPUT_NAME := ipvet
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_SITE_PKG_DIR := pkg
export LEPTOS_SITE_ADDR := 127.0.0.1:3000
export LEPTOS_RELOAD_PORT := 3001
export LEPTOS_HASH_FILES := false
export LEPTOS_JS_MINIFY := false

# Every test build names the same packages and features, so the unit tests, the
# integration tests, the `ipvet` binary Schemathesis and Playwright run, and the e2e DNS
# helper all come out of one compile of the dependencies. A build of the server alone
# would resolve hyper, tower and tower-http without the test clients' features and compile
# the whole server stack a second time.
TEST_BUILD := -p app -p migrations -p server --features app/ssr

# The lint is the test build itself: cargo compiles ipvet's own crates through
# clippy-driver (dependencies through plain rustc, with their lints capped) and every
# warning is an error, which is what `cargo clippy --all-targets -- -D warnings` checks.
# A separate `cargo clippy` checked every dependency once more, for the server and again
# for the wasm build, which was the slowest step of CI after the build itself.
CLIPPY_DRIVER := $(shell command -v clippy-driver)
LINTED_BUILDS := lint unit integration contract e2e
$(LINTED_BUILDS): export RUSTC_WORKSPACE_WRAPPER := $(CLIPPY_DRIVER)
$(LINTED_BUILDS): export RUSTFLAGS := --cfg erase_components -D warnings

.PHONY: run test tools build build-release unit integration contract e2e lint fmt bench deb package-test

## Build in release mode and serve on http://127.0.0.1:3000 with ./ipvet.db (SQLite).
run: build-release
	# Plain HTTP on loopback: cookies cannot be Secure there.
	IPVET_SECURE_COOKIES=$${IPVET_SECURE_COOKIES:-off} target/release/ipvet serve

## Every test: unit, integration (SQLite, and PostgreSQL when IPVET_TEST_POSTGRES is set),
## the API against its OpenAPI document (Schemathesis), then Playwright end to end in
## Chromium.
test: tools unit integration contract e2e

tools:
	.ci/install-tools.sh all >/dev/null

## The release build names the site's bundle by content and precompresses it (.br, .gz);
## the server finds the names in target/site/hash.txt.
build-release: export LEPTOS_HASH_FILES := true
build-release:
	.ci/install-tools.sh build >/dev/null
	cargo leptos build --release --precompress --split
	cp target/release/hash.txt target/site/hash.txt

build: tools
	cargo leptos build --split

unit: tools
	cargo test $(TEST_BUILD) --lib

integration: tools
	export IPVET_OPENAPI_VALIDATOR="$$(.ci/install-tools.sh openapi-validator)"
	export IPVET_PROMETHEUS_PYTHON="$$(.ci/install-tools.sh prometheus-python)"
	export IPVET_SMTP_PYTHON="$$(.ci/install-tools.sh smtp-python)"
	echo "== integration tests on SQLite"
	env -u IPVET_TEST_POSTGRES cargo test $(TEST_BUILD) --test it
	if [ -n "$${IPVET_TEST_POSTGRES:-}" ]; then
		echo "== integration tests again on PostgreSQL ($$IPVET_TEST_POSTGRES)"
		cargo test $(TEST_BUILD) --test it
	fi

## Schemathesis against a real `ipvet serve` (the test build's binary) on a fresh SQLite
## database, as an admin and as a viewer.
contract: tools
	cargo test $(TEST_BUILD) --no-run
	server/tests/schemathesis.sh

## Playwright against the test build's `ipvet` and e2e DNS server, with the site (wasm,
## CSS, assets) from cargo-leptos.
e2e: tools
	cargo test $(TEST_BUILD) --no-run
	cargo leptos build --frontend-only --split
	cd end2end
	npm ci --no-audit --no-fund --silent
	npx playwright test

## Formatting, and clippy with every warning an error on every target of the `ssr` build
## (the test build, benchmarks included) and on the `hydrate` build (the site's wasm).
lint: tools
	cargo fmt --all -- --check
	[ -n "$(CLIPPY_DRIVER)" ] || { echo "make lint: clippy-driver not found (rustup component add clippy)" >&2; exit 2; }
	cargo test $(TEST_BUILD) --no-run --all-targets
	cargo leptos build --frontend-only --split

fmt:
	cargo fmt --all

## A Debian package of the release build, in target/debian/ (README: "Installing from the
## Debian package").
deb: build-release
	.ci/install-tools.sh deb >/dev/null
	rm -rf target/debian
	cargo deb -p server --no-build --output target/debian/

## CI: installs the package on this machine (root), runs and signs in to the installed
## server, removes the package. Not part of `make test`: it changes the machine.
package-test: deb
	.ci/package-test.sh target/debian/ipvet_*.deb

## Benchmarks (release build): the inventory at a million addresses, on SQLite and, when
## IPVET_TEST_POSTGRES is set, PostgreSQL; and the check engine over a /16 in network
## namespaces it makes (root), beside nmap, fping and pydnsbl. Results go to target/bench/;
## docs/benchmarks.md keeps them.
bench: build-release
	.ci/install-tools.sh bench >/dev/null
	(cd end2end && npm ci --no-audit --no-fund --silent)
	cargo bench -p server --bench inventory
	cargo bench -p server --bench web
	IPVET_BENCH_PYTHON="$$(.ci/install-tools.sh bench-python)" cargo bench -p server --bench checks
