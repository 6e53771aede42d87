// model/: ADC-Adapter and its convolution against their definitions.
#include <boost/test/unit_test.hpp>

#include <torch/torch.h>

#include "cmclip/clip/model.hpp"
#include "cmclip/compute/precision.hpp"
#include "cmclip/model/adc_adapter.hpp"

using namespace cmclip::model;
using cmclip::clip::quick_gelu;

namespace {
// The definition written out tap by tap: out[o] = b[o] + Σ_i Σ_taps w[o,i,dy,dx] x[i, y+dy-1, x+dx-1]
//   - θ Σ_i (Σ_taps w[o,i]) x[i, y, x], zero padding.
torch::Tensor adc_by_definition(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                                const torch::Tensor& theta) {
  int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto xa = x.accessor<float, 4>();
  auto wa = w.accessor<float, 4>();
  torch::Tensor out = torch::zeros_like(x);
  auto oa = out.accessor<float, 4>();
  for (int64_t n = 0; n < B; ++n)
    for (int64_t o = 0; o < C; ++o) {
      float th = theta.dim() == 0 ? theta.item<float>() : theta[o].item<float>();
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx) {
          double acc = b[o].item<float>();
          for (int64_t i = 0; i < C; ++i) {
            double wsum = 0;
            for (int dy = 0; dy < 3; ++dy)
              for (int dx = 0; dx < 3; ++dx) {
                wsum += wa[o][i][dy][dx];
                int64_t yy = y + dy - 1, xs = xx + dx - 1;
                if (yy < 0 || yy >= H || xs < 0 || xs >= W) continue;
                acc += wa[o][i][dy][dx] * xa[n][i][yy][xs];
              }
            acc -= th * wsum * xa[n][i][y][xx];
          }
          oa[n][o][y][xx] = static_cast<float>(acc);
        }
    }
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(model_adc)

BOOST_AUTO_TEST_CASE(adc_conv_equals_its_definition) {
  torch::manual_seed(3);
  for (bool per_channel : {false, true}) {
    AdcConv2d conv(4, 0.7, per_channel);
    {
      torch::NoGradGuard g;
      conv->weight.normal_();
      conv->bias.normal_();
      conv->rho.normal_();
    }
    torch::Tensor x = torch::randn({2, 4, 5, 6});
    torch::Tensor got = conv->forward(x).detach();
    torch::Tensor want = adc_by_definition(x, conv->weight.detach(), conv->bias.detach(), conv->theta().detach());
    BOOST_TEST(torch::allclose(got, want, 1e-5, 1e-5),
               "per_channel=" << per_channel << " max diff " << (got - want).abs().max().item<float>());
  }
}

BOOST_AUTO_TEST_CASE(adc_conv_at_theta_zero_is_the_vanilla_conv) {
  torch::manual_seed(4);
  AdcConv2d conv(3, 0.7, false);
  {
    torch::NoGradGuard g;
    conv->weight.normal_();
    conv->bias.normal_();
    conv->rho.fill_(-1e4);  // sigmoid underflows to exactly 0
  }
  BOOST_TEST(conv->theta().item<float>() == 0.f);
  torch::Tensor x = torch::randn({1, 3, 4, 4});
  torch::Tensor vanilla = torch::conv2d(x, conv->weight, conv->bias, 1, 1);
  BOOST_TEST(torch::equal(conv->forward(x), vanilla));
}

BOOST_AUTO_TEST_CASE(adc_theta_starts_at_its_init) {
  AdcConv2d conv(8, 0.7, false);
  BOOST_TEST(std::abs(conv->theta().item<double>() - 0.7) < 1e-6);
  AdcConv2d per(8, 0.3, true);
  BOOST_TEST((per->theta().sizes() == torch::IntArrayRef{8}));
  BOOST_TEST(std::abs(per->theta()[5].item<double>() - 0.3) < 1e-6);
  // Identity at the centre tap.
  torch::Tensor x = torch::randn({1, 8, 3, 3});
  BOOST_TEST(torch::allclose(conv->forward(x), x * (1 - 0.7), 1e-6, 1e-6));
}

BOOST_AUTO_TEST_CASE(untrained_adapter_adds_exactly_zero) {
  AdcAdapterOptions o;
  o.width = 32;
  o.bottleneck = 4;
  AdcAdapter a(o);
  a->train();
  torch::Tensor z = torch::randn({3, 1 + 16, 32});
  BOOST_TEST(torch::equal(a->forward(z), torch::zeros({3, 17, 32})));
}

BOOST_AUTO_TEST_CASE(adapter_matches_a_direct_computation) {
  torch::manual_seed(5);
  AdcAdapterOptions o;
  o.width = 16;
  o.bottleneck = 3;
  o.scale = 0.5;
  for (bool conv_on_cls : {true, false}) {
    o.conv_on_cls = conv_on_cls;
    AdcAdapter a(o);
    a->eval();  // no dropout
    {
      torch::NoGradGuard g;
      for (auto& p : a->parameters()) p.normal_(0, 0.5);
    }
    torch::Tensor z = torch::randn({2, 1 + 9, 16});
    torch::Tensor d = quick_gelu(torch::matmul(z, a->down->weight.t()) + a->down->bias);
    torch::Tensor patches = d.slice(1, 1).reshape({2, 3, 3, 3}).permute({0, 3, 1, 2});  // [B, r, G, G]
    torch::Tensor conv =
        adc_by_definition(patches, a->conv->weight.detach(), a->conv->bias.detach(), a->conv->theta().detach());
    torch::Tensor cls = d.select(1, 0).reshape({2, 3, 1, 1});
    if (conv_on_cls)
      cls = adc_by_definition(cls, a->conv->weight.detach(), a->conv->bias.detach(), a->conv->theta().detach());
    torch::Tensor merged = torch::cat({cls.reshape({2, 1, 3}), conv.permute({0, 2, 3, 1}).reshape({2, 9, 3})}, 1);
    torch::Tensor want = 0.5 * (torch::matmul(quick_gelu(merged), a->up->weight.t()) + a->up->bias);
    torch::Tensor got = a->forward(z);
    BOOST_TEST(torch::allclose(got, want, 1e-4, 1e-5),
               "conv_on_cls=" << conv_on_cls << " max diff " << (got - want).abs().max().item<float>());
  }
}

BOOST_AUTO_TEST_CASE(adapter_rejects_a_non_square_grid) {
  AdcAdapterOptions o;
  o.width = 8;
  o.bottleneck = 2;
  AdcAdapter a(o);
  BOOST_CHECK_THROW(a->forward(torch::randn({1, 11, 8})), std::invalid_argument);
}

// clip::quick_gelu's hand-written backward against autograd through its definition
// z * sigmoid(1.702 z), in double precision, over a range that covers both tails; the
// larger shape spans several of the cache-sized blocks it works in, the last one partial.
BOOST_AUTO_TEST_CASE(quick_gelu_gradient_matches_its_definition) {
  torch::manual_seed(3);
  for (int64_t columns : {3, 1031}) {
    torch::Tensor z0 = torch::linspace(-12, 12, 97, torch::kDouble).reshape({97, 1}).repeat({1, columns}) +
                       0.01 * torch::randn({97, columns}, torch::kDouble);
    torch::Tensor g = torch::randn({97, columns}, torch::kDouble);
    torch::Tensor z = z0.clone().requires_grad_(true), zr = z0.clone().requires_grad_(true);
    torch::Tensor y = quick_gelu(z), yr = zr * torch::sigmoid(1.702 * zr);
    BOOST_TEST(torch::equal(y, yr), columns << " columns");  // the same arithmetic forward
    y.backward(g);
    yr.backward(g);
    BOOST_TEST(torch::allclose(z.grad(), zr.grad(), 1e-12, 1e-14), columns << " columns");
  }
  // bf16 (CPU autocast's activations): still z * sigmoid(1.702 z) bit for bit, with the
  // slope applied as the scalar 1.702, not rounded to bf16's 1.703125.
  torch::Tensor b = (torch::randn({97, 1031}) * 4).to(torch::kBFloat16).requires_grad_(true);
  BOOST_TEST(torch::equal(quick_gelu(b), b * torch::sigmoid(1.702 * b)), "bf16");
}

// The MLP without autograd applies QuickGELU in place, block by block: the same
// numbers as c_proj(QuickGELU(c_fc(x))) written out.
BOOST_AUTO_TEST_CASE(mlp_without_autograd_equals_its_definition) {
  torch::manual_seed(4);
  cmclip::clip::Mlp mlp(48);
  torch::Tensor x = torch::randn({5, 211, 48});  // 5 x 211 x 192 hidden values: several blocks and a partial one
  torch::NoGradGuard no_grad;
  torch::Tensor h = mlp->c_fc(x);
  torch::Tensor want = mlp->c_proj(h * torch::sigmoid(1.702 * h));
  torch::Tensor got = mlp(x);
  BOOST_TEST((got - want).abs().max().item<double>() <= 1e-6 * want.abs().max().item<double>());
}

// In a bf16 scope without autograd, the layer norms and QuickGELU write their blocks in
// bf16 for the products that follow (where oneDNN's bf16 GEMM runs): the same numbers
// as the recorded path, where each product rounds its fp32 input itself. A zero c_fc
// bias makes both paths' sums the same, so only a different rounding (truncating,
// rounding twice: ~1e-3 here) tells them apart.
BOOST_AUTO_TEST_CASE(block_in_bf16_without_autograd_rounds_as_the_recorded_path) {
  torch::manual_seed(5);
  cmclip::clip::ResidualAttentionBlock block(48, 4);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : block->parameters()) p.normal_(0, 0.2);
    block->mlp->c_fc->bias.zero_();
  }
  torch::Tensor x = torch::randn({5, 211, 48});
  torch::Tensor fp32 = block(x).detach();
  cmclip::compute::PrecisionScope bf16(cmclip::compute::Precision::bf16, c10::Device(c10::kCPU));
  torch::Tensor recorded = block(x.clone().requires_grad_(true)).detach();
  torch::NoGradGuard no_grad;
  torch::Tensor got = block(x);
  const double scale = (recorded - x).abs().max().item<double>();  // the block's own contribution
  BOOST_TEST((got - recorded).abs().max().item<double>() <= 1e-6 * scale);
  // and bf16 did round: the scope is not a no-op (fp32 products differ by ~1e-3)
  BOOST_TEST((got - fp32).abs().max().item<double>() > 1e-5 * scale);
}

BOOST_AUTO_TEST_SUITE_END()
