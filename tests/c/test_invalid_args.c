/*
 * Invalid arguments and options are refused with GA_INVALID_ARGUMENT, before anything is sent.
 * Clients point at the stand-in (GA_TEST_URL) so that a wrongly accepted chat id could only
 * ever reach loopback; attempts == 0 proves nothing was sent.
 */
#include "ga_test.h"

#include <math.h>

static const char *g_id;
static const char *g_token;

/* Expects construction with (id, token, opts) to fail with `want`. */
static void refuse(const char *what, const char *id, const char *token,
                   const ga_client_options *opts, ga_code want)
{
    ga_code code = 12345;
    ga_client *c = ga_client_new_with_options(id, token, opts, &code);
    CHECKF(c == NULL, "%s: client was made", what);
    CHECKF(code == want, "%s: code %u (%s), wanted %u", what, (unsigned)code, ga_code_str(code),
           (unsigned)want);
    ga_client_free(c);
}

static void accept_opts(const char *what, const ga_client_options *opts)
{
    ga_code code = 12345;
    ga_client *c = ga_client_new_with_options(g_id, g_token, opts, &code);
    CHECKF(c != NULL, "%s: refused with %u (%s)", what, (unsigned)code, ga_code_str(code));
    CHECKF(code == GA_OK, "%s: code %u", what, (unsigned)code);
    ga_client_free(c);
}

static void refuse_chat(ga_client *client, const char *what, const char *chat_id)
{
    ga_result *r = ga_get_avatar(client, chat_id);
    CHECKF(r != NULL, "%s: NULL result", what);
    if (r == NULL) {
        return;
    }
    CHECKF(r->code == GA_INVALID_ARGUMENT, "%s: code %u (%s)", what, (unsigned)r->code,
           ga_code_str(r->code));
    CHECKF(r->attempts == 0, "%s: %u attempts (something was sent)", what, (unsigned)r->attempts);
    CHECKF(r->http_status == 0, "%s: http_status %u", what, (unsigned)r->http_status);
    CHECKF(r->message != NULL, "%s: message NULL", what);
    CHECKF(r->url_avatar != NULL && r->url_avatar[0] == '\0', "%s: url_avatar", what);
    if (r->message != NULL) {
        CHECKF(strstr(r->message, g_token) == NULL, "%s: message has the token: %s", what,
               r->message);
    }
    ga_result_free(r);
}

int main(void)
{
    const char *url = ga_test_url();
    ga_client_options base = ga_test_options(url);
    ga_client_options o;
    ga_client *client;
    char long_chat[300];
    char max_chat[300];

    g_id = ga_test_id();
    g_token = ga_test_token();

    /* ga_client_options_init gives the documented defaults */
    memset(&o, 0x5a, sizeof o);
    CHECK(ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    CHECK(o.version == GA_CLIENT_OPTIONS_VERSION);
    CHECK(o.api_url == NULL);
    CHECK(o.timeout_ms == 30000);
    CHECK(o.connect_timeout_ms == 10000);
    CHECK(o.max_retries == 2);
    CHECK(o.rate_limit_per_sec == 10.0);
    CHECK(o.user_agent == NULL);
    CHECK(o.ca_file == NULL);
    CHECK(o.proxy == NULL);
    CHECK(o.max_body_bytes == 1024u * 1024u);
    CHECK(o.allow_insecure_http == false);

    accept_opts("baseline", &base);

    /* id_instance: digits only */
    refuse("id with a letter", "11010a0001", g_token, &base, GA_INVALID_ARGUMENT);
    refuse("id empty", "", g_token, &base, GA_INVALID_ARGUMENT);
    refuse("id with space", "1101 0001", g_token, &base, GA_INVALID_ARGUMENT);
    refuse("id negative", "-1101", g_token, &base, GA_INVALID_ARGUMENT);
    refuse("id with slash", "1101/../x", g_token, &base, GA_INVALID_ARGUMENT);
    refuse("id invalid UTF-8", "1101\xff", g_token, &base, GA_INVALID_ARGUMENT);

    /* token: A-Za-z0-9-._~ only */
    refuse("token with /", g_id, "abc/def", &base, GA_INVALID_ARGUMENT);
    refuse("token with ?", g_id, "abc?def", &base, GA_INVALID_ARGUMENT);
    refuse("token with #", g_id, "abc#def", &base, GA_INVALID_ARGUMENT);
    refuse("token with space", g_id, "abc def", &base, GA_INVALID_ARGUMENT);
    refuse("token with control", g_id, "abc\x01" "def", &base, GA_INVALID_ARGUMENT);
    refuse("token with CRLF", g_id, "abc\r\ndef", &base, GA_INVALID_ARGUMENT);
    refuse("token with %", g_id, "abc%2Fdef", &base, GA_INVALID_ARGUMENT);
    refuse("token empty", g_id, "", &base, GA_INVALID_ARGUMENT);
    refuse("token of 1", g_id, "c", &base, GA_INVALID_ARGUMENT);
    refuse("token of 15", g_id, "0123456789abcde", &base, GA_INVALID_ARGUMENT);
    refuse("token invalid UTF-8", g_id, "abc\xc3\x28", &base, GA_INVALID_ARGUMENT);
    accept_opts("token with -._~", &base);
    {
        ga_code code = 1;
        ga_client *c = ga_client_new_with_options(g_id, "aZ09-._~aZ09-._~", &base, &code);
        CHECKF(c != NULL && code == GA_OK, "token aZ09-._~aZ09-._~ refused: %u", (unsigned)code);
        ga_client_free(c);
    }
    /* the plain constructor refuses the same way (NULL) */
    CHECK(ga_client_new("abc", g_token) == NULL);
    CHECK(ga_client_new(g_id, "a/b") == NULL);

    /* options */
    memset(&o, 0, sizeof o); /* never initialised: version 0 */
    o.api_url = url;
    o.proxy = "";
    o.timeout_ms = 1000;
    o.connect_timeout_ms = 1000;
    o.max_body_bytes = 1024;
    refuse("options version 0", g_id, g_token, &o, GA_INVALID_ARGUMENT);

    o = base; o.timeout_ms = 0;
    refuse("timeout_ms 0", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.connect_timeout_ms = 0;
    refuse("connect_timeout_ms 0", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.max_retries = 11;
    refuse("max_retries 11", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.max_retries = 10;
    accept_opts("max_retries 10", &o);
    o = base; o.rate_limit_per_sec = -1.0;
    refuse("rate -1", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.rate_limit_per_sec = NAN;
    refuse("rate NaN", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.rate_limit_per_sec = INFINITY;
    refuse("rate infinity", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.rate_limit_per_sec = 2.5;
    accept_opts("rate 2.5", &o);
    o = base; o.max_body_bytes = 0;
    refuse("max_body_bytes 0", g_id, g_token, &o, GA_INVALID_ARGUMENT);

    /* every numeric option has bounds, refused here rather than panicking (GA_PANIC) or
     * sleeping for hours in a call */
    o = base; o.rate_limit_per_sec = 1e-19;
    refuse("rate 1e-19", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.rate_limit_per_sec = 0.0001;
    refuse("rate 0.0001 (one call every 10000 s)", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.rate_limit_per_sec = 10001.0;
    refuse("rate 10001", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.rate_limit_per_sec = 1.0 / 3600.0;
    accept_opts("rate 1/3600 (one an hour)", &o);
    o = base; o.rate_limit_per_sec = 10000.0;
    accept_opts("rate 10000", &o);
    o = base; o.rate_limit_per_sec = 0.0;
    accept_opts("rate 0 (off)", &o);
    o = base; o.timeout_ms = 86400001u;
    refuse("timeout_ms 86400001", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.timeout_ms = UINT32_MAX;
    refuse("timeout_ms UINT32_MAX", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.connect_timeout_ms = 86400001u;
    refuse("connect_timeout_ms 86400001", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.timeout_ms = 86400000u; o.connect_timeout_ms = 86400000u;
    accept_opts("timeouts of one day", &o);
    o = base; o.timeout_ms = 1; o.connect_timeout_ms = 1;
    accept_opts("timeouts of 1 ms", &o);
    o = base; o.max_body_bytes = (1u << 30) + 1u;
    refuse("max_body_bytes 1 GiB + 1", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.max_body_bytes = UINT64_MAX;
    refuse("max_body_bytes UINT64_MAX", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.max_body_bytes = 1u << 30;
    accept_opts("max_body_bytes 1 GiB", &o);
    o = base; o.max_body_bytes = 1;
    accept_opts("max_body_bytes 1", &o);

    o = base; o.api_url = "ftp://x";
    refuse("api_url ftp", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.api_url = "";
    refuse("api_url empty", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.api_url = "not a url";
    refuse("api_url not a URL", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.api_url = "https://api.green-api.com/\xff";
    refuse("api_url invalid UTF-8", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    /* plain http to a host that is not loopback: refused at construction (nothing is sent) */
    o = base; o.api_url = "http://example.invalid";
    refuse("http to non-loopback", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.api_url = "http://example.invalid"; o.allow_insecure_http = true;
    accept_opts("http to non-loopback with allow_insecure_http", &o); /* never called */
    o = base; o.api_url = "http://localhost:9/prefix/";
    accept_opts("http to localhost with a prefix", &o);
    o = base; o.api_url = "https://1101.api.greenapi.com";
    accept_opts("https instance host", &o); /* never called */

    o = base; o.proxy = "::garbage proxy::";
    refuse("proxy garbage", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.proxy = "http://127.0.0.1:\xff";
    refuse("proxy invalid UTF-8", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.ca_file = "/nonexistent/greenapi-test/ca.pem";
    refuse("ca_file missing", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.ca_file = "/nonexistent/\xff.pem";
    refuse("ca_file invalid UTF-8", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.user_agent = "ua\xff";
    refuse("user_agent invalid UTF-8", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.user_agent = "ua\r\nX-Injected: 1";
    refuse("user_agent with CRLF", g_id, g_token, &o, GA_INVALID_ARGUMENT);
    o = base; o.user_agent = "my-app/1.0";
    accept_opts("user_agent", &o);

    /* chat ids */
    client = ga_client_new_with_options(g_id, g_token, &base, NULL);
    CHECK(client != NULL);
    if (client != NULL) {
        memset(long_chat, 'a', 252);
        memcpy(long_chat + 252, "@c.us", 6); /* 257 bytes */
        CHECK(strlen(long_chat) == 257);
        memset(max_chat, '1', 251);
        memcpy(max_chat + 251, "@c.us", 6); /* 256 bytes */
        CHECK(strlen(max_chat) == 256);

        refuse_chat(client, "empty", "");
        refuse_chat(client, "with space", "7900 1234567@c.us");
        refuse_chat(client, "trailing space", "79001234567@c.us ");
        refuse_chat(client, "with tab", "79001234567\t@c.us");
        refuse_chat(client, "with newline", "79001234567@c.us\n");
        refuse_chat(client, "with control", "79001234567\x01@c.us");
        refuse_chat(client, "257 bytes", long_chat);
        refuse_chat(client, "abc", "abc");
        refuse_chat(client, "+abc", "+abc");
        refuse_chat(client, "plus only", "+");
        refuse_chat(client, "invalid UTF-8", "7900\xff@c.us");
        refuse_chat(client, "invalid UTF-8 (overlong)", "\xc0\xaf@c.us");

        /* exactly 256 bytes is allowed: it reaches the stand-in and gets an answer */
        {
            ga_result *r = ga_get_avatar(client, max_chat);
            CHECK(r != NULL);
            if (r != NULL) {
                CHECKF(r->code == GA_OK, "256-byte chat id: code %u (%s) %s", (unsigned)r->code,
                       ga_code_str(r->code), r->message ? r->message : "");
                CHECK(r->attempts == 1);
                ga_result_free(r);
            }
        }
        ga_client_free(client);
    }
    return ga_test_done("test_invalid_args");
}
