// The reference image transform, clip.clip._transform(n_px) (docs/clip.md §7), exactly:
// resize the shorter side to n_px with Pillow's BICUBIC (separable, antialiased,
// fixed-point, 8-bit between the passes), centre crop (Python's round-half-even
// offsets), convert to RGB, scale to [0, 1], normalise with CLIP's mean and std.
// The resize happens in the image's own mode, as Pillow does: palette and 1-bit
// images with NEAREST, RGBA and grey+alpha in premultiplied alpha (then the alpha is
// dropped), grey (and one-channel Depth/NIR) like RGB with the value replicated.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cmclip::clip {

// How Pillow would hold the image; decides the resampling (see above).
enum class PixelMode {
  rgb,         // 3 channels
  grey,        // 1 channel ("L")
  rgba,        // 4 channels, resized premultiplied
  grey_alpha,  // 2 channels ("LA"), resized premultiplied
  palette,     // 3 channels (the palette already applied), resized with NEAREST
  bilevel,     // 1 channel of 0/255 ("1"), resized with NEAREST
};
const char* pixel_mode_name(PixelMode m);
int channels_of(PixelMode m);

// An 8-bit image, rows of pixels with interleaved channels (H, W, C).
struct Image8 {
  int64_t height = 0, width = 0;
  PixelMode mode = PixelMode::rgb;
  std::vector<uint8_t> pixels;
  int channels() const { return channels_of(mode); }
};

// From memory (e.g. a sample store row): channels 1 -> grey, 3 -> rgb, 4 -> rgba.
Image8 image_from_hwc(const uint8_t* data, int64_t height, int64_t width, int64_t channels);
// From a file (PNG, JPEG, BMP, TIFF, ... through OpenCV). The PNG header decides the
// mode (OpenCV expands palettes and grey+alpha); EXIF orientation is ignored, as
// Pillow ignores it; 16-bit samples keep their high byte. Unreadable or undecodable
// files fail with an InputError naming the file.
Image8 read_image(const std::string& path);

// Pillow's Image.resize(size, BICUBIC) on 8-bit channels (no mode handling).
Image8 resize_bicubic(const Image8& image, int64_t width, int64_t height);
// Pillow's Image.resize(size, NEAREST).
Image8 resize_nearest(const Image8& image, int64_t width, int64_t height);
// torchvision Resize(n_px, BICUBIC) on a PIL image of this mode: the shorter side
// becomes n_px, the longer int(n_px * long / short); mode rules as above.
Image8 resize_shorter_side(const Image8& image, int64_t n_px);
// CenterCrop(n_px) after resize_shorter_side, then convert("RGB"): (n_px, n_px, 3).
Image8 center_crop_rgb(const Image8& resized, int64_t n_px);

// CLIP's normalisation constants (R, G, B).
inline constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

// The whole transform: [3, n_px, n_px] float32, normalised.
at::Tensor preprocess(const Image8& image, int64_t n_px);
// ToTensor + Normalize of an RGB (H, W, 3) image: [3, H, W].
at::Tensor normalize_rgb(const Image8& rgb);

}  // namespace cmclip::clip
