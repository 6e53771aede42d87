// The attributes of HDF5 objects (h5/h5.hpp's Object).
#include "cmclip/h5/h5.hpp"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/error.hpp"
#include "cmclip/h5/h5_detail.hpp"
#include "cmclip/h5/guard/object_info.hpp"

namespace cmclip::h5 {

using namespace detail;

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
  for (hsize_t i = 0; i < info.num_attrs; ++i)
    if (auto n = name_by_index(H5Aget_name_by_idx, id(), i)) names.push_back(*n);
  return names;
}

namespace {
void write_attr(const Object& o, const std::string& name, hid_t ftype, hid_t mtype, const Shape& shape,
                const void* data) {
  auto l = lock();
  if (H5Aexists(o.id(), name.c_str()) > 0) H5Adelete(o.id(), name.c_str());
  Id space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, to_hsize(shape).data(), nullptr));
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
  AttrInfo a{std::make_shared<Id>(H5Aopen(o.id(), name.c_str(), H5P_DEFAULT)), Id(), Id(), DType::other, 0, false};
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
  return t == DType::i8 || t == DType::i16 || t == DType::i32 || t == DType::i64 || t == DType::u8 || t == DType::u16;
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
    throw InputError(file_, path_, fmt::format("attribute '{}' is {}, expected a string", name, dtype_name(a.dtype)));
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

}  // namespace cmclip::h5
