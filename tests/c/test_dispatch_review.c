/*
 * A hostile review of the dispatcher (issue 16) from C: a progress callback that calls back
 * into the client it is reporting on, on the batch's own thread, while the batch is held back
 * by its results waiting. It shuts the client down at the first result; or it makes single
 * calls on the same client. Every entry must still get its result, nothing may hang, and the
 * stand-in must not see more than what was in flight at the shutdown.
 * Run under ASan/UBSan and valgrind by the Makefile.
 */
#include "ga_test.h"

#define N 200

static char g_ids[N][40];
static const char *g_ptrs[N];
static ga_result *g_out[N];

static void fill(const char *prefix, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        snprintf(g_ids[i], sizeof g_ids[i], "%s%06d@c.us", prefix, i);
        g_ptrs[i] = g_ids[i];
    }
}

static int shut_down_at_first(size_t done, size_t total, void *user)
{
    (void)total;
    if (done == 1) {
        ga_client_shutdown((const ga_client *)user);
    }
    return 0;
}

static void callback_shuts_down(const char *url, int fd)
{
    ga_client *c = ga_test_client_in_flight(url, 4);
    int i;
    int ok = 0;
    int cancelled = 0;
    fill("7970", N);
    ga_reset_stats(fd);
    CHECK(ga_get_avatars_with_progress(c, g_ptrs, N, g_out, shut_down_at_first, c) == GA_OK);
    for (i = 0; i < N; i++) {
        CHECKF(g_out[i] != NULL, "entry %d", i);
        if (g_out[i] == NULL) {
            continue;
        }
        ok += g_out[i]->code == GA_OK;
        cancelled += g_out[i]->code == GA_CANCELLED;
    }
    CHECKF(ok + cancelled == N, "%d answered, %d cancelled", ok, cancelled);
    /* The first, those in flight at the shutdown, and the results already waiting. */
    CHECKF(ga_stat(fd, "requests") <= 1 + 4 + 8, "requests %ld", ga_stat(fd, "requests"));
    CHECKF(ok <= ga_stat(fd, "requests"), "%d answered, %ld requests", ok, ga_stat(fd, "requests"));
    ga_results_free(g_out, N);
    /* Later calls of the client are cancelled at once, never sent. */
    {
        ga_result *r = ga_get_avatar(c, "79001234567");
        CHECK(r != NULL && r->code == GA_CANCELLED);
        ga_result_free(r);
    }
    ga_client_free(c);
}

struct calls_in_callback {
    const ga_client *client;
    int made;
    int ok;
};

static int call_every_20(size_t done, size_t total, void *user)
{
    struct calls_in_callback *s = (struct calls_in_callback *)user;
    char id[40];
    ga_result *r;
    (void)total;
    if (done % 20 != 0) {
        return 0;
    }
    snprintf(id, sizeof id, "7972%06zu@c.us", done);
    r = ga_get_avatar(s->client, id);
    s->made++;
    s->ok += r != NULL && r->code == GA_OK;
    ga_result_free(r);
    return 0;
}

static void callback_calls_the_client(const char *url, int fd)
{
    ga_client *c = ga_test_client_in_flight(url, 2);
    struct calls_in_callback s = {NULL, 0, 0};
    int i;
    int ok = 0;
    s.client = c;
    fill("7971", N);
    ga_reset_stats(fd);
    CHECK(ga_get_avatars_with_progress(c, g_ptrs, N, g_out, call_every_20, &s) == GA_OK);
    for (i = 0; i < N; i++) {
        ok += g_out[i] != NULL && g_out[i]->code == GA_OK;
    }
    CHECKF(ok == N, "%d of %d answered", ok, N);
    CHECKF(s.made == N / 20 && s.ok == s.made, "%d calls made, %d answered", s.made, s.ok);
    CHECKF(ga_stat(fd, "requests") == N + s.made, "requests %ld", ga_stat(fd, "requests"));
    ga_results_free(g_out, N);
    ga_client_free(c);
}

int main(void)
{
    const char *url = ga_test_url();
    int fd = ga_http_connect(ga_url_port(url));
    CHECK(fd >= 0);
    if (fd < 0) {
        return ga_test_done("test_dispatch_review");
    }
    callback_shuts_down(url, fd);
    callback_calls_the_client(url, fd);
    close(fd);
    return ga_test_done("test_dispatch_review");
}
