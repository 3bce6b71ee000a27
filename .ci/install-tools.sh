#!/usr/bin/env bash
# Installs the build and test tools ipvet needs, idempotently: each tool is skipped when
# already present at the pinned version. Tools live in versioned folders under
# $IPVET_TOOLS so a stale or foreign copy (e.g. Debian's binaryen, whose wasm-opt 108
# silently breaks hydration) can never be picked by accident.
set -euo pipefail

TOOLS="${IPVET_TOOLS:-$HOME/.cache/ipvet/tools}"
CARGO_LEPTOS_VERSION=0.3.11
# Must equal the `wasm-bindgen = "=..."` pin in the workspace Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132.0.0
# The DNSBL peer of the check benchmark.
PYDNSBL_VERSION=1.1.7
# Validates the generated OpenAPI document in the integration tests.
OPENAPI_VALIDATOR_VERSION=0.7.2
# Runs the API against its OpenAPI document (server/tests/schemathesis.sh).
SCHEMATHESIS_VERSION=4.32.5
# Builds the Debian package (`make deb`).
CARGO_DEB_VERSION=3.8.0
# Prometheus' own parser reads /metrics in the integration tests.
PROMETHEUS_CLIENT_VERSION=0.26.0
AIOSMTPD_VERSION=1.4.6
mkdir -p "$TOOLS"

log() { printf '[install-tools] %s\n' "$*" >&2; }

# Copies a crate's source out of the cargo registry (downloading it there first if
# needed) into a scratch folder, so its lock file can be nudged to versions that both
# exist in the registry and build on this rustc.
crate_source() {
  local name=$1 version=$2 dest=$3 src
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$name-$version" 2>/dev/null | head -1 || true)
  if [ -z "$src" ]; then
    # `cargo info` downloads and unpacks the crate into the registry as a side effect.
    (cd /tmp && cargo info -q "$name@$version" >/dev/null)
    src=$(ls -d "$HOME"/.cargo/registry/src/*/"$name-$version" | head -1)
  fi
  rm -rf "$dest"
  cp -r "$src" "$dest"
}

install_cargo_leptos() {
  local root="$TOOLS/cargo-leptos-$CARGO_LEPTOS_VERSION-no-downloads"
  if [ -x "$root/bin/cargo-leptos" ]; then return; fi
  log "building cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads); about 17 minutes, once per machine"
  local work
  work=$(mktemp -d)
  rm -rf "$root.partial"
  crate_source cargo-leptos "$CARGO_LEPTOS_VERSION" "$work/src"
  # Its lock pins cargo-util-schemas 0.14.2, which needs a newer rustc than 1.95.
  (cd "$work/src" && cargo update -q -p cargo-util-schemas --precise 0.14.1)
  cargo install -q --path "$work/src" --locked --features no_downloads --root "$root.partial"
  mv "$root.partial" "$root"
  rm -rf "$work"
}

install_wasm_bindgen() {
  local root="$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION"
  if [ -x "$root/bin/wasm-bindgen" ]; then return; fi
  log "building wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  local work
  work=$(mktemp -d)
  rm -rf "$root.partial"
  crate_source wasm-bindgen-cli "$WASM_BINDGEN_VERSION" "$work/src"
  # 0.2.130's lock names webpki-roots 1.0.11, which the registry does not serve.
  (cd "$work/src" && cargo update -q -p webpki-roots --precise 1.0.10)
  cargo install -q --path "$work/src" --locked --root "$root.partial" --bin wasm-bindgen
  mv "$root.partial" "$root"
  rm -rf "$work"
}

install_cargo_deb() {
  local root="$TOOLS/cargo-deb-$CARGO_DEB_VERSION"
  if [ -x "$root/bin/cargo-deb" ]; then return; fi
  log "building cargo-deb $CARGO_DEB_VERSION"
  rm -rf "$root.partial"
  # Without its default lzma feature, which builds liblzma from C source.
  cargo install -q cargo-deb --version "$CARGO_DEB_VERSION" --locked --no-default-features --root "$root.partial"
  mv "$root.partial" "$root"
}

install_binaryen() {
  local root="$TOOLS/binaryen-$BINARYEN_VERSION"
  if [ -x "$root/node_modules/.bin/wasm-opt" ]; then return; fi
  log "installing binaryen $BINARYEN_VERSION from npm"
  rm -rf "$root.partial" && mkdir -p "$root.partial"
  (cd "$root.partial" && npm install --silent --no-audit --no-fund "binaryen@$BINARYEN_VERSION" >&2)
  mv "$root.partial" "$root"
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

bench_python() {
  echo "$TOOLS/pydnsbl-$PYDNSBL_VERSION/bin/python"
}

# Installs SPEC (name==version) from PyPI into a virtualenv of its own at ROOT, unless the
# command that follows already succeeds (the tool is there and works).
install_venv() {
  local root=$1 spec=$2
  shift 2
  if "$@" >/dev/null 2>&1; then return; fi
  log "installing $spec from PyPI"
  rm -rf "$root"
  python3 -m venv "$root"
  "$root/bin/pip" install -q "$spec" >&2
}

install_pydnsbl() {
  install_venv "$TOOLS/pydnsbl-$PYDNSBL_VERSION" "pydnsbl==$PYDNSBL_VERSION" \
    "$(bench_python)" -c 'import pydnsbl'
}

openapi_validator() {
  echo "$TOOLS/openapi-spec-validator-$OPENAPI_VALIDATOR_VERSION/bin/openapi-spec-validator"
}

install_openapi_validator() {
  install_venv "$TOOLS/openapi-spec-validator-$OPENAPI_VALIDATOR_VERSION" \
    "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" test -x "$(openapi_validator)"
}

schemathesis() {
  echo "$TOOLS/schemathesis-$SCHEMATHESIS_VERSION/bin/schemathesis"
}

install_schemathesis() {
  install_venv "$TOOLS/schemathesis-$SCHEMATHESIS_VERSION" \
    "schemathesis==$SCHEMATHESIS_VERSION" test -x "$(schemathesis)"
}

prometheus_python() {
  echo "$TOOLS/prometheus-client-$PROMETHEUS_CLIENT_VERSION/bin/python"
}

install_prometheus_client() {
  install_venv "$TOOLS/prometheus-client-$PROMETHEUS_CLIENT_VERSION" \
    "prometheus-client==$PROMETHEUS_CLIENT_VERSION" "$(prometheus_python)" -c 'import prometheus_client'
}

smtp_python() {
  echo "$TOOLS/aiosmtpd-$AIOSMTPD_VERSION/bin/python"
}

# The alert tests' SMTP server (server/tests/fixtures/smtp_receiver.py).
install_aiosmtpd() {
  install_venv "$TOOLS/aiosmtpd-$AIOSMTPD_VERSION" \
    "aiosmtpd==$AIOSMTPD_VERSION" "$(smtp_python)" -c 'import aiosmtpd'
}

tool_path() {
  echo "$TOOLS/cargo-deb-$CARGO_DEB_VERSION/bin:$TOOLS/cargo-leptos-$CARGO_LEPTOS_VERSION-no-downloads/bin:$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION/bin:$TOOLS/binaryen-$BINARYEN_VERSION/node_modules/.bin"
}

case "${1:-all}" in
  build) apt_install pkg-config libssl-dev
         rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
         install_cargo_leptos; install_wasm_bindgen; install_binaryen ;;
  # curl and iproute2 also serve server/tests/schemathesis.sh.
  test)  apt_install chromium iproute2 nftables curl; install_openapi_validator; install_schemathesis; install_prometheus_client; install_aiosmtpd ;;
  all)   "$0" build; "$0" test ;;
  # `make deb`; dpkg-dev is not needed, adduser is what the package's postinst uses.
  deb)   apt_install adduser; install_cargo_deb ;;
  # The check benchmark's peers: fping, nmap, the seeds' ping, pydnsbl (and nft for its
  # test network); wrk loads the web benchmark.
  bench) apt_install fping nmap iputils-ping iproute2 nftables wrk; install_pydnsbl ;;
  bench-python) bench_python ;;
  openapi-validator) openapi_validator ;;
  prometheus-python) prometheus_python ;;
  smtp-python) smtp_python ;;
  schemathesis) schemathesis ;;
  # What to put first on PATH so these tools, and no others of the same name, are used.
  path)  tool_path ;;
  *) echo "usage: $0 [build|test|all|deb|bench|bench-python|openapi-validator|prometheus-python|smtp-python|schemathesis|path]" >&2; exit 2 ;;
esac
