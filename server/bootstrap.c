/* SPDX-License-Identifier: Apache-2.0 */
/* The first admin API client on an empty database: from the environment, or generated. */
#include "bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "config_server.h"
#include "crypto.h"
#include "db.h"
#include "db_audit.h"
#include "db_auth.h"
#include "db_client.h"
#include "log.h"

/* Writes the generated credentials to a 0600 file via a temporary name, then renames it. */
static enum mse_rc file_write(const char *dir, const char *id, const char *secret,
                              struct mse_err *err)
{
    char path[4096], tmp[4200];
    struct mse_buf b;
    snprintf(path, sizeof(path), "%s/%s", dir, BOOTSTRAP_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    mse_buf_init(&b, 1024);
    enum mse_rc rc =
            mse_buf_printf(&b, "{\"client_id\":\"%s\",\"client_secret\":\"%s\"}\n", id, secret);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = MSE_ERR_IO;
    int fd = rc == MSE_OK ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, b.data, b.len) != (ssize_t)b.len ||
        fsync(fd) != 0)
        rc = MSE_ERR_IO;
    if (fd >= 0 && close(fd) != 0)
        rc = MSE_ERR_IO;
    if (rc == MSE_OK && rename(tmp, path) != 0)
        rc = MSE_ERR_IO;
    if (rc != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "cannot write %.400s: %s", path, strerror(errno));
        unlink(tmp);
    }
    mse_buf_cleanup(&b);
    return rc;
}

/* Creates the client and its audit event inside the caller's transaction. */
static enum mse_rc client_create(struct db *db, const char *id, const char *secret,
                                 struct mse_err *err)
{
    char hash[AUTH_HASH_MAX], uuid[37];
    struct db_error dberr;
    struct db_doc doc = { 0 };
    enum mse_rc rc = mse_crypto_password_hash(secret, 0, hash, sizeof(hash));
    struct db_client_new n = { .client_id = id,
                               .name = "bootstrap admin",
                               .role = "admin",
                               .secret_hash = hash,
                               .actor = "bootstrap" };
    if (rc == MSE_OK)
        rc = db_client_insert(db, &n, uuid, &dberr);
    if (rc == MSE_OK)
        rc = db_client_get(db, uuid, false, &doc, &dberr);
    struct audit_event e = { "api_client.create", "api_client", uuid, NULL, doc.json };
    if (rc == MSE_OK)
        rc = db_audit_insert(db, NULL, "bootstrap", NULL, &e, &dberr);
    if (rc != MSE_OK && !err->msg[0])
        snprintf(err->msg, sizeof(err->msg), "cannot create the bootstrap client: %s",
                 dberr.message);
    db_doc_cleanup(&doc);
    return rc;
}

/* Fills id and secret from the configuration, or generates them (*generated = true). */
static enum mse_rc credentials_choose(const struct server_config *cfg, char *id, char *secret,
                                      bool *generated)
{
    char unused_hash[AUTH_HASH_MAX];
    *generated = !cfg->bootstrap_client_id;
    if (!*generated) {
        snprintf(id, MSE_MAX_CLIENT_ID + 1, "%s", cfg->bootstrap_client_id);
        snprintf(secret, MSE_MAX_CLIENT_SECRET + 1, "%s", cfg->bootstrap_client_secret);
        return MSE_OK;
    }
    enum mse_rc rc = auth_client_id_new(id);
    if (rc == MSE_OK)
        rc = auth_secret_new(secret, unused_hash);
    return rc;
}

enum mse_rc bootstrap_run(struct db *db, const struct server_config *cfg, struct mse_err *err)
{
    char id[MSE_MAX_CLIENT_ID + 1] = "", secret[MSE_MAX_CLIENT_SECRET + 1] = "";
    struct db_error dberr;
    bool any = true, generated = false;
    memset(&dberr, 0, sizeof(dberr));
    err->msg[0] = '\0';
    enum mse_rc rc = db_begin(db, &dberr);
    if (rc == MSE_OK)
        rc = db_auth_bootstrap_lock(db, &dberr);
    if (rc == MSE_OK)
        rc = db_auth_any_client(db, &any, &dberr);
    if (rc == MSE_OK && !any)
        rc = credentials_choose(cfg, id, secret, &generated);
    if (rc == MSE_OK && !any)
        rc = client_create(db, id, secret, err);
    /* The file first: if COMMIT then fails, the next start simply writes a new one. */
    if (rc == MSE_OK && !any && generated)
        rc = file_write(cfg->data_dir, id, secret, err);
    if (rc == MSE_OK)
        rc = db_commit(db, &dberr);
    if (rc == MSE_OK && !any) {
        LOG_INFO(NULL, "created the bootstrap admin client %s", id);
        if (generated) {
            printf("mse-server: created the first admin API client (shown only now; also in "
                   "%s/%s)\n  client_id:     %s\n  client_secret: %s\n",
                   cfg->data_dir, BOOTSTRAP_FILE, id, secret);
            fflush(stdout);
        }
    }
    memset(secret, 0, sizeof(secret));
    if (rc != MSE_OK) {
        db_rollback(db);
        if (!err->msg[0])
            snprintf(err->msg, sizeof(err->msg), "bootstrap failed: %s", dberr.message);
    }
    return rc;
}
