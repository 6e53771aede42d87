// Named tensors in a fixed order: a model's trainable parameters, a checkpoint's
// /params and /optimizer groups.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace cmclip {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

}  // namespace cmclip
