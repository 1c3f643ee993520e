/* NULL arguments everywhere are refused cleanly (no crash, the documented codes). */
#include "ga_test.h"

static void check_null_result(ga_result *r, const char *what)
{
    CHECKF(r != NULL, "%s: ga_get_avatar returned NULL", what);
    if (r == NULL) {
        return;
    }
    CHECKF(r->code == GA_NULL_ARGUMENT, "%s: code %u (%s)", what, (unsigned)r->code,
           ga_code_str(r->code));
    CHECKF(r->message != NULL, "%s: message is NULL", what);
    CHECKF(r->url_avatar != NULL, "%s: url_avatar is NULL", what);
    if (r->url_avatar != NULL) {
        CHECKF(r->url_avatar[0] == '\0', "%s: url_avatar \"%s\"", what, r->url_avatar);
    }
    CHECKF(r->reason == NULL, "%s: reason set", what);
    CHECKF(r->http_status == 0, "%s: http_status %u", what, (unsigned)r->http_status);
    CHECKF(r->attempts == 0, "%s: attempts %u", what, (unsigned)r->attempts);
    CHECKF(r->exists_whatsapp == -1, "%s: exists_whatsapp %d", what, r->exists_whatsapp);
    CHECKF(r->available == -1, "%s: available %d", what, r->available);
    ga_result_free(r);
}

int main(void)
{
    const char *id = ga_test_id();
    const char *token = ga_test_token();
    ga_client_options opts;
    ga_client *client;
    ga_code code;

    CHECK(ga_client_new(NULL, token) == NULL);
    CHECK(ga_client_new(id, NULL) == NULL);
    CHECK(ga_client_new(NULL, NULL) == NULL);

    CHECK(ga_client_options_init(&opts, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    opts.proxy = "";

    code = 12345;
    CHECK(ga_client_new_with_options(NULL, token, &opts, &code) == NULL);
    CHECKF(code == GA_NULL_ARGUMENT, "code %u", (unsigned)code);
    code = 12345;
    CHECK(ga_client_new_with_options(id, NULL, &opts, &code) == NULL);
    CHECKF(code == GA_NULL_ARGUMENT, "code %u", (unsigned)code);
    code = 12345;
    CHECK(ga_client_new_with_options(NULL, NULL, NULL, &code) == NULL);
    CHECKF(code == GA_NULL_ARGUMENT, "code %u", (unsigned)code);
    /* code_out may be NULL, on failure and on success */
    CHECK(ga_client_new_with_options(NULL, token, &opts, NULL) == NULL);
    client = ga_client_new_with_options(id, token, &opts, NULL);
    CHECK(client != NULL);
    ga_client_free(client);

    /* options NULL means the defaults (construction only: nothing is sent) */
    code = 12345;
    client = ga_client_new_with_options(id, token, NULL, &code);
    CHECK(client != NULL);
    CHECKF(code == GA_OK, "code %u", (unsigned)code);
    ga_client_free(client);

    client = ga_client_new(id, token);
    CHECK(client != NULL);

    check_null_result(ga_get_avatar(NULL, "79001234567@c.us"), "client NULL");
    check_null_result(ga_get_avatar(NULL, NULL), "both NULL");
    check_null_result(ga_get_avatar(client, NULL), "chat_id NULL");

    ga_client_free(client);
    ga_client_free(NULL);
    ga_result_free(NULL);
    CHECK(ga_client_options_init(NULL, GA_CLIENT_OPTIONS_VERSION) == GA_NULL_ARGUMENT);

    return ga_test_done("test_null_args");
}
