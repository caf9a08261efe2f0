// A benchmark workload: N MiB of anonymous memory, a third pseudo-random (incompressible),
// a third text, a third zeros (written, so present); --fill random|text|zeros makes all of it
// one kind (for the archive's compression per kind of memory). It prints READY and sleeps; with
// --dirty P it rewrites P MiB per second (for migration benchmarks); with --heartbeat it prints
// the wall-clock time every 10 ms, so the longest gap shows the downtime it lived through; with
// --serve PORT threads answer keep-alive HTTP requests on PORT with {"counter":N}, N going up
// by one per answer on each connection (what bench/workloads/keepalive-client.mjs expects).
// --fork N makes it a pre-fork tree: once filled, N workers fork off and sleep, sharing every
// page with it copy-on-write.
//   memhog MIB [--dirty MIB_PER_S] [--heartbeat] [--serve PORT] [--fill mixed|random|text|zeros]
//              [--fork N]
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// One thread per connection, each with its own counter: a migration must carry each one on.
static void *answer(void *arg) {
  int client = (int)(intptr_t)arg;
  unsigned long counter = 0;
  char buffer[4096];
  size_t held = 0;
  for (;;) {
    ssize_t got = read(client, buffer + held, sizeof buffer - 1 - held);
    if (got <= 0) break;
    held += (size_t)got;
    buffer[held] = 0;
    char *end;
    while ((end = strstr(buffer, "\r\n\r\n")) != NULL) {  // one answer per request head
      char body[64], reply[256];
      int length = snprintf(body, sizeof body, "{\"counter\":%lu}", ++counter);
      int size = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", length, body);
      if (write(client, reply, (size_t)size) != size) break;
      size_t used = (size_t)(end + 4 - buffer);
      memmove(buffer, end + 4, held - used + 1);
      held -= used;
    }
    if (held >= sizeof buffer - 1) held = 0;
  }
  close(client);
  return NULL;
}

static void *serve(void *arg) {
  int port = (int)(intptr_t)arg, one = 1;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 16) != 0) return perror("serve"), NULL;
  printf("SERVING %d\n", port);
  fflush(stdout);
  for (;;) {
    int client = accept(listener, NULL, NULL);
    if (client < 0) continue;
    pthread_t thread;
    if (pthread_create(&thread, NULL, answer, (void *)(intptr_t)client) != 0) close(client);
    else pthread_detach(thread);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MIB [--dirty MIB_PER_S]\n", argv[0]);
    return 2;
  }
  size_t bytes = (size_t)atol(argv[1]) << 20;
  long dirty = 0;
  int heartbeat = 0, serve_port = 0, workers = 0;
  const char *fill = "mixed";
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--dirty") == 0 && i + 1 < argc) dirty = atol(argv[++i]);
    else if (strcmp(argv[i], "--heartbeat") == 0) heartbeat = 1;
    else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc) serve_port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--fill") == 0 && i + 1 < argc) fill = argv[++i];
    else if (strcmp(argv[i], "--fork") == 0 && i + 1 < argc) workers = atoi(argv[++i]);
  }
  uint8_t *area = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return perror("mmap"), 1;
  // [0, random_end) random, [random_end, text_end) text, the rest zeros.
  size_t third = bytes / 3 & ~(size_t)7;
  size_t random_end = third, text_end = 2 * third;
  if (strcmp(fill, "random") == 0) random_end = text_end = bytes & ~(size_t)7;
  else if (strcmp(fill, "text") == 0) random_end = 0, text_end = bytes;
  else if (strcmp(fill, "zeros") == 0) random_end = text_end = 0;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < random_end; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(area + i, &x, 8);
  }
  // Words picked at random: compresses about as well as real text and JSON (3-4x), not like one
  // repeated line.
  static const char *words[] = {"the", "process", "memory", "page", "restore", "checkpoint", "value", "name", "id",
                                "status", "error", "request", "user", "service", "time", "data", "{\"key\":", "\"ok\"},",
                                "true,", "null,", "1234,", "node", "list", "map", "table", "index", "count", "port"};
  size_t i = random_end;
  while (i < text_end) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const char *word = words[x % (sizeof words / sizeof *words)];
    for (const char *c = word; *c && i < text_end; c++) area[i++] = (uint8_t)*c;
    if (i < text_end) area[i++] = ' ';
  }
  memset(area + text_end, 0, bytes - text_end);
  // memset of zeros to untouched pages would leave them unpopulated in some kernels: touch them.
  for (size_t i = text_end; i < bytes; i += 4096) ((volatile uint8_t *)area)[i] = 0;
  for (int w = 0; w < workers; w++) {
    pid_t child = fork();
    if (child < 0) return perror("fork"), 1;
    if (child == 0)
      for (;;) pause();
  }
  if (serve_port > 0) {
    pthread_t server;
    pthread_create(&server, NULL, serve, (void *)(intptr_t)serve_port);
  }
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
