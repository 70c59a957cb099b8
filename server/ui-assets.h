/* ui-assets.h - the files of the web UI (server/ui/), embedded in the binary at build time by
 * embed.py so that the served UI loads nothing from disk or the network. */
#ifndef PGPDESK_SERVER_UI_ASSETS_H
#define PGPDESK_SERVER_UI_ASSETS_H

#include <stddef.h>

typedef struct ui_asset {
    const char *path;         /* relative to server/ui/: "index.html", "img/logo.svg" */
    const char *content_type;
    const unsigned char *data;
    size_t size;
} ui_asset_t;

/* Every file, in path order, then an entry whose path is NULL. */
extern const ui_asset_t ui_assets[];

#endif
