#include "cmclip/data/loader.hpp"

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>

#include "cmclip/core/random.hpp"
#include "cmclip/core/runtime.hpp"

namespace cmclip::data {

at::Tensor to_model_input(const std::vector<cv::Mat>& images) {
  if (images.empty()) return at::empty({0, 3, 0, 0});
  int r = images[0].rows, c = images[0].cols;
  at::Tensor out = at::empty({static_cast<int64_t>(images.size()), 3, r, c});
  float* dst = out.data_ptr<float>();
  const size_t plane = size_t(r) * c;
  for (size_t n = 0; n < images.size(); ++n) {
    const cv::Mat& img = images[n];
    int channels = img.channels();
    for (int y = 0; y < r; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(y);
      for (int x = 0; x < c; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          uint8_t v = row[x * channels + (channels == 3 ? ch : 0)];
          dst[(n * 3 + ch) * plane + size_t(y) * c + x] = (v / 255.0f - kClipMean[ch]) / kClipStd[ch];
        }
    }
  }
  return out;
}

std::vector<std::vector<SampleRef>> sequential_batches(int64_t start, int64_t end, int64_t batch_size) {
  std::vector<std::vector<SampleRef>> out;
  for (int64_t b = start; b < end; b += batch_size) {
    std::vector<SampleRef> batch;
    for (int64_t i = b; i < std::min(end, b + batch_size); ++i) batch.push_back({0, i, 0});
    out.push_back(std::move(batch));
  }
  return out;
}

int default_loader_threads() { return std::clamp(thread_budget() / 4, 1, 8); }

BatchLoader::BatchLoader(std::vector<const SampleStore*> stores, std::vector<std::vector<SampleRef>> batches,
                         int resolution, const AugmentOptions& augment, bool train, int prefetch, int threads)
    : stores_(std::move(stores)),
      batches_(std::move(batches)),
      resolution_(resolution),
      augment_(augment),
      train_(train),
      prefetch_(static_cast<size_t>(std::max(1, prefetch))) {
  if (threads > 1) {
    share_ = std::make_unique<ThreadShare>(threads);
    pool_ = std::make_unique<ThreadPool>(threads);
  }
  worker_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() { close(); }

void BatchLoader::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Batch BatchLoader::build(const std::vector<SampleRef>& refs) const {
  Batch b;
  b.refs = refs;
  std::vector<cv::Mat> crops, images(refs.size());
  std::vector<int64_t> labels, modality;
  for (const auto& ref : refs) {  // HDF5 reads on this thread only
    const SampleStore& s = *stores_.at(static_cast<size_t>(ref.store));
    cv::Mat crop(s.height(), s.width(), s.channels() == 3 ? CV_8UC3 : CV_8UC1);
    s.read_images(ref.index, 1, crop.data);
    crops.push_back(crop);
    labels.push_back(s.labels()[static_cast<size_t>(ref.index)]);
    modality.push_back(s.modalities()[static_cast<size_t>(ref.index)]);
  }
  auto transform = [&](size_t i) {
    cv::Mat crop = crops[i];
    if (crop.channels() == 1) cv::cvtColor(crop, crop, cv::COLOR_GRAY2RGB);
    if (train_) {
      Rng rng(refs[i].aug_seed);
      images[i] = augment_image(crop, draw_augment(rng, augment_, resolution_), augment_, resolution_);
    } else {
      images[i] = eval_image(crop, resolution_);
    }
  };
  if (pool_) {
    std::vector<std::future<void>> done;
    for (size_t i = 0; i < refs.size(); ++i) done.push_back(pool_->submit([&transform, i] { transform(i); }));
    for (auto& f : done) f.wait();
    for (auto& f : done) f.get();  // the first failure in sample order
  } else {
    for (size_t i = 0; i < refs.size(); ++i) transform(i);
  }
  b.images = to_model_input(images);
  b.labels = at::tensor(labels, at::kLong);
  b.modality = at::tensor(modality, at::kLong);
  return b;
}

void BatchLoader::produce() {
  // No intra-op threads here: the model's compute owns them.
  for (size_t i = 0; i < batches_.size(); ++i) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || ready_.size() < prefetch_; });
      if (stop_) return;
    }
    Batch b;
    try {
      b = build(batches_[i]);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.push_back(std::move(b));
    ++produced_;
    cv_.notify_all();
  }
}

bool BatchLoader::next(Batch& out) {
  if (consumed_ == batches_.size()) return false;
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return !ready_.empty() || error_; });
  if (ready_.empty() && error_) std::rethrow_exception(error_);
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  cv_.notify_all();
  return true;
}

}  // namespace cmclip::data
