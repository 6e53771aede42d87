// Checks of an object header's attribute messages, made before libhdf5 decodes them.
//
// libhdf5 1.10 decodes an attribute message (HDF5 file format specification,
// "Attribute Message") trusting its sizes: a damaged one whose data is declared larger
// than the message is copied from beyond the buffer that holds the header (found by
// the h5_checkpoint fuzz target: a wild read that crashes only sometimes, so the
// metadata probe alone cannot catch it). The probe helper (cmclip-h5-probe) runs this
// check on every object before it asks libhdf5 for the object's attributes.
//
// What cmclip's files never hold is refused rather than checked: attributes with a
// shared (committed) datatype or dataspace, shared attribute messages, compound and
// array datatypes in attributes, and dense attribute storage.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cmclip::h5 {

// Sizes of file offsets and lengths, from the file's superblock.
struct FileWidths {
  int offset_size = 8;
  int length_size = 8;
};

// Empty when the attribute message `bytes` (its data, without the message header) is
// sound, else what is wrong with it.
std::string check_attribute_message(const uint8_t* bytes, size_t size, FileWidths widths);

// Reads the object header at `header_addr` of the open file `fd` (`file_size` bytes)
// with its continuation chunks and checks each attribute message in it; empty when all
// are sound, else what is wrong (naming the attribute where it can).
std::string check_object_attributes(int fd, uint64_t file_size, uint64_t header_addr, FileWidths widths);

// Reads `size` bytes at `addr` of the open file `fd` into `out`; false past its end.
bool read_exactly(int fd, uint64_t addr, uint64_t size, std::vector<uint8_t>& out);

}  // namespace cmclip::h5
