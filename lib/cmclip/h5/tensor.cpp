#include "cmclip/h5/tensor.hpp"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip::h5 {

DType dtype_of_tensor(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kHalf:
      return DType::f16;
    case at::kFloat:
      return DType::f32;
    case at::kDouble:
      return DType::f64;
    case at::kChar:
      return DType::i8;
    case at::kShort:
      return DType::i16;
    case at::kInt:
      return DType::i32;
    case at::kLong:
      return DType::i64;
    case at::kByte:
      return DType::u8;
    default:
      throw std::invalid_argument(
          fmt::format("h5: tensors of type {} cannot be stored", c10::toString(t.scalar_type())));
  }
}

c10::ScalarType scalar_type_of(DType t) {
  switch (t) {
    case DType::f16:
      return at::kHalf;
    case DType::f32:
      return at::kFloat;
    case DType::f64:
      return at::kDouble;
    case DType::i8:
      return at::kChar;
    case DType::i16:
      return at::kShort;
    case DType::i32:
      return at::kInt;
    case DType::i64:
      return at::kLong;
    case DType::u8:
      return at::kByte;
    case DType::u16:
      return at::kInt;  // widened on read
    default:
      throw std::invalid_argument("h5: no tensor type for this dataset type");
  }
}

Dataset write_tensor(const Group& group, const std::string& name, const at::Tensor& t, const DatasetOptions& options) {
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  DType dt = dtype_of_tensor(c);
  Shape shape(c.sizes().begin(), c.sizes().end());
  DatasetOptions o = options;
  if (shape.empty()) o = DatasetOptions{};  // scalars cannot be chunked
  Dataset d = group.create_dataset(name, dt, shape, o);
  d.write_rows_as(dt, 0, shape.empty() ? 1 : shape[0], c.data_ptr());
  return d;
}

at::Tensor read_tensor_rows(const Dataset& d, int64_t start, int64_t count) {
  DType dt = d.dtype();
  if (dt == DType::string || dt == DType::other)
    throw InputError(d.file(), d.path(), fmt::format("expected a numeric array, found {}", dtype_name(dt)));
  Shape shape = d.shape();
  std::vector<int64_t> sizes(shape.begin(), shape.end());
  if (!sizes.empty()) sizes[0] = count;
  DType mem = dt == DType::u16 ? DType::i32 : dt;
  at::Tensor out = at::empty(sizes, at::TensorOptions().dtype(scalar_type_of(dt)));
  d.read_rows_as(mem, start, count, out.data_ptr());
  return out;
}

at::Tensor read_tensor(const Dataset& d) { return read_tensor_rows(d, 0, d.rows()); }

at::Tensor read_tensor(const Group& group, const std::string& name) { return read_tensor(group.dataset(name)); }

}  // namespace cmclip::h5
