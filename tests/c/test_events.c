/*
 * Events and counters from C: the on_event callback of options version 4 (order of the events
 * of a retried call, a slow callback changing no answer, a callback that calls its own client
 * refused) and ga_client_stats (counts equal to the stand-in's, bad arguments refused).
 * Run under ASan and valgrind by make test-c / test-valgrind.
 */
#include "ga_test.h"

#include <pthread.h>

#define MAX_SEEN 256

/* What a test keeps of the events it is told. Guarded: a batch tells from several threads. */
struct seen {
    pthread_mutex_t lock;
    int n;
    uint32_t kind[MAX_SEEN];
    uint32_t status[MAX_SEEN];
    uint32_t attempt[MAX_SEEN];
    int bad_strings;
    int slow_ms;
    ga_client *self;
    int self_calls;
    ga_code self_code;
    ga_code stats_code;
};

static void sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void record(const ga_event *e, void *user)
{
    struct seen *s = (struct seen *)user;
    pthread_mutex_lock(&s->lock);
    /* Every event has a name and a message that starts with it; version 1 is all there is. */
    if (e->size < sizeof(ga_event) || e->version != GA_EVENT_VERSION || e->name == NULL ||
        e->message == NULL || strncmp(e->message, e->name, strlen(e->name)) != 0 ||
        e->server_address == NULL || strstr(e->message, ga_test_token()) != NULL) {
        s->bad_strings++;
    }
    if (s->n < MAX_SEEN) {
        s->kind[s->n] = e->kind;
        s->status[s->n] = e->status;
        s->attempt[s->n] = e->attempt;
        s->n++;
    }
    pthread_mutex_unlock(&s->lock);
    if (s->slow_ms > 0) {
        sleep_ms(s->slow_ms);
    }
    if (s->self != NULL && e->kind == GA_EVENT_REQUEST_ANSWERED) {
        ga_stats st;
        ga_result *r = ga_get_avatar(s->self, "79001234567");
        s->self_calls++;
        s->self_code = r->code;
        ga_result_free(r);
        s->stats_code = ga_client_stats(s->self, &st, GA_STATS_VERSION);
    }
}

static ga_client *client_with(struct seen *s, uint32_t level, unsigned retries)
{
    ga_client_options o = ga_test_options(ga_test_url());
    o.max_retries = retries;
    o.on_event = record;
    o.on_event_user = s;
    o.event_min_level = level;
    return ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
}

static void test_a_retried_call_in_order(int stats_fd)
{
    struct seen s;
    ga_client *c;
    ga_result *r;
    ga_stats st;
    uint32_t calls[8];
    uint32_t statuses[8];
    int n = 0;
    int i;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    ga_reset_stats(stats_fd);
    c = client_with(&s, GA_LEVEL_DEBUG, 2);
    CHECKF(c != NULL, "%s", ga_last_error_message());
    if (c == NULL) {
        return;
    }
    r = ga_get_avatar(c, "flaky503-events@c.us");
    CHECKF(r->code == GA_OK, "%s", r->message);
    ga_result_free(r);
    for (i = 0; i < s.n && n < 8; i++) {
        if (s.kind[i] == GA_EVENT_REQUEST_SENT || s.kind[i] == GA_EVENT_REQUEST_ANSWERED ||
            s.kind[i] == GA_EVENT_RETRY) {
            calls[n] = s.kind[i];
            statuses[n] = s.status[i];
            n++;
        }
    }
    CHECKF(n == 5, "%d request and retry events", n);
    if (n == 5) {
        CHECK(calls[0] == GA_EVENT_REQUEST_SENT);
        CHECK(calls[1] == GA_EVENT_REQUEST_ANSWERED && statuses[1] == 503);
        CHECK(calls[2] == GA_EVENT_RETRY && statuses[2] == 503);
        CHECK(calls[3] == GA_EVENT_REQUEST_SENT);
        CHECK(calls[4] == GA_EVENT_REQUEST_ANSWERED && statuses[4] == 200);
    }
    CHECKF(s.bad_strings == 0, "%d events with bad strings", s.bad_strings);

    memset(&st, 0xA5, sizeof st);
    CHECK(ga_client_stats(c, &st, GA_STATS_VERSION) == GA_OK);
    CHECK(st.version == GA_STATS_VERSION);
    CHECKF(st.calls == 1 && st.attempts == 2 && st.retries == 1, "%llu %llu %llu",
           (unsigned long long)st.calls, (unsigned long long)st.attempts,
           (unsigned long long)st.retries);
    CHECK(st.results[GA_OK] == 1);
    CHECK(st.in_flight == 0);
    CHECKF((long)st.attempts == ga_stat(stats_fd, "requests"), "attempts %llu",
           (unsigned long long)st.attempts);
    CHECKF((long)st.connections_opened == ga_stat(stats_fd, "connections"), "connections %llu",
           (unsigned long long)st.connections_opened);
    CHECK(st.bytes_sent > 0 && st.bytes_received > 0);
    CHECK(st.tls_full_handshakes == 0 && st.tls_resumed_handshakes == 0);
    ga_client_free(c);
    pthread_mutex_destroy(&s.lock);
}

static void test_a_slow_callback_changes_no_answer(void)
{
    static const char *ids[] = {"79001234567@c.us", "noavatar@c.us", "status-404@c.us",
                                "hidden@lid"};
    struct seen s;
    ga_client *plain;
    ga_client *slow;
    size_t i;
    ga_client_options o = ga_test_options(ga_test_url());
    o.max_retries = 0;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    s.slow_ms = 30;
    plain = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    slow = client_with(&s, GA_LEVEL_DEBUG, 0);
    CHECK(plain != NULL && slow != NULL);
    if (plain == NULL || slow == NULL) {
        return;
    }
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        ga_result *a = ga_get_avatar(plain, ids[i]);
        ga_result *b = ga_get_avatar(slow, ids[i]);
        CHECKF(a->code == b->code && a->http_status == b->http_status &&
                   a->exists_whatsapp == b->exists_whatsapp && a->available == b->available,
               "%s: %d/%d vs %d/%d", ids[i], a->code, a->http_status, b->code, b->http_status);
        CHECKF((a->url_avatar == NULL) == (b->url_avatar == NULL) &&
                   (a->url_avatar == NULL || strcmp(a->url_avatar, b->url_avatar) == 0),
               "%s", ids[i]);
        ga_result_free(a);
        ga_result_free(b);
    }
    CHECKF(s.n >= 8, "%d events", s.n);
    ga_client_free(plain);
    ga_client_free(slow);
    pthread_mutex_destroy(&s.lock);
}

static void test_a_callback_calling_its_client(void)
{
    struct seen s;
    ga_client *c;
    ga_result *r;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    c = client_with(&s, GA_LEVEL_DEBUG, 0);
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    s.self = c;
    r = ga_get_avatar(c, "79001234567");
    CHECKF(r->code == GA_OK, "%s", r->message);
    ga_result_free(r);
    CHECK(s.self_calls == 1);
    CHECKF(s.self_code == GA_INVALID_ARGUMENT, "%d", s.self_code);
    CHECK(s.stats_code == GA_OK);
    s.self = NULL;
    ga_client_free(c);
    pthread_mutex_destroy(&s.lock);
}

static void test_info_is_quiet_for_good_answers(void)
{
    struct seen s;
    ga_client *c;
    int i;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    c = client_with(&s, GA_LEVEL_INFO, 0);
    CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    for (i = 0; i < 10; i++) {
        ga_result *r = ga_get_avatar(c, "79001234567");
        CHECK(r->code == GA_OK);
        ga_result_free(r);
    }
    ga_client_free(c);
    CHECKF(s.n == 0, "%d events at info for 10 good answers", s.n);
    pthread_mutex_destroy(&s.lock);
}

static void test_bad_arguments(void)
{
    ga_stats st;
    ga_client_options o = ga_test_options(ga_test_url());
    ga_client *c;
    CHECK(ga_client_stats(NULL, &st, GA_STATS_VERSION) == GA_NULL_ARGUMENT);
    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    CHECK(c != NULL);
    if (c != NULL) {
        CHECK(ga_client_stats(c, NULL, GA_STATS_VERSION) == GA_NULL_ARGUMENT);
        CHECK(ga_client_stats(c, &st, 0) == GA_INVALID_ARGUMENT);
        CHECK(ga_client_stats(c, &st, GA_STATS_VERSION + 1) == GA_INVALID_ARGUMENT);
        CHECK(strstr(ga_last_error_message(), "GA_STATS_VERSION") != NULL);
        CHECK(ga_client_stats(c, &st, GA_STATS_VERSION) == GA_OK);
        CHECK(st.calls == 0 && st.rate_per_sec == 0.0);
        ga_client_free(c);
    }
    o.event_min_level = 15;
    CHECK(ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL) == NULL);
    CHECK(strstr(ga_last_error_message(), "event_min_level") != NULL);
}

int main(void)
{
    int fd = ga_stats_connect(ga_url_port(ga_test_url()));
    if (fd >= 0) {
        test_a_retried_call_in_order(fd);
        close(fd);
    }
    test_a_slow_callback_changes_no_answer();
    test_a_callback_calling_its_client();
    test_info_is_quiet_for_good_answers();
    test_bad_arguments();
    return ga_test_done("test_events");
}
