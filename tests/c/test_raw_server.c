/*
 * Answers the stand-in cannot give, from a canned-response HTTP server in this process
 * (a thread on a loopback port; one response per connection, then close). Each case uses a
 * fresh client, so no pooled connection outlives the server closing it.
 * Does not need GA_TEST_URL.
 */
#include "ga_test.h"

#include <pthread.h>
#include <sys/time.h>

#define TOKEN "rawToken-SECRET-a1b2c3d4e5f6"

static int g_listen_fd = -1;
static int g_port;
static volatile int g_stop;
static const char *volatile g_response;
static size_t g_response_len;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_requests;

static void serve_one(int fd)
{
    char buf[16384];
    size_t have = 0;
    char *end = NULL;
    long length = 0;
    const char *resp;
    size_t resp_len, sent = 0;
    for (;;) {
        ssize_t r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL || have + 1 >= sizeof buf) {
            break;
        }
        r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            return;
        }
        have += (size_t)r;
    }
    if (end == NULL) {
        return;
    }
    {
        const char *cl = strstr(buf, "content-length:");
        if (cl == NULL) {
            cl = strstr(buf, "Content-Length:");
        }
        if (cl != NULL && cl < end) {
            length = strtol(cl + strlen("content-length:"), NULL, 10);
        }
    }
    while ((long)(have - (size_t)(end + 4 - buf)) < length && have + 1 < sizeof buf) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            break;
        }
        have += (size_t)r;
    }
    pthread_mutex_lock(&g_lock);
    g_requests++;
    resp = g_response;
    resp_len = g_response_len;
    pthread_mutex_unlock(&g_lock);
    while (sent < resp_len) {
        ssize_t w = send(fd, resp + sent, resp_len - sent, MSG_NOSIGNAL);
        if (w <= 0) {
            break;
        }
        sent += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    /* drain until the client closes, so the close does not turn into a reset */
    {
        struct timeval tv = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
}

static void *server(void *arg)
{
    (void)arg;
    while (!g_stop) {
        int fd = accept(g_listen_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (!g_stop) {
            serve_one(fd);
        }
        close(fd);
    }
    return NULL;
}

static int start_server(pthread_t *th)
{
    g_listen_fd = ga_loopback_socket(16, &g_port);
    if (g_listen_fd < 0) {
        return -1;
    }
    return pthread_create(th, NULL, server, NULL);
}

static void stop_server(pthread_t th)
{
    int fd;
    g_stop = 1;
    fd = ga_http_connect(g_port); /* wakes accept() */
    if (fd >= 0) {
        close(fd);
    }
    pthread_join(th, NULL);
    close(g_listen_fd);
}

static void set_response(const char *resp, size_t len)
{
    pthread_mutex_lock(&g_lock);
    g_response = resp;
    g_response_len = len;
    g_requests = 0;
    pthread_mutex_unlock(&g_lock);
}

/* One call with a fresh client; returns the result (caller frees). */
static ga_result *call(const char *resp, size_t len, uint32_t max_retries)
{
    char url[64];
    ga_client_options o;
    ga_client *c;
    ga_result *r;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", g_port);
    o = ga_test_options(url);
    o.max_retries = max_retries;
    o.timeout_ms = 5000;
    set_response(resp, len);
    c = ga_client_new_with_options("1101000001", TOKEN, &o, NULL);
    CHECK(c != NULL);
    r = ga_get_avatar(c, "79001234567@c.us");
    ga_client_free(c);
    CHECK(r != NULL);
    if (r != NULL && r->code != GA_OK) {
        CHECKF(r->message != NULL, "code %u without message", (unsigned)r->code);
        CHECKF(r->message == NULL || strstr(r->message, "SECRET") == NULL,
               "message leaks the token: %s", r->message);
    }
    return r;
}

static void expect(const char *what, const char *resp, ga_code code, int http_status)
{
    ga_result *r = call(resp, strlen(resp), 0);
    if (r == NULL) {
        return;
    }
    CHECKF(r->code == code, "%s: code %u (%s), wanted %u (%s): %s", what, (unsigned)r->code,
           ga_code_str(r->code), (unsigned)code, ga_code_str(code),
           r->message ? r->message : "(null)");
    if (http_status >= 0) {
        CHECKF(r->http_status == http_status, "%s: http_status %u, wanted %d", what,
               (unsigned)r->http_status, http_status);
    }
    ga_result_free(r);
}


static const char *json200(char *buf, size_t cap, const char *body)
{
    snprintf(buf, cap,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
             (int)strlen(body), body);
    return buf;
}

int main(void)
{
    pthread_t th;
    char buf[4096];
    ga_result *r;
    double t0;

    CHECKF(start_server(&th) == 0, "cannot start the canned-response server");
    if (g_port == 0) {
        return ga_test_done("test_raw_server");
    }

    /* chunked transfer encoding */
    expect("chunked",
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           "f\r\n{\"urlAvatar\": \"\r\n"
           "12\r\nhttps://x.test/a\"}\r\n0\r\n\r\n",
           GA_OK, 200);
    /* HTTP/1.0 style: no length, the body ends when the connection closes */
    expect("close-delimited",
           "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"urlAvatar\":\"u\"}", GA_OK,
           200);
    /* JSON that is not a GetAvatar object */
    expect("array", json200(buf, sizeof buf, "[]"), GA_BAD_RESPONSE, 200);
    expect("null", json200(buf, sizeof buf, "null"), GA_BAD_RESPONSE, 200);
    expect("string", json200(buf, sizeof buf, "\"urlAvatar\""), GA_BAD_RESPONSE, 200);
    expect("empty body", json200(buf, sizeof buf, ""), GA_BAD_RESPONSE, 200);
    expect("wrong type bool", json200(buf, sizeof buf, "{\"urlAvatar\":\"\",\"existsWhatsapp\":1}"),
           GA_BAD_RESPONSE, 200);
    expect("NUL in urlAvatar", json200(buf, sizeof buf, "{\"urlAvatar\":\"a\\u0000b\"}"),
           GA_BAD_RESPONSE, 200);
    expect("truncated JSON", json200(buf, sizeof buf, "{\"urlAvatar\":"), GA_BAD_RESPONSE, 200);
    /* a field of the newer shape alone, and unicode escapes, are fine */
    json200(buf, sizeof buf, "{\"available\":false,\"urlAvatar\":\"\\u00e9\"}");
    r = call(buf, strlen(buf), 0);
    if (r != NULL) {
        CHECKF(r->code == GA_OK, "unicode: code %u", (unsigned)r->code);
        CHECKF(strcmp(r->url_avatar, "\xc3\xa9") == 0, "unicode: url \"%s\"", r->url_avatar);
        CHECK(r->available == 0);
        ga_result_free(r);
    }
    /* not HTTP at all */
    expect("not HTTP", "hello, this is not HTTP\r\n\r\n", GA_NETWORK, 0);
    /* the token, several times, in an error body: every copy scrubbed (checked in call()) */
    {
        const char *body = "bad " TOKEN " / " TOKEN "/" TOKEN TOKEN " x";
        snprintf(buf, sizeof buf, "HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n%s",
                 (int)strlen(body), body);
        expect("401 echoing the token 4 times", buf, GA_UNAUTHORIZED, 401);
    }
    /* a long error body: the message stays short */
    {
        static char big[70000];
        const char *head = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 65536\r\n\r\n";
        size_t hl = strlen(head);
        memcpy(big, head, hl);
        memset(big + hl, 'e', 65536);
        memcpy(big + hl + 100, TOKEN, strlen(TOKEN));
        r = call(big, hl + 65536, 0);
        if (r != NULL) {
            CHECKF(r->code == GA_SERVER_ERROR, "big 500: code %u", (unsigned)r->code);
            CHECKF(r->message != NULL && strlen(r->message) < 1024, "big 500: message of %u bytes",
                   r->message ? (unsigned)strlen(r->message) : 0u);
            ga_result_free(r);
        }
    }
    /* Retry-After is honoured: 1 s, far longer than the first backoff (~100-200 ms) */
    {
        const char *resp = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
                           "Content-Length: 0\r\n\r\n";
        t0 = ga_now();
        r = call(resp, strlen(resp), 1);
        if (r != NULL) {
            double took = ga_now() - t0;
            CHECKF(r->code == GA_RATE_LIMITED, "429: code %u", (unsigned)r->code);
            CHECKF(r->attempts == 2, "429: attempts %u", (unsigned)r->attempts);
            CHECKF(took >= 0.95, "Retry-After: 1 not honoured: took %.3fs", took);
            ga_result_free(r);
        }
        CHECKF(g_requests == 2, "429: the server saw %d requests", g_requests);
    }
    /* 499 is retried too */
    {
        const char *resp = "HTTP/1.1 499 Client Closed Request\r\nContent-Length: 0\r\n\r\n";
        r = call(resp, strlen(resp), 2);
        if (r != NULL) {
            CHECKF(r->code == GA_HTTP_STATUS || r->code == GA_SERVER_ERROR ||
                       r->code == GA_RATE_LIMITED,
                   "499: code %u (%s)", (unsigned)r->code, ga_code_str(r->code));
            CHECKF(r->attempts == 3, "499: attempts %u, wanted 3 (retried)", (unsigned)r->attempts);
            CHECK(r->http_status == 499);
            ga_result_free(r);
        }
    }
    stop_server(th);
    return ga_test_done("test_raw_server");
}
