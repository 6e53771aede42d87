# The fuzz targets (tests/fuzz/fuzz_<name>.cpp), for tests/fuzz/CMakeLists.txt and the
# ctest label `fuzz` (tests/CMakeLists.txt).
set(CMCLIP_FUZZ_TARGETS list_reader text_lists tokenizer bpe_file score_tsv image h5_samples h5_scores h5_checkpoint)
