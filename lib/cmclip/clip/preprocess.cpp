#include "cmclip/clip/preprocess.hpp"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/image_file.hpp"

namespace cmclip::clip {

const char* pixel_mode_name(PixelMode m) {
  switch (m) {
    case PixelMode::rgb:
      return "RGB";
    case PixelMode::grey:
      return "L";
    case PixelMode::rgba:
      return "RGBA";
    case PixelMode::grey_alpha:
      return "LA";
    case PixelMode::palette:
      return "P";
    case PixelMode::bilevel:
      return "1";
  }
  return "?";
}

int channels_of(PixelMode m) {
  switch (m) {
    case PixelMode::rgb:
    case PixelMode::palette:
      return 3;
    case PixelMode::grey:
    case PixelMode::bilevel:
      return 1;
    case PixelMode::rgba:
      return 4;
    case PixelMode::grey_alpha:
      return 2;
  }
  return 0;
}

namespace {

// ------------------------------------------------ Pillow's resampling (Resample.c)

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic_kernel(double x) {  // a = -0.5
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Fixed-point weights of one axis: for output o, inputs [first[o], first[o] + count[o]).
struct AxisWeights {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // out_size * ksize
};

AxisWeights axis_weights(int in_size, int out_size) {
  AxisWeights a;
  // Same operations and order as Pillow's precompute_coeffs, so the doubles agree.
  const float in0 = 0.0f, in1 = static_cast<float>(in_size);
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 2.0 * filterscale;
  a.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  a.first.resize(out_size);
  a.count.resize(out_size);
  a.weights.assign(static_cast<size_t>(out_size) * a.ksize, 0);
  std::vector<double> k(a.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0, ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      double w = bicubic_kernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      // Round half away from zero to 22 fractional bits.
      a.weights[static_cast<size_t>(xx) * a.ksize + x] = k[x] < 0
                                                             ? static_cast<int32_t>(-0.5 + k[x] * (1 << kPrecisionBits))
                                                             : static_cast<int32_t>(0.5 + k[x] * (1 << kPrecisionBits));
    }
    a.first[xx] = xmin;
    a.count[xx] = xmax;
  }
  return a;
}

inline uint8_t clip8(int64_t acc) {
  int64_t v = acc >> kPrecisionBits;  // arithmetic shift, as Pillow's int
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One pass along an axis. `horizontal`: along the width; else along the height.
Image8 resample_pass(const Image8& in, int out_size, bool horizontal) {
  const int c = in.channels();
  Image8 out;
  out.mode = in.mode;
  out.width = horizontal ? out_size : in.width;
  out.height = horizontal ? in.height : out_size;
  out.pixels.resize(static_cast<size_t>(out.width * out.height * c));
  AxisWeights a = axis_weights(static_cast<int>(horizontal ? in.width : in.height), out_size);
  const int64_t in_row = in.width * c;
  for (int64_t y = 0; y < out.height; ++y) {
    for (int64_t x = 0; x < out.width; ++x) {
      const int o = static_cast<int>(horizontal ? x : y);
      const int32_t* k = &a.weights[static_cast<size_t>(o) * a.ksize];
      for (int ch = 0; ch < c; ++ch) {
        int64_t acc = 1 << (kPrecisionBits - 1);
        for (int i = 0; i < a.count[o]; ++i) {
          int64_t src = horizontal ? y * in_row + (a.first[o] + i) * c + ch : (a.first[o] + i) * in_row + x * c + ch;
          acc += static_cast<int64_t>(in.pixels[static_cast<size_t>(src)]) * k[i];
        }
        out.pixels[static_cast<size_t>((y * out.width + x) * c + ch)] = clip8(acc);
      }
    }
  }
  return out;
}

// Pillow's MULDIV255 premultiplication and its inverse (Convert.c rgbA2rgba / rgba2rgbA).
void premultiply(Image8& im) {
  const int c = im.channels(), colours = c - 1;
  for (size_t p = 0; p < im.pixels.size(); p += c) {
    unsigned alpha = im.pixels[p + colours];
    for (int ch = 0; ch < colours; ++ch) {
      unsigned tmp = im.pixels[p + ch] * alpha + 128;
      im.pixels[p + ch] = static_cast<uint8_t>(((tmp >> 8) + tmp) >> 8);
    }
  }
}

void unpremultiply(Image8& im) {
  const int c = im.channels(), colours = c - 1;
  for (size_t p = 0; p < im.pixels.size(); p += c) {
    unsigned alpha = im.pixels[p + colours];
    if (alpha == 255 || alpha == 0) continue;
    for (int ch = 0; ch < colours; ++ch) {
      unsigned v = (255u * im.pixels[p + ch]) / alpha;
      im.pixels[p + ch] = static_cast<uint8_t>(std::min(v, 255u));
    }
  }
}

int64_t round_half_even_half(int64_t excess) {  // Python round(excess / 2.0)
  int64_t half = excess / 2;
  if (excess % 2 == 0) return half;
  return half % 2 == 0 ? half : half + 1;
}

// PNG colour type and bit depth from the IHDR chunk; -1 when not a PNG.
void png_header(const std::string& path, int* colour_type, int* bit_depth) {
  *colour_type = *bit_depth = -1;
  std::ifstream in(path, std::ios::binary);
  unsigned char h[26] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (in.gcount() != sizeof h || !std::equal(sig, sig + 8, h) || std::string(h + 12, h + 16) != "IHDR") return;
  *bit_depth = h[24];
  *colour_type = h[25];
}

}  // namespace

Image8 image_from_hwc(const uint8_t* data, int64_t height, int64_t width, int64_t channels) {
  Image8 im;
  im.height = height;
  im.width = width;
  switch (channels) {
    case 1:
      im.mode = PixelMode::grey;
      break;
    case 3:
      im.mode = PixelMode::rgb;
      break;
    case 4:
      im.mode = PixelMode::rgba;
      break;
    default:
      throw InputError(fmt::format("an image needs 1, 3 or 4 channels, not {}", channels));
  }
  im.pixels.assign(data, data + height * width * channels);
  return im;
}

Image8 read_image(const std::string& path) {
  check_input_file(path);
  int colour_type, bit_depth;
  png_header(path, &colour_type, &bit_depth);
  cv::Mat m = read_image_file(path);  // no EXIF rotation, like Pillow
  if (m.depth() == CV_16U) {
    cv::Mat high(m.size(), CV_MAKETYPE(CV_8U, m.channels()));
    const uint16_t* src = m.ptr<uint16_t>();
    uint8_t* dst = high.ptr<uint8_t>();
    for (size_t i = 0; i < m.total() * m.channels(); ++i) dst[i] = static_cast<uint8_t>(src[i] >> 8);
    m = high;
  } else if (m.depth() != CV_8U) {
    throw InputError(path, "", "unsupported sample type (8- or 16-bit images only)");
  }
  if (!m.isContinuous()) m = m.clone();
  const int ch = m.channels();
  PixelMode mode;
  switch (colour_type) {
    case 0:
      mode = bit_depth == 1 ? PixelMode::bilevel : PixelMode::grey;
      break;
    case 2:
      mode = PixelMode::rgb;
      break;
    case 3:
      mode = PixelMode::palette;
      break;
    case 4:
      mode = PixelMode::grey_alpha;
      break;
    case 6:
      mode = PixelMode::rgba;
      break;
    default:
      if (ch == 1) mode = PixelMode::grey;
      else if (ch == 3) mode = PixelMode::rgb;
      else if (ch == 4) mode = PixelMode::rgba;
      else throw InputError(path, "", fmt::format("unsupported number of channels: {}", ch));
  }
  Image8 im;
  im.height = m.rows;
  im.width = m.cols;
  im.mode = mode;
  const int want = im.channels();
  im.pixels.resize(static_cast<size_t>(im.height * im.width * want));
  const uint8_t* src = m.ptr<uint8_t>();
  for (int64_t p = 0; p < im.height * im.width; ++p) {
    const uint8_t* s = src + p * ch;
    uint8_t* d = &im.pixels[static_cast<size_t>(p * want)];
    // OpenCV gives 1 (grey), 3 (BGR) or 4 (BGRA) channels; grey+alpha comes as BGRA.
    uint8_t r = ch >= 3 ? s[2] : s[0], g = ch >= 3 ? s[1] : s[0], b = s[0];
    uint8_t a = ch == 4 ? s[3] : 255;
    switch (mode) {
      case PixelMode::grey:
      case PixelMode::bilevel:
        d[0] = s[0];
        break;
      case PixelMode::grey_alpha:
        d[0] = s[0], d[1] = a;
        break;
      case PixelMode::rgb:
      case PixelMode::palette:
        d[0] = r, d[1] = g, d[2] = b;
        break;
      case PixelMode::rgba:
        d[0] = r, d[1] = g, d[2] = b, d[3] = a;
        break;
    }
  }
  return im;
}

Image8 resize_bicubic(const Image8& image, int64_t width, int64_t height) {
  if (width == image.width && height == image.height) return image;
  Image8 out = image;
  if (width != image.width) out = resample_pass(out, static_cast<int>(width), /*horizontal=*/true);
  if (height != image.height) out = resample_pass(out, static_cast<int>(height), /*horizontal=*/false);
  return out;
}

Image8 resize_nearest(const Image8& image, int64_t width, int64_t height) {
  if (width == image.width && height == image.height) return image;
  const int c = image.channels();
  Image8 out;
  out.mode = image.mode;
  out.width = width;
  out.height = height;
  out.pixels.assign(static_cast<size_t>(width * height * c), 0);
  // Pillow's ImagingScaleAffine: positions accumulated in doubles from the pixel centre.
  const double sx = static_cast<double>(static_cast<float>(image.width)) / width;
  const double sy = static_cast<double>(static_cast<float>(image.height)) / height;
  auto coord = [](double v) { return v < 0.0 ? -1 : static_cast<int64_t>(v); };
  std::vector<int64_t> xin(static_cast<size_t>(width), -1);
  double xo = sx * 0.5;
  for (int64_t x = 0; x < width; ++x, xo += sx) {
    int64_t v = coord(xo);
    if (v >= 0 && v < image.width) xin[static_cast<size_t>(x)] = v;
  }
  double yo = sy * 0.5;
  for (int64_t y = 0; y < height; ++y, yo += sy) {
    int64_t yi = coord(yo);
    if (yi < 0 || yi >= image.height) continue;
    for (int64_t x = 0; x < width; ++x) {
      if (xin[static_cast<size_t>(x)] < 0) continue;
      std::copy_n(&image.pixels[static_cast<size_t>((yi * image.width + xin[static_cast<size_t>(x)]) * c)], c,
                  &out.pixels[static_cast<size_t>((y * width + x) * c)]);
    }
  }
  return out;
}

Image8 resize_shorter_side(const Image8& image, int64_t n_px) {
  if (image.width <= 0 || image.height <= 0) throw InputError("empty image");
  const bool wide = image.width > image.height;
  const int64_t shorter = wide ? image.height : image.width, longer = wide ? image.width : image.height;
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(n_px * longer) / static_cast<double>(shorter));
  const int64_t w = wide ? new_long : n_px, h = wide ? n_px : new_long;
  if (w == image.width && h == image.height) return image;
  switch (image.mode) {
    case PixelMode::palette:
    case PixelMode::bilevel:
      return resize_nearest(image, w, h);
    case PixelMode::rgba:
    case PixelMode::grey_alpha: {
      Image8 pre = image;
      premultiply(pre);
      Image8 out = resize_bicubic(pre, w, h);
      unpremultiply(out);
      return out;
    }
    default:
      return resize_bicubic(image, w, h);
  }
}

Image8 center_crop_rgb(const Image8& resized, int64_t n_px) {
  if (resized.width < n_px || resized.height < n_px)
    throw InputError(fmt::format("image {}x{} is smaller than the crop {}", resized.width, resized.height, n_px));
  const int64_t top = round_half_even_half(resized.height - n_px);
  const int64_t left = round_half_even_half(resized.width - n_px);
  const int c = resized.channels();
  Image8 out;
  out.mode = PixelMode::rgb;
  out.width = out.height = n_px;
  out.pixels.resize(static_cast<size_t>(n_px * n_px * 3));
  for (int64_t y = 0; y < n_px; ++y)
    for (int64_t x = 0; x < n_px; ++x) {
      const uint8_t* s = &resized.pixels[static_cast<size_t>(((top + y) * resized.width + left + x) * c)];
      uint8_t* d = &out.pixels[static_cast<size_t>((y * n_px + x) * 3)];
      if (c >= 3) d[0] = s[0], d[1] = s[1], d[2] = s[2];  // RGB, RGBA: alpha dropped
      else d[0] = d[1] = d[2] = s[0];                     // L, LA, 1: grey replicated
    }
  return out;
}

at::Tensor normalize_rgb(const Image8& rgb) {
  at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(rgb.pixels.data()), {rgb.height, rgb.width, 3}, at::kByte);
  // ToTensor (/255 in float32) then Normalize, in float32, as torchvision does.
  at::Tensor t = hwc.permute({2, 0, 1}).to(at::kFloat).div(255);
  at::Tensor mean = at::tensor({kClipMean[0], kClipMean[1], kClipMean[2]}).view({3, 1, 1});
  at::Tensor std = at::tensor({kClipStd[0], kClipStd[1], kClipStd[2]}).view({3, 1, 1});
  return t.sub(mean).div(std).contiguous();
}

at::Tensor preprocess(const Image8& image, int64_t n_px) {
  return normalize_rgb(center_crop_rgb(resize_shorter_side(image, n_px), n_px));
}

}  // namespace cmclip::clip
