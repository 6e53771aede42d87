// train/: optimisers against hand computations, state round trips, schedule, clipping.
#include <boost/test/unit_test.hpp>

#include <torch/torch.h>

#include <cmath>

#include "cmclip/train/optimizer.hpp"
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
  test::expect_error([&] { s.load_state(a.state(), "x.h5"); }, ExitCode::bad_input, {"x.h5", "sgd/momentum/a", "missing"});
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
  double after = std::sqrt(p[0].second.grad().pow(2).sum().item<double>() + p[1].second.grad().pow(2).sum().item<double>());
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
}

BOOST_AUTO_TEST_SUITE_END()
