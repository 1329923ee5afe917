/* xml.c — the S3 XML answers read with libxml2 (no network, no entity expansion): a
 * ListObjectsV2 page (keys, sizes, IsTruncated, NextContinuationToken) and an error's Code and
 * Message. Elements are matched by local name, whatever namespace the server uses. */
#include "coordinator/backends/s3/s3.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void)
{
    xmlInitParser();
}

static xmlDocPtr parse(const char *xml, size_t len)
{
    pthread_once(&xml_once, xml_init);
    if (!len || len > (size_t)INT32_MAX)
        return NULL;
    return xmlReadMemory(xml, (int)len, "s3.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The text of the first child element named name, or NULL (free with xmlFree). */
static xmlChar *child_text(const xmlNode *parent, const char *name)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (is(c, name))
            return xmlNodeGetContent(c);
    return NULL;
}

int s3_xml_list(const char *xml, size_t len, s3_key_cb cb, void *ctx, int *truncated, char **token,
                struct gp_err *err)
{
    *truncated = 0;
    *token = NULL;
    xmlDocPtr doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || !is(root, "ListBucketResult")) {
        if (doc)
            xmlFreeDoc(doc);
        return gp_err_set(err, -EPROTO, "s3: the list answer is not a ListBucketResult");
    }
    int rc = 0;
    for (xmlNode *c = root->children; c && rc == 0; c = c->next) {
        if (is(c, "IsTruncated")) {
            xmlChar *t = xmlNodeGetContent(c);
            *truncated = t && strcmp((const char *)t, "true") == 0;
            xmlFree(t);
        } else if (is(c, "NextContinuationToken")) {
            xmlChar *t = xmlNodeGetContent(c);
            free(*token);
            *token = t ? strdup((const char *)t) : NULL;
            xmlFree(t);
            if (!*token)
                rc = gp_err_set(err, -ENOMEM, "out of memory");
        } else if (is(c, "Contents")) {
            xmlChar *k = child_text(c, "Key"), *sz = child_text(c, "Size");
            if (!k) {
                rc = gp_err_set(err, -EPROTO, "s3: a listed object has no Key");
            } else {
                char *e = NULL;
                unsigned long long size = sz ? strtoull((const char *)sz, &e, 10) : 0;
                if (sz && (e == (char *)sz || *e))
                    rc = gp_err_set(err, -EPROTO, "s3: object %.200s has a bad Size", k);
                else
                    rc = cb((const char *)k, size, ctx);
            }
            xmlFree(k);
            xmlFree(sz);
        }
    }
    xmlFreeDoc(doc);
    if (rc == 0 && *truncated && (!*token || !**token))
        rc = gp_err_set(err, -EPROTO, "s3: a truncated list came without a continuation token");
    if (rc != 0) {
        free(*token);
        *token = NULL;
    }
    return rc;
}

void s3_xml_error(const char *xml, size_t len, char *code, size_t codesz, char *msg, size_t msgsz)
{
    code[0] = msg[0] = 0;
    xmlDocPtr doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root && is(root, "Error")) {
        xmlChar *c = child_text(root, "Code"), *m = child_text(root, "Message");
        snprintf(code, codesz, "%s", c ? (const char *)c : "");
        snprintf(msg, msgsz, "%s", m ? (const char *)m : "");
        xmlFree(c);
        xmlFree(m);
        /* keep messages printable: a hostile server gets no control characters into logs */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        for (char *p = code; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    }
    if (doc)
        xmlFreeDoc(doc);
}
