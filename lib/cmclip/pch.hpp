// Precompiled header of libcmclip: the LibTorch headers take ~30 s per translation
// unit on 2 cores; compiled once here they cost a few seconds per file.
#pragma once
#include <torch/torch.h>
#include <fmt/format.h>
#include <string>
#include <vector>
#include <memory>
#include <functional>
