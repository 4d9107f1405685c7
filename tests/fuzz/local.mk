# libFuzzer targets (./configure --enable-fuzzing CC=clang).
