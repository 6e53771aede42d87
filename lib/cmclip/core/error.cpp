#include "cmclip/core/error.hpp"

namespace cmclip {

std::string located_message(const std::string& file, const std::string& record, const std::string& what) {
  std::string out;
  for (const std::string* part : {&file, &record}) {
    if (!part->empty()) out += *part + ": ";
  }
  return out + what;
}

}  // namespace cmclip
