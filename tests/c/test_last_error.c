/*
 * ga_last_error_message: why the last ga_client_new* / ga_client_options_init on this thread
 * failed. Each refused argument or option is named; the token never appears; a success clears
 * the message; another thread has its own.
 */
#include "ga_test.h"

#include <pthread.h>

static const char *g_id;
static const char *g_url;

/* A token that passes every check: refusals for other reasons must not echo it. */
#define SECRET_TOKEN "Secret-Token.0123456789abcdef"

static int has(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* Construction with (id, token, opts) fails; the message names `names` and holds no token. */
static void refused(const char *what, const char *id, const char *token,
                    const ga_client_options *opts, const char *names)
{
    ga_code code = 12345;
    ga_client *c = ga_client_new_with_options(id, token, opts, &code);
    const char *m = ga_last_error_message();
    CHECKF(c == NULL, "%s: a client was made", what);
    CHECKF(code != GA_OK, "%s: GA_OK", what);
    CHECKF(m != NULL, "%s: NULL message", what);
    CHECKF(has(m, names), "%s: message \"%s\" does not name %s", what, m ? m : "(null)", names);
    CHECKF(!has(m, SECRET_TOKEN), "%s: message has the token: %s", what, m);
    if (token != NULL && token[0] != '\0') {
        CHECKF(!has(m, token), "%s: message repeats the token: %s", what, m);
    }
    ga_client_free(c);
}

static void made(const char *what, const ga_client_options *opts)
{
    ga_code code = 12345;
    ga_client *c = ga_client_new_with_options(g_id, SECRET_TOKEN, opts, &code);
    const char *m = ga_last_error_message();
    CHECKF(c != NULL && code == GA_OK, "%s: code %u", what, (unsigned)code);
    CHECKF(m != NULL && m[0] == '\0', "%s: message not cleared: \"%s\"", what, m ? m : "(null)");
    ga_client_free(c);
}

struct other {
    const char *seen_first;
    char seen_after[256];
    int made_null;
};

/* On a fresh thread: nothing yet, then a failure of its own. */
static void *other_thread(void *arg)
{
    struct other *t = (struct other *)arg;
    const char *m = ga_last_error_message();
    t->seen_first = (m != NULL && m[0] == '\0') ? "" : m;
    t->made_null = ga_client_new("not-digits", SECRET_TOKEN) == NULL;
    m = ga_last_error_message();
    snprintf(t->seen_after, sizeof t->seen_after, "%s", m != NULL ? m : "(null)");
    return NULL;
}

int main(void)
{
    ga_client_options base;
    ga_client_options o;

    g_id = ga_test_id();
    g_url = ga_test_url();

    /* before any call: "" */
    CHECK(ga_last_error_message() != NULL);
    CHECK(ga_last_error_message()[0] == '\0');

    base = ga_test_options(g_url);

    /* NULL arguments are named */
    refused("id NULL", NULL, SECRET_TOKEN, &base, "id_instance");
    refused("token NULL", g_id, NULL, &base, "api_token_instance");
    CHECK(ga_client_new(NULL, SECRET_TOKEN) == NULL);
    CHECK(has(ga_last_error_message(), "id_instance"));
    CHECK(ga_client_options_init(NULL, GA_CLIENT_OPTIONS_VERSION) == GA_NULL_ARGUMENT);
    CHECK(has(ga_last_error_message(), "options"));

    /* refused arguments */
    refused("id with a letter", "11010a0001", SECRET_TOKEN, &base, "id_instance");
    refused("id invalid UTF-8", "1101\xff", SECRET_TOKEN, &base, "id_instance");
    refused("token with /", g_id, "Secret/Token", &base, "api_token_instance");
    refused("token with %", g_id, "Secret%2FToken", &base, "api_token_instance");
    refused("token invalid UTF-8", g_id, "Secret\xc3\x28", &base, "api_token_instance");
    CHECK(ga_client_new("abc", SECRET_TOKEN) == NULL);
    CHECK(has(ga_last_error_message(), "id_instance"));
    CHECK(!has(ga_last_error_message(), SECRET_TOKEN));

    /* refused options */
    o = base; o.version = 0;
    refused("version 0", g_id, SECRET_TOKEN, &o, "version");
    o = base; o.version = GA_CLIENT_OPTIONS_VERSION + 1;
    refused("version + 1", g_id, SECRET_TOKEN, &o, "version");
    o = base; o.timeout_ms = 0;
    refused("timeout_ms 0", g_id, SECRET_TOKEN, &o, "timeout");
    o = base; o.connect_timeout_ms = 0;
    refused("connect_timeout_ms 0", g_id, SECRET_TOKEN, &o, "connect_timeout");
    o = base; o.max_retries = 11;
    refused("max_retries 11", g_id, SECRET_TOKEN, &o, "max_retries");
    o = base; o.rate_limit_per_sec = -1.0;
    refused("rate -1", g_id, SECRET_TOKEN, &o, "rate_limit_per_sec");
    o = base; o.max_body_bytes = 0;
    refused("max_body_bytes 0", g_id, SECRET_TOKEN, &o, "max_body_bytes");
    o = base; o.api_url = "ftp://x";
    refused("api_url ftp", g_id, SECRET_TOKEN, &o, "api_url");
    o = base; o.api_url = "http://example.invalid";
    refused("api_url plain http", g_id, SECRET_TOKEN, &o, "api_url");
    o = base; o.api_url = "https://api.green-api.com/\xff";
    refused("api_url invalid UTF-8", g_id, SECRET_TOKEN, &o, "api_url");
    o = base; o.proxy = "::garbage proxy::";
    refused("proxy", g_id, SECRET_TOKEN, &o, "proxy");
    o = base; o.ca_file = "/nonexistent/greenapi-test/ca.pem";
    refused("ca_file", g_id, SECRET_TOKEN, &o, "ca_file");
    o = base; o.user_agent = "ua\r\nX-Injected: 1";
    refused("user_agent", g_id, SECRET_TOKEN, &o, "user_agent");

    /* ga_client_options_init's own refusals */
    CHECK(ga_client_options_init(&o, 0) == GA_INVALID_ARGUMENT);
    CHECK(has(ga_last_error_message(), "version"));
    CHECK(ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION + 1) == GA_INVALID_ARGUMENT);
    CHECK(has(ga_last_error_message(), "version"));
    /* ... and a successful init clears the message */
    CHECK(ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    CHECK(ga_last_error_message()[0] == '\0');

    /* a successful construction clears it */
    refused("before success", "x", SECRET_TOKEN, &base, "id_instance");
    made("success", &base);
    CHECK(ga_client_new_with_options(NULL, SECRET_TOKEN, &base, NULL) == NULL);
    CHECK(has(ga_last_error_message(), "id_instance"));
    {
        ga_client *c = ga_client_new(g_id, SECRET_TOKEN);
        CHECK(c != NULL);
        CHECK(ga_last_error_message()[0] == '\0');
        ga_client_free(c);
    }

    /* the message is per thread */
    o = base; o.max_retries = 11;
    refused("this thread", g_id, SECRET_TOKEN, &o, "max_retries");
    {
        struct other t;
        pthread_t th;
        memset(&t, 0, sizeof t);
        CHECK(pthread_create(&th, NULL, other_thread, &t) == 0);
        CHECK(pthread_join(th, NULL) == 0);
        CHECKF(t.seen_first != NULL && t.seen_first[0] == '\0',
               "a new thread sees another's message: \"%s\"", t.seen_first ? t.seen_first : "(null)");
        CHECK(t.made_null);
        CHECKF(has(t.seen_after, "id_instance"), "other thread: \"%s\"", t.seen_after);
        CHECKF(!has(t.seen_after, "max_retries"), "other thread: \"%s\"", t.seen_after);
        /* this thread's message is untouched by the other's failure */
        CHECKF(has(ga_last_error_message(), "max_retries"), "this thread: \"%s\"",
               ga_last_error_message());
    }
    return ga_test_done("test_last_error");
}
