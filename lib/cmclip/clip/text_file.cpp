#include "cmclip/clip/text_file.hpp"

#include "cmclip/core/fs.hpp"
#include "cmclip/h5/schema.hpp"

namespace cmclip::clip {

TextFeatureWriter::TextFeatureWriter(const std::string& path, int64_t context_length, int64_t feature_dim)
    : out_(std::make_unique<AtomicOutput>(path)), context_(context_length), dim_(feature_dim) {
  file_ = std::make_unique<h5::File>(h5::File::create(*out_));
  const h5::Group& g = *file_;
  h5::DatasetOptions column;
  column.extendable = true;
  column.chunk = {1024};
  g.create_dataset("text", h5::DType::string, {0}, column);
  g.create_dataset("line", h5::DType::i64, {0}, column);
  g.create_dataset("tokens", h5::DType::i64, {0, context_},
                   h5::DatasetOptions::compressed({std::max<int64_t>(1, 16384 / context_), context_}, true));
  g.create_dataset("features", h5::DType::f32, {0, dim_},
                   h5::DatasetOptions::compressed({std::max<int64_t>(1, 65536 / dim_), dim_}, true));
}

TextFeatureWriter::~TextFeatureWriter() = default;

void TextFeatureWriter::set_attr(const std::string& name, const h5::AttrValue& value) { attrs_[name] = value; }

void TextFeatureWriter::append(const std::string& text, int64_t line, const int64_t* tokens, const float* features) {
  const h5::Group& g = *file_;
  g.dataset("text").write_strings(rows_, {text});
  g.dataset("line").write_rows(rows_, 1, &line);
  g.dataset("tokens").write_rows(rows_, 1, tokens);
  g.dataset("features").write_rows(rows_, 1, features);
  ++rows_;
}

void TextFeatureWriter::commit() {
  h5::finish_file(file_, "num_rows", rows_, attrs_, kTextFormat, kTextVersion);
  out_->commit();
}

TextFeatures read_text_features(const std::string& path) {
  h5::File f = h5::File::open(path);
  h5::check_format(f, kTextFormat, kTextVersion);
  TextFeatures t;
  h5::Dataset text = f.dataset("text");
  const int64_t n = text.rows();
  text.expect({h5::DType::string}, {n});
  f.dataset("line").expect({h5::DType::i64}, {n});
  h5::Dataset tokens = f.dataset("tokens"), features = f.dataset("features");
  tokens.expect({h5::DType::i64}, {n, -1});
  features.expect({h5::DType::f32}, {n, -1});
  t.context_length = tokens.shape()[1];
  t.feature_dim = features.shape()[1];
  t.text = text.read_strings();
  t.line = f.read<int64_t>("line");
  t.tokens = tokens.read<int64_t>();
  t.features = features.read<float>();
  return t;
}

}  // namespace cmclip::clip
