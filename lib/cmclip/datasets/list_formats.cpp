// The dataset list formats of fas-preprocess --format (casia-surf, casia-fas, cefa,
// wmca, and the tsv header), and what their paths tell about a capture. The generic
// part (format names, polarity, read_list) is datasets/list_reader.cpp.
#include "cmclip/datasets/list_formats.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip::datasets::list_formats {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out = split(path, '/');
  out.erase(std::remove(out.begin(), out.end(), std::string()), out.end());  // "a//b", "/a" and "a/"
  return out;
}

std::string stem_of(const std::string& name) {
  size_t dot = name.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

// Modality tokens in paths (lower case).
bool modality_token(const std::string& token, Modality& m) {
  std::string t = ascii_lower(token);
  if (t == "color" || t == "colour" || t == "rgb" || t == "profile") m = Modality::rgb;
  else if (t == "depth") m = Modality::depth;
  else if (t == "ir" || t == "nir" || t == "infrared") m = Modality::nir;
  else if (t == "thermal") m = Modality::thermal;
  else return false;
  return true;
}

namespace {
// "007" -> "7": subject numbers written without leading zeros.
std::string strip_zeros(const std::string& digits) {
  size_t p = digits.find_first_not_of('0');
  return p == std::string::npos ? "0" : digits.substr(p);
}

std::string join(const std::vector<std::string>& parts, size_t begin, size_t end, bool absolute) {
  std::string out = absolute ? "/" : "";
  for (size_t i = begin; i < end && i < parts.size(); ++i) out += (i == begin ? "" : "/") + parts[i];
  return out;
}

std::string dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The path of modality `target` next to `path`, whose component `comp` (or file-stem
// suffix when comp < 0) names another modality: the name is swapped for `token`.
std::string swap_modality(const std::string& path, int comp, const std::string& token) {
  auto parts = components(path);
  bool absolute = !path.empty() && path[0] == '/';
  if (comp >= 0) {
    parts[static_cast<size_t>(comp)] = token;
    return join(parts, 0, parts.size(), absolute);
  }
  // file-stem suffix: "000000-color.jpg" -> "000000-depth.jpg"
  std::string& name = parts.back();
  std::string stem = stem_of(name);
  std::string ext = name.substr(stem.size());
  size_t cut = stem.find_last_of("-_.");
  name = stem.substr(0, cut + 1) + token + ext;
  return join(parts, 0, parts.size(), absolute);
}

// The folder that holds one capture's modality folders: the path above the modality
// component ("x.rssdk/color/1.jpg" -> "x.rssdk"), else the file's folder.
std::string capture_folder(const std::string& path, int comp, bool is_frame) {
  auto parts = components(path);
  bool absolute = !path.empty() && path[0] == '/';
  std::string folder = comp >= 0  ? join(parts, 0, static_cast<size_t>(comp), absolute)
                       : is_frame ? dirname(path)
                                  : path;
  // A modality folder at the top of the list's root ("color/0001.jpg"): the root is
  // the capture. A video id is never empty (K-shot sampling and aggregation group by it).
  if (folder.empty()) folder = absolute ? "/" : ".";
  return folder;
}

// What a path tells about its capture: real_part/fake_part folders (CASIA-SURF),
// Race_ID_Device_Session_PAI folder names (CeFA), Phone_Session_User_File folder
// names (OULU-NPU, as re-packaged by CASIA-FAS-Dataset).
struct PathFacts {
  int live = -1;         // 1 bona fide, 0 attack, -1 unknown
  std::string evidence;  // what said so, for messages
  std::string subject;
  std::string attack_type;  // for attacks
};

// A folder name made of exactly `count` groups of digits separated by '_'
// ("1_120_3_1_4"); their values in v and their lengths in len.
bool digit_groups(const std::string& name, int count, int* v, size_t* len) {
  int n = 0;
  size_t start = 0;
  for (;;) {
    size_t us = name.find('_', start);
    std::string part = name.substr(start, us == std::string::npos ? std::string::npos : us - start);
    if (!all_digits(part) || part.size() > 6 || n == count) return false;
    v[n] = std::stoi(part);
    len[n++] = part.size();
    if (us == std::string::npos) break;
    start = us + 1;
  }
  return n == count;
}

PathFacts facts_of(const std::string& path) {
  PathFacts f;
  auto parts = components(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string p = ascii_lower(parts[i]);
    if ((p == "real_part" || p == "fake_part") && f.live < 0) {
      f.live = p == "real_part" ? 1 : 0;
      f.evidence = fmt::format("its folder '{}'", parts[i]);
      if (i + 1 < parts.size() && !ends_with(ascii_lower(parts[i + 1]), ".rssdk")) f.subject = parts[i + 1];
      f.attack_type = "print";  // CASIA-SURF's attacks are printed photos with cut-out regions
      for (size_t k = i + 1; k < parts.size(); ++k)
        if (ends_with(ascii_lower(parts[k]), ".rssdk") && f.live == 0) f.attack_type = "print:" + stem_of(parts[k]);
    }
    int v[5];
    size_t len[5];
    if (digit_groups(parts[i], 5, v, len) && f.live < 0) {
      // CeFA: Race_ID_Device_Session_PAI. IDs repeat across the three ethnicities, so
      // the subject number is Race * 1000 + ID.
      f.subject = std::to_string(v[0] * 1000 + v[1]);
      f.live = v[4] == 1 ? 1 : 0;
      f.evidence = fmt::format("the PAI code {} of its folder '{}'", v[4], parts[i]);
      switch (v[4]) {
        case 2:
          f.attack_type = "cloth";
          break;
        case 3:
          f.attack_type = "photo";
          break;
        case 4:
          f.attack_type = "screen";
          break;
        default:
          f.attack_type = fmt::format("pai {}", v[4]);
      }
    } else if (digit_groups(parts[i], 4, v, len) && f.live < 0 && len[0] == 1 && len[1] == 1 && len[2] == 2 &&
               len[3] == 1 && v[3] >= 1 && v[3] <= 5) {
      // OULU-NPU: Phone_Session_User_File; file 1 real, 2-3 print, 4-5 replay.
      f.subject = std::to_string(v[2]);
      f.live = v[3] == 1 ? 1 : 0;
      f.evidence = fmt::format("the file type {} of its folder '{}' (OULU-NPU)", v[3], parts[i]);
      f.attack_type = v[3] <= 3 ? "print" : "replay";
    }
  }
  return f;
}

int8_t parse_numeric_label(const LineContext& at, const std::string& field, int live) {
  if (field != "0" && field != "1") at.fail(fmt::format("label '{}' is not 0 or 1", field));
  return (field == (live == 1 ? "1" : "0")) ? kLive : kAttack;
}

std::string polarity_text(ListFormat f, LabelPolarity p) {
  int live = live_value(f, p);
  return fmt::format("live={}{}", live,
                     p == LabelPolarity::reader_default ? fmt::format(", {}'s convention", list_format_name(f))
                                                        : " from --label-polarity");
}

// Label from the list checked against what the path says.
void check_label(const LineContext& at, ListFormat f, LabelPolarity p, int8_t label, const std::string& field,
                 const PathFacts& facts) {
  if (facts.live < 0 || facts.live == label) return;
  at.fail(fmt::format("label '{}' means {} under {}, but {} says {}; check --label-polarity", field,
                      label == kLive ? "live" : "attack", polarity_text(f, p), facts.evidence,
                      facts.live == 1 ? "bona fide" : "attack"));
}

// The label of a line whose label column (f[1]) is optional: the column, checked
// against the path, else what the path says; `no_label` says why neither is there.
void label_from_column_or_path(ListRecord& r, const LineContext& at, ListFormat format, LabelPolarity pol,
                               const std::vector<std::string>& f, const PathFacts& facts, const std::string& no_label) {
  if (f.size() == 2) {
    r.label = parse_numeric_label(at, f[1], live_value(format, pol));
    check_label(at, format, pol, r.label, f[1], facts);
  } else if (facts.live >= 0) {
    r.label = static_cast<int8_t>(facts.live);
  } else {
    at.fail(no_label);
  }
}

void apply_facts(ListRecord& r, const PathFacts& facts, const std::string& default_attack) {
  r.subject = facts.subject;
  if (r.label == kAttack) r.attack_type = facts.attack_type.empty() ? default_attack : facts.attack_type;
}

// Fills the modality paths of `path`: a frame or a folder, possibly naming one
// modality through a component (`tokens`: the folder names of rgb, depth and nir).
void fill_modalities(ListRecord& r, const std::string& path, const std::array<std::string, 3>& tokens,
                     bool require_component, const LineContext& at) {
  Modality m;
  int comp;
  bool frame = has_image_extension(path) || has_video_extension(path);
  if (modality_of_path(path, m, comp) && m != Modality::thermal) {
    r.path[static_cast<size_t>(m)] = path;
    for (int k = 0; k < 3; ++k)
      if (k != static_cast<int>(m)) r.path[static_cast<size_t>(k)] = swap_modality(path, comp, tokens[k]);
    r.video = capture_folder(path, comp, frame);
  } else if (require_component && frame) {
    at.fail(fmt::format("frame path '{}' has no '{}' folder to derive the {} and {} paths from", path, tokens[0],
                        tokens[1], tokens[2]));
  } else if (frame) {
    r.path[0] = path;  // a frame outside any modality folder: RGB only
    r.video = dirname(path);
  } else {
    std::string base = path;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    for (int k = 0; k < 3; ++k) r.path[static_cast<size_t>(k)] = base + "/" + tokens[k];
    r.video = base;
  }
  r.frame = frame && has_image_extension(path) ? frame_number_of(path) : -1;
}

}  // namespace

// ---- casia-surf: "rgb depth ir label", 1 = live, modality from the file name ----
ListRecord read_casia_surf(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol) {
  if (f.size() == 3)
    at.fail("no label (3 fields): unlabelled lists such as val_public_list.txt cannot make a sample store");
  if (f.size() != 4) at.fail(fmt::format("expected 4 space-separated fields 'rgb depth ir label', found {}", f.size()));
  ListRecord r;
  r.line = at.line();
  for (int i = 0; i < 3; ++i) {
    Modality m;
    int comp;
    if (!modality_of_path(f[i], m, comp) || m == Modality::thermal)
      at.fail(
          fmt::format("cannot tell the modality of '{}' (field {}): expected color, depth or ir "
                      "as a folder or file-name suffix",
                      f[i], i + 1));
    auto& slot = r.path[static_cast<size_t>(m)];
    if (!slot.empty()) at.fail(fmt::format("two {} paths ('{}' and '{}')", modality_name(m), slot, f[i]));
    slot = f[i];
  }
  r.label = parse_numeric_label(at, f[3], live_value(ListFormat::casia_surf, pol));
  const std::string& rgb = r.path[0];
  Modality m;
  int comp;
  modality_of_path(rgb, m, comp);
  r.video = capture_folder(rgb, comp, true);
  r.frame = frame_number_of(rgb);
  PathFacts facts = facts_of(rgb);
  check_label(at, ListFormat::casia_surf, pol, r.label, f[3], facts);
  apply_facts(r, facts, "print");
  return r;
}

// ---- casia-fas: "<relative path> <label>", 0 = live ----
ListRecord read_casia_fas(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol) {
  if (f.size() == 1) at.fail("no label: expected '<path> <label>'");
  if (f.size() != 2) at.fail(fmt::format("expected 2 space-separated fields '<path> <label>', found {}", f.size()));
  ListRecord r;
  r.line = at.line();
  r.label = parse_numeric_label(at, f[1], live_value(ListFormat::casia_fas, pol));
  fill_modalities(r, f[0], {"color", "depth", "ir"}, false, at);
  PathFacts facts = facts_of(f[0]);
  check_label(at, ListFormat::casia_fas, pol, r.label, f[1], facts);
  apply_facts(r, facts, "attack");
  return r;
}

// ---- cefa (challenge lists): "<frame or video path> [label]", profile -> depth/ir ----
ListRecord read_cefa(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol) {
  if (f.empty() || f.size() > 2)
    at.fail(fmt::format("expected '<frame or video path> [label]', found {} fields", f.size()));
  ListRecord r;
  r.line = at.line();
  bool frame = has_image_extension(f[0]);
  if (frame) {
    Modality m;
    int comp;
    auto parts = components(f[0]);
    if (!modality_of_path(f[0], m, comp) || comp < 0 || ascii_lower(parts[static_cast<size_t>(comp)]) != "profile")
      at.fail(
          fmt::format("frame path '{}' has no 'profile' folder (CeFA challenge layout; for the "
                      "re-packaged color/depth/ir layout use --format casia-fas)",
                      f[0]));
    fill_modalities(r, f[0], {"profile", "depth", "ir"}, true, at);
  } else {
    fill_modalities(r, f[0], {"profile", "depth", "ir"}, false, at);
  }
  PathFacts facts = facts_of(f[0]);
  label_from_column_or_path(r, at, ListFormat::cefa, pol, f, facts,
                            "no label, and the path has no Race_ID_Device_Session_PAI folder to take it from");
  apply_facts(r, facts, "attack");
  return r;
}

// ---- wmca: "<file.hdf5> [label]"; label and attack from <client>_<session>_<presenter>_<type>_<pai> ----
ListRecord read_wmca(const LineContext& at, const std::vector<std::string>& f, LabelPolarity pol) {
  if (f.empty() || f.size() > 2) at.fail(fmt::format("expected '<file.hdf5> [label]', found {} fields", f.size()));
  const std::string& path = f[0];
  std::string low = ascii_lower(path);
  if (!ends_with(low, ".hdf5") && !ends_with(low, ".h5"))
    at.fail(fmt::format("'{}' is not an HDF5 frame container (.hdf5 or .h5)", path));
  ListRecord r;
  r.line = at.line();
  r.container = true;
  for (auto& p : r.path) p = path;
  r.video = path;
  PathFacts facts;
  std::string stem = stem_of(components(path).back());
  std::vector<std::string> parts = split(stem, '_');
  // The type field is a single digit in the dataset; a run of more than 6 digits is not
  // this naming (and would overflow std::stoi), as in digit_groups.
  if (parts.size() == 5 && parts[3].size() <= 6 && std::all_of(parts.begin(), parts.end(), all_digits)) {
    int type = std::stoi(parts[3]);
    facts.subject = strip_zeros(parts[0]);
    facts.live = type == 0 ? 1 : 0;
    facts.evidence = fmt::format("the type field {} of its name '{}'", type, stem);
    static const char* names[] = {"bona fide", "disguise", "fake face", "print", "replay"};
    facts.attack_type = type < 5 ? fmt::format("{} (type {})", names[type], type) : fmt::format("type {}", type);
  }
  label_from_column_or_path(
      r, at, ListFormat::wmca, pol, f, facts,
      fmt::format("no label, and the name '{}' is not <client>_<session>_<presenter>_<type>_<pai>", stem));
  apply_facts(r, facts, "attack");
  return r;
}

// ---- tsv: header + rows; rows of one video and frame form one capture ----
TsvColumns tsv_header(const LineContext& at, const std::string& line) {
  TsvColumns c;
  auto names = split(line, '\t');
  c.count = names.size();
  std::vector<std::string> unknown;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string n = ascii_lower(trim(names[i]));
    int* slot = n == "path"          ? &c.path
                : n == "label"       ? &c.label
                : n == "modality"    ? &c.modality
                : n == "attack_type" ? &c.attack_type
                : n == "subject"     ? &c.subject
                : n == "video"       ? &c.video
                : n == "frame"       ? &c.frame
                                     : nullptr;
    if (!slot) {
      unknown.push_back(names[i]);
      continue;
    }
    if (*slot >= 0) at.fail(fmt::format("header names column '{}' twice", n));
    *slot = static_cast<int>(i);
  }
  for (auto [col, name] : {std::pair{c.path, "path"}, {c.label, "label"}, {c.modality, "modality"}})
    if (col < 0)
      at.fail(
          fmt::format("header lacks the '{}' column (expected tab-separated names: path, label, "
                      "modality, and optionally attack_type, subject, video, frame)",
                      name));
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "'" : ", '") + u + "'";
    log::warn("{}: line {}: ignoring unknown column(s) {}", at.list(), at.line(), list);
  }
  return c;
}

}  // namespace cmclip::datasets::list_formats
