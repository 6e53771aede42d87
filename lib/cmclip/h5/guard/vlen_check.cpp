#include "cmclip/h5/guard/vlen_check.hpp"

#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "cmclip/h5/guard/checked_driver.hpp"
#include "cmclip/h5/file_format.hpp"

namespace cmclip::h5 {

namespace {
constexpr const char* kFileFormTag = "cmclip: variable-length value in its file form";
constexpr uint64_t kMaxCollection = uint64_t(1) << 30;

// A conversion from a variable-length type to the opaque type tagged kFileFormTag of
// the same size: the bytes stay as they are, so reading into that type gives the
// values as the file holds them.
herr_t keep_file_form(hid_t source, hid_t target, H5T_cdata_t* cdata, size_t, size_t, size_t, void*, void*, hid_t) {
  if (cdata->command != H5T_CONV_INIT) return 0;  // H5T_CONV_CONV: nothing to change
  char* tag = H5Tget_tag(target);
  const bool ours = tag && std::strcmp(tag, kFileFormTag) == 0;
  H5free_memory(tag);
  if (!ours || H5Tget_size(source) != H5Tget_size(target)) return -1;  // not this conversion
  cdata->need_bkg = H5T_BKG_NO;
  return 0;
}

void register_file_form_conversion() {
  static const bool registered = [] {
    hid_t sequence = H5Tvlen_create(H5T_NATIVE_UCHAR);  // variable-length strings are of this class inside libhdf5
    hid_t opaque = H5Tcreate(H5T_OPAQUE, 1);
    H5Tregister(H5T_PERS_SOFT, "cmclip file form", sequence, opaque, keep_file_form);
    H5Tclose(sequence);
    H5Tclose(opaque);
    return true;
  }();
  (void)registered;
}

// Collections read so far, by address: the values of one file share a few.
class Collections {
 public:
  Collections(const FileBytes& file, int length_size) : file_(file), length_size_(length_size) {}

  // The length of object `index` of the collection at `addr`, or what is wrong.
  std::string object_size(uint64_t addr, unsigned index, std::optional<uint64_t>& size) {
    auto it = read_.find(addr);
    if (it == read_.end()) {
      std::vector<uint8_t> bytes;
      if (std::string why = read(addr, bytes); !why.empty()) return why;
      it = read_.emplace(addr, std::move(bytes)).first;
    }
    size = global_heap_object_size(it->second.data(), it->second.size(), index, length_size_);
    return "";
  }

 private:
  std::string read(uint64_t addr, std::vector<uint8_t>& bytes) {
    const std::string where = fmt::format("the global heap collection at byte {}", addr);
    const uint64_t header = 8 + uint64_t(length_size_);
    if (!file_.read(addr, header, bytes)) return where + " lies past the end of the file";
    const uint64_t total = global_heap_size(bytes.data(), bytes.size(), length_size_);
    if (total == 0) return where + " is not one";
    if (total > kMaxCollection || !file_.read(addr, total, bytes))
      return fmt::format("{} is {} bytes long, past the end of the file", where, total);
    return check_global_heap(bytes.data(), bytes.size(), addr, length_size_);
  }

  const FileBytes& file_;
  int length_size_;
  std::map<uint64_t, std::vector<uint8_t>> read_;
};
}  // namespace

std::string check_variable_length_values(hid_t object, bool dataset, hid_t type, size_t count, const FileBytes& file,
                                         FileLayout layout) {
  register_file_form_conversion();
  // Bytes per element of the sequence in the file: 1 for a string.
  uint64_t element_size = 1;
  if (H5Tget_class(type) == H5T_VLEN) {
    hid_t base = H5Tget_super(type);
    element_size = base < 0 ? 0 : H5Tget_size(base);
    if (base >= 0) H5Tclose(base);
    if (element_size == 0) return "a variable-length type without a base type";
  }
  const size_t value_size = size_t(4 + layout.offset_size + 4);
  hid_t file_form = H5Tcreate(H5T_OPAQUE, value_size);
  H5Tset_tag(file_form, kFileFormTag);
  std::vector<uint8_t> values(count * value_size);
  const herr_t rc = dataset ? H5Dread(object, file_form, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data())
                            : H5Aread(object, file_form, values.data());
  H5Tclose(file_form);
  if (rc < 0) return "";  // libhdf5 refused before converting anything: the real read fails the same way

  Collections collections(file, layout.length_size);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* v = values.data() + i * value_size;
    const uint64_t length = format::decode_le(v, 4);
    const uint64_t addr = format::decode_le(v + 4, layout.offset_size);
    const unsigned index = unsigned(format::decode_le(v + 4 + layout.offset_size, 4));
    if (addr == 0) continue;  // no value (a null string)
    std::optional<uint64_t> size;
    if (std::string why = collections.object_size(addr, index, size); !why.empty())
      return fmt::format("value {}: {}", i, why);
    if (!size)
      return fmt::format("value {} names object {} of the global heap collection at byte {}, which holds none", i,
                         index, addr);
    if (*size != length * element_size)
      return fmt::format(
          "value {} is {} elements of {} bytes long, but its global heap object (collection at byte "
          "{}, index {}) holds {} bytes",
          i, length, element_size, addr, index, *size);
  }
  return "";
}

}  // namespace cmclip::h5
