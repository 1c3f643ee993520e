/*
 * Small helpers shared by the C tests: counted checks, the stand-in server's address from the
 * environment, loopback sockets (a listener, a free port), and a tiny HTTP/1.1 client for the
 * stand-in's /__stats and /__reset_stats routes.
 *
 * Header-only (static functions) so every test is one translation unit. C99 + POSIX.
 *
 * Environment (set by scripts/with-standin.sh):
 *   GA_TEST_URL    base URL of the stand-in, e.g. http://127.0.0.1:40123
 *   GA_TEST_TOKEN  the token the stand-in accepts
 *   GA_TEST_ID     an idInstance (any digits; default 1101000001)
 */
#ifndef GA_TEST_H
#define GA_TEST_H

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "greenapi.h"

static int ga_checks = 0;
static int ga_failures = 0;

static inline void ga_check_at(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    ga_checks++;
    if (ok) {
        return;
    }
    ga_failures++;
    fprintf(stderr, "FAIL %s:%d: %s", file, line, expr);
    if (fmt != NULL && fmt[0] != '\0') {
        va_list ap;
        va_start(ap, fmt);
        fputs(" -- ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

/* CHECK(cond): counted; CHECKF(cond, fmt, ...): counted, with a note printed on failure. */
#define CHECK(cond) ga_check_at((cond) ? 1 : 0, __FILE__, __LINE__, #cond, NULL)
#define CHECKF(cond, ...) ga_check_at((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

/* Prints the summary and returns the process exit code. */
static inline int ga_test_done(const char *name)
{
    if (ga_checks == 0) {
        fprintf(stderr, "FAIL %s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, ga_checks, ga_failures);
    return ga_failures == 0 ? 0 : 1;
}

static inline const char *ga_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : fallback;
}

/* Exits with status 2 (a setup error, not a test verdict) when the stand-in is not given. */
static inline const char *ga_test_url(void)
{
    const char *url = getenv("GA_TEST_URL");
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "GA_TEST_URL is not set: run this test through scripts/with-standin.sh\n");
        exit(2);
    }
    return url;
}

static inline const char *ga_test_token(void)
{
    return ga_env("GA_TEST_TOKEN", "standin-token-0123456789abcdef");
}

static inline const char *ga_test_id(void)
{
    return ga_env("GA_TEST_ID", "1101000001");
}

static inline double ga_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Options for tests: env proxies never interfere, no pacing, generous timeouts. */
static inline ga_client_options ga_test_options(const char *api_url)
{
    ga_client_options o;
    if (ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION) != GA_OK) {
        fprintf(stderr, "ga_client_options_init: %s\n", ga_last_error_message());
        exit(2);
    }
    o.api_url = api_url;
    o.proxy = "";
    o.rate_limit_per_sec = 0.0;
    o.timeout_ms = 10000;
    o.connect_timeout_ms = 5000;
    return o;
}

/* A client of the stand-in with `ga_test_options`, at most `in_flight` requests out and no
 * retries: each entry's result is what the stand-in did to its one request. */
static inline ga_client *ga_test_client_in_flight(const char *api_url, unsigned in_flight)
{
    ga_client_options o = ga_test_options(api_url);
    o.max_in_flight = in_flight;
    o.max_retries = 0;
    return ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
}

/* Port from "http://127.0.0.1:PORT[/...]"; 0 when there is none. */
static inline int ga_url_port(const char *url)
{
    const char *p = strstr(url, "://");
    if (p == NULL) {
        return 0;
    }
    p = strchr(p + 3, ':');
    return p == NULL ? 0 : atoi(p + 1);
}

/* ---- loopback sockets -------------------------------------------------------------------- */

/* 127.0.0.1:port. */
static inline struct sockaddr_in ga_loopback_addr(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    return a;
}

/*
 * A TCP socket bound to a free port of 127.0.0.1 (written to *port), listening with `backlog`
 * when it is 0 or more, only bound when it is negative. Returns the socket, or -1.
 */
static inline int ga_loopback_socket(int backlog, int *port)
{
    struct sockaddr_in a = ga_loopback_addr(0);
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
        (backlog >= 0 && listen(fd, backlog) != 0)) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A loopback port that nothing listens on: bind to port 0, read the port, close; 0 on failure. */
static inline int ga_closed_port(void)
{
    int port = 0;
    int fd = ga_loopback_socket(-1, &port);
    if (fd < 0) {
        return 0;
    }
    close(fd);
    return port;
}

/* ---- a tiny keep-alive HTTP/1.1 client for /__stats and /__reset_stats ------------------ */

static inline int ga_http_connect(int port)
{
    struct sockaddr_in a = ga_loopback_addr(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Sends one bodiless request on fd (kept open) and reads the response into body (NUL-ended).
 * Returns the HTTP status, or -1 on any failure.
 */
static inline int ga_http_request(int fd, const char *method, const char *path, char *body, size_t cap)
{
    char req[512];
    char buf[8192];
    size_t have = 0;
    char *end = NULL;
    long length = -1;
    int status = -1;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", method,
                     path);
    size_t sent = 0;
    if (n <= 0 || (size_t)n >= sizeof req) {
        return -1;
    }
    while (sent < (size_t)n) {
        ssize_t w = send(fd, req + sent, (size_t)n - sent, 0);
        if (w <= 0) {
            return -1;
        }
        sent += (size_t)w;
    }
    for (;;) {
        ssize_t r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            break;
        }
        if (have + 1 >= sizeof buf) {
            return -1;
        }
        r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            return -1;
        }
        have += (size_t)r;
    }
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        return -1;
    }
    {
        const char *cl = strstr(buf, "Content-Length:");
        if (cl == NULL || cl > end) {
            return -1;
        }
        length = strtol(cl + strlen("Content-Length:"), NULL, 10);
    }
    {
        size_t header_len = (size_t)(end - buf) + 4;
        size_t got = have - header_len;
        if (length < 0 || (size_t)length >= cap || (size_t)length >= sizeof buf - header_len) {
            return -1;
        }
        while (got < (size_t)length) {
            ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
            if (r <= 0) {
                return -1;
            }
            have += (size_t)r;
            got += (size_t)r;
        }
        memcpy(body, buf + header_len, (size_t)length);
        body[length] = '\0';
    }
    return status;
}

/* The integer after "\"key\":" in a flat JSON object; -1 when missing. */
static inline long ga_json_int(const char *json, const char *key)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(json, pat);
    if (p == NULL) {
        return -1;
    }
    return strtol(p + strlen(pat), NULL, 10);
}

/* The stand-in's counter `key` ("requests", "connections") since its last reset; -1 on failure. */
static inline long ga_stat(int fd, const char *key)
{
    char body[512];
    int status = ga_http_request(fd, "GET", "/__stats", body, sizeof body);
    return status == 200 ? ga_json_int(body, key) : -1;
}

/* POST /__reset_stats: the stand-in counts from 0 again. A counted check. */
static inline void ga_reset_stats(int fd)
{
    char body[512];
    int status = ga_http_request(fd, "POST", "/__reset_stats", body, sizeof body);
    CHECKF(status == 200, "POST /__reset_stats: %d", status);
}

/* A connection to the stand-in on port for the /__stats routes, its counters reset; -1 (a
   failed check) when there is none. */
static inline int ga_stats_connect(int port)
{
    int fd = ga_http_connect(port);
    CHECKF(fd >= 0, "cannot connect to the stand-in on port %d", port);
    if (fd >= 0) {
        ga_reset_stats(fd);
    }
    return fd;
}

#endif /* GA_TEST_H */
