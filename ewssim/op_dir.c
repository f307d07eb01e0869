/* SPDX-License-Identifier: Apache-2.0 */
/* Directory operations: ExpandDL, ResolveNames, and ConvertId (the client's version probe). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_limits.h"
#include "ops.h"
#include "render.h"

/* One directory entry as EmailAddressType: mailbox, group or outside address. */
static void member_render(struct ews_ctx *c, xmlNodePtr parent, const char *address)
{
    const struct sim_mailbox *m = org_mailbox(c->org, address);
    const struct sim_group *g = org_group(c->org, address);
    if (m)
        render_mailbox(parent, c->resp->t, "Mailbox", m->display_name, m->address, "Mailbox");
    else if (g)
        render_mailbox(parent, c->resp->t, "Mailbox", g->name, g->address, "PublicDL");
    else
        render_mailbox(parent, c->resp->t, "Mailbox", address, address, "OneOff");
}

enum mse_rc op_expand_dl(struct ews_ctx *c)
{
    char addr[320];
    xmlNodePtr msgs = soap_messages(c->resp, "ExpandDL");
    xmlNodePtr mb = x_child(c->req->op, NS_MESSAGES, "Mailbox");
    x_content(x_child(mb, NS_TYPES, "EmailAddress"), addr, sizeof(addr));
    const char *a = strncasecmp(addr, "smtp:", 5) == 0 ? addr + 5 : addr;
    const struct sim_group *g = org_group(c->org, a);
    xmlNodePtr m =
            soap_message(c->resp, msgs, "ExpandDL", g ? NULL : "ErrorNameResolutionNoResults");
    if (g) {
        /* Not recursive, as Exchange: nested groups come back as PublicDL entries. */
        xmlNodePtr dl = x_el(m, c->resp->m, "DLExpansion");
        char buf[16];
        snprintf(buf, sizeof(buf), "%u", g->nmembers);
        x_attr(dl, "TotalItemsInView", buf);
        x_attr(dl, "IncludesLastItemInRange", "true");
        for (unsigned i = 0; i < g->nmembers; i++)
            member_render(c, dl, g->members[i]);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* ANR-like: a prefix of the address or display name; *exact for the address itself. */
static bool name_matches(const char *entry, const char *address, const char *name, bool *exact)
{
    size_t n = strlen(entry);
    *exact = strcasecmp(entry, address) == 0;
    return *exact || strncasecmp(address, entry, n) == 0 || strncasecmp(name, entry, n) == 0;
}

struct resolution {
    const char *address;
    bool exact;
};

enum mse_rc op_resolve_names(struct ews_ctx *c)
{
    char entry[320];
    x_content(x_child(c->req->op, NS_MESSAGES, "UnresolvedEntry"), entry, sizeof(entry));
    const char *e = strncasecmp(entry, "smtp:", 5) == 0 ? entry + 5 : entry;
    struct resolution hits[SIM_RESOLVE_MAX];
    unsigned n = 0;
    bool exact = false;
    for (unsigned i = 0; i < c->org->nmailboxes && n < SIM_RESOLVE_MAX && e[0]; i++) {
        const struct sim_mailbox *m = c->org->mailboxes[i];
        if (name_matches(e, m->address, m->display_name, &exact))
            hits[n++] = (struct resolution){ m->address, exact };
    }
    for (unsigned i = 0; i < c->org->ngroups && n < SIM_RESOLVE_MAX && e[0]; i++) {
        const struct sim_group *g = c->org->groups[i];
        if (name_matches(e, g->address, g->name, &exact))
            hits[n++] = (struct resolution){ g->address, exact };
    }
    for (unsigned i = 0; i < n; i++) {
        if (hits[i].exact) { /* an exact address wins outright */
            hits[0] = hits[i];
            n = 1;
        }
    }
    xmlNodePtr msgs = soap_messages(c->resp, "ResolveNames");
    xmlNodePtr m =
            n == 0   ? soap_message(c->resp, msgs, "ResolveNames", "ErrorNameResolutionNoResults")
            : n == 1 ? soap_message(c->resp, msgs, "ResolveNames", NULL)
                     : soap_message_warning(c->resp, msgs, "ResolveNames",
                                            "ErrorNameResolutionMultipleResults");
    if (n) {
        xmlNodePtr set = x_el(m, c->resp->m, "ResolutionSet");
        char buf[16];
        snprintf(buf, sizeof(buf), "%u", n);
        x_attr(set, "TotalItemsInView", buf);
        x_attr(set, "IncludesLastItemInRange", "true");
        for (unsigned i = 0; i < n; i++)
            member_render(c, x_el(set, c->resp->t, "Resolution"), hits[i].address);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* Only our own EWS ids convert (to themselves); anything else is malformed, as for DUMMY. */
enum mse_rc op_convert_id(struct ews_ctx *c)
{
    char dest[32], fmt[32], text[256], mbx[320];
    x_prop(c->req->op, "DestinationFormat", dest, sizeof(dest));
    xmlNodePtr msgs = soap_messages(c->resp, "ConvertId");
    for (xmlNodePtr a = x_first(x_child(c->req->op, NS_MESSAGES, "SourceIds")); a; a = x_next(a)) {
        struct ewsid id;
        bool ok = x_prop(a, "Format", fmt, sizeof(fmt)) && strcmp(fmt, "EwsId") == 0 &&
                  strcmp(dest, "EwsId") == 0 && x_prop(a, "Id", text, sizeof(text)) &&
                  ewsid_parse(text, &id) == MSE_OK && x_prop(a, "Mailbox", mbx, sizeof(mbx));
        xmlNodePtr m =
                soap_message(c->resp, msgs, "ConvertId", ok ? NULL : "ErrorInvalidIdMalformed");
        if (!ok)
            continue;
        xmlNodePtr alt = x_el(m, c->resp->m, "AlternateId");
        xmlNsPtr xsi = xmlNewNs(alt, (const xmlChar *)"http://www.w3.org/2001/XMLSchema-instance",
                                (const xmlChar *)"xsi");
        xmlNewNsProp(alt, xsi, (const xmlChar *)"type", (const xmlChar *)"t:AlternateIdType");
        x_attr(alt, "Format", dest);
        x_attr(alt, "Id", text);
        x_attr(alt, "Mailbox", mbx);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}
