/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of Sync & Recover server connections: reach Exchange as configured, report the outcome. */
#ifndef MSE_CONN_TEST_H
#define MSE_CONN_TEST_H

#include <stdatomic.h>
#include <stdbool.h>

#include "ews.h"
#include "mse/rc.h"

struct cJSON;
struct srv_client;

/*
 * A server connection's settings ({"ews_url", "authentication", "service_account", "secret",
 * "impersonation", "tls_verify"}, as a connection test or a sync task's claim carries them)
 * laid over base (timeouts, retries, caps, user agent). The strings stay conn's. False when
 * the URL, account or a known authentication is missing.
 */
bool conn_test_config(const struct cJSON *conn, const struct ews_config *base,
                      struct ews_config *cfg);

/*
 * Asks the server for the site's pending connection tests and runs the oldest one: GetFolder
 * of the inbox of the test's mailbox (else the service account's own), through the
 * connection's URL, credentials, impersonation and TLS settings laid over base (timeouts,
 * retries, user agent); then posts ok, latency, the
 * version the server states (ServerVersionInfo) and Exchange's exact error. One test per call,
 * with at most one attempt, so that a heartbeat is delayed by one EWS timeout at most.
 */
enum mse_rc conn_test_poll(struct srv_client *srv, const struct ews_config *base,
                           const char *worker_id, const atomic_bool *stop,
                           struct mse_err *err) MSE_WUR;

#endif
