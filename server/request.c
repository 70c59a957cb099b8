/* request.c - reading a request: its JSON body, multipart/form-data fields, headers, cookies,
 * query arguments and path parameter, replying 400/404/422 when they are unusable so that the
 * handlers stay short. */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *
request_json(api_request_t *req)
{
    json_error_t error;
    json_t *value = json_loadb((const char *) req->body, req->body_size, 0, &error);
    if (value && json_is_object(value))
        return value;
    char human[256];
    snprintf(human, sizeof human, "The request body is not a JSON object%s%s.",
             value ? "" : ": ", value ? "" : error.text);
    json_decref(value);
    reply_error(req, 400, "bad_json", human);
    return NULL;
}

const char *
request_header(const api_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *
request_cookie(const api_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_COOKIE_KIND, name);
}

const char *
request_query(const api_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

/* A whole decimal number in [0, max]. */
static bool
parse_number(const char *text, int64_t max, int64_t *value)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || end == text || *end || n < 0 || n > max)
        return false;
    *value = n;
    return true;
}

bool
request_query_number(api_request_t *req, const char *name, int64_t fallback, int64_t max,
                     int64_t *value)
{
    const char *text = request_query(req, name);
    if (!text || !*text) {
        *value = fallback;
        return true;
    }
    if (parse_number(text, max, value))
        return true;
    char human[128];
    snprintf(human, sizeof human, "The query parameter %s must be a number from 0 to %lld.",
             name, (long long) max);
    reply_invalid(req, human);
    return false;
}

bool
request_param_id(api_request_t *req, int64_t *id)
{
    if (req->param && parse_number(req->param, INT64_MAX, id) && *id > 0)
        return true;
    reply_error(req, 404, "not_found", "Not found.");
    return false;
}

bool
json_member_id(const json_t *object, const char *name, int64_t *id)
{
    const json_t *member = json_object_get(object, name);
    *id = 0;
    if (!member || json_is_null(member))
        return true;
    if (json_is_integer(member)) {
        *id = json_integer_value(member);
        return *id >= 0;
    }
    return json_is_string(member) && parse_number(json_string_value(member), INT64_MAX, id);
}

const char *
json_member_string(const json_t *object, const char *name, bool *ok)
{
    const json_t *member = json_object_get(object, name);
    if (!member || json_is_null(member))
        return NULL;
    if (!json_is_string(member)) {
        *ok = false;
        return NULL;
    }
    return json_string_value(member);
}

/* ---------------------------------------------------------------- multipart/form-data */

bool
request_is_form(const api_request_t *req)
{
    const char *type = request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    return type && strncasecmp(type, "multipart/form-data", 19) == 0;
}

/* The post processor's iterator: a chunk of a field's value (off == 0 starts a new field). */
static enum MHD_Result
collect_field(void *context, enum MHD_ValueKind kind, const char *name, const char *filename,
              const char *content_type, const char *transfer_encoding, const char *data,
              uint64_t off, size_t size)
{
    form_t *form = context;
    if (off == 0 || form->count == 0) {
        form_field_t *grown = realloc(form->fields, (form->count + 1) * sizeof *grown);
        if (!grown)
            return MHD_NO;
        form->fields = grown;
        form_field_t *field = &form->fields[form->count++];
        memset(field, 0, sizeof *field);
        field->name = strdup(name ? name : "");
        field->filename = filename ? strdup(filename) : NULL;
        field->data = calloc(1, 1);
        if (!field->name || !field->data || (filename && !field->filename))
            return MHD_NO;
    }
    form_field_t *field = &form->fields[form->count - 1];
    uint8_t *grown = realloc(field->data, field->size + size + 1);
    if (!grown)
        return MHD_NO;
    memcpy(grown + field->size, data, size);
    field->size += size;
    grown[field->size] = '\0';
    field->data = grown;
    return MHD_YES;
}

bool
request_form(api_request_t *req, form_t **out)
{
    form_t *form = calloc(1, sizeof *form);
    struct MHD_PostProcessor *pp =
        form ? MHD_create_post_processor(req->connection, 64 * 1024, collect_field, form) : NULL;
    bool ok = pp && MHD_post_process(pp, (const char *) req->body, req->body_size) == MHD_YES;
    if (pp && MHD_destroy_post_processor(pp) != MHD_YES)
        ok = false;
    if (!ok) {
        form_destroy(form);
        reply_error(req, 400, "bad_form", "The multipart/form-data body could not be parsed.");
        return false;
    }
    *out = form;
    return true;
}

const form_field_t *
form_get(const form_t *form, const char *name)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp(form->fields[i].name, name) == 0)
            return &form->fields[i];
    return NULL;
}

void
form_destroy(form_t *form)
{
    if (!form)
        return;
    for (size_t i = 0; i < form->count; i++) {
        free(form->fields[i].name);
        free(form->fields[i].filename);
        if (form->fields[i].data)
            explicit_bzero(form->fields[i].data, form->fields[i].size); /* may be a passphrase */
        free(form->fields[i].data);
    }
    free(form->fields);
    free(form);
}
