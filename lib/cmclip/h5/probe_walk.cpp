#include "cmclip/h5/probe_walk.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "cmclip/h5/checked_driver.hpp"

namespace cmclip::h5 {

namespace {
// Values read per attribute or string dataset; more is not a file the tools wrote
// (their readers refuse such shapes before reading them).
constexpr hssize_t kMaxValues = hssize_t(1) << 22;
constexpr size_t kMaxBytes = size_t(1) << 28;

struct Progress {
  int progress_fd;
  // The object about to be read, one line each: the tool names the last one.
  void starting(const char* name) const {
    std::string line = name[0] == '.' && name[1] == '\0' ? "/" : std::string("/") + name;
    line += '\n';
    for (size_t done = 0; done < line.size();) {
      ssize_t n = ::write(progress_fd, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(0);  // the tool has gone
      done += size_t(n);
    }
  }
};

bool holds_variable_length(hid_t type) {
  return H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0;
}

// Reads all values of an attribute (dataset: `dataset` true) in their native form, as
// the readers would, and frees what libhdf5 allocated for variable-length ones.
void read_values(hid_t object, bool dataset, hid_t type, hid_t space) {
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n <= 0 || n > kMaxValues) return;
  hid_t mem = H5Tget_native_type(type, H5T_DIR_DEFAULT);
  if (mem < 0) return;
  size_t size = H5Tget_size(mem);
  if (size > 0 && size <= (size_t(1) << 16) && size_t(n) * size <= kMaxBytes) {
    std::vector<unsigned char> buffer(size_t(n) * size);
    herr_t rc = dataset ? H5Dread(object, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data())
                        : H5Aread(object, mem, buffer.data());
    if (rc >= 0 && holds_variable_length(mem)) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buffer.data());
  }
  H5Tclose(mem);
}

void probe_attributes(hid_t object) {
  // A name no attribute has: libhdf5 decodes them all one by one, failing cleanly on a
  // bad one (the by-index calls below would crash on it; h5::Object::attr_names checks
  // the same way).
  if (H5Aexists(object, "\x01cmclip: no such attribute") < 0) return;
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) return;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    hid_t attr = H5Aopen_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) continue;
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    if (type >= 0 && space >= 0) read_values(attr, false, type, space);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
  }
}

void probe_dataset(hid_t dataset) {
  H5Dget_storage_size(dataset);  // walks the chunk index
  hid_t type = H5Dget_type(dataset), space = H5Dget_space(dataset);
  // Strings live in the global heap; numbers are bulk data, not read here.
  if (type >= 0 && space >= 0 && holds_variable_length(type)) read_values(dataset, true, type, space);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
}

herr_t visit(hid_t file, const char* name, const H5O_info_t* info, void* data) {
  static_cast<const Progress*>(data)->starting(name);
  hid_t object = H5Oopen(file, name, H5P_DEFAULT);
  if (object < 0) return 0;
  probe_attributes(object);
  if (info->type == H5O_TYPE_DATASET) probe_dataset(object);
  H5Oclose(object);
  return 0;
}
}  // namespace

void walk_metadata(const char* path, int progress_fd) {
  Progress progress{progress_fd};
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, checked_read_fapl());
  if (file >= 0) H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &progress, H5O_INFO_BASIC);
}

}  // namespace cmclip::h5
