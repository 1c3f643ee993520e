// include/greenapi.hpp against the stand-in server (scripts/with-standin.sh sets GA_TEST_URL,
// GA_TEST_TOKEN, GA_TEST_ID): options, answers, errors, batches, moves and shutdown. Run under
// ASan/UBSan, which also catches a leaked or twice-freed result.
#include "greenapi.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

static_assert(std::is_base_of_v<std::runtime_error, greenapi::Error>);
static_assert(!std::is_copy_constructible_v<greenapi::Client>);
static_assert(!std::is_copy_assignable_v<greenapi::Client>);
static_assert(std::is_nothrow_move_constructible_v<greenapi::Client>);
static_assert(std::is_nothrow_move_assignable_v<greenapi::Client>);
static_assert(std::is_copy_constructible_v<greenapi::Avatar>);
static_assert(std::is_copy_constructible_v<greenapi::Result>);

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
    if (v == nullptr || v[0] == '\0') {
        std::fprintf(stderr, "%s is not set: run this test through scripts/with-standin.sh\n", name);
        std::exit(2);
    }
    return v;
}

const std::string URL = env("GA_TEST_URL");
const std::string TOKEN = env("GA_TEST_TOKEN");
const std::string ID = env("GA_TEST_ID");

std::string url_of(const std::string &chat_id)
{
    return "https://pps.whatsapp.net/v/stand-in/" + chat_id + ".jpg";
}

greenapi::Options standin_options()
{
    greenapi::Options o;
    o.api_url = URL;
    o.proxy = "";
    o.rate_limit_per_sec = 0;
    o.max_retries = 0;
    return o;
}

greenapi::Client standin_client() { return greenapi::Client(ID, TOKEN, standin_options()); }

// The Error `f` throws; empty (a failed check) when it throws nothing or something else.
template <typename F> std::optional<greenapi::Error> error_of(F &&f)
{
    try {
        f();
    } catch (const greenapi::Error &e) {
        return e;
    } catch (...) {
        return std::nullopt;
    }
    return std::nullopt;
}

bool mentions(const greenapi::Error &e, const std::string &text)
{
    return std::string(e.what()).find(text) != std::string::npos;
}

void test_version_and_defaults()
{
    CHECK(greenapi::version() == GA_VERSION_STRING);
    ga_client_options c;
    CHECK(ga_client_options_init(&c, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    greenapi::Options o;
    CHECK(!o.api_url && !o.user_agent && !o.ca_file && !o.proxy);
    CHECK(o.timeout_ms == c.timeout_ms);
    CHECK(o.connect_timeout_ms == c.connect_timeout_ms);
    CHECK(o.max_retries == c.max_retries);
    CHECK(o.rate_limit_per_sec == c.rate_limit_per_sec);
    CHECK(o.max_body_bytes == c.max_body_bytes);
    CHECK(o.allow_insecure_http == c.allow_insecure_http);
    CHECK(o.max_in_flight == c.max_in_flight);
    CHECK(o.max_in_flight == 64 && o.timeout_ms == 30000);
}

void test_refused_at_creation()
{
    auto e = error_of([] { greenapi::Client("abc", TOKEN, standin_options()); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "id_instance"));
    CHECK(e && e->http_status() == 0 && !mentions(*e, TOKEN));

    // Without the NUL check C would read the token up to the NUL and accept it.
    e = error_of([] { greenapi::Client(ID, TOKEN + std::string(1, '\0') + "x", standin_options()); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "api_token_instance"));
    CHECK(e && !mentions(*e, TOKEN));

    // Each option reaches the library.
    greenapi::Options o = standin_options();
    o.max_in_flight = 0;
    e = error_of([&] { greenapi::Client(ID, TOKEN, o); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "max_in_flight"));
    o = standin_options();
    o.max_retries = 11;
    e = error_of([&] { greenapi::Client(ID, TOKEN, o); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "max_retries"));
    o = standin_options();
    o.api_url = "ftp://example.com";
    e = error_of([&] { greenapi::Client(ID, TOKEN, o); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "api_url"));
    o = standin_options();
    o.api_url = URL + std::string(1, '\0') + "/x";
    e = error_of([&] { greenapi::Client(ID, TOKEN, o); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "api_url"));
    o = standin_options();
    o.ca_file = "/nonexistent/ca.pem";
    e = error_of([&] { greenapi::Client(ID, TOKEN, o); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "ca_file"));
}

void test_answers()
{
    greenapi::Client client = standin_client();
    greenapi::Avatar a = client.get_avatar("79001234567");
    CHECK(a.url_avatar == url_of("79001234567@c.us"));
    CHECK(a.exists_whatsapp == true);
    CHECK(!a.available.has_value());
    CHECK(!a.reason.has_value());
    CHECK(a.http_status == 200 && a.attempts == 1);
    CHECK(a == client.get_avatar("79001234567@c.us"));

    a = client.get_avatar("hidden@lid");
    CHECK(a.url_avatar.empty() && a.available == false && !a.exists_whatsapp.has_value());

    a = client.get_avatar("badchat@c.us");
    CHECK(a.reason == std::string("bad request data") && a.exists_whatsapp == false);
    CHECK(a != client.get_avatar("hidden@lid"));
}

void test_errors()
{
    greenapi::Client client = standin_client();
    auto e = error_of([&] { client.get_avatar("not a chat id"); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && e->http_status() == 0 && e->attempts() == 0);
    CHECK(e && std::strcmp(e->code_str(), ga_code_str(GA_INVALID_ARGUMENT)) == 0);

    e = error_of([&] { client.get_avatar(std::string("79001234567\0junk", 16)); });
    CHECK(e && e->code() == GA_INVALID_ARGUMENT && mentions(*e, "chat_id"));

    e = error_of([&] { client.get_avatar("status-500@c.us"); });
    CHECK(e && e->code() == GA_SERVER_ERROR && e->http_status() == 500 && e->attempts() == 1);

    const std::string wrong = "wrong-token-0123456789abcdef";
    greenapi::Client unauthorized(ID, wrong, standin_options());
    e = error_of([&] { unauthorized.get_avatar("79001234567"); });
    CHECK(e && e->code() == GA_UNAUTHORIZED && e->http_status() == 401);
    CHECK(e && !mentions(*e, wrong));

    greenapi::Options o = standin_options();
    o.timeout_ms = 200;
    greenapi::Client impatient(ID, TOKEN, o);
    e = error_of([&] { impatient.get_avatar("slow-3000@c.us"); });
    CHECK(e && e->code() == GA_TIMEOUT);

    // An Error is a std::runtime_error.
    bool caught = false;
    try {
        client.get_avatar("status-404@c.us");
    } catch (const std::runtime_error &x) {
        caught = std::strlen(x.what()) > 0;
    }
    CHECK(caught);
}

void test_batch()
{
    greenapi::Client client = standin_client();
    CHECK(client.get_avatars({}).empty());

    const std::vector<std::string> ids = {
        "79001234567", "not a chat id", "status-403@c.us", "79001234567@c.us",
        std::string("1\0x", 3), "hidden@lid",
    };
    std::vector<greenapi::Result> r = client.get_avatars(ids);
    CHECK(r.size() == ids.size());
    if (r.size() != ids.size()) {
        return;
    }
    CHECK(r[0].ok() && r[0].avatar().url_avatar == url_of("79001234567@c.us"));
    CHECK(!r[1].ok() && r[1].error().code() == GA_INVALID_ARGUMENT);
    CHECK(!r[2] && r[2].error().code() == GA_FORBIDDEN && r[2].error().http_status() == 403);
    CHECK(r[3] && r[3].avatar().url_avatar == r[0].avatar().url_avatar);
    CHECK(!r[4].ok() && r[4].error().code() == GA_INVALID_ARGUMENT);
    CHECK(!r[4].ok() && mentions(r[4].error(), "NUL"));
    CHECK(r[5].ok() && r[5].avatar().available == false);

    // avatar() of a failed entry throws its error; error() of a good one is a logic error.
    auto e = error_of([&] { (void)r[2].avatar(); });
    CHECK(e && e->code() == GA_FORBIDDEN);
    bool logic = false;
    try {
        (void)r[0].error();
    } catch (const std::logic_error &) {
        logic = true;
    }
    CHECK(logic);
}

void test_batch_progress()
{
    greenapi::Options o = standin_options();
    o.max_in_flight = 1;
    greenapi::Client client(ID, TOKEN, o);
    std::vector<std::string> ids;
    for (int i = 0; i < 20; i++) {
        ids.push_back("7900100" + std::to_string(1000 + i));
    }

    std::size_t calls = 0, last_done = 0, last_total = 0;
    std::vector<greenapi::Result> r = client.get_avatars(ids, [&](std::size_t done, std::size_t total) {
        ++calls;
        last_done = done;
        last_total = total;
        return true;
    });
    CHECK(calls == ids.size() && last_done == ids.size() && last_total == ids.size());
    std::size_t ok = 0;
    for (const auto &x : r) {
        ok += x.ok();
    }
    CHECK(ok == ids.size());

    // false stops the batch: the entries never asked are cancelled.
    r = client.get_avatars(ids, [](std::size_t, std::size_t) { return false; });
    std::size_t cancelled = 0;
    for (const auto &x : r) {
        cancelled += !x.ok() && x.error().code() == GA_CANCELLED;
    }
    CHECK(r.size() == ids.size() && cancelled > 0 && cancelled < ids.size());

    // An exception from the callback stops the batch and comes out of get_avatars (ASan: nothing
    // leaks on the way). The callback is not called again after it threw, so the exception that
    // comes out is the first.
    bool rethrown = false;
    calls = 0;
    try {
        client.get_avatars(ids, [&](std::size_t done, std::size_t) -> bool {
            ++calls;
            if (done >= 3) {
                throw std::out_of_range("throw #" + std::to_string(calls));
            }
            return true;
        });
    } catch (const std::out_of_range &x) {
        rethrown = std::strcmp(x.what(), "throw #3") == 0;
    }
    CHECK(rethrown && calls == 3);
    // The client is still usable.
    CHECK(client.get_avatar("79001234567").url_avatar == url_of("79001234567@c.us"));
}

void test_moves()
{
    greenapi::Client a = standin_client();
    greenapi::Client b(std::move(a));
    CHECK(a.native_handle() == nullptr);
    auto e = error_of([&] { a.get_avatar("79001234567"); });
    CHECK(e && e->code() == GA_NULL_ARGUMENT);
    e = error_of([&] { a.get_avatars({"79001234567"}); });
    CHECK(e && e->code() == GA_NULL_ARGUMENT);
    a.shutdown();
    CHECK(b.get_avatar("79001234567").exists_whatsapp == true);

    // Move assignment frees the client it replaces (ASan reports a leak otherwise).
    greenapi::Client c = standin_client();
    c = std::move(b);
    CHECK(b.native_handle() == nullptr && c.native_handle() != nullptr);
    CHECK(c.get_avatar("79001234567").exists_whatsapp == true);
    a = standin_client();
    CHECK(a.get_avatar("79001234567").exists_whatsapp == true);
}

void test_shutdown()
{
    greenapi::Client client = standin_client();
    client.shutdown();
    client.shutdown();
    auto e = error_of([&] { client.get_avatar("79001234567"); });
    CHECK(e && e->code() == GA_CANCELLED);
    std::vector<greenapi::Result> r = client.get_avatars({"79001234567", "120363043968066561@g.us"});
    CHECK(r.size() == 2 && !r[0].ok() && r[0].error().code() == GA_CANCELLED);
    CHECK(r.size() == 2 && !r[1].ok() && r[1].error().code() == GA_CANCELLED);

    // From another thread, while a batch runs: it starts once the first entry has its result.
    greenapi::Options o = standin_options();
    o.max_in_flight = 1;
    greenapi::Client busy(ID, TOKEN, o);
    std::vector<std::string> ids;
    for (int i = 0; i < 10; i++) {
        ids.push_back("slow-" + std::to_string(300 + i) + "@c.us");
    }
    std::atomic<bool> first{false};
    std::thread stopper([&] {
        while (!first.load()) {
            std::this_thread::yield();
        }
        busy.shutdown();
    });
    r = busy.get_avatars(ids, [&](std::size_t, std::size_t) {
        first.store(true);
        return true;
    });
    stopper.join();
    std::size_t cancelled = 0;
    for (const auto &x : r) {
        cancelled += !x.ok() && x.error().code() == GA_CANCELLED;
    }
    CHECK(r.size() == ids.size() && cancelled > 0 && cancelled < ids.size());
}

// The event handler: told of a retried call in order, an exception it throws dropped and
// counted, never thrown from the call; stats() from the C counters.
void test_events_and_stats()
{
    std::vector<std::pair<std::uint32_t, std::uint32_t>> seen;
    greenapi::Options o = standin_options();
    o.max_retries = 2;
    o.event_min_level = GA_LEVEL_DEBUG;
    o.on_event = [&](const ga_event &e) {
        if (e.kind == GA_EVENT_REQUEST_ANSWERED || e.kind == GA_EVENT_RETRY) {
            seen.emplace_back(e.kind, e.status);
        }
    };
    greenapi::Client client(ID, TOKEN, o);
    CHECK(client.get_avatar("flaky503-cpp@c.us").exists_whatsapp == true);
    CHECK(seen.size() == 3);
    if (seen.size() == 3) {
        CHECK(seen[0] == std::make_pair(std::uint32_t{GA_EVENT_REQUEST_ANSWERED}, 503u));
        CHECK(seen[1] == std::make_pair(std::uint32_t{GA_EVENT_RETRY}, 503u));
        CHECK(seen[2] == std::make_pair(std::uint32_t{GA_EVENT_REQUEST_ANSWERED}, 200u));
    }
    ga_stats s = client.stats();
    CHECK(s.calls == 1 && s.attempts == 2 && s.retries == 1 && s.results[GA_OK] == 1);
    CHECK(s.handler_failures == 0);

    greenapi::Options t = standin_options();
    t.event_min_level = GA_LEVEL_DEBUG;
    t.on_event = [](const ga_event &) { throw std::runtime_error("handler bug"); };
    greenapi::Client throwing(ID, TOKEN, t);
    bool threw = false;
    try {
        CHECK(throwing.get_avatar("79001234567").exists_whatsapp == true);
        std::vector<greenapi::Result> r = throwing.get_avatars({"79001234567", "noavatar@c.us"});
        CHECK(r.size() == 2 && r[0].ok() && r[1].ok());
    } catch (...) {
        threw = true;
    }
    CHECK(!threw);
    // Two events at least per call (sent, answered), each one thrown and counted.
    CHECK(throwing.stats().handler_failures >= 6);
    // Moved, the handler goes with the client.
    greenapi::Client moved(std::move(throwing));
    CHECK(moved.get_avatar("79001234567").exists_whatsapp == true);
    CHECK(moved.stats().handler_failures >= 8);
    auto e = error_of([&] { throwing.stats(); });
    CHECK(e && e->code() == GA_NULL_ARGUMENT);
}

} // namespace

int main()
{
    test_version_and_defaults();
    test_refused_at_creation();
    test_answers();
    test_errors();
    test_batch();
    test_batch_progress();
    test_moves();
    test_shutdown();
    test_events_and_stats();
    std::printf("test_wrapper: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
