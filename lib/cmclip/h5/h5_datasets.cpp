// HDF5 datasets: shape, typed row reads and writes, strings (h5/h5.hpp's Dataset).
#include "cmclip/h5/h5.hpp"

#include <cstring>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/h5/h5_detail.hpp"
#include "cmclip/h5/guard/object_info.hpp"

namespace cmclip::h5 {

using namespace detail;

// ----- datasets -----

DType Dataset::dtype() const {
  auto l = lock();
  Id t(H5Dget_type(id()));
  return classify(t.get());
}

Shape Dataset::shape() const {
  auto l = lock();
  Id s(H5Dget_space(id()));
  return space_shape(s.get());
}

int64_t Dataset::rows() const {
  Shape s = shape();
  return s.empty() ? 1 : s[0];
}

int64_t Dataset::elements_per_row() const {
  Shape s = shape();
  return std::accumulate(s.begin() + (s.empty() ? 0 : 1), s.end(), int64_t(1), std::multiplies<int64_t>());
}

void Dataset::expect(const std::vector<DType>& allowed, const Shape& pattern) const {
  DType t = dtype();
  Shape s = shape();
  bool type_ok = std::find(allowed.begin(), allowed.end(), t) != allowed.end();
  bool shape_ok = s.size() == pattern.size();
  for (size_t i = 0; shape_ok && i < s.size(); ++i)
    if (pattern[i] >= 0 && pattern[i] != s[i]) shape_ok = false;
  if (type_ok && shape_ok) return;
  std::string want_t;
  for (DType a : allowed) want_t += (want_t.empty() ? "" : " or ") + std::string(dtype_name(a));
  std::string want_s = "[";
  for (size_t i = 0; i < pattern.size(); ++i)
    want_s += (i ? ", " : "") + (pattern[i] < 0 ? std::string("*") : std::to_string(pattern[i]));
  want_s += "]";
  throw InputError(file_, path_,
                   fmt::format("expected {} {}, found {} {}", want_t, want_s, dtype_name(t), shape_str(s)));
}

namespace {
// Dataspaces selecting rows [start, start+count) of a dataset with shape `full`.
void select_rows(hid_t dset, const Shape& full, int64_t start, int64_t count, Id& file_space, Id& mem_space) {
  std::vector<hsize_t> offset(full.size(), 0), extent = to_hsize(full);
  if (!full.empty()) {
    offset[0] = static_cast<hsize_t>(start);
    extent[0] = static_cast<hsize_t>(count);
  }
  file_space.reset(H5Dget_space(dset));
  if (!full.empty())
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset.data(), nullptr, extent.data(), nullptr);
  mem_space.reset(full.empty() ? H5Screate(H5S_SCALAR)
                               : H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr));
}
}  // namespace

void Dataset::read_rows_as(DType mem, int64_t start, int64_t count, void* out) const {
  auto l = lock();
  Shape full = shape();
  int64_t rows_total = full.empty() ? 1 : full[0];
  if (start < 0 || count < 0 || start + count > rows_total)
    throw InputError(file_, path_,
                     fmt::format("rows [{}, {}) requested, dataset has {}", start, start + count, rows_total));
  if (count == 0) return;
  Id fs, ms;
  select_rows(id(), full, start, count, fs, ms);
  if (H5Dread(id(), mem_type(mem), ms.get(), fs.get(), H5P_DEFAULT, out) < 0)
    fail_read(file_, path_,
              fmt::format("cannot read rows [{}, {}) as {} (damaged file or failed checksum?)", start, start + count,
                          dtype_name(mem)));
}

template <class T>
void Dataset::read_rows(int64_t start, int64_t count, T* out) const {
  read_rows_as(dtype_of<T>(), start, count, out);
}

template <class T>
std::vector<T> Dataset::read() const {
  auto l = lock();
  Shape s = shape();
  DType t = dtype();
  if (t == DType::string || t == DType::other)
    throw InputError(file_, path_, fmt::format("expected numbers, found {}", dtype_name(t)));
  int64_t n = std::accumulate(s.begin(), s.end(), int64_t(1), std::multiplies<int64_t>());
  std::vector<T> out(static_cast<size_t>(n));
  read_rows_as(dtype_of<T>(), 0, s.empty() ? 1 : s[0], out.data());
  return out;
}

void Dataset::resize_rows(int64_t rows) const {
  auto l = lock();
  Shape s = shape();
  if (s.empty()) throw std::logic_error("h5: cannot resize a scalar dataset");
  s[0] = rows;
  auto dims = to_hsize(s);
  if (H5Dset_extent(id(), dims.data()) < 0) fail_write(file_, path_, fmt::format("cannot resize to {} rows", rows));
}

void Dataset::write_rows_as(DType mem, int64_t start, int64_t count, const void* data) const {
  auto l = lock();
  Shape full = shape();
  if (!full.empty() && start + count > full[0]) {
    resize_rows(start + count);
    full[0] = start + count;
  }
  if (count == 0) return;
  Id fs, ms;
  select_rows(id(), full, start, count, fs, ms);
  if (H5Dwrite(id(), mem_type(mem), ms.get(), fs.get(), H5P_DEFAULT, data) < 0)
    fail_write(file_, path_, fmt::format("cannot write rows [{}, {})", start, start + count));
}

template <class T>
void Dataset::write_rows(int64_t start, int64_t count, const T* data) const {
  write_rows_as(dtype_of<T>(), start, count, data);
}

template <class T>
void Dataset::write(const std::vector<T>& values) const {
  int64_t per_row = elements_per_row();
  int64_t n = per_row ? static_cast<int64_t>(values.size()) / per_row : 0;
  if (shape().empty()) n = 1;
  write_rows(0, n, values.data());
}

std::vector<std::string> Dataset::read_strings(int64_t start, int64_t count) const {
  auto l = lock();
  Id ft(H5Dget_type(id()));
  if (classify(ft.get()) != DType::string)
    throw InputError(file_, path_, fmt::format("expected strings, found {}", dtype_name(classify(ft.get()))));
  Shape full = shape();
  if (full.size() > 1)
    throw InputError(file_, path_, fmt::format("expected a 1-D string array, found {}", shape_str(full)));
  int64_t rows_total = full.empty() ? 1 : full[0];
  if (start < 0 || count < 0 || start + count > rows_total)
    throw InputError(file_, path_,
                     fmt::format("rows [{}, {}) requested, dataset has {}", start, start + count, rows_total));
  Id fs, ms;
  select_rows(id(), full, start, count, fs, ms);
  bool ok = true;
  auto out = read_string_elements(ft.get(), static_cast<size_t>(count), [&](hid_t mt, void* buf, size_t) {
    ok = H5Dread(id(), mt, ms.get(), fs.get(), H5P_DEFAULT, buf) >= 0;
    return ok;
  });
  if (!ok) fail_read(file_, path_, "cannot read strings");
  return out;
}

std::vector<std::string> Dataset::read_strings() const { return read_strings(0, rows()); }

void Dataset::write_strings(int64_t start, const std::vector<std::string>& values) const {
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& s : values) ptrs.push_back(s.c_str());
  write_rows_as(DType::string, start, static_cast<int64_t>(values.size()), ptrs.data());
}

#define CMCLIP_H5_INSTANTIATE_DATASET(T)                           \
  template std::vector<T> Dataset::read<T>() const;                \
  template void Dataset::read_rows<T>(int64_t, int64_t, T*) const; \
  template void Dataset::write<T>(const std::vector<T>&) const;    \
  template void Dataset::write_rows<T>(int64_t, int64_t, const T*) const;
CMCLIP_H5_FOR_EACH_NUMERIC(CMCLIP_H5_INSTANTIATE_DATASET)

}  // namespace cmclip::h5
