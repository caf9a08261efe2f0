// Minimal test macros: a failed check prints where and exits non-zero.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (0)

#define CHECK_OK(result)                                                                           \
  do {                                                                                             \
    if (!(result).Ok()) {                                                                          \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, (result).Error().Message().c_str()); \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

#define TEST(name) static void name()
#define RUN(name)                  \
  do {                             \
    name();                        \
    std::printf("ok %s\n", #name); \
  } while (0)
