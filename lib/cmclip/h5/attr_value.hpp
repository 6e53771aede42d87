// The value of an HDF5 attribute as the toolkit writes it, without the HDF5 headers:
// option structs fill maps of them (a checkpoint's /config) without depending on
// libhdf5.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace cmclip::h5 {

// Any attribute value the toolkit writes.
using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>, std::vector<std::string>>;
std::string attr_to_string(const AttrValue& v);  // for logs and --help style output (h5.cpp)

}  // namespace cmclip::h5
