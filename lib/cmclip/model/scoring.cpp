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
#include "cmclip/core/log.hpp"
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

void ScoreStoreOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Scoring a sample store (--data)");
  g->add_option("--modality", modality, "Score only the samples of this modality (default: all)");
  g->add_option("--shots", shots, "Score only the frames of this shot list (fas-fewshot --shots-out), in "
                "--modality: a threshold from the K shots, with no other labelled target data")
      ->check(CLI::ExistingFile);
  g->add_option("--shard", shard, "Score shard I of N (0-based, contiguous), e.g. $SLURM_ARRAY_TASK_ID/N");
  g->add_flag("--features", features, "Also write /features: the normalised image features");
  g->add_option("--format", format, "h5 (a cmclip.scores file) or tsv (the score TSV; -o - prints it)")
      ->capture_default_str()->check(CLI::IsMember({"h5", "tsv"}));
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
}  // namespace

int64_t score_sample_store(const std::string& model_path, const std::string& bpe, const ScoreStoreOptions& o,
                           const std::string& output) {
  if (o.format == "h5" && output == "-")
    throw UsageError("-o - writes to stdout, which needs --format tsv");
  if (o.features && o.format == "tsv") throw UsageError("--features needs --format h5 (the TSV has no features)");
  if (output != "-") check_output_path(output);
  if (model_path.empty()) throw UsageError("--data needs --model (a trained checkpoint)");
  if (!is_checkpoint_file(model_path))
    throw UsageError(fmt::format("--model {}: scoring a sample store needs a trained cmclip checkpoint "
                                 "(fas-pretrain, fas-fewshot); for plain CLIP features use --images",
                                 model_path));
  SampleStore store(o.data);
  std::vector<int64_t> selected;
  std::string selection;
  if (!o.shots.empty()) {
    if (o.modality.empty() || o.modality == "all")
      throw UsageError("--shots needs --modality: the modality the shots were taken in");
    Modality m = parse_modality(o.modality);
    selection = fmt::format("/modality={}/shots={}", modality_name(m), o.shots);
    for (const auto& shot : data::listed_shots_pool(store, m, data::read_shots(o.shots), o.shots).shots)
      selected.push_back(shot.index);
    std::sort(selected.begin(), selected.end());  // store order, as every selection (batches read ranges)
  } else if (o.modality.empty() || o.modality == "all") {
    for (int64_t i = 0; i < store.size(); ++i) selected.push_back(i);
  } else {
    Modality m = parse_modality(o.modality);
    selection = "/modality=" + modality_name(m);
    for (int64_t i = 0; i < store.size(); ++i)
      if (store.modalities()[i] == static_cast<int8_t>(m)) selected.push_back(i);
    if (selected.empty())
      throw InputError(o.data, "", fmt::format("holds no {} samples (--modality)", modality_name(m)));
  }
  metrics::ShardSpec shard = o.shard.empty() ? metrics::ShardSpec{} : metrics::ShardSpec::parse(o.shard);
  auto [first, last] = shard.rows(static_cast<int64_t>(selected.size()));

  const c10::Device device = parse_device(o.device);
  LoadedModel m = load_model_checkpoint(model_path, bpe);
  m.model->to(device);
  const int64_t dim = o.features ? m.model->clip()->config().embed_dim : 0;
  std::unique_ptr<RowSink> sink;
  if (o.format == "tsv") {
    sink = std::make_unique<TsvSink>(output, store.attack_names());
  } else {
    auto h5 = std::make_unique<H5Sink>(output, dim, store);
    ScoreWriter& w = h5->writer();
    // Shards computed in other arithmetic must not merge silently: bf16 marks the hash.
    w.set_attr(metrics::kShardModelHash, o.precision == "bf16" ? m.content_hash + "+bf16" : m.content_hash);
    w.set_attr("precision", o.precision);
    w.set_attr(metrics::kShardSamplesFingerprint, store.fingerprint() + selection);
    w.set_attr(metrics::kShardSamplesTotal, static_cast<int64_t>(selected.size()));
    if (!o.shard.empty()) w.set_attr(metrics::kShardAttr, shard.str());
    w.set_attr("model", model_path);
    w.set_attr("samples", o.data);
    if (!selection.empty()) w.set_attr("selection", selection.substr(1));
    sink = std::move(h5);
  }

  // Batches follow one grid over the whole selection, whatever the shard: a sample is
  // always computed in the same batch, so shards merge into exactly the numbers of an
  // unsharded run (batch composition changes the floating-point sums). A shard
  // computes at most two batches partly outside itself and drops those rows.
  const int64_t total = static_cast<int64_t>(selected.size());
  std::vector<std::vector<data::SampleRef>> batches;
  for (int64_t b = first - first % o.batch_size; b < last; b += o.batch_size) {
    std::vector<data::SampleRef> batch;
    for (int64_t i = b; i < std::min(total, b + o.batch_size); ++i) batch.push_back({0, selected[i], 0});
    batches.push_back(std::move(batch));
  }
  int res = static_cast<int>(m.model->clip()->config().image_resolution);
  data::BatchLoader loader({&store}, batches, res, data::AugmentOptions{}, /*train=*/false);
  compute::PrecisionScope precision(compute::parse_precision(o.precision), device);
  Progress progress("scoring", last - first, "samples");
  int64_t batch_start = first - first % o.batch_size;
  data::Batch batch;
  while (loader.next(batch)) {
    at::Tensor features;
    at::Tensor scores = m.model->score(data::to_device(batch.images, device), batch.modality, o.features ? &features : nullptr)
                            .to(at::kCPU, at::kFloat)  // bf16 under CUDA autocast
                            .contiguous();
    if (o.features) features = features.to(at::kCPU, at::kFloat).contiguous();
    const int64_t n = static_cast<int64_t>(batch.refs.size());
    // The batch's indices ascend: one read of the string columns covers them.
    const int64_t lo = batch.refs.front().index, span = batch.refs.back().index - lo + 1;
    std::vector<std::string> videos = store.videos(lo, span), sources = store.sources(lo, span);
    const float* p = scores.data_ptr<float>();
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
      sink->add(row, o.features ? features.data_ptr<float>() + i * dim : nullptr);
      progress.advance();
    }
    batch_start += n;
  }
  sink->commit();
  progress.finish();
  return last - first;
}

}  // namespace cmclip::model
