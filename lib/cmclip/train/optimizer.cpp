#include "cmclip/train/optimizer.hpp"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/names.hpp"

namespace cmclip::train {

namespace {
const Choices kOptimizers{"adamw", "sgd"};
const Choices kWarmupTypes{"linear", "constant"};
}  // namespace

void OptimizerOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Optimisation");
  g->add_option("--optimizer", name, kOptimizers.either())->capture_default_str()->check(one_of(kOptimizers.names()));
  g->add_option("--lr", lr, "Peak learning rate")->capture_default_str();
  g->add_option("--min-lr", min_lr, "Learning rate at the end of the cosine schedule")->capture_default_str();
  g->add_option("--weight-decay", weight_decay, "Decoupled weight decay on matrices and kernels")
      ->capture_default_str();
  g->add_option("--momentum", momentum, "SGD momentum")->capture_default_str();
  g->add_option("--clip-grad-norm", clip_grad_norm, "Clip the gradient L2 norm to this (0: off)")
      ->capture_default_str();
  g->add_option("--warmup-steps", warmup_steps, "Linear warm-up steps (-1: one epoch)")->capture_default_str();
  g->add_option("--warmup-lr", warmup_lr, "Learning rate at the first warm-up step")->capture_default_str();
  g->add_option("--warmup-type", warmup_type,
                "linear (from --warmup-lr up to --lr) or constant (--warmup-lr "
                "throughout the warm-up)")
      ->capture_default_str()
      ->check(one_of(kWarmupTypes.names()));
}

void OptimizerOptions::validate() const {
  if (!(lr > 0)) throw UsageError(fmt::format("--lr {} must be positive", lr));
  if (min_lr < 0 || min_lr > lr) throw UsageError(fmt::format("--min-lr {} must be in [0, --lr]", min_lr));
  if (weight_decay < 0) throw UsageError("--weight-decay must not be negative");
  if (momentum < 0 || momentum >= 1) throw UsageError("--momentum must be in [0, 1)");
  if (clip_grad_norm < 0) throw UsageError("--clip-grad-norm must not be negative");
  if (warmup_lr < 0) throw UsageError("--warmup-lr must not be negative");
  kWarmupTypes.check(warmup_type, "--warmup-type");
  kOptimizers.check(name, "--optimizer");
}

Optimizer::Optimizer(NamedTensors params, OptimizerOptions options)
    : params_(std::move(params)), opt_(std::move(options)) {
  opt_.validate();
  for (const auto& [name, p] : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(opt_.name == "adamw" ? at::zeros_like(p) : at::Tensor());
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void Optimizer::step(double lr) {
  at::NoGradGuard no_grad;
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor p = params_[i].second;
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    bool decay = p.dim() >= 2 && opt_.weight_decay > 0;
    if (opt_.name == "adamw") {
      if (decay) p.mul_(1.0 - lr * opt_.weight_decay);
      m_[i].mul_(opt_.beta1).add_(g, 1.0 - opt_.beta1);
      v_[i].mul_(opt_.beta2).addcmul_(g, g, 1.0 - opt_.beta2);
      double bc1 = 1.0 - std::pow(opt_.beta1, double(steps_));
      double bc2 = 1.0 - std::pow(opt_.beta2, double(steps_));
      at::Tensor denom = (v_[i] / bc2).sqrt_().add_(opt_.eps);
      p.addcdiv_(m_[i], denom, -lr / bc1);
    } else {
      at::Tensor d = decay ? g + opt_.weight_decay * p : g;
      m_[i].mul_(opt_.momentum).add_(d);
      p.add_(m_[i], -lr);
    }
  }
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  out.emplace_back("step", at::scalar_tensor(steps_, at::kLong));
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].first;
    if (opt_.name == "adamw") {
      out.emplace_back("adamw/exp_avg/" + n, m_[i].clone());
      out.emplace_back("adamw/exp_avg_sq/" + n, v_[i].clone());
    } else {
      out.emplace_back("sgd/momentum/" + n, m_[i].clone());
    }
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& state, const std::string& source) {
  auto find = [&](const std::string& key) -> const at::Tensor& {
    for (const auto& [k, t] : state)
      if (k == key) return t;
    throw InputError(source, "/optimizer/" + key,
                     fmt::format("missing: the saved optimiser state does not match --optimizer {} "
                                 "and this model's trainable parameters",
                                 opt_.name));
  };
  auto restore = [&](at::Tensor& dst, const std::string& key) {
    const at::Tensor& src = find(key);
    if (!src.sizes().equals(dst.sizes()))
      throw InputError(source, "/optimizer/" + key,
                       fmt::format("shape {} does not fit the parameter's {}", fmt::join(src.sizes(), "x"),
                                   fmt::join(dst.sizes(), "x")));
    dst.copy_(src);
  };
  at::NoGradGuard no_grad;
  steps_ = find("step").item<int64_t>();
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].first;
    if (opt_.name == "adamw") {
      restore(m_[i], "adamw/exp_avg/" + n);
      restore(v_[i], "adamw/exp_avg_sq/" + n);
    } else {
      restore(m_[i], "sgd/momentum/" + n);
    }
  }
}

double clip_grad_norm(const NamedTensors& params, double max_norm) {
  at::NoGradGuard no_grad;
  double total = 0;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
  double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm) {
    double scale = max_norm / (norm + 1e-6);
    for (const auto& [name, p] : params)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return norm;
}

double scheduled_lr(int64_t step, int64_t total_steps, int64_t warmup_steps, const OptimizerOptions& o) {
  if (warmup_steps > 0 && step < warmup_steps)
    return o.warmup_type == "constant" ? o.warmup_lr
                                       : o.warmup_lr + (o.lr - o.warmup_lr) * double(step) / double(warmup_steps);
  int64_t span = std::max<int64_t>(1, total_steps - std::max<int64_t>(0, warmup_steps));
  double progress = std::min(1.0, double(step - std::max<int64_t>(0, warmup_steps)) / double(span));
  return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace cmclip::train
