// One spelling of libhdf5's object-information calls for HDF5 1.10 through 1.14.
//
// HDF5 1.12 identifies an object by a token instead of its header's address and gave
// H5Oget_info, H5Oget_info_by_name and H5Ovisit new versions for it (the 1.10 calls
// remain, deprecated, with the 1.10 structure). The newest calls are used where the
// library has them; `object_header_address` turns a token back into the address that
// the structure checks (header_check.hpp) read.
#pragma once
#include <hdf5.h>

#include <cstdint>

namespace cmclip::h5 {

#if H5_VERSION_GE(1, 12, 0)
using ObjectInfo = H5O_info2_t;
using ObjectVisitor = H5O_iterate2_t;
#define CMCLIP_H5O_NEWEST(call) call##3
#else
using ObjectInfo = H5O_info_t;
using ObjectVisitor = H5O_iterate_t;
#define CMCLIP_H5O_NEWEST(call) call##2
#endif

inline herr_t object_info(hid_t object, ObjectInfo* info, unsigned fields) {
  return CMCLIP_H5O_NEWEST(H5Oget_info)(object, info, fields);
}
inline herr_t object_info_by_name(hid_t location, const char* name, ObjectInfo* info, unsigned fields) {
  return CMCLIP_H5O_NEWEST(H5Oget_info_by_name)(location, name, info, fields, H5P_DEFAULT);
}
inline herr_t visit_objects(hid_t object, ObjectVisitor visit, void* data, unsigned fields) {
  return CMCLIP_H5O_NEWEST(H5Ovisit)(object, H5_INDEX_NAME, H5_ITER_NATIVE, visit, data, fields);
}
#undef CMCLIP_H5O_NEWEST

// False where the token is not one of the native file format (no address).
inline bool object_header_address(hid_t location, const ObjectInfo& info, uint64_t& addr) {
#if H5_VERSION_GE(1, 12, 0)
  haddr_t a = HADDR_UNDEF;
  if (H5VLnative_token_to_addr(location, info.token, &a) < 0 || a == HADDR_UNDEF) return false;
  addr = uint64_t(a);
#else
  addr = uint64_t(info.addr);
#endif
  return true;
}

}  // namespace cmclip::h5
