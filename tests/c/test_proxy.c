/*
 * Proxy choice, with no traffic leaving loopback. opts.proxy: NULL = from ALL_PROXY /
 * HTTPS_PROXY (either case; NO_PROXY honoured; HTTP_PROXY alone ignored; never for a loopback
 * api_url), "" = none, else the proxy's URL.
 *
 * The stand-in plays the proxy: it does not implement CONNECT, so a call that went through it
 * fails with GA_NETWORK and a message about the proxy. The non-loopback api_url is under
 * .invalid, which the library refuses without a DNS query, so a call that did NOT use the
 * proxy fails with GA_NETWORK and a message that does not mention a proxy. A proxy that cannot
 * be reached is named in the message too.
 */
#include "ga_test.h"

#include <pthread.h>

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

/* Creation must fail with GA_INVALID_ARGUMENT (an unusable proxy setting). */
static void refuse(const char *what, const char *api_url, const char *proxy)
{
    ga_client_options o = ga_test_options(api_url);
    ga_code code = 12345;
    ga_client *c;
    o.proxy = proxy;
    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, &code);
    CHECKF(c == NULL, "%s: client was made", what);
    CHECKF(code == GA_INVALID_ARGUMENT, "%s: code %u (%s)", what, (unsigned)code,
           ga_code_str(code));
    ga_client_free(c);
}

/* ---- a proxy that answers every CONNECT with 407, counting them --------------------------- */

static int g_refuser_fd = -1;
static int g_refuser_port;
static int g_connects;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void *refuser(void *arg)
{
    static const char answer[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                 "Proxy-Authenticate: Basic realm=\"test\"\r\n"
                                 "Content-Length: 0\r\n\r\n";
    (void)arg;
    for (;;) {
        char buf[4096];
        size_t have = 0;
        int fd = accept(g_refuser_fd, NULL, NULL);
        if (fd < 0) {
            return NULL; /* the listening socket was shut down */
        }
        for (;;) {
            ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
            if (r <= 0) {
                break;
            }
            have += (size_t)r;
            buf[have] = '\0';
            if (strstr(buf, "\r\n\r\n") != NULL || have + 1 >= sizeof buf) {
                pthread_mutex_lock(&g_lock);
                g_connects += strncmp(buf, "CONNECT ", 8) == 0;
                pthread_mutex_unlock(&g_lock);
                (void)send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL);
                break;
            }
        }
        close(fd);
    }
}

static int start_refuser(pthread_t *th)
{
    g_refuser_fd = ga_loopback_socket(16, &g_refuser_port);
    if (g_refuser_fd < 0) {
        return -1;
    }
    return pthread_create(th, NULL, refuser, NULL);
}

/* A 407 is the proxy refusing: one CONNECT, no retry, a message that says why. */
static void proxy_auth_refused(void)
{
    pthread_t th;
    char proxy[96];
    ga_client_options o = ga_test_options(INVALID_HOST);
    ga_client *c;
    ga_result *r;
    if (start_refuser(&th) != 0) {
        CHECKF(0, "cannot start the refusing proxy");
        return;
    }
    snprintf(proxy, sizeof proxy, "http://user:s3cret@127.0.0.1:%d", g_refuser_port);
    o.proxy = proxy;
    o.max_retries = 3;
    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    CHECK(c != NULL);
    r = ga_get_avatar(c, "79001234567@c.us");
    CHECKF(r->code == GA_NETWORK, "407: code %u (%s)", (unsigned)r->code, ga_code_str(r->code));
    CHECKF(r->attempts == 1, "407: %u attempts", (unsigned)r->attempts);
    CHECKF(strstr(r->message, "the proxy refused the tunnel") != NULL &&
               strstr(r->message, "407") != NULL,
           "407: message: %s", r->message);
    CHECKF(strstr(r->message, "s3cret") == NULL, "407: the password leaked: %s", r->message);
    ga_result_free(r);
    ga_client_free(c);
    pthread_mutex_lock(&g_lock);
    CHECKF(g_connects == 1, "407: %d CONNECTs, wanted 1", g_connects);
    pthread_mutex_unlock(&g_lock);
    shutdown(g_refuser_fd, SHUT_RDWR);
    pthread_join(th, NULL);
    close(g_refuser_fd);
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
    /* an unusable HTTPS_PROXY is refused, not skipped for HTTP_PROXY */
    setenv("HTTPS_PROXY", "ftp://bad", 1);
    refuse("HTTPS_PROXY=ftp://bad with HTTP_PROXY set", INVALID_HOST, NULL);
    setenv("HTTPS_PROXY", "socks5://127.0.0.1:1", 1);
    refuse("HTTPS_PROXY=socks5 (not supported)", INVALID_HOST, NULL);
    /* an explicit proxy does not read the environment at all */
    call("explicit proxy despite a bad HTTPS_PROXY", INVALID_HOST, g_url, 1);
    clear_env();

    /* NO_PROXY: a domain and everything under it, with or without the leading dot */
    setenv("HTTPS_PROXY", g_url, 1);
    setenv("NO_PROXY", "invalid", 1);
    call("NO_PROXY=invalid", INVALID_HOST, NULL, 0);
    setenv("NO_PROXY", ".invalid", 1);
    call("NO_PROXY=.invalid", INVALID_HOST, NULL, 0);
    setenv("NO_PROXY", "*", 1);
    call("NO_PROXY=*", INVALID_HOST, NULL, 0);
    setenv("NO_PROXY", "test.invalid", 1);
    call("NO_PROXY=test.invalid (a partial label)", INVALID_HOST, NULL, 1);
    clear_env();

    /* plain http to loopback through a proxy that is not on loopback: refused */
    refuse("http to loopback via a remote proxy", g_url, "http://proxy.greenapi-test.invalid:3128");

    /* an explicit proxy is used, also for loopback */
    call("explicit proxy, .invalid", INVALID_HOST, g_url, 1);
    call("explicit proxy, loopback", g_url, g_url, 1);
    /* a dead proxy: the message names it */
    call("explicit proxy on a closed port", g_url, closed, 1);

    proxy_auth_refused();

    return ga_test_done("test_proxy");
}
