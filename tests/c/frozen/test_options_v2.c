/*
 * A program built against the version 2 header (greenapi_v2.h, frozen: the last before `pacing`
 * was appended) and linked to the current library (see frozen_options.inc): such a client gets
 * the default pacing.
 */
#define FROZEN_HEADER "greenapi_v2.h"
#define FROZEN_VERSION 2
#define FROZEN_SIZE (offsetof(ga_client_options, max_in_flight) + sizeof(uint32_t))
#define FROZEN_NAME "test_options_v2"
#define FROZEN_MORE_CHECKS(o) CHECK((o)->max_in_flight == 64)

#include "frozen_options.inc"
