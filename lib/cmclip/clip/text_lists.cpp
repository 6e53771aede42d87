#include "cmclip/clip/text_lists.hpp"

#include <fmt/format.h>

#include "cmclip/clip/text_clean.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip::clip {

namespace {

// Lines of a text file without their '\n' (and a Windows '\r'), checked for UTF-8.
std::vector<std::pair<int64_t, std::string>> read_lines(const std::string& path, int64_t* blank) {
  check_input_file(path);
  std::string content = read_file(path);
  std::vector<std::pair<int64_t, std::string>> lines;
  *blank = 0;
  int64_t number = 0;
  for (size_t pos = 0; pos < content.size();) {
    size_t nl = content.find('\n', pos);
    std::string line = content.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? content.size() : nl + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t bad;
    if (!valid_utf8(line, &bad))
      throw InputError(path, fmt::format("line {}", number), fmt::format("not valid UTF-8 (byte {})", bad + 1));
    if (line.find('\0') != std::string::npos)
      throw InputError(path, fmt::format("line {}", number), "contains a NUL byte");
    if (line.find_first_not_of(" \t") == std::string::npos) {
      ++*blank;
      continue;
    }
    lines.emplace_back(number, std::move(line));
  }
  return lines;
}

}  // namespace

std::vector<ImageListEntry> read_image_list(const std::string& list_path) {
  int64_t blank = 0;
  auto lines = read_lines(list_path, &blank);
  if (blank) log::info("{}: {} blank line(s) are not entries", list_path, blank);
  std::vector<ImageListEntry> out;
  const std::string base = dirname_of(list_path);
  for (auto& [number, text] : lines) {
    ImageListEntry e{number, text, join_path(base, text)};
    if (!file_exists(e.path) || is_directory(e.path))
      throw InputError(list_path, fmt::format("line {}", number),
                       fmt::format("'{}' is not a readable file (looked at {})", text, e.path));
    out.push_back(std::move(e));
  }
  if (out.empty()) throw InputError(list_path, "", "no image paths in the list");
  return out;
}

std::vector<Prompt> read_prompt_file(const std::string& path) {
  int64_t blank = 0;
  auto lines = read_lines(path, &blank);
  if (blank) log::info("{}: {} blank line(s) are not prompts", path, blank);
  std::vector<Prompt> out;
  for (auto& [number, text] : lines) out.push_back({number, std::move(text)});
  if (out.empty()) throw InputError(path, "", "no prompts in the file");
  return out;
}

}  // namespace cmclip::clip
