// Compile-time tests of the LibTorch version, for the few APIs that differ between the
// releases cmclip builds against (Debian 12's 1.13, Debian 13's 2.6, the official 2.x).
#pragma once
#include <torch/version.h>

// True when the LibTorch being compiled against is major.minor or newer.
#define CMCLIP_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
