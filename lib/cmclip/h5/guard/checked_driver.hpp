// A read-only file driver for libhdf5 that checks what libhdf5 1.10 trusts blindly.
//
// Files the tools read come from preempted jobs, half-finished copies and other
// people's disks. libhdf5 1.10 (Debian 12 ships 1.10.8) parses a global heap
// collection (where every variable-length string lives: the format attribute, video
// ids, attack names) without checking it: a free-space object of length 0 makes it
// loop forever, and an object whose length runs past its collection is copied from
// beyond the buffer. This driver reads the file with pread(2) like libhdf5's default
// ("sec2") driver and checks every global heap collection before libhdf5 parses it;
// a bad one fails the read, and the message (`take_rejection`) names its offset.
//
// Found by the h5_samples and h5_scores fuzz targets (tests/fuzz, man fas-errors(7)).
// Only libhdf5 1.10's driver interface is implemented; with another libhdf5 version
// `checked_read_fapl` returns H5P_DEFAULT (the default driver).
#pragma once
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cmclip::h5 {

// A file access property list that selects the checking driver (owned by the
// library: do not close it), or H5P_DEFAULT where the driver is not available.
hid_t checked_read_fapl();

// Why the checking driver last refused a read, then forgets it; empty if it did not.
// Called under h5::lock() by the code that reports a failed HDF5 call.
std::string take_rejection();

// The check itself, for tests: empty when `bytes` (read at file offset `addr`, from a
// file whose lengths take `length_size` bytes: 8 unless its superblock says otherwise)
// is not a global heap collection or is a sound one, else what is wrong. A buffer
// shorter than the collection it starts has only its header checked (libhdf5 reads a
// large collection in two pieces: the driver checks the joined whole).
std::string check_global_heap(const uint8_t* bytes, size_t size, uint64_t addr, int length_size = 8);

// The size of a global heap collection that `bytes` starts (0 if it starts none).
uint64_t global_heap_size(const uint8_t* bytes, size_t size, int length_size = 8);

// The length of object `index` of the whole, sound collection `bytes`; none where the
// collection is not whole or sound or has no such object (index 0 is its free space,
// never a value: libhdf5 would copy it with 16 bytes from beyond the collection).
std::optional<uint64_t> global_heap_object_size(const uint8_t* bytes, size_t size, unsigned index, int length_size = 8);

}  // namespace cmclip::h5
