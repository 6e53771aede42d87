// cmclip-gpu-check: the C++ side of scripts/gpu-check.sh, built from the Torch-only part
// of cmclip (bench/gpu/CMakeLists.txt). Every model has random weights from fixed seeds
// (the lent machines hold no weight files).
//
//  1. Feature parity: a builtin:tiny-sized CLIP on the CPU in fp32 against the same model
//     on --device: image and text features, max |difference| / max |CPU feature| <= 1e-4
//     in strict fp32 (cuDNN's TF32 off); the drift with LibTorch's default cuDNN TF32 and
//     in bf16 (autocast, as compute::PrecisionScope sets it) is reported, not checked.
//  2. Training parity: a CM-CLIP model over it (adapter dropout 0, a fixed modality
//     permutation) takes the same AdamW steps on the same batch on the CPU and on
//     --device: every step's loss, the first step's gradients and the parameter updates.
//  3. Timings (median of --runs after --warmup): image encoding at --image-batch and one
//     CM-CLIP training step (forward, loss, backward, clipping, AdamW) at --step-batch,
//     fp32 and bf16, on --timing-config (vit-b-16 or tiny). It writes the prompts' token
//     ids to OUT/prompts.json for the PyTorch side (scripts/bench/gpu_baseline.py).
// With --device cpu the "device" is the CPU itself: the parity checks compare two CPU
// runs (trivially equal; the output says so), and the script runs everything end to end.
//
// Writes OUT/cmclip.json; exit status 0, 1 when a parity check fails, 2 on bad usage.
#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmclip/clip/builtin.hpp"
#include "cmclip/clip/tokenizer.hpp"
#include "cmclip/compute/linear.hpp"
#include "cmclip/compute/precision.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/model/fas_model.hpp"
#include "cmclip/model/prompt_ids.hpp"

namespace {

using namespace cmclip;
using compute::Precision;

constexpr double kFeatureTolerance = 1e-4;  // fp32, relative to the features' scale
constexpr double kLossTolerance = 1e-4;     // relative
constexpr double kGradTolerance = 1e-4;     // L2 of the difference / L2 of the CPU gradient
constexpr double kUpdateTolerance = 1e-3;   // L2 of the difference / L2 of the CPU update

const char* kUsage = R"(usage: cmclip-gpu-check [options]
  --device cpu|cuda[:N]     where the checks and timings run (default cuda)
  --out DIR                 writes DIR/cmclip.json and DIR/prompts.json (default .)
  --threads N               CPU threads (default: LibTorch's)
  --timing-config NAME      vit-b-16 (default) or tiny
  --image-batch N           images per encoding call timed (default 256)
  --step-batch N            images per training step timed (default 8)
  --runs N, --warmup N      timed and untimed repetitions (default 10, 3)
  --train-steps N           training steps compared (default 3)
  --no-timing               parity checks only)";

struct Args {
  std::string device = "cuda", out = ".", timing_config = "vit-b-16";
  int threads = 0, runs = 10, warmup = 3, train_steps = 3;
  int64_t image_batch = 256, step_batch = 8, n_ctx = 4;
  bool timing = true;
};

Args parse_args(int argc, char** argv) {
  Args a;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw UsageError(fmt::format("{} needs a value", argv[i]));
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--device") a.device = value(i);
    else if (arg == "--out") a.out = value(i);
    else if (arg == "--threads") a.threads = std::stoi(value(i));
    else if (arg == "--timing-config") a.timing_config = value(i);
    else if (arg == "--image-batch") a.image_batch = std::stoll(value(i));
    else if (arg == "--step-batch") a.step_batch = std::stoll(value(i));
    else if (arg == "--runs") a.runs = std::stoi(value(i));
    else if (arg == "--warmup") a.warmup = std::stoi(value(i));
    else if (arg == "--train-steps") a.train_steps = std::stoi(value(i));
    else if (arg == "--no-timing") a.timing = false;
    else if (arg == "-h" || arg == "--help") throw UsageError(kUsage);
    else throw UsageError(fmt::format("unknown argument '{}'\n{}", arg, kUsage));
  }
  if (a.timing_config != "vit-b-16" && a.timing_config != "tiny")
    throw UsageError("--timing-config: expected vit-b-16 or tiny");
  if (a.runs < 1 || a.warmup < 0 || a.train_steps < 1 || a.image_batch < 1 || a.step_batch < 2)
    throw UsageError("--runs, --train-steps and the batches must be positive (--step-batch at least 2)");
  return a;
}

// A tiny JSON writer: objects of numbers, strings, booleans and nested objects.
class Json {
 public:
  Json& num(const std::string& k, double v) {
    std::ostringstream s;
    s.precision(9);
    s << v;
    return raw(k, std::isfinite(v) ? s.str() : "null");
  }
  Json& str(const std::string& k, const std::string& v) { return raw(k, quote(v)); }
  Json& flag(const std::string& k, bool v) { return raw(k, v ? "true" : "false"); }
  Json& obj(const std::string& k, const Json& v) { return raw(k, v.text()); }
  Json& raw(const std::string& k, const std::string& v) {
    body_ += (body_.empty() ? "" : ", ") + quote(k) + ": " + v;
    return *this;
  }
  std::string text() const { return "{" + body_ + "}"; }
  static std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (c == '\n') out += "\\n";
      else out += c;
    }
    return out + "\"";
  }

 private:
  std::string body_;
};

std::string int_list(const std::vector<int64_t>& v) { return "[" + fmt::format("{}", fmt::join(v, ", ")) + "]"; }

c10::Device g_device(c10::kCPU);

void sync() {
  if (g_device.is_cuda()) torch::cuda::synchronize();
}

at::Tensor random_images(int64_t batch, int64_t resolution, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return at::randn({batch, 3, resolution, resolution}, g, at::TensorOptions(at::kFloat));
}

// max |a - b| / max |a|, a the CPU reference.
double relative_max_error(const at::Tensor& ref, const at::Tensor& got) {
  at::Tensor r = ref.detach().to(at::kCPU, at::kDouble), g = got.detach().to(at::kCPU, at::kDouble);
  return (r - g).abs().max().item<double>() / std::max(r.abs().max().item<double>(), 1e-30);
}

// cuDNN's TF32 (LibTorch's default: on) for convolutions; cuBLAS TF32 is off by default.
struct Tf32Cudnn {
  explicit Tf32Cudnn(bool on) : previous_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuDNN(on);
  }
  ~Tf32Cudnn() { at::globalContext().setAllowTF32CuDNN(previous_); }
  bool previous_;
};

const std::vector<std::string>& parity_prompts() {
  static const std::vector<std::string> p{"a photo of a real face", "a photo of a spoof face", "fake color.",
                                          "live ir.", "a printed photo of a face held up to the camera"};
  return p;
}

// Features of the tiny CLIP on the device under one setting, and their error.
Json feature_pair(clip::Clip& cpu, clip::Clip& dev, const at::Tensor& images, const at::Tensor& ids, Precision p,
                  bool* ok, bool checked) {
  torch::NoGradGuard no_grad;
  at::Tensor ref_i = cpu->encode_image(images), ref_t = cpu->encode_text(ids);
  compute::PrecisionScope scope(p, g_device);
  at::Tensor got_i = dev->encode_image(images.to(g_device)), got_t = dev->encode_text(ids.to(g_device));
  double ei = relative_max_error(ref_i, got_i), et = relative_max_error(ref_t, got_t);
  Json j;
  j.num("image", ei).num("text", et);
  if (checked) {
    bool pass = ei <= kFeatureTolerance && et <= kFeatureTolerance;
    j.num("tolerance", kFeatureTolerance).flag("pass", pass);
    *ok = *ok && pass;
  }
  return j;
}

Json check_features(bool* ok) {
  clip::Clip cpu = clip::builtin_tiny(), dev = clip::builtin_tiny();
  dev->to(g_device);
  clip::Tokenizer tok = clip::Tokenizer::byte_level();
  at::Tensor ids = tok.tokenize(parity_prompts(), 77, /*truncate=*/false);
  at::Tensor images = random_images(16, cpu->config().image_resolution, 11);
  Json j;
  j.str("model", "builtin:tiny").num("images", 16).num("prompts", double(parity_prompts().size()));
  {
    Tf32Cudnn strict(false);
    j.obj("fp32", feature_pair(cpu, dev, images, ids, Precision::fp32, ok, true));
  }
  if (g_device.is_cuda()) {
    Tf32Cudnn defaults(true);
    j.obj("fp32_cudnn_tf32", feature_pair(cpu, dev, images, ids, Precision::fp32, ok, false));
  }
  j.obj("bf16", feature_pair(cpu, dev, images, ids, Precision::bf16, ok, false));
  return j;
}

model::ModelOptions cm_clip_options(int64_t n_ctx, double dropout) {
  model::ModelOptions o;
  o.method = "cm-clip";
  o.n_ctx = n_ctx;
  o.adapter.dropout = dropout;
  return o;
}

model::FasModel make_model(clip::Clip clip, const model::ModelOptions& o, uint64_t seed, c10::Device device) {
  torch::manual_seed(seed);  // the prompt contexts, meta-net and adapters
  model::FasModel m(std::move(clip), clip::Tokenizer::byte_level(), o);
  m->to(device);
  m->train();
  return m;
}

struct Batch {
  at::Tensor images, labels, modality;  // on the CPU
  std::vector<int64_t> perm{1, 2, 0};   // modality contexts of the fine-grained prompts
};

Batch make_batch(int64_t n, int64_t resolution) {
  Batch b;
  b.images = random_images(n, resolution, 12);
  std::vector<int64_t> labels, modality;
  for (int64_t i = 0; i < n; ++i) {
    labels.push_back(i % 2);
    modality.push_back(i % 3);  // rgb, depth, nir: every loss term of CM-CLIP
  }
  b.labels = at::tensor(labels, at::kLong);
  b.modality = at::tensor(modality, at::kLong);
  return b;
}

std::vector<at::Tensor> params_of(model::FasModel& m) {
  std::vector<at::Tensor> out;
  for (auto& [name, p] : m->trainable()) out.push_back(p);
  return out;
}

// One step as train::training_step takes it (forward, the method's loss, backward,
// clipping to 1, the update), with LibTorch's AdamW (train/ is outside this build).
double train_step(model::FasModel& m, const Batch& b, torch::optim::AdamW& opt) {
  const c10::Device d = m->device();
  model::ModelOutput out = m->forward(b.images.to(d), b.perm);
  model::LossTerms loss = m->loss(out, b.labels.to(d), b.modality);
  opt.zero_grad();
  loss.total.backward();
  torch::nn::utils::clip_grad_norm_(params_of(m), 1.0);
  opt.step();
  return loss.terms.at("total");
}

at::Tensor flat(const std::vector<at::Tensor>& ts, bool grads) {
  std::vector<at::Tensor> parts;
  for (const auto& t : ts) {
    at::Tensor v = grads ? t.grad() : t;
    parts.push_back(v.defined() ? v.detach().to(at::kCPU, at::kDouble).flatten() : at::zeros({t.numel()}, at::kDouble));
  }
  return at::cat(parts);
}

double relative_l2(const at::Tensor& ref, const at::Tensor& got) {
  return (ref - got).norm().item<double>() / std::max(ref.norm().item<double>(), 1e-30);
}

struct Run {
  std::vector<double> losses;
  at::Tensor first_grads, before, after;  // flattened, on the CPU, double
};

Run run_steps(model::FasModel& m, const Batch& b, int steps) {
  Run r;
  std::vector<at::Tensor> ps = params_of(m);
  torch::optim::AdamW opt(ps, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  r.before = flat(ps, false);
  for (int s = 0; s < steps; ++s) {
    r.losses.push_back(train_step(m, b, opt));
    if (s == 0) r.first_grads = flat(ps, true);
  }
  r.after = flat(ps, false);
  return r;
}

Json check_training(int steps, bool* ok) {
  const model::ModelOptions o = cm_clip_options(4, /*dropout=*/0.0);  // no random masks to differ
  Tf32Cudnn strict(false);
  model::FasModel cpu = make_model(clip::builtin_tiny(), o, 21, c10::kCPU);
  model::FasModel dev = make_model(clip::builtin_tiny(), o, 21, g_device);
  const Batch b = make_batch(8, cpu->clip()->config().image_resolution);
  Run rc = run_steps(cpu, b, steps), rd = run_steps(dev, b, steps);
  double loss_err = 0;
  std::vector<std::string> losses;
  for (int s = 0; s < steps; ++s) {
    loss_err = std::max(loss_err, std::abs(rc.losses[s] - rd.losses[s]) / std::max(std::abs(rc.losses[s]), 1e-30));
    losses.push_back(fmt::format("[{:.9g}, {:.9g}]", rc.losses[s], rd.losses[s]));
  }
  double grad_err = relative_l2(rc.first_grads, rd.first_grads);
  double update_err = relative_l2(rc.after - rc.before, rd.after - rd.before);
  double param_max = (rc.after - rd.after).abs().max().item<double>();
  bool pass = loss_err <= kLossTolerance && grad_err <= kGradTolerance && update_err <= kUpdateTolerance &&
              rc.losses.back() < rc.losses.front();
  *ok = *ok && pass;
  Json j;
  j.str("model", "cm-clip over builtin:tiny, n_ctx 4, adapter dropout 0").num("batch", 8).num("steps", steps);
  j.str("optimizer", "AdamW lr 1e-3 wd 0.01, gradients clipped to norm 1");
  j.raw("losses_cpu_device", "[" + fmt::format("{}", fmt::join(losses, ", ")) + "]");
  j.num("loss_error", loss_err).num("loss_tolerance", kLossTolerance);
  j.num("first_gradient_error", grad_err).num("gradient_tolerance", kGradTolerance);
  j.num("update_error", update_err).num("update_tolerance", kUpdateTolerance);
  j.num("parameter_max_abs_difference", param_max).num("trainable_parameters", double(rc.before.numel()));
  j.flag("loss_decreased", rc.losses.back() < rc.losses.front()).flag("pass", pass);
  return j;
}

// Median milliseconds of fn over `runs` after `warmup` untimed calls.
template <class Fn>
double median_ms(const Args& a, Fn&& fn) {
  for (int i = 0; i < a.warmup; ++i) fn();
  sync();
  std::vector<double> t;
  for (int i = 0; i < a.runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    sync();
    t.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
}

clip::Clip timing_clip(const Args& a) {
  if (a.timing_config == "tiny") return clip::builtin_tiny();
  // The ViT-B/16 shapes; the prompts use the byte-level ids (both sides the same ids).
  return clip::seeded_clip(clip::vit_b_16_config(), "gpu-check:vit-b-16", "byte", 0x67707521ULL);
}

// The token ids of the CM-CLIP prompt families, as PromptLearner builds them, for the
// PyTorch side: it splices its context vectors in at positions 1.. as this side does.
void write_prompts(const Args& a, const model::ModelOptions& o) {
  const model::PromptFamilyIds ids =
      model::prompt_family_ids(clip::Tokenizer::byte_level(), o.class_words, o.modality_words, o.n_ctx);
  auto family = [](const std::vector<std::vector<int64_t>>& rows) {
    std::vector<std::string> lists;
    for (const auto& r : rows) lists.push_back(int_list(r));
    return "[" + fmt::format("{}", fmt::join(lists, ", ")) + "]";
  };
  Json j;
  j.num("n_ctx", double(o.n_ctx)).num("classes", double(o.class_words.size()));
  j.num("modalities", double(o.modality_words.size())).raw("perm", "[1, 2, 0]");
  j.raw("category", family(ids.category)).raw("modality", family(ids.modality)).raw("fine", family(ids.fine));
  std::ofstream(a.out + "/prompts.json") << j.text() << "\n";
}

Json time_all(const Args& a) {
  Json j;
  clip::Clip c = timing_clip(a);
  const int64_t res = c->config().image_resolution;
  const model::ModelOptions o = cm_clip_options(a.n_ctx, 0.1);
  write_prompts(a, o);
  model::FasModel m = make_model(c, o, 22, g_device);  // moves the CLIP to the device too
  at::Tensor images = random_images(a.image_batch, res, 13).to(g_device);
  Batch b = make_batch(a.step_batch, res);
  b.images = b.images.to(g_device);  // on the device already, as the PyTorch side's
  b.labels = b.labels.to(g_device);
  torch::optim::AdamW opt(params_of(m), torch::optim::AdamWOptions(1e-4).weight_decay(0.01));
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    const std::string name = compute::precision_name(p);
    double image_ms = 0;
    {
      torch::NoGradGuard no_grad;
      compute::PrecisionScope scope(p, g_device);
      image_ms = median_ms(a, [&] { c->encode_image(images); });
    }
    compute::PrecisionScope scope(p, g_device);
    double step_ms = median_ms(a, [&] { train_step(m, b, opt); });
    j.num("image_" + name + "_ms", image_ms).num("step_" + name + "_ms", step_ms);
  }
  j.str("config", a.timing_config).num("image_batch", double(a.image_batch)).num("step_batch", double(a.step_batch));
  j.num("n_ctx", double(a.n_ctx)).num("runs", a.runs).num("warmup", a.warmup);
  return j;
}

int run(const Args& a) {
  try {
    g_device = c10::Device(a.device);
  } catch (const c10::Error&) {
    throw UsageError(fmt::format("--device '{}': expected cpu or cuda[:N]", a.device));
  }
  if (g_device.is_cuda() && !torch::cuda::is_available())
    throw UsageError(fmt::format("--device {}: this LibTorch sees no CUDA device", a.device));
  if (!g_device.is_cpu() && !g_device.is_cuda()) throw UsageError("--device: expected cpu or cuda[:N]");
  if (a.threads > 0) at::set_num_threads(a.threads);
  mkdir(a.out.c_str(), 0777);
  bool ok = true;
  Json j;
  j.str("device", g_device.str()).str("libtorch", TORCH_VERSION).num("threads", at::get_num_threads());
  j.str("gemm_backend", compute::gemm_backend());
  j.flag("parity_against_itself", g_device.is_cpu());
  auto t0 = std::chrono::steady_clock::now();
  j.obj("features", check_features(&ok));
  j.obj("training", check_training(a.train_steps, &ok));
  j.num("parity_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (a.timing) j.obj("timings", time_all(a));
  j.flag("pass", ok);
  std::ofstream(a.out + "/cmclip.json") << j.text() << "\n";
  std::cout << j.text() << "\n";
  if (!ok) std::cerr << "cmclip-gpu-check: a parity check failed (see " << a.out << "/cmclip.json)\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const cmclip::Error& e) {
    std::cerr << "cmclip-gpu-check: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "cmclip-gpu-check: " << e.what() << "\n";
    return 1;
  }
}
