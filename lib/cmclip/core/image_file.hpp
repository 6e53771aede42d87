// Image files as every reader of the toolkit opens them (fas-preprocess frames,
// fas-embed --images): the bytes are read once, checked to be complete, and decoded
// by OpenCV from memory. The check catches what a half-copied dataset holds: a PNG
// whose chunks run past the end or that lacks IEND, a JPEG without its end-of-image
// marker after the image data, a BMP shorter than its header says. Such a file is an
// InputError saying so, before a decoder prints its own warnings or, worse, returns a
// partly grey image.
#pragma once
#include <opencv2/core/mat.hpp>

#include <string>

namespace cmclip {

// What is missing from an image file's bytes ("" when they look complete, or are of a
// format not checked here: the decoder then decides).
std::string image_truncation(const std::string& bytes);

// Reads and decodes `path` with cv::IMREAD_UNCHANGED (any depth and channels; no EXIF
// rotation). InputError naming the file: missing, unreadable, empty, truncated, or not
// decodable.
cv::Mat read_image_file(const std::string& path);

}  // namespace cmclip
