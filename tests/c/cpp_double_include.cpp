// The header compiles as C++11, twice in one unit (include guard), and links with C linkage.
#include "greenapi.h"
#include "greenapi.h"

#include <cstdio>
#include <cstring>

int main()
{
    int failures = 0;
    int checks = 0;
#define CPP_CHECK(cond)                                                        \
    do {                                                                       \
        ++checks;                                                              \
        if (!(cond)) {                                                         \
            ++failures;                                                        \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

    CPP_CHECK(std::strcmp(ga_version(), GA_VERSION_STRING) == 0);
    CPP_CHECK(ga_code_str(GA_OK) != nullptr);
    CPP_CHECK(ga_code_str(9999) != nullptr);

    ga_client_options opts;
    CPP_CHECK(ga_client_options_init(&opts, GA_CLIENT_OPTIONS_VERSION) == GA_OK);
    CPP_CHECK(opts.version == GA_CLIENT_OPTIONS_VERSION);
    opts.proxy = "";
    opts.api_url = "http://127.0.0.1:9";

    ga_code code = 12345;
    ga_client *client = ga_client_new_with_options("1101000001", "tok-en-0123456789ab", &opts, &code);
    CPP_CHECK(client != nullptr);
    CPP_CHECK(code == GA_OK);

    // Refused before anything is sent.
    ga_result *r = ga_get_avatar(client, "not a chat id");
    CPP_CHECK(r != nullptr);
    if (r != nullptr) {
        CPP_CHECK(r->code == GA_INVALID_ARGUMENT);
        CPP_CHECK(r->message != nullptr);
        CPP_CHECK(r->url_avatar != nullptr && r->url_avatar[0] == '\0');
        CPP_CHECK(r->attempts == 0);
    }
    ga_result_free(r);
    ga_client_free(client);

    const ga_client *none = nullptr;
    r = ga_get_avatar(none, "79001234567");
    CPP_CHECK(r != nullptr && r->code == GA_NULL_ARGUMENT);
    ga_result_free(r);

    std::printf("cpp_double_include: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
