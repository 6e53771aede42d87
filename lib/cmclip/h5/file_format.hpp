// Small pieces of the HDF5 file format (its specification, "Disk Format"), shared by
// the checks that read a file's bytes before libhdf5 trusts them.
#pragma once
#include <cstdint>

namespace cmclip::h5::format {

// A little-endian unsigned number of `bytes` bytes (HDF5 stores every number so).
inline uint64_t decode_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Fields of version 1 objects (object headers, global heaps) are padded to 8 bytes.
constexpr uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

// An offset of all ones: "undefined address".
inline bool is_undefined_address(const uint8_t* p, int offset_size) {
  for (int i = 0; i < offset_size; ++i)
    if (p[i] != 0xff) return false;
  return true;
}

}  // namespace cmclip::h5::format
