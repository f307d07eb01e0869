/* SPDX-License-Identifier: Apache-2.0 */
/* Reads an RFC 5322 message with GMime into what the archive indexes (see mime.h). */
#include "mime.h"

#include <gmime/gmime.h>
#include <libxml/HTMLparser.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"

/*
 * What the walk collects. Every list is capped so that a hostile message (a million parts or
 * addresses) costs bounded memory; what lies beyond a cap is counted but not listed.
 */
struct walk {
    struct mime_message *m;
    GString *text;
    size_t attachments_cap;
    bool text_only; /* attachments are only noted: their bytes are never read */
    enum mse_rc rc;
};

void mime_init(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        g_mime_init();
        g_once_init_leave(&once, 1);
    }
}

const char *mime_outcome_detail(enum mime_outcome outcome)
{
    switch (outcome) {
    case MIME_PARSED:
        return "the message was read";
    case MIME_EMPTY:
        return "the message is empty";
    case MIME_NOT_MESSAGE:
        return "the body is not an RFC 5322 message: it has no header fields";
    case MIME_NO_ORIGINATOR:
        return "the message has no originator: neither From nor Sender holds an address";
    }
    return "the message cannot be read";
}

/* A malloc'd valid UTF-8 copy of s (invalid sequences replaced), NULL when s is NULL. */
static char *utf8_dup(const char *s)
{
    if (!s)
        return NULL;
    gchar *valid = g_utf8_make_valid(s, -1);
    char *out = strdup(valid);
    g_free(valid);
    return out;
}

static bool dup_field(char **dst, const char *s)
{
    if (!s)
        return true;
    *dst = utf8_dup(s);
    return *dst != NULL;
}

/* Appends the mailboxes of list (group members included) to out, up to the cap. */
static bool addresses_add(struct mime_address_list *out, InternetAddressList *list, int depth)
{
    int n = list ? internet_address_list_length(list) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            /* Groups do not nest in RFC 5322; GMime's parser never builds deeper ones. */
            if (depth == 0 &&
                !addresses_add(out, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
                               1))
                return false;
            continue;
        }
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia) || out->n == MSE_MAX_MIME_ADDRESSES)
            continue;
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        const char *name = internet_address_get_name(ia);
        if (!out->v) {
            out->v = calloc(MSE_MAX_MIME_ADDRESSES, sizeof(*out->v));
            if (!out->v)
                return false;
        }
        struct mime_address *a = &out->v[out->n];
        a->email = utf8_dup(addr ? addr : "");
        a->name = utf8_dup(name ? name : "");
        if (!a->email || !a->name) {
            free(a->email);
            free(a->name);
            a->email = a->name = NULL;
            return false;
        }
        out->n++;
    }
    return true;
}

static void addresses_cleanup(struct mime_address_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].email);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Appends s to the text with a blank line before it, up to MSE_MAX_MIME_TEXT bytes. */
static void text_add(struct walk *w, const char *s)
{
    while (*s == '\n' || *s == ' ' || *s == '\r' || *s == '\t')
        s++;
    if (!*s)
        return;
    if (w->text->len > 0)
        g_string_append(w->text, "\n\n");
    g_string_append(w->text, s);
    if (w->text->len > MSE_MAX_MIME_TEXT) {
        /* Cut at a character boundary so that the text stays valid UTF-8. */
        const char *end = g_utf8_find_prev_char(w->text->str, w->text->str + MSE_MAX_MIME_TEXT + 1);
        g_string_truncate(w->text, end ? (gsize)(end - w->text->str) : 0);
        w->m->text_truncated = true;
    }
}

/* Elements whose content is not text a reader sees. */
static bool html_hidden(const xmlChar *name)
{
    static const char *const hidden[] = { "script", "style", "head", "noscript", "template", NULL };
    for (const char *const *h = hidden; *h; h++)
        if (xmlStrcasecmp(name, (const xmlChar *)*h) == 0)
            return true;
    return false;
}

/* Elements that start a new line when rendered. */
static bool html_block(const xmlChar *name)
{
    static const char *const blocks[] = { "p",  "div", "br", "li", "tr",    "h1",         "h2",
                                          "h3", "h4",  "h5", "h6", "table", "blockquote", "pre",
                                          "ul", "ol",  "dt", "dd", "hr",    NULL };
    for (const char *const *b = blocks; *b; b++)
        if (xmlStrcasecmp(name, (const xmlChar *)*b) == 0)
            return true;
    return false;
}

/* Renders the text of an HTML tree: runs of white space collapse, blocks break lines. */
static void html_render(xmlNode *node, GString *out, int depth)
{
    for (; node; node = node->next) {
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            for (const xmlChar *c = node->content; c && *c; c++) {
                bool space = *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\f';
                if (!space)
                    g_string_append_c(out, (char)*c);
                else if (out->len > 0 && out->str[out->len - 1] != ' ' &&
                         out->str[out->len - 1] != '\n')
                    g_string_append_c(out, ' ');
            }
        } else if (node->type == XML_ELEMENT_NODE && !html_hidden(node->name)) {
            bool block = html_block(node->name);
            if (block && out->len > 0 && out->str[out->len - 1] != '\n')
                g_string_append_c(out, '\n');
            /* libxml2 limits the tree's depth itself; this only guards the recursion here. */
            if (depth < 256)
                html_render(node->children, out, depth + 1);
            if (block && out->len > 0 && out->str[out->len - 1] != '\n')
                g_string_append_c(out, '\n');
        }
        if (out->len > MSE_MAX_MIME_TEXT)
            return;
    }
}

/* The readable text of an HTML document (UTF-8 in, UTF-8 out, g_free'd by the caller). */
static char *html_to_text(const char *html)
{
    int len = (int)strnlen(html, MSE_MAX_MIME_HTML);
    htmlDocPtr doc = htmlReadMemory(html, len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                            HTML_PARSE_NONET);
    GString *out = g_string_new(NULL);
    if (doc)
        html_render(xmlDocGetRootElement(doc), out, 0);
    xmlFreeDoc(doc);
    return g_string_free(out, FALSE);
}

/* True for a text/plain or text/html leaf that is shown as the message's body. */
static bool part_is_body(GMimePart *part, bool *html)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    if (!ct || !g_mime_content_type_is_type(ct, "text", "*") || g_mime_part_is_attachment(part) ||
        g_mime_part_get_filename(part))
        return false;
    *html = g_mime_content_type_is_type(ct, "text", "html");
    return *html || g_mime_content_type_is_type(ct, "text", "plain");
}

/* The decoded content of a leaf part, or (write_object) the object as it is serialised. */
static GMimeStream *part_bytes(GMimeObject *obj, bool write_object)
{
    GMimeStream *mem = g_mime_stream_mem_new();
    if (!obj)
        return mem;
    if (write_object) {
        (void)g_mime_object_write_to_stream(obj, NULL, mem);
    } else {
        GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
        if (content)
            (void)g_mime_data_wrapper_write_to_stream(content, mem);
    }
    return mem;
}

/* Records an attachment: its name, type, and the size and SHA-256 of the content in mem. */
static void attachment_add(struct walk *w, const char *name, GMimeContentType *ct, GMimeStream *mem)
{
    struct mime_message *m = w->m;
    m->has_attachments = true;
    if (m->nattachments == MSE_MAX_MIME_ATTACHMENTS)
        return;
    if (m->nattachments == w->attachments_cap) {
        size_t cap = w->attachments_cap ? w->attachments_cap * 2 : 4;
        struct mime_attachment *v = realloc(m->attachments, cap * sizeof(*v));
        if (!v) {
            w->rc = MSE_ERR_NOMEM;
            return;
        }
        m->attachments = v;
        w->attachments_cap = cap;
    }
    struct mime_attachment *a = &m->attachments[m->nattachments];
    memset(a, 0, sizeof(*a));
    gchar *type = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("application/octet-stream");
    gchar *lower = g_ascii_strdown(type, -1);
    a->name = utf8_dup(name ? name : "");
    a->content_type = utf8_dup(lower);
    g_free(lower);
    g_free(type);
    if (!a->name || !a->content_type) {
        free(a->name);
        free(a->content_type);
        w->rc = MSE_ERR_NOMEM;
        return;
    }
    /* The array belongs to the stream: it is read before the stream goes. */
    const GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    a->size = bytes->len;
    mse_crypto_sha256_hex(bytes->data, bytes->len, a->sha256);
    m->nattachments++;
}

static void walk_object(struct walk *w, GMimeObject *obj, bool skip_html, int depth);

/* multipart/alternative: index its plain text when it has one, its HTML otherwise. */
static bool alternative_has_plain(GMimeMultipart *mp)
{
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; i++) {
        GMimeObject *child = g_mime_multipart_get_part(mp, i);
        bool html = false;
        if (GMIME_IS_PART(child) && part_is_body(GMIME_PART(child), &html) && !html)
            return true;
    }
    return false;
}

/*
 * Archived content is read for its text only: a text part whose encoded form exceeds this is
 * not read at all (reading it whole would cost its size in memory, many times over).
 */
#define ARCHIVED_TEXT_PART_MAX (4 * MSE_MAX_MIME_TEXT)

static bool text_part_large(GMimePart *part)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GMimeStream *raw = content ? g_mime_data_wrapper_get_stream(content) : NULL;
    return raw && g_mime_stream_length(raw) > (gint64)ARCHIVED_TEXT_PART_MAX;
}

static void walk_part(struct walk *w, GMimePart *part, bool skip_html)
{
    bool html = false;
    if (part_is_body(part, &html)) {
        if (html && skip_html)
            return;
        if (w->text_only && text_part_large(part)) {
            w->m->text_truncated = true;
            return;
        }
        char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
        if (!text)
            return;
        gchar *valid = g_utf8_make_valid(text, -1);
        g_free(text);
        if (html) {
            char *rendered = html_to_text(valid);
            text_add(w, rendered);
            g_free(rendered);
        } else {
            text_add(w, valid);
        }
        g_free(valid);
        return;
    }
    if (w->text_only) {
        w->m->has_attachments = true;
        return;
    }
    GMimeStream *mem = part_bytes(GMIME_OBJECT(part), false);
    attachment_add(w, g_mime_part_get_filename(part),
                   g_mime_object_get_content_type(GMIME_OBJECT(part)), mem);
    g_object_unref(mem);
}

static void walk_object(struct walk *w, GMimeObject *obj, bool skip_html, int depth)
{
    if (!obj || w->rc != MSE_OK)
        return;
    if (GMIME_IS_MESSAGE_PART(obj) && w->text_only) {
        w->m->has_attachments = true;
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        /* A forwarded or bounced message: one attachment, the message as it was sent. */
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        const char *name = g_mime_object_get_content_disposition_parameter(obj, "filename");
        if (!name && inner)
            name = g_mime_message_get_subject(inner);
        GMimeStream *mem = part_bytes(inner ? GMIME_OBJECT(inner) : NULL, true);
        attachment_add(w, name, g_mime_object_get_content_type(obj), mem);
        g_object_unref(mem);
    } else if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        GMimeContentType *ct = g_mime_object_get_content_type(obj);
        if (ct && g_mime_content_type_is_type(ct, "multipart", "alternative") &&
            alternative_has_plain(mp))
            skip_html = true;
        /* GMime caps the nesting it parses; this keeps our recursion bounded regardless. */
        int n = depth < MSE_MAX_MIME_DEPTH ? g_mime_multipart_get_count(mp) : 0;
        for (int i = 0; i < n; i++)
            walk_object(w, g_mime_multipart_get_part(mp, i), skip_html, depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        walk_part(w, GMIME_PART(obj), skip_html);
    }
}

static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
    (void)offset;
    (void)code;
    (void)item;
    unsigned *n = data;
    if (*n < UINT_MAX)
        (*n)++;
}

/* Message-ID-like header: decoded, without angle brackets; NULL when absent or empty. */
static bool message_id_header(GMimeMessage *msg, const char *name, char **out)
{
    const char *raw = g_mime_object_get_header(GMIME_OBJECT(msg), name);
    if (!raw)
        return true;
    char *id = g_mime_utils_decode_message_id(raw);
    bool ok = id == NULL || *id == '\0' || dup_field(out, id);
    g_free(id);
    return ok;
}

static bool references_read(GMimeMessage *msg, struct mime_message *m)
{
    const char *raw = g_mime_object_get_header(GMIME_OBJECT(msg), "References");
    GMimeReferences *refs = raw ? g_mime_references_parse(NULL, raw) : NULL;
    int n = refs ? g_mime_references_length(refs) : 0;
    if (n > MSE_MAX_MIME_REFERENCES)
        n = MSE_MAX_MIME_REFERENCES;
    bool ok = true;
    if (n > 0) {
        m->references = calloc((size_t)n, sizeof(char *));
        ok = m->references != NULL;
    }
    for (int i = 0; ok && i < n; i++) {
        m->references[i] = utf8_dup(g_mime_references_get_message_id(refs, i));
        ok = m->references[i] != NULL;
        if (ok)
            m->nreferences++;
    }
    if (refs)
        g_mime_references_free(refs);
    return ok;
}

/* The header fields of msg into m; false on allocation failure. */
static bool headers_read(GMimeMessage *msg, struct mime_message *m)
{
    GDateTime *date = g_mime_message_get_date(msg);
    if (date) {
        m->has_date = true;
        m->date = (time_t)g_date_time_to_unix(date);
    }
    return dup_field(&m->message_id, g_mime_message_get_message_id(msg)) &&
           message_id_header(msg, "In-Reply-To", &m->in_reply_to) && references_read(msg, m) &&
           dup_field(&m->subject, g_mime_message_get_subject(msg)) &&
           addresses_add(&m->from, g_mime_message_get_from(msg), 0) &&
           addresses_add(&m->sender, g_mime_message_get_sender(msg), 0) &&
           addresses_add(&m->to, g_mime_message_get_to(msg), 0) &&
           addresses_add(&m->cc, g_mime_message_get_cc(msg), 0) &&
           addresses_add(&m->bcc, g_mime_message_get_bcc(msg), 0);
}

static bool has_originator(const struct mime_message *m)
{
    for (size_t i = 0; i < m->from.n; i++)
        if (m->from.v[i].email[0])
            return true;
    for (size_t i = 0; i < m->sender.n; i++)
        if (m->sender.v[i].email[0])
            return true;
    return false;
}

/* Collects everything from a constructed message; the outcome when it is not archivable. */
static enum mse_rc message_read(GMimeMessage *msg, struct mime_message *m, bool archived,
                                enum mime_outcome *outcome)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    if (!headers || g_mime_header_list_get_count(headers) == 0) {
        *outcome = MIME_NOT_MESSAGE;
        return MSE_OK;
    }
    if (!headers_read(msg, m))
        return MSE_ERR_NOMEM;
    if (!archived && !has_originator(m)) {
        *outcome = MIME_NO_ORIGINATOR;
        return MSE_OK;
    }
    struct walk w = { .m = m, .text = g_string_new(NULL), .text_only = archived, .rc = MSE_OK };
    walk_object(&w, g_mime_message_get_mime_part(msg), false, 0);
    m->text_len = w.text->len;
    m->text = malloc(w.text->len + 1);
    if (m->text)
        memcpy(m->text, w.text->str, w.text->len + 1);
    else if (w.rc == MSE_OK)
        w.rc = MSE_ERR_NOMEM;
    g_string_free(w.text, TRUE);
    if (w.rc == MSE_OK)
        *outcome = MIME_PARSED;
    return w.rc;
}

/* Reads the message from stream (taken) into *out; archived: see mime_parse_archived_fd. */
static enum mse_rc parse(GMimeStream *stream, bool archived, struct mime_message *out,
                         enum mime_outcome *outcome)
{
    GMimeParserOptions *opts = g_mime_parser_options_new();
    /* Journaled mail is whatever reached the MTA: read it as leniently as mail clients do. */
    g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_warning_callback(opts, on_warning, &out->warnings);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, opts);
    enum mse_rc rc = MSE_OK;
    if (!msg)
        *outcome = MIME_NOT_MESSAGE;
    else
        rc = message_read(msg, out, archived, outcome);
    if (msg)
        g_object_unref(msg);
    g_object_unref(parser);
    g_object_unref(stream);
    g_mime_parser_options_free(opts);
    if (rc != MSE_OK || *outcome != MIME_PARSED) {
        unsigned warnings = out->warnings;
        mime_message_cleanup(out);
        out->warnings = warnings;
    }
    return rc;
}

enum mse_rc mime_parse(const void *data, size_t len, struct mime_message *out,
                       enum mime_outcome *outcome)
{
    memset(out, 0, sizeof(*out));
    *outcome = MIME_EMPTY;
    if (len == 0)
        return MSE_OK;
    mime_init();
    return parse(g_mime_stream_mem_new_with_buffer(data, len), false, out, outcome);
}

enum mse_rc mime_parse_archived_fd(int fd, struct mime_message *out, enum mime_outcome *outcome)
{
    memset(out, 0, sizeof(*out));
    *outcome = MIME_EMPTY;
    if (lseek(fd, 0, SEEK_END) <= 0 || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return MSE_OK;
    }
    mime_init();
    /* A file stream: the parser keeps parts as ranges of the file, not copies in memory. */
    return parse(g_mime_stream_fs_new(fd), true, out, outcome);
}

void mime_message_cleanup(struct mime_message *m)
{
    if (!m)
        return;
    free(m->message_id);
    free(m->in_reply_to);
    for (size_t i = 0; i < m->nreferences; i++)
        free(m->references[i]);
    free(m->references);
    free(m->subject);
    addresses_cleanup(&m->from);
    addresses_cleanup(&m->sender);
    addresses_cleanup(&m->to);
    addresses_cleanup(&m->cc);
    addresses_cleanup(&m->bcc);
    for (size_t i = 0; i < m->nattachments; i++) {
        free(m->attachments[i].name);
        free(m->attachments[i].content_type);
    }
    free(m->attachments);
    free(m->text);
    memset(m, 0, sizeof(*m));
}
