// FUZZ_CHECK, apart from fuzz_support.hpp so that a target linking no library of the project
// (fuzz_rpc_submit_scan) can use it too.
#pragma once

#include <cstdio>

// A broken property stops the run with SIGILL; libFuzzer then saves the input as crash-*.
// Always on, unlike assert(), because the fuzz build is RelWithDebInfo.
#define FUZZ_CHECK(condition)                                                              \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                    \
    }                                                                                      \
  } while (false)
