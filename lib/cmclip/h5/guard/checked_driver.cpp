#include "cmclip/h5/guard/checked_driver.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "cmclip/h5/file_format.hpp"

namespace cmclip::h5 {

namespace {
// What the driver last refused (read under h5::lock(), like every driver call).
std::string g_rejection;

using format::align8;
using format::decode_le;

// Layout of a global heap collection (HDF5 file format specification, "Global Heap"):
// "GCOL", version 1, 3 reserved bytes, the collection size (a length), padded to 8
// bytes; then objects, each an index (2 bytes), a reference count (2), 4 reserved
// bytes and the object's size (a length), followed by its data padded to 8 bytes.
// Index 0 is the free space, whose size counts its own header.
size_t collection_header_size(int length_size) { return size_t(align8(8 + uint64_t(length_size))); }
size_t object_header_size(int length_size) { return size_t(8 + length_size); }
}  // namespace

uint64_t global_heap_size(const uint8_t* bytes, size_t size, int length_size) {
  if (size < size_t(8 + length_size) || std::memcmp(bytes, "GCOL", 4) != 0) return 0;
  return decode_le(bytes + 8, length_size);
}

namespace {
// Walks the objects of the whole collection `bytes` (`total` bytes) as libhdf5 does,
// calling visit(index, offset, length) for each; returns what is wrong ("" if nothing),
// `where` naming the collection.
template <class Visit>
std::string walk_global_heap(const uint8_t* bytes, uint64_t total, uint64_t addr, int length_size,
                             const std::string& where, Visit&& visit) {
  const size_t header = collection_header_size(length_size), object_header = object_header_size(length_size);
  uint64_t at = header;
  while (at < total) {
    if (total - at < object_header) break;  // a tail too short for an object is free space
    const uint8_t* p = bytes + at;
    const unsigned index = unsigned(decode_le(p, 2));
    const uint64_t length = decode_le(p + 8, length_size);
    // libhdf5 steps to the next object by this much and copies `length` bytes of it.
    uint64_t step;
    if (index == 0) {
      step = length;
      if (step < object_header)
        return fmt::format("{}: free space at byte {} is {} bytes long, shorter than its own header", where, addr + at,
                           length);
    } else {
      if (length > total)
        return fmt::format("{}: object {} is {} bytes long, longer than the collection", where, index, length);
      step = object_header + align8(length);
    }
    if (step > total - at)
      return fmt::format("{}: object {} at byte {} ({} bytes) runs past the collection's end ({} bytes)", where, index,
                         addr + at, step, total);
    visit(index, at, length);
    at += step;
  }
  return "";
}
}  // namespace

std::string check_global_heap(const uint8_t* bytes, size_t size, uint64_t addr, int length_size) {
  if (size < 4 || std::memcmp(bytes, "GCOL", 4) != 0) return "";
  const std::string where = fmt::format("global heap collection at byte {}", addr);
  if (size < size_t(8 + length_size)) return "";  // libhdf5 reads the header first
  if (bytes[4] != 1) return fmt::format("{}: version {}, expected 1", where, bytes[4]);
  const uint64_t total = decode_le(bytes + 8, length_size);
  if (total < collection_header_size(length_size))
    return fmt::format("{}: size {} is smaller than its header", where, total);
  if (total > size) return "";  // checked when the rest has been read
  return walk_global_heap(bytes, total, addr, length_size, where, [](unsigned, uint64_t, uint64_t) {});
}

std::optional<uint64_t> global_heap_object_size(const uint8_t* bytes, size_t size, unsigned index, int length_size) {
  const uint64_t total = global_heap_size(bytes, size, length_size);
  if (index == 0 || total > size || !check_global_heap(bytes, size, 0, length_size).empty()) return std::nullopt;
  std::optional<uint64_t> found;
  walk_global_heap(bytes, total, 0, length_size, "", [&](unsigned i, uint64_t, uint64_t length) {
    if (i == index) found = length;  // libhdf5 keeps the last object of an index
  });
  return found;
}

std::string take_rejection() {
  std::string r;
  r.swap(g_rejection);
  return r;
}

#if H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10

namespace {
struct CheckedFile {
  H5FD_t pub;  // first: libhdf5 sees a CheckedFile as its H5FD_t
  int fd = -1;
  haddr_t eoa = 0, eof = 0;
  dev_t device = 0;
  ino_t inode = 0;
  int length_size = 8;
  // A collection larger than libhdf5's first read of it, until the rest arrives.
  haddr_t pending_addr = HADDR_UNDEF;
  uint64_t pending_size = 0;
  std::vector<uint8_t> pending;
};

constexpr haddr_t kMaxAddr = (haddr_t(1) << 62) - 1;

herr_t refuse(std::string why) {
  g_rejection = std::move(why);
  return -1;
}

bool pread_all(int fd, haddr_t addr, size_t size, uint8_t* out) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, off_t(addr));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {  // past the end of the file: zeros, as libhdf5's own drivers give
      std::memset(out, 0, size);
      return true;
    }
    out += n;
    addr += haddr_t(n);
    size -= size_t(n);
  }
  return true;
}

// The size of lengths from the superblock (at byte 0, 512, 1024, ...): libhdf5 decodes
// heap sizes with it. 8, libhdf5's default, where the superblock is not readable
// (libhdf5 then fails on its own).
int superblock_length_size(int fd, haddr_t file_size) {
  static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (haddr_t at = 0; at + 16 <= file_size; at = at ? at * 2 : 512) {
    uint8_t sb[16];
    if (!pread_all(fd, at, sizeof sb, sb)) break;
    if (std::memcmp(sb, signature, 8) != 0) continue;
    int size = sb[8] <= 1 ? sb[14] : sb[10];
    return size == 2 || size == 4 || size == 8 ? size : 8;
  }
  return 8;
}

H5FD_t* open_file(const char* name, unsigned flags, hid_t, haddr_t maxaddr) {
  if (flags & (H5F_ACC_RDWR | H5F_ACC_TRUNC | H5F_ACC_CREAT)) {
    refuse("the checking driver only reads");
    return nullptr;
  }
  int fd = ::open(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    refuse(std::strerror(errno));
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) < 0) {
    refuse(std::strerror(errno));
    ::close(fd);
    return nullptr;
  }
  auto* f = new CheckedFile();
  f->fd = fd;
  f->eof = haddr_t(st.st_size);
  f->device = st.st_dev;
  f->inode = st.st_ino;
  f->length_size = superblock_length_size(fd, f->eof);
  return &f->pub;
}

CheckedFile* self(H5FD_t* f) { return reinterpret_cast<CheckedFile*>(f); }
const CheckedFile* self(const H5FD_t* f) { return reinterpret_cast<const CheckedFile*>(f); }

herr_t close_file(H5FD_t* file) {
  CheckedFile* f = self(file);
  int rc = ::close(f->fd);
  delete f;
  return rc == 0 ? 0 : -1;
}

int compare(const H5FD_t* a, const H5FD_t* b) {
  const CheckedFile *x = self(a), *y = self(b);
  if (x->device != y->device) return x->device < y->device ? -1 : 1;
  if (x->inode != y->inode) return x->inode < y->inode ? -1 : 1;
  return 0;
}

// Without H5FD_FEAT_ACCUMULATE_METADATA: libhdf5 would serve a global heap collection
// from metadata it read before, and the driver would not see (and check) it.
herr_t query(const H5FD_t*, unsigned long* flags) {
  if (flags)
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA |
             H5FD_FEAT_POSIX_COMPAT_HANDLE;
  return 0;
}

haddr_t get_eoa(const H5FD_t* f, H5FD_mem_t) { return self(f)->eoa; }
herr_t set_eoa(H5FD_t* f, H5FD_mem_t, haddr_t addr) {
  self(f)->eoa = addr;
  return 0;
}
haddr_t get_eof(const H5FD_t* f, H5FD_mem_t) { return self(f)->eof; }

herr_t get_handle(H5FD_t* f, hid_t, void** handle) {
  *handle = &self(f)->fd;
  return 0;
}

// Checks what libhdf5 is about to parse as a global heap collection: a read that starts
// one, or the read that completes one begun by an earlier read.
herr_t check_read(CheckedFile* f, haddr_t addr, size_t size, const uint8_t* buf) {
  if (f->pending_addr != HADDR_UNDEF && addr == f->pending_addr + f->pending.size()) {
    f->pending.insert(f->pending.end(), buf, buf + size);
    if (f->pending.size() < f->pending_size) return 0;
    std::string why = check_global_heap(f->pending.data(), f->pending.size(), f->pending_addr, f->length_size);
    f->pending_addr = HADDR_UNDEF;
    f->pending.clear();
    return why.empty() ? 0 : refuse(why);
  }
  f->pending_addr = HADDR_UNDEF;
  f->pending.clear();
  std::string why = check_global_heap(buf, size, addr, f->length_size);
  if (!why.empty()) return refuse(why);
  uint64_t total = global_heap_size(buf, size, f->length_size);
  if (total > size && total - size <= f->eof) {
    f->pending_addr = addr;
    f->pending_size = total;
    f->pending.assign(buf, buf + size);
  }
  return 0;
}

herr_t read(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void* buffer) {
  CheckedFile* f = self(file);
  if (addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr || addr + size > f->eoa)
    return refuse(fmt::format("a read of {} bytes at byte {} lies outside the file's address space", size, addr));
  auto* out = static_cast<uint8_t*>(buffer);
  if (!pread_all(f->fd, addr, size, out)) return refuse(std::strerror(errno));
  return check_read(f, addr, size, out);
}

herr_t write(H5FD_t*, H5FD_mem_t, hid_t, haddr_t, size_t, const void*) {
  return refuse("the checking driver only reads");
}

herr_t truncate(H5FD_t*, hid_t, hbool_t) { return 0; }  // nothing was written
// Readers need no lock: cmclip's writers rename complete files into place.
herr_t lock(H5FD_t*, hbool_t) { return 0; }
herr_t unlock(H5FD_t*) { return 0; }

const H5FD_class_t kChecked = {"cmclip-checked",  // name
                               kMaxAddr,          // maxaddr
                               H5F_CLOSE_WEAK,    // fc_degree
                               nullptr,           // terminate
                               nullptr,
                               nullptr,
                               nullptr,  // sb_size, sb_encode, sb_decode
                               0,
                               nullptr,
                               nullptr,
                               nullptr,  // fapl_size, fapl_get, fapl_copy, fapl_free
                               0,
                               nullptr,
                               nullptr,  // dxpl_size, dxpl_copy, dxpl_free
                               open_file,
                               close_file,
                               compare,
                               query,
                               nullptr,  // get_type_map
                               nullptr,
                               nullptr,  // alloc, free
                               get_eoa,
                               set_eoa,
                               get_eof,
                               get_handle,
                               read,
                               write,
                               nullptr,  // flush
                               truncate,
                               lock,
                               unlock,
                               H5FD_FLMAP_DICHOTOMY};
}  // namespace

hid_t checked_read_fapl() {
  static const hid_t fapl = [] {
    hid_t driver = H5FDregister(&kChecked);
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    if (driver < 0 || p < 0 || H5Pset_driver(p, driver, nullptr) < 0) return hid_t(H5P_DEFAULT);
    return p;
  }();
  return fapl;
}

#else

hid_t checked_read_fapl() { return H5P_DEFAULT; }

#endif

}  // namespace cmclip::h5
