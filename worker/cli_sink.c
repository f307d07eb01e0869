/* SPDX-License-Identifier: Apache-2.0 */
/* The command line's sink: batches as JSON lines on stdout, checkpoints in a state file. */
#include "cli_sink.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "log.h"

/* Writes data to path through a temporary file and rename, so readers see old or new. */
/* Where a file's new bytes come from: memory, or a range of another file (src_fd >= 0). */
struct file_src {
    const void *data;
    int src_fd;
    int64_t src_off;
};

/* Copies len bytes of src into fd; false with errno set when a read or write fails. */
static bool file_copy(int fd, const struct file_src *src, uint64_t len)
{
    char chunk[64 * 1024];
    uint64_t off = 0;
    while (off < len) {
        size_t want = len - off < sizeof(chunk) ? (size_t)(len - off) : sizeof(chunk);
        const char *from = src->src_fd < 0 ? (const char *)src->data + off : chunk;
        if (src->src_fd >= 0) {
            ssize_t r = pread(src->src_fd, chunk, want, (off_t)(src->src_off + (int64_t)off));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return false;
            want = (size_t)r;
        }
        ssize_t w = write(fd, from, want);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += (uint64_t)w;
    }
    return true;
}

static enum mse_rc file_replace_from(const char *path, const struct file_src *src, uint64_t len,
                                     struct mse_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot create %.300s: %s", tmp, strerror(errno));
        return MSE_ERR_IO;
    }
    bool ok = file_copy(fd, src, len) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot write %.300s: %s", path, strerror(errno));
        unlink(tmp);
        return MSE_ERR_IO;
    }
    return MSE_OK;
}

static enum mse_rc file_replace(const char *path, const void *data, size_t len, struct mse_err *err)
{
    struct file_src src = { data, -1, 0 };
    return file_replace_from(path, &src, len, err);
}

static enum mse_rc state_load(const char *path, struct sync_checkpoints *out, struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? MSE_OK : MSE_ERR_IO;
    struct mse_buf b;
    mse_buf_init(&b, 64u * 1024u * 1024u);
    char chunk[65536];
    size_t n;
    enum mse_rc rc = MSE_OK;
    while (rc == MSE_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = mse_buf_append(&b, chunk, n);
    fclose(f);
    cJSON *j = rc == MSE_OK ? cJSON_Parse(b.data ? b.data : "") : NULL;
    mse_buf_cleanup(&b);
    if (rc == MSE_OK && !j) {
        snprintf(err->msg, sizeof(err->msg), "%.300s is not JSON", path);
        rc = MSE_ERR_INVALID;
    }
    if (rc == MSE_OK)
        rc = sync_checkpoints_from_json(j, out, err);
    cJSON_Delete(j);
    return rc;
}

static enum mse_rc state_save(const struct cli_sink *s, struct mse_err *err)
{
    if (!s->state_path)
        return MSE_OK;
    cJSON *j = sync_checkpoints_to_json(&s->stored);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return MSE_ERR_NOMEM;
    enum mse_rc rc = file_replace(s->state_path, text, strlen(text), err);
    free(text);
    return rc;
}

static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Applies the accepted batch to the stored checkpoints. */
static enum mse_rc stored_advance(struct cli_sink *s, const cJSON *batch, const char *folder_id)
{
    enum mse_rc rc =
            sync_checkpoints_set(&s->stored, folder_id, str_member(batch, "new_checkpoint"));
    const cJSON *folders = folder_id ? NULL : cJSON_GetObjectItemCaseSensitive(batch, "folders");
    const cJSON *f;
    cJSON_ArrayForEach(f, folders)
    {
        const char *change = str_member(f, "change");
        const char *id = str_member(f, "folder_id");
        if (rc == MSE_OK && id && change && strcmp(change, "delete") == 0)
            rc = sync_checkpoints_set(&s->stored, id, NULL);
    }
    return rc;
}

/* Holds an exclusive lock on STATE.lock while a batch is checked and stored; -1 on failure. */
static int state_lock(const char *state_path, struct mse_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s.lock", state_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) == 0)
        return fd;
    snprintf(err->msg, sizeof(err->msg), "cannot lock %.300s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Checks the base against the store, prints the batch, stores its checkpoint. */
static enum mse_rc batch_store(struct cli_sink *s, const cJSON *batch, struct mse_err *err)
{
    const char *folder_id = str_member(batch, "folder_id");
    const char *base = str_member(batch, "base_checkpoint");
    const char *stored = sync_checkpoints_get(&s->stored, folder_id);
    if ((base == NULL) != (stored == NULL) || (base && strcmp(base, stored) != 0)) {
        snprintf(err->msg, sizeof(err->msg), "base checkpoint of %s %s differs from the stored one",
                 folder_id ? "folder" : "the hierarchy", folder_id ? folder_id : "");
        return MSE_ERR_CONFLICT;
    }
    /* {"batch": …}: the batch printed as it is (a copy inside a wrapper object would cost a
       third of the sink's time). */
    char *text = cJSON_PrintUnformatted(batch);
    if (!text)
        return MSE_ERR_NOMEM;
    /* Printed first: a crash before the state is saved repeats the batch, never loses it. */
    fprintf(s->out, "{\"batch\":%s}\n", text);
    fflush(s->out);
    free(text);
    enum mse_rc rc = stored_advance(s, batch, folder_id);
    if (rc == MSE_OK)
        rc = state_save(s, err);
    return rc;
}

static enum mse_rc sink_submit(void *ctx, const cJSON *batch, struct mse_err *err)
{
    struct cli_sink *s = ctx;
    if (!s->state_path)
        return batch_store(s, batch, err);
    /* The file is the store: read it again, so another process's progress is seen. */
    int fd = state_lock(s->state_path, err);
    if (fd < 0)
        return MSE_ERR_IO;
    struct sync_checkpoints now;
    enum mse_rc rc = state_load(s->state_path, &now, err);
    if (rc == MSE_OK) {
        sync_checkpoints_cleanup(&s->stored);
        s->stored = now;
        rc = batch_store(s, batch, err);
    }
    close(fd); /* releases the lock */
    return rc;
}

/* Stores content under its hash in the content directory (if any) and prints its line. */
static enum mse_rc content_put(struct cli_sink *s, const char *sha256, const char *content_type,
                               const struct file_src *src, uint64_t len, struct mse_err *err)
{
    if (s->content_dir) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", s->content_dir, sha256);
        if (stat(path, &st) != 0) { /* content-addressed: present means identical */
            enum mse_rc rc = file_replace_from(path, src, len, err);
            if (rc != MSE_OK)
                return rc;
        }
    }
    cJSON *line = cJSON_CreateObject();
    cJSON *c = line ? cJSON_AddObjectToObject(line, "content") : NULL;
    char *text = NULL;
    if (c && cJSON_AddStringToObject(c, "sha256", sha256) &&
        (content_type ? cJSON_AddStringToObject(c, "content_type", content_type)
                      : cJSON_AddNullToObject(c, "content_type")) &&
        cJSON_AddNumberToObject(c, "size", (double)len))
        text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!text)
        return MSE_ERR_NOMEM;
    fprintf(s->out, "%s\n", text);
    fflush(s->out);
    free(text);
    return MSE_OK;
}

static enum mse_rc sink_put_content(void *ctx, const char *sha256, const char *content_type,
                                    const uint8_t *data, size_t len, struct mse_err *err)
{
    char check[MSE_SHA256_HEX_LEN + 1];
    mse_crypto_sha256_hex(data, len, check);
    if (strcmp(check, sha256) != 0) {
        snprintf(err->msg, sizeof(err->msg), "content does not match its hash");
        return MSE_ERR_INVALID;
    }
    struct file_src src = { data, -1, 0 };
    return content_put(ctx, sha256, content_type, &src, len, err);
}

/* MIME content from the engine's spool, copied piece by piece (it may be larger than memory). */
static enum mse_rc sink_put_content_file(void *ctx, const char *sha256, const char *content_type,
                                         int fd, int64_t offset, uint64_t len, struct mse_err *err)
{
    struct file_src src = { NULL, fd, offset };
    return content_put(ctx, sha256, content_type, &src, len, err);
}

static void sink_progress(void *ctx, const char *command, const char *detail)
{
    (void)ctx;
    LOG_INFO(NULL, "progress: %s — %s", command, detail);
}

enum mse_rc cli_sink_open(struct cli_sink *sink, const char *state_path, const char *content_dir,
                          FILE *out, struct sync_checkpoints *start, struct mse_err *err)
{
    memset(sink, 0, sizeof(*sink));
    memset(start, 0, sizeof(*start));
    sink->state_path = state_path;
    sink->content_dir = content_dir;
    sink->out = out;
    enum mse_rc rc = state_path ? state_load(state_path, &sink->stored, err) : MSE_OK;
    if (rc == MSE_ERR_IO)
        snprintf(err->msg, sizeof(err->msg), "cannot read %.300s: %s", state_path, strerror(errno));
    if (rc != MSE_OK)
        return rc;
    /* The engine gets its own copy: it advances it as batches are accepted. */
    cJSON *j = sync_checkpoints_to_json(&sink->stored);
    rc = j ? sync_checkpoints_from_json(j, start, err) : MSE_ERR_NOMEM;
    cJSON_Delete(j);
    if (rc != MSE_OK)
        sync_checkpoints_cleanup(&sink->stored);
    return rc;
}

void cli_sink_close(struct cli_sink *sink)
{
    if (sink)
        sync_checkpoints_cleanup(&sink->stored);
}

struct sync_sink cli_sink_interface(struct cli_sink *sink)
{
    return (struct sync_sink){ .ctx = sink,
                               .submit = sink_submit,
                               .put_content = sink_put_content,
                               .put_content_file = sink_put_content_file,
                               .progress = sink_progress };
}
