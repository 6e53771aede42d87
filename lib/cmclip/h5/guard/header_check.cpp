#include "cmclip/h5/guard/header_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <hdf5.h>

#include "cmclip/h5/file_format.hpp"

namespace cmclip::h5 {

using format::align8;
using format::decode_le;

namespace {
// Message types (file format specification, "Header Message Types").
constexpr unsigned kDatatypeMessage = 0x03, kFillValueMessage = 0x05, kExternalFilesMessage = 0x07,
                   kLayoutMessage = 0x08, kFilterPipelineMessage = 0x0B, kAttributeMessage = 0x0C,
                   kCommentMessage = 0x0D, kContinuationMessage = 0x10, kAttributeInfoMessage = 0x15;
constexpr unsigned kSharedMessageFlag = 0x02;  // the message lives elsewhere (another object)
// Datatype classes ("Datatype Message").
constexpr unsigned kFixedPointClass = 0, kFloatClass = 1, kTimeClass = 2, kStringClass = 3, kBitfieldClass = 4,
                   kOpaqueClass = 5, kCompoundClass = 6, kReferenceClass = 7, kEnumClass = 8, kVariableLengthClass = 9,
                   kArrayClass = 10;
constexpr unsigned kMaxTypeDepth = 4;     // a variable-length string is 1 deep
constexpr unsigned kMaxRank = 32;         // H5S_MAX_RANK
constexpr uint64_t kMaxChunk = 1u << 26;  // larger object header chunks are not headers libhdf5 wrote
constexpr size_t kMaxChunks = 1u << 12;

// An attribute name fit for a message: printable ASCII, at most 64 characters.
std::string printable(const char* name) {
  std::string out;
  for (const char* c = name; *c && out.size() < 64; ++c) out += (*c >= 32 && *c < 127) ? *c : '?';
  return out;
}

// Number of values a dataspace message describes, or what is wrong with it.
std::string dataspace_points(const uint8_t* ds, uint64_t size, int length_size, uint64_t& points) {
  if (size < 4) return fmt::format("its dataspace is {} bytes long, shorter than its fixed fields", size);
  const unsigned version = ds[0], rank = ds[1], flags = ds[2];
  if (version != 1 && version != 2) return fmt::format("its dataspace has version {}, expected 1 or 2", version);
  if (rank > kMaxRank) return fmt::format("its dataspace has rank {}, more than {}", rank, kMaxRank);
  const uint64_t fixed = version == 1 ? 8 : 4;
  uint64_t need = fixed + uint64_t(rank) * length_size * ((flags & 1) ? 2 : 1);
  if (version == 1 && (flags & 2)) need += uint64_t(rank) * 4;  // permutation indices
  if (need > size) return fmt::format("its dataspace needs {} bytes, and has {}", need, size);
  points = 1;
  if (version == 2 && ds[3] == 2) points = 0;  // a null dataspace
  for (unsigned d = 0; d < rank && points; ++d) {
    const uint64_t extent = decode_le(ds + fixed + uint64_t(d) * length_size, length_size);
    points = extent != 0 && points > UINT64_MAX / extent ? UINT64_MAX : points * extent;
  }
  return "";
}

// Checks the datatype encoded at `t` (at most `size` bytes, nested `depth` deep) and sets
// `length` to the bytes it takes. libhdf5 1.10 decodes a datatype trusting it: an enum's
// member names are copied up to their terminating NUL and its values after them, an
// opaque type's tag by the length in its class bits, a base type wherever it lies.
std::string datatype_length(const uint8_t* t, uint64_t size, unsigned depth, uint64_t& length) {
  if (size < 8) return fmt::format("a datatype of {} bytes, shorter than its 8-byte header", size);
  if (depth > kMaxTypeDepth) return fmt::format("datatypes nested more than {} deep", kMaxTypeDepth);
  const unsigned type_class = t[0] & 0x0f, version = t[0] >> 4;
  // Version 4 (libhdf5 >= 1.12 writes it when told to use its newest format,
  // H5F_LIBVER_V112 or later) changed only the encoding of references, which this check
  // does not look into. libhdf5 1.10 cannot decode it: said so, not "damaged".
  if (version == 4 && !H5_VERSION_GE(1, 12, 0))
    return fmt::format(
        "a datatype of version 4, which libhdf5 {}.{} cannot read (libhdf5 1.12 or later wrote it in "
        "its newest format)",
        H5_VERS_MAJOR, H5_VERS_MINOR);
  if (version < 1 || version > 4) return fmt::format("a datatype of version {}, expected 1 to 4", version);
  const uint64_t class_bits = decode_le(t + 1, 3);
  length = 8;
  auto properties = [&](uint64_t bytes) -> std::string {
    if (bytes > size - length) return fmt::format("a datatype of class {} runs past its message", type_class);
    length += bytes;
    return "";
  };
  // A base type (enum, variable-length): checked in turn, and its encoding skipped.
  auto base_type = [&](const uint8_t*& base) -> std::string {
    base = t + length;
    uint64_t base_length = 0;
    if (std::string why = datatype_length(base, size - length, depth + 1, base_length); !why.empty()) return why;
    length += base_length;
    return "";
  };
  switch (type_class) {
    case kFixedPointClass:
    case kBitfieldClass:
      return properties(4);  // bit offset, bit precision
    case kFloatClass:
      return properties(12);  // and the exponent's and mantissa's layout
    case kTimeClass:
      return properties(2);
    case kStringClass:
    case kReferenceClass:
      return "";
    case kOpaqueClass: {
      const uint64_t tag = class_bits & 0xff;
      if (std::string why = properties(tag); !why.empty()) return why;
      if (tag > 0 && !std::memchr(t + length - tag, 0, size_t(tag)))
        return "an opaque datatype whose tag is not terminated";
      return "";
    }
    case kEnumClass: {
      const uint8_t* base = nullptr;
      if (std::string why = base_type(base); !why.empty()) return why;
      const uint64_t members = class_bits & 0xffff;
      // Names, NUL-terminated; before version 3 each padded to a multiple of 8 bytes.
      for (uint64_t m = 0; m < members; ++m) {
        const void* end = std::memchr(t + length, 0, size_t(size - length));
        if (!end) return fmt::format("enum member {}'s name runs past its message", m);
        const uint64_t name = uint64_t(static_cast<const uint8_t*>(end) - (t + length)) + 1;
        if (std::string why = properties(version >= 3 ? name : align8(name)); !why.empty()) return why;
      }
      return properties(members * decode_le(base + 4, 4));  // the values, of the base type
    }
    case kVariableLengthClass: {
      // The base type follows; the values check knows sequences of fixed-size values.
      if (size - length < 8) return "its variable-length datatype lacks a base type";
      if ((t[length] & 0x0f) == kVariableLengthClass)
        return "variable-length values of a variable-length type, which cmclip's files never hold";
      const uint8_t* base = nullptr;
      if (std::string why = base_type(base); !why.empty()) return why;
      // libhdf5 sizes a string's buffer as its length times the size of the base type.
      const uint64_t base_size = decode_le(base + 4, 4);
      if ((class_bits & 0x0f) == 1 && base_size != 1)
        return fmt::format("variable-length strings of {}-byte characters (expected 1)", base_size);
      return "";
    }
    case kCompoundClass:
    case kArrayClass:
      return "a compound or array datatype, which cmclip's files never hold";
    default:
      return fmt::format("a datatype of class {}, which HDF5 does not define", type_class);
  }
}
}  // namespace

std::string check_datatype(const uint8_t* type, size_t size) {
  uint64_t length = 0;
  return datatype_length(type, size, 0, length);
}

std::string check_filter_pipeline(const uint8_t* b, size_t size) {
  if (size < 2) return fmt::format("a filter pipeline message of {} bytes", size);
  const unsigned version = b[0], filters = b[1];
  if (version != 1 && version != 2)
    return fmt::format("a filter pipeline message of version {}, expected 1 or 2", version);
  if (filters > 32) return fmt::format("a filter pipeline of {} filters, more than 32", filters);
  // Version 1: an 8-byte header; per filter its id, name length, flags and number of
  // parameters (2 bytes each), the name padded to 8 bytes, the 4-byte parameters and
  // 4 bytes of padding after an odd number of them. Version 2: a 2-byte header; the
  // name length and name only for ids from 256; no padding.
  uint64_t at = version == 1 ? 8 : 2;
  for (unsigned f = 0; f < filters; ++f) {
    const std::string which = fmt::format("filter {} of the pipeline", f);
    if (at > size || size - at < 2) return which + " runs past the message";
    const uint64_t id = decode_le(b + at, 2);
    const bool named = version == 1 || id >= 256;
    const uint64_t fixed = named ? 8 : 6;
    if (size - at < fixed) return which + " runs past the message";
    const uint64_t name_length = named ? decode_le(b + at + 2, 2) : 0;
    const uint64_t parameters = decode_le(b + at + fixed - 2, 2);
    at += fixed;
    if (name_length > size - at)
      return fmt::format("{}: its name ({} bytes) runs past the message", which, name_length);
    if (name_length > 0 && !std::memchr(b + at, 0, size_t(name_length))) return which + ": its name is not terminated";
    at += name_length;
    const uint64_t parameter_bytes = parameters * 4 + (version == 1 && parameters % 2 ? 4 : 0);
    if (parameter_bytes > size - at)
      return fmt::format("{}: its {} parameters run past the message", which, parameters);
    at += parameter_bytes;
  }
  return "";
}

std::string check_fill_value(const uint8_t* b, size_t size) {
  // Versions 1 and 2 libhdf5 checks itself; version 3 carries its value after the
  // version, the flags and the value's 4-byte size, if flag 0x20 says it has one.
  constexpr unsigned kHasValue = 0x20;
  if (size < 2 || b[0] != 3 || !(b[1] & kHasValue)) return "";
  if (size < 6) return fmt::format("a fill value message of {} bytes, too short for its value's size", size);
  const uint64_t value = decode_le(b + 2, 4);
  if (value > size - 6) return fmt::format("its fill value ({} bytes) runs past its message ({} bytes)", value, size);
  return "";
}

std::string check_data_layout(const uint8_t* b, size_t size, FileLayout layout) {
  constexpr unsigned kCompact = 0, kContiguous = 1, kChunked = 2;
  const uint64_t offset = uint64_t(layout.offset_size), length = uint64_t(layout.length_size);
  // The bytes libhdf5 reads of the fields (a compact dataset's data it bounds itself).
  auto fits = [&](uint64_t need) {
    return need <= size ? "" : fmt::format("a data layout message of {} bytes, where its fields take {}", size, need);
  };
  if (size < 3) return fits(3);
  const unsigned version = b[0];
  if (version == 1 || version == 2) {
    // Version, dimensionality, class, 5 reserved bytes; an address unless compact; the
    // 4-byte dimensions; a compact dataset's 4-byte size.
    const unsigned dims = b[1], type = b[2];
    return fits(8 + (type == kCompact ? 4 : offset) + uint64_t(dims) * 4);
  }
  if (version != 3 && version != 4) return "";  // libhdf5 refuses other versions itself
  const unsigned type = b[1];
  if (type == kCompact) return fits(4);
  if (type == kContiguous) return fits(2 + offset + length);
  if (type != kChunked) return fmt::format("a data layout of class {}, which cmclip's files never hold", type);
  if (version == 3) return fits(3 + offset + uint64_t(b[2]) * 4);  // dimensionality, address, dimensions
  // Version 4: flags, dimensionality, bytes per dimension, the dimensions, the chunk
  // index's type and parameters, its address.
  if (size < 5) return fits(5);
  const unsigned flags = b[2], dims = b[3], dim_bytes = b[4];
  uint64_t need = 5 + uint64_t(dims) * dim_bytes + 1;
  if (std::string why = fits(need); !why.empty()) return why;
  constexpr unsigned kSingleChunk = 1, kImplicit = 2, kFixedArray = 3, kExtensibleArray = 4, kBTree2 = 5;
  constexpr unsigned kFilteredSingleChunk = 0x02;
  switch (b[need - 1]) {
    case kSingleChunk:
      need += (flags & kFilteredSingleChunk) ? length + 4 : 0;
      break;
    case kImplicit:
      break;
    case kFixedArray:
      need += 1;
      break;
    case kExtensibleArray:
      need += 5;
      break;
    case kBTree2:
      need += 6;
      break;
    default:
      return "";  // libhdf5 refuses other index types itself
  }
  return fits(need + offset);
}

bool FileBytes::read(uint64_t addr, uint64_t count, std::vector<uint8_t>& out) const {
  if (addr > end() || count > end() - addr) return false;
  out.resize(size_t(count));
  for (size_t done = 0; done < out.size();) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, off_t(base + addr + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

std::string check_attribute_message(const uint8_t* b, size_t size, FileLayout layout) {
  if (size < 8) return fmt::format("an attribute message of {} bytes, shorter than its fixed fields", size);
  const unsigned version = b[0];
  if (version < 1 || version > 3) return fmt::format("an attribute message of version {}, expected 1 to 3", version);
  const unsigned flags = version == 1 ? 0 : b[1];
  const uint64_t name_size = decode_le(b + 2, 2), type_size = decode_le(b + 4, 2), space_size = decode_le(b + 6, 2);
  // Version 1 pads the name, datatype and dataspace to 8 bytes; version 3 adds the
  // name's character set.
  auto padded = [&](uint64_t n) { return version == 1 ? align8(n) : n; };
  uint64_t at = version == 3 ? 9 : 8;
  if (at > size || name_size == 0 || padded(name_size) > size - at)
    return fmt::format("an attribute message whose name ({} bytes) does not fit in it ({} bytes)", name_size, size);
  const char* name_bytes = reinterpret_cast<const char*>(b + at);
  if (!std::memchr(name_bytes, 0, size_t(name_size))) return "an attribute message whose name is not terminated";
  const std::string name = printable(name_bytes);
  at += padded(name_size);
  if (flags & 3)
    return fmt::format("attribute '{}' has a shared datatype or dataspace, which cmclip's files never hold", name);
  if (type_size < 8 || padded(type_size) > size - at)
    return fmt::format("attribute '{}': its datatype ({} bytes) does not fit in the message", name, type_size);
  const uint8_t* type = b + at;
  at += padded(type_size);
  if (padded(space_size) > size - at)
    return fmt::format("attribute '{}': its dataspace ({} bytes) does not fit in the message", name, space_size);
  uint64_t points = 0;
  if (std::string why = dataspace_points(b + at, space_size, layout.length_size, points); !why.empty())
    return fmt::format("attribute '{}': {}", name, why);
  at += padded(space_size);

  const unsigned type_class = type[0] & 0x0f;
  if (std::string why = check_datatype(type, type_size); !why.empty())
    return fmt::format("attribute '{}': {}", name, why);
  // In the file a variable-length value is its length, the global heap collection's
  // address and the object's index.
  const uint64_t value_size =
      type_class == kVariableLengthClass ? 4 + uint64_t(layout.offset_size) + 4 : decode_le(type + 4, 4);
  // libhdf5 copies points * value_size bytes of data from here.
  const uint64_t left = size - at;
  if (value_size != 0 && points > left / value_size)
    return fmt::format("attribute '{}': its data ({} values of {} bytes) runs past the message ({} bytes left)", name,
                       points, value_size, left);
  return "";
}

namespace {
// What is wrong with one message of an object header (`size` bytes at `data`) that
// libhdf5 would decode trusting its sizes, or "" (continuations are followed by the
// caller).
std::string check_message(unsigned type, unsigned flags, const uint8_t* data, size_t size, FileLayout layout) {
  const bool shared = flags & kSharedMessageFlag;  // checked where it lives, if at all
  switch (type) {
    case kExternalFilesMessage:
      return "a dataset stored in external files, which cmclip's files never hold";
    case kFilterPipelineMessage:
      return shared ? "" : check_filter_pipeline(data, size);
    case kDatatypeMessage: {  // a dataset's
      const std::string why = shared ? "" : check_datatype(data, size);
      return why.empty() ? why : "its datatype: " + why;
    }
    case kLayoutMessage:
      return check_data_layout(data, size, layout);
    case kFillValueMessage:
      return shared ? "" : check_fill_value(data, size);
    case kCommentMessage:
      return std::memchr(data, 0, size) ? "" : "its comment is not terminated within its message";
    case kAttributeMessage:
      return shared ? "a shared attribute message, which cmclip's files never hold"
                    : check_attribute_message(data, size, layout);
    case kAttributeInfoMessage: {
      // Attributes kept in a fractal heap ("dense storage") instead of messages.
      const uint64_t heap_at = 2 + ((size >= 2 && (data[1] & 1)) ? 2 : 0);
      if (size < heap_at + layout.offset_size) return fmt::format("an attribute info message of {} bytes", size);
      if (!format::is_undefined_address(data + heap_at, layout.offset_size))
        return "attributes in dense storage, which cmclip's files never hold";
      return "";
    }
    default:
      return "";
  }
}
}  // namespace

std::string check_object_header(const FileBytes& file, uint64_t header_addr, FileLayout layout) {
  const std::string where = fmt::format("object header at byte {}", header_addr);
  std::vector<uint8_t> bytes;
  // The prefix: version 1 is 16 bytes; version 2 at most 4 + 2 + 16 + 4 + 8.
  const uint64_t prefix_read = std::min<uint64_t>(34, file.end() > header_addr ? file.end() - header_addr : 0);
  if (prefix_read < 16 || !file.read(header_addr, prefix_read, bytes)) return where + ": past the end of the file";
  const bool v2 = std::memcmp(bytes.data(), "OHDR", 4) == 0;
  if (!v2 && bytes[0] != 1) return fmt::format("{}: version {}, expected 1 or 2", where, bytes[0]);
  uint64_t prefix = 16, chunk_size = decode_le(bytes.data() + 8, 4), message_header = 8;
  if (v2) {
    const unsigned flags = bytes[5];
    prefix = 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
    const int size_bytes = 1 << (flags & 3);
    if (prefix + size_bytes > bytes.size()) return where + ": past the end of the file";
    chunk_size = decode_le(bytes.data() + prefix, size_bytes);
    prefix += size_bytes;
    message_header = (flags & 0x04) ? 6 : 4;
  }
  struct Chunk {
    uint64_t addr, size;
  };
  std::vector<Chunk> chunks{{header_addr + prefix, chunk_size}};
  std::set<uint64_t> seen{header_addr + prefix};
  for (size_t c = 0; c < chunks.size(); ++c) {
    Chunk chunk = chunks[c];
    if (chunk.size > kMaxChunk || !file.read(chunk.addr, chunk.size, bytes))
      return fmt::format("{}: a chunk of {} bytes at byte {} runs past the end of the file ({} bytes)", where,
                         chunk.size, chunk.addr, file.end());
    uint64_t at = 0, end = chunk.size;
    if (v2 && c > 0) {  // a continuation chunk: "OCHK", messages, checksum
      if (end < 8 || std::memcmp(bytes.data(), "OCHK", 4) != 0)
        return fmt::format("{}: the continuation chunk at byte {} lacks its signature", where, chunk.addr);
      at = 4;
      end -= 4;
    }
    while (end - at >= message_header) {
      const uint8_t* m = bytes.data() + at;
      const unsigned type = v2 ? m[0] : unsigned(decode_le(m, 2));
      const uint64_t size = decode_le(m + (v2 ? 1 : 2), 2);
      const unsigned flags = m[v2 ? 3 : 4];
      at += message_header;
      if (size > end - at)
        return fmt::format("{}: a message of {} bytes at byte {} runs past its chunk", where, size, chunk.addr + at);
      const uint8_t* data = bytes.data() + at;
      if (std::string why = check_message(type, flags, data, size_t(size), layout); !why.empty())
        return where + ": " + why;
      if (type == kContinuationMessage) {
        if (size < uint64_t(layout.offset_size + layout.length_size))
          return fmt::format("{}: a continuation message of {} bytes", where, size);
        const uint64_t next = decode_le(data, layout.offset_size);
        const uint64_t length = decode_le(data + layout.offset_size, layout.length_size);
        if (seen.insert(next).second) {
          if (chunks.size() >= kMaxChunks) return fmt::format("{}: more than {} chunks", where, kMaxChunks);
          chunks.push_back({next, length});
        }
      }
      at += size;
    }
  }
  return "";
}

}  // namespace cmclip::h5
