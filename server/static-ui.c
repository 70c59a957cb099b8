/* static-ui.c - serves the web UI embedded at build time (ui-assets.h): each file at /NAME and
 * /ui/NAME, and index.html for / and for any other path outside /api/, so that the UI can
 * route by its URL's hash and a reload of a deep link still finds it. */
#include "api.h"
#include "ui-assets.h"

#include <string.h>

static const ui_asset_t *
find_asset(const char *path)
{
    for (const ui_asset_t *asset = ui_assets; asset->path; asset++)
        if (strcmp(asset->path, path) == 0)
            return asset;
    return NULL;
}

void
api_ui(api_request_t *req)
{
    const char *name = req->path + 1;
    if (strncmp(name, "ui/", 3) == 0)
        name += 3;
    const ui_asset_t *asset = find_asset(name);
    if (!asset)
        asset = find_asset("index.html");
    if (!asset) {
        reply_error(req, 404, "not_found", "This build of pgpdesk has no web UI.");
        return;
    }
    reply_static(req, 200, asset->content_type, asset->data, asset->size);
    /* Embedded files change only with the binary: the browser may keep them, but asks first. */
    reply_add_header(req, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}
