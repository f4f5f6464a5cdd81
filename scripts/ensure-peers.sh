#!/usr/bin/env bash
# Installs the real SIP peers the interop tests run against, when they are missing:
# SIPp (Debian sip-tester) and Kamailio with its TLS and WebSocket modules, baresip for its end-to-end
# test; with --bench, wrk too.
# The end-to-end tests (test/e2e) also need Debian's Chromium (driven by playwright-core at
# /usr/bin/chromium) and iproute2 (their private network namespace).
set -euo pipefail

need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
kam_lib=$(dpkg -L kamailio 2>/dev/null | grep -m1 '/modules/tm.so$' | xargs -r dirname || true)
[ -n "$kam_lib" ] && [ -f "$kam_lib/websocket.so" ] || need+=(kamailio-websocket-modules)
[ -n "$kam_lib" ] && [ -f "$kam_lib/tls.so" ] || need+=(kamailio-tls-modules)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
root_dir=$(cd "$(dirname "$0")/.." && pwd)
if ls "$root_dir"/test/e2e/*.test.ts >/dev/null 2>&1; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
fi
# A real SIP phone for the end-to-end test that calls one (headless: a sine tone, ALSA's null device).
if [ -f "$root_dir/test/e2e/baresip.test.ts" ]; then
  [ -x /usr/bin/baresip ] && [ -f /usr/lib/baresip/modules/ausine.so ] || need+=(baresip-core)
fi
# Benchmarks also measure against wrk (HTTP load).
if [ "${1:-}" = "--bench" ]; then command -v wrk >/dev/null 2>&1 || need+=(wrk); fi

if ((${#need[@]} == 0)); then exit 0; fi

echo "Installing test peers: ${need[*]}" >&2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Interop tests need these Debian packages: ${need[*]}. Install them (as root: apt-get install -y ${need[*]}) and run again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts kamailio as a service on install; our tests run their own instances on ephemeral ports.
if command -v systemctl >/dev/null 2>&1; then systemctl stop kamailio >/dev/null 2>&1 || true; fi
if [ -x /etc/init.d/kamailio ]; then /etc/init.d/kamailio stop >/dev/null 2>&1 || true; fi
echo "Test peers installed." >&2
