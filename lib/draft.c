/* draft.c - composing an RFC 5322 draft from the fields of a compose form (text body,
 * attachments, inline images), ready for pgpdesk_outgoing_process(). */
#include "internal.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

/* Adds the addresses of list (comma-separated) to the header field of msg. */
static bool
add_addresses(GMimeMessage *msg, GMimeAddressType type, const char *list)
{
    if (!list || !*list)
        return true;
    InternetAddressList *parsed = internet_address_list_parse(NULL, list);
    if (!parsed)
        return false;
    bool ok = internet_address_list_length(parsed) > 0;
    if (ok)
        internet_address_list_append(g_mime_message_get_addresses(msg, type), parsed);
    g_object_unref(parsed);
    return ok;
}

static GMimeObject *
attachment_part(const pgpdesk_draft_attachment_t *att)
{
    GMimeContentType *type = g_mime_content_type_parse(
        NULL, att->content_type && *att->content_type ? att->content_type
                                                       : "application/octet-stream");
    GMimePart *part = g_mime_part_new_with_type(g_mime_content_type_get_media_type(type),
                                                g_mime_content_type_get_media_subtype(type));
    g_object_unref(type);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(att->data, att->size);
    GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(part, content);
    g_object_unref(content);
    g_object_unref(stream);
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
    if (att->filename && *att->filename)
        g_mime_part_set_filename(part, att->filename);
    if (att->content_id && *att->content_id) {
        g_mime_object_set_content_id(GMIME_OBJECT(part), att->content_id);
        g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_INLINE);
    } else {
        g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
    }
    return GMIME_OBJECT(part);
}

/* The body: text alone, or text with attachments in multipart/mixed. */
static GMimeObject *
build_body(const pgpdesk_draft_t *d)
{
    GMimeTextPart *text = g_mime_text_part_new_with_subtype("plain");
    g_mime_text_part_set_text(text, d->body ? d->body : "");
    if (d->attachment_count == 0)
        return GMIME_OBJECT(text);
    GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mixed, GMIME_OBJECT(text));
    g_object_unref(text);
    for (size_t i = 0; i < d->attachment_count; i++) {
        GMimeObject *part = attachment_part(&d->attachments[i]);
        g_mime_multipart_add(mixed, part);
        g_object_unref(part);
    }
    return GMIME_OBJECT(mixed);
}

pgpdesk_status_t
pgpdesk_draft_compose(pgpdesk_t *pd, const char *from, const pgpdesk_draft_t *d, char **message,
                      size_t *size)
{
    pd_gmime_init();
    const char *domain = pd_email_domain(from);
    if (!from || !domain)
        return pd_fail(pd, PGPDESK_STATUS_NO_SENDER, "The sender address is missing.");
    GMimeMessage *msg = g_mime_message_new(TRUE);
    bool ok = add_addresses(msg, GMIME_ADDRESS_TYPE_FROM, from) &&
              add_addresses(msg, GMIME_ADDRESS_TYPE_TO, d->to) &&
              add_addresses(msg, GMIME_ADDRESS_TYPE_CC, d->cc) &&
              add_addresses(msg, GMIME_ADDRESS_TYPE_BCC, d->bcc);
    if (!ok) {
        g_object_unref(msg);
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                       "An address of this draft could not be read.");
    }
    g_mime_message_set_subject(msg, d->subject ? d->subject : "", "utf-8");
    GDateTime *now = g_date_time_new_now_utc();
    g_mime_message_set_date(msg, now);
    g_date_time_unref(now);
    /* Not g_mime_utils_generate_message_id(): it opens /dev/urandom for every message. */
    char *mid = pd_new_message_id(domain);
    if (!mid) {
        g_object_unref(msg);
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    }
    g_mime_message_set_message_id(msg, mid);
    free(mid);
    if (d->in_reply_to && *d->in_reply_to) {
        char *ref = g_strdup_printf("<%s>", d->in_reply_to[0] == '<'
                                                ? d->in_reply_to + 1 : d->in_reply_to);
        size_t len = strlen(ref);
        if (len > 2 && ref[len - 2] == '>')
            ref[len - 1] = '\0';
        g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", ref, NULL);
        g_mime_object_set_header(GMIME_OBJECT(msg), "References", ref, NULL);
        g_free(ref);
    }
    GMimeObject *body = build_body(d);
    g_mime_message_set_mime_part(msg, body);
    g_object_unref(body);
    char *text = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
    g_object_unref(msg);
    *message = text ? strdup(text) : NULL;
    g_free(text);
    if (!*message)
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    *size = strlen(*message);
    return PGPDESK_STATUS_SUCCESS;
}
