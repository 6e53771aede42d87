// A thin RAII layer over the HDF5 C API: files, groups, datasets, attributes,
// numeric arrays (with chunking, deflate+shuffle, Fletcher-32), variable-length UTF-8
// strings, and row-wise append for streaming writers. Every error names the file and
// the object path. libhdf5 is not thread-safe: every call here holds one global lock.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "cmclip/h5/attr_value.hpp"

namespace cmclip {
class AtomicOutput;
}

namespace cmclip::h5 {

enum class DType { f16, f32, f64, i8, i16, i32, i64, u8, u16, string, other };
const char* dtype_name(DType t);
size_t dtype_size(DType t);

template <class T>
DType dtype_of();

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[3, 224, 224]"

struct DatasetOptions {
  Shape chunk;              // empty: contiguous unless compression or extendable asks for chunks
  bool extendable = false;  // the first dimension can grow (append)
  int deflate = 0;          // 0: none, 1..9: gzip level
  bool shuffle = false;
  bool fletcher32 = false;  // checksum each chunk: corruption is detected on read
  // Large data: chunked, deflate 4 + shuffle, Fletcher-32 (chunk: one row if empty).
  static DatasetOptions compressed(Shape chunk = {}, bool extendable = false);
};

// Shared handle to an HDF5 identifier, closed with the right H5?close.
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id);
  ~Id();
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Id& operator=(Id&& other) noexcept;
  hid_t get() const { return id_; }
  void reset(hid_t id);  // closes the identifier held before

 private:
  hid_t id_ = -1;
};

class Object {
 public:
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  hid_t id() const { return id_->get(); }

  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, const char* value) const { set_attr(name, std::string(value)); }
  void set_attr(const std::string& name, int64_t value) const;
  void set_attr(const std::string& name, int value) const { set_attr(name, int64_t(value)); }
  void set_attr(const std::string& name, double value) const;
  void set_attr(const std::string& name, const std::vector<int64_t>& value) const;
  void set_attr(const std::string& name, const std::vector<double>& value) const;
  void set_attr(const std::string& name, const std::vector<std::string>& value) const;
  void set_attr(const std::string& name, const AttrValue& value) const;
  // Reads any attribute the toolkit can write (scalars and 1-D arrays).
  AttrValue attr(const std::string& name) const;

  // Readers fail with an InputError naming file, object and attribute when the
  // attribute is missing or of another kind.
  std::string attr_string(const std::string& name) const;
  int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;
  std::vector<int64_t> attr_ints(const std::string& name) const;
  std::vector<double> attr_doubles(const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& name) const;
  // "true"/"false" strings or integers.
  bool attr_bool(const std::string& name) const;

  // "file.h5: /params/x" for messages.
  std::string where() const;

 protected:
  Object(std::shared_ptr<Id> id, std::string file, std::string path)
      : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)) {}
  std::shared_ptr<Id> id_;
  std::string file_, path_;
};

class Dataset : public Object {
 public:
  DType dtype() const;
  Shape shape() const;
  int64_t rows() const;  // first dimension (1 for a scalar)
  int64_t elements_per_row() const;

  // Fails (InputError, exit 2) unless the dtype is one of `allowed` and the shape
  // matches `pattern` (-1 = any size in that dimension).
  void expect(const std::vector<DType>& allowed, const Shape& pattern) const;

  // Numeric reads convert to T the way HDF5 converts (exact for integer widening).
  template <class T>
  std::vector<T> read() const;
  template <class T>
  void read_rows(int64_t start, int64_t count, T* out) const;
  // Raw reads in a given memory type (e.g. f16 bits into a uint16 buffer).
  void read_rows_as(DType mem, int64_t start, int64_t count, void* out) const;

  template <class T>
  void write(const std::vector<T>& values) const;
  // Writes rows [start, start+count); an extendable dataset grows as needed.
  template <class T>
  void write_rows(int64_t start, int64_t count, const T* data) const;
  void write_rows_as(DType mem, int64_t start, int64_t count, const void* data) const;

  std::vector<std::string> read_strings() const;
  std::vector<std::string> read_strings(int64_t start, int64_t count) const;
  void write_strings(int64_t start, const std::vector<std::string>& values) const;

  // Grows (or shrinks) the first dimension of an extendable dataset.
  void resize_rows(int64_t rows) const;

 private:
  friend class Group;
  using Object::Object;
};

class Group : public Object {
 public:
  bool has(const std::string& name) const;  // nested names ("a/b") allowed
  std::vector<std::string> children() const;
  Group group(const std::string& name) const;          // must exist
  Group create_group(const std::string& name) const;   // intermediate groups created
  Group require_group(const std::string& name) const;  // open or create
  Dataset dataset(const std::string& name) const;      // must exist
  bool is_dataset(const std::string& name) const;

  Dataset create_dataset(const std::string& name, DType type, const Shape& shape,
                         const DatasetOptions& options = {}) const;

  // Convenience whole-array writers/readers.
  template <class T>
  Dataset write(const std::string& name, const std::vector<T>& values, Shape shape = {},
                const DatasetOptions& options = {}) const;
  Dataset write_strings(const std::string& name, const std::vector<std::string>& values,
                        const DatasetOptions& options = {}) const;
  template <class T>
  std::vector<T> read(const std::string& name) const {
    return dataset(name).read<T>();
  }
  std::vector<std::string> read_strings(const std::string& name) const { return dataset(name).read_strings(); }

  void remove(const std::string& name) const;

 protected:
  using Object::Object;
};

class File : public Group {
 public:
  // Read-only. Missing file, non-HDF5 file or a damaged one: InputError naming it.
  static File open(const std::string& path);
  static File open_rw(const std::string& path);
  // Creates (truncating) a file. Use an AtomicOutput's temporary path.
  static File create(const std::string& path);
  // Creates the temporary file of `output`; messages (a full disk, say) name the
  // output's final path, the file the user asked for.
  static File create(const AtomicOutput& output);

  void flush() const;
  // Closes the file now; errors on close (a full disk) surface here.
  void close();

 private:
  using Group::Group;
};

// Serialises HDF5 calls across threads (the Debian build is not thread-safe).
std::unique_lock<std::recursive_mutex> lock();

}  // namespace cmclip::h5
