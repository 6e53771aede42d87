// cmclip-test-tamper: makes the bad inputs of the error tests of the tools
// (tests/tools/test_errors_*.sh). HDF5 commands change one thing of FILE, in place:
//
//   tamper FILE rm PATH                  remove a dataset or group
//   tamper FILE retype PATH DTYPE        rewrite a numeric dataset as int8, int16, int32,
//                                        int64, uint8, float32 or float64 (same shape)
//   tamper FILE rows PATH N              rewrite a numeric dataset with its first N rows
//   tamper FILE set PATH INDEX VALUE     set element INDEX (flat) of a numeric dataset;
//                                        VALUE may be nan or inf
//   tamper FILE attr OBJ NAME KIND VALUE set attribute NAME of object OBJ (/ = root) to
//                                        VALUE, KIND int, float or string
//   tamper FILE rmattr OBJ NAME          remove an attribute
//   tamper FILE flip PATH                flip one byte in the middle of the stored data
//                                        of PATH (its first chunk), behind HDF5's back
//
// Whether FILE is a valid file of a schema (exit 0) or not (exit 1, the reader's error):
//
//   tamper FILE validate samples|scores|checkpoint
//
// Images and videos (the tests need JPEG files and videos; the tools write PNG only):
//
//   tamper DST image SRC                 SRC re-encoded in the format of DST's extension
//   tamper DST video FRAME...            an MJPG video of the frames (5 fps)
//
// Exit status 0 on success, 1 with a message otherwise.
#include <hdf5.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cmclip/core/error.hpp"
#include "cmclip/h5/checkpoint.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/samples.hpp"
#include "cmclip/h5/scores.hpp"

namespace {

using cmclip::h5::DType;

DType parse_dtype(const std::string& s) {
  if (s == "int8") return DType::i8;
  if (s == "int16") return DType::i16;
  if (s == "int32") return DType::i32;
  if (s == "int64") return DType::i64;
  if (s == "uint8") return DType::u8;
  if (s == "float32") return DType::f32;
  if (s == "float64") return DType::f64;
  throw std::runtime_error("unknown dtype " + s);
}

// Splits "/a/b/c" into the parent group "/a/b" and the name "c".
std::pair<std::string, std::string> split(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return {"/", path};
  return {pos == 0 ? "/" : path.substr(0, pos), path.substr(pos + 1)};
}

cmclip::h5::Group parent_of(const cmclip::h5::File& f, const std::string& path) {
  std::string parent = split(path).first;
  if (parent == "/") return f;
  return f.group(parent.substr(1));
}

// Replaces dataset `path` by `values` (doubles) with `shape` and `type`.
void rewrite(const cmclip::h5::File& f, const std::string& path, DType type, const cmclip::h5::Shape& shape,
             const std::vector<double>& values) {
  cmclip::h5::Group g = parent_of(f, path);
  std::string name = split(path).second;
  g.remove(name);
  cmclip::h5::Dataset d = g.create_dataset(name, type, shape);
  d.write_rows(0, shape.empty() ? 1 : shape[0], values.data());
}

// The file offset of the first stored byte of `d` and the stored size.
std::pair<haddr_t, hsize_t> storage_of(hid_t d) {
  hid_t dcpl = H5Dget_create_plist(d);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  H5Pclose(dcpl);
  if (layout == H5D_CHUNKED) {
    hid_t space = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> offset(static_cast<size_t>(rank));
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    herr_t ok = H5Dget_chunk_info(d, space, 0, offset.data(), &mask, &addr, &size);
    H5Sclose(space);
    if (ok < 0 || addr == HADDR_UNDEF) throw std::runtime_error("no stored chunk");
    return {addr, size};
  }
  haddr_t addr = H5Dget_offset(d);
  if (addr == HADDR_UNDEF) throw std::runtime_error("no contiguous storage");
  return {addr, H5Dget_storage_size(d)};
}

int run(const std::vector<std::string>& a) {
  if (a.size() < 3) throw std::runtime_error("usage: tamper FILE COMMAND ARGS...");
  const std::string& file = a[1];
  const std::string& cmd = a[2];
  if (cmd == "validate") {
    try {
      const std::string& schema = a.at(3);
      if (schema == "samples") {
        cmclip::SampleStore store(file);
        std::vector<uint8_t> image(store.image_bytes());
        for (int64_t i = 0; i < store.size(); ++i) store.read_images(i, 1, image.data());
      } else if (schema == "scores") {
        cmclip::read_scores(file, true, false);
      } else if (schema == "checkpoint") {
        cmclip::read_checkpoint(file, true);
      } else {
        throw std::runtime_error("unknown schema " + schema);
      }
    } catch (const cmclip::Error& e) {
      std::cerr << "invalid: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  if (cmd == "image") {
    cv::Mat m = cv::imread(a.at(3), cv::IMREAD_UNCHANGED);
    if (m.empty() || !cv::imwrite(file, m)) throw std::runtime_error("cannot re-encode " + a.at(3));
    return 0;
  }
  if (cmd == "video") {
    cv::VideoWriter w;
    for (size_t i = 3; i < a.size(); ++i) {
      cv::Mat m = cv::imread(a[i], cv::IMREAD_COLOR);
      if (m.empty()) throw std::runtime_error("cannot read " + a[i]);
      if (!w.isOpened() && !w.open(file, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 5, m.size()))
        throw std::runtime_error("cannot write the video " + file);
      w.write(m);
    }
    return 0;
  }
  if (cmd == "flip") {
    haddr_t addr;
    hsize_t size;
    {
      cmclip::h5::File f = cmclip::h5::File::open(file);
      cmclip::h5::Dataset d = f.dataset(a.at(3).substr(a.at(3)[0] == '/' ? 1 : 0));
      std::tie(addr, size) = storage_of(d.id());
    }
    if (size == 0) throw std::runtime_error("empty storage");
    FILE* fp = std::fopen(file.c_str(), "r+b");
    if (!fp) throw std::runtime_error("cannot open " + file);
    long at = static_cast<long>(addr + size / 2);
    std::fseek(fp, at, SEEK_SET);
    int c = std::fgetc(fp);
    std::fseek(fp, at, SEEK_SET);
    std::fputc(c ^ 0x5a, fp);
    std::fclose(fp);
    return 0;
  }
  cmclip::h5::File f = cmclip::h5::File::open_rw(file);
  auto rel = [](const std::string& p) { return p.size() > 1 && p[0] == '/' ? p.substr(1) : p; };
  if (cmd == "rm") {
    parent_of(f, a.at(3)).remove(split(a.at(3)).second);
  } else if (cmd == "retype" || cmd == "rows" || cmd == "set") {
    cmclip::h5::Dataset d = f.dataset(rel(a.at(3)));
    cmclip::h5::Shape shape = d.shape();
    DType type = d.dtype();
    std::vector<double> v = d.read<double>();
    if (cmd == "retype") {
      type = parse_dtype(a.at(4));
    } else if (cmd == "rows") {
      int64_t n = std::stoll(a.at(4));
      int64_t per = shape.empty() ? 1 : d.elements_per_row();
      v.resize(static_cast<size_t>(n * per));
      shape.at(0) = n;
    } else {
      v.at(std::stoull(a.at(4))) = std::strtod(a.at(5).c_str(), nullptr);
    }
    rewrite(f, "/" + rel(a.at(3)), type, shape, v);
  } else if (cmd == "attr" || cmd == "rmattr") {
    const std::string& obj = a.at(3);
    hid_t id = obj == "/" ? f.id() : H5Oopen(f.id(), rel(obj).c_str(), H5P_DEFAULT);
    if (id < 0) throw std::runtime_error("no object " + obj);
    if (cmd == "rmattr") {
      if (H5Adelete(id, a.at(4).c_str()) < 0) throw std::runtime_error("no attribute " + a.at(4));
    } else {
      const std::string &name = a.at(4), &kind = a.at(5), &value = a.at(6);
      if (H5Aexists(id, name.c_str()) > 0) H5Adelete(id, name.c_str());
      hid_t space = H5Screate(H5S_SCALAR);
      hid_t type = kind == "int"     ? H5Tcopy(H5T_STD_I64LE)
                   : kind == "float" ? H5Tcopy(H5T_IEEE_F64LE)
                                     : H5Tcopy(H5T_C_S1);
      if (kind == "string") {
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, H5T_CSET_UTF8);
      }
      hid_t attr = H5Acreate2(id, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
      herr_t ok;
      if (kind == "int") {
        long long v = std::stoll(value);
        ok = H5Awrite(attr, H5T_NATIVE_LLONG, &v);
      } else if (kind == "float") {
        double v = std::strtod(value.c_str(), nullptr);
        ok = H5Awrite(attr, H5T_NATIVE_DOUBLE, &v);
      } else {
        const char* p = value.c_str();
        ok = H5Awrite(attr, type, &p);
      }
      H5Aclose(attr);
      H5Tclose(type);
      H5Sclose(space);
      if (ok < 0) throw std::runtime_error("cannot write attribute " + name);
    }
    if (obj != "/") H5Oclose(id);
  } else {
    throw std::runtime_error("unknown command " + cmd);
  }
  f.close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "tamper: " << e.what() << "\n";
    return 1;
  }
}
