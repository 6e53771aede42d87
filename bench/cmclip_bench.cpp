// cmclip-bench: the C++ side of scripts/bench.sh (built, not installed). Each
// subcommand measures one thing with the library's own code paths, in the common tool
// frame (same allocator settings, threads and logging as the fas-* tools), and prints
// one JSON object: the wall seconds of each timed run after warm-up, and the process's
// peak resident memory, minor page faults and system CPU seconds per timed run.
//
//   cmclip-bench gemm   --n 4096                       (LibTorch/OpenBLAS, oneDNN fp32, oneDNN bf16)
//   cmclip-bench image  --model SPEC --batch 32 [--precision bf16]
//   cmclip-bench text   --model SPEC --prompts FILE [--precision bf16]
//   cmclip-bench step   --model SPEC --method cocoop|cm-clip --batch 8 --n-ctx 4 [--precision bf16]
//   cmclip-bench tokens --model SPEC --prompts FILE --n-ctx 4 -o T.json   (for the Python side)
//   cmclip-bench images --count N --size S -o DIR                         (an image list for fas-embed)
#include <sys/resource.h>

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "cmclip/clip/embed.hpp"
#include "cmclip/clip/tokenizer.hpp"
#include "cmclip/clip/weights.hpp"
#include "cmclip/compute/linear.hpp"
#include "cmclip/compute/precision.hpp"
#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/data/loader.hpp"
#include "cmclip/metrics/json.hpp"
#include "cmclip/model/fas_model.hpp"
#include "cmclip/model/prompt_ids.hpp"
#include "cmclip/model/prompt_learner.hpp"
#include "cmclip/train/communicator.hpp"
#include "cmclip/train/operation_trace.hpp"
#include "cmclip/train/optimizer.hpp"
#include "cmclip/train/trainer.hpp"

namespace {
// The permutation of the modality contexts in the fine-grained prompts of the timed
// CM-CLIP step (both sides use it).
const std::vector<int64_t> kCmClipPerm{1, 2, 0};

using namespace cmclip;
using metrics::JsonWriter;

const char* kDescription = R"(Measures one thing per run and prints it as JSON (scripts/bench.sh runs it beside the
Python baseline scripts/bench/clip_baseline.py). Not installed; a benchmark, not a tool.

Examples:
  cmclip-bench --threads 2 gemm --n 4096
  cmclip-bench --threads 2 image --model builtin:vit-b-16-random --batch 32 --precision bf16)";

struct Usage {
  long minflt = 0;
  double stime = 0;
};
Usage usage() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return {r.ru_minflt, double(r.ru_stime.tv_sec) + 1e-6 * double(r.ru_stime.tv_usec)};
}
long maxrss_kb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}

struct Timing {
  int runs = 3, warmup = 1;
  std::string profile;
  void register_on(CLI::App& app) {
    app.add_option("--runs", runs, "Timed runs")->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--warmup", warmup, "Untimed runs first")->capture_default_str()->check(CLI::Range(0, 100));
    app.add_option("--profile", profile,
                   "Also write a Chrome trace of the timed runs' operations to FILE (the tracing slows them; "
                   "scripts/bench/trace_summary.py FILE says where the time went)");
  }
};

// The device every measurement runs on (--device of the common options).
c10::Device g_device(c10::kCPU);

// Waits for the device's queued work (CUDA runs asynchronously).
void sync() {
  if (g_device.is_cuda()) torch::cuda::synchronize();
}

// Runs fn warmup + runs times; writes times, median, faults and system time per run.
template <class Fn>
void measure(JsonWriter& j, const Timing& t, Fn&& fn) {
  for (int i = 0; i < t.warmup; ++i) fn();
  sync();
  train::OperationTrace trace(t.profile);  // records nothing without --profile
  Usage u0 = usage();
  std::vector<double> times;
  for (int i = 0; i < t.runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    sync();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  Usage u1 = usage();
  trace.finish();
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  j.key("times").begin_array();
  for (double x : times) j.value(x);
  j.end_array();
  j.field("median", median);
  j.field("minflt_per_run", double(u1.minflt - u0.minflt) / t.runs);
  j.field("stime_per_run", (u1.stime - u0.stime) / t.runs);
}

void begin(JsonWriter& j, const std::string& task) {
  j.begin_object();
  j.field("side", "ours").field("task", task).field("threads", int64_t(at::get_num_threads()));
  j.field("device", g_device.str());
  j.field("gemm_backend", compute::gemm_backend());
}

void finish(JsonWriter& j) {
  j.field("maxrss_kb", int64_t(maxrss_kb()));
  j.end_object();
  std::cout << j.str() << std::flush;
}

// Random normalised images, seeded, on the device.
at::Tensor random_images(int64_t batch, int64_t resolution, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return at::randn({batch, 3, resolution, resolution}, g, at::TensorOptions(at::kFloat)).to(g_device);
}

std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& p : clip::read_prompt_file(path)) out.push_back(p.text);
  return out;
}

struct ModelArgs {
  std::string model = clip::kBuiltinVitB16Random;
  std::string bpe;
  compute::PrecisionOptions precision;
  void register_on(CLI::App& app) {
    app.add_option("--model", model, "CLIP: builtin:vit-b-16-random, builtin:tiny, archive or checkpoint")
        ->capture_default_str();
    app.add_option("--bpe", bpe, "BPE vocabulary (default: $CMCLIP_BPE, then ~/.cache/cmclip)");
    precision.register_on(app);
  }
};

void run_gemm(int64_t n, const Timing& t) {
  if (!g_device.is_cpu()) throw UsageError("gemm measures the CPU's GEMM kernels: use --device cpu");
  at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
  JsonWriter j;
  begin(j, "gemm");
  j.field("n", n).field("flop", 2.0 * double(n) * double(n) * double(n));
  j.key("kernels").begin_object();
  std::vector<std::pair<std::string, compute::GemmKernel>> kernels{{"libtorch", compute::GemmKernel::libtorch}};
  if (compute::onednn_gemm_available()) {
    kernels.emplace_back("onednn_fp32", compute::GemmKernel::onednn_fp32);
    if (compute::onednn_bf16_gemm_available()) kernels.emplace_back("onednn_bf16", compute::GemmKernel::onednn_bf16);
  }
  for (const auto& [name, kernel] : kernels) {
    j.key(name).begin_object();
    measure(j, t, [&] { compute::matmul_with(kernel, a, b); });
    j.end_object();
  }
  j.end_object();
  j.field("blas", blas_in_use());
  j.field("avx512_bf16", compute::cpu_has_avx512_bf16());
  finish(j);
}

void run_image(const ModelArgs& m, int64_t batch, const Timing& t) {
  auto t0 = std::chrono::steady_clock::now();
  clip::Clip model = clip::load_clip(m.model);
  model->to(g_device);
  double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  at::Tensor images = random_images(batch, model->config().image_resolution, 1);
  JsonWriter j;
  begin(j, "image");
  j.field("model", m.model).field("batch", batch).field("precision", m.precision.precision);
  j.field("seconds_setup", setup);
  torch::NoGradGuard no_grad;
  compute::PrecisionScope scope(m.precision.parsed(), g_device);
  measure(j, t, [&] { model->encode_image(images); });
  finish(j);
}

void run_text(const ModelArgs& m, const std::string& prompts_path, const Timing& t) {
  clip::Clip model = clip::load_clip(m.model);
  model->to(g_device);
  clip::Tokenizer tok = clip::tokenizer_for(model->provenance().vocabulary, model->config().vocab_size, m.bpe, m.model);
  at::Tensor ids = tok.tokenize(read_prompts(prompts_path), size_t(model->config().context_length), false).to(g_device);
  JsonWriter j;
  begin(j, "text");
  j.field("model", m.model).field("batch", ids.size(0)).field("precision", m.precision.precision);
  at::Tensor lengths = (ids.argmax(-1) + 1).to(at::kCPU);
  j.field("tokens_run", lengths.max().item<int64_t>());
  // encode_text's rows of work: on the CPU (no autograd here) the prompts packed end to
  // end, elsewhere padded to the longest (ClipImpl::encode_embeddings).
  j.field("rows_run", g_device.is_cpu() ? lengths.sum().item<int64_t>() : ids.size(0) * lengths.max().item<int64_t>());
  torch::NoGradGuard no_grad;
  compute::PrecisionScope scope(m.precision.parsed(), g_device);
  measure(j, t, [&] { model->encode_text(ids); });
  finish(j);
}

void run_step(const ModelArgs& m, const std::string& method, int64_t batch, int64_t n_ctx, const Timing& t) {
  model::ModelOptions o;
  o.method = method;
  o.n_ctx = n_ctx;
  model::LoadedModel lm = model::new_model(m.model, o, m.bpe, {}, 1);
  model::FasModel& net = lm.model;
  net->to(g_device);
  net->train();
  train::Optimizer optimizer(net->trainable(), train::OptimizerOptions{});
  train::Communicator local;
  data::Batch b;
  b.images = random_images(batch, net->clip()->config().image_resolution, 2);
  // Labels alternate; modalities rgb, depth, nir in turn, so that CM-CLIP computes every
  // loss term, with its fine-grained prompts' modality contexts permuted, as in
  // scripts/bench/cm_clip_step.py.
  std::vector<int64_t> labels, modality;
  for (int64_t i = 0; i < batch; ++i) {
    labels.push_back(i % 2);
    modality.push_back(i % 3);
  }
  const std::vector<int64_t> perm = method == "cm-clip" ? kCmClipPerm : std::vector<int64_t>{};
  b.labels = at::tensor(labels, at::kLong);
  b.modality = at::tensor(modality, at::kLong);
  int64_t trainable = 0;
  for (auto& [name, p] : net->trainable()) trainable += p.numel();
  JsonWriter j;
  begin(j, "step");
  j.field("model", m.model).field("method", method).field("batch", batch).field("n_ctx", n_ctx);
  j.field("precision", m.precision.precision).field("trainable_parameters", trainable);
  compute::PrecisionScope scope(m.precision.parsed(), net->device());
  measure(j, t, [&] {
    train::StepResult r = train::training_step(net, b, perm, optimizer, 1e-4, 1.0, local);
    if (r.diverged) throw RuntimeFailure("the benchmark's training step diverged");
  });
  finish(j);
}

void run_tokens(const ModelArgs& m, const std::string& prompts_path, int64_t n_ctx, const std::string& output) {
  // Only the vocabulary matters here: the random ViT-B/16 is not built for it.
  std::string vocabulary = "bpe";
  int64_t vocab = clip::vit_b_16_config().vocab_size;
  if (m.model != clip::kBuiltinVitB16Random) {
    clip::Clip c = clip::load_clip(m.model);
    vocabulary = c->provenance().vocabulary;
    vocab = c->config().vocab_size;
  }
  clip::Tokenizer tok = clip::tokenizer_for(vocabulary, vocab, m.bpe, m.model);
  JsonWriter j;
  j.begin_object();
  j.key("prompts").begin_array();
  for (const auto& text : read_prompts(prompts_path)) {
    clip::TokenRow row = tok.tokenize(text, 77);
    if (row.too_long(77)) throw InputError(prompts_path, text, "longer than the 77-token context");
    j.begin_array();
    for (size_t i = 0; i < row.full_length; ++i) j.value(row.ids[i]);
    j.end_array();
  }
  j.end_array();
  model::ModelOptions defaults;
  j.key("cocoop").begin_object().field("n_ctx", n_ctx).key("ids").begin_array();
  for (const auto& word : defaults.class_words) {
    j.begin_array();
    for (int64_t id : model::prompt_token_ids(tok, word, n_ctx)) j.value(id);
    j.end_array();
  }
  j.end_array().end_object();
  // CM-CLIP's prompt families (scripts/bench/cm_clip_step.py reads them).
  const model::PromptFamilyIds fam =
      model::prompt_family_ids(tok, defaults.class_words, defaults.modality_words, n_ctx);
  j.key("cm_clip").begin_object().field("n_ctx", n_ctx);
  j.field("classes", static_cast<int64_t>(defaults.class_words.size()));
  j.field("modalities", static_cast<int64_t>(defaults.modality_words.size()));
  auto rows = [&j](const char* name, const std::vector<std::vector<int64_t>>& ids) {
    j.key(name).begin_array();
    for (const auto& row : ids) {
      j.begin_array();
      for (int64_t id : row) j.value(id);
      j.end_array();
    }
    j.end_array();
  };
  j.key("perm").begin_array();
  for (int64_t slot : kCmClipPerm) j.value(slot);
  j.end_array();
  rows("category", fam.category);
  rows("modality", fam.modality);
  rows("fine", fam.fine);
  j.end_object();
  j.end_object();
  AtomicOutput out(output);
  std::ofstream(out.temp_path()) << j.str();
  out.commit();
}

void run_images(int count, int size, const std::string& dir) {
  std::mt19937_64 gen(7);
  std::string list;
  for (int i = 0; i < count; ++i) {
    cv::Mat img(size, size, CV_8UC3);
    for (int k = 0; k < size * size * 3; ++k) img.data[k] = static_cast<uint8_t>(gen() >> 56);
    const std::string name = fmt::format("img{:04d}.png", i);
    if (!cv::imwrite(join_path(dir, name), img)) throw RuntimeFailure(join_path(dir, name), "", "cannot write");
    list += name + "\n";
  }
  std::ofstream(join_path(dir, "images.txt")) << list;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("cmclip-bench", "Benchmark measurements for scripts/bench.sh", kDescription);
  CLI::App& app = tool.cli();
  // Built with the project and never installed, so there is no man page to point at
  // (Tool's footer names one for the installed tools).
  app.footer(std::string(kDescription) +
             "\n\nExit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n"
             "Documentation: docs/performance.md (what each measurement is) and scripts/bench.sh (which runs "
             "this tool); no man page, as it is not installed.");
  app.require_subcommand(1);
  Timing timing;
  ModelArgs model;
  int64_t n = 4096, image_batch = 32, step_batch = 8, n_ctx = 4;
  int count = 32, size = 256;
  std::string prompts, output, method = "cocoop";

  // Options that mean the same in every subcommand taking them.
  auto add_prompts = [&](CLI::App* sub) { sub->add_option("--prompts", prompts, "Prompts, one per line")->required(); };
  auto add_n_ctx = [&](CLI::App* sub) { sub->add_option("--n-ctx", n_ctx, "Context vectors")->capture_default_str(); };
  auto add_model_and_timing = [&](CLI::App* sub) {
    model.register_on(*sub);
    timing.register_on(*sub);
  };

  auto* gemm = app.add_subcommand("gemm", "Large sgemm: LibTorch (OpenBLAS), oneDNN fp32 and bf16");
  gemm->add_option("--n", n, "Matrix size")->capture_default_str();
  timing.register_on(*gemm);
  auto* image = app.add_subcommand("image", "CLIP encode_image on random images");
  image->add_option("--batch", image_batch, "Images per call")->capture_default_str();
  add_model_and_timing(image);
  auto* text = app.add_subcommand("text", "CLIP encode_text of a prompt file, one call");
  add_prompts(text);
  add_model_and_timing(text);
  auto* step = app.add_subcommand("step", "One training step (train::training_step) on random images");
  step->add_option("--method", method, "cocoop or cm-clip")->capture_default_str();
  step->add_option("--batch", step_batch, "Images per step")->capture_default_str();
  add_n_ctx(step);
  add_model_and_timing(step);
  auto* tokens = app.add_subcommand("tokens", "Token ids of the prompts and of the CoCoOp class prompts, as JSON");
  add_prompts(tokens);
  add_n_ctx(tokens);
  tokens->add_option("-o,--output", output, "JSON file")->required();
  model.register_on(*tokens);
  auto* images = app.add_subcommand("images", "Random PNG images and their list images.txt");
  images->add_option("--count", count, "Images")->capture_default_str();
  images->add_option("--size", size, "Side in pixels")->capture_default_str();
  images->add_option("-o,--output", output, "Folder (must exist)")->required();

  return tool.run(argc, argv, [&] {
    g_device = parse_device(tool.common().device);
    if (*gemm) run_gemm(n, timing);
    else if (*image) run_image(model, image_batch, timing);
    else if (*text) run_text(model, prompts, timing);
    else if (*step) run_step(model, method, step_batch, n_ctx, timing);
    else if (*tokens) run_tokens(model, prompts, n_ctx, output);
    else run_images(count, size, output);
  });
}
