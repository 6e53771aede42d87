#include "cmclip/datasets/list_reader.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <unordered_map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/datasets/list_formats.hpp"

namespace cmclip::datasets {

using namespace list_formats;

// ---------------------------------------------------------------------------

const std::vector<std::string>& list_format_names() {
  static const std::vector<std::string> names{"casia-surf", "casia-fas", "cefa", "wmca", "tsv"};
  return names;
}

ListFormat parse_list_format(const std::string& name) {
  const auto& names = list_format_names();
  auto it = std::find(names.begin(), names.end(), ascii_lower(name));
  if (it == names.end())
    throw UsageError(fmt::format("unknown list format '{}' (expected casia-surf, casia-fas, cefa, wmca or tsv)", name));
  return static_cast<ListFormat>(it - names.begin());
}

const std::string& list_format_name(ListFormat f) { return list_format_names().at(static_cast<size_t>(f)); }

LabelPolarity parse_label_polarity(const std::string& text) {
  std::string t = ascii_lower(trim(text));
  if (t.empty() || t == "default") return LabelPolarity::reader_default;
  if (t == "live=1" || t == "1=live") return LabelPolarity::live_is_1;
  if (t == "live=0" || t == "0=live") return LabelPolarity::live_is_0;
  throw UsageError(fmt::format("--label-polarity '{}': expected live=1 or live=0", text));
}

int live_value(ListFormat f, LabelPolarity p) {
  if (p == LabelPolarity::live_is_1) return 1;
  if (p == LabelPolarity::live_is_0) return 0;
  return f == ListFormat::casia_surf || f == ListFormat::cefa ? 1 : 0;
}

std::vector<Modality> parse_modality_list(const std::string& text, const std::string& option) {
  std::vector<Modality> out;
  for (const std::string& field : split(text, ',')) {
    const std::string name = trim(field);
    Modality m;
    if (!modality_token(name, m) || ascii_lower(name) == "profile")
      throw UsageError(fmt::format("{} '{}': '{}' is not rgb, depth, nir or thermal", option, text, name));
    if (std::find(out.begin(), out.end(), m) != out.end())
      throw UsageError(fmt::format("{} '{}': {} is named twice", option, text, modality_name(m)));
    out.push_back(m);
  }
  return out;
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool modality_of_path(const std::string& path, Modality& m, int& component) {
  auto parts = components(path);
  if (parts.empty()) return false;
  // A file-name suffix is the most specific ("000000-color.jpg").
  std::string stem = stem_of(parts.back());
  size_t cut = stem.find_last_of("-_.");
  if (cut != std::string::npos && modality_token(stem.substr(cut + 1), m)) {
    component = -1;
    return true;
  }
  for (int i = static_cast<int>(parts.size()) - 1; i >= 0; --i)
    if (modality_token(parts[static_cast<size_t>(i)], m)) {
      component = i;
      return true;
    }
  return false;
}

int32_t frame_number_of(const std::string& path) {
  std::string stem = stem_of(components(path).empty() ? path : components(path).back());
  size_t n = 0;
  while (n < stem.size() && std::isdigit(static_cast<unsigned char>(stem[n]))) ++n;
  if (n == 0 || n > 9) return -1;
  return static_cast<int32_t>(std::stol(stem.substr(0, n)));
}

bool has_image_extension(const std::string& path) {
  std::string p = ascii_lower(path);
  for (const char* e : {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"})
    if (ends_with(p, e)) return true;
  return false;
}

bool has_video_extension(const std::string& path) {
  std::string p = ascii_lower(path);
  for (const char* e : {".avi", ".mp4", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv"})
    if (ends_with(p, e)) return true;
  return false;
}

namespace {

// The modalities a list's records can give, as its format fixes them (tsv: none yet,
// the rows name theirs).
std::vector<Modality> format_modalities(ListFormat format) {
  switch (format) {
    case ListFormat::wmca:
      return {Modality::rgb, Modality::depth, Modality::nir, Modality::thermal};
    case ListFormat::tsv:
      return {};
    default:
      return {Modality::rgb, Modality::depth, Modality::nir};
  }
}

// The record of a line `t` (trimmed, not blank) of a casia-surf, casia-fas, cefa or wmca list.
void read_fixed_format_line(const LineContext& at, const std::string& t, ListFormat format, LabelPolarity polarity,
                            std::vector<ListRecord>& records) {
  using FixedFormatReader = ListRecord (*)(const LineContext&, const std::vector<std::string>&, LabelPolarity);
  // In ListFormat's order; tsv lists are read row by row (read_tsv_line).
  static constexpr FixedFormatReader kReaders[] = {read_casia_surf, read_casia_fas, read_cefa, read_wmca};
  const size_t k = static_cast<size_t>(format);
  if (k >= std::size(kReaders)) throw RuntimeFailure("read_fixed_format_line: not a fixed-format list");
  records.push_back(kReaders[k](at, split_fields(t), polarity));
}

// What a tsv list's reader keeps from line to line.
struct TsvList {
  TsvColumns columns;
  bool header_seen = false;
  std::unordered_map<std::string, size_t> groups;  // video + frame -> record
  std::vector<int> group_lines;                    // line of each modality's row
  std::array<bool, kModalityCount> seen{};
};

// A row of a tsv list: a record holding the path of the row's one modality.
struct TsvRow {
  ListRecord record;
  Modality modality;
};

// Checks a row against the header's columns; a bad field fails naming the line.
TsvRow parse_tsv_row(const LineContext& at, const TsvColumns& tsv, const std::string& line) {
  auto f = split(line, '\t');
  if (f.size() != tsv.count)
    at.fail(fmt::format("expected {} tab-separated fields as in the header, found {}", tsv.count, f.size()));
  for (auto& x : f) x = trim(x);
  auto get = [&](int col) -> const std::string& {
    static const std::string none;
    return col < 0 ? none : f[static_cast<size_t>(col)];
  };
  const std::string& path = get(tsv.path);
  if (path.empty()) at.fail("empty path");
  std::string label = ascii_lower(get(tsv.label));
  if (label != "live" && label != "attack")
    at.fail(fmt::format("label '{}' is neither 'live' nor 'attack'", get(tsv.label)));
  Modality m;
  try {
    m = parse_modality(get(tsv.modality));
  } catch (const InputError&) {
    at.fail(fmt::format("modality '{}' is not rgb, depth, nir or thermal", get(tsv.modality)));
  }
  ListRecord r;
  r.line = at.line();
  r.label = label == "live" ? kLive : kAttack;
  std::string attack = get(tsv.attack_type);
  if (r.label == kLive && !attack.empty() && ascii_lower(attack) != "bona fide")
    at.fail(fmt::format("a live row has attack type '{}'", attack));
  if (r.label == kAttack) r.attack_type = attack.empty() ? "attack" : attack;
  r.subject = get(tsv.subject);
  const std::string& frame = get(tsv.frame);
  if (!frame.empty()) {
    if (!all_digits(frame) || frame.size() > 9) at.fail(fmt::format("frame '{}' is not a number >= 0", frame));
    r.frame = static_cast<int32_t>(std::stol(frame));
  } else if (has_image_extension(path)) {
    r.frame = frame_number_of(path);
  }
  r.path[static_cast<size_t>(m)] = path;
  r.video = get(tsv.video);
  return {std::move(r), m};
}

// Adds a tsv row to the records: a record of its own without a video, else joined to
// the record of its video and frame (one row of each modality, all of one capture).
void add_tsv_row(const LineContext& at, TsvRow row, TsvList& tsv, std::vector<ListRecord>& records) {
  ListRecord& r = row.record;
  const size_t m = static_cast<size_t>(row.modality);
  tsv.seen[m] = true;
  if (r.video.empty()) {
    r.video = r.path[m];  // without a video column each row is its own capture
    records.push_back(std::move(r));
    tsv.group_lines.resize(records.size() * kModalityCount, 0);
    return;
  }
  std::string key = r.video + '\x1f' + std::to_string(r.frame);
  auto [it, fresh] = tsv.groups.emplace(key, records.size());
  if (fresh) {
    records.push_back(std::move(r));
    tsv.group_lines.resize(records.size() * kModalityCount, 0);
    tsv.group_lines[(records.size() - 1) * kModalityCount + m] = at.line();
    return;
  }
  ListRecord& g = records[it->second];
  int& first = tsv.group_lines[it->second * kModalityCount + m];
  if (!g.path[m].empty())
    at.fail(fmt::format("video '{}' frame {} already has a {} row (line {})", g.video, g.frame,
                        modality_name(row.modality), first));
  if (g.label != r.label || g.attack_type != r.attack_type || g.subject != r.subject)
    at.fail(fmt::format("video '{}' frame {}: label, attack_type or subject differ from line {}", g.video, g.frame,
                        g.line));
  g.path[m] = r.path[m];
  first = at.line();
}

// A line of a tsv list that is neither blank nor a comment: the header, then the rows.
void read_tsv_line(const LineContext& at, const std::string& line, TsvList& tsv, std::vector<ListRecord>& records) {
  if (!tsv.header_seen) {
    tsv.columns = tsv_header(at, line);
    tsv.header_seen = true;
    return;
  }
  add_tsv_row(at, parse_tsv_row(at, tsv.columns, line), tsv, records);
}

}  // namespace

ParsedList read_list(std::istream& in, const std::string& list_name, ListFormat format, LabelPolarity polarity) {
  if (format == ListFormat::tsv && polarity != LabelPolarity::reader_default)
    throw UsageError("--label-polarity does not apply to tsv lists, whose labels are the words live and attack");
  ParsedList out;
  out.provided = format_modalities(format);
  TsvList tsv;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    LineContext at(list_name, number);
    if (format == ListFormat::tsv) read_tsv_line(at, line, tsv, out.records);
    else read_fixed_format_line(at, t, format, polarity, out.records);
  }
  if (in.bad()) throw InputError(list_name, "", "read error");
  if (format == ListFormat::tsv) {
    if (!tsv.header_seen) throw InputError(list_name, "", "empty tsv list: expected a header line and rows");
    for (int k = 0; k < kModalityCount; ++k)
      if (tsv.seen[static_cast<size_t>(k)]) out.provided.push_back(static_cast<Modality>(k));
  }
  out.lines = number;
  if (out.records.empty()) throw InputError(list_name, "", "the list has no records");
  return out;
}

}  // namespace cmclip::datasets
