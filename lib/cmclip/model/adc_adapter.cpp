#include "cmclip/model/adc_adapter.hpp"

#include <torch/nn/functional/conv.h>
#include <torch/nn/init.h>

#include <cmath>

#include <fmt/format.h>

#include "cmclip/clip/model.hpp"
#include "cmclip/compute/linear.hpp"

namespace cmclip::model {

namespace F = torch::nn::functional;
using clip::quick_gelu;

AdcConv2dImpl::AdcConv2dImpl(int64_t channels, double theta_init, bool per_channel_theta) {
  if (!(theta_init > 0 && theta_init < 1))
    throw std::invalid_argument(fmt::format("ADC theta must be in (0, 1), got {}", theta_init));
  weight = register_parameter("weight", torch::zeros({channels, channels, 3, 3}));
  bias = register_parameter("bias", torch::zeros({channels}));
  double logit = std::log(theta_init / (1.0 - theta_init));
  rho = register_parameter("rho", per_channel_theta ? torch::full({channels}, logit) : torch::tensor(logit));
  reset_to_identity();
}

void AdcConv2dImpl::reset_to_identity() {
  torch::NoGradGuard no_grad;
  weight.zero_();
  bias.zero_();
  int64_t c = weight.size(0);
  weight.select(3, 1).select(2, 1).copy_(torch::eye(c));
}

torch::Tensor AdcConv2dImpl::theta() const { return torch::sigmoid(rho); }

torch::Tensor AdcConv2dImpl::forward(const torch::Tensor& x) {
  torch::Tensor vanilla = F::conv2d(x, weight, F::Conv2dFuncOptions().bias(bias).padding(1));
  // Central difference: the centre pixel times the sum of the kernel's taps.
  torch::Tensor centre = F::conv2d(x, weight.sum({2, 3}, /*keepdim=*/true));
  torch::Tensor t = theta();
  if (t.dim() == 1) t = t.view({1, -1, 1, 1});
  return vanilla - t * centre;
}

AdcAdapterImpl::AdcAdapterImpl(const AdcAdapterOptions& o) : options_(o) {
  down = register_module("down", torch::nn::Linear(o.width, o.bottleneck));
  conv = register_module("conv", AdcConv2d(o.bottleneck, o.theta_init, o.per_channel_theta));
  up = register_module("up", torch::nn::Linear(o.bottleneck, o.width));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(down->weight);
  down->bias.zero_();
  up->weight.zero_();
  up->bias.zero_();
}

torch::Tensor AdcAdapterImpl::forward(const torch::Tensor& z) {
  const int64_t b = z.size(0), tokens = z.size(1), r = options_.bottleneck;
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(double(tokens - 1))));
  if (grid * grid != tokens - 1)
    throw std::invalid_argument(fmt::format("ADC-Adapter: {} tokens are not 1 + a square grid", tokens));
  torch::Tensor d = quick_gelu(compute::linear(z, down->weight, down->bias));
  torch::Tensor cls = d.select(1, 0);  // [B, r]
  torch::Tensor patches = d.slice(1, 1).transpose(1, 2).reshape({b, r, grid, grid});
  patches = conv->forward(patches).reshape({b, r, grid * grid}).transpose(1, 2);
  if (options_.conv_on_cls) cls = conv->forward(cls.view({b, r, 1, 1})).view({b, r});
  torch::Tensor merged = torch::cat({cls.unsqueeze(1), patches}, 1);
  merged = dropout->forward(quick_gelu(merged));
  torch::Tensor out = compute::linear(merged, up->weight, up->bias);
  return options_.scale == 1.0 ? out : out * options_.scale;
}

}  // namespace cmclip::model
