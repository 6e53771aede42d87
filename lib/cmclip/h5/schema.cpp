#include "cmclip/h5/schema.hpp"

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/modality.hpp"
#include "cmclip/core/runtime.hpp"

namespace cmclip::h5 {

void seal(const File& file, const std::string& format, int64_t version) {
  file.flush();
  write_provenance(file, format, version);
}

void finish_file(std::unique_ptr<File>& file, const std::string& count_name, int64_t count,
                 const std::map<std::string, AttrValue>& attrs, const std::string& format, int64_t version) {
  file->set_attr(count_name, count);
  for (const auto& [name, value] : attrs) file->set_attr(name, value);
  seal(*file, format, version);
  file->close();
  file.reset();
}

void write_provenance(const Group& root, const std::string& format, int64_t version) {
  root.set_attr("format", format);
  root.set_attr("format_version", version);
  root.set_attr("created_by", created_by());
  root.set_attr("command_line", command_line());
  root.set_attr("created_at", utc_now_iso8601());
}

std::string format_of(const File& file) {
  if (!file.has_attr("format")) return "";
  // A format attribute that cannot be read (damaged) is an error of its own, not "no
  // format": the message says what is wrong with it.
  return file.attr_string("format");
}

void check_format(const File& file, const std::string& format, int64_t newest_supported) {
  std::string found = format_of(file);
  if (found.empty())
    throw InputError(file.file(), "/",
                     fmt::format("not a {} file (no 'format' attribute; was it written by cmclip?)", format));
  if (found != format) throw InputError(file.file(), "/", fmt::format("expected a {} file, found {}", format, found));
  if (!file.has_attr("format_version")) throw InputError(file.file(), "/", "missing attribute 'format_version'");
  int64_t v = file.attr_int("format_version");
  if (v < 1 || v > newest_supported)
    throw InputError(file.file(), "/",
                     fmt::format("{} version {} is not supported by this cmclip {} (reads versions 1 to {}); "
                                 "upgrade cmclip or rewrite the file",
                                 format, v, version(), newest_supported));
}

LabelColumns read_label_columns(const Group& g, const std::string& path, int64_t n) {
  g.dataset("label").expect({DType::i8}, {n});
  g.dataset("attack").expect({DType::i16}, {n});
  g.dataset("attack_names").expect({DType::string}, {-1});
  LabelColumns c{g.read<int8_t>("label"), g.read<int16_t>("attack"), g.read_strings("attack_names")};
  if (c.attack_names.empty()) throw InputError(path, "/attack_names", "empty; entry 0 must name bona fide");
  for (int64_t i = 0; i < n; ++i) {
    const int8_t label = c.label[i];
    const int16_t attack = c.attack[i];
    if (label != kLive && label != kAttack)
      throw InputError(path, fmt::format("/label[{}]", i),
                       fmt::format("value {} is neither 1 (live) nor 0 (attack)", label));
    if (attack < 0 || static_cast<size_t>(attack) >= c.attack_names.size())
      throw InputError(path, fmt::format("/attack[{}]", i),
                       fmt::format("code {} has no entry in /attack_names ({} names)", attack, c.attack_names.size()));
    if (label == kLive && attack != 0)
      throw InputError(path, fmt::format("/attack[{}]", i),
                       fmt::format("a live sample (/label 1) has attack type {} '{}' (expected 0, bona fide)", attack,
                                   c.attack_names[attack]));
    if (label == kAttack && attack == 0)
      throw InputError(path, fmt::format("/attack[{}]", i),
                       "an attack sample (/label 0) has attack type 0 (bona fide); every attack needs its type");
  }
  return c;
}

void check_modality_codes(const std::string& path, const std::vector<int8_t>& codes) {
  for (size_t i = 0; i < codes.size(); ++i)
    if (codes[i] < 0 || codes[i] >= kModalityCount)
      throw InputError(path, fmt::format("/modality[{}]", i),
                       fmt::format("code {} is not a modality (0 rgb, 1 depth, 2 nir, 3 thermal)", codes[i]));
}

}  // namespace cmclip::h5
