/*
 * ga_client_options_init(options, version) writes only the fields of the caller's version, and
 * refuses a version it does not know without writing anything; ga_client_new_with_options
 * refuses an options struct whose version is 0 or newer than the library.
 */
#include "ga_test.h"

#include <stddef.h>

/* The bytes of a version 1 struct: up to the end of its last field, not sizeof (which adds
 * trailing padding a version 1 caller may not have). */
#define V1_END (offsetof(ga_client_options, allow_insecure_http) + sizeof(bool))
#define V2_END (offsetof(ga_client_options, max_in_flight) + sizeof(uint32_t))
#define V3_END (offsetof(ga_client_options, pacing) + sizeof(const char *))
#define V4_END (offsetof(ga_client_options, event_min_level) + sizeof(uint32_t))

static int all_bytes(const void *p, size_t from, size_t to, unsigned char want)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = from; i < to; i++) {
        if (b[i] != want) {
            return 0;
        }
    }
    return 1;
}

static void init_refused(unsigned int version, const char *what)
{
    ga_client_options o;
    memset(&o, 0xa5, sizeof o);
    CHECKF(ga_client_options_init(&o, version) == GA_INVALID_ARGUMENT, "%s: not refused", what);
    CHECKF(all_bytes(&o, 0, sizeof o, 0xa5), "%s: the struct was written", what);
}

static void new_refused(const ga_client_options *o, const char *what)
{
    ga_code code = 12345;
    ga_client *c = ga_client_new_with_options(ga_test_id(), ga_test_token(), o, &code);
    CHECKF(c == NULL, "%s: a client was made", what);
    CHECKF(code == GA_INVALID_ARGUMENT, "%s: code %u (%s)", what, (unsigned)code,
           ga_code_str(code));
    ga_client_free(c);
}

int main(void)
{
    const char *url = ga_test_url();
    ga_client_options o;

    CHECK(GA_CLIENT_OPTIONS_VERSION == 4);
    CHECK(ga_client_options_init(NULL, GA_CLIENT_OPTIONS_VERSION) == GA_NULL_ARGUMENT);

    init_refused(0, "version 0");
    init_refused(GA_CLIENT_OPTIONS_VERSION + 1, "version + 1");
    init_refused(0xffffffffu, "version UINT_MAX");

    /* the current version: every field written, the trailing padding left alone */
    memset(&o, 0xa5, sizeof o);
    CHECK(ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    CHECK(o.version == GA_CLIENT_OPTIONS_VERSION);
    CHECK(o.api_url == NULL);
    CHECK(o.max_body_bytes == 1024u * 1024u);
    CHECK(o.allow_insecure_http == false);
    CHECK(o.max_in_flight == 64);
    CHECK(o.pacing == NULL);
    CHECK(o.max_download_bytes == 5u * 1024u * 1024u);
    CHECK(o.download_hosts == NULL);
    CHECK(o.on_event == NULL && o.on_event_user == NULL);
    CHECK(o.event_min_level == GA_LEVEL_INFO);
    CHECKF(all_bytes(&o, V4_END, sizeof o, 0xa5), "bytes after event_min_level written");

    /* version 3 as such: nothing of version 4 written */
    memset(&o, 0xa5, sizeof o);
    CHECK(ga_client_options_init(&o, 3) == GA_OK);
    CHECK(o.version == 3 && o.pacing == NULL);
    CHECKF(all_bytes(&o, V3_END, sizeof o, 0xa5), "version 3 init wrote version 4's fields");

    /* version 2 as such: nothing of version 3 written */
    memset(&o, 0xa5, sizeof o);
    CHECK(ga_client_options_init(&o, 2) == GA_OK);
    CHECK(o.version == 2 && o.max_in_flight == 64);
    CHECKF(all_bytes(&o, V2_END, sizeof o, 0xa5), "version 2 init wrote version 3's field");

    /* version 1 as such, the size a program built against the version 1 header has */
    memset(&o, 0xa5, sizeof o);
    CHECK(ga_client_options_init(&o, 1) == GA_OK);
    CHECK(o.version == 1);
    CHECK(o.timeout_ms == 30000);
    CHECKF(all_bytes(&o, V1_END, sizeof o, 0xa5), "version 1 init wrote version 2's field");

    /* a struct that was initialised, then given a version the library does not know */
    o = ga_test_options(url);
    o.version = 0;
    new_refused(&o, "new with version 0");
    o = ga_test_options(url);
    o.version = GA_CLIENT_OPTIONS_VERSION + 1;
    new_refused(&o, "new with version + 1");
    o = ga_test_options(url);
    o.version = 0xffffffffu;
    new_refused(&o, "new with version UINT_MAX");

    /* a C bool holding a byte that is neither 0 nor 1 is read as true, without UB */
    o = ga_test_options(url);
    o.api_url = "http://example.invalid";
    memset(&o.allow_insecure_http, 2, 1);
    {
        ga_code code = 12345;
        ga_client *c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, &code);
        CHECKF(c != NULL && code == GA_OK, "allow_insecure_http byte 2: code %u", (unsigned)code);
        ga_client_free(c);
    }

    /* pacing: the names it takes, and what a client reports */
    CHECK(ga_client_pacing(NULL) == NULL);
    {
        static const char *const names[] = {"process", "host"};
        size_t i;
        for (i = 0; i < 2; i++) {
            ga_code code = 12345;
            ga_client *c;
            o = ga_test_options(url);
            o.rate_limit_per_sec = 10;
            o.pacing = names[i];
            c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, &code);
            CHECKF(c != NULL, "pacing %s: code %u", names[i], (unsigned)code);
            if (c != NULL) {
                /* make test gives the suite a host-pacing directory it can use */
                CHECKF(strcmp(ga_client_pacing(c), names[i]) == 0, "pacing %s in force: %s",
                       names[i], ga_client_pacing(c));
            }
            ga_client_free(c);
        }
        o = ga_test_options(url);
        o.pacing = "shared";
        new_refused(&o, "pacing \"shared\"");
        CHECKF(strstr(ga_last_error_message(), "options.pacing") != NULL, "message: %s",
               ga_last_error_message());
    }

    /* an initialised struct still works end to end */
    o = ga_test_options(url);
    {
        ga_code code = 12345;
        ga_client *c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, &code);
        CHECKF(c != NULL, "code %u", (unsigned)code);
        if (c != NULL) {
            ga_result *r = ga_get_avatar(c, "79001234567");
            CHECKF(r->code == GA_OK, "code %u (%s)", (unsigned)r->code, ga_code_str(r->code));
            ga_result_free(r);
        }
        ga_client_free(c);
    }
    return ga_test_done("test_options_version");
}
