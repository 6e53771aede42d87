// train/: optimisers against hand computations, state round trips, schedule, clipping;
// the baselines' presets; the linear probe's logistic regression and its folds.
#include <boost/test/unit_test.hpp>

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cmclip/train/linear_probe.hpp"
#include "cmclip/train/operation_trace.hpp"
#include "cmclip/train/optimizer.hpp"
#include "cmclip/train/presets.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::train;

namespace {
NamedTensors two_params() {
  return {{"a", torch::tensor({1.0f, -2.0f}).requires_grad_()},
          {"w", torch::tensor({{0.5f, 0.25f}, {-1.0f, 2.0f}}).requires_grad_()}};
}
void set_grads(const NamedTensors& p, float scale) {
  p[0].second.mutable_grad() = torch::tensor({0.1f, -0.3f}) * scale;
  p[1].second.mutable_grad() = torch::tensor({{1.0f, 0.0f}, {-0.5f, 0.2f}}) * scale;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(train_optimizer)

BOOST_AUTO_TEST_CASE(adamw_matches_the_update_rule) {
  OptimizerOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.01;
  NamedTensors p = two_params();
  Optimizer opt(p, o);
  // Reference computed by hand in doubles: two steps.
  std::vector<double> w = {0.5, 0.25, -1.0, 2.0}, a = {1.0, -2.0};
  std::vector<double> mw(4, 0), vw(4, 0), ma(2, 0), va(2, 0);
  std::vector<double> gw = {1.0, 0.0, -0.5, 0.2}, ga = {0.1, -0.3};
  for (int t = 1; t <= 2; ++t) {
    double s = t;  // gradient scale per step
    set_grads(p, float(s));
    opt.step(0.1);
    double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.999, t);
    for (int i = 0; i < 4; ++i) {
      w[i] *= 1 - 0.1 * 0.01;  // decoupled decay, matrices only
      mw[i] = 0.9 * mw[i] + 0.1 * gw[i] * s;
      vw[i] = 0.999 * vw[i] + 0.001 * gw[i] * s * gw[i] * s;
      w[i] -= 0.1 * (mw[i] / bc1) / (std::sqrt(vw[i] / bc2) + 1e-8);
    }
    for (int i = 0; i < 2; ++i) {
      ma[i] = 0.9 * ma[i] + 0.1 * ga[i] * s;
      va[i] = 0.999 * va[i] + 0.001 * ga[i] * s * ga[i] * s;
      a[i] -= 0.1 * (ma[i] / bc1) / (std::sqrt(va[i] / bc2) + 1e-8);
    }
  }
  auto wf = p[1].second.flatten();
  for (int i = 0; i < 4; ++i) BOOST_TEST(std::abs(wf[i].item<double>() - w[i]) < 1e-6);
  for (int i = 0; i < 2; ++i) BOOST_TEST(std::abs(p[0].second[i].item<double>() - a[i]) < 1e-6);
  BOOST_TEST(opt.steps() == 2);
}

BOOST_AUTO_TEST_CASE(sgd_matches_the_update_rule) {
  OptimizerOptions o;
  o.name = "sgd";
  o.momentum = 0.5;
  o.weight_decay = 0;
  NamedTensors p = two_params();
  Optimizer opt(p, o);
  set_grads(p, 1);
  opt.step(0.1);
  set_grads(p, 1);
  opt.step(0.1);
  // buffer: g, then 0.5 g + g = 1.5 g; total step 0.1 * 2.5 g
  BOOST_TEST(std::abs(p[0].second[1].item<double>() - (-2.0 - 0.25 * -0.3)) < 1e-6);
}

BOOST_AUTO_TEST_CASE(state_round_trip_resumes_exactly) {
  OptimizerOptions o;
  NamedTensors p1 = two_params(), p2 = two_params();
  Optimizer a(p1, o);
  for (int i = 0; i < 3; ++i) {
    set_grads(p1, float(i + 1));
    a.step(0.05);
  }
  // A second optimiser restored from the first's state (and parameters) continues identically.
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < p1.size(); ++i) p2[i].second.copy_(p1[i].second);
  }
  Optimizer b(p2, o);
  b.load_state(a.state(), "ckpt.h5");
  BOOST_TEST(b.steps() == 3);
  set_grads(p1, 4);
  set_grads(p2, 4);
  a.step(0.05);
  b.step(0.05);
  for (size_t i = 0; i < p1.size(); ++i) BOOST_TEST(torch::equal(p1[i].second, p2[i].second));
}

BOOST_AUTO_TEST_CASE(mismatched_state_is_a_clear_error) {
  OptimizerOptions adam, sgd;
  sgd.name = "sgd";
  NamedTensors p = two_params();
  Optimizer a(p, adam), s(two_params(), sgd);
  test::expect_error([&] { s.load_state(a.state(), "x.h5"); }, ExitCode::bad_input,
                     {"x.h5", "sgd/momentum/a", "missing"});
  NamedTensors other{{"a", torch::zeros({3}).requires_grad_()}, {"w", torch::zeros({2, 2}).requires_grad_()}};
  Optimizer c(other, adam);
  test::expect_error([&] { c.load_state(a.state(), "x.h5"); }, ExitCode::bad_input, {"adamw/exp_avg/a", "shape 2"});
}

BOOST_AUTO_TEST_CASE(bad_options_are_usage_errors) {
  OptimizerOptions o;
  o.lr = -1;
  test::expect_error([&] { o.validate(); }, ExitCode::bad_input, {"--lr"});
}

BOOST_AUTO_TEST_CASE(gradient_clipping_scales_to_the_norm) {
  NamedTensors p = two_params();
  set_grads(p, 1);
  double before = std::sqrt(0.01 + 0.09 + 1 + 0.25 + 0.04);
  BOOST_TEST(std::abs(clip_grad_norm(p, 0.5) - before) < 1e-6);
  double after =
      std::sqrt(p[0].second.grad().pow(2).sum().item<double>() + p[1].second.grad().pow(2).sum().item<double>());
  BOOST_TEST(std::abs(after - 0.5) < 1e-5);
  // Below the limit nothing changes.
  set_grads(p, 1);
  clip_grad_norm(p, 10);
  BOOST_TEST(std::abs(p[1].second.grad()[0][0].item<double>() - 1.0) < 1e-9);
}

BOOST_AUTO_TEST_CASE(cosine_schedule_with_warmup) {
  OptimizerOptions o;
  o.lr = 1.0;
  o.min_lr = 0.0;
  o.warmup_lr = 0.0;
  BOOST_TEST(scheduled_lr(0, 110, 10, o) == 0.0);
  BOOST_TEST(std::abs(scheduled_lr(5, 110, 10, o) - 0.5) < 1e-12);
  BOOST_TEST(std::abs(scheduled_lr(10, 110, 10, o) - 1.0) < 1e-12);
  BOOST_TEST(std::abs(scheduled_lr(60, 110, 10, o) - 0.5) < 1e-12);
  BOOST_TEST(std::abs(scheduled_lr(110, 110, 10, o) - 0.0) < 1e-12);
  BOOST_TEST(std::abs(scheduled_lr(0, 100, 0, o) - 1.0) < 1e-12);
  // CoOp's constant warm-up: warmup_lr for the warm-up steps, then the cosine from lr.
  o.warmup_type = "constant";
  o.warmup_lr = 1e-5;
  BOOST_TEST(scheduled_lr(0, 110, 10, o) == 1e-5);
  BOOST_TEST(scheduled_lr(9, 110, 10, o) == 1e-5);
  BOOST_TEST(std::abs(scheduled_lr(10, 110, 10, o) - 1.0) < 1e-12);
  BOOST_TEST(std::abs(scheduled_lr(60, 110, 10, o) - 0.5) < 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(train_presets)

BOOST_AUTO_TEST_CASE(baselines_start_from_their_papers_settings) {
  MethodPreset coop = method_preset(model::Method::coop, /*fewshot=*/true, 5, 10);
  BOOST_TEST(*coop.optimizer == "sgd");
  BOOST_TEST(*coop.lr == 0.002);
  BOOST_TEST(*coop.n_ctx == 16);
  BOOST_TEST(*coop.ctx_layout == "shared");
  BOOST_TEST(*coop.epochs == 100);     // 4-8 shots
  BOOST_TEST(*coop.batch_size == 10);  // 32, but the 10 shot frames are the whole set
  BOOST_TEST(*coop.warmup_type == "constant");
  BOOST_TEST(*coop.clip_grad_norm == 0.0);
  BOOST_TEST(*coop.replay_ratio == 0.0);
  BOOST_TEST(*method_preset(model::Method::coop, true, 1, 2).epochs == 50);
  BOOST_TEST(*method_preset(model::Method::coop, true, 16, 32).epochs == 200);
  BOOST_TEST(*method_preset(model::Method::coop, false, 0, 0).batch_size == 32);
  BOOST_TEST(!method_preset(model::Method::coop, false, 0, 0).replay_ratio);  // fas-pretrain has no replay

  MethodPreset cocoop = method_preset(model::Method::cocoop, true, 5, 10);
  BOOST_TEST(!cocoop.n_ctx);  // the token count of its words
  BOOST_TEST(*cocoop.ctx_init == "a photo of a");
  BOOST_TEST(*cocoop.batch_size == 1);
  BOOST_TEST(*cocoop.epochs == 10);
  BOOST_TEST(method_preset(model::Method::cm_clip, true, 5, 10).source.empty());   // cmclip's own defaults
  BOOST_TEST(!method_preset(model::Method::linear_probe, true, 5, 10).optimizer);  // L-BFGS, no optimiser
}

BOOST_AUTO_TEST_CASE(the_command_line_overrides_a_preset) {
  model::ModelOptions m;
  TrainOptions t;
  OptimizerOptions o;
  double replay = 0.5;
  o.lr = 0.5;
  t.epochs = 3;
  std::set<std::string> given{"--lr", "--epochs"};
  apply_preset(method_preset(model::Method::cocoop, true, 5, 10),
               [&](const std::string& flag) { return given.count(flag) > 0; }, {&m, &t, &o, &replay});
  BOOST_TEST(o.lr == 0.5);  // given: kept
  BOOST_TEST(t.epochs == 3);
  BOOST_TEST(o.name == "sgd");  // not given: the paper's
  BOOST_TEST(t.batch_size == 1);
  BOOST_TEST(m.n_ctx == 0);  // as many vectors as "a photo of a" has tokens
  BOOST_TEST(m.ctx_init == "a photo of a");
  BOOST_TEST(replay == 0.0);
  // A checkpoint's model is not touched (no model target).
  model::ModelOptions untouched;
  apply_preset(method_preset(model::Method::cocoop, true, 5, 10), [](const std::string&) { return false; },
               {nullptr, &t, &o, nullptr});
  BOOST_TEST(untouched.n_ctx == 16);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(train_linear_probe)

BOOST_AUTO_TEST_CASE(logistic_fit_reaches_the_optimum) {
  // Overlapping classes, so the optimum is finite at every C: at it, the gradient of
  // C * sum CE + ||W||^2 / 2 vanishes (checked independently of the optimiser).
  torch::manual_seed(3);
  at::Tensor x = torch::randn({40, 6}, torch::kDouble);
  at::Tensor y = (x.select(1, 0) + 0.8 * torch::randn({40}, torch::kDouble) > 0).to(torch::kLong);
  for (double C : {0.01, 1.0, 100.0}) {
    LogisticFit fit = fit_logistic(x, y, C);
    at::Tensor w = fit.weight.clone().requires_grad_(true), b = fit.bias.clone().requires_grad_(true);
    at::Tensor objective =
        C * torch::nn::functional::cross_entropy(
                at::addmm(b, x, w.t()), y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) +
        0.5 * w.pow(2).sum();
    objective.backward();
    // Relative to the objective's scale C * N (the fit minimises it divided by that).
    double scale = C * 40;
    BOOST_TEST(w.grad().abs().max().item<double>() / scale < 1e-6,
               "C = " << C << ": " << w.grad().abs().max().item<double>());
    BOOST_TEST(b.grad().abs().max().item<double>() / scale < 1e-6, "C = " << C);
    // Stronger regularisation gives smaller weights.
    if (C == 0.01)
      BOOST_TEST(fit.weight.norm().item<double>() < fit_logistic(x, y, 100.0).weight.norm().item<double>());
  }
  // Scores are P(live): the first feature drives "live".
  LogisticFit fit = fit_logistic(x, y, 1.0);
  auto p = logistic_scores(
      fit, torch::tensor({{3.0, 0.0, 0.0, 0.0, 0.0, 0.0}, {-3.0, 0.0, 0.0, 0.0, 0.0, 0.0}}, torch::kDouble));
  BOOST_TEST(p[0] > 0.9f);
  BOOST_TEST(p[1] < 0.1f);
}

BOOST_AUTO_TEST_CASE(folds_keep_each_video_whole_and_balance_the_classes) {
  std::vector<std::string> group;
  std::vector<bool> live;
  for (int cls : {0, 1})
    for (int v = 0; v < 6; ++v)
      for (int f = 0; f < 3; ++f) {
        group.push_back(fmt::format("v{}", v));  // the same names in both classes: still different videos
        live.push_back(cls == 1);
      }
  std::vector<int64_t> fold;
  BOOST_TEST(assign_folds(group, live, 7, fold) == 5);
  std::map<std::string, std::set<int64_t>> folds_of;
  std::map<int64_t, int> live_in, attack_in;
  for (size_t i = 0; i < group.size(); ++i) {
    folds_of[(live[i] ? "L" : "A") + group[i]].insert(fold[i]);
    (live[i] ? live_in : attack_in)[fold[i]]++;
  }
  for (const auto& [video, folds] : folds_of) BOOST_TEST(folds.size() == 1u, video);
  for (int64_t f = 0; f < 5; ++f) {
    BOOST_TEST(live_in[f] >= 3);  // every fold holds a live and an attack video
    BOOST_TEST(attack_in[f] >= 3);
  }
  // One video per class: nothing to cross-validate on.
  BOOST_TEST(assign_folds({"a", "b"}, {true, false}, 7, fold) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// --profile's trace (train/operation_trace.hpp): written only by finish(), so a run that
// ends in an error leaves no file and no temporary beside it; a finished trace names
// the operations recorded while it lived, cmclip's own products included.
BOOST_AUTO_TEST_SUITE(train_operation_trace)

BOOST_AUTO_TEST_CASE(unfinished_trace_leaves_no_file) {
  cmclip::test::ScratchDir dir("trace-unfinished");
  {
    cmclip::train::OperationTrace trace(dir.file("trace.json"));
    torch::mm(torch::ones({4, 4}), torch::ones({4, 4}));
  }  // destroyed without finish(): as when the run throws
  BOOST_TEST(!cmclip::test::exists(dir.file("trace.json")));
  BOOST_TEST(cmclip::test::count_files(dir.path()) == 0);
}

BOOST_AUTO_TEST_CASE(finished_trace_names_the_operations) {
  cmclip::test::ScratchDir dir("trace-finished");
  cmclip::train::OperationTrace trace(dir.file("trace.json"));
  torch::mm(torch::ones({4, 4}), torch::ones({4, 4}));
  trace.finish();
  const std::string text = cmclip::test::read_text(dir.file("trace.json"));
  BOOST_TEST(text.find("\"aten::mm\"") != std::string::npos);
  BOOST_TEST(cmclip::test::count_files(dir.path()) == 1);
}

BOOST_AUTO_TEST_CASE(trace_in_a_missing_folder_is_a_usage_error) {
  cmclip::test::ScratchDir dir("trace-missing");
  cmclip::test::expect_error([&] { cmclip::train::OperationTrace trace(dir.file("no/such/trace.json")); },
                             cmclip::ExitCode::bad_input, {"no/such"});
}

BOOST_AUTO_TEST_SUITE_END()
