// A probe compiled with one layer's include root (tests/layering/CMakeLists.txt) and one
// include named by PROBE_HEADER: an upward include must not compile, a downward one must.
#include PROBE_HEADER

int layering_probe() { return 0; }
