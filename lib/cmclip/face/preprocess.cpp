#include "cmclip/face/preprocess.hpp"

#include <opencv2/core/utility.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/core/signals.hpp"
#include "cmclip/core/thread_pool.hpp"
#include "cmclip/data/contact_sheet.hpp"
#include "cmclip/face/crop.hpp"
#include "cmclip/face/detector.hpp"
#include "cmclip/face/mtcnn.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::face {

// ---------------------------------------------------------------- settings

namespace {

enum class NoFace { fail, skip, center };

struct Settings {
  ListFormat format = ListFormat::tsv;
  LabelPolarity polarity = LabelPolarity::reader_default;
  std::vector<Modality> stored;  // canonical order (rgb, depth, nir, thermal)
  bool strict_modalities = false;  // --modalities given: every capture has each one
  bool detect = true;
  NoFace no_face = NoFace::fail;
  CropSettings crop;
  float min_score = 0.9f;
  bool probabilities = false;  // the detector's scores can be compared with min_score
  int size = 224;
  int wanted = 0;
  DepthRule depth;
  std::string list_name, root;
  bool skip_missing = false;
};

std::string join_modalities(const std::vector<Modality>& ms) {
  std::string out;
  for (Modality m : ms) out += (out.empty() ? "" : ",") + modality_name(m);
  return out;
}

// ---------------------------------------------------------------- subjects

// Subject numbers: the dataset's own when every subject name is a number, otherwise
// numbers in order of first appearance with the names kept in /subject_names order.
struct SubjectTable {
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::string> names;  // non-empty when interned

  explicit SubjectTable(const std::vector<ListRecord>& records) {
    bool numeric = true;
    for (const auto& r : records)
      if (!r.subject.empty() &&
          (r.subject.size() > 9 || !std::all_of(r.subject.begin(), r.subject.end(), ::isdigit)))
        numeric = false;
    for (const auto& r : records) {
      if (r.subject.empty() || ids.count(r.subject)) continue;
      if (numeric) {
        ids[r.subject] = static_cast<int32_t>(std::stol(r.subject));
      } else {
        ids[r.subject] = static_cast<int32_t>(names.size());
        names.push_back(r.subject);
      }
    }
  }
  int32_t id(const std::string& name) const { return name.empty() ? -1 : ids.at(name); }
};

// ---------------------------------------------------------------- planning

enum class UnitKind { still, video, container };

// One piece of work: a still capture, a video, or a frame container.
struct Unit {
  UnitKind kind = UnitKind::still;
  int32_t record = 0;
  int32_t frame = -1;       // still: the frame number
  int8_t detect_from = -1;  // modality the face is found on (-1: no detection)
  std::vector<Modality> stored;                 // this capture's stored modalities
  std::array<std::string, kModalityCount> rel;  // relative path of each modality read
};

class Planner {
 public:
  Planner(const Settings& s, const ParsedList& list, PreprocessSummary& sum) : s_(s), list_(list), sum_(sum) {}

  std::vector<Unit> plan() {
    std::vector<Unit> units;
    for (size_t i = 0; i < list_.records.size(); ++i) plan_record(static_cast<int32_t>(i), units);
    if (sum_.missing_skipped > kShown)
      log::warn("... {} more missing (not shown)", sum_.missing_skipped - kShown);
    return units;
  }

 private:
  static constexpr int64_t kShown = 10;

  std::string where(const ListRecord& r) const { return fmt::format("line {} of {}", r.line, s_.list_name); }
  std::string file(const std::string& rel) const { return join_path(s_.root, rel); }

  // A missing file: an error, or counted and logged under --skip-missing.
  bool missing(const ListRecord& r, const std::string& path, const std::string& what) {
    if (!s_.skip_missing)
      throw InputError(path, where(r), what + " (--skip-missing skips such captures)");
    if (++sum_.missing_skipped <= kShown) log::warn("{}: {}: {}; skipped", path, where(r), what);
    return false;
  }

  void plan_record(int32_t index, std::vector<Unit>& units) {
    const ListRecord& r = list_.records[static_cast<size_t>(index)];
    Unit u;
    u.record = index;
    for (Modality m : s_.stored) {
      const std::string& p = r.path[static_cast<size_t>(m)];
      if (p.empty() && !s_.strict_modalities) continue;  // the default: the modalities it has
      if (p.empty()) {
        if (!s_.skip_missing)
          throw InputError(s_.list_name, fmt::format("line {}", r.line),
                           fmt::format("no {} path for this capture, and --modalities asks for {} "
                                       "(--skip-missing skips such captures)", modality_name(m), modality_name(m)));
        if (++sum_.missing_skipped <= kShown)
          log::warn("{}: line {}: no {} path; skipped", s_.list_name, r.line, modality_name(m));
        return;
      }
      u.rel[static_cast<size_t>(m)] = p;
      u.stored.push_back(m);
    }
    if (u.stored.empty()) return;  // nothing this run stores (the modalities are the list's)
    if (s_.detect) {
      for (Modality m : {Modality::rgb, Modality::nir})
        if (!r.path[static_cast<size_t>(m)].empty()) {
          u.detect_from = static_cast<int8_t>(m);
          break;
        }
      // Without --modalities, a capture of Depth or thermal alone is searched itself.
      if (u.detect_from < 0 && !s_.strict_modalities) u.detect_from = static_cast<int8_t>(u.stored.front());
      if (u.detect_from < 0)
        throw InputError(s_.list_name, fmt::format("line {}", r.line),
                         "no RGB or NIR frame to find the face on (use --detect none for face crops)");
      u.rel[static_cast<size_t>(u.detect_from)] = r.path[static_cast<size_t>(u.detect_from)];
    }
    // A video folder whose frames lie in it directly (OULU-NPU and other RGB-only
    // sets) rather than in a color sub-folder.
    std::string& rgb = u.rel[static_cast<size_t>(Modality::rgb)];
    if (!rgb.empty() && rgb == r.video + "/color" && !file_exists(file(rgb)) && is_directory(file(r.video)))
      rgb = r.video;
    int primary = u.detect_from >= 0 ? u.detect_from : static_cast<int>(u.stored.front());
    std::string primary_file = file(u.rel[static_cast<size_t>(primary)]);

    if (r.container) {
      u.kind = UnitKind::container;
      if (!file_exists(primary_file)) {
        missing(r, primary_file, "no such frame container");
        return;
      }
      units.push_back(u);
      return;
    }
    if (is_directory(primary_file)) {
      plan_folder(r, u, primary, units);
      return;
    }
    u.kind = has_video_extension(primary_file) ? UnitKind::video : UnitKind::still;
    for (size_t m = 0; m < kModalityCount; ++m) {
      if (u.rel[m].empty()) continue;
      std::string f = file(u.rel[m]);
      if (!file_exists(f)) {
        missing(r, f, fmt::format("no such {} file", modality_name(static_cast<Modality>(m))));
        return;
      }
      if (is_directory(f))
        throw InputError(f, where(r), fmt::format("a folder, while the {} path is a file", modality_name(static_cast<Modality>(primary))));
    }
    if (u.kind == UnitKind::still) u.frame = r.frame >= 0 ? r.frame : 0;
    units.push_back(u);
  }

  // A folder of frames: one still unit per selected frame, matched across modalities
  // by file name (or by stem when the extensions differ).
  void plan_folder(const ListRecord& r, const Unit& base, int primary, std::vector<Unit>& units) {
    std::array<std::map<std::string, std::string>, kModalityCount> by_stem;
    std::array<std::set<std::string>, kModalityCount> present;
    std::array<std::vector<std::string>, kModalityCount> names;
    for (size_t m = 0; m < kModalityCount; ++m) {
      if (base.rel[m].empty()) continue;
      std::string dir = file(base.rel[m]);
      if (!is_directory(dir)) {
        missing(r, dir, fmt::format("no {} folder of frames{}", modality_name(static_cast<Modality>(m)),
                                    m == 0 ? "" : "; an RGB-only dataset needs --modalities rgb"));
        return;
      }
      names[m] = list_frame_files(dir);
      present[m].insert(names[m].begin(), names[m].end());
      for (const auto& n : names[m]) by_stem[m].emplace(n.substr(0, n.find_last_of('.')), n);
    }
    const auto& frames = names[static_cast<size_t>(primary)];
    if (frames.empty()) {
      missing(r, file(base.rel[static_cast<size_t>(primary)]), "folder has no image files");
      return;
    }
    auto chosen = spread_frames(static_cast<int64_t>(frames.size()), s_.wanted);
    for (int64_t k : chosen) {
      const std::string& name = frames[static_cast<size_t>(k)];
      Unit u = base;
      u.kind = UnitKind::still;
      int32_t number = frame_number_of(name);
      u.frame = number >= 0 ? number : static_cast<int32_t>(k);
      bool ok = true;
      for (size_t m = 0; m < kModalityCount && ok; ++m) {
        if (base.rel[m].empty()) continue;
        std::string match;
        if (present[m].count(name)) {
          match = name;
        } else {
          auto it = by_stem[m].find(name.substr(0, name.find_last_of('.')));
          if (it != by_stem[m].end()) match = it->second;
        }
        if (match.empty()) {
          ok = missing(r, file(base.rel[m] + "/" + name),
                       fmt::format("no {} frame matching {}", modality_name(static_cast<Modality>(m)), name));
          break;
        }
        u.rel[m] = base.rel[m] + "/" + match;
      }
      if (ok) units.push_back(u);
    }
  }

  const Settings& s_;
  const ParsedList& list_;
  PreprocessSummary& sum_;
};

// ---------------------------------------------------------------- processing

struct CaptureOut {
  int32_t frame = 0;
  std::vector<Modality> stored;  // empty: skipped (no face)
  std::vector<uint8_t> pixels;   // stored modalities in order, size*size*3 each
  std::array<std::string, kModalityCount> source;
  std::array<CropGeometry, kModalityCount> geometry{};
};

struct UnitResult {
  std::vector<CaptureOut> captures;
  int64_t decoded = 0, found = 0, no_face = 0, below = 0, skipped = 0, centered = 0;
  std::vector<std::string> warnings;  // per capture without a usable face
};

class Processor {
 public:
  Processor(const Settings& s, const ParsedList& list, const FaceFinder* detector)
      : s_(s), list_(list), detector_(detector) {}

  UnitResult run(const Unit& u) const {
    UnitResult out;
    try {
      switch (u.kind) {
        case UnitKind::still: run_still(u, out); break;
        case UnitKind::video: run_video(u, out); break;
        case UnitKind::container: run_container(u, out); break;
      }
    } catch (const InputError& e) {
      // A file's own error (an undecodable frame, a damaged container) is told with the
      // list line that names the file.
      throw e.at(fmt::format("line {} of {}", list_.records[static_cast<size_t>(u.record)].line, s_.list_name));
    }
    return out;
  }

 private:
  using Images = std::array<cv::Mat, kModalityCount>;

  std::string where(const Unit& u, int32_t frame) const {
    return fmt::format("line {} of {}, frame {}", list_.records[static_cast<size_t>(u.record)].line, s_.list_name, frame);
  }
  std::string file(const std::string& rel) const { return join_path(s_.root, rel); }

  // The face of one capture, or the no-face policy's answer (nullopt: skip it).
  std::optional<CropPlan> plan(const Unit& u, int32_t frame, const Images& images, UnitResult& out) const {
    CropPlan plan;
    if (u.detect_from < 0) return plan;
    const cv::Mat& probe = images[static_cast<size_t>(u.detect_from)];
    plan.frame = probe.size();
    FaceChoice choice = choose_face(detector_->find(probe), s_.min_score, detector_->has_probabilities());
    if (choice.outcome == Outcome::found) {
      ++out.found;
      plan.from = CropPlan::From::face;
      plan.face = choice.face;
      return plan;
    }
    bool below = choice.outcome == Outcome::below_threshold;
    ++(below ? out.below : out.no_face);
    std::string what = below ? fmt::format("no face reaches --min-score {} (best {:.4f})", s_.min_score, choice.face.score)
                             : std::string("no face found");
    std::string path = file(u.rel[static_cast<size_t>(u.detect_from)]);
    if (s_.no_face == NoFace::fail)
      throw InputError(path, where(u, frame), what + " (--on-no-face skip or center handles such frames)");
    bool skip = s_.no_face == NoFace::skip;
    ++(skip ? out.skipped : out.centered);
    out.warnings.push_back(fmt::format("{}: {}: {}; {}", path, where(u, frame), what, skip ? "skipped" : "centre-cropped"));
    if (skip) return std::nullopt;
    plan.from = CropPlan::From::centre;
    return plan;
  }

  // Detection, crop and resize of one capture whose images are decoded.
  void finish(const Unit& u, int32_t frame, const Images& images,
              const std::array<std::string, kModalityCount>& source, UnitResult& out) const {
    ++out.decoded;
    CaptureOut c;
    c.frame = frame;
    c.source = source;
    c.stored = u.stored;
    std::optional<CropPlan> p = plan(u, frame, images, out);
    if (!p) {
      c.stored.clear();
      out.captures.push_back(std::move(c));
      return;
    }
    size_t bytes = size_t(s_.size) * s_.size * 3;
    c.pixels.resize(bytes * c.stored.size());
    for (size_t i = 0; i < c.stored.size(); ++i) {
      size_t m = static_cast<size_t>(c.stored[i]);
      c.geometry[m] = crop_frame(images[m], *p, s_.crop, c.pixels.data() + i * bytes);
    }
    out.captures.push_back(std::move(c));
  }

  void run_still(const Unit& u, UnitResult& out) const {
    Images images;
    std::array<std::string, kModalityCount> source;
    for (size_t m = 0; m < kModalityCount; ++m) {
      if (u.rel[m].empty()) continue;
      images[m] = read_frame(file(u.rel[m]), static_cast<Modality>(m), s_.depth);
      source[m] = u.rel[m];
    }
    finish(u, u.frame, images, source, out);
  }

  // Co-registered videos (one per modality) read in lockstep.
  void run_video(const Unit& u, UnitResult& out) const {
    const ListRecord& r = list_.records[static_cast<size_t>(u.record)];
    std::vector<std::pair<size_t, std::unique_ptr<VideoFrames>>> videos;
    int64_t count = -1;
    for (size_t m = 0; m < kModalityCount; ++m) {
      if (u.rel[m].empty()) continue;
      auto v = std::make_unique<VideoFrames>(file(u.rel[m]));
      int64_t n = v->count();
      if (count >= 0 && n != count)
        log::warn("{}: {} frames, while another modality's video has {}; using the shorter", v->path(), n, count);
      count = count < 0 ? n : std::min(count, n);
      videos.emplace_back(m, std::move(v));
    }
    // The container's frame count can be wrong; a short stream is re-read once with
    // the count it really has, so the choice stays deterministic.
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::vector<int64_t> chosen;
      if (r.frame >= 0) {
        if (r.frame >= count)
          throw InputError(videos.front().second->path(), where(u, r.frame),
                           fmt::format("the video has {} frames", count));
        chosen = {r.frame};
      } else {
        chosen = spread_frames(count, s_.wanted);
      }
      UnitResult partial;
      int64_t position = 0;  // frames consumed so far
      bool short_stream = false;
      for (int64_t want : chosen) {
        Images images;
        std::array<std::string, kModalityCount> source;
        for (auto& [m, v] : videos) {
          for (int64_t p = position; p < want && !short_stream; ++p)
            if (!v->next(nullptr)) short_stream = true;
          cv::Mat bgr;
          if (!short_stream && !v->next(&bgr)) short_stream = true;
          if (short_stream) break;
          images[m] = to_modality_image(bgr, static_cast<Modality>(m), s_.depth, v->path());
          source[m] = fmt::format("{}#{}", u.rel[m], want);
        }
        if (short_stream) break;
        position = want + 1;
        finish(u, static_cast<int32_t>(want), images, source, partial);
      }
      if (!short_stream) {
        out = std::move(partial);
        return;
      }
      // Count what the streams really hold, then choose again.
      int64_t real = INT64_MAX;
      for (auto& [m, v] : videos) {
        v->rewind();
        int64_t n = 0;
        while (v->next(nullptr)) ++n;
        real = std::min(real, n);
        v->rewind();
      }
      if (real == 0) throw InputError(videos.front().second->path(), where(u, 0), "the video has no decodable frames");
      log::warn("{}: the container says {} frames, the stream holds {}", videos.front().second->path(), count, real);
      count = real;
    }
    throw InputError(videos.front().second->path(), where(u, 0), "the number of decodable frames keeps changing");
  }

  void run_container(const Unit& u, UnitResult& out) const {
    const ListRecord& r = list_.records[static_cast<size_t>(u.record)];
    size_t first = 0;
    while (u.rel[first].empty()) ++first;
    std::string path = file(u.rel[first]);
    FrameContainer fc(path);
    std::vector<Modality> ms;
    for (size_t m = 0; m < kModalityCount; ++m)
      if (!u.rel[m].empty()) ms.push_back(static_cast<Modality>(m));
    for (Modality m : ms)
      if (!fc.provides(m))
        throw InputError(path, fmt::format("line {} of {}", r.line, s_.list_name),
                         fmt::format("layout {} has no {} channel", fc.layout(), modality_name(m)));
    const auto& ks = fc.frames();
    for (int64_t i : spread_frames(static_cast<int64_t>(ks.size()), s_.wanted)) {
      int k = ks[static_cast<size_t>(i)];
      auto read = fc.read(k, ms, s_.depth);
      Images images;
      std::array<std::string, kModalityCount> source;
      for (size_t j = 0; j < ms.size(); ++j) {
        size_t m = static_cast<size_t>(ms[j]);
        images[m] = std::move(read[j]);
        source[m] = fmt::format("{}#Frame_{}", u.rel[m], k);
      }
      finish(u, k, images, source, out);
    }
  }

  const Settings& s_;
  const ParsedList& list_;
  const FaceFinder* detector_;
};

// OpenCV's own threads off while our pool runs (and restored after): the pool gives
// the parallelism, and the cascade's candidate order stays deterministic.
struct OpenCvThreads {
  int saved = cv::getNumThreads();
  OpenCvThreads() { cv::setNumThreads(1); }
  ~OpenCvThreads() { cv::setNumThreads(saved); }
};

Settings settings_of(const PreprocessOptions& o, const ParsedList* list) {
  Settings s;
  s.format = parse_list_format(o.input.format);
  s.polarity = parse_label_polarity(o.input.label_polarity);
  s.detect = o.crop.detect != "none";
  if (o.crop.detect != "auto" && o.crop.detect != "mtcnn" && o.crop.detect != "haar" && o.crop.detect != "none")
    throw UsageError(fmt::format("--detect '{}': expected auto, mtcnn, haar or none", o.crop.detect));
  if (o.crop.crop != "auto" && o.crop.crop != "aligned" && o.crop.crop != "box")
    throw UsageError(fmt::format("--crop '{}': expected auto, aligned or box", o.crop.crop));
  if (o.crop.crop == "aligned" && (o.crop.detect == "haar" || o.crop.detect == "none"))
    throw UsageError(fmt::format("--crop aligned needs the landmarks of --detect mtcnn, not --detect {}", o.crop.detect));
  if (!(o.crop.min_score >= 0 && o.crop.min_score <= 1)) throw UsageError("--min-score: expected a number from 0 to 1");
  if (!(o.crop.align_margin >= 0 && o.crop.align_margin <= 2))
    throw UsageError("--align-margin: expected a number from 0 to 2");
  s.no_face = o.crop.on_no_face == "skip" ? NoFace::skip : o.crop.on_no_face == "center" ? NoFace::center : NoFace::fail;
  if (o.crop.on_no_face != "fail" && o.crop.on_no_face != "skip" && o.crop.on_no_face != "center")
    throw UsageError(fmt::format("--on-no-face '{}': expected fail, skip or center", o.crop.on_no_face));
  if (!(o.crop.margin >= 0 && o.crop.margin <= 2)) throw UsageError("--margin: expected a number from 0 to 2");
  if (o.crop.size < 8 || o.crop.size > 4096) throw UsageError("--size: expected 8 to 4096 pixels");
  s.crop.margin = o.crop.margin;
  s.crop.align_margin = o.crop.align_margin;
  s.crop.size = o.crop.size;
  s.min_score = static_cast<float>(o.crop.min_score);
  s.size = o.crop.size;
  s.wanted = o.frames.wanted();
  s.depth = DepthRule::parse(o.frames.depth_range);
  s.skip_missing = o.input.skip_missing;
  s.list_name = o.input.list;
  s.root = !o.input.root.empty() ? o.input.root : o.input.list == "-" ? "." : dirname_of(o.input.list);
  s.strict_modalities = !o.input.modalities.empty();
  if (list) {
    std::vector<Modality> wanted = o.input.modalities.empty() ? list->provided
                                                              : parse_modality_list(o.input.modalities, "--modalities");
    for (Modality m : wanted)
      if (std::find(list->provided.begin(), list->provided.end(), m) == list->provided.end())
        throw UsageError(fmt::format("--modalities asks for {}, but this {} list provides {}", modality_name(m),
                                     list_format_name(s.format), join_modalities(list->provided)));
    for (int k = 0; k < kModalityCount; ++k)
      if (std::find(wanted.begin(), wanted.end(), static_cast<Modality>(k)) != wanted.end())
        s.stored.push_back(static_cast<Modality>(k));
  }
  return s;
}

void log_summary(const PreprocessSummary& sum, const Settings& s, const std::string& output) {
  log::info("{} list records; {} captures stored, {} frames decoded", sum.list_records, sum.captures, sum.frames_decoded);
  if (s.detect)
    log::info("faces found {}; no face {}{} ({} skipped, {} centre-cropped)", sum.faces_found, sum.no_face,
              s.probabilities ? fmt::format("; below --min-score {}: {}", s.min_score, sum.below_threshold) : "",
              sum.no_face_skipped, sum.no_face_centered);
  if (sum.missing_skipped > 0) log::warn("{} captures or videos skipped for missing files", sum.missing_skipped);
  std::string per;
  for (Modality m : s.stored) {
    const auto& c = sum.per_modality_label[static_cast<size_t>(m)];
    per += fmt::format("{}{}: {} live, {} attack", per.empty() ? "" : "; ", modality_name(m), c[kLive], c[kAttack]);
  }
  log::info("samples per modality: {}", per);
  log::info("wrote {}: {} samples of {}x{} in {:.1f} s", output, sum.samples, s.size, s.size, sum.seconds);
}

// One work item's captures into the store, in list order; warnings for the captures
// without a usable face (the first kShownWarnings of the run).
struct StoreCursor {
  int64_t record = 0;  // the next capture's record number
  int64_t warned = 0;  // no-face warnings so far
};

void store_unit(const ListRecord& r, UnitResult&& res, const Settings& s, const SubjectTable& subjects,
                SampleWriter& writer, StoreCursor& at, PreprocessSummary& sum) {
  constexpr int64_t kShownWarnings = 20;
  for (const std::string& w : res.warnings) {
    if (at.warned < kShownWarnings) log::warn("{}", w);
    else if (at.warned == kShownWarnings) log::warn("... more captures without a usable face (counted in the summary)");
    ++at.warned;
  }
  sum.frames_decoded += res.decoded;
  sum.faces_found += res.found;
  sum.no_face += res.no_face;
  sum.below_threshold += res.below;
  sum.no_face_skipped += res.skipped;
  sum.no_face_centered += res.centered;
  size_t bytes = size_t(s.size) * s.size * 3;
  for (const CaptureOut& c : res.captures) {
    if (c.stored.empty()) continue;
    for (size_t k = 0; k < c.stored.size(); ++k) {
      size_t m = static_cast<size_t>(c.stored[k]);
      const CropGeometry& g = c.geometry[m];
      SampleMeta meta;
      meta.label = r.label;
      meta.attack = writer.attack_code(r.label == kLive ? "" : r.attack_type);
      meta.modality = c.stored[k];
      meta.subject = subjects.id(r.subject);
      meta.video = r.video;
      meta.frame = c.frame;
      meta.source = c.source[m];
      meta.bbox = g.bbox;
      meta.landmarks = g.landmarks;
      meta.crop_transform = g.transform;
      meta.detector_score = g.score;
      meta.record = at.record;
      writer.append(c.pixels.data() + k * bytes, meta);
      ++sum.per_modality_label[m][static_cast<size_t>(r.label)];
      ++sum.samples;
    }
    ++at.record;
    ++sum.captures;
  }
}

void write_attributes(SampleWriter& writer, const PreprocessOptions& opts, const Settings& s, const ParsedList& list,
                      const SubjectTable& subjects, const FaceFinder* detector, const PreprocessSummary& sum) {
  writer.set_attr("dataset", opts.store.dataset.empty() ? list_format_name(s.format) : opts.store.dataset);
  writer.set_attr("protocol", opts.store.protocol);
  writer.set_attr("split", opts.store.split);
  writer.set_attr("list_format", list_format_name(s.format));
  writer.set_attr("list", s.list_name);
  writer.set_attr("root", s.root);
  writer.set_attr("label_polarity", fmt::format("live={}", live_value(s.format, s.polarity)));
  std::vector<std::string> stored_names;
  for (Modality m : s.stored) stored_names.push_back(modality_name(m));
  writer.set_attr("modalities", stored_names);
  writer.set_attr("modalities_rule", std::string(s.strict_modalities ? "every capture has each (--modalities)"
                                                                     : "each capture stores those it has"));
  writer.set_attr("detect", std::string(detector ? detector->name() : "none"));
  writer.set_attr("crop", std::string(s.crop.kind == CropKind::aligned ? "aligned" : "box"));
  if (detector) {
    writer.set_attr("detector_model", detector->model());
    if (detector->name() == "haar") writer.set_attr("cascade", detector->model());
    if (detector->has_probabilities()) writer.set_attr("min_score", double(s.min_score));
    writer.set_attr("on_no_face", opts.crop.on_no_face);
  }
  if (s.crop.kind == CropKind::aligned) writer.set_attr("align_margin", s.crop.align_margin);
  else if (detector) writer.set_attr("margin", s.crop.margin);
  writer.set_attr("size", int64_t(s.size));
  writer.set_attr("frames", opts.frames.frames);
  writer.set_attr("depth16", s.depth.describe());
  writer.set_attr("resize", std::string(s.crop.kind == CropKind::aligned
                                            ? "cv::warpAffine bilinear (after cv::INTER_AREA by whole factors)"
                                            : "cv::INTER_AREA to shrink, cv::INTER_LINEAR to enlarge"));
  writer.set_attr("faces_found", sum.faces_found);
  writer.set_attr("no_face", sum.no_face);
  writer.set_attr("below_threshold", sum.below_threshold);
  writer.set_attr("skipped_no_face", sum.no_face_skipped);
  writer.set_attr("skipped_missing", sum.missing_skipped);
  if (!subjects.names.empty()) writer.set_attr("subject_names", subjects.names);
}

}  // namespace

// ---------------------------------------------------------------- run

PreprocessSummary run_preprocess(const PreprocessOptions& opts, const CommonOptions& common) {
  auto t0 = std::chrono::steady_clock::now();
  PreprocessSummary sum;
  settings_of(opts, nullptr);  // option errors before any reading
  check_output_path(opts.store.output);
  if (!opts.store.preview.empty()) check_output_path(opts.store.preview);

  ListFormat format = parse_list_format(opts.input.format);
  ParsedList list;
  if (opts.input.list == "-") {
    list = read_list(std::cin, "<stdin>", format, parse_label_polarity(opts.input.label_polarity));
  } else {
    check_input_file(opts.input.list);
    std::ifstream in(opts.input.list);
    list = read_list(in, opts.input.list, format, parse_label_polarity(opts.input.label_polarity));
  }
  Settings s = settings_of(opts, &list);
  if (opts.input.list == "-") s.list_name = "<stdin>";
  if (!is_directory(s.root)) throw InputError(s.root, "", "dataset root is not a folder (--root)");
  sum.list_records = static_cast<int64_t>(list.records.size());
  SubjectTable subjects(list.records);

  std::unique_ptr<FaceFinder> detector = s.detect ? make_detector(opts.crop) : nullptr;
  s.crop.kind = crop_kind(opts.crop, detector.get());
  s.probabilities = detector && detector->has_probabilities();

  std::vector<Unit> units = Planner(s, list, sum).plan();
  int threads = common.threads > 0 ? common.threads : default_threads();
  log::info("{}: {} records, {} work items, modalities {}{}, {} threads", s.list_name, list.records.size(),
            units.size(), join_modalities(s.stored), s.strict_modalities ? "" : " (each capture: those it has)",
            threads);

  SampleWriter writer(opts.store.output, s.size, s.size, 3);
  writer.with_face_geometry();
  Processor processor(s, list, detector.get());
  OpenCvThreads opencv_threads;
  signals::StopScope stop_scope;  // a signal ends the run cleanly: partial output is removed
  ThreadPool pool(threads);
  Progress progress("preprocess", static_cast<int64_t>(units.size()), "items");
  StoreCursor cursor;
  ordered_map(
      pool, static_cast<int64_t>(units.size()), 4 * pool.size(),
      [&](int64_t i) { return processor.run(units[static_cast<size_t>(i)]); },
      [&](int64_t i, UnitResult&& res) {
        signals::throw_if_stop_requested();
        const Unit& u = units[static_cast<size_t>(i)];
        store_unit(list.records[static_cast<size_t>(u.record)], std::move(res), s, subjects, writer, cursor, sum);
        progress.advance();
      });
  progress.finish();
  if (sum.samples == 0) throw InputError(s.list_name, "", "nothing to store: every capture was skipped");
  write_attributes(writer, opts, s, list, subjects, detector.get(), sum);
  // Both outputs complete before either is renamed into place.
  writer.finish();
  std::unique_ptr<AtomicOutput> preview;
  if (!opts.store.preview.empty()) {
    preview = std::make_unique<AtomicOutput>(opts.store.preview);
    data::write_contact_sheet(SampleStore(writer.temp_path()), *preview);
  }
  writer.commit();
  if (preview) preview->commit();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log_summary(sum, s, opts.store.output);
  if (preview) log::info("wrote {}", opts.store.preview);
  return sum;
}

}  // namespace cmclip::face
