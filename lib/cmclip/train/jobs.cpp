#include "cmclip/train/jobs.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/clip/weights.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/train/distributed.hpp"

namespace cmclip::train {

namespace {
std::optional<Modality> modality_filter(const std::string& name) {
  if (name.empty() || name == "all") return std::nullopt;
  return parse_modality(name);
}

void check_prompt_modality(const model::FasModel& m, std::optional<Modality> mod, const std::string& what) {
  if (!mod || m->method() != model::Method::cm_clip) return;
  const auto& names = m->options().modalities;
  for (const auto& n : names)
    if (parse_modality(n) == *mod) return;
  throw UsageError(fmt::format("{} is {}, which the model's prompts do not describe (--prompt-modalities {})", what,
                               modality_name(*mod), fmt::join(names, ",")));
}

std::optional<DevSet> open_dev(const std::string& path, const std::string& modality, const std::string& fallback,
                               std::unique_ptr<SampleStore>& holder) {
  if (path.empty()) return std::nullopt;
  holder = std::make_unique<SampleStore>(path);
  DevSet d{holder.get(), modality_filter(modality.empty() ? fallback : modality)};
  return d;
}

// This rank's device: --device cuda means cuda:LOCAL_RANK under a multi-rank launch.
// Checked before the rendezvous, so a bad --device fails at once on every rank.
std::string training_device(const std::string& requested) {
  std::string device = rank_device(requested, read_dist_env());
  parse_device(device);
  return device;
}

// Model options on the command line of fas-fewshot --init CHECKPOINT must agree with
// the checkpoint's: the model adapted is the checkpoint's, and an option that asks for
// another one (--method coop on a cm-clip checkpoint, say) is refused rather than
// silently ignored. An option left at its default asks for nothing.
void check_model_options_agree(const model::ModelOptions& asked, const model::ModelOptions& loaded,
                               const std::string& init) {
  std::map<std::string, h5::AttrValue> given, defaults, stored;
  asked.to_config(given);
  model::ModelOptions{}.to_config(defaults);
  loaded.to_config(stored);
  for (const auto& [key, value] : given) {
    std::string v = h5::attr_to_string(value);
    if (v == h5::attr_to_string(defaults.at(key)) || v == h5::attr_to_string(stored.at(key))) continue;
    throw InputError(init, "/config",
                     fmt::format("the checkpoint's model has {} = {}, but the command line asks for {}; the model "
                                 "adapted is the checkpoint's (leave the model options out, or train a new one "
                                 "with fas-pretrain)",
                                 key, h5::attr_to_string(stored.at(key)), v));
  }
}

void check_outputs(const std::string& output) {
  check_output_path(output);
  check_output_path(last_checkpoint_path(output));
}

void log_result(const TrainResult& r, const std::string& output) {
  if (r.stopped_early) return;
  if (r.best_dev)
    log::info("done: {} epochs; best dev AUC {:.4f}, HTER {:.4f}; model in {}", r.epochs_done, r.best_dev->auc,
              r.best_dev->hter, output);
  else
    log::info("done: {} epochs; model in {}", r.epochs_done, output);
}

// A few-shot checkpoint refers to its frozen CLIP instead of copying it. When the
// --init checkpoint holds the weights, refer to that file (by its name when it sits
// beside the output, else by absolute path): the user has it, unlike perhaps the
// archive it was made from. The content hash guards the reference either way.
void refer_to_init_weights(clip::Clip& c, const std::string& init, const std::string& output) {
  auto config = read_checkpoint_config(init);
  auto embedded = config.find("clip_weights_embedded");
  if (embedded == config.end() || h5::attr_to_string(embedded->second) != "1") return;
  std::string init_abs = absolute_path(init), out_dir = absolute_path(dirname_of(output));
  clip::ClipProvenance p = c->provenance();
  p.source = dirname_of(init_abs) == out_dir ? basename_of(init_abs) : init_abs;
  c->set_provenance(std::move(p));
}

void register_dev(CLI::App& app, std::string& path, std::string& modality) {
  app.add_option("--dev", path, "Development sample store: evaluated each epoch, selects the kept checkpoint")
      ->check(CLI::ExistingFile);
  app.add_option("--dev-modality", modality, "Modality of the dev samples to use (default: --modality)");
}
}  // namespace

void PretrainOptions::register_on(CLI::App& app) {
  app.add_option("--clip", clip, "CLIP to start from: OpenAI archive (ViT-B-16.pt), cmclip checkpoint, builtin:tiny "
                 "(or builtin:vit-b-16-random for benchmarks)")
      ->required();
  app.add_option("--bpe", bpe, "CLIP BPE vocabulary (default $CMCLIP_BPE, then ~/.cache/cmclip)");
  app.add_option("--vision-heads", heads.vision_heads, "Vision attention heads (default: width/64)");
  app.add_option("--text-heads", heads.text_heads, "Text attention heads (default: width/64)");
  app.add_option("--train", train_path, "Training sample store (fas-preprocess, fas-synth)")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--modality", modality, "Train on this modality's samples (or all)")->capture_default_str();
  register_dev(app, dev_path, dev_modality);
  app.add_flag("--clip-by-reference", clip_by_reference,
               "Store the frozen CLIP weights by reference (path + hash) instead of in the checkpoint");
  app.add_option("-o,--output", training.output, "Checkpoint to write (also OUT.last.h5 for --resume)")->required();
  model.register_on(app);
  training.register_on(app, 10);
  optimizer.register_on(app);
}

void FewshotOptions::register_on(CLI::App& app) {
  app.add_option("--init", init, "Checkpoint to adapt (fas-pretrain output), or a CLIP spec with --method")->required();
  app.add_option("--bpe", bpe, "CLIP BPE vocabulary (default $CMCLIP_BPE, then ~/.cache/cmclip)");
  app.add_option("--train", train_path, "Sample store holding the target-modality training samples")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--modality", modality, "Target modality: depth, nir, thermal (or rgb)")->required();
  app.add_option("--shots", shots, "K: labelled videos per class (frames without video keys)")->capture_default_str();
  app.add_option("--replay", replay_path, "Mix in source (RGB) samples from this store")->check(CLI::ExistingFile);
  app.add_option("--replay-ratio", replay_ratio, "Share of each batch taken from --replay")->capture_default_str();
  app.add_option("--replay-modality", replay_modality, "Modality of the replayed samples")->capture_default_str();
  register_dev(app, dev_path, dev_modality);
  app.add_flag("--embed-clip", embed_clip,
               "Copy the frozen CLIP weights into the checkpoint (default: refer to them by path and hash)");
  app.add_option("-o,--output", training.output, "Checkpoint to write (also OUT.last.h5 for --resume)")->required();
  model.register_on(app);
  training.register_on(app, 30);
  optimizer.register_on(app);
}

TrainResult run_pretrain(const PretrainOptions& o, const CommonOptions& common) {
  o.model.validate();
  o.training.validate();
  o.optimizer.validate();
  check_outputs(o.training.output);
  const std::string device = training_device(common.device);
  // Join the other ranks first: from here on only rank 0 logs.
  auto comm = make_communicator(device);
  SampleStore train_store(o.train_path);
  std::unique_ptr<SampleStore> dev_store;
  std::optional<DevSet> dev = open_dev(o.dev_path, o.dev_modality, o.modality, dev_store);
  auto filter = modality_filter(o.modality);
  model::LoadedModel m = model::new_model(o.clip, o.model, o.bpe, o.heads, common.seed);
  check_prompt_modality(m.model, filter, "--modality");
  m.model->to(parse_device(device));
  if (dev) check_prompt_modality(m.model, dev->modality, "the dev modality");
  log::info("model: {} over CLIP {} ({}), {} trainable parameters", o.model.method, o.clip,
            m.model->clip()->config().describe(), [&] {
              int64_t n = 0;
              for (auto& [k, t] : m.model->trainable()) n += t.numel();
              return n;
            }());
  TrainJob job;
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
  TrainResult r = train(job, o.training, o.optimizer, *comm);
  log_result(r, o.training.output);
  return r;
}

TrainResult run_fewshot(const FewshotOptions& o, const CommonOptions& common) {
  check_outputs(o.training.output);
  if (o.replay_ratio < 0 || o.replay_ratio >= 1) throw UsageError("--replay-ratio must be in [0, 1)");
  o.training.validate();
  o.optimizer.validate();
  const std::string device = training_device(common.device);
  auto comm = make_communicator(device);
  Modality target = parse_modality(o.modality);
  SampleStore train_store(o.train_path);
  std::unique_ptr<SampleStore> replay_store, dev_store;
  std::optional<DevSet> dev = open_dev(o.dev_path, o.dev_modality, o.modality, dev_store);

  bool from_checkpoint = is_checkpoint_file(o.init);
  model::LoadedModel m = from_checkpoint ? model::load_model_checkpoint(o.init, o.bpe)
                                         : model::new_model(o.init, o.model, o.bpe, {}, common.seed);
  if (from_checkpoint) check_model_options_agree(o.model, m.model->options(), o.init);
  check_prompt_modality(m.model, target, "--modality");
  m.model->to(parse_device(device));
  if (from_checkpoint && !o.embed_clip) refer_to_init_weights(m.model->clip(), o.init, o.training.output);
  TrainJob job;
  job.model = &m;
  job.train = &train_store;
  job.target = data::kshot_pool(train_store, target, static_cast<int>(o.shots), common.seed);
  if (!o.replay_path.empty()) {
    replay_store = std::make_unique<SampleStore>(o.replay_path);
    auto rm = modality_filter(o.replay_modality);
    check_prompt_modality(m.model, rm, "--replay-modality");
    job.replay = replay_store.get();
    job.replay_pool = data::full_pool(*replay_store, rm);
    job.replay_ratio = o.replay_ratio;
  }
  job.dev = dev;
  job.seed = common.seed;
  job.embed_clip = o.embed_clip;
  job.parent = from_checkpoint ? m.content_hash : clip::clip_weights_hash(m.model->clip());
  job.extra_config["tool"] = std::string("fas-fewshot");
  job.extra_config["init"] = o.init;
  job.extra_config["train_data"] = o.train_path;
  job.extra_config["kshot_modality"] = modality_name(target);
  job.extra_config["kshot_shots"] = o.shots;
  job.extra_config["kshot_seed"] = static_cast<int64_t>(common.seed);
  job.extra_config["kshot_live"] = job.target.group_keys[1];
  job.extra_config["kshot_attack"] = job.target.group_keys[0];
  if (job.replay) job.extra_config["replay_data"] = o.replay_path;
  log::info("{}-shot {}: live {} | attack {}", o.shots, modality_name(target), fmt::join(job.target.group_keys[1], " "),
            fmt::join(job.target.group_keys[0], " "));
  TrainResult r = train(job, o.training, o.optimizer, *comm);
  log_result(r, o.training.output);
  return r;
}

}  // namespace cmclip::train
