#include "cmclip/jobs/fewshot.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/clip/weights.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/jobs/training.hpp"
#include "cmclip/train/distributed.hpp"
#include "cmclip/train/presets.hpp"

namespace cmclip::jobs {

namespace {
const Choices kSelect{"last", "source-dev", "target-dev"};
}  // namespace

bool FewshotOptions::given(const std::string& flag) const { return cli_ && cli_->count(flag) > 0; }

void FewshotOptions::register_on(CLI::App& app) {
  cli_ = &app;
  init.register_on(app, {"--init", "Checkpoint to adapt (fas-pretrain output), or a CLIP spec with --method", true});
  app.add_option("--train", train_path, "Sample store holding the target-modality training samples")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--modality", modality, "Target modality: depth, nir, thermal (or rgb)")->required();
  auto* k = app.add_option_group("Shots", "The only labelled target data the run uses");
  auto* shots_opt = k->add_option("--shots", shots,
                                  "K: labelled videos per class (stills where the store has no "
                                  "video keys)")
                        ->capture_default_str();
  auto* frames_opt = k->add_option("--frames-per-shot", frames_per_shot,
                                   "N: fixed frames of each shot video, the only ones trained on (0: all)")
                         ->capture_default_str();
  auto* seed_opt =
      k->add_option("--shot-seed", shot_seed, "Seed of the shot draw (independent of --seed)")->capture_default_str();
  k->add_option("--shots-in", shots_in,
                "Train on the shots of this list (--shots-out of another run, or a "
                "peer's list: label, video, frame per line)")
      ->check(CLI::ExistingFile)
      ->excludes(shots_opt)
      ->excludes(frames_opt)
      ->excludes(seed_opt);
  k->add_option("--shots-out", shots_out, "Also write the shot list here (it is in the checkpoint too)");
  k->add_option("--exclude", exclude,
                "Refuse shots whose video or subject appears in these stores (give the dev and "
                "test stores; --dev is always checked)")
      ->check(CLI::ExistingFile);
  auto* r = app.add_option_group("Source replay", "Source samples mixed into every batch (on by default)");
  r->add_option("--replay", replay_path,
                "Source sample store (default: --train if it holds --replay-modality "
                "samples, else the store the checkpoint was trained on)")
      ->check(CLI::ExistingFile);
  r->add_option("--replay-ratio", replay_ratio, "Share of each batch taken from the source samples (0: K shots only)")
      ->capture_default_str();
  r->add_option("--replay-modality", replay_modality, "Modality of the replayed samples")->capture_default_str();
  app.add_option("--select", select,
                 "Epoch kept: last; source-dev (best on the --dev samples of --replay-modality); "
                 "target-dev (best on the --dev samples of --modality: uses labelled target data beyond the K "
                 "shots, a leak to report)")
      ->capture_default_str()
      ->check(one_of(kSelect.names()));
  training::register_dev(app, dev_path,
                         "Development sample store: reported each epoch; selects the kept epoch with --select "
                         "source-dev or target-dev");
  app.add_flag("--embed-clip", embed_clip,
               "Copy the frozen CLIP weights into the checkpoint (default: refer to them by path and hash)");
  training::register_run(app, model, training, optimizer, /*default_epochs=*/30);
}

void FewshotOptions::validate() const {
  if (replay_ratio < 0 || replay_ratio >= 1) throw UsageError("--replay-ratio must be in [0, 1)");
  if (frames_per_shot < 0) throw UsageError("--frames-per-shot must not be negative");
  kSelect.check(select, "--select");
  if (select != "last" && dev_path.empty())
    throw UsageError(fmt::format("--select {} needs a dev sample store (--dev)", select));
  init.validate();
  training.validate();
  optimizer.validate();
}

namespace {

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

// The source samples replayed in few-shot batches: --replay, else --train when it holds
// samples of the replay modality, else the store the checkpoint was trained on.
std::string replay_store_path(const FewshotOptions& o, const SampleStore& train, Modality replay_modality) {
  if (o.replay_ratio == 0) return {};
  if (!o.replay_path.empty()) return o.replay_path;
  const auto& mods = train.modalities();
  if (std::find(mods.begin(), mods.end(), static_cast<int8_t>(replay_modality)) != mods.end()) return o.train_path;
  std::string trained_on;
  if (is_checkpoint_file(o.init.model)) {
    auto config = read_checkpoint_config(o.init.model);
    auto it = config.find("train_data");
    if (it != config.end()) trained_on = h5::attr_to_string(it->second);
  }
  if (!trained_on.empty() && file_exists(trained_on)) return trained_on;
  throw UsageError(
      fmt::format("fas-fewshot replays {} samples by default, but --train {} has none{}; give "
                  "--replay STORE, or --replay-ratio 0 to train on the K shots alone",
                  modality_name(replay_modality), o.train_path,
                  trained_on.empty() ? std::string()
                                     : fmt::format(" and the checkpoint's training store {} is not "
                                                   "readable here",
                                                   trained_on)));
}

data::Pool select_shots(const FewshotOptions& o, const SampleStore& train, Modality target) {
  if (!o.shots_in.empty()) return data::listed_shots_pool(train, target, data::read_shots(o.shots_in), o.shots_in);
  return data::kshot_pool(
      train, target, data::KshotOptions{static_cast<int>(o.shots), static_cast<int>(o.frames_per_shot), o.shot_seed});
}

std::vector<std::string> shot_lines(const data::Pool& p) {
  std::vector<std::string> lines;
  for (const auto& s : p.shots) lines.push_back(fmt::format("{}\t{}\t{}", s.cls ? "live" : "attack", s.video, s.frame));
  return lines;
}

// The method of the model adapted: the checkpoint's, else --method.
model::Method init_method(const FewshotOptions& o, bool from_checkpoint) {
  model::Method method = o.model.parsed_method();  // a bad --method fails either way
  if (!from_checkpoint) return method;
  auto config = read_checkpoint_config(o.init.model);
  auto it = config.find("method");  // absent: load_model_checkpoint says what the file is
  return it != config.end() ? model::parse_method(h5::attr_to_string(it->second)) : method;
}

// K: --shots, or for a listed shot set its live videos (a list may give several frames
// of each).
int64_t shot_count(const FewshotOptions& o, const data::Pool& shots) {
  if (o.shots_in.empty()) return o.shots;
  std::set<std::string> live_videos;
  for (const auto& shot : shots.shots)
    if (shot.cls == 1) live_videos.insert(shot.video);
  return static_cast<int64_t>(live_videos.size());
}

// The model adapted, on `device`: the --init checkpoint's (the command line's model
// options must agree with it), or a new one over the CLIP of --init.
model::LoadedModel load_init(const FewshotOptions& o, bool from_checkpoint, Modality target, const std::string& device,
                             uint64_t seed) {
  const clip::ClipModelOptions& init = o.init;
  if (from_checkpoint && init.heads_given())
    throw UsageError(
        fmt::format("--vision-heads and --text-heads apply to a CLIP spec; the checkpoint {} records "
                    "its own head counts",
                    init.model));
  model::LoadedModel m = from_checkpoint ? model::load_model_checkpoint(init.model, init.bpe)
                                         : model::new_model(init.model, o.model, init.bpe, init.heads, seed);
  if (from_checkpoint) check_model_options_agree(o.model, m.model->options(), init.model);
  training::check_prompt_modality(m.model, target, "--modality");
  m.model->to(parse_device(device));
  if (from_checkpoint && !o.embed_clip) refer_to_init_weights(m.model->clip(), init.model, o.training.output);
  return m;
}

// The checkpoint's record of the run (the shots, the replay, the kept epoch), and the
// log lines that say the same.
void record_run(train::TrainJob& job, const FewshotOptions& o, int64_t k, Modality target,
                const std::string& replay_path) {
  job.extra_config["tool"] = std::string("fas-fewshot");
  job.extra_config["init"] = o.init.model;
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
}

}  // namespace

train::TrainResult run_fewshot(const FewshotOptions& given, const CommonOptions& common) {
  given.validate();
  FewshotOptions o = given;
  training::check_outputs(o.training);
  if (!o.shots_out.empty()) check_output_path(o.shots_out);
  const std::string device = training::training_device(common.device);
  auto comm = train::make_communicator(device);
  Modality target = parse_modality(o.modality);
  Modality source = parse_modality(o.replay_modality);
  SampleStore train_store(o.train_path);
  std::unique_ptr<SampleStore> replay_store, dev_store;
  std::optional<train::DevSet> dev =
      training::open_dev(o.dev_path, o.select == "source-dev" ? o.replay_modality : o.modality, o.modality, dev_store);

  bool from_checkpoint = is_checkpoint_file(o.init.model);
  // The shots first: the method's preset sizes its batches by them.
  data::Pool shots = select_shots(o, train_store, target);
  model::Method method = init_method(o, from_checkpoint);
  int64_t k = shot_count(o, shots);
  training::apply_method_preset(
      method, train::method_preset(method, /*fewshot=*/true, k, static_cast<int64_t>(shots.shots.size())),
      [&](const std::string& flag) { return given.given(flag); },
      {from_checkpoint ? nullptr : &o.model, &o.training, &o.optimizer, &o.replay_ratio});
  o.validate();
  model::LoadedModel m = load_init(o, from_checkpoint, target, device, common.seed);
  train::TrainJob job;
  job.model = &m;
  job.train = &train_store;
  job.target = std::move(shots);
  for (const auto& path : o.exclude) data::check_shots_disjoint(train_store, job.target.shots, SampleStore(path));
  if (dev) data::check_shots_disjoint(train_store, job.target.shots, *dev->store);
  std::string replay_path = replay_store_path(o, train_store, source);
  if (!replay_path.empty()) {
    replay_store = std::make_unique<SampleStore>(replay_path);
    training::check_prompt_modality(m.model, source, "--replay-modality");
    job.replay = replay_store.get();
    job.replay_pool = data::full_pool(*replay_store, source);
    job.replay_ratio = o.replay_ratio;
  }
  job.dev = dev;
  job.select_by_dev = o.select != "last";
  job.seed = common.seed;
  job.embed_clip = o.embed_clip;
  job.parent = from_checkpoint ? m.content_hash : clip::clip_weights_hash(m.model->clip());
  record_run(job, o, k, target, replay_path);
  train::TrainResult r = train::train(job, o.training, o.optimizer, *comm);
  if (!r.stopped_early && !o.shots_out.empty() && comm->is_root()) data::write_shots(o.shots_out, job.target.shots);
  training::log_result(r, job, o.training.output);
  return r;
}

}  // namespace cmclip::jobs
