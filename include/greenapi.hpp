/*
 * greenapi.hpp: a header-only C++17 wrapper of greenapi.h.
 *
 * Written by hand (not generated). Owning types instead of `_free` calls, exceptions instead of
 * codes:
 *
 *     greenapi::Options options;
 *     options.api_url = "https://7103.api.greenapi.com";
 *     greenapi::Client client(id_instance, token, options);
 *     greenapi::Avatar avatar = client.get_avatar("79001234567");   // or throws greenapi::Error
 *     for (const greenapi::Result &r : client.get_avatars(ids)) ... // one per id, never throws per id
 *
 * Link with the C library as for greenapi.h (`pkg-config --libs greenapi`).
 */

#ifndef GREENAPI_HPP
#define GREENAPI_HPP

#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 201703L
#error "greenapi.hpp needs C++17 or later (greenapi.h alone works with C++11)"
#endif

#include "greenapi.h"

#include <chrono>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace greenapi {

/** The library's version, "MAJOR.MINOR.PATCH" (compare with GA_VERSION_STRING, the header's). */
inline std::string version() { return ga_version(); }

/**
 * Why there is no avatar: the `ga_code` (`code()`), the status of the last HTTP response
 * (`http_status()`, 0 when none arrived) and the attempts made. `what()` is the library's
 * message, which never contains the token.
 */
class Error : public std::runtime_error {
public:
    /** An error with `code`, a message, and the HTTP status and attempts it came with. */
    Error(ga_code code, const std::string &message, std::uint16_t http_status = 0,
          std::uint32_t attempts = 0)
        : std::runtime_error(message), code_(code), http_status_(http_status), attempts_(attempts)
    {
    }

    /** The `ga_code`: `GA_INVALID_ARGUMENT`, `GA_UNAUTHORIZED`, ... (never `GA_OK`). */
    ga_code code() const noexcept { return code_; }
    /** Status of the last HTTP response; 0 when none arrived. */
    std::uint16_t http_status() const noexcept { return http_status_; }
    /** HTTP attempts made (1 + retries); 0 when nothing was sent. */
    std::uint32_t attempts() const noexcept { return attempts_; }
    /** A static description of `code()`, as `ga_code_str` gives it. */
    const char *code_str() const noexcept { return ga_code_str(code_); }

private:
    ga_code code_;
    std::uint16_t http_status_;
    std::uint32_t attempts_;
};

/** A GetAvatar answer (a value: copy it, compare it, keep it after the client is gone). */
struct Avatar {
    /** Whether the number has WhatsApp; empty when the answer did not say. */
    std::optional<bool> exists_whatsapp;
    /** false when privacy settings hide the avatar; empty when the answer did not say. */
    std::optional<bool> available;
    /** The avatar's URL; empty when there is none. */
    std::string url_avatar;
    /** Why the service could not check ("bad request data", ...); empty when it did not say. */
    std::optional<std::string> reason;
    /** Status of the HTTP response (200). */
    std::uint16_t http_status = 0;
    /** HTTP attempts made (1 + retries). */
    std::uint32_t attempts = 0;
    /**
     * When `url_avatar` stops working (its `oe=` parameter, `ga_result.expires_at`); empty when
     * the URL has none. `Client::download_avatar` throws `GA_EXPIRED` past it.
     */
    std::optional<std::chrono::system_clock::time_point> expires_at;

    friend bool operator==(const Avatar &a, const Avatar &b)
    {
        return a.exists_whatsapp == b.exists_whatsapp && a.available == b.available &&
               a.url_avatar == b.url_avatar && a.reason == b.reason &&
               a.http_status == b.http_status && a.attempts == b.attempts &&
               a.expires_at == b.expires_at;
    }
    friend bool operator!=(const Avatar &a, const Avatar &b) { return !(a == b); }
};

/** A downloaded picture (a value: its bytes are copied out of the library's `ga_image`). */
struct Image {
    /** The picture's bytes; they match `content_type`. */
    std::vector<std::uint8_t> bytes;
    /** `"image/jpeg"`, `"image/png"` or `"image/webp"`. */
    std::string content_type;
    /** `"jpg"`, `"png"` or `"webp"`. */
    std::string extension;
    /** HTTP attempts made (1 + retries). */
    std::uint32_t attempts = 0;
};

/** One entry of `Client::get_avatars`: an avatar or the error that entry got. */
class Result {
public:
    /** An entry that got an answer. */
    explicit Result(Avatar avatar) : value_(std::move(avatar)) {}
    /** An entry that failed. */
    explicit Result(Error error) : value_(std::move(error)) {}

    /** true when this entry got an answer. */
    bool ok() const noexcept { return value_.index() == 0; }
    /** `ok()`. */
    explicit operator bool() const noexcept { return ok(); }

    /** The answer; throws this entry's `Error` when it has none. */
    const Avatar &avatar() const
    {
        if (!ok()) {
            throw std::get<Error>(value_);
        }
        return std::get<Avatar>(value_);
    }

    /** Why this entry has no answer; throws `std::logic_error` when it has one. */
    const Error &error() const
    {
        if (ok()) {
            throw std::logic_error("greenapi::Result::error(): the entry has an avatar");
        }
        return std::get<Error>(value_);
    }

private:
    std::variant<Avatar, Error> value_;
};

/**
 * Options of `ga_client_options` (version `GA_CLIENT_OPTIONS_VERSION`), with the same names.
 * A default-constructed `Options` holds the library's defaults (read from
 * `ga_client_options_init`); empty optionals are the C struct's NULLs.
 */
struct Options {
    /** Base URL; empty: `https://api.green-api.com`. */
    std::optional<std::string> api_url;
    /** Time allowed for one attempt, in milliseconds. */
    std::uint32_t timeout_ms;
    /** Time allowed to connect, in milliseconds. */
    std::uint32_t connect_timeout_ms;
    /** Retries after the first attempt. */
    std::uint32_t max_retries;
    /** Requests per second for the whole client; 0 turns pacing off. */
    double rate_limit_per_sec;
    /** `User-Agent` header; empty: `greenapi/<version>`. */
    std::optional<std::string> user_agent;
    /** A PEM file of root certificates trusted as well; empty: built-in roots only. */
    std::optional<std::string> ca_file;
    /** Empty: from the environment; `""`: no proxy; else the proxy's URL. */
    std::optional<std::string> proxy;
    /** Largest response body read. */
    std::uint64_t max_body_bytes;
    /** Allow plain `http://` to a host that is not loopback. */
    bool allow_insecure_http;
    /** Requests of one `get_avatars` call on the wire at once. */
    std::uint32_t max_in_flight;
    /** With whom the rate is shared: empty or `"host"` (the default), or `"process"`. */
    std::optional<std::string> pacing;
    /** Largest picture `download_avatar` reads (default 5 MiB). */
    std::uint64_t max_download_bytes;
    /** More hosts pictures may come from besides `whatsapp.net` (each with its subdomains). */
    std::vector<std::string> download_hosts;
    /**
     * Called with each event at `event_min_level` or above (`ga_event`, `GA_EVENT_*`); empty
     * (the default): no events. It runs where `ga_event_callback` says (any thread of a call
     * or batch, or the one destroying the client), synchronously. An exception it throws is
     * caught, dropped and counted in `stats().handler_failures`: it never reaches the call
     * that was running (which may be on another thread, or a destructor).
     */
    std::function<void(const ga_event &)> on_event;
    /** `GA_LEVEL_DEBUG`, `GA_LEVEL_INFO` (the default) or `GA_LEVEL_WARNING`. */
    std::uint32_t event_min_level;

    /** The library's defaults. */
    Options()
    {
        ga_client_options c;
        if (ga_client_options_init(&c, GA_CLIENT_OPTIONS_VERSION) != GA_OK) {
            // Only a library older than this header refuses its version.
            throw Error(GA_INVALID_ARGUMENT, ga_last_error_message());
        }
        timeout_ms = c.timeout_ms;
        connect_timeout_ms = c.connect_timeout_ms;
        max_retries = c.max_retries;
        rate_limit_per_sec = c.rate_limit_per_sec;
        max_body_bytes = c.max_body_bytes;
        allow_insecure_http = c.allow_insecure_http;
        max_in_flight = c.max_in_flight;
        max_download_bytes = c.max_download_bytes;
        event_min_level = c.event_min_level;
    }
};

namespace detail {

// A std::string may hold a NUL byte, which C would read as the end of the string: such an
// argument is refused rather than silently cut short.
inline bool has_nul(const std::string &s) noexcept { return s.find('\0') != std::string::npos; }

inline void check_no_nul(const std::string &s, const char *what)
{
    if (has_nul(s)) {
        throw Error(GA_INVALID_ARGUMENT, std::string(what) + " contains a NUL byte");
    }
}

inline const char *c_str_or_null(const std::optional<std::string> &s, const char *what)
{
    if (!s) {
        return nullptr;
    }
    check_no_nul(*s, what);
    return s->c_str();
}

inline std::optional<bool> tristate(std::int8_t v)
{
    if (v < 0) {
        return std::nullopt;
    }
    return v != 0;
}

inline Avatar to_avatar(const ga_result &r)
{
    Avatar a;
    a.exists_whatsapp = tristate(r.exists_whatsapp);
    a.available = tristate(r.available);
    a.url_avatar = r.url_avatar != nullptr ? r.url_avatar : "";
    if (r.reason != nullptr) {
        a.reason = std::string(r.reason);
    }
    a.http_status = r.http_status;
    a.attempts = r.attempts;
    if (r.expires_at != 0) {
        a.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(r.expires_at));
    }
    return a;
}

inline Error to_error(const ga_result &r)
{
    return Error(r.code, r.message != nullptr ? r.message : ga_code_str(r.code), r.http_status,
                 r.attempts);
}

inline Result to_result(const ga_result *r)
{
    if (r == nullptr) {
        return Result(Error(GA_NULL_ARGUMENT, "no result"));
    }
    if (r->code == GA_OK) {
        return Result(to_avatar(*r));
    }
    return Result(to_error(*r));
}

struct ResultFree {
    void operator()(ga_result *r) const noexcept { ga_result_free(r); }
};

struct ImageFree {
    void operator()(ga_image *i) const noexcept { ga_image_free(i); }
};

// Frees a batch's results however the conversion ends, exceptions included.
struct Results {
    std::vector<ga_result *> items;
    bool filled = false;
    explicit Results(std::size_t n) : items(n, nullptr) {}
    Results(const Results &) = delete;
    Results &operator=(const Results &) = delete;
    ~Results()
    {
        if (filled) {
            ga_results_free(items.data(), items.size());
        }
    }
};

// What a progress callback threw, carried across the C frames and rethrown after them.
struct Progress {
    const std::function<bool(std::size_t, std::size_t)> *fn;
    std::exception_ptr thrown;
};

extern "C" inline int greenapi_hpp_progress(std::size_t done, std::size_t total, void *user)
{
    Progress *p = static_cast<Progress *>(user);
    try {
        return (*p->fn)(done, total) ? 0 : 1;
    } catch (...) {
        // An exception must not unwind through the library's frames: stop the batch instead.
        p->thrown = std::current_exception();
        return 1;
    }
}

// The C++ handler of a client, where the C callback finds it, with the count of what it threw.
struct EventSink {
    std::function<void(const ga_event &)> fn;
    std::atomic<std::uint64_t> thrown{0};
};

extern "C" inline void greenapi_hpp_event(const ga_event *event, void *user)
{
    EventSink *sink = static_cast<EventSink *>(user);
    try {
        sink->fn(*event);
    } catch (...) {
        // No exception may unwind through the library's frames, and the call that was running
        // may be on another thread: dropped, counted.
        sink->thrown.fetch_add(1, std::memory_order_relaxed);
    }
}

} // namespace detail

/**
 * A client for one instance (it owns a `ga_client`): a connection pool and a rate limiter.
 * Move-only. Its calls may run from many threads at once; do not destroy or move it while
 * one runs (call `shutdown()` and join them first). A moved-from client refuses every call
 * with `GA_NULL_ARGUMENT`.
 */
class Client {
public:
    /** Throws `Error` (`GA_INVALID_ARGUMENT`, ...) naming the argument or option refused. */
    Client(std::string id_instance, std::string api_token_instance, Options options = {})
    {
        detail::check_no_nul(id_instance, "id_instance");
        detail::check_no_nul(api_token_instance, "api_token_instance");
        ga_client_options c;
        if (ga_client_options_init(&c, GA_CLIENT_OPTIONS_VERSION) != GA_OK) {
            throw Error(GA_INVALID_ARGUMENT, ga_last_error_message());
        }
        c.api_url = detail::c_str_or_null(options.api_url, "api_url");
        c.timeout_ms = options.timeout_ms;
        c.connect_timeout_ms = options.connect_timeout_ms;
        c.max_retries = options.max_retries;
        c.rate_limit_per_sec = options.rate_limit_per_sec;
        c.user_agent = detail::c_str_or_null(options.user_agent, "user_agent");
        c.ca_file = detail::c_str_or_null(options.ca_file, "ca_file");
        c.proxy = detail::c_str_or_null(options.proxy, "proxy");
        c.max_body_bytes = options.max_body_bytes;
        c.allow_insecure_http = options.allow_insecure_http;
        c.max_in_flight = options.max_in_flight;
        c.pacing = detail::c_str_or_null(options.pacing, "pacing");
        c.max_download_bytes = options.max_download_bytes;
        std::string hosts;
        for (const std::string &h : options.download_hosts) {
            detail::check_no_nul(h, "download_hosts");
            if (h.find(',') != std::string::npos) {
                throw Error(GA_INVALID_ARGUMENT, "download_hosts: an entry holds a comma");
            }
            hosts += hosts.empty() ? h : "," + h;
        }
        c.download_hosts = hosts.empty() ? nullptr : hosts.c_str();
        c.event_min_level = options.event_min_level;
        if (options.on_event) {
            sink_ = std::make_unique<detail::EventSink>();
            sink_->fn = std::move(options.on_event);
            c.on_event = detail::greenapi_hpp_event;
            c.on_event_user = sink_.get();
        }
        ga_code code = GA_OK;
        client_ = ga_client_new_with_options(id_instance.c_str(), api_token_instance.c_str(), &c,
                                             &code);
        if (client_ == nullptr) {
            throw Error(code, ga_last_error_message());
        }
    }

    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    Client(Client &&other) noexcept
        : client_(std::exchange(other.client_, nullptr)), sink_(std::move(other.sink_))
    {
    }

    Client &operator=(Client &&other) noexcept
    {
        if (this != &other) {
            ga_client_free(client_);
            client_ = std::exchange(other.client_, nullptr);
            sink_ = std::move(other.sink_);
        }
        return *this;
    }

    // The client first: its last events (connections closed) still reach the handler.
    ~Client() { ga_client_free(client_); }

    /**
     * The avatar of `chat_id` (a bare phone number becomes `<number>@c.us`); blocks until the
     * answer, retries included. Throws `Error` when there is none.
     */
    Avatar get_avatar(const std::string &chat_id) const
    {
        detail::check_no_nul(chat_id, "chat_id");
        std::unique_ptr<ga_result, detail::ResultFree> r(ga_get_avatar(client_, chat_id.c_str()));
        if (!r) {
            throw Error(GA_NULL_ARGUMENT, "no result");
        }
        if (r->code != GA_OK) {
            throw detail::to_error(*r);
        }
        return detail::to_avatar(*r);
    }

    /**
     * The picture `url` links to (`ga_download_avatar`: https only, to `whatsapp.net` or a
     * `download_hosts` entry; JPEG, PNG or WebP; at most `max_download_bytes`). Throws `Error`
     * when there is none: `GA_EXPIRED` (ask `get_avatar` again), `GA_BAD_RESPONSE`, ...
     */
    Image download_avatar(const std::string &url) const
    {
        detail::check_no_nul(url, "url");
        ga_image *raw = nullptr;
        ga_code code = ga_download_avatar(client_, url.c_str(), &raw);
        if (code != GA_OK) {
            throw Error(code, ga_last_error_message());
        }
        std::unique_ptr<ga_image, detail::ImageFree> owned(raw);
        Image image;
        image.bytes.assign(raw->data, raw->data + raw->len);
        image.content_type = raw->content_type;
        image.extension = raw->extension;
        image.attempts = raw->attempts;
        return image;
    }

    /** `download_avatar(avatar.url_avatar)`. */
    Image download_avatar(const Avatar &avatar) const { return download_avatar(avatar.url_avatar); }

    /**
     * The avatars of many chat ids at once (`ga_get_avatars`): in the client's pacing, taking
     * turns with its other calls, at most `max_in_flight` requests on the wire, duplicates asked
     * once. One `Result` per id, in order: a
     * bad id or a failed call only fails its own entry. Throws `Error` only when the batch as a
     * whole is refused (more than `GA_MAX_BATCH` ids).
     */
    std::vector<Result> get_avatars(const std::vector<std::string> &chat_ids) const
    {
        return batch(chat_ids, nullptr);
    }

    /**
     * `get_avatars`, calling `progress(done, total)` on this thread after each entry's result.
     * Returning false stops the batch: requests in flight finish, entries not asked get
     * `GA_CANCELLED`. An exception thrown by `progress` stops the batch the same way and is
     * rethrown once every request has finished.
     */
    std::vector<Result> get_avatars(const std::vector<std::string> &chat_ids,
                                    std::function<bool(std::size_t, std::size_t)> progress) const
    {
        return batch(chat_ids, &progress);
    }

    /**
     * Stops the client: calls in progress on it, from any thread, throw `Error` with
     * `GA_CANCELLED` promptly, and so does every later call. Calling it again does nothing.
     */
    void shutdown() const noexcept { ga_client_shutdown(client_); }

    /** The pacing in force in this process: `"host"` or `"process"` (`ga_client_pacing`). */
    std::string pacing() const
    {
        const char *p = ga_client_pacing(client_);
        return p != nullptr ? p : "";
    }

    /**
     * The client's counters (`ga_client_stats`), `handler_failures` including the exceptions
     * the `on_event` handler threw. Throws `Error` for a moved-from client.
     */
    ga_stats stats() const
    {
        ga_stats s{};
        ga_code code = ga_client_stats(client_, &s, GA_STATS_VERSION);
        if (code != GA_OK) {
            throw Error(code, ga_last_error_message());
        }
        if (sink_) {
            s.handler_failures += sink_->thrown.load(std::memory_order_relaxed);
        }
        return s;
    }

    /** The `ga_client` (still owned by this object), for C functions the wrapper lacks. */
    const ga_client *native_handle() const noexcept { return client_; }

private:
    std::vector<Result> batch(const std::vector<std::string> &chat_ids,
                              const std::function<bool(std::size_t, std::size_t)> *progress) const
    {
        std::vector<Result> out;
        if (chat_ids.empty()) {
            return out;
        }
        std::vector<const char *> ids;
        ids.reserve(chat_ids.size());
        for (const std::string &id : chat_ids) {
            // NULL gives that entry its own error, replaced below by the real reason.
            ids.push_back(detail::has_nul(id) ? nullptr : id.c_str());
        }
        detail::Results results(chat_ids.size());
        detail::Progress state{progress, nullptr};
        ga_code code = progress != nullptr
                           ? ga_get_avatars_with_progress(client_, ids.data(), ids.size(),
                                                          results.items.data(),
                                                          detail::greenapi_hpp_progress, &state)
                           : ga_get_avatars(client_, ids.data(), ids.size(),
                                            results.items.data());
        if (code == GA_INVALID_ARGUMENT) {
            throw Error(code, "get_avatars: more than GA_MAX_BATCH chat ids");
        }
        if (code != GA_OK) {
            throw Error(code, std::string("get_avatars: ") + ga_code_str(code));
        }
        results.filled = true;
        if (state.thrown) {
            std::rethrow_exception(state.thrown);
        }
        out.reserve(chat_ids.size());
        for (std::size_t i = 0; i < chat_ids.size(); i++) {
            if (ids[i] == nullptr) {
                out.emplace_back(Error(GA_INVALID_ARGUMENT, "chat_id contains a NUL byte"));
            } else {
                out.push_back(detail::to_result(results.items[i]));
            }
        }
        return out;
    }

    ga_client *client_ = nullptr;
    // Where the C callback finds the handler; outlives `client_` (see the destructor).
    std::unique_ptr<detail::EventSink> sink_;
};

} // namespace greenapi

#endif /* GREENAPI_HPP */
