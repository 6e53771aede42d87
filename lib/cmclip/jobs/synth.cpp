#include "cmclip/jobs/synth.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/core/signals.hpp"
#include "cmclip/core/thread_pool.hpp"
#include "cmclip/data/contact_sheet.hpp"
#include "cmclip/datasets/list_reader.hpp"
#include "cmclip/datasets/list_writer.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/synth/plan.hpp"

namespace cmclip::jobs {

using synth::Kind;

void SynthOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Synthetic set");
  g->add_option("--subjects", subjects, "Number of subjects (split between the splits, disjoint)")
      ->default_val(12)
      ->check(CLI::Range(1, 1000000));
  g->add_option("--attacks", attacks, "Attack types, comma-separated: print, replay, mask")
      ->default_val("print,replay");
  g->add_option("--modalities", modalities, "Modalities, comma-separated: rgb, depth, nir")
      ->default_val("rgb,depth,nir");
  g->add_option("--size", size, "Image side in pixels")->default_val(224)->check(CLI::Range(32, 1024));
  g->add_option("--frames", frames, "Frames per video (one video per subject and presentation)")
      ->default_val(3)
      ->check(CLI::Range(1, 1000));
  g->add_option("--split", split,
                "Disjoint subject splits, e.g. train,dev,test (equal shares) or train:3,dev:1,test:1 "
                "(default: one set, split attribute 'all')");
  auto* o = app.add_option_group("Output");
  o->add_option("-o,--output", output, "Sample store to write; with several splits, one per split (see --split)");
  o->add_option("--images-out", images_out, "Folder for PNG images (must be new or empty), with --list-out");
  o->add_option("--list-out", list_out, "tsv list of the PNG images, paths relative to --images-out");
  o->add_option("--preview", preview, "PNG contact sheet of the first split's store (needs -o)");
}

void SynthOptions::validate() const {
  if (output.empty() && images_out.empty())
    throw UsageError("nothing to write: give -o FILE and/or --images-out DIR --list-out FILE");
  if (images_out.empty() != list_out.empty()) throw UsageError("--images-out and --list-out go together");
  if (!preview.empty() && output.empty()) throw UsageError("--preview needs -o (the sheet is drawn from the store)");
  if (size < 32 || size > 1024) throw UsageError("--size: expected 32 to 1024 pixels");
  if (frames < 1) throw UsageError("--frames: expected at least 1");
  synth::parse_attacks(attacks);
  for (Modality m : datasets::parse_modality_list(modalities, "--modalities"))
    if (m == Modality::thermal) throw UsageError("--modalities: fas-synth renders rgb, depth and nir, not thermal");
  synth::plan_splits(split, subjects);
}

namespace {

struct CaptureKey {
  int split, subject, frame;
  Kind kind;
};

// What the run renders, checked from the options before any work.
struct SynthPlan {
  std::vector<Kind> attacks;
  std::vector<Kind> kinds;     // live, then the attacks
  std::vector<Modality> mods;  // canonical order
  std::vector<synth::SplitPlan> splits;
  bool several = false;  // more than one split: one file each
  synth::Want want;
  std::vector<CaptureKey> keys;  // every capture, in output order
};

bool has(const std::vector<Modality>& mods, Modality m) { return std::find(mods.begin(), mods.end(), m) != mods.end(); }

// From valid options (SynthOptions::validate).
SynthPlan plan_run(const SynthOptions& o) {
  SynthPlan p;
  p.attacks = synth::parse_attacks(o.attacks);
  std::vector<Modality> asked = datasets::parse_modality_list(o.modalities, "--modalities");
  for (Modality m : {Modality::rgb, Modality::depth, Modality::nir})
    if (has(asked, m)) p.mods.push_back(m);
  p.splits = synth::plan_splits(o.split, o.subjects);
  p.several = p.splits.size() > 1;
  p.kinds = {Kind::live};
  p.kinds.insert(p.kinds.end(), p.attacks.begin(), p.attacks.end());
  for (size_t s = 0; s < p.splits.size(); ++s)
    for (int subject : p.splits[s].subjects)
      for (Kind k : p.kinds)
        for (int f = 0; f < o.frames; ++f) p.keys.push_back({static_cast<int>(s), subject, f, k});
  p.want.rgb = has(p.mods, Modality::rgb);
  p.want.depth = has(p.mods, Modality::depth);
  p.want.nir = has(p.mods, Modality::nir);
  return p;
}

struct Rendered {
  synth::CaptureImages images;
  std::vector<std::vector<uchar>> png;  // per modality written, when images are wanted
};

std::vector<uint8_t>& plane(synth::CaptureImages& c, Modality m) {
  return m == Modality::rgb ? c.rgb : m == Modality::depth ? c.depth : c.nir;
}

// One capture's images; with `png`, also each modality encoded as a PNG file.
Rendered render(const CaptureKey& k, const SynthPlan& p, uint64_t seed, int n, bool png) {
  Rendered r;
  r.images = synth::render_capture(seed, k.subject, k.kind, k.frame, n, p.want);
  if (!png) return r;
  for (Modality m : p.mods) {
    std::vector<uint8_t>& pixels = plane(r.images, m);
    cv::Mat mat;
    if (m == Modality::rgb) cv::cvtColor(cv::Mat(n, n, CV_8UC3, pixels.data()), mat, cv::COLOR_RGB2BGR);
    else mat = cv::Mat(n, n, CV_8UC1, pixels.data());
    r.png.emplace_back();
    if (!cv::imencode(".png", mat, r.png.back())) throw RuntimeFailure("cannot encode a PNG image");
  }
  return r;
}

std::string relative_path(const std::string& split, int subject, Kind kind, int frame, Modality m) {
  return fmt::format("{}s{:04d}/{}/f{:02d}_{}.png", split.empty() ? "" : split + "/", subject,
                     synth::presentation_name(kind), frame, modality_name(m));
}

std::string video_name(int subject, Kind kind) {
  return fmt::format("s{:04d}/{}", subject, synth::presentation_name(kind));
}

// Where the captures go: a sample store per split (-o), and/or PNG files under one
// folder with a tsv list per split (--images-out, --list-out), and the contact sheet.
// Every file is opened (its folder checked) before any work, and written in full
// before any is renamed into place: a full disk or a signal leaves none of them.
class SynthSink {
 public:
  SynthSink(const SynthOptions& o, const SynthPlan& p) : o_(o), p_(p), records_(p.splits.size(), 0) {
    if (!o.output.empty())
      for (const auto& sp : p.splits) {
        store_paths_.push_back(synth::split_path(o.output, sp.name, p.several));
        stores_.push_back(std::make_unique<SampleWriter>(store_paths_.back(), o.size, o.size, 3));
      }
    if (!o.preview.empty()) check_output_path(o.preview);
    if (o.images_out.empty()) return;
    images_ = std::make_unique<AtomicOutput>(o.images_out, AtomicOutput::Kind::folder);
    for (const auto& sp : p.splits)
      lists_.push_back(std::make_unique<datasets::TsvListWriter>(synth::split_path(o.list_out, sp.name, p.several)));
  }

  bool wants_png() const { return images_ != nullptr; }

  // One capture, in key order; returns the samples written.
  int64_t add(const CaptureKey& k, Rendered& r) {
    const std::string& split = p_.splits[static_cast<size_t>(k.split)].name;
    int64_t record = records_[static_cast<size_t>(k.split)]++;
    for (size_t j = 0; j < p_.mods.size(); ++j) {
      std::string rel = relative_path(split, k.subject, k.kind, k.frame, p_.mods[j]);
      if (!stores_.empty()) add_to_store(k, plane(r.images, p_.mods[j]), p_.mods[j], rel, record);
      if (images_) add_image(k, r.png[j], p_.mods[j], rel);
    }
    return static_cast<int64_t>(p_.mods.size());
  }

  // Attributes, lists closed and the sheet drawn; nothing renamed yet.
  void finish(uint64_t seed) {
    for (size_t s = 0; s < stores_.size(); ++s) {
      write_attributes(*stores_[s], p_.splits[s], seed);
      stores_[s]->finish();
    }
    for (auto& l : lists_) l->finish();
    if (!o_.preview.empty()) {
      preview_ = std::make_unique<AtomicOutput>(o_.preview);
      data::write_contact_sheet(SampleStore(stores_.front()->temp_path()), *preview_, 6, 128);
    }
  }

  void commit() {
    for (auto& w : stores_) w->commit();
    if (images_) images_->commit();
    for (auto& l : lists_) l->commit();
    if (preview_) preview_->commit();
  }

  void log_written() const {
    for (const auto& path : store_paths_) log::info("wrote {}", path);
    if (images_) log::info("wrote {} and {} list file(s)", o_.images_out, lists_.size());
  }

 private:
  void add_to_store(const CaptureKey& k, const std::vector<uint8_t>& pixels, Modality m, const std::string& rel,
                    int64_t record) {
    SampleWriter& w = *stores_[static_cast<size_t>(k.split)];
    image_.resize(size_t(o_.size) * o_.size * 3);
    if (m == Modality::rgb) {
      std::copy(pixels.begin(), pixels.end(), image_.begin());
    } else {
      for (size_t q = 0; q < pixels.size(); ++q) image_[3 * q] = image_[3 * q + 1] = image_[3 * q + 2] = pixels[q];
    }
    SampleMeta meta;
    meta.label = k.kind == Kind::live ? kLive : kAttack;
    meta.attack = w.attack_code(k.kind == Kind::live ? "" : synth::presentation_name(k.kind));
    meta.modality = m;
    meta.subject = k.subject;
    meta.video = video_name(k.subject, k.kind);
    meta.frame = k.frame;
    meta.source = rel;
    meta.bbox = {0, 0, float(o_.size), float(o_.size)};
    meta.record = record;
    w.append(image_.data(), meta);
  }

  void add_image(const CaptureKey& k, const std::vector<uchar>& png, Modality m, const std::string& rel) {
    std::string dir = rel.substr(0, rel.find_last_of('/'));
    if (made_dirs_.insert(dir).second) images_->make_dirs(dir);
    write_bytes(join_path(images_->temp_path(), rel), png.data(), png.size(), join_path(o_.images_out, rel));
    const bool live = k.kind == Kind::live;
    lists_[static_cast<size_t>(k.split)]->add({rel, live ? kLive : kAttack, m,
                                               live ? "" : synth::presentation_name(k.kind), std::to_string(k.subject),
                                               video_name(k.subject, k.kind), k.frame});
  }

  void write_attributes(SampleWriter& w, const synth::SplitPlan& split, uint64_t seed) const {
    std::vector<std::string> attack_names, mod_names;
    for (Kind k : p_.attacks) attack_names.push_back(synth::presentation_name(k));
    for (Modality m : p_.mods) mod_names.push_back(modality_name(m));
    w.set_attr("dataset", std::string("cmclip-synth"));
    w.set_attr("protocol", std::string("synthetic, subject-disjoint splits"));
    w.set_attr("split", split.name.empty() ? std::string("all") : split.name);
    w.set_attr("seed", static_cast<int64_t>(seed));
    w.set_attr("synth_version", int64_t(1));
    w.set_attr("subjects_total", int64_t(o_.subjects));
    std::vector<int64_t> ids(split.subjects.begin(), split.subjects.end());
    w.set_attr("subjects", ids);
    w.set_attr("attacks", attack_names);
    w.set_attr("modalities", mod_names);
    w.set_attr("frames", int64_t(o_.frames));
    w.set_attr("size", int64_t(o_.size));
    w.set_attr("detect", std::string("none"));  // images are whole frames, bbox = the frame
  }

  const SynthOptions& o_;
  const SynthPlan& p_;
  std::vector<std::unique_ptr<SampleWriter>> stores_;
  std::vector<std::string> store_paths_;
  std::unique_ptr<AtomicOutput> images_;                         // the --images-out folder
  std::vector<std::unique_ptr<datasets::TsvListWriter>> lists_;  // --list-out, one per split
  std::unique_ptr<AtomicOutput> preview_;
  std::vector<int64_t> records_;  // the next record number of each split
  std::set<std::string> made_dirs_;
  std::vector<uint8_t> image_;  // one sample, three channels
};

}  // namespace

SynthSummary run_synth(const SynthOptions& o, const CommonOptions& common) {
  auto t0 = std::chrono::steady_clock::now();
  o.validate();
  const SynthPlan plan = plan_run(o);
  const uint64_t seed = common.seed;
  SynthSink sink(o, plan);

  int threads = common.threads > 0 ? common.threads : default_threads();
  std::string kinds;
  for (Kind k : plan.kinds) kinds += (kinds.empty() ? "" : ",") + synth::presentation_name(k);
  log::info("{} subjects ({}), presentations {}, {} frames, modalities {}, {}x{}, seed {}, {} threads", o.subjects,
            plan.several || !plan.splits[0].name.empty() ? fmt::format("splits {}", o.split) : "one set", kinds,
            o.frames, o.modalities, o.size, o.size, seed, threads);
  signals::StopScope stop_scope;  // a signal ends the run cleanly: partial output is removed
  ThreadPool pool(threads);
  Progress progress("synth", static_cast<int64_t>(plan.keys.size()), "captures");
  SynthSummary sum;
  ordered_map(
      pool, static_cast<int64_t>(plan.keys.size()), 4 * pool.size(),
      [&](int64_t i) { return render(plan.keys[static_cast<size_t>(i)], plan, seed, o.size, sink.wants_png()); },
      [&](int64_t i, Rendered&& r) {
        signals::throw_if_stop_requested();
        sum.samples += sink.add(plan.keys[static_cast<size_t>(i)], r);
        ++sum.captures;
        progress.advance();
      });
  progress.finish();
  sink.finish(seed);
  signals::throw_if_stop_requested();
  sink.commit();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sink.log_written();
  log::info("{} captures, {} samples in {:.1f} s ({:.1f} captures/s)", sum.captures, sum.samples, sum.seconds,
            sum.captures / std::max(sum.seconds, 1e-9));
  if (!o.preview.empty()) log::info("wrote {}", o.preview);
  return sum;
}

}  // namespace cmclip::jobs
