// clip/ preprocessing: Pillow's bicubic resize pixel for pixel, the centre crop, the
// mode rules (palette NEAREST, premultiplied RGBA, grey), on preprocess.h5 (32 px) and
// preprocess224.h5 (224 px); in-memory images; unreadable files.
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>

#include "cmclip/clip/preprocess.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/tensor.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::clip;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

namespace {
Image8 image_of(const at::Tensor& hwc) {
  at::Tensor c = hwc.contiguous();
  return image_from_hwc(c.data_ptr<uint8_t>(), c.size(0), c.size(1), c.size(2));
}

int64_t differing_values(const Image8& got, const at::Tensor& want) {
  at::Tensor g =
      at::from_blob(const_cast<uint8_t*>(got.pixels.data()), {got.height, got.width, got.channels()}, at::kByte);
  BOOST_REQUIRE_MESSAGE(g.sizes() == want.sizes(), "resized shape " << g.sizes() << " vs " << want.sizes());
  return g.ne(want).sum().item<int64_t>();
}

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  BOOST_REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

void check_fixture(const std::string& name) {
  std::string path = test::fixture("clip-tiny/" + name);
  if (path.empty()) return;
  h5::File f = h5::File::open(path);
  const int64_t n_px = f.attr_int("n_px");
  int64_t differing = 0, total = 0;
  double worst = 0;
  h5::Group rgb = f.group("rgb");
  for (const auto& c : rgb.children()) {
    h5::Group g = rgb.group(c);
    Image8 input = image_of(h5::read_tensor(g, "input_hwc_uint8"));
    at::Tensor resized_want = h5::read_tensor(g, "resized_hwc_uint8");
    Image8 resized = resize_shorter_side(input, n_px);
    int64_t d = differing_values(resized, resized_want);
    differing += d;
    total += resized_want.numel();
    BOOST_TEST(d == 0, name << " rgb/" << c << ": " << d << " resized values differ");
    double e = max_abs(preprocess(input, n_px), h5::read_tensor(g, "expected_chw_float32"));
    worst = std::max(worst, e);
    BOOST_TEST(e <= 1e-5, name << " rgb/" << c << ": tensor max abs err " << e);
  }
  h5::Group png = f.group("png");
  for (const auto& c : png.children()) {
    h5::Group g = png.group(c);
    std::string file = test::fixture("clip-tiny/" + g.attr_string("file"));
    Image8 image = read_image(file);
    BOOST_TEST(pixel_mode_name(image.mode) == g.attr_string("pil_mode"), c);
    at::Tensor got = preprocess(image, n_px), want = h5::read_tensor(g, "expected_chw_float32");
    double e = max_abs(got, want);
    worst = std::max(worst, e);
    BOOST_TEST(e <= 1e-5, name << " png/" << c << ": tensor max abs err " << e);
    // Exact 8-bit pixels: the reference tensor maps back to integers.
    at::Tensor mean = at::tensor({kClipMean[0], kClipMean[1], kClipMean[2]}).view({3, 1, 1});
    at::Tensor stdv = at::tensor({kClipStd[0], kClipStd[1], kClipStd[2]}).view({3, 1, 1});
    at::Tensor want8 = (want * stdv + mean).mul(255).round();
    at::Tensor got8 = (got * stdv + mean).mul(255).round();
    int64_t d = got8.ne(want8).sum().item<int64_t>();
    differing += d;
    total += want8.numel();
    BOOST_TEST(d == 0, name << " png/" << c << ": " << d << " pixel values differ");
  }
  BOOST_TEST_MESSAGE(name << ": " << differing << " of " << total << " resized pixel values differ; normalised tensors "
                          << "max abs err " << worst);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(clip_preprocess)

BOOST_AUTO_TEST_CASE(matches_pillow_and_torchvision_at_32_px, CMCLIP_NEEDS_SHARED("fixtures/clip-tiny")) {
  check_fixture("preprocess.h5");
}

BOOST_AUTO_TEST_CASE(matches_pillow_and_torchvision_at_224_px, CMCLIP_NEEDS_SHARED("fixtures/clip-tiny")) {
  check_fixture("preprocess224.h5");
}

BOOST_AUTO_TEST_CASE(crop_offsets_round_half_to_even) {
  // Widths 33, 35, 37 at n_px 32: excess 1, 3, 5 -> left offsets 0, 2, 2.
  for (auto [width, left] : std::vector<std::pair<int64_t, int64_t>>{{33, 0}, {35, 2}, {37, 2}, {36, 2}}) {
    Image8 im;
    im.height = 32;
    im.width = width;
    im.mode = PixelMode::grey;
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < width; ++x) im.pixels.push_back(static_cast<uint8_t>(x));
    Image8 crop = center_crop_rgb(resize_shorter_side(im, 32), 32);
    BOOST_TEST(crop.pixels[0] == left, "width " << width);
    BOOST_TEST(crop.pixels[1] == left, "grey replicated");
  }
}

BOOST_AUTO_TEST_CASE(resize_rules_by_mode) {
  // Upscaling a 2-pixel image: bicubic overshoots, NEAREST copies.
  Image8 im;
  im.height = 1;
  im.width = 2;
  im.mode = PixelMode::grey;
  im.pixels = {0, 255};
  Image8 cubic = resize_bicubic(im, 4, 1);
  // Worked by hand from the kernel (a = -0.5): weights (1.088, -0.088) and (0.793, 0.207).
  BOOST_TEST((cubic.pixels == std::vector<uint8_t>{0, 53, 202, 255}), "Pillow bicubic 2 -> 4");
  Image8 near = resize_nearest(im, 4, 1);
  BOOST_TEST((near.pixels == std::vector<uint8_t>{0, 0, 255, 255}));
  // Premultiplied alpha: a transparent pixel's colour does not bleed into its neighbour.
  Image8 rgba;
  rgba.height = 1;
  rgba.width = 2;
  rgba.mode = PixelMode::rgba;
  rgba.pixels = {255, 0, 0, 0, 0, 0, 255, 255};
  Image8 out = resize_shorter_side(rgba, 2);  // 2x1 -> short side 1->2: 4x2
  BOOST_TEST(out.width == 4);
  for (int64_t x = 1; x < 4; ++x) BOOST_TEST(out.pixels[static_cast<size_t>(x * 4)] == 0, "red leaked at " << x);
}

BOOST_AUTO_TEST_CASE(in_memory_images_and_unreadable_files) {
  std::vector<uint8_t> grey(20 * 30, 128);
  at::Tensor t = preprocess(image_from_hwc(grey.data(), 20, 30, 1), 16);
  BOOST_TEST(t.sizes() == at::IntArrayRef({3, 16, 16}));
  BOOST_TEST(std::abs(t[0][5][5].item<float>() - (128 / 255.f - kClipMean[0]) / kClipStd[0]) < 1e-6);
  expect_error([&] { image_from_hwc(grey.data(), 10, 10, 2); }, ExitCode::bad_input, {"channels"});
  ScratchDir dir("clipimg");
  test::write_text(dir.file("not.png"), "hello");
  expect_error([&] { read_image(dir.file("not.png")); }, ExitCode::bad_input, {"not.png", "cannot decode"});
  expect_error([&] { read_image(dir.file("absent.png")); }, ExitCode::bad_input, {"absent.png"});
  // A 1-bit PNG is Pillow mode "1" (NEAREST); EXIF-free grey PNG is "L".
  cv::Mat bits(4, 4, CV_8UC1, cv::Scalar(255));
  cv::imwrite(dir.file("bits.png"), bits, {cv::IMWRITE_PNG_BILEVEL, 1});
  BOOST_TEST(pixel_mode_name(read_image(dir.file("bits.png")).mode) == std::string("1"));
  cv::imwrite(dir.file("grey.png"), bits);
  BOOST_TEST(pixel_mode_name(read_image(dir.file("grey.png")).mode) == std::string("L"));
}

BOOST_AUTO_TEST_SUITE_END()
