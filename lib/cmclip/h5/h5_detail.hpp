// The helpers that h5.cpp, h5_attributes.cpp and h5_datasets.cpp share: HDF5's error
// message, type mapping, shapes. Internal to h5/ (not for the rest of the library).
#pragma once
#include <hdf5.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cmclip/h5/h5.hpp"

// Calls M(T) for every numeric element type the typed reads and writes are
// instantiated for (h5_datasets.cpp: Dataset's; h5.cpp: Group::write).
#define CMCLIP_H5_FOR_EACH_NUMERIC(M) \
  M(float) M(double) M(int8_t) M(int16_t) M(int32_t) M(int64_t) M(uint8_t) M(uint16_t)

namespace cmclip::h5::detail {

// The innermost message on HDF5's error stack (or the checking driver's reason).
std::string hdf5_message();
// InputError / RuntimeFailure naming the file, the object and `what`, with hdf5_message().
[[noreturn]] void fail_read(const std::string& file, const std::string& path, const std::string& what);
[[noreturn]] void fail_write(const std::string& file, const std::string& path, const std::string& what);

hid_t vlen_utf8_type();
// Memory type for reads/writes of `t` (native byte order); file type for creation.
hid_t mem_type(DType t);
hid_t file_type(DType t);
DType classify(hid_t type);
Shape space_shape(hid_t space);
std::vector<hsize_t> to_hsize(const Shape& s);
std::string child_path(const std::string& parent, const std::string& name);

// The i-th name, in name order, of the links (H5Lget_name_by_idx) or the attributes
// (H5Aget_name_by_idx: the same signature) of `object`; none where libhdf5 cannot say.
using NameByIndex = ssize_t (*)(hid_t, const char*, H5_index_t, H5_iter_order_t, hsize_t, char*, size_t, hid_t);
inline std::optional<std::string> name_by_index(NameByIndex get, hid_t object, hsize_t i) {
  ssize_t len = get(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
  if (len < 0) return std::nullopt;
  std::string name(static_cast<size_t>(len) + 1, '\0');
  get(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
  name.resize(static_cast<size_t>(len));
  return name;
}

// Reads the strings of a string-typed object (dataset or attribute) with `count`
// elements through `read(memtype, buffer)`.
template <class ReadFn>
std::vector<std::string> read_string_elements(hid_t file_type_id, size_t count, ReadFn read) {
  std::vector<std::string> out(count);
  if (count == 0) return out;
  if (H5Tis_variable_str(file_type_id) > 0) {
    std::vector<char*> ptrs(count, nullptr);
    Id mt(H5Tcopy(H5T_C_S1));
    H5Tset_size(mt.get(), H5T_VARIABLE);
    H5Tset_cset(mt.get(), H5Tget_cset(file_type_id));
    if (!read(mt.get(), ptrs.data(), count)) return {};
    for (size_t i = 0; i < count; ++i) {
      out[i] = ptrs[i] ? ptrs[i] : "";
      H5free_memory(ptrs[i]);
    }
    return out;
  }
  size_t size = H5Tget_size(file_type_id);
  std::vector<char> buf(size * count + 1, '\0');
  Id mt(H5Tcopy(H5T_C_S1));
  H5Tset_size(mt.get(), size);
  H5Tset_cset(mt.get(), H5Tget_cset(file_type_id));
  H5Tset_strpad(mt.get(), H5T_STR_NULLPAD);
  if (!read(mt.get(), buf.data(), count)) return {};
  for (size_t i = 0; i < count; ++i) {
    const char* p = buf.data() + i * size;
    out[i] = std::string(p, strnlen(p, size));
  }
  return out;
}

}  // namespace cmclip::h5::detail
