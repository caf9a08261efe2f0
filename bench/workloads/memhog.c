// A benchmark workload: N MiB of anonymous memory, a third pseudo-random (incompressible),
// a third text, a third zeros (written, so present). It prints READY and sleeps; with
// --dirty P it rewrites P MiB per second (for migration benchmarks); with --heartbeat it prints
// the wall-clock time every 10 ms, so the longest gap shows the downtime it lived through.
//   memhog MIB [--dirty MIB_PER_S] [--heartbeat]
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MIB [--dirty MIB_PER_S]\n", argv[0]);
    return 2;
  }
  size_t bytes = (size_t)atol(argv[1]) << 20;
  long dirty = 0;
  int heartbeat = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--dirty") == 0 && i + 1 < argc) dirty = atol(argv[++i]);
    else if (strcmp(argv[i], "--heartbeat") == 0) heartbeat = 1;
  }
  uint8_t *area = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return perror("mmap"), 1;
  size_t third = bytes / 3 & ~(size_t)7;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < third; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(area + i, &x, 8);
  }
  // Words picked at random: compresses about as well as real text and JSON (3-4x), not like one
  // repeated line.
  static const char *words[] = {"the", "process", "memory", "page", "restore", "checkpoint", "value", "name", "id",
                                "status", "error", "request", "user", "service", "time", "data", "{\"key\":", "\"ok\"},",
                                "true,", "null,", "1234,", "node", "list", "map", "table", "index", "count", "port"};
  size_t i = third;
  while (i < 2 * third) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const char *word = words[x % (sizeof words / sizeof *words)];
    for (const char *c = word; *c && i < 2 * third; c++) area[i++] = (uint8_t)*c;
    if (i < 2 * third) area[i++] = ' ';
  }
  memset(area + 2 * third, 0, bytes - 2 * third);
  // memset of zeros to untouched pages would leave them unpopulated in some kernels: touch them.
  for (size_t i = 2 * third; i < bytes; i += 4096) ((volatile uint8_t *)area)[i] = 0;
  printf("READY %zu\n", bytes);
  fflush(stdout);
  size_t cursor = 0;
  for (;;) {
    if (dirty <= 0 && !heartbeat) {
      pause();
      continue;
    }
    if (heartbeat) {
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      printf("HB %lld\n", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
      fflush(stdout);
    }
    // Rewrite dirty MiB spread over one second, in 10 ms steps.
    size_t step = ((size_t)dirty << 20) / 100;
    for (size_t done = 0; done < step; done += 4096) {
      area[cursor] ^= 1;
      cursor = (cursor + 4096) % bytes;
    }
    usleep(10000);
  }
}
