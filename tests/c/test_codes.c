/*
 * Every ga_code that can be reached from outside, against the stand-in server.
 * For every non-OK result: message != NULL and free of the token; for OK: message == NULL.
 */
#include "ga_test.h"

static const char *g_id;
static const char *g_token;
static const char *g_url;
static int g_port;

static ga_client *make(const char *what, const char *url, const char *token, uint32_t max_retries,
                       uint32_t timeout_ms)
{
    ga_client_options o = ga_test_options(url);
    ga_code code = 12345;
    ga_client *c;
    o.max_retries = max_retries;
    if (timeout_ms != 0) {
        o.timeout_ms = timeout_ms;
    }
    c = ga_client_new_with_options(g_id, token, &o, &code);
    CHECKF(c != NULL, "%s: client refused: %u (%s)", what, (unsigned)code, ga_code_str(code));
    return c;
}

/* Common invariants of every result; `token` is the token the client was given. */
static void invariants(const ga_result *r, const char *what, const char *token)
{
    CHECKF(r->url_avatar != NULL, "%s: url_avatar NULL", what);
    CHECKF(r->exists_whatsapp >= -1 && r->exists_whatsapp <= 1, "%s: exists_whatsapp %d", what,
           r->exists_whatsapp);
    CHECKF(r->available >= -1 && r->available <= 1, "%s: available %d", what, r->available);
    if (r->code == GA_OK) {
        CHECKF(r->message == NULL, "%s: OK with message \"%s\"", what, r->message);
        CHECKF(r->http_status == 200, "%s: OK with http_status %u", what,
               (unsigned)r->http_status);
        CHECKF(r->attempts >= 1, "%s: OK with %u attempts", what, (unsigned)r->attempts);
    } else {
        CHECKF(r->message != NULL, "%s: code %u without message", what, (unsigned)r->code);
        if (r->message != NULL) {
            CHECKF(r->message[0] != '\0', "%s: empty message", what);
            CHECKF(strstr(r->message, token) == NULL, "%s: message leaks the token: %s", what,
                   r->message);
            CHECKF(strstr(r->message, g_token) == NULL, "%s: message leaks the stand-in token: %s",
                   what, r->message);
        }
        CHECKF(r->url_avatar == NULL || r->url_avatar[0] == '\0', "%s: error with url \"%s\"",
               what, r->url_avatar);
    }
    if (r->reason != NULL) {
        CHECKF(strstr(r->reason, token) == NULL, "%s: reason leaks the token", what);
    }
}

/*
 * Calls chat_id and checks code, http_status (-1: any) and attempts (0: any). Returns the
 * result (caller frees) or NULL when it was NULL.
 */
static ga_result *expect(ga_client *c, const char *token, const char *chat_id, ga_code code,
                         int http_status, uint32_t attempts)
{
    ga_result *r;
    if (c == NULL) {
        CHECKF(0, "%s: no client", chat_id);
        return NULL;
    }
    r = ga_get_avatar(c, chat_id);
    CHECKF(r != NULL, "%s: NULL result", chat_id);
    if (r == NULL) {
        return NULL;
    }
    CHECKF(r->code == code, "%s: code %u (%s), wanted %u (%s); message: %s", chat_id,
           (unsigned)r->code, ga_code_str(r->code), (unsigned)code, ga_code_str(code),
           r->message ? r->message : "(null)");
    if (http_status >= 0) {
        CHECKF(r->http_status == http_status, "%s: http_status %u, wanted %d", chat_id,
               (unsigned)r->http_status, http_status);
    }
    if (attempts != 0) {
        CHECKF(r->attempts == attempts, "%s: attempts %u, wanted %u", chat_id,
               (unsigned)r->attempts, (unsigned)attempts);
    }
    invariants(r, chat_id, token);
    return r;
}

static void expect_free(ga_client *c, const char *token, const char *chat_id, ga_code code,
                        int http_status, uint32_t attempts)
{
    ga_result_free(expect(c, token, chat_id, code, http_status, attempts));
}

static int contains(const char *s, const char *needle)
{
    return s != NULL && strstr(s, needle) != NULL;
}

static void test_ok(ga_client *c)
{
    ga_result *r;

    /* older shape */
    r = expect(c, g_token, "79001234567@c.us", GA_OK, 200, 1);
    if (r != NULL) {
        CHECK(r->exists_whatsapp == 1);
        CHECK(r->available == -1);
        CHECK(r->reason == NULL);
        CHECKF(strcmp(r->url_avatar,
                      "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg") == 0,
               "url \"%s\"", r->url_avatar);
        ga_result_free(r);
    }
    /* bare phone and '+' phone are normalised to <digits>@c.us */
    r = expect(c, g_token, "79001234567", GA_OK, 200, 1);
    if (r != NULL) {
        CHECKF(contains(r->url_avatar, "79001234567@c.us"), "bare phone: url \"%s\"",
               r->url_avatar);
        CHECK(r->exists_whatsapp == 1);
        ga_result_free(r);
    }
    r = expect(c, g_token, "+79001234567", GA_OK, 200, 1);
    if (r != NULL) {
        CHECKF(contains(r->url_avatar, "/79001234567@c.us.jpg"), "+phone: url \"%s\"",
               r->url_avatar);
        ga_result_free(r);
    }
    /* newer shape: groups (both styles) and @lid */
    {
        static const char *const newer[] = {"120363043968066561@g.us",
                                            "79876543210-1581234048@g.us",
                                            "120650379300963@lid"};
        size_t i;
        for (i = 0; i < sizeof newer / sizeof newer[0]; i++) {
            r = expect(c, g_token, newer[i], GA_OK, 200, 1);
            if (r != NULL) {
                CHECKF(r->available == 1, "%s: available %d", newer[i], r->available);
                CHECKF(r->exists_whatsapp == -1, "%s: exists %d", newer[i], r->exists_whatsapp);
                CHECKF(contains(r->url_avatar, newer[i]), "%s: url \"%s\"", newer[i],
                       r->url_avatar);
                CHECK(r->reason == NULL);
                ga_result_free(r);
            }
        }
    }
    r = expect(c, g_token, "hidden@lid", GA_OK, 200, 1);
    if (r != NULL) {
        CHECK(r->available == 0);
        CHECK(r->url_avatar[0] == '\0');
        ga_result_free(r);
    }
    r = expect(c, g_token, "noavatar@c.us", GA_OK, 200, 1);
    if (r != NULL) {
        CHECK(r->exists_whatsapp == 0);
        CHECK(r->url_avatar[0] == '\0');
        CHECK(r->reason == NULL);
        ga_result_free(r);
    }
    /* reason "bad request data" arrives with HTTP 200: still GA_OK, reason set */
    r = expect(c, g_token, "badchat@c.us", GA_OK, 200, 1);
    if (r != NULL) {
        CHECKF(r->reason != NULL && strcmp(r->reason, "bad request data") == 0, "reason %s",
               r->reason ? r->reason : "(null)");
        CHECK(r->url_avatar[0] == '\0');
        ga_result_free(r);
    }
    /* nulls everywhere plus an unknown field */
    r = expect(c, g_token, "nulls@c.us", GA_OK, 200, 1);
    if (r != NULL) {
        CHECK(r->exists_whatsapp == -1);
        CHECK(r->available == -1);
        CHECK(r->url_avatar[0] == '\0');
        CHECK(r->reason == NULL);
        ga_result_free(r);
    }
}

static void test_status_codes(ga_client *c)
{
    ga_result *r;
    expect_free(c, g_token, "status-400@c.us", GA_BAD_REQUEST, 400, 1);
    expect_free(c, g_token, "status-403@c.us", GA_FORBIDDEN, 403, 1);
    expect_free(c, g_token, "status-404@c.us", GA_NOT_FOUND, 404, 1);
    r = expect(c, g_token, "status-466@c.us", GA_QUOTA_EXCEEDED, 466, 1);
    if (r != NULL) {
        /* the service's description should reach the message */
        CHECKF(contains(r->message, "quota") || contains(r->message, "Quota") ||
                   contains(r->message, "QUOTE_EXCEEDED"),
               "466 message: %s", r->message ? r->message : "(null)");
        ga_result_free(r);
    }
    expect_free(c, g_token, "status-302@c.us", GA_HTTP_STATUS, 302, 1);
    expect_free(c, g_token, "status-301@c.us", GA_HTTP_STATUS, 301, 1);
    expect_free(c, g_token, "status-418@c.us", GA_HTTP_STATUS, 418, 1);
    expect_free(c, g_token, "status-401@c.us", GA_UNAUTHORIZED, 401, 1);
    expect_free(c, g_token, "garbage@c.us", GA_BAD_RESPONSE, 200, 1);
    expect_free(c, g_token, "wrongtype@c.us", GA_BAD_RESPONSE, 200, 1);
    expect_free(c, g_token, "emptyobject@c.us", GA_BAD_RESPONSE, 200, 1);
    expect_free(c, g_token, "huge@c.us", GA_BODY_TOO_LARGE, 200, 1);
    /* the client still works after an abandoned body */
    expect_free(c, g_token, "79001230000@c.us", GA_OK, 200, 1);
}

static void test_retries(void)
{
    ga_client *c0 = make("retries 0", g_url, g_token, 0, 0);
    ga_client *c1 = make("retries 1", g_url, g_token, 1, 0);
    ga_client *c2 = make("retries 2", g_url, g_token, 2, 0);
    char id[64];
    double t0;

    /* 429 with Retry-After: 0, max_retries 1 -> 2 attempts */
    expect_free(c1, g_token, "status-429@c.us", GA_RATE_LIMITED, 429, 2);
    expect_free(c0, g_token, "status-429@c.us", GA_RATE_LIMITED, 429, 1);
    /* 5xx: attempts == max_retries + 1 */
    t0 = ga_now();
    expect_free(c2, g_token, "status-503@c.us", GA_SERVER_ERROR, 503, 3);
    /* backoff ~200ms doubling (jittered): at least some waiting happened */
    CHECKF(ga_now() - t0 >= 0.1, "503 x3 took only %.3fs: no backoff", ga_now() - t0);
    expect_free(c1, g_token, "status-500@c.us", GA_SERVER_ERROR, 500, 2);
    expect_free(c0, g_token, "status-502@c.us", GA_SERVER_ERROR, 502, 1);
    expect_free(c0, g_token, "status-504@c.us", GA_SERVER_ERROR, 504, 1);
    /* not retried */
    expect_free(c2, g_token, "status-400@c.us", GA_BAD_REQUEST, 400, 1);
    expect_free(c2, g_token, "status-466@c.us", GA_QUOTA_EXCEEDED, 466, 1);
    expect_free(c2, g_token, "status-404@c.us", GA_NOT_FOUND, 404, 1);

    /* retries that succeed: unique ids so a rerun against the same server still flakes */
    snprintf(id, sizeof id, "flaky429-%ld-%d@c.us", (long)getpid(), rand());
    expect_free(c2, g_token, id, GA_OK, 200, 2);
    snprintf(id, sizeof id, "flaky503-%ld-%d@c.us", (long)getpid(), rand());
    expect_free(c2, g_token, id, GA_OK, 200, 2);
    /* with no retries the first failure is final */
    snprintf(id, sizeof id, "flaky503-%ld-%d-b@c.us", (long)getpid(), rand());
    expect_free(c0, g_token, id, GA_SERVER_ERROR, 503, 1);

    ga_client_free(c0);
    ga_client_free(c1);
    ga_client_free(c2);
}

static void test_unauthorized(void)
{
    /* the stand-in echoes the wrong token in its 401 body: it must be scrubbed */
    const char *wrong = "wrongToken-SECRET-5f4e3d2c1b0a";
    ga_client *c = make("wrong token", g_url, wrong, 2, 0);
    ga_result *r = expect(c, wrong, "79001234567@c.us", GA_UNAUTHORIZED, 401, 1);
    if (r != NULL) {
        CHECKF(!contains(r->message, "SECRET"), "message leaks part of the token: %s",
               r->message);
        ga_result_free(r);
    }
    ga_client_free(c);
}

static void test_network(void)
{
    char url[128];
    int closed = ga_closed_port();
    ga_client *c;
    ga_result *r;
    double t0;

    CHECKF(closed > 0, "could not find a free port");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed);
    c = make("closed port", url, g_token, 0, 0);
    r = expect(c, g_token, "79001234567@c.us", GA_NETWORK, 0, 1);
    ga_result_free(r);
    ga_client_free(c);

    /* retried: max_retries 1 -> 2 attempts, still no HTTP status */
    c = make("closed port, retried", url, g_token, 1, 0);
    expect_free(c, g_token, "79001234567@c.us", GA_NETWORK, 0, 2);
    ga_client_free(c);

    c = make("cut/reset", g_url, g_token, 0, 0);
    expect_free(c, g_token, "cut@c.us", GA_NETWORK, -1, 1);
    expect_free(c, g_token, "reset@c.us", GA_NETWORK, 0, 1);
    /* and the client recovers on a fresh connection */
    expect_free(c, g_token, "79001234567@c.us", GA_OK, 200, 1);
    ga_client_free(c);

    /* timeout: slow answer, short timeout, no retries */
    c = make("timeout", g_url, g_token, 0, 300);
    t0 = ga_now();
    r = expect(c, g_token, "slow-1500@c.us", GA_TIMEOUT, 0, 1);
    CHECKF(ga_now() - t0 >= 0.25, "timed out after only %.3fs", ga_now() - t0);
    ga_result_free(r);
    /* the timeout is per attempt, and timeouts are retried */
    {
        ga_client *c1 = make("timeout, retried", g_url, g_token, 1, 300);
        expect_free(c1, g_token, "slow-1000@c.us", GA_TIMEOUT, 0, 2);
        ga_client_free(c1);
    }
    /* an answer within the timeout is fine on the same client */
    expect_free(c, g_token, "slow-10@c.us", GA_OK, 200, 1);
    ga_client_free(c);

    /* TLS: https to the plain-HTTP stand-in fails the handshake */
    snprintf(url, sizeof url, "https://127.0.0.1:%d", g_port);
    c = make("tls", url, g_token, 0, 0);
    expect_free(c, g_token, "79001234567@c.us", GA_TLS, 0, 1);
    ga_client_free(c);
}

static void test_body_limit(void)
{
    /* an ordinary answer (~80 bytes) with a 10-byte limit; then a limit that fits */
    ga_client_options o = ga_test_options(g_url);
    ga_client *c;
    o.max_body_bytes = 10;
    c = ga_client_new_with_options(g_id, g_token, &o, NULL);
    expect_free(c, g_token, "79001234567@c.us", GA_BODY_TOO_LARGE, 200, 1);
    ga_client_free(c);
    o.max_body_bytes = 200;
    c = ga_client_new_with_options(g_id, g_token, &o, NULL);
    expect_free(c, g_token, "79001234567@c.us", GA_OK, 200, 1);
    ga_client_free(c);

    /* the boundary: a body of exactly max_body_bytes is read, one byte more is refused. The
       stand-in's answer is Python's json.dumps of the older shape. */
    {
        const char *answer = "{\"existsWhatsapp\": true, \"urlAvatar\": "
                             "\"https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg\"}";
        uint64_t len = (uint64_t)strlen(answer);
        o.max_body_bytes = len;
        c = ga_client_new_with_options(g_id, g_token, &o, NULL);
        expect_free(c, g_token, "79001234567@c.us", GA_OK, 200, 1);
        ga_client_free(c);
        o.max_body_bytes = len - 1;
        c = ga_client_new_with_options(g_id, g_token, &o, NULL);
        expect_free(c, g_token, "79001234567@c.us", GA_BODY_TOO_LARGE, 200, 1);
        ga_client_free(c);
    }
}

static void test_chat_id_bytes(ga_client *c)
{
    /* ids with '@' travel unchanged; the JSON body must escape them (else the stand-in
       answers 400) */
    expect_free(c, g_token, "quo\"te\\x@c.us", GA_OK, 200, 1);
    expect_free(c, g_token, "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82@c.us", GA_OK, 200, 1);
    expect_free(c, g_token, "a/b?c#d&e@c.us", GA_OK, 200, 1);
    expect_free(c, g_token, "tab\\t@c.us", GA_OK, 200, 1);
}

static void test_prefix(void)
{
    /* a path prefix and a trailing slash in api_url */
    char url[256];
    ga_client *c;
    snprintf(url, sizeof url, "%s/v3/", g_url);
    c = make("prefix", url, g_token, 0, 0);
    expect_free(c, g_token, "79001234567@c.us", GA_OK, 200, 1);
    ga_client_free(c);
}

int main(void)
{
    ga_client *c;
    g_url = ga_test_url();
    g_token = ga_test_token();
    g_id = ga_test_id();
    g_port = ga_url_port(g_url);
    srand((unsigned)time(NULL));
    CHECKF(g_port > 0, "no port in GA_TEST_URL %s", g_url);

    c = make("main", g_url, g_token, 2, 0);
    test_ok(c);
    test_status_codes(c);
    test_chat_id_bytes(c);
    ga_client_free(c);
    test_retries();
    test_unauthorized();
    test_network();
    test_prefix();
    test_body_limit();
    return ga_test_done("test_codes");
}
