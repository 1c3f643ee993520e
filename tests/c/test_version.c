/* ga_version() matches the header's macros; ga_code_str() is total and distinct. */
#include "ga_test.h"

int main(void)
{
    char expect[64];
    const char *v = ga_version();
    const char *seen[GA_PANIC + 1];
    ga_code c;

    CHECK(v != NULL);
    if (v != NULL) {
        CHECKF(strcmp(v, GA_VERSION_STRING) == 0, "ga_version()=\"%s\" header=\"%s\"", v,
               GA_VERSION_STRING);
    }
    snprintf(expect, sizeof expect, "%d.%d.%d", GA_VERSION_MAJOR, GA_VERSION_MINOR,
             GA_VERSION_PATCH);
    CHECKF(strcmp(expect, GA_VERSION_STRING) == 0, "macros give %s, string is %s", expect,
           GA_VERSION_STRING);
    CHECK(ga_version() == v); /* static: same pointer every time */
    CHECK(GA_CLIENT_OPTIONS_VERSION >= 1);

    /* The codes are the documented values. */
    CHECK(GA_OK == 0);
    CHECK(GA_NULL_ARGUMENT == 1);
    CHECK(GA_INVALID_ARGUMENT == 2);
    CHECK(GA_TIMEOUT == 3);
    CHECK(GA_NETWORK == 4);
    CHECK(GA_TLS == 5);
    CHECK(GA_BAD_REQUEST == 6);
    CHECK(GA_UNAUTHORIZED == 7);
    CHECK(GA_FORBIDDEN == 8);
    CHECK(GA_NOT_FOUND == 9);
    CHECK(GA_RATE_LIMITED == 10);
    CHECK(GA_QUOTA_EXCEEDED == 11);
    CHECK(GA_SERVER_ERROR == 12);
    CHECK(GA_HTTP_STATUS == 13);
    CHECK(GA_BAD_RESPONSE == 14);
    CHECK(GA_BODY_TOO_LARGE == 15);
    CHECK(GA_PANIC == 16);

    for (c = 0; c <= GA_PANIC; c++) {
        ga_code d;
        seen[c] = ga_code_str(c);
        CHECKF(seen[c] != NULL, "code %u", (unsigned)c);
        if (seen[c] == NULL) {
            continue;
        }
        CHECKF(seen[c][0] != '\0', "code %u has an empty description", (unsigned)c);
        CHECKF(ga_code_str(c) == seen[c], "code %u: not a static string", (unsigned)c);
        for (d = 0; d < c; d++) {
            CHECKF(seen[d] == NULL || strcmp(seen[d], seen[c]) != 0,
                   "codes %u and %u share \"%s\"", (unsigned)d, (unsigned)c, seen[c]);
        }
    }
    {
        const char *unknown = ga_code_str(9999);
        const char *unknown2 = ga_code_str(17);
        const char *big = ga_code_str(0xFFFFFFFFu);
        CHECK(unknown != NULL);
        CHECK(unknown2 != NULL);
        CHECK(big != NULL);
        if (unknown != NULL) {
            CHECK(unknown[0] != '\0');
            for (c = 0; c <= GA_PANIC; c++) {
                CHECKF(seen[c] == NULL || strcmp(unknown, seen[c]) != 0,
                       "unknown code reads like code %u", (unsigned)c);
            }
        }
    }
    return ga_test_done("test_version");
}
