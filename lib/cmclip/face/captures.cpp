#include "cmclip/face/captures.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip::face {

std::string join_modalities(const std::vector<Modality>& ms) {
  std::string out;
  for (Modality m : ms) out += (out.empty() ? "" : ",") + modality_name(m);
  return out;
}

namespace {

// ---------------------------------------------------------------- planning

class Planner {
 public:
  Planner(const CaptureSettings& s, const ParsedList& list, int64_t& missing_skipped)
      : s_(s), list_(list), missing_skipped_(missing_skipped) {}

  std::vector<Unit> plan() {
    std::vector<Unit> units;
    for (size_t i = 0; i < list_.records.size(); ++i) plan_record(static_cast<int32_t>(i), units);
    if (missing_skipped_ > kShown) log::warn("... {} more missing (not shown)", missing_skipped_ - kShown);
    return units;
  }

 private:
  static constexpr int64_t kShown = 10;

  std::string where(const ListRecord& r) const { return fmt::format("line {} of {}", r.line, s_.list_name); }
  std::string file(const std::string& rel) const { return join_path(s_.root, rel); }

  // A missing file: an error, or counted and logged under --skip-missing.
  bool missing(const ListRecord& r, const std::string& path, const std::string& what) {
    if (!s_.skip_missing) throw InputError(path, where(r), what + " (--skip-missing skips such captures)");
    if (++missing_skipped_ <= kShown) log::warn("{}: {}: {}; skipped", path, where(r), what);
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
                                       "(--skip-missing skips such captures)",
                                       modality_name(m), modality_name(m)));
        if (++missing_skipped_ <= kShown)
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
    u.kind = datasets::has_video_extension(primary_file) ? UnitKind::video : UnitKind::still;
    for (size_t m = 0; m < kModalityCount; ++m) {
      if (u.rel[m].empty()) continue;
      std::string f = file(u.rel[m]);
      if (!file_exists(f)) {
        missing(r, f, fmt::format("no such {} file", modality_name(static_cast<Modality>(m))));
        return;
      }
      if (is_directory(f))
        throw InputError(
            f, where(r),
            fmt::format("a folder, while the {} path is a file", modality_name(static_cast<Modality>(primary))));
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
        missing(r, dir,
                fmt::format("no {} folder of frames{}", modality_name(static_cast<Modality>(m)),
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
      int32_t number = datasets::frame_number_of(name);
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

  const CaptureSettings& s_;
  const ParsedList& list_;
  int64_t& missing_skipped_;
};

// ---------------------------------------------------------------- processing

// ---------------------------------------------------------------- processing

class Processor {
 public:
  Processor(const CaptureSettings& s, const ParsedList& list, const FaceFinder* detector)
      : s_(s), list_(list), detector_(detector) {}

  UnitResult run(const Unit& u) const {
    UnitResult out;
    try {
      switch (u.kind) {
        case UnitKind::still:
          run_still(u, out);
          break;
        case UnitKind::video:
          run_video(u, out);
          break;
        case UnitKind::container:
          run_container(u, out);
          break;
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
    return fmt::format("line {} of {}, frame {}", list_.records[static_cast<size_t>(u.record)].line, s_.list_name,
                       frame);
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
    std::string what =
        below ? fmt::format("no face reaches --min-score {} (best {:.4f})", s_.min_score, choice.face.score)
              : std::string("no face found");
    std::string path = file(u.rel[static_cast<size_t>(u.detect_from)]);
    if (s_.no_face == NoFace::fail)
      throw InputError(path, where(u, frame), what + " (--on-no-face skip or center handles such frames)");
    bool skip = s_.no_face == NoFace::skip;
    ++(skip ? out.skipped : out.centered);
    out.warnings.push_back(
        fmt::format("{}: {}: {}; {}", path, where(u, frame), what, skip ? "skipped" : "centre-cropped"));
    if (skip) return std::nullopt;
    plan.from = CropPlan::From::centre;
    return plan;
  }

  // Detection, crop and resize of one capture whose images are decoded.
  void finish(const Unit& u, int32_t frame, const Images& images, const std::array<std::string, kModalityCount>& source,
              UnitResult& out) const {
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

  const CaptureSettings& s_;
  const ParsedList& list_;
  const FaceFinder* detector_;
};

// OpenCV's own threads off while our pool runs (and restored after): the pool gives

}  // namespace

std::vector<Unit> plan_units(const CaptureSettings& s, const ParsedList& list, int64_t& missing_skipped) {
  return Planner(s, list, missing_skipped).plan();
}

UnitResult process_unit(const CaptureSettings& s, const ParsedList& list, const FaceFinder* detector, const Unit& u) {
  return Processor(s, list, detector).run(u);
}

}  // namespace cmclip::face
