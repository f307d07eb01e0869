#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building, running, testing and benchmarking MSE need, and nothing when all is
# present. Called by `make run`, `make test` and `make bench`; safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian 12 packages. Keep sorted; say why when a package is not obvious.
packages=(
  build-essential cmake pkg-config git ca-certificates curl procps tzdata
  libmicrohttpd-dev libcjson-dev libpq-dev libcurl4-openssl-dev libssl-dev uuid-dev
  libxml2-dev libxml2-utils libcmocka-dev
  libglib2.0-dev                     # GTimeZone/GDateTime: schedule times across DST changes
  libgmime-3.0-dev                   # MIME parsing of journaled messages, ews-sim CreateItem
  libarchive-dev                     # exports: ZIP archives written as they stream
  libical-dev                        # exports: iCalendar (RFC 5545) of archived calendars
  libldap-dev                        # RFC 4514 DN checks; the worker's Active Directory client
  slapd ldap-utils                   # the tests' private directory (slapadd, ldapmodify, ldapsearch)
  openssl                            # the tests' directory's TLS certificate
  postfix                            # the journal end-to-end test's MTA (a private instance)
  postgresql postgresql-contrib      # embedded cluster, pgbench
  prometheus                         # promtool: the tests lint /metrics and the alerting rules
  clang clang-format                 # format check; libFuzzer targets
  libclang-rt-dev                    # libFuzzer + sanitizer runtimes for clang (a Recommends only)
  python3 python3-pytest python3-requests python3-yaml python3-jsonschema python3-psycopg2
  python3-icalendar                  # an independent parser of the exports' iCalendar
  python3-exchangelib                # third-party EWS client that drives ews-sim in tests
  python3-msal                       # third-party OAuth2 client that gets ews-sim Graph tokens
  wrk                                # HTTP load for make bench
  time                               # GNU time: peak RSS of the processes make bench runs
  jq                                 # the README's API session (run by the tests)
  nodejs npm                         # OpenAPI lint and docs bundle (see package.json)
  chromium                           # the console's browser tests (headless, puppeteer-core)
)

missing=()
for p in "${packages[@]}"; do
  # Node may come from elsewhere than Debian; what matters is that the commands exist.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Debian's packages must not start the system-wide PostgreSQL: MSE runs its own clusters.
  if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Postfix is installed for the tests' private instances only: no system mail configuration,
  # and (policy-rc.d above) no system daemon started.
  echo "postfix postfix/main_mailer_type select No configuration" | \
    "${sudo[@]}" debconf-set-selections
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq && \
         "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "deps: apt-get failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

# npm tools, pinned by package-lock.json; reinstalled only when the lockfile changes.
if [ -f package-lock.json ]; then
  stamp=node_modules/.mse-lock-sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "deps: installing npm tools from package-lock.json"
    SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" > "$stamp"
  fi
fi
