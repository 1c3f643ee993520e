/*
 * ga_download_avatar against the CDN stand-in (run with scripts/with-standin.sh --cdn, which
 * run-c-tests.sh does for a program named *download*): GetAvatar links carry their expiry
 * (ga_result.expires_at), pictures arrive with their type, each fault path gives its code and
 * a message, the options of version 4 are checked, NULL arguments are refused, a shut-down
 * client downloads nothing, and the CDN never saw the token. Under ASan and valgrind: every
 * ga_image is freed, none leaks.
 */
#include "ga_test.h"

static const char *cdn_url(void)
{
    const char *u = getenv("GA_TEST_CDN_URL");
    if (u == NULL || u[0] == '\0') {
        fprintf(stderr, "GA_TEST_CDN_URL is not set: run through scripts/with-standin.sh --cdn\n");
        exit(2);
    }
    return u;
}

static ga_client *client_with(const char *hosts, uint64_t max_bytes, ga_code *code)
{
    ga_client_options o;
    ga_client_options_init(&o, GA_CLIENT_OPTIONS_VERSION);
    o.api_url = ga_test_url();
    o.proxy = "";
    o.rate_limit_per_sec = 0.0;
    o.pacing = "process";
    o.max_retries = 1;
    o.ca_file = getenv("GA_TEST_CDN_CA");
    o.download_hosts = hosts;
    if (max_bytes != 0) {
        o.max_download_bytes = max_bytes;
    }
    return ga_client_new_with_options(ga_test_id(), ga_test_token(), &o, code);
}

/* The link GetAvatar answers for `chat_id`, copied; its expiry in *expires_at. */
static char *link_for(ga_client *c, const char *chat_id, int64_t *expires_at)
{
    ga_result *r = ga_get_avatar(c, chat_id);
    char *url = NULL;
    CHECKF(r->code == GA_OK, "%s: %s", chat_id, r->message ? r->message : "");
    if (r->code == GA_OK) {
        url = strdup(r->url_avatar);
        *expires_at = r->expires_at;
    }
    ga_result_free(r);
    return url;
}

/* Downloads `url`, expecting `want`; a message is always there on failure. */
static void expect_code(ga_client *c, const char *url, ga_code want, const char *says)
{
    ga_image *img = (ga_image *)0x1;
    ga_code code = ga_download_avatar(c, url, &img);
    const char *msg = ga_last_error_message();
    CHECKF(code == want, "%s: %u (%s), wanted %u", url, (unsigned)code, msg, (unsigned)want);
    CHECKF(img == NULL, "%s: no image on failure", url);
    CHECK(msg != NULL && msg[0] != '\0');
    if (says != NULL) {
        CHECKF(strstr(msg, says) != NULL, "%s: message \"%s\" lacks \"%s\"", url, msg, says);
    }
    ga_image_free(img);
}

static void check_log_has_no_token(void)
{
    const char *path = getenv("GA_TEST_CDN_LOG");
    const char *token = ga_test_token();
    char buf[1 << 16];
    size_t n;
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    CHECKF(f != NULL, "the CDN's log %s", path ? path : "(unset)");
    if (f == NULL) {
        return;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    CHECKF(n > 0 && strstr(buf, "GET /avatar/") != NULL, "the CDN saw the downloads");
    CHECKF(strstr(buf, token) == NULL, "the token reached the CDN");
    /* Nor the GetAvatar call's JSON content type. */
    CHECK(strstr(buf, "application/json") == NULL);
}

int main(void)
{
    ga_code code = 12345;
    ga_client *c = client_with("127.0.0.1", 0, &code);
    char url[512];
    char *link;
    int64_t expires_at = 0;
    ga_image *img = NULL;
    time_t now = time(NULL);

    CHECKF(c != NULL, "client: %u %s", (unsigned)code, ga_last_error_message());
    if (c == NULL) {
        return ga_test_done("test_download");
    }
    CHECK(GA_CLIENT_OPTIONS_VERSION >= 4);
    CHECK(GA_EXPIRED == 18);
    CHECK(strcmp(ga_code_str(GA_EXPIRED), "unknown code") != 0);

    /* A picture, and its link's expiry (a week ahead at the stand-in). */
    link = link_for(c, "79001234567@c.us", &expires_at);
    CHECKF(expires_at > now + 6 * 86400 && expires_at < now + 8 * 86400, "expires_at %lld",
           (long long)expires_at);
    if (link != NULL) {
        code = ga_download_avatar(c, link, &img);
        CHECKF(code == GA_OK, "%u %s", (unsigned)code, ga_last_error_message());
        CHECK(img != NULL);
        if (img != NULL) {
            CHECK(img->len > 3 && img->data[0] == 0xFF && img->data[1] == 0xD8);
            CHECK(strcmp(img->content_type, "image/jpeg") == 0);
            CHECK(strcmp(img->extension, "jpg") == 0);
            CHECK(img->attempts == 1);
        }
        ga_image_free(img);
        free(link);
    }
    snprintf(url, sizeof url, "%s/img/a.png", cdn_url());
    img = NULL;
    CHECK(ga_download_avatar(c, url, &img) == GA_OK);
    CHECK(img != NULL && strcmp(img->content_type, "image/png") == 0 && img->len > 8);
    ga_image_free(img);
    snprintf(url, sizeof url, "%s/img/a.webp", cdn_url());
    img = NULL;
    CHECK(ga_download_avatar(c, url, &img) == GA_OK);
    CHECK(img != NULL && strcmp(img->extension, "webp") == 0);
    ga_image_free(img);

    /* An answer without a picture has no expiry; a link already expired is not asked. */
    link = link_for(c, "noavatar@c.us", &expires_at);
    CHECK(link != NULL && link[0] == '\0' && expires_at == 0);
    if (link != NULL) {
        expect_code(c, link, GA_INVALID_ARGUMENT, "no picture");
    }
    free(link);
    link = link_for(c, "expiredlink-1@c.us", &expires_at);
    CHECK(expires_at != 0 && expires_at < now);
    if (link != NULL) {
        expect_code(c, link, GA_EXPIRED, "oe=");
    }
    free(link);

    /* The fault paths, by the links GetAvatar hands out and by URL. */
    link = link_for(c, "cdnfault-expired-1@c.us", &expires_at);
    if (link != NULL) {
        expect_code(c, link, GA_EXPIRED, "URL signature expired");
    }
    free(link);
    snprintf(url, sizeof url, "%s/html", cdn_url());
    expect_code(c, url, GA_BAD_RESPONSE, "text/html");
    snprintf(url, sizeof url, "%s/mislabelled", cdn_url());
    expect_code(c, url, GA_BAD_RESPONSE, "image/png");
    snprintf(url, sizeof url, "%s/redirect/evil", cdn_url());
    expect_code(c, url, GA_HTTP_STATUS, "evil.example");
    snprintf(url, sizeof url, "%s/gone", cdn_url());
    expect_code(c, url, GA_EXPIRED, NULL);
    expect_code(c, "https://pps.whatsapp.net.evil.example/x.jpg", GA_INVALID_ARGUMENT,
                "not an allowed download host");
    expect_code(c, "http://pps.whatsapp.net/x.jpg", GA_INVALID_ARGUMENT, "https");
    {
        ga_client *small = client_with("127.0.0.1", 1000, &code);
        CHECK(small != NULL);
        snprintf(url, sizeof url, "%s/huge", cdn_url());
        if (small != NULL) {
            expect_code(small, url, GA_BODY_TOO_LARGE, "max_download_bytes");
        }
        ga_client_free(small);
    }
    {
        /* Without download_hosts only whatsapp.net is allowed: the CDN stand-in is refused. */
        ga_client *plain = client_with(NULL, 0, &code);
        CHECK(plain != NULL);
        snprintf(url, sizeof url, "%s/img/a.jpg", cdn_url());
        if (plain != NULL) {
            expect_code(plain, url, GA_INVALID_ARGUMENT, "127.0.0.1");
        }
        ga_client_free(plain);
    }

    /* Options of version 4 are checked at creation. */
    CHECK(client_with("bad host/x", 0, &code) == NULL && code == GA_INVALID_ARGUMENT);
    CHECK(strstr(ga_last_error_message(), "download_hosts") != NULL);
    CHECK(client_with(NULL, (uint64_t)1 << 40, &code) == NULL && code == GA_INVALID_ARGUMENT);
    CHECK(strstr(ga_last_error_message(), "max_download_bytes") != NULL);
    {
        ga_client *two = client_with(" 127.0.0.1 , cdn.example,", 0, &code);
        CHECKF(two != NULL, "a list with spaces and a trailing comma: %s", ga_last_error_message());
        ga_client_free(two);
    }

    /* NULL arguments. */
    img = (ga_image *)0x1;
    CHECK(ga_download_avatar(NULL, url, &img) == GA_NULL_ARGUMENT && img == NULL);
    img = (ga_image *)0x1;
    CHECK(ga_download_avatar(c, NULL, &img) == GA_NULL_ARGUMENT && img == NULL);
    CHECK(ga_download_avatar(c, url, NULL) == GA_NULL_ARGUMENT);
    ga_image_free(NULL);

    check_log_has_no_token();

    /* A shut-down client downloads nothing. */
    ga_client_shutdown(c);
    snprintf(url, sizeof url, "%s/img/a.jpg", cdn_url());
    expect_code(c, url, GA_CANCELLED, "shut down");
    ga_client_free(c);
    return ga_test_done("test_download");
}
