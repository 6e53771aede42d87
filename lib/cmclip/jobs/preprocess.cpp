#include "cmclip/jobs/preprocess.hpp"

#include <opencv2/core/utility.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/core/signals.hpp"
#include "cmclip/core/strings.hpp"
#include "cmclip/core/thread_pool.hpp"
#include "cmclip/data/contact_sheet.hpp"
#include "cmclip/face/captures.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::jobs {

// The job wires face/'s pieces (the list, the captures, the detector) to the store.
using namespace face;

void StoreOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Output");
  g->add_option("-o,--output", output, "Sample store to write (HDF5)")->required();
  g->add_option("--dataset", dataset, "Dataset name stored in the file (default: the list format)");
  g->add_option("--protocol", protocol, "Protocol name stored in the file (e.g. p1, 4@1)");
  g->add_option("--split", split, "Split name stored in the file (train, dev, test, ...)");
  g->add_option("--preview", preview,
                "Also write a PNG contact sheet of some stored samples (modalities side by side)");
}

void PreprocessOptions::register_on(CLI::App& app) {
  input.register_on(app);
  frames.register_on(app);
  crop.register_on(app);
  store.register_on(app);
}

void PreprocessOptions::validate() const {
  input.validate();
  crop.validate();
  frames.validate();
}

namespace {

// ---------------------------------------------------------------- subjects

// Subject numbers: the dataset's own when every subject name is a number, otherwise
// numbers in order of first appearance with the names kept in /subject_names order.
struct SubjectTable {
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::string> names;  // non-empty when interned

  explicit SubjectTable(const std::vector<ListRecord>& records) {
    bool numeric = true;
    for (const auto& r : records)
      if (!r.subject.empty() && (r.subject.size() > 9 || !all_digits(r.subject))) numeric = false;
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

// the parallelism, and the cascade's candidate order stays deterministic.
struct OpenCvThreads {
  int saved = cv::getNumThreads();
  OpenCvThreads() { cv::setNumThreads(1); }
  ~OpenCvThreads() { cv::setNumThreads(saved); }
};

// The run's settings from valid options (PreprocessOptions::validate) and the list read.
face::CaptureSettings settings_of(const PreprocessOptions& o, const ParsedList& list) {
  face::CaptureSettings s;
  s.format = datasets::parse_list_format(o.input.format);
  s.polarity = datasets::parse_label_polarity(o.input.label_polarity);
  s.detect = o.crop.detect != "none";
  s.no_face = no_face_names().parse(o.crop.on_no_face, "--on-no-face");
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
  std::vector<Modality> wanted =
      o.input.modalities.empty() ? list.provided : datasets::parse_modality_list(o.input.modalities, "--modalities");
  for (Modality m : wanted)
    if (std::find(list.provided.begin(), list.provided.end(), m) == list.provided.end())
      throw UsageError(fmt::format("--modalities asks for {}, but this {} list provides {}", modality_name(m),
                                   datasets::list_format_name(s.format), join_modalities(list.provided)));
  for (int k = 0; k < kModalityCount; ++k)
    if (std::find(wanted.begin(), wanted.end(), static_cast<Modality>(k)) != wanted.end())
      s.stored.push_back(static_cast<Modality>(k));
  return s;
}

void log_summary(const PreprocessSummary& sum, const face::CaptureSettings& s, const std::string& output) {
  log::info("{} list records; {} captures stored, {} frames decoded", sum.list_records, sum.captures,
            sum.frames_decoded);
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

// Where the captures go: the sample store (-o) and its contact sheet (--preview). Both
// paths were checked before the list was read (run_preprocess); both outputs are written
// in full before either is renamed into place, so a failure or a signal leaves neither.
class PreprocessSink {
 public:
  PreprocessSink(const StoreOptions& o, const face::CaptureSettings& s, const SubjectTable& subjects)
      : o_(o), s_(s), subjects_(subjects), writer_(o.output, s.size, s.size, 3) {
    writer_.with_face_geometry();
  }

  // One work item's captures, in list order; warnings for the captures without a
  // usable face (the first kShownWarnings of the run).
  void add(const ListRecord& r, UnitResult&& res, PreprocessSummary& sum) {
    constexpr int64_t kShownWarnings = 20;
    for (const std::string& w : res.warnings) {
      if (warned_ < kShownWarnings) log::warn("{}", w);
      else if (warned_ == kShownWarnings) log::warn("... more captures without a usable face (counted in the summary)");
      ++warned_;
    }
    sum.frames_decoded += res.decoded;
    sum.faces_found += res.found;
    sum.no_face += res.no_face;
    sum.below_threshold += res.below;
    sum.no_face_skipped += res.skipped;
    sum.no_face_centered += res.centered;
    size_t bytes = size_t(s_.size) * s_.size * 3;
    for (const CaptureOut& c : res.captures) {
      if (c.stored.empty()) continue;
      for (size_t k = 0; k < c.stored.size(); ++k) {
        size_t m = static_cast<size_t>(c.stored[k]);
        const CropGeometry& g = c.geometry[m];
        SampleMeta meta;
        meta.label = r.label;
        meta.attack = writer_.attack_code(r.label == kLive ? "" : r.attack_type);
        meta.modality = c.stored[k];
        meta.subject = subjects_.id(r.subject);
        meta.video = r.video;
        meta.frame = c.frame;
        meta.source = c.source[m];
        meta.bbox = g.bbox;
        meta.landmarks = g.landmarks;
        meta.crop_transform = g.transform;
        meta.detector_score = g.score;
        meta.record = record_;
        writer_.append(c.pixels.data() + k * bytes, meta);
        ++sum.per_modality_label[m][static_cast<size_t>(r.label)];
        ++sum.samples;
      }
      ++record_;
      ++sum.captures;
    }
  }

  // The store's attributes, the store closed and the sheet drawn; nothing renamed yet.
  void finish(const PreprocessOptions& opts, const FaceFinder* detector, const PreprocessSummary& sum) {
    write_attributes(opts, detector, sum);
    writer_.finish();
    if (o_.preview.empty()) return;
    preview_ = std::make_unique<AtomicOutput>(o_.preview);
    data::write_contact_sheet(SampleStore(writer_.temp_path()), *preview_);
  }

  void commit() {
    writer_.commit();
    if (preview_) preview_->commit();
  }

  void log_written() const {
    if (preview_) log::info("wrote {}", o_.preview);
  }

 private:
  void write_attributes(const PreprocessOptions& opts, const FaceFinder* detector, const PreprocessSummary& sum) {
    const face::CaptureSettings& s = s_;
    writer_.set_attr("dataset", opts.store.dataset.empty() ? datasets::list_format_name(s.format) : opts.store.dataset);
    writer_.set_attr("protocol", opts.store.protocol);
    writer_.set_attr("split", opts.store.split);
    writer_.set_attr("list_format", datasets::list_format_name(s.format));
    writer_.set_attr("list", s.list_name);
    writer_.set_attr("root", s.root);
    writer_.set_attr("label_polarity", fmt::format("live={}", datasets::live_value(s.format, s.polarity)));
    std::vector<std::string> stored_names;
    for (Modality m : s.stored) stored_names.push_back(modality_name(m));
    writer_.set_attr("modalities", stored_names);
    writer_.set_attr("modalities_rule", std::string(s.strict_modalities ? "every capture has each (--modalities)"
                                                                        : "each capture stores those it has"));
    writer_.set_attr("detect", std::string(detector ? detector->name() : "none"));
    writer_.set_attr("crop", std::string(s.crop.kind == CropKind::aligned ? "aligned" : "box"));
    if (detector) {
      writer_.set_attr("detector_model", detector->model());
      if (detector->name() == "haar") writer_.set_attr("cascade", detector->model());
      if (detector->has_probabilities()) writer_.set_attr("min_score", double(s.min_score));
      writer_.set_attr("on_no_face", opts.crop.on_no_face);
    }
    if (s.crop.kind == CropKind::aligned) writer_.set_attr("align_margin", s.crop.align_margin);
    else if (detector) writer_.set_attr("margin", s.crop.margin);
    writer_.set_attr("size", int64_t(s.size));
    writer_.set_attr("frames", opts.frames.frames);
    writer_.set_attr("depth16", s.depth.describe());
    writer_.set_attr("resize", std::string(s.crop.kind == CropKind::aligned
                                               ? "cv::warpAffine bilinear (after cv::INTER_AREA by whole factors)"
                                               : "cv::INTER_AREA to shrink, cv::INTER_LINEAR to enlarge"));
    writer_.set_attr("faces_found", sum.faces_found);
    writer_.set_attr("no_face", sum.no_face);
    writer_.set_attr("below_threshold", sum.below_threshold);
    writer_.set_attr("skipped_no_face", sum.no_face_skipped);
    writer_.set_attr("skipped_missing", sum.missing_skipped);
    if (!subjects_.names.empty()) writer_.set_attr("subject_names", subjects_.names);
  }

  const StoreOptions& o_;
  const face::CaptureSettings& s_;
  const SubjectTable& subjects_;
  SampleWriter writer_;
  std::unique_ptr<AtomicOutput> preview_;
  int64_t record_ = 0;  // the next capture's record number
  int64_t warned_ = 0;  // no-face warnings so far
};

}  // namespace

PreprocessSummary run_preprocess(const PreprocessOptions& opts, const CommonOptions& common) {
  auto t0 = std::chrono::steady_clock::now();
  PreprocessSummary sum;
  opts.validate();  // option errors before any reading
  check_output_path(opts.store.output);
  if (!opts.store.preview.empty()) check_output_path(opts.store.preview);

  ListFormat format = datasets::parse_list_format(opts.input.format);
  ParsedList list;
  if (opts.input.list == "-") {
    list = datasets::read_list(std::cin, "<stdin>", format, datasets::parse_label_polarity(opts.input.label_polarity));
  } else {
    check_input_file(opts.input.list);
    std::ifstream in(opts.input.list);
    list = datasets::read_list(in, opts.input.list, format, datasets::parse_label_polarity(opts.input.label_polarity));
  }
  face::CaptureSettings s = settings_of(opts, list);
  if (opts.input.list == "-") s.list_name = "<stdin>";
  if (!is_directory(s.root)) throw InputError(s.root, "", "dataset root is not a folder (--root)");
  sum.list_records = static_cast<int64_t>(list.records.size());
  SubjectTable subjects(list.records);

  std::unique_ptr<FaceFinder> detector = s.detect ? make_detector(opts.crop) : nullptr;
  s.crop.kind = crop_kind(opts.crop, detector.get());
  s.probabilities = detector && detector->has_probabilities();

  std::vector<face::Unit> units = face::plan_units(s, list, sum.missing_skipped);
  int threads = common.threads > 0 ? common.threads : default_threads();
  log::info("{}: {} records, {} work items, modalities {}{}, {} threads", s.list_name, list.records.size(),
            units.size(), join_modalities(s.stored), s.strict_modalities ? "" : " (each capture: those it has)",
            threads);

  PreprocessSink sink(opts.store, s, subjects);
  OpenCvThreads opencv_threads;
  signals::StopScope stop_scope;  // a signal ends the run cleanly: partial output is removed
  ThreadPool pool(threads);
  Progress progress("preprocess", static_cast<int64_t>(units.size()), "items");
  ordered_map(
      pool, static_cast<int64_t>(units.size()), 4 * pool.size(),
      [&](int64_t i) { return face::process_unit(s, list, detector.get(), units[static_cast<size_t>(i)]); },
      [&](int64_t i, face::UnitResult&& res) {
        signals::throw_if_stop_requested();
        const face::Unit& u = units[static_cast<size_t>(i)];
        sink.add(list.records[static_cast<size_t>(u.record)], std::move(res), sum);
        progress.advance();
      });
  progress.finish();
  if (sum.samples == 0) throw InputError(s.list_name, "", "nothing to store: every capture was skipped");
  sink.finish(opts, detector.get(), sum);
  sink.commit();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log_summary(sum, s, opts.store.output);
  sink.log_written();
  return sum;
}

}  // namespace cmclip::jobs
