#include "cmclip/face/list_reader.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/face/list_formats.hpp"

namespace cmclip::face {

using namespace list_formats;

// ---------------------------------------------------------------------------

const std::vector<std::string>& list_format_names() {
  static const std::vector<std::string> names{"casia-surf", "casia-fas", "cefa", "wmca", "tsv"};
  return names;
}

ListFormat parse_list_format(const std::string& name) {
  const auto& names = list_format_names();
  auto it = std::find(names.begin(), names.end(), lower(name));
  if (it == names.end())
    throw UsageError(fmt::format("unknown list format '{}' (expected casia-surf, casia-fas, cefa, wmca or tsv)", name));
  return static_cast<ListFormat>(it - names.begin());
}

const std::string& list_format_name(ListFormat f) { return list_format_names().at(static_cast<size_t>(f)); }

LabelPolarity parse_label_polarity(const std::string& text) {
  std::string t = lower(trim(text));
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
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string name = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    Modality m;
    if (!modality_token(name, m) || lower(name) == "profile")
      throw UsageError(fmt::format("{} '{}': '{}' is not rgb, depth, nir or thermal", option, text, name));
    if (std::find(out.begin(), out.end(), m) != out.end())
      throw UsageError(fmt::format("{} '{}': {} is named twice", option, text, modality_name(m)));
    out.push_back(m);
    if (comma == std::string::npos) break;
    start = comma + 1;
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
  std::string p = lower(path);
  for (const char* e : {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"})
    if (ends_with(p, e)) return true;
  return false;
}

bool has_video_extension(const std::string& path) {
  std::string p = lower(path);
  for (const char* e : {".avi", ".mp4", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv"})
    if (ends_with(p, e)) return true;
  return false;
}

ParsedList read_list(std::istream& in, const std::string& list_name, ListFormat format, LabelPolarity polarity) {
  if (format == ListFormat::tsv && polarity != LabelPolarity::reader_default)
    throw UsageError("--label-polarity does not apply to tsv lists, whose labels are the words live and attack");
  ParsedList out;
  switch (format) {
    case ListFormat::wmca: out.provided = {Modality::rgb, Modality::depth, Modality::nir, Modality::thermal}; break;
    case ListFormat::tsv: break;  // the modalities the rows name
    default: out.provided = {Modality::rgb, Modality::depth, Modality::nir};
  }
  TsvColumns tsv;
  bool header_seen = false;
  std::unordered_map<std::string, size_t> groups;  // tsv: video + frame -> record
  std::vector<int> group_lines;                    // tsv: line of each modality's row
  std::array<bool, kModalityCount> seen{};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    LineContext at(list_name, number);
    if (format != ListFormat::tsv) {
      auto fields = split_fields(t);
      switch (format) {
        case ListFormat::casia_surf: out.records.push_back(read_casia_surf(at, fields, polarity)); break;
        case ListFormat::casia_fas: out.records.push_back(read_casia_fas(at, fields, polarity)); break;
        case ListFormat::cefa: out.records.push_back(read_cefa(at, fields, polarity)); break;
        case ListFormat::wmca: out.records.push_back(read_wmca(at, fields, polarity)); break;
        default: break;
      }
      continue;
    }
    if (!header_seen) {
      tsv = tsv_header(at, line);
      header_seen = true;
      continue;
    }
    auto f = split_tabs(line);
    if (f.size() != tsv.count)
      at.fail(fmt::format("expected {} tab-separated fields as in the header, found {}", tsv.count, f.size()));
    for (auto& x : f) x = trim(x);
    auto get = [&](int col) -> const std::string& {
      static const std::string none;
      return col < 0 ? none : f[static_cast<size_t>(col)];
    };
    const std::string& path = get(tsv.path);
    if (path.empty()) at.fail("empty path");
    std::string label = lower(get(tsv.label));
    if (label != "live" && label != "attack")
      at.fail(fmt::format("label '{}' is neither 'live' nor 'attack'", get(tsv.label)));
    Modality m;
    try {
      m = parse_modality(get(tsv.modality));
    } catch (const InputError&) {
      at.fail(fmt::format("modality '{}' is not rgb, depth, nir or thermal", get(tsv.modality)));
    }
    ListRecord r;
    r.line = number;
    r.label = label == "live" ? kLive : kAttack;
    std::string attack = get(tsv.attack_type);
    if (r.label == kLive && !attack.empty() && lower(attack) != "bona fide")
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
    seen[static_cast<size_t>(m)] = true;
    r.video = get(tsv.video);
    if (r.video.empty()) {
      r.video = path;  // without a video column each row is its own capture
      out.records.push_back(std::move(r));
      group_lines.resize(out.records.size() * kModalityCount, 0);
      continue;
    }
    std::string key = r.video + '\x1f' + std::to_string(r.frame);
    auto [it, fresh] = groups.emplace(key, out.records.size());
    if (fresh) {
      out.records.push_back(std::move(r));
      group_lines.resize(out.records.size() * kModalityCount, 0);
      group_lines[(out.records.size() - 1) * kModalityCount + static_cast<size_t>(m)] = number;
      continue;
    }
    ListRecord& g = out.records[it->second];
    int& first = group_lines[it->second * kModalityCount + static_cast<size_t>(m)];
    if (!g.path[static_cast<size_t>(m)].empty())
      at.fail(fmt::format("video '{}' frame {} already has a {} row (line {})", g.video, g.frame,
                          modality_name(m), first));
    if (g.label != r.label || g.attack_type != r.attack_type || g.subject != r.subject)
      at.fail(fmt::format("video '{}' frame {}: label, attack_type or subject differ from line {}", g.video,
                          g.frame, g.line));
    g.path[static_cast<size_t>(m)] = path;
    first = number;
  }
  if (in.bad()) throw InputError(list_name, "", "read error");
  if (format == ListFormat::tsv) {
    if (!header_seen) throw InputError(list_name, "", "empty tsv list: expected a header line and rows");
    for (int k = 0; k < kModalityCount; ++k)
      if (seen[static_cast<size_t>(k)]) out.provided.push_back(static_cast<Modality>(k));
  }
  out.lines = number;
  if (out.records.empty()) throw InputError(list_name, "", "the list has no records");
  return out;
}

}  // namespace cmclip::face
