/*
 * Proxy choice, with no traffic leaving loopback. opts.proxy: NULL = from ALL_PROXY /
 * HTTPS_PROXY (either case; NO_PROXY honoured; HTTP_PROXY alone ignored; never for a loopback
 * api_url), "" = none, else the proxy's URL.
 *
 * The stand-in plays the proxy: it does not implement CONNECT, so a call that went through it
 * fails with GA_NETWORK and a message about the proxy. The non-loopback api_url is under
 * .invalid, which the library refuses without a DNS query, so a call that did NOT use the
 * proxy fails with GA_NETWORK and a message that does not mention a proxy.
 */
#include "ga_test.h"

#define INVALID_HOST "https://greenapi-test.invalid"

static const char *g_url;

static void clear_env(void)
{
    static const char *const names[] = {"ALL_PROXY",  "all_proxy",  "HTTPS_PROXY", "https_proxy",
                                        "HTTP_PROXY", "http_proxy", "NO_PROXY",    "no_proxy"};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        unsetenv(names[i]);
    }
}

static int mentions_proxy(const char *s)
{
    return s != NULL && (strstr(s, "proxy") != NULL || strstr(s, "CONNECT") != NULL);
}

/* want_proxy: 1 the call must have gone to the proxy, 0 it must not have, -1 OK expected. */
static void call(const char *what, const char *api_url, const char *proxy, int want_proxy)
{
    ga_client_options o = ga_test_options(api_url);
    ga_code code = 12345;
    ga_client *c;
    ga_result *r;
    o.proxy = proxy;
    o.max_retries = 0;
    o.timeout_ms = 5000;
    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, &code);
    CHECKF(c != NULL, "%s: client refused: %u (%s)", what, (unsigned)code, ga_code_str(code));
    if (c == NULL) {
        return;
    }
    r = ga_get_avatar(c, "79001234567@c.us");
    ga_client_free(c);
    CHECKF(r != NULL, "%s: NULL result", what);
    if (r == NULL) {
        return;
    }
    if (want_proxy < 0) {
        CHECKF(r->code == GA_OK, "%s: code %u (%s): %s", what, (unsigned)r->code,
               ga_code_str(r->code), r->message ? r->message : "");
    } else {
        CHECKF(r->code == GA_NETWORK, "%s: code %u (%s), wanted GA_NETWORK: %s", what,
               (unsigned)r->code, ga_code_str(r->code), r->message ? r->message : "");
        CHECKF(r->http_status == 0, "%s: http_status %u", what, (unsigned)r->http_status);
        CHECKF(r->message != NULL, "%s: no message", what);
        CHECKF(mentions_proxy(r->message) == want_proxy, "%s: proxy %s, message: %s", what,
               want_proxy ? "not used" : "used", r->message ? r->message : "(null)");
        if (r->message != NULL) {
            CHECKF(strstr(r->message, ga_test_token()) == NULL, "%s: token leaked", what);
        }
    }
    ga_result_free(r);
}

int main(void)
{
    char closed[64];
    g_url = ga_test_url();
    snprintf(closed, sizeof closed, "http://127.0.0.1:%d", ga_closed_port());

    clear_env();
    call("no env proxy, NULL", INVALID_HOST, NULL, 0);
    call("no env proxy, NULL, loopback", g_url, NULL, -1);

    setenv("HTTPS_PROXY", g_url, 1);
    call("HTTPS_PROXY, NULL", INVALID_HOST, NULL, 1);
    call("HTTPS_PROXY, \"\"", INVALID_HOST, "", 0);
    call("HTTPS_PROXY, NULL, loopback api_url (never proxied)", g_url, NULL, -1);
    call("HTTPS_PROXY, \"\", loopback api_url", g_url, "", -1);
    setenv("NO_PROXY", "greenapi-test.invalid", 1);
    call("HTTPS_PROXY with NO_PROXY for the host", INVALID_HOST, NULL, 0);
    clear_env();

    setenv("https_proxy", g_url, 1);
    call("https_proxy (lower case), NULL", INVALID_HOST, NULL, 1);
    clear_env();

    setenv("ALL_PROXY", g_url, 1);
    call("ALL_PROXY, NULL", INVALID_HOST, NULL, 1);
    clear_env();

    setenv("HTTP_PROXY", g_url, 1);
    setenv("http_proxy", g_url, 1);
    call("HTTP_PROXY alone is not used", INVALID_HOST, NULL, 0);
    clear_env();

    /* an explicit proxy is used, also for loopback */
    call("explicit proxy, .invalid", INVALID_HOST, g_url, 1);
    call("explicit proxy, loopback", g_url, g_url, 1);
    call("explicit proxy on a closed port", g_url, closed, 0);

    return ga_test_done("test_proxy");
}
