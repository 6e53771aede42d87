#include "fuzz_h5.hpp"

#include <hdf5.h>

#include <cstdlib>

#include "cmclip/h5/guard/checked_driver.hpp"
#include "cmclip/h5/guard/object_info.hpp"
#include "cmclip/h5/probe.hpp"
#include "fuzz_support.hpp"

namespace cmclip::fuzz {

namespace {
constexpr hssize_t kMaxElements = hssize_t(1) << 24;

herr_t visit(hid_t root, const char* name, const h5::ObjectInfo* info, void* huge) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  hid_t d = H5Dopen2(root, name, H5P_DEFAULT);
  if (d < 0) return 0;
  hid_t space = H5Dget_space(d);
  hssize_t n = space < 0 ? 0 : H5Sget_simple_extent_npoints(space);
  if (n > kMaxElements) *static_cast<bool*>(huge) = true;
  if (space >= 0) H5Sclose(space);
  H5Dclose(d);
  return 0;
}

bool declares_huge_dataset(const std::string& path) {
  try {
    h5::probe_metadata(path);  // visiting a file libhdf5 crashes on would crash here
  } catch (const cmclip::Error&) {
    return false;  // the readers refuse it when they open it
  }
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::checked_read_fapl());
  if (f < 0) return false;  // the readers' own open fails the same way
  bool huge = false;
  h5::visit_objects(f, visit, &huge, H5O_INFO_BASIC);
  H5Eclear2(H5E_DEFAULT);
  H5Fclose(f);
  return huge;
}
}  // namespace

void read_h5_input(const uint8_t* data, size_t size, const std::function<void(const std::string&)>& read) {
  const std::string& path = write_input_file(data, size, ".h5");
  if (declares_huge_dataset(path)) return;
  expect_clean_errors([&] { read(path); });
}

}  // namespace cmclip::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cmclip::fuzz::quiet_logs();
  ::setenv("CMCLIP_H5_PROBE_SECONDS", "10", 0);
  return 0;
}
