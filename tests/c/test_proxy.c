/*
 * Proxy settings, on loopback only. opts.proxy: NULL = from the environment, "" = none,
 * else the proxy's URL.
 *  - "" ignores proxy variables in the environment that point at a closed port.
 *  - NULL uses them (the call fails to connect to the "proxy").
 *  - An explicit proxy is used: pointing it at the stand-in (which does not implement CONNECT)
 *    makes the call fail at the proxy even though api_url is a closed port, and the message
 *    says so; pointing it at a closed port fails although api_url is the live stand-in.
 */
#include "ga_test.h"

static ga_result *call(const char *what, const char *api_url, const char *proxy)
{
    ga_client_options o = ga_test_options(api_url);
    ga_code code = 12345;
    ga_client *c;
    ga_result *r;
    o.proxy = proxy;
    o.max_retries = 0;
    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, &code);
    CHECKF(c != NULL, "%s: client refused: %u (%s)", what, (unsigned)code, ga_code_str(code));
    if (c == NULL) {
        return NULL;
    }
    r = ga_get_avatar(c, "79001234567@c.us");
    ga_client_free(c);
    CHECKF(r != NULL, "%s: NULL result", what);
    if (r != NULL && r->code != GA_OK) {
        CHECKF(r->message != NULL && strstr(r->message, ga_test_token()) == NULL,
               "%s: message missing or leaks the token", what);
    }
    return r;
}

int main(void)
{
    const char *url = ga_test_url();
    char closed[64];
    ga_result *r;

    snprintf(closed, sizeof closed, "http://127.0.0.1:%d", ga_closed_port());

    /* proxy variables in the environment point at a closed port */
    unsetenv("NO_PROXY");
    unsetenv("no_proxy");
    setenv("HTTPS_PROXY", closed, 1);
    setenv("https_proxy", closed, 1);
    setenv("ALL_PROXY", closed, 1);
    setenv("all_proxy", closed, 1);
    setenv("HTTP_PROXY", closed, 1);
    setenv("http_proxy", closed, 1);

    r = call("proxy \"\" with env proxies", url, "");
    if (r != NULL) {
        CHECKF(r->code == GA_OK, "proxy \"\": code %u (%s): %s", (unsigned)r->code,
               ga_code_str(r->code), r->message ? r->message : "");
        ga_result_free(r);
    }
    r = call("proxy NULL with env proxies", url, NULL);
    if (r != NULL) {
        CHECKF(r->code == GA_NETWORK, "proxy NULL: code %u (%s), wanted GA_NETWORK (env proxy "
               "not used?)", (unsigned)r->code, ga_code_str(r->code));
        CHECK(r->http_status == 0);
        ga_result_free(r);
    }

    unsetenv("HTTPS_PROXY");
    unsetenv("https_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("http_proxy");

    r = call("explicit proxy = stand-in", closed, url);
    if (r != NULL) {
        CHECKF(r->code == GA_NETWORK, "explicit proxy: code %u (%s)", (unsigned)r->code,
               ga_code_str(r->code));
        CHECKF(r->message != NULL && (strstr(r->message, "proxy") != NULL ||
                                      strstr(r->message, "CONNECT") != NULL),
               "explicit proxy: the message does not mention the proxy: %s",
               r->message ? r->message : "(null)");
        ga_result_free(r);
    }
    r = call("explicit proxy = closed port", url, closed);
    if (r != NULL) {
        CHECKF(r->code == GA_NETWORK, "closed proxy: code %u (%s)", (unsigned)r->code,
               ga_code_str(r->code));
        ga_result_free(r);
    }
    /* no env proxies and proxy NULL: direct */
    r = call("proxy NULL without env proxies", url, NULL);
    if (r != NULL) {
        CHECKF(r->code == GA_OK, "proxy NULL, no env: code %u (%s)", (unsigned)r->code,
               ga_code_str(r->code));
        ga_result_free(r);
    }
    return ga_test_done("test_proxy");
}
