// The line files of fas-embed: image lists (--images) and prompt files (--text-file).
// Lines end in '\n' (a Windows '\r' before it is dropped), must be UTF-8 without NUL
// bytes, and blank lines are neither entries nor prompts (their count is logged).
// Untrusted input: fuzzed by tests/fuzz/fuzz_text_lists.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmclip::clip {

// One entry of an image list: a path per line, relative to the list's folder.
struct ImageListEntry {
  int64_t line = 0;  // 1-based line number in the list
  std::string text;  // the line as written (kept as /source)
  std::string path;  // resolved against the list's folder
};
// Reads a list (blank lines are not entries; their count is logged). A line that is
// not valid UTF-8 or names no readable file fails with an InputError naming the
// list and the line.
std::vector<ImageListEntry> read_image_list(const std::string& list_path);

// Prompts, one per line (UTF-8); blank lines are not prompts (their count is logged).
struct Prompt {
  int64_t line = 0;
  std::string text;
};
std::vector<Prompt> read_prompt_file(const std::string& path);

}  // namespace cmclip::clip
