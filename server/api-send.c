/* api-send.c - sending from a group: the compose form's fields become a draft from the group's
 * sender address, which the library signs and/or encrypts as asked (refusing what is impossible
 * or against the group's policy) and stores as outgoing articles. */
#include "api.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct attachments {
    pgpdesk_draft_attachment_t *items; /* strings borrowed from the request body */
    uint8_t **decoded;                 /* the data of each, owned here */
    size_t count;
} attachments_t;

static void
attachments_free(attachments_t *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->decoded[i]);
    free(a->decoded);
    free(a->items);
}

/* Decodes "attachments": [{"filename", "content_type", "content_base64", "content_id"}].
 * Returns false after replying 422 (or 500). */
static bool
parse_attachments(api_request_t *req, const json_t *array, attachments_t *out)
{
    memset(out, 0, sizeof *out);
    if (!array || json_is_null(array))
        return true;
    if (!json_is_array(array)) {
        reply_invalid(req, "attachments must be an array.");
        return false;
    }
    size_t count = json_array_size(array);
    out->items = calloc(count ? count : 1, sizeof *out->items);
    out->decoded = calloc(count ? count : 1, sizeof *out->decoded);
    if (!out->items || !out->decoded) {
        attachments_free(out);
        reply_status(req, PGPDESK_STATUS_OUT_OF_MEMORY);
        return false;
    }
    for (; out->count < count; out->count++) {
        const json_t *item = json_array_get(array, out->count);
        bool ok = json_is_object(item);
        pgpdesk_draft_attachment_t *a = &out->items[out->count];
        a->filename = json_member_string(item, "filename", &ok);
        a->content_type = json_member_string(item, "content_type", &ok);
        a->content_id = json_member_string(item, "content_id", &ok);
        const char *base64 = json_member_string(item, "content_base64", &ok);
        size_t length = base64 ? strlen(base64) : 0, size = 0;
        uint8_t *data = ok && base64 ? malloc(length / 4 * 3 + 3) : NULL;
        const char *end = NULL;
        if (data && sodium_base642bin(data, length / 4 * 3 + 3, base64, length, " \t\r\n", &size,
                                      &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
            end == base64 + length) {
            out->decoded[out->count] = data;
            a->data = data;
            a->size = size;
            continue;
        }
        free(data);
        attachments_free(out);
        char human[160];
        snprintf(human, sizeof human, "attachments[%zu] needs content_base64 (valid base64); "
                 "filename, content_type and content_id are strings.", out->count);
        reply_invalid(req, human);
        return false;
    }
    return true;
}

/* 201 {"copies": [{"article_id", "recipients"}], "articles": [article objects]}. */
static void
reply_sent(api_request_t *req, const pgpdesk_outgoing_result_t *result)
{
    json_t *copies = json_array(), *articles = json_array();
    for (size_t i = 0; i < result->count; i++) {
        const pgpdesk_outgoing_copy_t *copy = &result->copies[i];
        json_t *recipients = json_array();
        for (size_t j = 0; j < copy->recipient_count; j++)
            json_array_append_new(recipients, json_string(copy->recipients[j]));
        json_array_append_new(copies, json_pack("{s:I, s:o}", "article_id",
                                                (json_int_t) copy->article_id, "recipients",
                                                recipients));
        pgpdesk_article_t *article = NULL;
        pgpdesk_status_t st = pgpdesk_article_get(req->pd, copy->article_id, &article);
        if (st) {
            json_decref(copies);
            json_decref(articles);
            reply_failure(req, st);
            return;
        }
        json_array_append_new(articles, pgpdesk_article_to_json(article));
        pgpdesk_article_destroy(article);
    }
    reply_json(req, 201, json_pack("{s:o, s:o}", "copies", copies, "articles", articles));
}

/* Composes the draft from the group's address and sends it. */
static void
compose_and_send(api_request_t *req, const pgpdesk_group_t *group, const pgpdesk_draft_t *draft,
                 const pgpdesk_outgoing_options_t *options)
{
    char *message = NULL;
    size_t size = 0;
    pgpdesk_outgoing_result_t *result = NULL;
    pgpdesk_status_t st = pgpdesk_draft_compose(req->pd, group->email, draft, &message, &size);
    if (!st)
        st = pgpdesk_group_send(req->pd, group->id, message, size, options, &result);
    if (st)
        reply_failure(req, st);
    else
        reply_sent(req, result);
    pgpdesk_outgoing_result_destroy(result);
    free(message);
}

/* {"group_id", "to", "cc", "bcc", "subject", "body", "in_reply_to", "attachments", "sign",
 * "encrypt"} */
void
api_send(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    int64_t group_id = 0;
    bool ok = json_member_id(body, "group_id", &group_id);
    pgpdesk_draft_t draft = {
        .to = json_member_string(body, "to", &ok),
        .cc = json_member_string(body, "cc", &ok),
        .bcc = json_member_string(body, "bcc", &ok),
        .subject = json_member_string(body, "subject", &ok),
        .body = json_member_string(body, "body", &ok),
        .in_reply_to = json_member_string(body, "in_reply_to", &ok),
    };
    const json_t *sign = json_object_get(body, "sign"), *encrypt = json_object_get(body, "encrypt");
    pgpdesk_outgoing_options_t options = {.sign = json_is_true(sign),
                                          .encrypt = json_is_true(encrypt),
                                          .protected_headers = true};
    pgpdesk_group_t *group = NULL;
    attachments_t attachments = {0};
    pgpdesk_status_t st;
    if (!ok || group_id <= 0 || (sign && !json_is_boolean(sign)) ||
        (encrypt && !json_is_boolean(encrypt))) {
        reply_invalid(req, "group_id must be a group id; to, cc, bcc, subject, body and "
                           "in_reply_to strings; sign and encrypt true or false.");
    } else if ((st = pgpdesk_group_get(req->pd, group_id, &group))) {
        /* A group named in the body, not in the path: the request is wrong, not the URL. */
        if (st == PGPDESK_STATUS_GROUP_NOT_FOUND)
            reply_error(req, 422, "group_not_found", pgpdesk_status_to_string(st));
        else
            reply_failure(req, st);
    } else if (!group->email) {
        reply_error(req, 422, "no_sender", "The group has no sender address.");
    } else if (parse_attachments(req, json_object_get(body, "attachments"), &attachments)) {
        draft.attachments = attachments.items;
        draft.attachment_count = attachments.count;
        compose_and_send(req, group, &draft, &options);
        attachments_free(&attachments);
    }
    pgpdesk_group_destroy(group);
    json_decref(body);
}
