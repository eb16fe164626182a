// Always-on assertions for invariants (TigerBeetle, stellar-core's releaseAssert). They
// stay in release builds: a broken ledger invariant must stop the process before it writes.
// Never use one to check input; input gets a typed error.
#pragma once

#include <cstdio>
#include <cstdlib>

#define PC_CHECK(condition)                                                            \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (false)
