// Checks of an object header's messages, made before libhdf5 decodes them.
//
// libhdf5 1.10 decodes an attribute message (HDF5 file format specification,
// "Attribute Message") trusting its sizes: a damaged one whose data is declared larger
// than the message is copied from beyond the buffer that holds the header (found by
// the h5_checkpoint fuzz target: a wild read that crashes only sometimes, so the
// metadata probe alone cannot catch it). The probe helper (cmclip-h5-probe) runs this
// check on every object before it asks libhdf5 for the object's attributes.
//
// The same reading checks the messages libhdf5 decodes when it opens a dataset: data
// layouts, filter pipelines, datatypes and fill values (a damaged pipeline made it use
// freed memory), and comments.
//
// What cmclip's files never hold is refused rather than checked: attributes with a
// shared (committed) datatype or dataspace, shared attribute messages, compound and
// array datatypes, variable-length values of variable-length types, dense attribute
// storage, external storage and virtual datasets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cmclip::h5 {

// Sizes of file offsets and lengths, from the file's superblock.
struct FileLayout {
  int offset_size = 8;
  int length_size = 8;
};

// An HDF5 file open for the checks' own reads, at the addresses the file holds: relative
// to its base address (where the superblock is: past the user block, if any).
struct FileBytes {
  int fd = -1;
  uint64_t size = 0;  // of the whole file
  uint64_t base = 0;
  // Addresses [0, end()) lie in the file.
  uint64_t end() const { return size > base ? size - base : 0; }
  // Reads `count` bytes at `addr` into `out`; false where they do not all lie in the file.
  bool read(uint64_t addr, uint64_t count, std::vector<uint8_t>& out) const;
};

// Empty when the datatype encoded at `type` (at most `size` bytes: a datatype message,
// or an attribute's datatype field) lies within them and is one cmclip's checks know,
// else what is wrong with it. libhdf5 1.10 decodes a datatype trusting it: an enum's
// member names and an opaque type's tag are read wherever they say they end.
std::string check_datatype(const uint8_t* type, size_t size);

// Empty when the filter pipeline message `bytes` (`size` bytes) is sound: each filter's
// name and parameters lie in it (libhdf5 1.10 reads past it otherwise).
std::string check_filter_pipeline(const uint8_t* bytes, size_t size);

// Empty when the attribute message `bytes` (its data, without the message header) is
// sound, else what is wrong with it.
std::string check_attribute_message(const uint8_t* bytes, size_t size, FileLayout layout);

// Empty when the fill value message `bytes` (`size` bytes) holds the value it declares
// (libhdf5 1.10 copies a version 3 message's value trusting its size).
std::string check_fill_value(const uint8_t* bytes, size_t size);

// Empty when the data layout message `bytes` (`size` bytes) holds the fields it
// declares (libhdf5 1.10 reads a chunked layout's dimensions trusting their count);
// virtual datasets are refused.
std::string check_data_layout(const uint8_t* bytes, size_t size, FileLayout layout);

// Reads the object header at `header_addr` of `file` with its continuation chunks and
// checks the messages libhdf5 would decode trusting their sizes: attributes, datatypes,
// data layouts, filter pipelines, fill values and comments. Empty when all are sound,
// else what is wrong (naming the attribute where it can).
std::string check_object_header(const FileBytes& file, uint64_t header_addr, FileLayout layout);

}  // namespace cmclip::h5
