// libFuzzer target: image decoding on the sample path. The bytes are an image file
// as fas-preprocess reads a frame (face::read_frame: any depth and channels, as each
// modality) and crops it, and as fas-embed --images reads one (clip::read_image and
// the reference resize + centre crop).
#include <opencv2/core.hpp>

#include "cmclip/clip/preprocess.hpp"
#include "cmclip/face/detector.hpp"
#include "cmclip/face/frames.hpp"
#include "fuzz_support.hpp"

using namespace cmclip;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  // OpenCV's own pixel limit is read when it is loaded, before this runs: scripts/fuzz.sh
  // sets OPENCV_IO_MAX_IMAGE_PIXELS to the tools' limit for the formats whose header
  // the readers do not parse themselves.
  cv::setNumThreads(1);
  return 0;
}

// The reference resize costs about 12 multiply-adds per input pixel, which the coverage
// instrumentation slows some hundredfold: a valid 11-megapixel frame (a truncated JPEG
// of 506 bytes, kept in the corpus) took over 20 s here and 0.5 s in fas-embed. Past a
// megapixel a frame is still decoded and checked, but not resized: arithmetic on a
// well-formed image is not what this target hunts.
constexpr size_t kFuzzResizePixels = size_t(1) << 20;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::write_input_file(data, size, ".img");
  fuzz::expect_clean_errors([&] {
    clip::Image8 im = clip::read_image(path);
    CMCLIP_FUZZ_CHECK(im.height > 0 && im.width > 0);
    CMCLIP_FUZZ_CHECK(im.pixels.size() == size_t(im.height * im.width * im.channels()));
    if (im.pixels.size() / im.channels() > kFuzzResizePixels) return;
    clip::Image8 crop = clip::center_crop_rgb(clip::resize_shorter_side(im, 8), 8);
    CMCLIP_FUZZ_CHECK(crop.pixels.size() == 8 * 8 * 3);
  });
  const face::DepthRule per_frame, fixed = face::DepthRule::parse("100:900");
  for (Modality m : {Modality::rgb, Modality::depth, Modality::nir}) {
    fuzz::expect_clean_errors([&] {
      cv::Mat img = face::read_frame(path, m, m == Modality::depth ? fixed : per_frame);
      CMCLIP_FUZZ_CHECK(!img.empty() && img.depth() == CV_8U);
      CMCLIP_FUZZ_CHECK(img.channels() == (m == Modality::rgb ? 3 : 1));
      std::vector<uint8_t> out(16 * 16 * 3);
      face::crop_resize(img, face::center_box(img.size()), 16, out.data());
    });
  }
  return 0;
}
