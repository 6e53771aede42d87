#include "cmclip/h5/guard/probe_walk.hpp"

#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "cmclip/h5/guard/checked_driver.hpp"
#include "cmclip/h5/guard/header_check.hpp"
#include "cmclip/h5/guard/object_info.hpp"
#include "cmclip/h5/guard/vlen_check.hpp"

namespace cmclip::h5 {

namespace {
// Values read per attribute or string dataset; more is not a file the tools wrote
// (their readers refuse such shapes before reading them).
constexpr hssize_t kMaxValues = hssize_t(1) << 22;
constexpr size_t kMaxBytes = size_t(1) << 28;
constexpr hsize_t kMaxAttributes = 1u << 16;  // an object header cannot hold more

// The file being walked, as the checks made before libhdf5's own reads see it.
struct Walk {
  int progress_fd;
  FileBytes file;  // opened again for the checks' own reads
  FileLayout layout;
  bool visited_root = false;

  // The object about to be read, one line each: the tool names the last one.
  void starting(const char* name) const {
    write_line(name[0] == '.' && name[1] == '\0' ? "/" : std::string("/") + name);
  }
  // A check found the object damaged: says why (kDamagedPrefix) and ends the helper.
  [[noreturn]] void damaged(const std::string& why) const {
    write_line(kDamagedPrefix + why);
    ::_exit(kDamagedStatus);
  }

 private:
  void write_line(std::string line) const {
    line += '\n';
    for (size_t done = 0; done < line.size();) {
      ssize_t n = ::write(progress_fd, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(0);  // the tool has gone
      done += size_t(n);
    }
  }
};

bool holds_variable_length(hid_t type) { return H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0; }

// A variable-length string, or a sequence of fixed-size values: what the values check
// knows (and all the readers read). Other types that hold variable-length values are
// not read here, and the readers refuse them by their type.
bool checkable_variable_length(hid_t type) {
  if (H5Tis_variable_str(type) > 0) return true;
  if (H5Tget_class(type) != H5T_VLEN) return false;
  hid_t base = H5Tget_super(type);
  const bool fixed = base >= 0 && !holds_variable_length(base) && H5Tget_class(base) != H5T_COMPOUND;
  if (base >= 0) H5Tclose(base);
  return fixed;
}

// Reads all values of an attribute (dataset: `dataset` true) in their native form, as
// the readers would, and frees what libhdf5 allocated for variable-length ones.
void read_values(const Walk& walk, hid_t object, bool dataset, hid_t type, hid_t space) {
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n <= 0 || n > kMaxValues) return;
  if (holds_variable_length(type)) {
    if (!checkable_variable_length(type)) return;
    std::string why = check_variable_length_values(object, dataset, type, size_t(n), walk.file, walk.layout);
    if (!why.empty()) walk.damaged(why);
  }
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

// The attributes of the object `name` (from `location`), through calls that do not open
// the object: that needs its class, which libhdf5 may fail to tell while the attributes
// still read (and a reader reads them).
void probe_attributes(const Walk& walk, hid_t location, const char* name) {
  // A name no attribute has: libhdf5 decodes them all one by one, failing cleanly on a
  // bad one (the by-index calls below would crash on it; h5::Object::attr_names checks
  // the same way). One that fails is damage, not a reason to skip the others: a reader
  // can still open a sound-looking one by name and read a value no check has seen (an
  // h5_samples finding: libhdf5 copied a string from past its global heap collection).
  if (H5Aexists_by_name(location, name, "\x01cmclip: no such attribute", H5P_DEFAULT) < 0)
    walk.damaged("cannot read its attributes (damaged object header)");
  // Without the count (it needs the class too), up to the first index with no attribute.
  ObjectInfo info;
  const bool counted = object_info_by_name(location, name, &info, H5O_INFO_NUM_ATTRS) >= 0;
  const hsize_t count = counted ? info.num_attrs : kMaxAttributes;
  for (hsize_t i = 0; i < count; ++i) {
    hid_t attr = H5Aopen_by_idx(location, name, H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
      if (counted) continue;
      break;
    }
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    if (type >= 0 && space >= 0) read_values(walk, attr, false, type, space);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
  }
}

void probe_dataset(const Walk& walk, hid_t dataset) {
  H5Dget_storage_size(dataset);  // walks the chunk index
  hid_t type = H5Dget_type(dataset), space = H5Dget_space(dataset);
  // Strings live in the global heap; numbers are bulk data, not read here.
  if (type >= 0 && space >= 0 && holds_variable_length(type)) read_values(walk, dataset, true, type, space);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
}

herr_t visit(hid_t file, const char* name, const ObjectInfo* info, void* data) {
  Walk& walk = *static_cast<Walk*>(data);
  walk.visited_root = true;
  walk.starting(name);
  // libhdf5 decodes some messages (attributes first) trusting their sizes: checked first.
  uint64_t header = 0;
  if (!object_header_address(file, *info, header)) walk.damaged("an object libhdf5 gives no address for");
  std::string why = check_object_header(walk.file, header, walk.layout);
  if (!why.empty()) walk.damaged(why);
  probe_attributes(walk, file, name);
  if (info->type != H5O_TYPE_DATASET) return 0;
  hid_t object = H5Oopen(file, name, H5P_DEFAULT);
  if (object < 0) return 0;
  probe_dataset(walk, object);
  H5Oclose(object);
  return 0;
}
}  // namespace

void walk_metadata(const char* path, int progress_fd) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, checked_read_fapl());
  if (file < 0) return;  // the tool's own open fails the same way, and says why
  // The checks read through libhdf5's own descriptor: the very file it reads, even if
  // another is renamed into place meanwhile (every driver it can use hands out an int).
  Walk walk{progress_fd, {}, {}};
  void* handle = nullptr;
  struct stat st;
  if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || !handle || ::fstat(*static_cast<int*>(handle), &st) != 0)
    walk.damaged("libhdf5 opened it, but its descriptor cannot be read");
  walk.file.fd = *static_cast<int*>(handle);
  walk.file.size = uint64_t(st.st_size);
  hid_t creation = H5Fget_create_plist(file);
  size_t offset_size = 8, length_size = 8;
  hsize_t user_block = 0;  // the file's addresses count from the user block's end
  if (creation >= 0) {
    H5Pget_sizes(creation, &offset_size, &length_size);
    H5Pget_userblock(creation, &user_block);
    H5Pclose(creation);
  }
  walk.file.base = user_block;
  walk.layout = {int(offset_size), int(length_size)};
  if (visit_objects(file, visit, &walk, H5O_INFO_BASIC) >= 0) return;
  // libhdf5 stopped the walk: an object header it cannot classify, or a link or a
  // group's index it cannot read. The readers could still open the objects before and
  // after it (a root libhdf5 cannot classify still has its attributes read, the
  // format first): the root's attributes are checked all the same, then the file is
  // refused, naming the last object the walk reached.
  if (!walk.visited_root) {
    walk.starting(".");
    probe_attributes(walk, file, ".");
  }
  std::string why = take_rejection();
  walk.damaged(why.empty() ? "libhdf5 cannot walk every object of the file from here (a damaged object header, "
                             "link or group index)"
                           : why);
}

int probe_helper_main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cmclip-h5-probe FILE (run by the cmclip tools)\n");
    return 2;
  }
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) ::signal(sig, SIG_IGN);
  walk_metadata(argv[1], STDOUT_FILENO);
  return 0;
}

}  // namespace cmclip::h5
