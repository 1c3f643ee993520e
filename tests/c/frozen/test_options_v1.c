/*
 * A program built against the version 1 header (greenapi_v1.h, frozen) and linked to the
 * current library (see frozen_options.inc).
 */
#define FROZEN_HEADER "greenapi_v1.h"
#define FROZEN_VERSION 1
#define FROZEN_SIZE (offsetof(ga_client_options, allow_insecure_http) + sizeof(bool))
#define FROZEN_NAME "test_options_v1"
#define FROZEN_MORE_CHECKS(o) ((void)(o))

#include "frozen_options.inc"
