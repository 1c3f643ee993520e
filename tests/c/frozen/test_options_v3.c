/*
 * A program built against the version 3 header (greenapi_v3.h, frozen: the last before the
 * download options were appended, and before `ga_result.expires_at`) and linked to the current
 * library (see frozen_options.inc): such a client gets the default download options, and reads
 * the results (now longer, allocated by the library) as before.
 */
#define FROZEN_HEADER "greenapi_v3.h"
#define FROZEN_VERSION 3
#define FROZEN_SIZE (offsetof(ga_client_options, pacing) + sizeof(const char *))
#define FROZEN_NAME "test_options_v3"
#define FROZEN_MORE_CHECKS(o) CHECK((o)->max_in_flight == 64 && (o)->pacing == NULL)

#include "frozen_options.inc"
