#!/usr/bin/env bash
# The njs generations the project is tested on, each in a Debian root made by mmdebstrap from
# Debian's own packages (no Docker needed):
#   debian12  the host's nginx 1.22 + njs 0.7.9 (apt-get install nginx-light libnginx-mod-http-js njs)
#   trixie    nginx 1.26 + njs 0.8.9, njs engine            (root: $DIR/trixie)
#   sid       nginx 1.30 + njs 1.0, njs engine               (root: $DIR/sid)
#   sid-qjs   the same root with `js_engine qjs` (QuickJS)
#
#   scripts/engines.sh setup [SUITE...]   make the roots that are missing (default: trixie sid); as root
#   scripts/engines.sh status             one line per engine: set up or not, and its versions
#
# Roots live in $API_SESSIONS_ENGINES_DIR (default /var/cache/api-sessions/engines), outside the
# checkout, so that every clone and CI run on this machine reuses them. Setting up is idempotent:
# a root is made once (into a temporary directory, renamed when complete) and then only checked.
set -euo pipefail

DIR="${API_SESSIONS_ENGINES_DIR:-/var/cache/api-sessions/engines}"
# valgrind: `npm run bench:instructions -- --engine ...` counts instructions inside the root.
# ModSecurity and OWASP CRS: the WAF recipe's test (test/integration/waf.test.ts, nginx/waf/).
PACKAGES="nginx,libnginx-mod-http-js,njs,valgrind,libnginx-mod-http-modsecurity,modsecurity-crs"
STAMP=".api-sessions-root"

ready() { [ -f "$DIR/$1/$STAMP" ] && [ "$(cat "$DIR/$1/$STAMP")" = "$PACKAGES" ]; }

versions() {
  local root="$1"
  local nginx njs
  nginx=$(chroot "$root" /usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')
  njs=$(chroot "$root" njs -v 2>&1 | head -n1)
  echo "$nginx, njs $njs"
}

setup_one() {
  local suite="$1"
  if ready "$suite"; then
    echo "engines: $suite ready in $DIR/$suite ($(versions "$DIR/$suite"))"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "engines: making the $suite root needs root (mmdebstrap and chroot): run sudo $0 setup $suite" >&2
    return 1
  fi
  if ! command -v mmdebstrap >/dev/null; then
    echo "engines: installing mmdebstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
  fi
  mkdir -p "$DIR"
  rm -rf "$DIR/$suite.tmp"
  echo "engines: making the $suite root in $DIR/$suite (about a minute)"
  # Debian's registry serves a frozen snapshot: sid's Release file would read as expired.
  mmdebstrap --quiet --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$PACKAGES" "$suite" "$DIR/$suite.tmp"
  echo "$PACKAGES" > "$DIR/$suite.tmp/$STAMP"
  # An older root (other packages) stays usable until the new one is complete.
  rm -rf "$DIR/$suite"
  mv "$DIR/$suite.tmp" "$DIR/$suite"
  echo "engines: $suite ready ($(versions "$DIR/$suite"))"
}

status() {
  if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
    echo "debian12: $(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //'), njs $(njs -v 2>/dev/null || echo '(no njs CLI)')"
  else
    echo "debian12: not set up: apt-get install nginx-light libnginx-mod-http-js njs"
  fi
  for suite in trixie sid; do
    if ready "$suite"; then
      echo "$suite: $(versions "$DIR/$suite") in $DIR/$suite"
    else
      echo "$suite: not set up: sudo $0 setup $suite"
    fi
  done
  if ready sid; then echo "sid-qjs: the sid root with js_engine qjs"; else echo "sid-qjs: not set up: sudo $0 setup sid"; fi
}

cmd="${1:-status}"
shift || true
case "$cmd" in
  setup)
    suites=("$@")
    [ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
    for s in "${suites[@]}"; do
      case "$s" in
        trixie|sid) setup_one "$s" ;;
        sid-qjs) setup_one sid ;;
        debian12) echo "engines: debian12 is the host's nginx: apt-get install nginx-light libnginx-mod-http-js njs" ;;
        *) echo "engines: unknown suite $s (trixie, sid)" >&2; exit 2 ;;
      esac
    done
    ;;
  status) status ;;
  *) echo "usage: $0 setup [trixie|sid ...] | status" >&2; exit 2 ;;
esac
