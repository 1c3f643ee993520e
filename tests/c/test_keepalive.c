/*
 * Connection reuse: 10 calls on one client use one TCP connection. The stand-in counts
 * accepted connections; our own stats connection is opened before the reset and kept open,
 * so it is not counted after it.
 */
#include "ga_test.h"

int main(void)
{
    const char *url = ga_test_url();
    int port = ga_url_port(url);
    ga_client_options o = ga_test_options(url);
    ga_client *c;
    char body[512];
    int fd;
    int status;
    int i;

    CHECKF(port > 0, "no port in %s", url);
    fd = ga_stats_connect(port);
    if (fd < 0) {
        return ga_test_done("test_keepalive");
    }

    c = ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, NULL);
    CHECK(c != NULL);
    for (i = 0; c != NULL && i < 10; i++) {
        char chat[32];
        ga_result *r;
        snprintf(chat, sizeof chat, "7900123%04d@c.us", i);
        r = ga_get_avatar(c, chat);
        CHECK(r != NULL);
        if (r != NULL) {
            CHECKF(r->code == GA_OK, "call %d: %u %s", i, (unsigned)r->code,
                   r->message ? r->message : "");
            CHECKF(r->attempts == 1, "call %d: %u attempts", i, (unsigned)r->attempts);
            ga_result_free(r);
        }
    }
    status = ga_http_request(fd, "GET", "/__stats", body, sizeof body);
    CHECKF(status == 200, "GET /__stats: %d", status);
    if (status == 200) {
        long conns = ga_json_int(body, "connections");
        long reqs = ga_json_int(body, "requests");
        CHECKF(conns == 1, "connections %ld (want 1): %s", conns, body);
        CHECKF(reqs == 10, "requests %ld (want 10): %s", reqs, body);
    }

    /* The connection survives answers that are errors (their bodies are read to the end):
       every one of these has a Content-Length body and keep-alive. The stand-in counts
       connections accepted since the reset, and the client's one is already open. */
    ga_reset_stats(fd);
    {
        static const char *const ids[] = {"status-404@c.us", "79001234567@c.us",
                                          "status-400@c.us", "status-466@c.us",
                                          "badchat@c.us",    "status-418@c.us",
                                          "garbage@c.us",    "status-403@c.us",
                                          "emptyobject@c.us", "120363043968066561@g.us"};
        for (i = 0; c != NULL && i < 10; i++) {
            ga_result *r = ga_get_avatar(c, ids[i]);
            CHECK(r != NULL);
            if (r != NULL) {
                CHECKF(r->attempts == 1, "%s: %u attempts", ids[i], (unsigned)r->attempts);
                CHECKF(r->http_status != 0, "%s: no HTTP status", ids[i]);
                ga_result_free(r);
            }
        }
    }
    status = ga_http_request(fd, "GET", "/__stats", body, sizeof body);
    CHECKF(status == 200, "GET /__stats: %d", status);
    if (status == 200) {
        long conns = ga_json_int(body, "connections");
        long reqs = ga_json_int(body, "requests");
        /* the connection from the first round is still open: no new connection at all */
        CHECKF(conns == 0, "after error answers: %ld new connections (want 0): %s", conns, body);
        CHECKF(reqs == 10, "after error answers: requests %ld (want 10): %s", reqs, body);
    }

    ga_client_free(c);
    close(fd);
    return ga_test_done("test_keepalive");
}
