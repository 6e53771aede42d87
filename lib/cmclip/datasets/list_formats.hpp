// The parts of the list formats (datasets/list_formats.cpp) that read_list and its
// helpers in datasets/list_reader.cpp use. Internal to datasets/.
#pragma once
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/strings.hpp"
#include "cmclip/datasets/list_reader.hpp"

namespace cmclip::datasets::list_formats {

// Where a line is, for messages: fail() throws an InputError naming the list and line.
class LineContext {
 public:
  LineContext(const std::string& list, int line) : list_(list), line_(line) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(list_, fmt::format("line {}", line_), what);
  }
  int line() const { return line_; }
  const std::string& list() const { return list_; }

 private:
  const std::string& list_;
  int line_;
};

std::vector<std::string> components(const std::string& path);  // the path's folders and file
std::string stem_of(const std::string& name);                  // file name without extension
// A modality named by a folder or file-name token (color, depth, ir, ...).
bool modality_token(const std::string& token, Modality& m);

// One record from a line's fields, in each dataset's own layout.
ListRecord read_casia_surf(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol);
ListRecord read_casia_fas(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol);
ListRecord read_cefa(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol);
ListRecord read_wmca(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol);

// The tsv format's header: the column of each field (-1: absent).
struct TsvColumns {
  int path = -1, label = -1, modality = -1, attack_type = -1, subject = -1, video = -1, frame = -1;
  size_t count = 0;
};
TsvColumns tsv_header(const LineContext& at, const std::string& line);

}  // namespace cmclip::datasets::list_formats
