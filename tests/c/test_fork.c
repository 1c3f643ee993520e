/*
 * fork(): a client used before a fork keeps working in both processes, and neither ever reads
 * the other's answers. The parent warms a pooled keep-alive connection, forks, and parent and
 * child then call at the same time with chat ids of their own; every answer must carry the
 * chat id it was asked for. The stand-in counts connections: the parent goes on with its own
 * pooled connection (the child must not have shut it down), the child opens one of its own.
 *
 * The child ends with exit(), so LeakSanitizer and valgrind check it too: the parent's pool,
 * abandoned in the child on purpose (freeing it could touch state another parent thread left
 * half-changed), must show up as memory still reachable, not as a leak.
 */
#include "ga_test.h"

#include <sys/wait.h>

#define CALLS 60

/* Returns the number of wrong answers. */
static int calls(ga_client *c, const char *prefix, int quiet)
{
    int bad = 0;
    int i;
    for (i = 0; i < CALLS; i++) {
        char chat[48];
        char want[128];
        ga_result *r;
        snprintf(chat, sizeof chat, "%s%04d@c.us", prefix, i);
        snprintf(want, sizeof want, "https://pps.whatsapp.net/v/stand-in/%s.jpg", chat);
        r = ga_get_avatar(c, chat);
        if (r->code != GA_OK || strcmp(r->url_avatar, want) != 0) {
            if (!quiet || bad == 0) {
                fprintf(stderr, "[%s] asked %s, got code %u url %s message %s\n", prefix, chat,
                        (unsigned)r->code, r->url_avatar, r->message ? r->message : "-");
            }
            bad++;
        }
        ga_result_free(r);
    }
    return bad;
}

int main(void)
{
    const char *url = ga_test_url();
    int port = ga_url_port(url);
    ga_client_options o = ga_test_options(url);
    ga_client *c;
    char body[512];
    int fd;
    int status;
    pid_t child;
    int child_status = 0;
    int bad;

    fd = ga_stats_connect(port);
    if (fd < 0) {
        return ga_test_done("test_fork");
    }

    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    CHECK(c != NULL);
    if (c == NULL) {
        return ga_test_done("test_fork");
    }
    CHECK(calls(c, "7911", 0) == 0); /* a pooled connection now exists */

    fflush(NULL);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        int child_bad = calls(c, "7922", 1);
        ga_client_free(c);
        exit(child_bad == 0 ? 0 : 1);
    }
    bad = calls(c, "7933", 1);
    CHECKF(bad == 0, "the parent got %d wrong answers after the fork", bad);
    CHECK(waitpid(child, &child_status, 0) == child);
    CHECKF(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0,
           "the child got wrong answers (status %d)", child_status);

    /* The parent's connection outlived the child: still one for the parent, one for the child. */
    CHECK(calls(c, "7944", 0) == 0);
    status = ga_http_request(fd, "GET", "/__stats", body, sizeof body);
    CHECKF(status == 200, "GET /__stats: %d", status);
    if (status == 200) {
        long conns = ga_json_int(body, "connections");
        long reqs = ga_json_int(body, "requests");
        CHECKF(conns == 2, "connections %ld (want 2: the parent's, kept, and the child's): %s",
               conns, body);
        CHECKF(reqs == 4 * CALLS, "requests %ld (want %d): %s", reqs, 4 * CALLS, body);
    }
    close(fd);
    ga_client_free(c);
    return ga_test_done("test_fork");
}
