/*
 * ga_get_avatars: a batch of 1,000 (valid, duplicate, malformed and NULL ids, one failing id)
 * against the stand-in; results in input order, every one non-NULL; a progress callback that
 * stops after 10 of 100 (exactly the entries never asked are GA_CANCELLED, and it is not called
 * again); ga_client_shutdown
 * from another thread stops a batch; refusals leave the output array untouched.
 * Run under ASan/UBSan and valgrind by the Makefile.
 */
#include "ga_test.h"

#include <pthread.h>

#define N 1000

static char g_ids[N][40];
static const char *g_ptrs[N];
static ga_result *g_out[N];

static void big_batch(const char *url, int fd)
{
    ga_client *c = ga_test_client_in_flight(url, 16);
    int i;
    int asked = 0;
    CHECK(c != NULL);
    ga_reset_stats(fd);
    for (i = 0; i < N; i++) {
        if (i % 100 == 7) {
            g_ptrs[i] = NULL; /* that entry: GA_NULL_ARGUMENT */
            continue;
        }
        if (i % 100 == 8) {
            snprintf(g_ids[i], sizeof g_ids[i], "not a chat id %d", i);
        } else if (i % 100 == 9) {
            snprintf(g_ids[i], sizeof g_ids[i], "status-500@c.us");
        } else if (i % 10 == 3) {
            /* the same number as entry i - 1, spelled without @c.us: asked once */
            snprintf(g_ids[i], sizeof g_ids[i], "7900%07d", i - 1);
        } else {
            snprintf(g_ids[i], sizeof g_ids[i], "7900%07d@c.us", i);
            asked++;
        }
        g_ptrs[i] = g_ids[i];
    }
    CHECK(ga_get_avatars(c, g_ptrs, N, g_out) == GA_OK);
    for (i = 0; i < N; i++) {
        const ga_result *r = g_out[i];
        char want[96];
        CHECKF(r != NULL, "entry %d is NULL", i);
        if (r == NULL) {
            continue;
        }
        if (i % 100 == 7) {
            CHECKF(r->code == GA_NULL_ARGUMENT, "entry %d: %u", i, (unsigned)r->code);
            CHECK(r->message != NULL && strstr(r->message, "chat_ids[") != NULL);
        } else if (i % 100 == 8) {
            CHECKF(r->code == GA_INVALID_ARGUMENT, "entry %d: %u", i, (unsigned)r->code);
            CHECK(r->attempts == 0);
        } else if (i % 100 == 9) {
            CHECKF(r->code == GA_SERVER_ERROR && r->http_status == 500, "entry %d: %u", i,
                   (unsigned)r->code);
        } else {
            int number = i % 10 == 3 ? i - 1 : i;
            snprintf(want, sizeof want, "https://pps.whatsapp.net/v/stand-in/7900%07d@c.us.jpg",
                     number);
            CHECKF(r->code == GA_OK && strcmp(r->url_avatar, want) == 0, "entry %d: %u %s", i,
                   (unsigned)r->code, r->url_avatar);
        }
    }
    /* Each distinct valid id once, and the failing one once. */
    CHECKF(ga_stat(fd, "requests") == asked + 1, "requests %ld, want %d", ga_stat(fd, "requests"),
           asked + 1);
    ga_results_free(g_out, N);
    for (i = 0; i < N; i++) {
        CHECK(g_out[i] == NULL);
    }
    ga_client_free(c);
}

struct stop_after {
    size_t after;
    size_t calls;
    size_t last_done;
    int in_order;
};

static int stop_after(size_t done, size_t total, void *user)
{
    struct stop_after *s = (struct stop_after *)user;
    s->calls++;
    s->in_order &= done == s->last_done + 1 && total == 100;
    s->last_done = done;
    return done >= s->after;
}

static void progress_stops(const char *url, int fd)
{
    ga_client *c = ga_test_client_in_flight(url, 4);
    struct stop_after s = {10, 0, 0, 1};
    int i;
    int ok = 0;
    int cancelled = 0;
    ga_reset_stats(fd);
    for (i = 0; i < 100; i++) {
        snprintf(g_ids[i], sizeof g_ids[i], "slow-%d@c.us", 20 + i);
        g_ptrs[i] = g_ids[i];
    }
    CHECK(ga_get_avatars_with_progress(c, g_ptrs, 100, g_out, stop_after, &s) == GA_OK);
    for (i = 0; i < 100; i++) {
        CHECK(g_out[i] != NULL);
        if (g_out[i] == NULL) {
            continue;
        }
        if (g_out[i]->code == GA_OK) {
            ok++;
        } else {
            CHECKF(g_out[i]->code == GA_CANCELLED, "entry %d: %u", i, (unsigned)g_out[i]->code);
            CHECK(g_out[i]->attempts == 0);
            cancelled++;
        }
    }
    /* The ten, plus those in flight when it stopped (at most max_in_flight); none of the
     * cancelled ones reached the server. */
    CHECKF(ok >= 10 && ok <= 14, "%d answered", ok);
    CHECK(ok + cancelled == 100);
    CHECKF(ga_stat(fd, "requests") == ok, "requests %ld, answered %d", ga_stat(fd, "requests"), ok);
    /* The callback that asked to stop is the last one called. */
    CHECKF(s.calls == 10 && s.in_order, "%zu calls after a stop at 10", s.calls);
    ga_results_free(g_out, 100);
    ga_client_free(c);
}

static ga_client *g_client;

static void *shut_down_later(void *arg)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    (void)arg;
    nanosleep(&ts, NULL);
    ga_client_shutdown(g_client);
    return NULL;
}

static void shutdown_stops(const char *url)
{
    pthread_t t;
    int i;
    int cancelled = 0;
    g_client = ga_test_client_in_flight(url, 2);
    for (i = 0; i < 50; i++) {
        snprintf(g_ids[i], sizeof g_ids[i], "slow-%d@c.us", 200 + i);
        g_ptrs[i] = g_ids[i];
    }
    CHECK(pthread_create(&t, NULL, shut_down_later, NULL) == 0);
    CHECK(ga_get_avatars(g_client, g_ptrs, 50, g_out) == GA_OK);
    pthread_join(t, NULL);
    for (i = 0; i < 50; i++) {
        cancelled += g_out[i] != NULL && g_out[i]->code == GA_CANCELLED;
    }
    CHECKF(cancelled >= 40, "%d cancelled", cancelled);
    ga_results_free(g_out, 50);
    ga_client_free(g_client);
}

static void refusals(const char *url)
{
    ga_client *c = ga_test_client_in_flight(url, 8);
    ga_result *sentinel = (ga_result *)&g_ids[0];
    g_ptrs[0] = "79001234567";
    g_out[0] = sentinel;
    CHECK(ga_get_avatars(NULL, g_ptrs, 1, g_out) == GA_NULL_ARGUMENT);
    CHECK(ga_get_avatars(c, NULL, 1, g_out) == GA_NULL_ARGUMENT);
    CHECK(ga_get_avatars(c, g_ptrs, 1, NULL) == GA_NULL_ARGUMENT);
    CHECK(ga_get_avatars(c, g_ptrs, GA_MAX_BATCH + 1, g_out) == GA_INVALID_ARGUMENT);
    CHECK(g_out[0] == sentinel);
    CHECK(ga_get_avatars(c, g_ptrs, 0, g_out) == GA_OK);
    CHECK(g_out[0] == sentinel);
    ga_results_free(NULL, 5);
    g_out[0] = NULL;
    ga_results_free(g_out, 1);
    ga_client_free(c);
}

int main(void)
{
    const char *url = ga_test_url();
    int fd = ga_http_connect(ga_url_port(url));
    CHECK(fd >= 0);
    if (fd < 0) {
        return ga_test_done("test_batch");
    }
    big_batch(url, fd);
    progress_stops(url, fd);
    shutdown_stops(url);
    refusals(url);
    close(fd);
    return ga_test_done("test_batch");
}
