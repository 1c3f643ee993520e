/*
 * get_avatar: prints the avatar of each chat id given on the command line.
 *
 *   GREEN_API_ID_INSTANCE=1101000001 GREEN_API_TOKEN=... [GREEN_API_URL=https://...] \
 *       ./get_avatar 79001234567 120363043968066561@g.us
 *
 * One line per chat id:
 *   <chat id>  OK exists=<yes|no|?> available=<yes|no|?> url=<url or -> [reason=<reason>]
 *   <chat id>  ERROR <code name> (<code>) http=<status>: <message>
 * Exit status: 0 when every call gave GA_OK, 1 when some did not, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "greenapi.h"

static const char *tri(int v)
{
    return v == 1 ? "yes" : v == 0 ? "no" : "?";
}

int main(int argc, char **argv)
{
    const char *id = getenv("GREEN_API_ID_INSTANCE");
    const char *token = getenv("GREEN_API_TOKEN");
    const char *url = getenv("GREEN_API_URL");
    ga_client_options opts;
    ga_client *client;
    ga_code code = GA_OK;
    int failed = 0;
    int i;

    if (argc < 2 || id == NULL || token == NULL) {
        fprintf(stderr,
                "usage: GREEN_API_ID_INSTANCE=... GREEN_API_TOKEN=... [GREEN_API_URL=...] "
                "%s CHAT_ID...\n",
                argv[0]);
        return 2;
    }
    ga_client_options_init(&opts, GA_CLIENT_OPTIONS_VERSION);
    if (url != NULL && url[0] != '\0') {
        opts.api_url = url;
    }
    client = ga_client_new_with_options(id, token, &opts, &code);
    if (client == NULL) {
        fprintf(stderr, "cannot make a client: %s (%u): %s\n", ga_code_str(code), (unsigned)code,
                ga_last_error_message());
        return 2;
    }
    printf("greenapi %s\n", ga_version());
    for (i = 1; i < argc; i++) {
        ga_result *r = ga_get_avatar(client, argv[i]);
        if (r->code == GA_OK) {
            printf("%s  OK exists=%s available=%s url=%s", argv[i], tri(r->exists_whatsapp),
                   tri(r->available), r->url_avatar[0] != '\0' ? r->url_avatar : "-");
            if (r->reason != NULL) {
                printf(" reason=%s", r->reason);
            }
            printf("\n");
        } else {
            printf("%s  ERROR %s (%u) http=%u: %s\n", argv[i], ga_code_str(r->code),
                   (unsigned)r->code, (unsigned)r->http_status, r->message);
            failed = 1;
        }
        ga_result_free(r);
    }
    ga_client_free(client);
    return failed;
}
