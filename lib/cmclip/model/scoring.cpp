#include "cmclip/model/scoring.hpp"

#include <algorithm>

#include <ATen/ATen.h>

#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cmclip/compute/precision.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/app.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/data/loader.hpp"
#include "cmclip/data/transfer.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/data/sampler.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/scores.hpp"
#include "cmclip/metrics/score_merge.hpp"
#include "cmclip/metrics/score_tsv.hpp"
#include "cmclip/model/fas_model.hpp"

namespace cmclip::model {

namespace {
const Choices kScoreFormats{"h5", "tsv"};
}  // namespace

void ScoreStoreOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Scoring a sample store (--data)");
  g->add_option("--modality", modality, "Score only the samples of this modality (default: all)");
  g->add_option("--shots", shots,
                "Score only the frames of this shot list (fas-fewshot --shots-out), in "
                "--modality: a threshold from the K shots, with no other labelled target data")
      ->check(CLI::ExistingFile);
  g->add_option("--shard", shard, "Score shard I of N (0-based, contiguous), e.g. $SLURM_ARRAY_TASK_ID/N");
  g->add_flag("--features", features, "Also write /features: the normalised image features");
  g->add_option("--format", format, "h5 (a cmclip.scores file) or tsv (the score TSV; -o - prints it)")
      ->capture_default_str()
      ->check(one_of(kScoreFormats.names()));
}

void ScoreStoreOptions::validate(const std::string& output) const {
  kScoreFormats.check(format, "--format");
  if (format == "h5" && output == "-") throw UsageError("-o - writes to stdout, which needs --format tsv");
  if (features && format == "tsv") throw UsageError("--features needs --format h5 (the TSV has no features)");
  if (!shots.empty() && (modality.empty() || modality == "all"))
    throw UsageError("--shots needs --modality: the modality the shots were taken in");
  if (!modality.empty() && modality != "all") parse_modality(modality);
}

namespace {
// Where rows go: a score file, or TSV lines to a file or stdout.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void add(const ScoreRow& row, const float* features) = 0;
  virtual void commit() = 0;
};

class H5Sink : public RowSink {
 public:
  H5Sink(const std::string& path, int64_t dim, const SampleStore& store) : writer_(path, dim) {
    writer_.set_attack_names(store.attack_names());
  }
  ScoreWriter& writer() { return writer_; }
  void add(const ScoreRow& row, const float* features) override { writer_.append(row, features); }
  void commit() override { writer_.commit(); }

 private:
  ScoreWriter writer_;
};

class TsvSink : public RowSink {
 public:
  TsvSink(const std::string& path, std::vector<std::string> attack_names) : names_(std::move(attack_names)) {
    if (path != "-") {
      file_out_ = std::make_unique<AtomicOutput>(path);
      file_.open(file_out_->temp_path(), std::ios::binary);
      if (!file_) throw RuntimeFailure(path, "", "cannot create");
    }
    tsv_ = std::make_unique<metrics::ScoreTsvWriter>(path == "-" ? std::cout : file_, path == "-" ? "stdout" : path);
  }
  void add(const ScoreRow& row, const float*) override { tsv_->write(row, names_); }
  void commit() override {
    tsv_->flush();
    if (file_out_) {
      file_.close();
      if (!file_) throw RuntimeFailure(file_out_->path(), "", "cannot write the score TSV (disk full?)");
      file_out_->commit();
    }
  }

 private:
  std::vector<std::string> names_;
  std::unique_ptr<AtomicOutput> file_out_;
  std::ofstream file_;
  std::unique_ptr<metrics::ScoreTsvWriter> tsv_;
};

// The samples scored, in store order, and the selection's name ("" for all of them,
// else "/modality=M" or "/modality=M/shots=LIST").
struct Selection {
  std::vector<int64_t> samples;
  std::string name;
};

Selection select_samples(const SampleStore& store, const ScoreStoreOptions& o) {
  Selection s;
  if (!o.shots.empty()) {
    Modality m = parse_modality(o.modality);
    s.name = fmt::format("/modality={}/shots={}", modality_name(m), o.shots);
    for (const auto& shot : data::listed_shots_pool(store, m, data::read_shots(o.shots), o.shots).shots)
      s.samples.push_back(shot.index);
    std::sort(s.samples.begin(), s.samples.end());  // store order, as every selection (batches read ranges)
  } else if (o.modality.empty() || o.modality == "all") {
    for (int64_t i = 0; i < store.size(); ++i) s.samples.push_back(i);
  } else {
    Modality m = parse_modality(o.modality);
    s.name = "/modality=" + modality_name(m);
    for (int64_t i = 0; i < store.size(); ++i)
      if (store.modalities()[i] == static_cast<int8_t>(m)) s.samples.push_back(i);
    if (s.samples.empty())
      throw InputError(o.data, "", fmt::format("holds no {} samples (--modality)", modality_name(m)));
  }
  return s;
}

// The TSV, or a score file that records what it holds: the model and its arithmetic,
// the samples and the selection, and the shard (so that --merge can check the parts).
std::unique_ptr<RowSink> open_sink(const std::string& output, const ScoreStoreOptions& o, const SampleStore& store,
                                   const LoadedModel& m, const Selection& selection, const metrics::ShardSpec& shard,
                                   const std::string& precision_name, int64_t dim) {
  if (o.format == "tsv") return std::make_unique<TsvSink>(output, store.attack_names());
  auto h5 = std::make_unique<H5Sink>(output, dim, store);
  ScoreWriter& w = h5->writer();
  // Shards computed in other arithmetic must not merge silently: bf16 marks the hash.
  w.set_attr(metrics::kShardModelHash, precision_name == "bf16" ? m.content_hash + "+bf16" : m.content_hash);
  w.set_attr("precision", precision_name);
  w.set_attr(metrics::kShardSamplesFingerprint, store.fingerprint() + selection.name);
  w.set_attr(metrics::kShardSamplesTotal, static_cast<int64_t>(selection.samples.size()));
  if (!o.shard.empty()) w.set_attr(metrics::kShardAttr, shard.str());
  w.set_attr("model", m.source);
  w.set_attr("samples", o.data);
  if (!selection.name.empty()) w.set_attr("selection", selection.name.substr(1));
  return h5;
}

// Batches follow one grid over the whole selection, whatever the shard: a sample is
// always computed in the same batch, so shards merge into exactly the numbers of an
// unsharded run (batch composition changes the floating-point sums). A shard computes
// at most two batches partly outside itself and drops those rows.
std::vector<std::vector<data::SampleRef>> batch_grid(const std::vector<int64_t>& selected, int64_t first, int64_t last,
                                                     int64_t batch_size) {
  const int64_t total = static_cast<int64_t>(selected.size());
  std::vector<std::vector<data::SampleRef>> batches;
  for (int64_t b = first - first % batch_size; b < last; b += batch_size) {
    std::vector<data::SampleRef> batch;
    for (int64_t i = b; i < std::min(total, b + batch_size); ++i) batch.push_back({0, selected[i], 0});
    batches.push_back(std::move(batch));
  }
  return batches;
}

// The rows of one scored batch whose grid positions fall in [first, last).
void add_rows(RowSink& sink, const SampleStore& store, const data::Batch& batch, const at::Tensor& scores,
              const at::Tensor& features, int64_t batch_start, int64_t first, int64_t last, Progress& progress) {
  const int64_t n = static_cast<int64_t>(batch.refs.size());
  // The batch's indices ascend: one read of the string columns covers them.
  const int64_t lo = batch.refs.front().index, span = batch.refs.back().index - lo + 1;
  std::vector<std::string> videos = store.videos(lo, span), sources = store.sources(lo, span);
  const float* p = scores.data_ptr<float>();
  const int64_t dim = features.defined() ? features.size(1) : 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t position = batch_start + i;
    if (position < first || position >= last) continue;  // computed for the grid only
    int64_t idx = batch.refs[i].index;
    ScoreRow row;
    row.index = position;
    row.score = p[i];
    row.label = store.labels()[idx];
    row.attack = store.attacks()[idx];
    row.modality = store.modalities()[idx];
    row.subject = store.subjects()[idx];
    row.video = videos[idx - lo];
    row.source = sources[idx - lo];
    sink.add(row, dim ? features.data_ptr<float>() + i * dim : nullptr);
    progress.advance();
  }
}
}  // namespace

int64_t score_sample_store(const clip::ClipModelOptions& model, const clip::EmbedOptions& embed,
                           const ScoreStoreOptions& o, const std::string& device_name, const std::string& output) {
  const std::string& model_path = model.model;
  o.validate(output);
  if (output != "-") check_output_path(output);
  if (model_path.empty()) throw UsageError("--data needs --model (a trained checkpoint)");
  if (!is_checkpoint_file(model_path))
    throw UsageError(
        fmt::format("--model {}: scoring a sample store needs a trained cmclip checkpoint "
                    "(fas-pretrain, fas-fewshot); for plain CLIP features use --images",
                    model_path));
  SampleStore store(o.data);
  const Selection selection = select_samples(store, o);
  metrics::ShardSpec shard = o.shard.empty() ? metrics::ShardSpec{} : metrics::ShardSpec::parse(o.shard);
  auto [first, last] = shard.rows(static_cast<int64_t>(selection.samples.size()));

  const c10::Device device = parse_device(device_name);
  LoadedModel m = load_model_checkpoint(model_path, model.bpe);
  m.model->to(device);
  const int64_t dim = o.features ? m.model->clip()->config().embed_dim : 0;
  std::unique_ptr<RowSink> sink =
      open_sink(output, o, store, m, selection, shard, compute::precision_name(embed.precision.parsed()), dim);
  int res = static_cast<int>(m.model->clip()->config().image_resolution);
  data::BatchLoader loader({&store}, batch_grid(selection.samples, first, last, embed.batch_size), res,
                           data::AugmentOptions{}, /*train=*/false);
  compute::PrecisionScope precision(embed.precision.parsed(), device);
  Progress progress("scoring", last - first, "samples");
  int64_t batch_start = first - first % embed.batch_size;
  data::Batch batch;
  while (loader.next(batch)) {
    at::Tensor features;
    at::Tensor scores =
        m.model->score(data::to_device(batch.images, device), batch.modality, o.features ? &features : nullptr)
            .to(at::kCPU, at::kFloat)  // bf16 under CUDA autocast
            .contiguous();
    if (o.features) features = features.to(at::kCPU, at::kFloat).contiguous();
    add_rows(*sink, store, batch, scores, features, batch_start, first, last, progress);
    batch_start += static_cast<int64_t>(batch.refs.size());
  }
  sink->commit();
  progress.finish();
  return last - first;
}

}  // namespace cmclip::model
