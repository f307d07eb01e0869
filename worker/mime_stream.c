/* SPDX-License-Identifier: Apache-2.0 */
/* A GetItem response read as it arrives: MimeContent decoded, hashed and spooled, the rest kept. */
#include "mime_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "ews_xml.h"
#include "mse/limits.h"

/* Base64 handed to the decoder at once, and room for what it yields (it holds back a line). */
#define MIME_B64_SLICE (48u * 1024u)
#define MIME_OUT_ROOM  (MIME_B64_SLICE / 4u * 3u + 128u)
/* Decoded bytes gathered before one write to the spool. */
#define MIME_WRITE_SIZE (64u * 1024u)

struct mime_stream_impl {
    xmlParserCtxtPtr ctxt;
    EVP_ENCODE_CTX *dec;
    EVP_MD_CTX *md;
    bool in_mime;       /* inside a t:MimeContent element */
    int depth;          /* element depth of the parser's position */
    int messages_depth; /* depth of m:ResponseMessages, -1 outside it */
    int message;        /* index of the ResponseMessage being read, -1 before the first */
    struct mime_extent cur;
    uint64_t fed;  /* response bytes handed over */
    uint64_t b64;  /* of those, MimeContent text */
    xmlChar *dump; /* the kept document, serialised */
    unsigned char out[MIME_OUT_ROOM];
    unsigned char wbuf[MIME_WRITE_SIZE];
    size_t wlen;
};

void mime_stream_init(struct mime_stream *ms, const char *spool_dir, uint64_t max_mime,
                      size_t max_rest)
{
    memset(ms, 0, sizeof(*ms));
    ms->fd = -1;
    ms->max_mime = max_mime;
    ms->max_rest = max_rest ? max_rest : MSE_EWS_MAX_RESPONSE_DEFAULT;
    ms->spool_dir = spool_dir;
}

/* Records the first failure; later ones are its consequences. */
static enum mse_rc fail(struct mime_stream *ms, enum mse_rc rc, const char *fmt, ...)
        MSE_PRINTF(3, 4);
static enum mse_rc fail(struct mime_stream *ms, enum mse_rc rc, const char *fmt, ...)
{
    if (ms->rc != MSE_OK)
        return ms->rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ms->err, sizeof(ms->err), fmt, ap);
    va_end(ap);
    ms->rc = rc;
    if (ms->p && ms->p->ctxt)
        xmlStopParser(ms->p->ctxt); /* no further callbacks for this response */
    return rc;
}

static void parser_free(struct mime_stream_impl *p)
{
    if (p->ctxt) {
        xmlFreeDoc(p->ctxt->myDoc);
        p->ctxt->myDoc = NULL;
        xmlFreeParserCtxt(p->ctxt);
        p->ctxt = NULL;
    }
    xmlFree(p->dump);
    p->dump = NULL;
}

void mime_stream_cleanup(struct mime_stream *ms)
{
    if (!ms)
        return;
    if (ms->p) {
        parser_free(ms->p);
        EVP_ENCODE_CTX_free(ms->p->dec);
        EVP_MD_CTX_free(ms->p->md);
        free(ms->p);
    }
    if (ms->fd >= 0)
        close(ms->fd);
    free(ms->v);
    ms->p = NULL;
    ms->v = NULL;
    ms->fd = -1;
}

static struct mime_stream *stream_of(void *ctx)
{
    return ((xmlParserCtxtPtr)ctx)->_private;
}

static enum mse_rc spool_flush(struct mime_stream *ms)
{
    struct mime_stream_impl *p = ms->p;
    size_t done = 0;
    while (done < p->wlen) {
        ssize_t k = write(ms->fd, p->wbuf + done, p->wlen - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return fail(ms, MSE_ERR_IO, "cannot write the MIME spool: %s", strerror(errno));
        done += (size_t)k;
    }
    p->wlen = 0;
    return MSE_OK;
}

/* Decoded bytes: into the digest and, through the write buffer, into the spool. */
static enum mse_rc decoded(struct mime_stream *ms, const unsigned char *b, size_t n)
{
    struct mime_stream_impl *p = ms->p;
    p->cur.size += n;
    if (ms->max_mime && p->cur.size > ms->max_mime)
        return fail(ms, MSE_ERR_TOO_LARGE, "a message's MIME content exceeds %llu bytes",
                    (unsigned long long)ms->max_mime);
    if (EVP_DigestUpdate(p->md, b, n) != 1)
        return fail(ms, MSE_ERR_NOMEM, "SHA-256 failed");
    while (n) {
        size_t k = sizeof(p->wbuf) - p->wlen < n ? sizeof(p->wbuf) - p->wlen : n;
        memcpy(p->wbuf + p->wlen, b, k);
        p->wlen += k;
        b += k;
        n -= k;
        ms->end += (off_t)k;
        if (p->wlen == sizeof(p->wbuf) && spool_flush(ms) != MSE_OK)
            return ms->rc;
    }
    return MSE_OK;
}

static void mime_text(struct mime_stream *ms, const xmlChar *ch, int len)
{
    struct mime_stream_impl *p = ms->p;
    p->b64 += (uint64_t)len;
    /* OpenSSL's decoder takes '-' as the end of a PEM block and drops what follows it. */
    if (memchr(ch, '-', (size_t)len)) {
        fail(ms, MSE_ERR_INVALID, "invalid base64 in the MimeContent of response message %d",
             p->message);
        return;
    }
    while (len > 0 && ms->rc == MSE_OK) {
        int k = len > (int)MIME_B64_SLICE ? (int)MIME_B64_SLICE : len;
        int outl = 0;
        if (EVP_DecodeUpdate(p->dec, p->out, &outl, ch, k) < 0) {
            fail(ms, MSE_ERR_INVALID, "invalid base64 in the MimeContent of response message %d",
                 p->message);
            return;
        }
        if (decoded(ms, p->out, (size_t)outl) != MSE_OK)
            return;
        ch += k;
        len -= k;
    }
}

static void on_characters(void *ctx, const xmlChar *ch, int len)
{
    struct mime_stream *ms = stream_of(ctx);
    if (ms->rc != MSE_OK)
        return;
    if (ms->p->in_mime)
        mime_text(ms, ch, len);
    else
        xmlSAX2Characters(ctx, ch, len);
}

static void mime_open(struct mime_stream *ms)
{
    struct mime_stream_impl *p = ms->p;
    p->in_mime = true;
    p->cur = (struct mime_extent){ .message = p->message < 0 ? UINT_MAX : (unsigned)p->message,
                                   .offset = ms->end };
    EVP_DecodeInit(p->dec);
    if (EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1)
        fail(ms, MSE_ERR_NOMEM, "SHA-256 failed");
}

static void mime_close(struct mime_stream *ms)
{
    struct mime_stream_impl *p = ms->p;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int outl = 0;
    p->in_mime = false;
    /* A final group of fewer than four characters is a cut-off or damaged encoding. */
    if (EVP_DecodeFinal(p->dec, p->out, &outl) < 0) {
        fail(ms, MSE_ERR_INVALID,
             "the MimeContent of response message %d is not complete base64 (length)", p->message);
        return;
    }
    if (decoded(ms, p->out, (size_t)outl) != MSE_OK)
        return;
    if (EVP_DigestFinal_ex(p->md, md, &mdlen) != 1 || mdlen != 32) {
        fail(ms, MSE_ERR_NOMEM, "SHA-256 failed");
        return;
    }
    mse_crypto_hex(md, mdlen, p->cur.sha256);
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 16;
        struct mime_extent *v = realloc(ms->v, cap * sizeof(*v));
        if (!v) {
            fail(ms, MSE_ERR_NOMEM, "out of memory");
            return;
        }
        ms->v = v;
        ms->cap = cap;
    }
    ms->v[ms->n++] = p->cur;
}

static bool name_is(const xmlChar *uri, const xmlChar *local, const char *ns, const char *name)
{
    return uri && xmlStrEqual(uri, BAD_CAST ns) && xmlStrEqual(local, BAD_CAST name);
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                     int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attr)
{
    struct mime_stream *ms = stream_of(ctx);
    struct mime_stream_impl *p = ms->p;
    if (ms->rc != MSE_OK)
        return;
    p->depth++;
    if (p->in_mime) {
        fail(ms, MSE_ERR_INVALID, "an element inside MimeContent");
        return;
    }
    if (name_is(uri, local, EWS_NS_M, "ResponseMessages"))
        p->messages_depth = p->depth;
    else if (p->messages_depth >= 0 && p->depth == p->messages_depth + 1)
        p->message++;
    xmlSAX2StartElementNs(ctx, local, prefix, uri, nb_ns, ns, nb_attr, nb_def, attr);
    if (name_is(uri, local, EWS_NS_T, "MimeContent"))
        mime_open(ms);
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    struct mime_stream *ms = stream_of(ctx);
    struct mime_stream_impl *p = ms->p;
    if (ms->rc != MSE_OK)
        return;
    if (p->in_mime)
        mime_close(ms);
    if (p->depth == p->messages_depth)
        p->messages_depth = -1;
    p->depth--;
    xmlSAX2EndElementNs(ctx, local, prefix, uri);
}

/* libxml2's first message, instead of its default output on stderr. */
static void on_error(void *ud, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = ud;
    struct mime_stream *ms = ctxt ? ctxt->_private : NULL;
    if (!ms || !e || e->level < XML_ERR_ERROR || ms->err[0])
        return;
    snprintf(ms->err, sizeof(ms->err), "malformed XML at line %d: %.180s", e->line,
             e->message ? e->message : "?");
    size_t n = strlen(ms->err);
    while (n && (ms->err[n - 1] == '\n' || ms->err[n - 1] == ' '))
        ms->err[--n] = '\0';
}

static enum mse_rc spool_open(struct mime_stream *ms)
{
    if (ms->fd >= 0) {
        if (ftruncate(ms->fd, 0) != 0 || lseek(ms->fd, 0, SEEK_SET) != 0)
            return fail(ms, MSE_ERR_IO, "cannot empty the MIME spool: %s", strerror(errno));
        return MSE_OK;
    }
    const char *dir = ms->spool_dir ? ms->spool_dir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    /* Unnamed from the start where the file system allows it: a crash leaves nothing behind. */
    ms->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (ms->fd < 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/mse-mime-XXXXXX", dir);
        ms->fd = mkostemp(path, O_CLOEXEC);
        if (ms->fd >= 0)
            unlink(path);
    }
    if (ms->fd < 0)
        return fail(ms, MSE_ERR_IO, "cannot create a MIME spool file in %s: %s", dir,
                    strerror(errno));
    return MSE_OK;
}

static enum mse_rc impl_new(struct mime_stream *ms)
{
    if (ms->p)
        return MSE_OK;
    ms->p = calloc(1, sizeof(*ms->p));
    if (ms->p) {
        ms->p->dec = EVP_ENCODE_CTX_new();
        ms->p->md = EVP_MD_CTX_new();
    }
    if (!ms->p || !ms->p->dec || !ms->p->md)
        return fail(ms, MSE_ERR_NOMEM, "out of memory");
    return MSE_OK;
}

enum mse_rc mime_stream_begin(struct mime_stream *ms)
{
    ms->rc = MSE_OK;
    ms->err[0] = '\0';
    ms->n = 0;
    ms->end = 0;
    if (impl_new(ms) != MSE_OK || spool_open(ms) != MSE_OK)
        return ms->rc;
    struct mime_stream_impl *p = ms->p;
    parser_free(p);
    p->in_mime = false;
    p->depth = 0;
    p->messages_depth = -1;
    p->message = -1;
    p->fed = p->b64 = 0;
    p->wlen = 0;
    xmlSAXHandler sax;
    memset(&sax, 0, sizeof(sax));
    xmlSAXVersion(&sax, 2); /* the tree builder, with three callbacks of ours in front */
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_characters;
    sax.ignorableWhitespace = on_characters;
    sax.cdataBlock = on_characters;
    sax.serror = on_error;
    p->ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL);
    if (!p->ctxt)
        return fail(ms, MSE_ERR_NOMEM, "out of memory");
    p->ctxt->_private = ms;
    /* Big text is allowed through (it never reaches the tree); nothing is fetched. */
    xmlCtxtUseOptions(p->ctxt,
                      XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    return MSE_OK;
}

static enum mse_rc parse_judge(struct mime_stream *ms, int ret)
{
    if (ms->rc != MSE_OK)
        return ms->rc;
    if (ret != 0 || !ms->p->ctxt->wellFormed) {
        char why[sizeof(ms->err)]; /* libxml2's message, if it gave one */
        snprintf(why, sizeof(why), "%s", ms->err[0] ? ms->err : "malformed XML in the response");
        return fail(ms, MSE_ERR_INVALID, "%s", why);
    }
    struct mime_stream_impl *p = ms->p;
    if (p->fed - p->b64 > ms->max_rest)
        return fail(ms, MSE_ERR_TOO_LARGE, "the response outside MIME content exceeds %zu bytes",
                    ms->max_rest);
    return MSE_OK;
}

enum mse_rc mime_stream_feed(struct mime_stream *ms, const char *data, size_t n)
{
    if (ms->rc != MSE_OK)
        return ms->rc;
    if (!ms->p || !ms->p->ctxt)
        return fail(ms, MSE_ERR_INVALID, "mime_stream_feed before mime_stream_begin");
    while (n) {
        /* xmlParseChunk takes an int. */
        int k = n > (1u << 20) ? (1 << 20) : (int)n;
        ms->p->fed += (uint64_t)k;
        int ret = xmlParseChunk(ms->p->ctxt, data, k, 0);
        if (parse_judge(ms, ret) != MSE_OK)
            return ms->rc;
        data += k;
        n -= (size_t)k;
    }
    return MSE_OK;
}

enum mse_rc mime_stream_finish(struct mime_stream *ms, const char **xml, size_t *len)
{
    *xml = NULL;
    *len = 0;
    if (ms->rc != MSE_OK)
        return ms->rc;
    if (!ms->p || !ms->p->ctxt)
        return fail(ms, MSE_ERR_INVALID, "mime_stream_finish before mime_stream_begin");
    struct mime_stream_impl *p = ms->p;
    int ret = xmlParseChunk(p->ctxt, NULL, 0, 1);
    if (parse_judge(ms, ret) != MSE_OK)
        return ms->rc;
    if (p->in_mime || !p->ctxt->myDoc)
        return fail(ms, MSE_ERR_INVALID, "the response ends early");
    if (spool_flush(ms) != MSE_OK)
        return ms->rc;
    int n = 0;
    xmlDocDumpMemory(p->ctxt->myDoc, &p->dump, &n);
    if (!p->dump)
        return fail(ms, MSE_ERR_NOMEM, "out of memory");
    *xml = (const char *)p->dump;
    *len = (size_t)n;
    return MSE_OK;
}

const struct mime_extent *mime_stream_find(const struct mime_stream *ms, unsigned message)
{
    /* One item per message; if a server sent more, the last one wins (as the item parser). */
    for (size_t i = ms->n; i-- > 0;) {
        if (ms->v[i].message == message)
            return &ms->v[i];
    }
    return NULL;
}
