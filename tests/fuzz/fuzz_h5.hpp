// Shared by the HDF5 fuzz targets.
#pragma once
#include <string>

namespace cmclip::fuzz {

// True when the file declares a dataset so large (> 2^24 elements) that reading it
// would exhaust memory. Such files are valid HDF5 (a dataset's extent is free; unwritten
// chunks read as the fill value) and the tools end them with exit status 1 ("out of
// memory"): not the readers' contract under test, and a libFuzzer out-of-memory report.
bool declares_huge_dataset(const std::string& path);

}  // namespace cmclip::fuzz
