#include "cmclip/h5/schema.hpp"

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
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

}  // namespace cmclip::h5
