// ADC-Adapter (CM-CLIP's image branch): a bottleneck adapter beside a frozen ViT
// sublayer whose middle is an adaptive central-difference convolution on the patch
// grid. With its up-projection initialised to zero it adds exactly 0, so an
// untrained model is plain CLIP.
//
//   z [B, 1+G², W] -> down W->r, QuickGELU -> patches as [B, r, G, G] through ADC 3x3,
//   CLS as a 1x1 map through the same ADC (or bypassed) -> QuickGELU, dropout
//   -> up r->W -> times scale
//   ADC(x) = conv3x3(x, w) + b - θ · conv1x1(x, Σ_taps w),   θ = sigmoid(ρ)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace cmclip::model {

struct AdcAdapterOptions {
  int64_t width = 768;      // W, the ViT width
  int64_t bottleneck = 8;   // r
  double theta_init = 0.7;  // θ at initialisation
  bool per_channel_theta = false;
  bool conv_on_cls = true;  // false: the CLS token bypasses the convolution
  double dropout = 0.1;
  double scale = 1.0;  // s, multiplies the adapter output
};

// The adaptive central-difference convolution alone (r -> r, 3x3, padding 1).
class AdcConv2dImpl : public torch::nn::Module {
 public:
  AdcConv2dImpl(int64_t channels, double theta_init, bool per_channel_theta);
  // x: [B, C, H, W] -> [B, C, H, W]
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor theta() const;  // [] or [C]
  void reset_to_identity();     // centre tap = identity, other taps and bias 0

  torch::Tensor weight, bias, rho;
};
TORCH_MODULE(AdcConv2d);

class AdcAdapterImpl : public torch::nn::Module {
 public:
  explicit AdcAdapterImpl(const AdcAdapterOptions& options);
  // z: [B, 1+G², W] (layer-normed tokens, CLS first) -> [B, 1+G², W]
  torch::Tensor forward(const torch::Tensor& z);
  const AdcAdapterOptions& options() const { return options_; }

  torch::nn::Linear down{nullptr}, up{nullptr};
  AdcConv2d conv{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  AdcAdapterOptions options_;
};
TORCH_MODULE(AdcAdapter);

}  // namespace cmclip::model
