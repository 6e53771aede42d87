#include "cmclip/data/synth.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <numeric>
#include <set>

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
#include "cmclip/data/files.hpp"
#include "cmclip/face/list_reader.hpp"

namespace cmclip::data {

using synth::Kind;

void SynthOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Synthetic set");
  g->add_option("--subjects", subjects, "Number of subjects (split between the splits, disjoint)")
      ->default_val(12)->check(CLI::Range(1, 1000000));
  g->add_option("--attacks", attacks, "Attack types, comma-separated: print, replay, mask")->default_val("print,replay");
  g->add_option("--modalities", modalities, "Modalities, comma-separated: rgb, depth, nir")->default_val("rgb,depth,nir");
  g->add_option("--size", size, "Image side in pixels")->default_val(224)->check(CLI::Range(32, 1024));
  g->add_option("--frames", frames, "Frames per video (one video per subject and presentation)")
      ->default_val(3)->check(CLI::Range(1, 1000));
  g->add_option("--split", split,
                "Disjoint subject splits, e.g. train,dev,test (equal shares) or train:3,dev:1,test:1 "
                "(default: one set, split attribute 'all')");
  auto* o = app.add_option_group("Output");
  o->add_option("-o,--output", output, "Sample store to write; with several splits, one per split (see --split)");
  o->add_option("--images-out", images_out, "Folder for PNG images (must be new or empty), with --list-out");
  o->add_option("--list-out", list_out, "tsv list of the PNG images, paths relative to --images-out");
  o->add_option("--preview", preview, "PNG contact sheet of the first split's store (needs -o)");
}

const std::string& presentation_name(Kind k) {
  static const std::string names[] = {"live", "print", "replay", "mask"};
  return names[static_cast<int>(k)];
}

std::vector<Kind> parse_attacks(const std::string& text) {
  std::vector<Kind> out;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    Kind k;
    if (name == "print") k = Kind::print;
    else if (name == "replay") k = Kind::replay;
    else if (name == "mask") k = Kind::mask;
    else throw UsageError(fmt::format("--attacks '{}': '{}' is not print, replay or mask", text, name));
    if (std::find(out.begin(), out.end(), k) != out.end())
      throw UsageError(fmt::format("--attacks '{}': {} is named twice", text, name));
    out.push_back(k);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<SplitPlan> plan_splits(const std::string& spec, int subjects) {
  std::vector<std::string> names;
  std::vector<double> weights;
  if (spec.empty()) {
    names.push_back("");
    weights.push_back(1);
  } else {
    size_t start = 0;
    for (;;) {
      size_t comma = spec.find(',', start);
      std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t colon = part.find(':');
      std::string name = part.substr(0, colon);
      double w = 1;
      if (colon != std::string::npos) {
        try {
          size_t used = 0;
          w = std::stod(part.substr(colon + 1), &used);
          if (used != part.size() - colon - 1) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          w = -1;
        }
        if (!(w > 0)) throw UsageError(fmt::format("--split '{}': weight of '{}' is not a positive number", spec, name));
      }
      if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; }))
        throw UsageError(fmt::format("--split '{}': split names are letters, digits, '-' and '_'", spec));
      if (std::find(names.begin(), names.end(), name) != names.end())
        throw UsageError(fmt::format("--split '{}': '{}' is named twice", spec, name));
      names.push_back(name);
      weights.push_back(w);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  int k = static_cast<int>(names.size());
  if (subjects < k)
    throw UsageError(fmt::format("--split '{}' needs at least {} subjects (one per split), --subjects is {}", spec, k, subjects));
  double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<int> count(static_cast<size_t>(k));
  std::vector<std::pair<double, int>> rest;
  int given = 0;
  for (int i = 0; i < k; ++i) {
    double exact = subjects * weights[static_cast<size_t>(i)] / total;
    count[static_cast<size_t>(i)] = static_cast<int>(std::floor(exact));
    given += count[static_cast<size_t>(i)];
    rest.emplace_back(-(exact - std::floor(exact)), i);  // largest remainder first, then earlier
  }
  std::sort(rest.begin(), rest.end());
  for (int i = 0; given < subjects; ++i, ++given) ++count[static_cast<size_t>(rest[static_cast<size_t>(i % k)].second)];
  for (int i = 0; i < k; ++i)
    while (count[static_cast<size_t>(i)] == 0) {
      auto big = std::max_element(count.begin(), count.end());
      --*big;
      ++count[static_cast<size_t>(i)];
    }
  std::vector<SplitPlan> out;
  int next = 0;
  for (int i = 0; i < k; ++i) {
    SplitPlan p;
    p.name = names[static_cast<size_t>(i)];
    for (int j = 0; j < count[static_cast<size_t>(i)]; ++j) p.subjects.push_back(next++);
    out.push_back(std::move(p));
  }
  return out;
}

std::string split_path(const std::string& path, const std::string& split, bool several) {
  size_t brace = path.find("{split}");
  if (brace != std::string::npos) return path.substr(0, brace) + (split.empty() ? "all" : split) + path.substr(brace + 7);
  if (!several) return path;
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == (slash == std::string::npos ? 0 : slash + 1))
    return path + "-" + split;
  return path.substr(0, dot) + "-" + split + path.substr(dot);
}

namespace {

struct CaptureKey {
  int split, subject, frame;
  Kind kind;
};

struct Rendered {
  synth::CaptureImages images;
  std::vector<std::vector<uchar>> png;  // per modality written, when images are wanted
};

std::string relative_path(const std::string& split, int subject, Kind kind, int frame, Modality m) {
  return fmt::format("{}s{:04d}/{}/f{:02d}_{}.png", split.empty() ? "" : split + "/", subject, presentation_name(kind),
                     frame, modality_name(m));
}

std::string video_name(int subject, Kind kind) { return fmt::format("s{:04d}/{}", subject, presentation_name(kind)); }

}  // namespace

SynthSummary run_synth(const SynthOptions& o, const CommonOptions& common) {
  auto t0 = std::chrono::steady_clock::now();
  if (o.output.empty() && o.images_out.empty()) throw UsageError("nothing to write: give -o FILE and/or --images-out DIR --list-out FILE");
  if (o.images_out.empty() != o.list_out.empty()) throw UsageError("--images-out and --list-out go together");
  if (!o.preview.empty() && o.output.empty()) throw UsageError("--preview needs -o (the sheet is drawn from the store)");
  if (o.size < 32 || o.size > 1024) throw UsageError("--size: expected 32 to 1024 pixels");
  if (o.frames < 1) throw UsageError("--frames: expected at least 1");
  std::vector<Kind> attacks = parse_attacks(o.attacks);
  std::vector<Modality> asked = face::parse_modality_list(o.modalities, "--modalities");
  std::vector<Modality> mods;
  for (Modality m : {Modality::rgb, Modality::depth, Modality::nir, Modality::thermal})
    if (std::find(asked.begin(), asked.end(), m) != asked.end()) {
      if (m == Modality::thermal) throw UsageError("--modalities: fas-synth renders rgb, depth and nir, not thermal");
      mods.push_back(m);
    }
  std::vector<SplitPlan> splits = plan_splits(o.split, o.subjects);
  bool several = splits.size() > 1;
  uint64_t seed = common.seed;

  // Outputs: opened (and their folders checked) before any work.
  std::vector<std::unique_ptr<SampleWriter>> stores;
  std::vector<std::string> store_paths;
  if (!o.output.empty())
    for (const auto& sp : splits) {
      store_paths.push_back(split_path(o.output, sp.name, several));
      stores.push_back(std::make_unique<SampleWriter>(store_paths.back(), o.size, o.size, 3));
    }
  if (!o.preview.empty()) check_output_path(o.preview);
  std::unique_ptr<StagingFolder> images;
  std::vector<std::unique_ptr<AtomicOutput>> lists;
  std::vector<std::ofstream> list_streams;
  if (!o.images_out.empty()) {
    images = std::make_unique<StagingFolder>(o.images_out);
    for (const auto& sp : splits) {
      lists.push_back(std::make_unique<AtomicOutput>(split_path(o.list_out, sp.name, several)));
      list_streams.emplace_back(lists.back()->temp_path(), std::ios::binary);
      if (!list_streams.back()) throw RuntimeFailure(lists.back()->path(), "", "cannot create");
      list_streams.back() << "path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe\n";
    }
  }

  std::vector<Kind> kinds{Kind::live};
  kinds.insert(kinds.end(), attacks.begin(), attacks.end());
  std::vector<CaptureKey> keys;
  for (size_t s = 0; s < splits.size(); ++s)
    for (int subject : splits[s].subjects)
      for (Kind k : kinds)
        for (int f = 0; f < o.frames; ++f) keys.push_back({static_cast<int>(s), subject, f, k});

  synth::Want want;
  want.rgb = std::find(mods.begin(), mods.end(), Modality::rgb) != mods.end();
  want.depth = std::find(mods.begin(), mods.end(), Modality::depth) != mods.end();
  want.nir = std::find(mods.begin(), mods.end(), Modality::nir) != mods.end();
  auto plane = [](synth::CaptureImages& c, Modality m) -> std::vector<uint8_t>& {
    return m == Modality::rgb ? c.rgb : m == Modality::depth ? c.depth : c.nir;
  };
  const int n = o.size;
  const size_t bytes = size_t(n) * n * 3;

  int threads = common.threads > 0 ? common.threads : default_threads();
  log::info("{} subjects ({}), presentations {}, {} frames, modalities {}, {}x{}, seed {}, {} threads", o.subjects,
            several || !splits[0].name.empty() ? fmt::format("splits {}", o.split) : "one set", [&] {
              std::string s;
              for (Kind k : kinds) s += (s.empty() ? "" : ",") + presentation_name(k);
              return s;
            }(), o.frames, o.modalities, n, n, seed, threads);
  signals::StopScope stop_scope;  // a signal ends the run cleanly: partial output is removed
  ThreadPool pool(threads);
  Progress progress("synth", static_cast<int64_t>(keys.size()), "captures");
  SynthSummary sum;
  std::vector<int64_t> records(splits.size(), 0);
  std::set<std::string> made_dirs;
  std::vector<uint8_t> image(bytes);
  ordered_map(
      pool, static_cast<int64_t>(keys.size()), 4 * pool.size(),
      [&](int64_t i) {
        const CaptureKey& k = keys[static_cast<size_t>(i)];
        Rendered r;
        r.images = synth::render_capture(seed, k.subject, k.kind, k.frame, n, want);
        if (images)
          for (Modality m : mods) {
            std::vector<uint8_t>& p = plane(r.images, m);
            cv::Mat mat;
            if (m == Modality::rgb) cv::cvtColor(cv::Mat(n, n, CV_8UC3, p.data()), mat, cv::COLOR_RGB2BGR);
            else mat = cv::Mat(n, n, CV_8UC1, p.data());
            r.png.emplace_back();
            if (!cv::imencode(".png", mat, r.png.back())) throw RuntimeFailure("cannot encode a PNG image");
          }
        return r;
      },
      [&](int64_t i, Rendered&& r) {
        signals::throw_if_stop_requested();
        const CaptureKey& k = keys[static_cast<size_t>(i)];
        const std::string& split = splits[static_cast<size_t>(k.split)].name;
        int64_t record = records[static_cast<size_t>(k.split)]++;
        for (size_t j = 0; j < mods.size(); ++j) {
          Modality m = mods[j];
          std::string rel = relative_path(split, k.subject, k.kind, k.frame, m);
          if (!stores.empty()) {
            SampleWriter& w = *stores[static_cast<size_t>(k.split)];
            std::vector<uint8_t>& p = plane(r.images, m);
            if (m == Modality::rgb) {
              std::copy(p.begin(), p.end(), image.begin());
            } else {
              for (size_t q = 0; q < p.size(); ++q) image[3 * q] = image[3 * q + 1] = image[3 * q + 2] = p[q];
            }
            SampleMeta meta;
            meta.label = k.kind == Kind::live ? kLive : kAttack;
            meta.attack = w.attack_code(k.kind == Kind::live ? "" : presentation_name(k.kind));
            meta.modality = m;
            meta.subject = k.subject;
            meta.video = video_name(k.subject, k.kind);
            meta.frame = k.frame;
            meta.source = rel;
            meta.bbox = {0, 0, float(n), float(n)};
            meta.record = record;
            w.append(image.data(), meta);
          }
          if (images) {
            std::string dir = rel.substr(0, rel.find_last_of('/'));
            if (made_dirs.insert(dir).second) images->make_dirs(dir);
            write_bytes(join_path(images->temp_path(), rel), r.png[j].data(), r.png[j].size(),
                        join_path(o.images_out, rel));
            list_streams[static_cast<size_t>(k.split)]
                << rel << '\t' << (k.kind == Kind::live ? "live" : "attack") << '\t' << modality_name(m) << '\t'
                << (k.kind == Kind::live ? "" : presentation_name(k.kind)) << '\t' << k.subject << '\t'
                << video_name(k.subject, k.kind) << '\t' << k.frame << '\n';
          }
          ++sum.samples;
        }
        ++sum.captures;
        progress.advance();
      });
  progress.finish();

  std::vector<std::string> attack_names, mod_names;
  for (Kind k : attacks) attack_names.push_back(presentation_name(k));
  for (Modality m : mods) mod_names.push_back(modality_name(m));
  for (size_t s = 0; s < stores.size(); ++s) {
    SampleWriter& w = *stores[s];
    w.set_attr("dataset", std::string("cmclip-synth"));
    w.set_attr("protocol", std::string("synthetic, subject-disjoint splits"));
    w.set_attr("split", splits[s].name.empty() ? std::string("all") : splits[s].name);
    w.set_attr("seed", static_cast<int64_t>(seed));
    w.set_attr("synth_version", int64_t(1));
    w.set_attr("subjects_total", int64_t(o.subjects));
    std::vector<int64_t> ids(splits[s].subjects.begin(), splits[s].subjects.end());
    w.set_attr("subjects", ids);
    w.set_attr("attacks", attack_names);
    w.set_attr("modalities", mod_names);
    w.set_attr("frames", int64_t(o.frames));
    w.set_attr("size", int64_t(n));
    w.set_attr("detect", std::string("none"));  // images are whole frames, bbox = the frame
    w.finish();
  }
  // Every output is complete before any is renamed into place: a full disk or a
  // signal leaves none of them.
  for (size_t s = 0; s < lists.size(); ++s) {
    list_streams[s].close();
    if (!list_streams[s])
      throw RuntimeFailure(lists[s]->path(), "", std::string("cannot write (disk full?): ") + std::strerror(errno));
  }
  std::unique_ptr<AtomicOutput> preview;
  if (!o.preview.empty()) {
    preview = std::make_unique<AtomicOutput>(o.preview);
    write_contact_sheet(SampleStore(stores.front()->temp_path()), *preview, 6, 128);
  }
  signals::throw_if_stop_requested();
  for (auto& w : stores) w->commit();
  if (images) images->commit();
  for (auto& l : lists) l->commit();
  if (preview) preview->commit();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& p : store_paths) log::info("wrote {}", p);
  if (images) log::info("wrote {} and {} list file(s)", o.images_out, lists.size());
  log::info("{} captures, {} samples in {:.1f} s ({:.1f} captures/s)", sum.captures, sum.samples, sum.seconds,
            sum.captures / std::max(sum.seconds, 1e-9));
  if (preview) log::info("wrote {}", o.preview);
  return sum;
}

}  // namespace cmclip::data
