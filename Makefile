# ipvet's entry points. `make run` and `make test` are the README's two commands.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

TOOLS_PATH := $(shell .ci/install-tools.sh path)
export PATH := $(TOOLS_PATH):$(PATH)
# The environment cargo-leptos gives its debug builds. Every cargo command here gets the
# same, so tests, clippy and `cargo leptos build` share one set of compiled artifacts
# instead of building the server stack twice.
export RUSTFLAGS := --cfg erase_components
export LEPTOS_OUTPUT_NAME := ipvet
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_SITE_PKG_DIR := pkg
export LEPTOS_SITE_ADDR := 127.0.0.1:3000
export LEPTOS_RELOAD_PORT := 3001
export LEPTOS_HASH_FILES := false
export LEPTOS_JS_MINIFY := false

.PHONY: run test tools build build-release unit integration contract e2e lint fmt bench

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

build-release:
	.ci/install-tools.sh build >/dev/null
	cargo leptos build --release

build: tools
	cargo leptos build

unit: tools
	cargo test -p app --features ssr --lib
	cargo test -p migrations

integration: tools
	export IPVET_OPENAPI_VALIDATOR="$$(.ci/install-tools.sh openapi-validator)"
	echo "== integration tests on SQLite"
	env -u IPVET_TEST_POSTGRES cargo test -p server
	if [ -n "$${IPVET_TEST_POSTGRES:-}" ]; then
		echo "== integration tests again on PostgreSQL ($$IPVET_TEST_POSTGRES)"
		cargo test -p server --test it
	fi

## Schemathesis against a real `ipvet serve` (the debug build the integration tests made)
## on a fresh SQLite database, as an admin and as a viewer.
contract: tools
	cargo build -p server --bin ipvet
	server/tests/schemathesis.sh

e2e: build
	cargo build -p server --example e2e_dns
	cd end2end
	npm ci --no-audit --no-fund --silent
	npx playwright test

lint: tools
	cargo fmt --all -- --check
	cargo clippy -p app -p server -p migrations --features app/ssr --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown --all-targets -- -D warnings

fmt:
	cargo fmt --all

## Benchmarks (release build): the inventory at a million addresses, on SQLite and, when
## IPVET_TEST_POSTGRES is set, PostgreSQL; and the check engine over a /16 in network
## namespaces it makes (root), beside nmap, fping and pydnsbl. Results go to target/bench/;
## docs/benchmarks.md keeps them.
bench:
	.ci/install-tools.sh bench >/dev/null
	cargo bench -p server --bench inventory
	cargo bench -p server --bench web
	IPVET_BENCH_PYTHON="$$(.ci/install-tools.sh bench-python)" cargo bench -p server --bench checks
