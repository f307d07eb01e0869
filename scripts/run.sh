#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: PostgreSQL under ./.var, ews-sim with the demo organisation, mse-server on
# MSE_LISTEN (127.0.0.1:8080), a demo configuration seeded on first start and a worker for its
# site, in the foreground until Ctrl-C or SIGTERM, which stop everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Overridable so that a test can run `make run` over its own build and state directory.
var=${MSE_RUN_VAR:-$root/.var}
bin=${MSE_RUN_BIN:-build}
mkdir -p "$var/log" "$var/data"
chmod 700 "$var/data"

listen=${MSE_LISTEN:-127.0.0.1:8080}
pids=()
own_pg=""

stopping=""
stop_all() {
  # Ignored, not reset: a second signal (make forwards SIGTERM to us, and a signal to the
  # process group reaches us too) must not kill the script before PostgreSQL is stopped.
  trap '' INT TERM
  trap - EXIT
  # Bash runs traps re-entrantly: a second signal that arrived before the line above runs
  # this function again inside the first call, and the outer call then has nothing to do.
  [ -z "$stopping" ] || return 0
  stopping=1
  echo
  echo "run: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$own_pg" ]; then scripts/pg.sh stop "$var/pg" || true; fi
  echo "run: stopped"
}
trap stop_all EXIT
# Stop from the signal's own trap: an `exit` here would run stop_all from the EXIT trap, where
# a second signal's `exit` would end the script half-way through stopping.
trap 'stop_all; exit 0' INT TERM

if [ -z "${MSE_DATABASE_URL:-}" ]; then
  echo "run: starting PostgreSQL in $var/pg"
  MSE_DATABASE_URL=$(scripts/pg.sh start "$var/pg")
  own_pg=1
fi
# The demo's API reference is for a browser, which cannot send a bearer token.
export MSE_DATABASE_URL MSE_LISTEN=$listen MSE_DATA_DIR=${MSE_DATA_DIR:-$var/data} \
  MSE_DOCS_PUBLIC=${MSE_DOCS_PUBLIC:-true}

# --- ews-sim: the demo organisation's Exchange (EWS_SIM_* pass through) ---
sim_listen=${EWS_SIM_LISTEN:-127.0.0.1:8081}
sim_account=${EWS_SIM_SERVICE_ACCOUNT:-svc-mse@contoso.example:demo-service-password}
# The sim keeps its SyncState key under .var: a restarted demo keeps its workers' sync states.
sim_env=(EWS_SIM_LISTEN="$sim_listen" EWS_SIM_SERVICE_ACCOUNT="$sim_account"
         EWS_SIM_DATA_DIR="${EWS_SIM_DATA_DIR:-$var/ews-sim}")
if [ -z "${EWS_SIM_GENERATE:-}" ]; then
  sim_env+=(EWS_SIM_FIXTURE="${EWS_SIM_FIXTURE:-$root/ewssim/fixtures/demo.json}")
fi
env "${sim_env[@]}" "$bin"/ewssim/ews-sim >>"$var/log/ews-sim.log" 2>&1 &
sim_pid=$!
pids+=("$sim_pid")
for _ in $(seq 1 300); do
  if curl -fsS "http://$sim_listen/_sim/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "run: ews-sim exited; last lines of $var/log/ews-sim.log:" >&2
    tail -n 20 "$var/log/ews-sim.log" >&2
    exit 1
  fi
  sleep 0.1
done
# --- end ews-sim ---

# --- slapd: the demo organisation's Active Directory (docs/directory.md) ---
ldap_listen=${MSE_DEMO_LDAP_LISTEN:-127.0.0.1:8389}
/usr/bin/python3 scripts/demo_directory.py "$var/ldap" "ldap://$ldap_listen" \
  >>"$var/log/slapd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  if ldapsearch -x -H "ldap://$ldap_listen" -b dc=contoso,dc=example -s base 1.1 \
    >/dev/null 2>&1; then break; fi
  sleep 0.1
done
# --- end slapd ---

"$bin"/server/mse-server >>"$var/log/server.log" 2>&1 &
pids+=($!)
server_pid=$!

base=http://$listen
for _ in $(seq 1 600); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run: mse-server exited; last lines of $var/log/server.log:" >&2
    tail -n 20 "$var/log/server.log" >&2
    exit 1
  fi
  sleep 0.1
done

# The first admin API client: from the environment, or the one mse-server generated on its
# first start (it writes it to bootstrap-admin.json in MSE_DATA_DIR, mode 0600).
client_id=${MSE_BOOTSTRAP_CLIENT_ID:-}
client_secret=${MSE_BOOTSTRAP_CLIENT_SECRET:-}
creds_from="MSE_BOOTSTRAP_CLIENT_ID / MSE_BOOTSTRAP_CLIENT_SECRET"
creds_file=$MSE_DATA_DIR/bootstrap-admin.json
if [ -z "$client_id" ] && [ -r "$creds_file" ]; then
  client_id=$(sed -E 's/.*"client_id":"([^"]*)".*/\1/' "$creds_file")
  client_secret=$(sed -E 's/.*"client_secret":"([^"]*)".*/\1/' "$creds_file")
  creds_from=$creds_file
fi

# --- the demo: a configuration seeded once, and a worker for the demo site ---
demo_state=$MSE_DATA_DIR/demo-site.json
worker_line="  mse-worker   (no demo: MSE_DEMO=0, or the admin credentials are unknown)"
if [ "${MSE_DEMO:-1}" != 0 ] && [ -n "$client_id" ]; then
  /usr/bin/python3 scripts/demo_seed.py "$base" "$client_id" "$client_secret" "$demo_state" \
    "ldap://$ldap_listen" "http://$sim_listen/EWS/Exchange.asmx" "$sim_account"
  MSE_WORKER_SERVER_URL=$base \
  MSE_WORKER_SITE_CLIENT_ID=$(sed -E 's/.*"client_id": "([^"]*)".*/\1/' "$demo_state") \
  MSE_WORKER_SITE_CLIENT_SECRET_FILE=$demo_state.secret \
  MSE_WORKER_EWS_URL=http://$sim_listen/EWS/Exchange.asmx \
  MSE_WORKER_EWS_USERNAME=${sim_account%%:*} \
  MSE_WORKER_EWS_PASSWORD=${sim_account#*:} \
    "$bin"/worker/mse-worker >>"$var/log/worker.log" 2>&1 &
  pids+=($!)
  worker_line="  mse-worker   site demo-site, EWS via ews-sim   log: $var/log/worker.log"
fi

cat <<TXT

MSE is running (Ctrl-C stops everything):
  mse-server   $base            log: $var/log/server.log
  PostgreSQL   ${MSE_DATABASE_URL}
  ews-sim      http://$sim_listen/EWS/Exchange.asmx   log: $var/log/ews-sim.log
               service account ${sim_account%%:*} (password: ${sim_account#*:})
  slapd        ldap://$ldap_listen (Active Directory of the demo)   log: $var/log/slapd.log
$worker_line

Admin API client (from $creds_from):
  client_id      ${client_id:-"(unknown: the database had clients before; see the README)"}
  client_secret  ${client_secret:-"(unknown)"}

Try:
  curl -s $base/healthz
  TOKEN=\$(curl -s -u '$client_id:$client_secret' -d grant_type=client_credentials \\
          $base/api/v1/oauth/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -s -H "Authorization: Bearer \$TOKEN" $base/api/v1/sites
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"name": "site-1"}' $base/api/v1/sites
  curl -s -H "Authorization: Bearer \$TOKEN" $base/api/v1/exchange-tasks
  curl -s -H "Authorization: Bearer \$TOKEN" $base/api/v1/sync-tasks
  curl -s -H "Authorization: Bearer \$TOKEN" "$base/api/v1/archive/search?q=numbers"
  curl -s -H "Authorization: Bearer \$TOKEN" $base/api/v1/mailboxes
  curl -s http://$sim_listen/_sim/mailboxes
Console:       $base/console/  (sign in with the admin API client above)
API reference: $base/docs
TXT

wait "$server_pid"
