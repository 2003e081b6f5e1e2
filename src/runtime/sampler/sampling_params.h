// The sampler's parameters are part of the public API: see include/hearth/sampling.h.
#pragma once

#include "hearth/sampling.h"
