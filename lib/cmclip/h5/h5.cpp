#include "cmclip/h5/h5.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/h5/checked_driver.hpp"
#include "cmclip/h5/object_info.hpp"
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

struct Silencer {
  Silencer() {
    // No clean-up at exit: every file is closed by its owner, and a file whose close
    // failed (a full disk) would make HDF5's own clean-up crash at exit (1.10).
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
} g_silencer;

[[noreturn]] void fail_read(const std::string& file, const std::string& path, const std::string& what) {
  throw InputError(file, path, fmt::format("{} ({})", what, hdf5_message()));
}
[[noreturn]] void fail_write(const std::string& file, const std::string& path, const std::string& what) {
  throw RuntimeFailure(file, path, fmt::format("{} ({})", what, hdf5_message()));
}

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
    case DType::f16: return float16_type();
    case DType::f32: return H5T_NATIVE_FLOAT;
    case DType::f64: return H5T_NATIVE_DOUBLE;
    case DType::i8: return H5T_NATIVE_INT8;
    case DType::i16: return H5T_NATIVE_INT16;
    case DType::i32: return H5T_NATIVE_INT32;
    case DType::i64: return H5T_NATIVE_INT64;
    case DType::u8: return H5T_NATIVE_UINT8;
    case DType::u16: return H5T_NATIVE_UINT16;
    case DType::string: return vlen_utf8_type();
    default: throw std::logic_error("h5: no memory type for this dtype");
  }
}

hid_t file_type(DType t) {
  switch (t) {
    case DType::f32: return H5T_IEEE_F32LE;
    case DType::f64: return H5T_IEEE_F64LE;
    case DType::i8: return H5T_STD_I8LE;
    case DType::i16: return H5T_STD_I16LE;
    case DType::i32: return H5T_STD_I32LE;
    case DType::i64: return H5T_STD_I64LE;
    case DType::u8: return H5T_STD_U8LE;
    case DType::u16: return H5T_STD_U16LE;
    default: return mem_type(t);
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
}  // namespace

std::unique_lock<std::recursive_mutex> lock() { return std::unique_lock<std::recursive_mutex>(g_mutex); }

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f16: return "float16";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i8: return "int8";
    case DType::i16: return "int16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::string: return "string";
    default: return "unsupported type";
  }
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f16: case DType::i16: case DType::u16: return 2;
    case DType::f32: case DType::i32: return 4;
    case DType::f64: case DType::i64: return 8;
    case DType::i8: case DType::u8: return 1;
    default: return 0;
  }
}

template <> DType dtype_of<float>() { return DType::f32; }
template <> DType dtype_of<double>() { return DType::f64; }
template <> DType dtype_of<int8_t>() { return DType::i8; }
template <> DType dtype_of<int16_t>() { return DType::i16; }
template <> DType dtype_of<int32_t>() { return DType::i32; }
template <> DType dtype_of<int64_t>() { return DType::i64; }
template <> DType dtype_of<uint8_t>() { return DType::u8; }
template <> DType dtype_of<uint16_t>() { return DType::u16; }

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
    case H5I_FILE: H5Fclose(old); break;
    case H5I_GROUP: H5Gclose(old); break;
    case H5I_DATASET: H5Dclose(old); break;
    case H5I_ATTR: H5Aclose(old); break;
    case H5I_DATATYPE: H5Tclose(old); break;
    case H5I_DATASPACE: H5Sclose(old); break;
    case H5I_GENPROP_LST: H5Pclose(old); break;
    default: break;
  }
}

// ----- attributes -----

std::string Object::where() const { return file_ + ": " + path_; }

bool Object::has_attr(const std::string& name) const {
  auto l = lock();
  return H5Aexists(id(), name.c_str()) > 0;
}

std::vector<std::string> Object::attr_names() const {
  auto l = lock();
  // libhdf5 1.10 crashes when an attribute it cannot decode turns up while it builds
  // its table of an object's attributes (what the by-index calls below do). Looking up
  // a name no attribute has decodes them all one by one and fails cleanly instead.
  if (H5Aexists(id(), "\x01cmclip: no such attribute") < 0)
    fail_read(file_, path_, "cannot read its attributes (damaged object header)");
  std::vector<std::string> names;
  ObjectInfo info;
  if (object_info(id(), &info, H5O_INFO_NUM_ATTRS) < 0) return names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    ssize_t len = H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) continue;
    std::string n(static_cast<size_t>(len) + 1, '\0');
    H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, n.data(), n.size(), H5P_DEFAULT);
    n.resize(static_cast<size_t>(len));
    names.push_back(n);
  }
  return names;
}

namespace {
void write_attr(const Object& o, const std::string& name, hid_t ftype, hid_t mtype,
                const Shape& shape, const void* data) {
  auto l = lock();
  if (H5Aexists(o.id(), name.c_str()) > 0) H5Adelete(o.id(), name.c_str());
  Id space(shape.empty() ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(1, to_hsize(shape).data(), nullptr));
  Id attr(H5Acreate2(o.id(), name.c_str(), ftype, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (attr.get() < 0 || H5Awrite(attr.get(), mtype, data) < 0)
    fail_write(o.file(), o.path(), fmt::format("cannot write attribute '{}'", name));
}

struct AttrInfo {
  std::shared_ptr<Id> attr;
  Id type, space;
  DType dtype;
  int64_t count;
  bool scalar;
};

AttrInfo open_attr(const Object& o, const std::string& name) {
  if (H5Aexists(o.id(), name.c_str()) <= 0)
    throw InputError(o.file(), o.path(), fmt::format("missing attribute '{}'", name));
  AttrInfo a{std::make_shared<Id>(H5Aopen(o.id(), name.c_str(), H5P_DEFAULT)), Id(), Id(),
             DType::other, 0, false};
  if (a.attr->get() < 0) fail_read(o.file(), o.path(), fmt::format("cannot open attribute '{}'", name));
  a.type.reset(H5Aget_type(a.attr->get()));
  a.space.reset(H5Aget_space(a.attr->get()));
  a.dtype = classify(a.type.get());
  hssize_t n = H5Sget_simple_extent_npoints(a.space.get());
  a.count = n < 0 ? 0 : n;
  a.scalar = H5Sget_simple_extent_type(a.space.get()) == H5S_SCALAR;
  return a;
}

bool is_numeric(DType t) { return t != DType::string && t != DType::other; }
bool is_integer(DType t) {
  return t == DType::i8 || t == DType::i16 || t == DType::i32 || t == DType::i64 || t == DType::u8 ||
         t == DType::u16;
}

template <class T>
std::vector<T> read_attr_numbers(const Object& o, const std::string& name, bool integers) {
  auto l = lock();
  AttrInfo a = open_attr(o, name);
  if (integers ? !is_integer(a.dtype) : !is_numeric(a.dtype))
    throw InputError(o.file(), o.path(),
                     fmt::format("attribute '{}' is {}, expected {}", name, dtype_name(a.dtype),
                                 integers ? "an integer" : "a number"));
  std::vector<T> out(static_cast<size_t>(a.count));
  if (a.count && H5Aread(a.attr->get(), mem_type(dtype_of<T>()), out.data()) < 0)
    fail_read(o.file(), o.path(), fmt::format("cannot read attribute '{}'", name));
  return out;
}
}  // namespace

void Object::set_attr(const std::string& name, const std::string& value) const {
  const char* p = value.c_str();
  write_attr(*this, name, vlen_utf8_type(), vlen_utf8_type(), {}, &p);
}
void Object::set_attr(const std::string& name, int64_t value) const {
  write_attr(*this, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value);
}
void Object::set_attr(const std::string& name, double value) const {
  write_attr(*this, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value);
}
void Object::set_attr(const std::string& name, const std::vector<int64_t>& v) const {
  write_attr(*this, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {int64_t(v.size())}, v.data());
}
void Object::set_attr(const std::string& name, const std::vector<double>& v) const {
  write_attr(*this, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {int64_t(v.size())}, v.data());
}
void Object::set_attr(const std::string& name, const std::vector<std::string>& v) const {
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  write_attr(*this, name, vlen_utf8_type(), vlen_utf8_type(), {int64_t(v.size())}, ptrs.data());
}

std::vector<std::string> Object::attr_strings(const std::string& name) const {
  auto l = lock();
  AttrInfo a = open_attr(*this, name);
  if (a.dtype != DType::string)
    throw InputError(file_, path_, fmt::format("attribute '{}' is {}, expected a string", name,
                                               dtype_name(a.dtype)));
  hid_t attr = a.attr->get();
  auto out = read_string_elements(a.type.get(), static_cast<size_t>(a.count),
                                  [&](hid_t mt, void* buf, size_t) { return H5Aread(attr, mt, buf) >= 0; });
  if (out.size() != static_cast<size_t>(a.count))
    fail_read(file_, path_, fmt::format("cannot read attribute '{}'", name));
  return out;
}

std::string Object::attr_string(const std::string& name) const {
  auto v = attr_strings(name);
  if (v.size() != 1)
    throw InputError(file_, path_, fmt::format("attribute '{}' holds {} strings, expected one", name, v.size()));
  return v[0];
}

int64_t Object::attr_int(const std::string& name) const {
  auto v = attr_ints(name);
  if (v.size() != 1)
    throw InputError(file_, path_, fmt::format("attribute '{}' holds {} values, expected one", name, v.size()));
  return v[0];
}

double Object::attr_double(const std::string& name) const {
  auto v = attr_doubles(name);
  if (v.size() != 1)
    throw InputError(file_, path_, fmt::format("attribute '{}' holds {} values, expected one", name, v.size()));
  return v[0];
}

std::vector<int64_t> Object::attr_ints(const std::string& name) const {
  return read_attr_numbers<int64_t>(*this, name, true);
}
std::vector<double> Object::attr_doubles(const std::string& name) const {
  return read_attr_numbers<double>(*this, name, false);
}

void Object::set_attr(const std::string& name, const AttrValue& value) const {
  std::visit([&](const auto& v) { set_attr(name, v); }, value);
}

AttrValue Object::attr(const std::string& name) const {
  auto l = lock();
  AttrInfo a = open_attr(*this, name);
  bool scalar = a.scalar;
  if (a.dtype == DType::string) {
    auto v = attr_strings(name);
    if (scalar) return v.at(0);
    return v;
  }
  if (is_integer(a.dtype)) {
    auto v = attr_ints(name);
    if (scalar) return v.at(0);
    return v;
  }
  if (is_numeric(a.dtype)) {
    auto v = attr_doubles(name);
    if (scalar) return v.at(0);
    return v;
  }
  throw InputError(file_, path_, fmt::format("attribute '{}' has an unsupported type", name));
}

std::string attr_to_string(const AttrValue& value) {
  struct Visitor {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(const std::string& v) const { return v; }
    std::string operator()(const std::vector<int64_t>& v) const { return fmt::format("[{}]", fmt::join(v, ", ")); }
    std::string operator()(const std::vector<double>& v) const { return fmt::format("[{}]", fmt::join(v, ", ")); }
    std::string operator()(const std::vector<std::string>& v) const { return fmt::format("[{}]", fmt::join(v, ", ")); }
  };
  return std::visit(Visitor{}, value);
}

bool Object::attr_bool(const std::string& name) const {
  auto l = lock();
  AttrInfo a = open_attr(*this, name);
  if (a.dtype == DType::string) {
    std::string v = attr_string(name);
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    throw InputError(file_, path_, fmt::format("attribute '{}' is '{}', expected true or false", name, v));
  }
  return attr_int(name) != 0;
}

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
  throw InputError(file_, path_, fmt::format("expected {} {}, found {} {}", want_t, want_s,
                                             dtype_name(t), shape_str(s)));
}

namespace {
// Dataspaces selecting rows [start, start+count) of a dataset with shape `full`.
void select_rows(hid_t dset, const Shape& full, int64_t start, int64_t count, Id& file_space,
                 Id& mem_space) {
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
    throw InputError(file_, path_, fmt::format("rows [{}, {}) requested, dataset has {}", start,
                                               start + count, rows_total));
  if (count == 0) return;
  Id fs, ms;
  select_rows(id(), full, start, count, fs, ms);
  if (H5Dread(id(), mem_type(mem), ms.get(), fs.get(), H5P_DEFAULT, out) < 0)
    fail_read(file_, path_, fmt::format("cannot read rows [{}, {}) as {} (damaged file or failed checksum?)",
                                        start, start + count, dtype_name(mem)));
}

template <class T> void Dataset::read_rows(int64_t start, int64_t count, T* out) const {
  read_rows_as(dtype_of<T>(), start, count, out);
}

template <class T> std::vector<T> Dataset::read() const {
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
  if (H5Dset_extent(id(), dims.data()) < 0)
    fail_write(file_, path_, fmt::format("cannot resize to {} rows", rows));
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

template <class T> void Dataset::write_rows(int64_t start, int64_t count, const T* data) const {
  write_rows_as(dtype_of<T>(), start, count, data);
}

template <class T> void Dataset::write(const std::vector<T>& values) const {
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
  if (full.size() > 1) throw InputError(file_, path_, fmt::format("expected a 1-D string array, found {}", shape_str(full)));
  int64_t rows_total = full.empty() ? 1 : full[0];
  if (start < 0 || count < 0 || start + count > rows_total)
    throw InputError(file_, path_, fmt::format("rows [{}, {}) requested, dataset has {}", start, start + count, rows_total));
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

#define CMCLIP_H5_INSTANTIATE(T)                                                   \
  template std::vector<T> Dataset::read<T>() const;                               \
  template void Dataset::read_rows<T>(int64_t, int64_t, T*) const;                \
  template void Dataset::write<T>(const std::vector<T>&) const;                   \
  template void Dataset::write_rows<T>(int64_t, int64_t, const T*) const;         \
  template Dataset Group::write<T>(const std::string&, const std::vector<T>&, Shape, \
                                   const DatasetOptions&) const;

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
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len = H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) continue;
    std::string n(static_cast<size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, n.data(), n.size(), H5P_DEFAULT);
    n.resize(static_cast<size_t>(len));
    out.push_back(n);
  }
  return out;
}

Group Group::group(const std::string& name) const {
  auto l = lock();
  if (!has(name)) throw InputError(file_, child_path(path_, name), "missing group");
  auto g = std::make_shared<Id>(H5Gopen2(id(), name.c_str(), H5P_DEFAULT));
  if (g->get() < 0) fail_read(file_, child_path(path_, name), "cannot open group (is it a dataset?)");
  return Group(g, file_, child_path(path_, name));
}

Group Group::create_group(const std::string& name) const {
  auto l = lock();
  Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  auto g = std::make_shared<Id>(H5Gcreate2(id(), name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (g->get() < 0) fail_write(file_, child_path(path_, name), "cannot create group");
  return Group(g, file_, child_path(path_, name));
}

Group Group::require_group(const std::string& name) const {
  return has(name) ? group(name) : create_group(name);
}

Dataset Group::dataset(const std::string& name) const {
  auto l = lock();
  if (!has(name)) throw InputError(file_, child_path(path_, name), "missing dataset");
  auto d = std::make_shared<Id>(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (d->get() < 0) fail_read(file_, child_path(path_, name), "cannot open dataset (is it a group?)");
  return Dataset(d, file_, child_path(path_, name));
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
    fail_write(file_, child_path(path_, name), fmt::format("cannot create {} dataset {}", dtype_name(type), shape_str(shape)));
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
  if (H5Ldelete(id(), name.c_str(), H5P_DEFAULT) < 0)
    fail_write(file_, child_path(path_, name), "cannot remove");
}

CMCLIP_H5_INSTANTIATE(float)
CMCLIP_H5_INSTANTIATE(double)
CMCLIP_H5_INSTANTIATE(int8_t)
CMCLIP_H5_INSTANTIATE(int16_t)
CMCLIP_H5_INSTANTIATE(int32_t)
CMCLIP_H5_INSTANTIATE(int64_t)
CMCLIP_H5_INSTANTIATE(uint8_t)
CMCLIP_H5_INSTANTIATE(uint16_t)

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
