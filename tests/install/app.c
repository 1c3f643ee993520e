/*
 * A program built out of tree against an installed greenapi (scripts/test-install.sh): found by
 * pkg-config or CMake, linked shared or static. Asks the stand-in for one avatar and a batch.
 * Exit 0 only when every answer is the expected one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <greenapi.h>

int main(void)
{
    if (strcmp(ga_version(), GA_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", GA_VERSION_STRING, ga_version());
        return 1;
    }
    ga_client_options options;
    ga_client_options_init(&options, GA_CLIENT_OPTIONS_VERSION);
    options.api_url = getenv("GREEN_API_URL");
    options.proxy = "";
    ga_client *client = ga_client_new_with_options(getenv("GREEN_API_ID_INSTANCE"),
                                                   getenv("GREEN_API_TOKEN"), &options, NULL);
    if (client == NULL) {
        fprintf(stderr, "cannot create client: %s\n", ga_last_error_message());
        return 1;
    }
    int failed = 0;
    ga_result *r = ga_get_avatar(client, "79001234567");
    if (r->code != GA_OK ||
        strcmp(r->url_avatar, "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg") != 0) {
        fprintf(stderr, "get_avatar: %s %s\n", ga_code_str(r->code), r->message ? r->message : "");
        failed = 1;
    }
    ga_result_free(r);

    const char *ids[] = {"79001234567@c.us", "hidden@lid", "status-403@c.us"};
    ga_result *results[3];
    if (ga_get_avatars(client, ids, 3, results) != GA_OK) {
        fprintf(stderr, "get_avatars refused the batch\n");
        failed = 1;
    } else {
        failed |= results[0]->code != GA_OK || results[1]->code != GA_OK ||
                  results[1]->available != 0 || results[2]->code != GA_FORBIDDEN;
        ga_results_free(results, 3);
    }
    ga_client_free(client);
    printf("%s: greenapi %s\n", failed ? "FAILED" : "ok", ga_version());
    return failed;
}
