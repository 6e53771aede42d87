// Shared by the HDF5 fuzz targets (fuzz_h5_*.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace cmclip::fuzz {

// The input as an HDF5 file: `read(path)` must end in a cmclip error or succeed (see
// expect_clean_errors). Files that declare a dataset so large (> 2^24 elements) that
// reading it would exhaust memory are left out: they are valid HDF5 (a dataset's
// extent is free; unwritten chunks read as the fill value), the tools end them with
// exit status 1 ("out of memory"), and libFuzzer would report the allocation.
void read_h5_input(const uint8_t* data, size_t size, const std::function<void(const std::string&)>& read);

// fuzz_h5.cpp also defines the targets' LLVMFuzzerInitialize: quiet logs, and a time
// limit on the metadata probe (h5::probe_metadata) below libFuzzer's own, so that a
// hang is the probe's error.

}  // namespace cmclip::fuzz
