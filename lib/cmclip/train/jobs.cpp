#include "cmclip/train/jobs.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/clip/weights.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/train/distributed.hpp"
#include "cmclip/train/presets.hpp"

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
// silently ignored, whatever its value (--lambda-dec 1 on a 0.5 checkpoint included).
void check_model_options_agree(const model::ModelOptions& asked, const model::ModelOptions& loaded,
                               const std::string& init) {
  std::map<std::string, h5::AttrValue> given, stored;
  asked.to_config(given);
  loaded.to_config(stored);
  for (const auto& key : asked.given_keys()) {
    std::string v = h5::attr_to_string(given.at(key));
    if (v == h5::attr_to_string(stored.at(key))) continue;
    throw InputError(init, "/config",
                     fmt::format("the checkpoint's model has {} = {}, but the command line asks for {}; the model "
                                 "adapted is the checkpoint's (leave the model options out, or train a new one "
                                 "with fas-pretrain)",
                                 key, h5::attr_to_string(stored.at(key)), v));
  }
}

// Every file a training run writes, checked before any work: the checkpoints and the
// --profile trace.
void check_outputs(const TrainOptions& training) {
  check_output_path(training.output);
  check_output_path(last_checkpoint_path(training.output));
  if (!training.profile.empty()) check_output_path(training.profile);
}

void log_result(const TrainResult& r, const TrainJob& job, const std::string& output) {
  if (r.stopped_early) return;
  bool probe = job.model->model->method() == model::Method::linear_probe;
  std::string done = probe ? "fitted" : fmt::format("{} epochs", r.epochs_done);
  if (r.best_dev)
    log::info("done: {}; {} dev AUC {:.4f}, HTER {:.4f}; model in {}", done,
              probe ? "its" : job.select_by_dev ? "best" : "last epoch's", r.best_dev->auc, r.best_dev->hter, output);
  else
    log::info("done: {}; model in {}", done, output);
}

// The method's published settings for what the command line left out (presets.hpp);
// for linear-probe, says which training options L-BFGS does not use.
template <typename Options>
void apply_method_preset(model::Method method, const MethodPreset& preset, const Options& o, PresetTargets targets) {
  auto given = [&](const std::string& flag) { return o.given(flag); };
  apply_preset(preset, given, targets);
  if (method != model::Method::linear_probe) return;
  std::vector<std::string> unused;
  for (const char* flag : {"--epochs", "--batch-size", "--optimizer", "--lr", "--min-lr", "--weight-decay",
                           "--momentum", "--clip-grad-norm", "--warmup-steps", "--warmup-lr", "--warmup-type"})
    if (given(flag)) unused.push_back(flag);
  if (!unused.empty())
    log::warn("linear-probe is fitted by L-BFGS on frozen features: {} do not apply and are ignored",
              fmt::join(unused, " "));
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

void register_dev(CLI::App& app, std::string& path, const char* help) {
  app.add_option("--dev", path, help)->check(CLI::ExistingFile);
}

// The source samples replayed in few-shot batches: --replay, else --train when it holds
// samples of the replay modality, else the store the checkpoint was trained on.
std::string replay_store_path(const FewshotOptions& o, const SampleStore& train, Modality replay_modality) {
  if (o.replay_ratio == 0) return {};
  if (!o.replay_path.empty()) return o.replay_path;
  const auto& mods = train.modalities();
  if (std::find(mods.begin(), mods.end(), static_cast<int8_t>(replay_modality)) != mods.end()) return o.train_path;
  std::string trained_on;
  if (is_checkpoint_file(o.init)) {
    auto config = read_checkpoint_config(o.init);
    auto it = config.find("train_data");
    if (it != config.end()) trained_on = h5::attr_to_string(it->second);
  }
  if (!trained_on.empty() && file_exists(trained_on)) return trained_on;
  throw UsageError(fmt::format("fas-fewshot replays {} samples by default, but --train {} has none{}; give "
                               "--replay STORE, or --replay-ratio 0 to train on the K shots alone",
                               modality_name(replay_modality), o.train_path,
                               trained_on.empty() ? std::string()
                                                  : fmt::format(" and the checkpoint's training store {} is not "
                                                                "readable here", trained_on)));
}

data::Pool select_shots(const FewshotOptions& o, const SampleStore& train, Modality target) {
  if (!o.shots_in.empty())
    return data::listed_shots_pool(train, target, data::read_shots(o.shots_in), o.shots_in);
  return data::kshot_pool(train, target,
                          data::KshotOptions{static_cast<int>(o.shots), static_cast<int>(o.frames_per_shot), o.shot_seed});
}

std::vector<std::string> shot_lines(const data::Pool& p) {
  std::vector<std::string> lines;
  for (const auto& s : p.shots) lines.push_back(fmt::format("{}\t{}\t{}", s.cls ? "live" : "attack", s.video, s.frame));
  return lines;
}
}  // namespace

bool PretrainOptions::given(const std::string& flag) const { return cli_ && cli_->count(flag) > 0; }
bool FewshotOptions::given(const std::string& flag) const { return cli_ && cli_->count(flag) > 0; }

void PretrainOptions::register_on(CLI::App& app) {
  cli_ = &app;
  app.add_option("--clip", clip, "CLIP to start from: OpenAI archive (ViT-B-16.pt), cmclip checkpoint, builtin:tiny "
                 "(or builtin:vit-b-16-random for benchmarks)")
      ->required();
  app.add_option("--bpe", bpe, "CLIP BPE vocabulary (default $CMCLIP_BPE, then ~/.cache/cmclip)");
  app.add_option("--vision-heads", heads.vision_heads, "Vision attention heads (default: width/64)");
  app.add_option("--text-heads", heads.text_heads, "Text attention heads (default: width/64)");
  app.add_option("--train", train_path, "Training sample store (fas-preprocess, fas-synth)")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--modality", modality, "Train on this modality's samples (or all)")->capture_default_str();
  register_dev(app, dev_path, "Development sample store: evaluated each epoch, selects the kept checkpoint");
  app.add_option("--dev-modality", dev_modality, "Modality of the dev samples to use (default: --modality)");
  app.add_flag("--clip-by-reference", clip_by_reference,
               "Store the frozen CLIP weights by reference (path + hash) instead of in the checkpoint");
  app.add_option("-o,--output", training.output, "Checkpoint to write (also OUT.last.h5 for --resume)")->required();
  model.register_on(app);
  training.register_on(app, 10);
  optimizer.register_on(app);
}

void FewshotOptions::register_on(CLI::App& app) {
  cli_ = &app;
  app.add_option("--init", init, "Checkpoint to adapt (fas-pretrain output), or a CLIP spec with --method")->required();
  app.add_option("--bpe", bpe, "CLIP BPE vocabulary (default $CMCLIP_BPE, then ~/.cache/cmclip)");
  app.add_option("--train", train_path, "Sample store holding the target-modality training samples")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--modality", modality, "Target modality: depth, nir, thermal (or rgb)")->required();
  auto* k = app.add_option_group("Shots", "The only labelled target data the run uses");
  auto* shots_opt = k->add_option("--shots", shots, "K: labelled videos per class (stills where the store has no "
                                  "video keys)")->capture_default_str();
  auto* frames_opt = k->add_option("--frames-per-shot", frames_per_shot,
                                   "N: fixed frames of each shot video, the only ones trained on (0: all)")
                         ->capture_default_str();
  auto* seed_opt = k->add_option("--shot-seed", shot_seed, "Seed of the shot draw (independent of --seed)")
                       ->capture_default_str();
  k->add_option("--shots-in", shots_in, "Train on the shots of this list (--shots-out of another run, or a "
                "peer's list: label, video, frame per line)")
      ->check(CLI::ExistingFile)->excludes(shots_opt)->excludes(frames_opt)->excludes(seed_opt);
  k->add_option("--shots-out", shots_out, "Also write the shot list here (it is in the checkpoint too)");
  k->add_option("--exclude", exclude, "Refuse shots whose video or subject appears in these stores (give the dev and "
                "test stores; --dev is always checked)")
      ->check(CLI::ExistingFile);
  auto* r = app.add_option_group("Source replay", "Source samples mixed into every batch (on by default)");
  r->add_option("--replay", replay_path, "Source sample store (default: --train if it holds --replay-modality "
                "samples, else the store the checkpoint was trained on)")
      ->check(CLI::ExistingFile);
  r->add_option("--replay-ratio", replay_ratio, "Share of each batch taken from the source samples (0: K shots only)")
      ->capture_default_str();
  r->add_option("--replay-modality", replay_modality, "Modality of the replayed samples")->capture_default_str();
  app.add_option("--select", select, "Epoch kept: last; source-dev (best on the --dev samples of --replay-modality); "
                 "target-dev (best on the --dev samples of --modality: uses labelled target data beyond the K "
                 "shots, a leak to report)")
      ->capture_default_str()->check(one_of({"last", "source-dev", "target-dev"}));
  register_dev(app, dev_path, "Development sample store: reported each epoch; selects the kept epoch with --select "
               "source-dev or target-dev");
  app.add_flag("--embed-clip", embed_clip,
               "Copy the frozen CLIP weights into the checkpoint (default: refer to them by path and hash)");
  app.add_option("-o,--output", training.output, "Checkpoint to write (also OUT.last.h5 for --resume)")->required();
  model.register_on(app);
  training.register_on(app, 30);
  optimizer.register_on(app);
}

void FewshotOptions::validate() const {
  if (replay_ratio < 0 || replay_ratio >= 1) throw UsageError("--replay-ratio must be in [0, 1)");
  if (frames_per_shot < 0) throw UsageError("--frames-per-shot must not be negative");
  if (select != "last" && dev_path.empty())
    throw UsageError(fmt::format("--select {} needs a dev sample store (--dev)", select));
  training.validate();
  optimizer.validate();
}

TrainResult run_pretrain(const PretrainOptions& given, const CommonOptions& common) {
  PretrainOptions o = given;
  model::Method method = o.model.parsed_method();
  apply_method_preset(method, method_preset(method, /*fewshot=*/false, 0, 0), given,
                      {&o.model, &o.training, &o.optimizer, nullptr});
  o.model.validate();
  o.training.validate();
  o.optimizer.validate();
  check_outputs(o.training);
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
  log_result(r, job, o.training.output);
  return r;
}

TrainResult run_fewshot(const FewshotOptions& given, const CommonOptions& common) {
  given.validate();
  FewshotOptions o = given;
  check_outputs(o.training);
  if (!o.shots_out.empty()) check_output_path(o.shots_out);
  const std::string device = training_device(common.device);
  auto comm = make_communicator(device);
  Modality target = parse_modality(o.modality);
  Modality source = parse_modality(o.replay_modality);
  SampleStore train_store(o.train_path);
  std::unique_ptr<SampleStore> replay_store, dev_store;
  std::optional<DevSet> dev =
      open_dev(o.dev_path, o.select == "source-dev" ? o.replay_modality : o.modality, o.modality, dev_store);

  bool from_checkpoint = is_checkpoint_file(o.init);
  // The shots first: the method's preset sizes its batches by them.
  data::Pool shots = select_shots(o, train_store, target);
  model::Method method = o.model.parsed_method();
  if (from_checkpoint) {
    auto config = read_checkpoint_config(o.init);
    auto it = config.find("method");  // absent: load_model_checkpoint says what the file is
    if (it != config.end()) method = model::parse_method(h5::attr_to_string(it->second));
  }
  // K of a listed shot set: its live videos (a list may give several frames of each).
  std::set<std::string> live_videos;
  for (const auto& shot : shots.shots)
    if (shot.cls == 1) live_videos.insert(shot.video);
  int64_t k = o.shots_in.empty() ? o.shots : static_cast<int64_t>(live_videos.size());
  apply_method_preset(method, method_preset(method, /*fewshot=*/true, k, static_cast<int64_t>(shots.shots.size())),
                      given, {from_checkpoint ? nullptr : &o.model, &o.training, &o.optimizer, &o.replay_ratio});
  o.validate();
  model::LoadedModel m = from_checkpoint ? model::load_model_checkpoint(o.init, o.bpe)
                                         : model::new_model(o.init, o.model, o.bpe, {}, common.seed);
  if (from_checkpoint) check_model_options_agree(o.model, m.model->options(), o.init);
  check_prompt_modality(m.model, target, "--modality");
  m.model->to(parse_device(device));
  if (from_checkpoint && !o.embed_clip) refer_to_init_weights(m.model->clip(), o.init, o.training.output);
  TrainJob job;
  job.model = &m;
  job.train = &train_store;
  job.target = std::move(shots);
  for (const auto& path : o.exclude) data::check_shots_disjoint(train_store, job.target.shots, SampleStore(path));
  if (dev) data::check_shots_disjoint(train_store, job.target.shots, *dev->store);
  std::string replay_path = replay_store_path(o, train_store, source);
  if (!replay_path.empty()) {
    replay_store = std::make_unique<SampleStore>(replay_path);
    check_prompt_modality(m.model, source, "--replay-modality");
    job.replay = replay_store.get();
    job.replay_pool = data::full_pool(*replay_store, source);
    job.replay_ratio = o.replay_ratio;
  }
  job.dev = dev;
  job.select_by_dev = o.select != "last";
  job.seed = common.seed;
  job.embed_clip = o.embed_clip;
  job.parent = from_checkpoint ? m.content_hash : clip::clip_weights_hash(m.model->clip());
  job.extra_config["tool"] = std::string("fas-fewshot");
  job.extra_config["init"] = o.init;
  job.extra_config["train_data"] = o.train_path;
  job.extra_config["kshot_modality"] = modality_name(target);
  job.extra_config["kshot_shots"] = k;
  job.extra_config["kshot_frames_per_shot"] = o.frames_per_shot;
  job.extra_config["kshot_seed"] = static_cast<int64_t>(o.shot_seed);
  job.extra_config["kshot_list"] = shot_lines(job.target);
  job.extra_config["kshot_source"] = o.shots_in.empty() ? std::string("drawn") : o.shots_in;
  job.extra_config["kshot_live"] = job.target.group_keys[1];
  job.extra_config["kshot_attack"] = job.target.group_keys[0];
  job.extra_config["fewshot_select"] = o.select;
  if (job.replay) {
    job.extra_config["replay_data"] = replay_path;
    job.extra_config["replay_modality"] = o.replay_modality;
  }
  log::info("{} {} shot frames{}: live {} | attack {}", job.target.shots.size(), modality_name(target),
            o.shots_in.empty() ? fmt::format(" (K = {}, shot seed {})", o.shots, o.shot_seed)
                               : fmt::format(" (from {})", o.shots_in),
            fmt::join(job.target.group_keys[1], " "), fmt::join(job.target.group_keys[0], " "));
  log::info("{}; kept epoch: {}{}",
            job.replay ? fmt::format("replaying {} samples of {} ({:.0f}% of each batch)", o.replay_modality,
                                     replay_path, 100 * o.replay_ratio)
                       : std::string("no replay: batches hold the K shots only"),
            o.select, o.select == "target-dev" ? " (labelled target dev data used beyond the K shots)" : "");
  TrainResult r = train(job, o.training, o.optimizer, *comm);
  if (!r.stopped_early && !o.shots_out.empty() && comm->is_root()) data::write_shots(o.shots_out, job.target.shots);
  log_result(r, job, o.training.output);
  return r;
}

}  // namespace cmclip::train
