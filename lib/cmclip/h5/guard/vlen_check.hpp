// Checks of variable-length values (strings, sequences) against their global heap
// objects, made before libhdf5 converts them.
//
// In the file a variable-length value is its length, the address of a global heap
// collection and an object index there. libhdf5 1.10 sizes its buffer from the length
// and then copies the whole heap object into it: an object longer than the length
// overflows the buffer (index 0, the collection's free space, always does), and a huge
// length makes libhdf5 clear gigabytes first (found by the h5_samples and h5_scores
// fuzz targets). The probe helper (cmclip-h5-probe) reads each variable-length
// attribute and string dataset in its file form, through a conversion that changes
// nothing, and checks every value here before libhdf5 reads it for real.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>

#include "cmclip/h5/guard/header_check.hpp"

namespace cmclip::h5 {

// Checks the `count` values of the attribute (`dataset` false) or dataset `object` of
// `file`, whose type `type` is a variable-length string or sequence of fixed-size
// values. Empty when all are sound, else what is wrong.
std::string check_variable_length_values(hid_t object, bool dataset, hid_t type, size_t count, const FileBytes& file,
                                         FileLayout layout);

}  // namespace cmclip::h5
