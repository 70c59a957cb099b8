/* api-articles.c - articles: the stored messages, in and out, with their security result;
 * their raw and processed bytes as downloads; re-processing after a key was added; and the
 * intake of a received message. */
#include "api.h"

#include <stdio.h>

void
api_article_list(api_request_t *req)
{
    int64_t group_id, limit, offset;
    if (!request_query_number(req, "group_id", 0, INT64_MAX, &group_id) ||
        !request_query_number(req, "limit", 50, 1000, &limit) ||
        !request_query_number(req, "offset", 0, INT64_MAX, &offset))
        return;
    pgpdesk_article_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_article_list(req->pd, group_id, (size_t) limit,
                                               (size_t) offset, &list);
    if (st) {
        reply_failure(req, st);
        return;
    }
    json_t *articles = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(articles, pgpdesk_article_to_json(&list->articles[i]));
    pgpdesk_article_list_destroy(list);
    reply_json(req, 200, articles);
}

/* The article req->param names. out: caller destroys; NULL after replying 404. */
static pgpdesk_article_t *
param_article(api_request_t *req)
{
    int64_t id;
    if (!request_param_id(req, &id))
        return NULL;
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_article_get(req->pd, id, &article);
    if (st)
        reply_failure(req, st);
    return article;
}

void
api_article_show(api_request_t *req)
{
    pgpdesk_article_t *article = param_article(req);
    if (article)
        reply_json(req, 200, pgpdesk_article_to_json(article));
    pgpdesk_article_destroy(article);
}

/* The message exactly as received or sent, as article-<id>.eml. */
void
api_article_raw(api_request_t *req)
{
    pgpdesk_article_t *article = param_article(req);
    if (!article)
        return;
    char filename[64];
    snprintf(filename, sizeof filename, "article-%lld.eml", (long long) article->id);
    reply_download(req, "message/rfc822", article->raw, article->raw_size, filename);
    pgpdesk_article_destroy(article);
}

/* The processed view (decrypted, unwrapped) as text, as article-<id>.mime.txt: text/plain so
 * that a browser never renders what a sender wrote. */
void
api_article_mime(api_request_t *req)
{
    pgpdesk_article_t *article = param_article(req);
    if (!article)
        return;
    char filename[64];
    snprintf(filename, sizeof filename, "article-%lld.mime.txt", (long long) article->id);
    /* Without a processed view (plain mail), the raw message is what the article shows. */
    if (article->mime)
        reply_download(req, "text/plain; charset=utf-8", article->mime, article->mime_size,
                       filename);
    else
        reply_download(req, "text/plain; charset=utf-8", article->raw, article->raw_size,
                       filename);
    pgpdesk_article_destroy(article);
}

void
api_article_retry(api_request_t *req)
{
    int64_t id;
    if (!request_param_id(req, &id))
        return;
    bool improved = false;
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_article_retry(req->pd, id, &improved, &article);
    if (st) {
        reply_failure(req, st);
        return;
    }
    json_t *object = pgpdesk_article_to_json(article);
    json_object_set_new(object, "improved", json_boolean(improved));
    pgpdesk_article_destroy(article);
    reply_json(req, 200, object);
}

/* The body is the raw message, whatever its content type. */
void
api_incoming(api_request_t *req)
{
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_incoming_process(req->pd, req->body, req->body_size, &article);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, 201, pgpdesk_article_to_json(article));
    pgpdesk_article_destroy(article);
}
