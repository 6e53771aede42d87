// Turns planned batches of sample references into model input: reads the crops from
// the sample stores, augments (train) or resizes (eval), normalises with CLIP's
// mean/std, and prepares the next batch in the background while the model computes.
#pragma once
#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cmclip/core/runtime.hpp"
#include "cmclip/core/thread_pool.hpp"
#include "cmclip/data/augment.hpp"
#include "cmclip/data/sampler.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::data {

// CLIP's normalisation (R, G, B).
inline constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

struct Batch {
  at::Tensor images;    // float32 [B, 3, R, R], normalised
  at::Tensor labels;    // int64 [B], 1 live, 0 attack
  at::Tensor modality;  // int64 [B]
  std::vector<SampleRef> refs;
};

// uint8 HWC RGB (or grey) crops -> normalised float32 [N, 3, R, R].
at::Tensor to_model_input(const std::vector<cv::Mat>& images);

// Threads that transform samples when a tool says "automatic": a quarter of the thread
// budget (the model's compute keeps the rest), at least 1, at most 8.
int default_loader_threads();

class BatchLoader {
 public:
  // stores[0] is the target store, stores[1] the replay store (optional).
  // `augment` false: evaluation transform. A background thread reads the crops (HDF5
  // is read by one thread only) and `threads` > 1 workers transform the samples of a
  // batch in parallel; each sample's augmentation depends only on its own seed, so the
  // batches are the same for any thread count. Construct and destroy it on the thread
  // that computes (the ThreadShare below).
  BatchLoader(std::vector<const SampleStore*> stores, std::vector<std::vector<SampleRef>> batches, int resolution,
              const AugmentOptions& augment, bool train, int prefetch = 2, int threads = 1);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Next batch in plan order; false at the end. Errors in the background are
  // rethrown here.
  bool next(Batch& out);
  // Stops the background reading and waits for it, so that nothing reads behind the
  // caller's back once it moves on (a checkpoint write; HDF5 builds without thread
  // safety must never see two threads).
  void close();
  // Seconds the consumer spent waiting for data (training should never wait).
  double wait_seconds() const { return wait_seconds_; }
  size_t size() const { return batches_.size(); }

 private:
  Batch build(const std::vector<SampleRef>& refs) const;
  void produce();

  std::vector<const SampleStore*> stores_;
  std::vector<std::vector<SampleRef>> batches_;
  int resolution_;
  AugmentOptions augment_;
  bool train_;
  size_t prefetch_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  size_t produced_ = 0, consumed_ = 0;
  double wait_seconds_ = 0;
  // The pool's threads come out of the thread budget while it lives (runtime.hpp).
  // Without a pool the one reading thread transforms; it waits most of the time (two
  // batches ahead at most) and takes nothing from the compute.
  std::unique_ptr<ThreadShare> share_;
  std::unique_ptr<ThreadPool> pool_;  // sample transforms (threads > 1)
  std::thread worker_;
};

// Evaluation batches over samples [start, end) of one store, in order.
std::vector<std::vector<SampleRef>> sequential_batches(int64_t start, int64_t end, int64_t batch_size);

}  // namespace cmclip::data
