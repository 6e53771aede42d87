// LibTorch tensors in HDF5 datasets, dtype for dtype (float16 stays float16).
#pragma once
#include <ATen/core/Tensor.h>

#include "cmclip/h5/h5.hpp"

namespace cmclip::h5 {

DType dtype_of_tensor(const at::Tensor& t);
c10::ScalarType scalar_type_of(DType t);  // throws for strings

// Writes a contiguous CPU copy of `t`. Scalars (0-dim) become scalar datasets.
Dataset write_tensor(const Group& group, const std::string& name, const at::Tensor& t,
                     const DatasetOptions& options = {});
// Reads a whole dataset in its stored dtype.
at::Tensor read_tensor(const Dataset& d);
at::Tensor read_tensor(const Group& group, const std::string& name);
// Rows [start, start+count) of a dataset, in its stored dtype.
at::Tensor read_tensor_rows(const Dataset& d, int64_t start, int64_t count);

}  // namespace cmclip::h5
