#include "cmclip/jobs/pretrain.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "cmclip/clip/weights.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/jobs/training.hpp"
#include "cmclip/train/distributed.hpp"
#include "cmclip/train/presets.hpp"

namespace cmclip::jobs {

bool PretrainOptions::given(const std::string& flag) const { return cli_ && cli_->count(flag) > 0; }

void PretrainOptions::register_on(CLI::App& app) {
  cli_ = &app;
  clip_model.register_on(app, {"--clip",
                               "CLIP to start from: OpenAI archive (ViT-B-16.pt), cmclip checkpoint, builtin:tiny "
                               "(or builtin:vit-b-16-random for benchmarks)",
                               true});
  app.add_option("--train", train_path, "Training sample store (fas-preprocess, fas-synth)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--modality", modality, "Train on this modality's samples (or all)")->capture_default_str();
  training::register_dev(app, dev_path, "Development sample store: evaluated each epoch, selects the kept checkpoint");
  app.add_option("--dev-modality", dev_modality, "Modality of the dev samples to use (default: --modality)");
  app.add_flag("--clip-by-reference", clip_by_reference,
               "Store the frozen CLIP weights by reference (path + hash) instead of in the checkpoint");
  training::register_run(app, model, training, optimizer, /*default_epochs=*/10);
}

void PretrainOptions::validate() const {
  clip_model.validate();
  model.validate();
  training.validate();
  optimizer.validate();
}

train::TrainResult run_pretrain(const PretrainOptions& given, const CommonOptions& common) {
  PretrainOptions o = given;
  model::Method method = o.model.parsed_method();
  training::apply_method_preset(method, train::method_preset(method, /*fewshot=*/false, 0, 0),
                                [&](const std::string& flag) { return given.given(flag); },
                                {&o.model, &o.training, &o.optimizer, nullptr});
  o.validate();
  training::check_outputs(o.training);
  const std::string device = training::training_device(common.device);
  // Join the other ranks first: from here on only rank 0 logs.
  auto comm = train::make_communicator(device);
  SampleStore train_store(o.train_path);
  std::unique_ptr<SampleStore> dev_store;
  std::optional<train::DevSet> dev = training::open_dev(o.dev_path, o.dev_modality, o.modality, dev_store);
  auto filter = training::modality_filter(o.modality);
  const clip::ClipModelOptions& base = o.clip_model;
  model::LoadedModel m = model::new_model(base.model, o.model, base.bpe, base.heads, common.seed);
  training::check_prompt_modality(m.model, filter, "--modality");
  m.model->to(parse_device(device));
  if (dev) training::check_prompt_modality(m.model, dev->modality, "the dev modality");
  log::info("model: {} over CLIP {} ({}), {} trainable parameters", o.model.method, base.model,
            m.model->clip()->config().describe(), [&] {
              int64_t n = 0;
              for (auto& [k, t] : m.model->trainable()) n += t.numel();
              return n;
            }());
  train::TrainJob job;
  job.model = &m;
  job.train = &train_store;
  job.target = data::full_pool(train_store, filter);
  job.dev = dev;
  job.seed = common.seed;
  job.embed_clip = !o.clip_by_reference;
  job.parent = clip::clip_weights_hash(m.model->clip());
  job.extra_config["tool"] = std::string("fas-pretrain");
  job.extra_config["train_data"] = o.train_path;
  job.extra_config["train_modality"] = o.modality;
  log::info("training on {} live and {} attack samples of {} ({})", job.target.count(1), job.target.count(0),
            o.train_path, o.modality);
  train::TrainResult r = train::train(job, o.training, o.optimizer, *comm);
  training::log_result(r, job, o.training.output);
  return r;
}

}  // namespace cmclip::jobs
