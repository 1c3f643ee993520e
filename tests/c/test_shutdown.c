/*
 * ga_client_shutdown: stops calls in progress on other threads (waiting for a slow answer,
 * waiting between retries) with GA_CANCELLED, refuses later calls without sending anything,
 * and leaves the client safe to free once every call has returned.
 */
#include "ga_test.h"

#include <pthread.h>

static ga_client *g_client;

static void *call_thread(void *arg)
{
    return ga_get_avatar(g_client, (const char *)arg);
}

/* Waits (bounded) until the stand-in has seen n requests since the last reset. */
static int wait_requests(int fd, long n)
{
    int i;
    for (i = 0; i < 2000; i++) {
        if (ga_stat(fd, "requests") >= n) {
            return 1;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Starts a call on another thread, waits until `requests` reached the server, shuts the client
 * down, and returns the call's result. */
static ga_result *stopped_call(int fd, const char *chat, long requests)
{
    pthread_t t;
    void *out = NULL;
    if (pthread_create(&t, NULL, call_thread, (void *)chat) != 0) {
        return NULL;
    }
    CHECKF(wait_requests(fd, requests), "the server never saw %ld requests", requests);
    ga_client_shutdown(g_client);
    pthread_join(t, &out);
    return (ga_result *)out;
}

static ga_client *new_client(const char *url, unsigned retries)
{
    ga_client_options o = ga_test_options(url);
    o.timeout_ms = 60000;
    o.max_retries = retries;
    return ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
}

int main(void)
{
    const char *url = ga_test_url();
    int fd = ga_http_connect(ga_url_port(url));
    ga_result *r;

    CHECK(fd >= 0);
    if (fd < 0) {
        return ga_test_done("test_shutdown");
    }
    ga_client_shutdown(NULL); /* ignored */

    /* A slow answer (30 s): the call returns at the shutdown, not with the answer. */
    ga_reset_stats(fd);
    g_client = new_client(url, 2);
    CHECK(g_client != NULL);
    r = stopped_call(fd, "slow-30000@c.us", 1);
    CHECK(r != NULL);
    if (r != NULL) {
        CHECKF(r->code == GA_CANCELLED, "code %u (%s): %s", (unsigned)r->code, ga_code_str(r->code),
               r->message ? r->message : "-");
        CHECK(r->message != NULL && strstr(r->message, "shut down") != NULL);
        CHECK(r->attempts == 1);
        ga_result_free(r);
    }
    /* Later calls: refused at once, nothing sent. */
    r = ga_get_avatar(g_client, "79001234567");
    CHECKF(r->code == GA_CANCELLED, "code %u", (unsigned)r->code);
    CHECK(r->attempts == 0);
    ga_result_free(r);
    CHECK(ga_stat(fd, "requests") == 1);
    ga_client_shutdown(g_client); /* again: nothing more */
    ga_client_free(g_client);

    /* Between retries: 503 every time, ten retries allowed; stopped after the second. */
    ga_reset_stats(fd);
    g_client = new_client(url, 10);
    CHECK(g_client != NULL);
    r = stopped_call(fd, "status-503@c.us", 2);
    CHECK(r != NULL);
    if (r != NULL) {
        CHECKF(r->code == GA_CANCELLED, "code %u (%s)", (unsigned)r->code, ga_code_str(r->code));
        CHECKF(r->attempts < 11, "%u attempts", (unsigned)r->attempts);
        ga_result_free(r);
    }
    CHECK(ga_stat(fd, "requests") < 11);
    ga_client_free(g_client);

    CHECK(strcmp(ga_code_str(GA_CANCELLED), "cancelled") == 0);
    close(fd);
    return ga_test_done("test_shutdown");
}
