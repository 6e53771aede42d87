#include "cmclip/h5/h5.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/h5/guard/checked_driver.hpp"
#include "cmclip/h5/h5_detail.hpp"
#include "cmclip/h5/guard/object_info.hpp"
#include "cmclip/h5/probe.hpp"

namespace cmclip::h5 {

namespace {
std::recursive_mutex g_mutex;

// The innermost (most specific) message on HDF5's error stack: walking downward from
// the API call, the last one ("truncated file: eof = ...", "checksum verification
// failed"), not the first ("unable to open file").
herr_t walk_error(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (err->desc && *err->desc) *out = err->desc;
  return 0;
}

struct Silencer {
  Silencer() {
    // No clean-up at exit: every file is closed by its owner, and a file whose close
    // failed (a full disk) would make HDF5's own clean-up crash at exit (1.10).
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
} g_silencer;

hid_t float16_type() {
  static hid_t t = [] {
    hid_t h = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(h, 15, 10, 5, 0, 10);
    H5Tset_size(h, 2);
    H5Tset_ebias(h, 15);
    return h;
  }();
  return t;
}
}  // namespace

namespace detail {
std::string hdf5_message() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_error, &msg);
  H5Eclear2(H5E_DEFAULT);
  // The checking driver's reason is more precise than libhdf5's "read failed".
  if (std::string why = take_rejection(); !why.empty()) return why;
  // A failed read or write of the file itself carries the system's message among
  // details for HDF5's developers (time, descriptor, buffer address, the temporary
  // file's name): keep the system's message ("No space left on device").
  const std::string tag = "error message = '";
  size_t at = msg.find(tag);
  if (at != std::string::npos) {
    size_t end = msg.find('\'', at + tag.size());
    if (end != std::string::npos) msg = msg.substr(at + tag.size(), end - at - tag.size());
  }
  return msg.empty() ? "HDF5 error" : msg;
}

[[noreturn]] void fail_read(const std::string& file, const std::string& path, const std::string& what) {
  throw InputError(file, path, fmt::format("{} ({})", what, hdf5_message()));
}
[[noreturn]] void fail_write(const std::string& file, const std::string& path, const std::string& what) {
  throw RuntimeFailure(file, path, fmt::format("{} ({})", what, hdf5_message()));
}
hid_t vlen_utf8_type() {
  static hid_t t = [] {
    hid_t h = H5Tcopy(H5T_C_S1);
    H5Tset_size(h, H5T_VARIABLE);
    H5Tset_cset(h, H5T_CSET_UTF8);
    return h;
  }();
  return t;
}

// Memory type for reads/writes of `t` (native byte order); file type for creation.
hid_t mem_type(DType t) {
  switch (t) {
    case DType::f16:
      return float16_type();
    case DType::f32:
      return H5T_NATIVE_FLOAT;
    case DType::f64:
      return H5T_NATIVE_DOUBLE;
    case DType::i8:
      return H5T_NATIVE_INT8;
    case DType::i16:
      return H5T_NATIVE_INT16;
    case DType::i32:
      return H5T_NATIVE_INT32;
    case DType::i64:
      return H5T_NATIVE_INT64;
    case DType::u8:
      return H5T_NATIVE_UINT8;
    case DType::u16:
      return H5T_NATIVE_UINT16;
    case DType::string:
      return vlen_utf8_type();
    default:
      throw std::logic_error("h5: no memory type for this dtype");
  }
}

hid_t file_type(DType t) {
  switch (t) {
    case DType::f32:
      return H5T_IEEE_F32LE;
    case DType::f64:
      return H5T_IEEE_F64LE;
    case DType::i8:
      return H5T_STD_I8LE;
    case DType::i16:
      return H5T_STD_I16LE;
    case DType::i32:
      return H5T_STD_I32LE;
    case DType::i64:
      return H5T_STD_I64LE;
    case DType::u8:
      return H5T_STD_U8LE;
    case DType::u16:
      return H5T_STD_U16LE;
    default:
      return mem_type(t);
  }
}

DType classify(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_STRING) return DType::string;
  if (cls == H5T_FLOAT) {
    if (size == 2) return DType::f16;
    if (size == 4) return DType::f32;
    if (size == 8) return DType::f64;
  }
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (is_signed) {
      if (size == 1) return DType::i8;
      if (size == 2) return DType::i16;
      if (size == 4) return DType::i32;
      if (size == 8) return DType::i64;
    } else {
      if (size == 1) return DType::u8;
      if (size == 2) return DType::u16;
    }
  }
  return DType::other;
}

Shape space_shape(hid_t space) {
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank <= 0) return {};
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

std::vector<hsize_t> to_hsize(const Shape& s) { return std::vector<hsize_t>(s.begin(), s.end()); }

std::string child_path(const std::string& parent, const std::string& name) {
  if (parent == "/" || parent.empty()) return "/" + name;
  return parent + "/" + name;
}

}  // namespace detail

using namespace detail;

std::unique_lock<std::recursive_mutex> lock() { return std::unique_lock<std::recursive_mutex>(g_mutex); }

namespace {
struct DTypeFacts {
  DType type;
  const char* name;
  size_t size;  // bytes of one element; 0 for strings
};
constexpr DTypeFacts kDTypes[] = {{DType::f16, "float16", 2},  {DType::f32, "float32", 4}, {DType::f64, "float64", 8},
                                  {DType::i8, "int8", 1},      {DType::i16, "int16", 2},   {DType::i32, "int32", 4},
                                  {DType::i64, "int64", 8},    {DType::u8, "uint8", 1},    {DType::u16, "uint16", 2},
                                  {DType::string, "string", 0}};
const DTypeFacts* facts_of(DType t) {
  for (const DTypeFacts& f : kDTypes)
    if (f.type == t) return &f;
  return nullptr;
}
}  // namespace

const char* dtype_name(DType t) {
  const DTypeFacts* f = facts_of(t);
  return f ? f->name : "unsupported type";
}
size_t dtype_size(DType t) {
  const DTypeFacts* f = facts_of(t);
  return f ? f->size : 0;
}

#define CMCLIP_H5_DTYPE_OF(T, D) \
  template <>                    \
  DType dtype_of<T>() {          \
    return D;                    \
  }
CMCLIP_H5_DTYPE_OF(float, DType::f32)
CMCLIP_H5_DTYPE_OF(double, DType::f64)
CMCLIP_H5_DTYPE_OF(int8_t, DType::i8)
CMCLIP_H5_DTYPE_OF(int16_t, DType::i16)
CMCLIP_H5_DTYPE_OF(int32_t, DType::i32)
CMCLIP_H5_DTYPE_OF(int64_t, DType::i64)
CMCLIP_H5_DTYPE_OF(uint8_t, DType::u8)
CMCLIP_H5_DTYPE_OF(uint16_t, DType::u16)
#undef CMCLIP_H5_DTYPE_OF

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

DatasetOptions DatasetOptions::compressed(Shape chunk, bool extendable) {
  DatasetOptions o;
  o.chunk = std::move(chunk);
  o.extendable = extendable;
  o.deflate = 4;
  o.shuffle = true;
  o.fletcher32 = true;
  return o;
}

Id::Id(hid_t id) : id_(id) {}

Id::~Id() { reset(-1); }

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset(other.id_);
    other.id_ = -1;
  }
  return *this;
}

void Id::reset(hid_t id) {
  hid_t old = id_;
  id_ = id;
  if (old < 0) return;
  auto l = lock();
  switch (H5Iget_type(old)) {
    case H5I_FILE:
      H5Fclose(old);
      break;
    case H5I_GROUP:
      H5Gclose(old);
      break;
    case H5I_DATASET:
      H5Dclose(old);
      break;
    case H5I_ATTR:
      H5Aclose(old);
      break;
    case H5I_DATATYPE:
      H5Tclose(old);
      break;
    case H5I_DATASPACE:
      H5Sclose(old);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(old);
      break;
    default:
      break;
  }
}

// ----- groups -----

bool Group::has(const std::string& name) const {
  auto l = lock();
  // Check each level so that a missing intermediate group is not an error.
  std::string prefix;
  size_t pos = 0;
  while (true) {
    size_t next = name.find('/', pos);
    prefix = name.substr(0, next);
    if (H5Lexists(id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) return true;
    pos = next + 1;
  }
}

bool Group::is_dataset(const std::string& name) const {
  auto l = lock();
  if (!has(name)) return false;
  ObjectInfo info;
  if (object_info_by_name(id(), name.c_str(), &info, H5O_INFO_BASIC) < 0) return false;
  return info.type == H5O_TYPE_DATASET;
}

std::vector<std::string> Group::children() const {
  auto l = lock();
  std::vector<std::string> out;
  H5G_info_t info;
  if (H5Gget_info(id(), &info) < 0) fail_read(file_, path_, "cannot list group");
  for (hsize_t i = 0; i < info.nlinks; ++i)
    if (auto n = name_by_index(H5Lget_name_by_idx, id(), i)) out.push_back(*n);
  return out;
}

namespace {
// Opens the child `name` of `parent` with `open` (H5Gopen2 or H5Dopen2); the errors say
// "missing <kind>", or "cannot open <kind> (is it a <other>?)" for a child of the other kind.
std::shared_ptr<Id> open_child(const Group& parent, const std::string& name, hid_t (*open)(hid_t, const char*, hid_t),
                               const char* kind, const char* other) {
  const std::string path = child_path(parent.path(), name);
  if (!parent.has(name)) throw InputError(parent.file(), path, fmt::format("missing {}", kind));
  auto child = std::make_shared<Id>(open(parent.id(), name.c_str(), H5P_DEFAULT));
  if (child->get() < 0) fail_read(parent.file(), path, fmt::format("cannot open {} (is it a {}?)", kind, other));
  return child;
}
}  // namespace

Group Group::group(const std::string& name) const {
  auto l = lock();
  return Group(open_child(*this, name, H5Gopen2, "group", "dataset"), file_, child_path(path_, name));
}

Group Group::create_group(const std::string& name) const {
  auto l = lock();
  Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  auto g = std::make_shared<Id>(H5Gcreate2(id(), name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (g->get() < 0) fail_write(file_, child_path(path_, name), "cannot create group");
  return Group(g, file_, child_path(path_, name));
}

Group Group::require_group(const std::string& name) const { return has(name) ? group(name) : create_group(name); }

Dataset Group::dataset(const std::string& name) const {
  auto l = lock();
  return Dataset(open_child(*this, name, H5Dopen2, "dataset", "group"), file_, child_path(path_, name));
}

Dataset Group::create_dataset(const std::string& name, DType type, const Shape& shape,
                              const DatasetOptions& options) const {
  auto l = lock();
  std::vector<hsize_t> dims = to_hsize(shape), maxdims = dims;
  if (options.extendable && !maxdims.empty()) maxdims[0] = H5S_UNLIMITED;
  Id space(shape.empty() ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()));
  Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
  bool filtered = options.deflate > 0 || options.shuffle || options.fletcher32;
  if (!shape.empty() && (options.extendable || filtered || !options.chunk.empty())) {
    std::vector<hsize_t> chunk;
    if (!options.chunk.empty()) {
      chunk = to_hsize(options.chunk);
    } else {
      // Default chunk: whole rows, about 256 KiB, at least one row.
      chunk = dims;
      size_t row_bytes = std::max<size_t>(1, dtype_size(type) ? dtype_size(type) : sizeof(char*));
      for (size_t i = 1; i < dims.size(); ++i) row_bytes *= std::max<hsize_t>(1, dims[i]);
      chunk[0] = std::max<hsize_t>(1, (256 * 1024) / row_bytes);
      if (!options.extendable && dims[0] > 0) chunk[0] = std::min(chunk[0], dims[0]);
    }
    for (auto& c : chunk) c = std::max<hsize_t>(1, c);
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    // Fletcher-32 cannot checksum variable-length data (strings).
    if (options.fletcher32 && type != DType::string) H5Pset_fletcher32(dcpl.get());
    if (options.shuffle) H5Pset_shuffle(dcpl.get());
    if (options.deflate > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate));
  }
  Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  auto d = std::make_shared<Id>(
      H5Dcreate2(id(), name.c_str(), file_type(type), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
  if (d->get() < 0)
    fail_write(file_, child_path(path_, name),
               fmt::format("cannot create {} dataset {}", dtype_name(type), shape_str(shape)));
  return Dataset(d, file_, child_path(path_, name));
}

template <class T>
Dataset Group::write(const std::string& name, const std::vector<T>& values, Shape shape,
                     const DatasetOptions& options) const {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<int64_t>());
  if (n != static_cast<int64_t>(values.size()))
    throw std::logic_error(fmt::format("h5: {} values do not fill shape {}", values.size(), shape_str(shape)));
  Dataset d = create_dataset(name, dtype_of<T>(), shape, options);
  d.write_rows(0, shape[0], values.data());
  return d;
}

Dataset Group::write_strings(const std::string& name, const std::vector<std::string>& values,
                             const DatasetOptions& options) const {
  Dataset d = create_dataset(name, DType::string, {static_cast<int64_t>(values.size())}, options);
  d.write_strings(0, values);
  return d;
}

void Group::remove(const std::string& name) const {
  auto l = lock();
  if (H5Ldelete(id(), name.c_str(), H5P_DEFAULT) < 0) fail_write(file_, child_path(path_, name), "cannot remove");
}

#define CMCLIP_H5_INSTANTIATE_GROUP_WRITE(T) \
  template Dataset Group::write<T>(const std::string&, const std::vector<T>&, Shape, const DatasetOptions&) const;
CMCLIP_H5_FOR_EACH_NUMERIC(CMCLIP_H5_INSTANTIATE_GROUP_WRITE)

// ----- files -----

File File::open(const std::string& path) {
  check_input_file(path);
  auto l = lock();
  htri_t is = H5Fis_hdf5(path.c_str());
  if (is == 0) throw InputError(path, "", "not an HDF5 file");
  if (is < 0) fail_read(path, "", "cannot open (truncated or damaged HDF5 file?)");
  probe_metadata(path);  // libhdf5 crashes on some damaged files: found out in a child
  take_rejection();      // nothing stale from an earlier file
  auto f = std::make_shared<Id>(H5Fopen(path.c_str(), H5F_ACC_RDONLY, checked_read_fapl()));
  if (f->get() < 0) fail_read(path, "", "cannot open (truncated or damaged HDF5 file?)");
  return File(f, path, "/");
}

File File::open_rw(const std::string& path) {
  check_input_file(path);
  auto l = lock();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path, "", "not an HDF5 file");
  auto f = std::make_shared<Id>(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  if (f->get() < 0) fail_read(path, "", "cannot open for writing");
  return File(f, path, "/");
}

File File::create(const std::string& path) {
  auto l = lock();
  auto f = std::make_shared<Id>(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (f->get() < 0) fail_write(path, "", "cannot create HDF5 file");
  return File(f, path, "/");
}

File File::create(const AtomicOutput& output) {
  auto l = lock();
  auto f = std::make_shared<Id>(H5Fcreate(output.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (f->get() < 0) fail_write(output.path(), "", "cannot create HDF5 file");
  return File(f, output.path(), "/");
}

void File::flush() const {
  auto l = lock();
  if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0) fail_write(file_, "", "cannot flush (disk full?)");
}

void File::close() {
  auto l = lock();
  if (!id_ || id_->get() < 0) return;
  // Objects still open elsewhere keep the file open; flush so errors surface here.
  if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0) fail_write(file_, "", "cannot write (disk full?)");
  id_.reset();
}

}  // namespace cmclip::h5
