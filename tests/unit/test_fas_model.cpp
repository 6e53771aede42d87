// model/ + train/: the CM-CLIP model and its baselines over builtin:tiny, the loss
// terms against direct computations, what trains and what stays frozen, checkpoint
// round trips, and exact resume of the training loop.
#include <boost/test/unit_test.hpp>

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmclip/clip/weights.hpp"
#include "cmclip/compute/precision.hpp"
#include "cmclip/core/random.hpp"
#include "cmclip/data/loader.hpp"
#include "cmclip/data/sampler.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/model/fas_model.hpp"
#include "cmclip/train/trainer.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::model;
using cmclip::test::ScratchDir;

namespace {
ModelOptions options_for(const std::string& method) {
  ModelOptions o;
  o.method = method;
  o.n_ctx = 4;
  return o;
}

LoadedModel tiny(const std::string& method, ModelOptions o = {}) {
  if (o.method != method) o = options_for(method);
  return new_model("builtin:tiny", o, "");
}

at::Tensor images(int64_t n, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  return torch::randn({n, 3, 64, 64});
}

// A store of 64x64 crops whose classes differ in a simple, learnable way: live
// crops are bright textured, attacks dark and flat, in rgb and depth.
std::string make_store(const ScratchDir& dir, const std::string& name, int videos, uint64_t seed) {
  std::string path = dir.file(name);
  SampleWriter w(path, 64, 64, 3);
  Rng rng(seed);
  int64_t record = 0;
  for (int cls : {1, 0})
    for (int v = 0; v < videos; ++v)
      for (int f = 0; f < 2; ++f, ++record)
        for (Modality m : {Modality::rgb, Modality::depth}) {
          std::vector<uint8_t> img(64 * 64 * 3);
          for (size_t k = 0; k < img.size(); ++k) {
            double base = cls ? 150 : 90;
            double texture = cls ? 60 * rng.uniform() : 8 * rng.uniform();
            img[k] = static_cast<uint8_t>(base + texture + (m == Modality::depth ? -40 : 0));
          }
          SampleMeta meta;
          meta.label = static_cast<int8_t>(cls);
          meta.attack = cls ? 0 : w.attack_code("print");
          meta.modality = m;
          meta.video = fmt::format("{}-{}", cls ? "live" : "print", v);
          meta.frame = f;
          meta.source = fmt::format("{}/{}", meta.video, f);
          meta.record = record;
          w.append(img.data(), meta);
        }
  w.commit();
  return path;
}

// Trains `m` on the RGB samples of `store` as fas-pretrain does (batch 4, AdamW).
train::TrainResult train_rgb(LoadedModel& m, const SampleStore& store, const std::string& output, uint64_t seed,
                             int64_t epochs, bool resume = false, std::function<bool(int64_t)> stop = {}) {
  train::TrainJob job;
  job.model = &m;
  job.train = &store;
  job.target = data::full_pool(store, Modality::rgb);
  job.seed = seed;
  job.embed_clip = false;
  job.stop_after_step = std::move(stop);
  train::TrainOptions to;
  to.epochs = epochs;
  to.batch_size = 4;
  to.output = output;
  to.resume = resume;
  auto comm = train::local_communicator();
  return train::train(job, to, train::OptimizerOptions{}, *comm);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(fas_model)

BOOST_AUTO_TEST_CASE(untrained_cm_clip_is_exactly_frozen_clip) {
  LoadedModel m = tiny("cm-clip");
  m.model->train();  // dropout active: the zero up-projection still adds exactly 0
  at::Tensor x = images(3, 1);
  at::Tensor ours = m.model->image_features(x);
  at::Tensor clip;
  {
    torch::NoGradGuard g;
    clip = m.model->clip()->encode_image(x);
  }
  clip = clip / clip.norm(2, -1, true);
  BOOST_TEST(torch::equal(ours.detach(), clip));
}

BOOST_AUTO_TEST_CASE(adapters_sit_where_the_options_say) {
  ModelOptions o = options_for("cm-clip");
  BOOST_TEST(tiny("cm-clip", o).model->adapters->size() == 4u);  // 2 blocks x attn, mlp
  o.adapter_blocks = "1";
  o.adapter_sites = "mlp";
  BOOST_TEST(tiny("cm-clip", o).model->adapters->size() == 1u);
  o.adapter_blocks = "all";
  o.adapter_sites = "attn,mlp";
  o.adapter_shared = true;
  BOOST_TEST(tiny("cm-clip", o).model->adapters->size() == 1u);
  o.adapter_blocks = "none";
  BOOST_TEST(tiny("cm-clip", o).model->adapters->size() == 0u);
  o.adapter_blocks = "5";
  test::expect_error([&] { tiny("cm-clip", o); }, ExitCode::bad_input, {"block 5 does not exist"});
  BOOST_TEST(tiny("coop").model->adapters->size() == 0u);
}

BOOST_AUTO_TEST_CASE(meta_net_makes_text_features_depend_on_the_image) {
  for (const char* method : {"cocoop", "cm-clip"}) {
    LoadedModel m = tiny(method);
    {
      // Make the meta-net's output non-trivial.
      torch::NoGradGuard g;
      for (auto& p : m.model->prompt->meta_net->parameters()) p.normal_(0, 0.5);
    }
    at::Tensor f = m.model->image_features(images(2, 2));
    PromptFeatures t = m.model->prompt->forward(f, false, false);
    BOOST_TEST(t.category.size(0) == 2);
    BOOST_TEST((t.category[0] - t.category[1]).abs().max().item<float>() > 1e-4, method);
  }
  LoadedModel coop = tiny("coop");
  at::Tensor f = coop.model->image_features(images(2, 2));
  PromptFeatures t = coop.model->prompt->forward(f, false, false);
  BOOST_TEST(t.category.size(0) == 1);  // image-independent: computed once
}

BOOST_AUTO_TEST_CASE(every_model_option_round_trips_through_the_checkpoint_config) {
  // Parsed from a command line that changes every option from its default...
  CLI::App app;
  ModelOptions parsed;
  parsed.register_on(app);
  std::vector<std::string> args{"--method",
                                "coop",
                                "--n-ctx",
                                "5",
                                "--ctx-init-std",
                                "0.5",
                                "--ctx-init",
                                "a b",
                                "--ctx-layout",
                                "shared",
                                "--class-words",
                                "spoof,real",
                                "--prompt-modalities",
                                "rgb,nir",
                                "--modality-words",
                                "colour,infrared",
                                "--condition-modality",
                                "--no-permute-modality",
                                "--score",
                                "fg-ensemble",
                                "--zero-shot-prompts",
                                "x;y",
                                "--adapter-blocks",
                                "0-1",
                                "--adapter-sites",
                                "mlp",
                                "--adapter-shared",
                                "--adapter-dim",
                                "3",
                                "--adapter-theta",
                                "0.25",
                                "--adapter-per-channel-theta",
                                "--adapter-no-cls-conv",
                                "--adapter-dropout",
                                "0.2",
                                "--adapter-scale",
                                "2",
                                "--w-cat",
                                "2",
                                "--w-fg",
                                "3",
                                "--w-mod",
                                "4",
                                "--lambda-dec",
                                "5",
                                "--decorrelation",
                                "fine"};
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  app.parse(reversed);
  std::map<std::string, h5::AttrValue> config, defaults;
  parsed.to_config(config);
  ModelOptions{}.to_config(defaults);
  BOOST_TEST(parsed.given_keys().size() == config.size());  // every option is one config key
  for (const auto& [key, value] : config)
    BOOST_TEST(h5::attr_to_string(value) != h5::attr_to_string(defaults.at(key)), key << " kept its default");
  // ...reads back the same from a checkpoint's /config.
  Checkpoint ck;
  ck.config = config;
  ck.path = "x.h5";
  std::map<std::string, h5::AttrValue> again;
  ModelOptions::from_config(ck).to_config(again);
  for (const auto& [key, value] : config)
    BOOST_TEST(h5::attr_to_string(again.at(key)) == h5::attr_to_string(value), key);
  // A checkpoint older than --ctx-init, --ctx-layout and --decorrelation reads their
  // defaults (a coop checkpoint: the shared layout it was built with).
  for (const char* key : {"ctx_init", "ctx_layout", "decorrelation"}) ck.config.erase(key);
  ModelOptions old = ModelOptions::from_config(ck);
  BOOST_TEST(old.ctx_init.empty());
  BOOST_TEST(!old.class_specific_context());
  BOOST_TEST(old.decorrelation == "plain");
  // A key that every checkpoint has, missing: an error naming it.
  ck.config.erase("w_mod");
  test::expect_error([&] { ModelOptions::from_config(ck); }, ExitCode::bad_input, {"x.h5", "w_mod"});
  // Choices are checked on parse and in validate().
  ModelOptions bad;
  bad.score = "median";
  test::expect_error([&] { bad.validate(); }, ExitCode::bad_input, {"--score 'median'", "category or fg-ensemble"});
}

BOOST_AUTO_TEST_CASE(context_layout_and_word_initialisation) {
  // The method's own layout by default: one content context per class for cm-clip,
  // one shared by the classes for coop and cocoop; --ctx-layout overrides it.
  BOOST_TEST(tiny("cm-clip").model->prompt->content_ctx.size(0) == 2);
  BOOST_TEST(tiny("coop").model->prompt->content_ctx.size(0) == 1);
  ModelOptions o = options_for("coop");
  o.ctx_layout = "class-specific";
  BOOST_TEST(tiny("coop", o).model->prompt->content_ctx.size(0) == 2);
  std::map<std::string, h5::AttrValue> config;
  o.to_config(config);
  BOOST_TEST(h5::attr_to_string(config.at("ctx_layout")) == "class-specific");

  // --ctx-init: every class's context starts as the words' token embeddings.
  LoadedModel probe = tiny("cocoop");
  std::vector<int64_t> ids = probe.tokenizer.encode("a photo of a");
  o = options_for("cocoop");
  o.ctx_init = "a photo of a";
  o.n_ctx = static_cast<int64_t>(ids.size());
  o.ctx_layout = "class-specific";
  LoadedModel m = tiny("cocoop", o);
  at::Tensor want = m.model->clip()->token_embedding->forward(at::tensor(ids, at::kLong));
  for (int64_t k = 0; k < 2; ++k)
    BOOST_TEST((m.model->prompt->content_ctx[k] - want).abs().max().item<float>() == 0.0f);
  o.n_ctx = 0;  // the words' token count
  BOOST_TEST(tiny("cocoop", o).model->prompt->content_ctx.size(1) == static_cast<int64_t>(ids.size()));
  o.n_ctx = static_cast<int64_t>(ids.size()) + 1;
  test::expect_error([&] { tiny("cocoop", o); }, ExitCode::bad_input,
                     {"--ctx-init", fmt::format("is {} tokens", ids.size())});
}

BOOST_AUTO_TEST_CASE(loss_terms_match_direct_computations) {
  LoadedModel m = tiny("cm-clip");
  m.model->train();
  {
    torch::NoGradGuard g;
    for (auto& p : m.model->prompt->meta_net->parameters()) p.normal_(0, 0.3);
  }
  at::Tensor x = images(4, 3);
  at::Tensor labels = torch::tensor({1, 0, 1, 0}, torch::kLong);
  at::Tensor codes = torch::tensor({0, 1, 2, 1}, torch::kLong);  // rgb, depth, nir, depth
  torch::manual_seed(9);
  ModelOutput out = m.model->forward(x, {2, 0, 1});
  LossTerms l = m.model->loss(out, labels, codes);
  auto ce = [](const at::Tensor& logits, const at::Tensor& y) {
    at::Tensor logp = logits.log_softmax(-1);
    double s = 0;
    for (int64_t i = 0; i < y.size(0); ++i) s -= logp[i][y[i].item<int64_t>()].item<double>();
    return s / double(y.size(0));
  };
  double cat = ce(out.category, labels);
  double fg = 0;
  for (int64_t mm = 0; mm < 3; ++mm) fg += ce(out.fine.select(1, mm), labels) / 3;
  double mod = ce(out.modality, codes);  // slots equal codes for rgb,depth,nir
  BOOST_TEST(std::abs(l.terms.at("cat") - cat) < 1e-5);
  BOOST_TEST(std::abs(l.terms.at("fg") - fg) < 1e-5);
  BOOST_TEST(std::abs(l.terms.at("mod") - mod) < 1e-5);
  // L_dec: mean over (k, m) of squared cosines of the plain prompt features.
  PromptFeatures t = m.model->prompt->forward(out.image_features, true, true, {2, 0, 1});
  double dec = 0;
  for (int k = 0; k < 2; ++k)
    for (int mm = 0; mm < 3; ++mm)
      dec += std::pow((t.category_plain[k] * t.modality_plain[mm]).sum().item<double>(), 2) / 6;
  BOOST_TEST(std::abs(l.terms.at("dec") - dec) < 1e-6);
  BOOST_TEST(std::abs(l.terms.at("total") - (cat + fg + m.model->options().w_mod * mod + dec)) < 1e-4);
  // A batch of one modality has no modality contrast: L_mod is left out, the rest stays.
  LossTerms one = m.model->loss(out, labels, torch::tensor({1, 1, 1, 1}, torch::kLong));
  BOOST_TEST(one.terms.count("mod") == 0u);
  BOOST_TEST(one.weighted.count("mod") == 0u);
  BOOST_TEST(std::abs(one.terms.at("total") - (cat + fg + dec)) < 1e-4);
  // Logits are exp(logit_scale) times cosines: bounded by the scale.
  double scale = m.model->clip()->logit_scale.exp().item<double>();
  BOOST_TEST(out.category.abs().max().item<double>() <= scale + 1e-4);
  // A modality the prompts do not know is a clear error.
  test::expect_error(
      [&] {
        m.model->loss(out, labels, torch::tensor({3, 0, 0, 0}));
      },
      ExitCode::bad_input, {"modality thermal", "--prompt-modalities"});
}

BOOST_AUTO_TEST_CASE(decorrelation_variants_follow_their_formulas) {
  for (std::string variant : {"conditioned", "fine"}) {
    ModelOptions o = options_for("cm-clip");
    o.decorrelation = variant;
    LoadedModel m = tiny("cm-clip", o);
    m.model->train();
    {
      torch::NoGradGuard g;
      for (auto& p : m.model->prompt->meta_net->parameters()) p.normal_(0, 0.3);
    }
    at::Tensor x = images(3, 4);
    ModelOutput out = m.model->forward(x, {0, 1, 2});
    PromptFeatures t = m.model->prompt->forward(out.image_features, true, true, {0, 1, 2});
    auto dot = [](const at::Tensor& a, const at::Tensor& b) { return (a * b).sum().item<double>(); };
    double want = 0;
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t mm = 0; mm < 3; ++mm) {
        at::Tensor mod = t.modality_plain[mm];
        if (variant == "conditioned") {
          for (int64_t k = 0; k < 2; ++k) want += std::pow(dot(t.category[b][k], mod), 2) / 18;
        } else {
          at::Tensor d = t.fine[b][mm][1] - t.fine[b][mm][0];
          want += std::pow(dot(d / d.norm(), mod), 2) / 9;
        }
      }
    BOOST_TEST(std::abs(out.decorrelation.item<double>() - want) < 1e-5, variant);
    BOOST_TEST(want > 0, variant);
  }
}

BOOST_AUTO_TEST_CASE(only_trainable_parameters_change) {
  for (const char* method : {"cm-clip", "coop", "cocoop", "linear-probe"}) {
    LoadedModel m = tiny(method);
    m.model->train();
    NamedTensors frozen_before;
    for (const auto& p : m.model->clip()->named_parameters()) frozen_before.emplace_back(p.key(), p.value().clone());
    NamedTensors train_before;
    for (auto& [n, t] : m.model->trainable()) train_before.emplace_back(n, t.detach().clone());
    BOOST_TEST(!train_before.empty(), method);
    for (const auto& [n, t] : train_before)
      BOOST_TEST((n.rfind("prompt.", 0) == 0 || n.rfind("adapters.", 0) == 0 || n.rfind("head.", 0) == 0), n);
    train::OptimizerOptions oo;
    oo.lr = 0.05;
    train::Optimizer opt(m.model->trainable(), oo);
    at::Tensor labels = torch::tensor({1, 0}, torch::kLong), codes = torch::tensor({0, 0}, torch::kLong);
    for (int step = 0; step < 3; ++step) {
      ModelOutput out = m.model->forward(images(2, 10 + step));
      LossTerms l = m.model->loss(out, labels, codes);
      opt.zero_grad();
      l.total.backward();
      opt.step(0.05);
    }
    for (const auto& p : m.model->clip()->named_parameters())
      BOOST_TEST(!p.value().grad().defined(), method << ": gradient reached " << p.key());
    size_t i = 0;
    for (const auto& p : m.model->clip()->named_parameters())
      BOOST_TEST(torch::equal(p.value(), frozen_before[i++].second), method << ": frozen " << p.key() << " changed");
    bool changed = false;
    i = 0;
    for (auto& [n, t] : m.model->trainable()) changed |= !torch::equal(t, train_before[i++].second);
    BOOST_TEST(changed, method << ": no trainable parameter changed");
  }
}

BOOST_AUTO_TEST_CASE(zero_shot_scores_with_fixed_prompts) {
  LoadedModel m = tiny("zero-shot");
  BOOST_TEST(m.model->trainable().empty());
  at::Tensor p = m.model->score(images(3, 4));
  BOOST_TEST(p.size(0) == 3);
  BOOST_TEST((p >= 0).all().item<bool>());
  BOOST_TEST((p <= 1).all().item<bool>());
}

BOOST_AUTO_TEST_CASE(fg_ensemble_averages_category_and_own_modality_fine_grained) {
  ModelOptions o = options_for("cm-clip");
  o.score = "fg-ensemble";
  LoadedModel m = tiny("cm-clip", o);
  m.model->eval();
  {
    torch::NoGradGuard g;
    for (auto& p : m.model->prompt->meta_net->parameters()) p.normal_(0, 0.3);
    m.model->prompt->content_ctx.normal_(0, 0.5);
  }
  at::Tensor x = images(3, 21), codes = torch::tensor({0, 1, 2}, torch::kLong);
  at::Tensor features;
  at::Tensor p = m.model->score(x, codes, &features);
  // The same figure from separate calls: category prompts alone, fine-grained prompts
  // at each sample's modality slot (rgb 0, depth 1, nir 2).
  torch::NoGradGuard g;
  at::Tensor f = m.model->image_features(x);
  at::Tensor scale = m.model->clip()->logit_scale.exp();
  PromptFeatures cat = m.model->prompt->forward(f, false, false);
  at::Tensor p_cat = (scale * (f.unsqueeze(1) * cat.category).sum(-1)).softmax(-1).select(1, 1);
  for (int64_t i = 0; i < 3; ++i) {
    at::Tensor fine = m.model->prompt->fine_at(f, i)[i];  // [K, E] of sample i at slot i
    double p_fine = (scale * (f[i].unsqueeze(0) * fine).sum(-1)).softmax(-1)[1].item<double>();
    double want = 0.5 * (p_cat[i].item<double>() + p_fine);
    BOOST_TEST(std::abs(p[i].item<double>() - want) < 1e-5, "sample " << i);
  }
  BOOST_TEST((features - f).abs().max().item<double>() < 1e-6);
  test::expect_error([&] { m.model->score(x, torch::tensor({3, 3, 3})); }, ExitCode::bad_input, {"modality thermal"});
}

BOOST_AUTO_TEST_CASE(training_step_updates_and_refuses_a_diverged_loss) {
  for (auto precision : {compute::Precision::fp32, compute::Precision::bf16}) {
    LoadedModel m = tiny("cocoop");
    m.model->train();
    train::Optimizer opt(m.model->trainable(), train::OptimizerOptions{});
    train::Communicator local;
    data::Batch b;
    b.images = images(4, 30);
    b.labels = torch::tensor({1, 0, 1, 0}, torch::kLong);
    b.modality = torch::tensor({0, 0, 0, 0}, torch::kLong);
    NamedTensors before;
    for (auto& [n, t] : m.model->trainable()) before.emplace_back(n, t.detach().clone());
    compute::PrecisionScope scope(precision, m.model->device());
    train::StepResult r = train::training_step(m.model, b, {}, opt, 1e-2, 1.0, local);
    BOOST_TEST(!r.diverged);
    BOOST_TEST(std::isfinite(r.loss.terms.at("total")));
    bool changed = false;
    size_t i = 0;
    for (auto& [n, t] : m.model->trainable()) changed |= !torch::equal(t, before[i++].second);
    BOOST_TEST(changed, compute::precision_name(precision));
    // A non-finite input gives a non-finite loss: nothing is updated.
    b.images[0].fill_(std::nan(""));
    before.clear();
    for (auto& [n, t] : m.model->trainable()) before.emplace_back(n, t.detach().clone());
    r = train::training_step(m.model, b, {}, opt, 1e-2, 1.0, local);
    BOOST_TEST(r.diverged);
    i = 0;
    for (auto& [n, t] : m.model->trainable()) BOOST_TEST(torch::equal(t, before[i++].second), n);
  }
}

BOOST_AUTO_TEST_CASE(checkpoint_round_trip_gives_the_same_scores) {
  ScratchDir dir("fasckpt");
  for (const char* method : {"cm-clip", "cocoop", "linear-probe", "zero-shot"}) {
    LoadedModel m = tiny(method);
    {
      torch::NoGradGuard g;
      for (auto& [n, t] : m.model->trainable()) t.normal_(0, 0.1);
    }
    Checkpoint c;
    clip::add_clip_to_checkpoint(c, m.model->clip(), /*embed_weights=*/false);
    m.model->save_to(c);
    std::string path = dir.file(std::string(method) + ".h5");
    write_checkpoint(path, c);
    LoadedModel back = load_model_checkpoint(path, "");
    m.model->eval();
    at::Tensor x = images(2, 5);
    BOOST_TEST(torch::equal(m.model->score(x), back.model->score(x)), method);
    BOOST_TEST(back.model->options().method == method);
  }
  // A checkpoint without a trained model, or one missing a parameter, is refused by name.
  Checkpoint clip_only;
  LoadedModel m = tiny("cm-clip");
  clip::add_clip_to_checkpoint(clip_only, m.model->clip(), false);
  write_checkpoint(dir.file("clip.h5"), clip_only);
  test::expect_error([&] { load_model_checkpoint(dir.file("clip.h5"), ""); }, ExitCode::bad_input,
                     {"clip.h5", "no trained model"});
  Checkpoint c;
  clip::add_clip_to_checkpoint(c, m.model->clip(), false);
  m.model->save_to(c);
  c.params.erase(c.params.begin());
  c.trainable.erase(c.trainable.begin());
  write_checkpoint(dir.file("partial.h5"), c);
  test::expect_error([&] { load_model_checkpoint(dir.file("partial.h5"), ""); }, ExitCode::bad_input,
                     {"partial.h5", "/params/prompt.content_ctx", "missing"});
}

BOOST_AUTO_TEST_CASE(resumed_training_equals_uninterrupted_training) {
  ScratchDir dir("resume");
  SampleStore store(make_store(dir, "train.h5", 3, 1));
  auto run = [&](const std::string& out, bool resume, int64_t stop_at) {
    LoadedModel m = tiny("cm-clip");
    std::function<bool(int64_t)> stop;
    if (stop_at > 0) stop = [stop_at](int64_t step) { return step == stop_at; };
    return train_rgb(m, store, out, 7, 3, resume, stop);
  };
  train::TrainResult full = run(dir.file("full.h5"), false, 0);
  BOOST_TEST(full.epochs_done == 3);
  BOOST_TEST(!full.stopped_early);
  BOOST_TEST(full.last_epoch_loss < full.first_epoch_loss);
  // Stopped in the middle of epoch 2 (step 5 of 3 x 3), then resumed.
  train::TrainResult cut = run(dir.file("cut.h5"), false, 5);
  BOOST_TEST(cut.stopped_early);
  BOOST_TEST(test::exists(dir.file("cut.h5")));  // epoch 1 was kept (no dev: the latest is kept)
  Checkpoint stopped = read_checkpoint(dir.file("cut.last.h5"));
  BOOST_TEST(std::get<int64_t>(stopped.state.at("global_step")) == 5);
  BOOST_TEST(std::get<int64_t>(stopped.state.at("step_in_epoch")) == 2);
  train::TrainResult resumed = run(dir.file("cut.h5"), true, 0);
  BOOST_TEST(resumed.epochs_done == 3);
  Checkpoint a = read_checkpoint(dir.file("full.last.h5")), b = read_checkpoint(dir.file("cut.last.h5"));
  for (const auto& name : a.trainable) {
    const at::Tensor* other = b.find_param(name);
    BOOST_REQUIRE(other);
    BOOST_TEST(torch::equal(*a.find_param(name), *other), "resumed differs: " << name);
  }
  for (size_t i = 0; i < a.optimizer.size(); ++i)
    BOOST_TEST(torch::equal(a.optimizer[i].second, b.optimizer[i].second), a.optimizer[i].first);
  // Resuming with other options is refused.
  LoadedModel m = tiny("cm-clip");
  test::expect_error([&] { train_rgb(m, store, dir.file("cut.h5"), 8, 3, /*resume=*/true); }, ExitCode::bad_input,
                     {"--resume", "train_seed"});
}

namespace {
// The global L2 norm of d(term)/d(params); parameters the term does not reach count 0.
double gradient_norm(const at::Tensor& term, const std::vector<at::Tensor>& params) {
  auto grads = torch::autograd::grad({term}, params, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                     /*allow_unused=*/true);
  double sq = 0;
  for (const auto& g : grads)
    if (g.defined()) sq += g.pow(2).sum().item<double>();
  return std::sqrt(sq);
}

// The first batch fas-fewshot trains on: K = 2 Depth shots, and RGB replay at `ratio`.
data::Batch first_fewshot_batch(const SampleStore& store, double ratio) {
  data::Pool shots = data::kshot_pool(store, Modality::depth, 2, 3), replay = data::full_pool(store, Modality::rgb);
  data::PlanOptions plan;
  plan.global_batch = 8;
  plan.replay_ratio = ratio;
  plan.seed = 5;
  auto batches = data::plan_epoch(shots, ratio > 0 ? &replay : nullptr, 0, plan);
  data::BatchLoader loader({&store, &store}, {batches.front()}, 64, data::AugmentOptions{}, /*train=*/true);
  data::Batch b;
  BOOST_REQUIRE(loader.next(b));
  return b;
}
}  // namespace

// Stage 2 must train the classifier: on the first few-shot step after an RGB-only
// stage 1, no auxiliary term may send the trainable parameters a gradient more than
// 10x the category term's (a one-class L_mod once sent 200x, and global clipping then
// left the classifier ~0.5% of the update).
BOOST_AUTO_TEST_CASE(no_auxiliary_term_outweighs_the_classifier_on_the_first_fewshot_step) {
  ScratchDir dir("gradnorms");
  SampleStore store(make_store(dir, "train.h5", 4, 2));
  {
    LoadedModel m = tiny("cm-clip");
    train_rgb(m, store, dir.file("pre.h5"), 3, 2);
  }
  for (double ratio : {0.5, 0.0}) {  // the default replay, and the K shots alone
    LoadedModel m = load_model_checkpoint(dir.file("pre.h5"), "");
    m.model->train();
    std::vector<at::Tensor> params;
    for (auto& [n, t] : m.model->trainable()) params.push_back(t);
    data::Batch b = first_fewshot_batch(store, ratio);
    torch::manual_seed(1);
    ModelOutput out = m.model->forward(b.images, {0, 1, 2});
    LossTerms l = m.model->loss(out, b.labels, b.modality);
    BOOST_TEST(l.weighted.count("mod") == (ratio > 0 ? 1u : 0u));  // one modality: no L_mod
    double cat = gradient_norm(l.weighted.at("cat"), params);
    BOOST_TEST(cat > 0);
    for (const auto& [name, term] : l.weighted) {
      double norm = gradient_norm(term, params);
      BOOST_TEST_MESSAGE("replay " << ratio << ": |grad " << name << "| = " << norm << " (cat " << cat << ")");
      BOOST_TEST(norm <= 10 * cat, "replay " << ratio << ": |grad " << name << "| = " << norm << " vs cat " << cat);
    }
  }
}

// K = 1 and batch 8: each class's single frame fills 4 slots, and no two of the 8
// tensors are equal (each copy has its own augmentation).
BOOST_AUTO_TEST_CASE(no_two_samples_of_an_oversampled_batch_are_identical) {
  ScratchDir dir("distinct");
  SampleStore store(make_store(dir, "train.h5", 3, 4));
  data::Pool one = data::kshot_pool(store, Modality::depth, 1, 9);
  data::PlanOptions plan;
  plan.global_batch = 8;
  auto batches = data::plan_epoch(one, nullptr, 0, plan);
  data::BatchLoader loader({&store}, batches, 64, data::AugmentOptions{}, /*train=*/true);
  data::Batch b;
  BOOST_REQUIRE(loader.next(b));
  BOOST_REQUIRE(b.images.size(0) == 8);
  std::set<int64_t> frames;
  for (const auto& r : b.refs) frames.insert(r.index);
  BOOST_TEST(frames.size() == 2u);  // one frame per class, 4 copies each
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = i + 1; j < 8; ++j) BOOST_TEST(!torch::equal(b.images[i], b.images[j]), i << " == " << j);
}

BOOST_AUTO_TEST_SUITE_END()
