// greenapi.hpp's downloads against the CDN stand-in (scripts/with-standin.sh --cdn, which
// run-c-tests.sh gives a program named *download*): Avatar::expires_at, Client::download_avatar
// with its owning Image, and the errors as exceptions carrying their code. Under ASan/UBSan,
// which also catches a leaked ga_image.
#include "greenapi.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

static_assert(std::is_copy_constructible_v<greenapi::Image>);

namespace {

int checks = 0;
int failures = 0;

void check_at(bool ok, const char *file, int line, const char *expr)
{
    ++checks;
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
    }
}
#define CHECK(cond) check_at((cond), __FILE__, __LINE__, #cond)

std::string env(const char *name)
{
    const char *v = std::getenv(name);
    return v != nullptr ? v : "";
}

ga_code code_of(const greenapi::Client &c, const std::string &url)
{
    try {
        c.download_avatar(url);
        return GA_OK;
    } catch (const greenapi::Error &e) {
        CHECK(std::string(e.what()).size() > 0);
        return e.code();
    }
}

} // namespace

int main()
{
    if (env("GA_TEST_URL").empty() || env("GA_TEST_CDN_URL").empty()) {
        std::fprintf(stderr, "run through scripts/with-standin.sh --cdn\n");
        return 2;
    }
    const std::string cdn = env("GA_TEST_CDN_URL");
    greenapi::Options options;
    CHECK(options.max_download_bytes == 5u * 1024u * 1024u);
    options.api_url = env("GA_TEST_URL");
    options.proxy = "";
    options.rate_limit_per_sec = 0;
    options.pacing = "process";
    options.ca_file = env("GA_TEST_CDN_CA");
    options.download_hosts = {"127.0.0.1"};
    greenapi::Client client(env("GA_TEST_ID").empty() ? "1101000001" : env("GA_TEST_ID"),
                            env("GA_TEST_TOKEN"), options);

    greenapi::Avatar a = client.get_avatar("79001234567");
    CHECK(a.expires_at.has_value());
    if (a.expires_at) {
        CHECK(*a.expires_at > std::chrono::system_clock::now() + std::chrono::hours(24 * 6));
    }
    greenapi::Image image = client.download_avatar(a);
    CHECK(image.content_type == "image/jpeg" && image.extension == "jpg");
    CHECK(image.bytes.size() > 3 && image.bytes[0] == 0xFF && image.bytes[1] == 0xD8);
    CHECK(image.attempts == 1);
    greenapi::Image copy = image;
    CHECK(copy.bytes == image.bytes);

    CHECK(!client.get_avatar("noavatar@c.us").expires_at.has_value());
    greenapi::Avatar old = client.get_avatar("expiredlink-1@c.us");
    CHECK(old.expires_at.has_value() && *old.expires_at < std::chrono::system_clock::now());
    CHECK(code_of(client, old.url_avatar) == GA_EXPIRED);
    CHECK(code_of(client, cdn + "/expired") == GA_EXPIRED);
    CHECK(code_of(client, cdn + "/html") == GA_BAD_RESPONSE);
    CHECK(code_of(client, cdn + "/img/x.webp") == GA_OK);
    CHECK(code_of(client, std::string("https://a.example/x\0y", 21)) == GA_INVALID_ARGUMENT);

    options.download_hosts = {"a,b"};
    try {
        greenapi::Client bad("1101000001", env("GA_TEST_TOKEN"), options);
        CHECK(false);
    } catch (const greenapi::Error &e) {
        CHECK(e.code() == GA_INVALID_ARGUMENT);
    }

    client.shutdown();
    CHECK(code_of(client, cdn + "/img/a.jpg") == GA_CANCELLED);
    std::printf("test_download_cpp: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
