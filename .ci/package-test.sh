#!/usr/bin/env bash
# CI: installs the Debian package on this machine, runs the installed ipvet as its unit
# would (its user, its config, its site files; without systemd, which CI has not), signs in,
# and removes the package again, leaving the conffile as dpkg does; then purges it and
# removes what the package leaves on purpose (the database and the ipvet user).
#
# Root. Refuses to run where ipvet is already installed. The server runs in a network
# namespace of its own with only loopback, so its port is free and nothing it does leaves.
#
# Usage: .ci/package-test.sh PACKAGE.deb
set -euo pipefail

deb=$(realpath "$1")
if [ -z "${IPVET_PKG_NETNS:-}" ]; then
  exec env IPVET_PKG_NETNS=1 unshare --net "$0" "$deb"
fi
ip link set lo up

say() { printf '[package-test] %s\n' "$*"; }
fail() { printf '[package-test] FAILED: %s\n' "$*" >&2; exit 1; }

if dpkg -s ipvet >/dev/null 2>&1; then
  echo "ipvet is installed on this machine already; not touching it" >&2
  exit 2
fi
[ ! -e /var/lib/ipvet ] || fail "/var/lib/ipvet exists (an earlier install's data); not touching it"

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if dpkg -s ipvet >/dev/null 2>&1; then dpkg --purge ipvet >/dev/null || true; fi
  rm -rf /var/lib/ipvet
  if getent passwd ipvet >/dev/null; then deluser --quiet --system ipvet >/dev/null 2>&1 || true; fi
  if getent group ipvet >/dev/null; then delgroup --quiet --system ipvet >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say "dpkg -i $(basename "$deb")"
dpkg -i "$deb"
say "$(/usr/bin/ipvet --version)"
getent passwd ipvet >/dev/null || fail "no ipvet user"
[ "$(stat -c '%U:%G %a' /etc/ipvet/ipvet.conf)" = "root:ipvet 640" ] ||
  fail "/etc/ipvet/ipvet.conf is $(stat -c '%U:%G %a' /etc/ipvet/ipvet.conf)"
[ "$(stat -c '%U:%G %a' /var/lib/ipvet)" = "ipvet:ipvet 750" ] ||
  fail "/var/lib/ipvet is $(stat -c '%U:%G %a' /var/lib/ipvet)"
dpkg-query -W -f='${Conffiles}\n' ipvet | grep -q '/etc/ipvet/ipvet.conf' ||
  fail "/etc/ipvet/ipvet.conf is not a conffile"
unit=$(dpkg -L ipvet | grep '/ipvet\.service$') || fail "no ipvet.service in the package"
if command -v systemd-analyze >/dev/null; then
  say "systemd-analyze verify $unit"
  systemd-analyze verify "$unit"
else
  say "no systemd-analyze here: the unit is not verified"
fi

# The unit's command line, user, working directory and environment; the port and plain
# HTTP on loopback are the only changes, through the environment as an admin would.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
site_root=$(sed -n 's/^Environment=LEPTOS_SITE_ROOT=//p' "$unit")
[ "$exec_start" = "/usr/bin/ipvet --config /etc/ipvet/ipvet.conf serve" ] || fail "ExecStart is $exec_start"
port=3190
base="http://127.0.0.1:$port"
say "starting: $exec_start (as ipvet, on $base)"
(cd /var/lib/ipvet &&
  exec runuser -u ipvet -- env LEPTOS_SITE_ROOT="$site_root" IPVET_LISTEN="127.0.0.1:$port" \
    IPVET_SECURE_COOKIES=off $exec_start) >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 150); do
  curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the server stopped"; }
  sleep 0.2
done
ready=$(curl -fsS "$base/readyz") || { cat "$work/server.log" >&2; fail "not ready"; }
say "readyz: $ready"
[ "$(stat -c '%U' /var/lib/ipvet/ipvet.db)" = "ipvet" ] || fail "the database is not the ipvet user's"

password=$(sed -n "s/^Created the first admin: user 'admin', password: \([A-Za-z0-9]*\)$/\1/p" "$work/server.log")
[ -n "$password" ] || { cat "$work/server.log" >&2; fail "no first admin's password printed"; }
say "signing in as admin"
curl -fsS -o /dev/null -c "$work/cookies" -H "Origin: $base" -H 'Accept: application/json' \
  --data-urlencode name=admin --data-urlencode "password=$password" "$base/api/auth/login"
page=$(curl -fsS -b "$work/cookies" "$base/networks")
grep -q 'Sign out' <<<"$page" || fail "the networks page does not show a signed-in admin"
# The page's bundle is the package's, named by its content.
js=$(grep -o '/pkg/ipvet[^"]*\.js' <<<"$page" | head -1)
[ -n "$js" ] || fail "the page names no script bundle"
curl -fsS -o /dev/null "$base$js" || fail "$js is not served"
say "signed in; $js served"

kill "$pid"
wait "$pid" || true
pid=

say "dpkg -r ipvet"
dpkg -r ipvet
[ ! -e /usr/bin/ipvet ] || fail "/usr/bin/ipvet is still there after dpkg -r"
[ -f /etc/ipvet/ipvet.conf ] || fail "dpkg -r removed the conffile"
[ -f /var/lib/ipvet/ipvet.db ] || fail "dpkg -r removed the database"
say "dpkg --purge ipvet"
dpkg --purge ipvet
[ ! -e /etc/ipvet/ipvet.conf ] || fail "the conffile survived --purge"
say "package installed, served, signed in to, removed"
