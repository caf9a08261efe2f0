// Sends N MiB of pages with CRIU's page-server protocol (criu-internals.md §3), as fast as it
// can, to measure receivers: on fd 3 (an inherited socket), or to a TCP address.
//   page-sender MIB fd
//   page-sender MIB tcp HOST PORT
// Prints the seconds from the first byte to CLOSE's answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct header {
  uint32_t cmd, pad;
  uint64_t nr_pages, vaddr, dst_id;
};

static void send_all(int fd, const void *data, size_t size) {
  const char *p = data;
  while (size > 0) {
    ssize_t sent = send(fd, p, size, MSG_NOSIGNAL);
    if (sent <= 0) {
      perror("send");
      exit(1);
    }
    p += sent;
    size -= (size_t)sent;
  }
}

static void recv_all(int fd, void *data, size_t size) {
  if (recv(fd, data, size, MSG_WAITALL) != (ssize_t)size) {
    perror("recv");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  uint64_t total = (uint64_t)atol(argv[1]) << 20;
  int sock = 3;
  if (strcmp(argv[2], "tcp") == 0) {
    sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[4]))};
    inet_pton(AF_INET, argv[3], &addr.sin_addr);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) return perror("connect"), 1;
  }
  const uint64_t pages_per_add = 256;  // CRIU's page pipes split entries at this size here
  size_t chunk = pages_per_add * 4096;
  char *data = malloc(chunk);
  for (size_t i = 0; i < chunk; i++) data[i] = (char)(i * 7 + (i >> 12));
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct header h = {.cmd = 4 /* OPEN2 */, .dst_id = (1ull << 8) | 1 /* pid 1, task pages */};
  send_all(sock, &h, sizeof h);
  uint8_t has_parent;
  recv_all(sock, &has_parent, 1);
  uint64_t vaddr = 0x7f0000000000ull;
  for (uint64_t sent = 0; sent < total; sent += chunk) {
    struct header add = {.cmd = 6 /* ADD_F */ | (4u << 16) /* PE_PRESENT */, .nr_pages = pages_per_add, .vaddr = vaddr, .dst_id = h.dst_id};
    send_all(sock, &add, sizeof add);
    send_all(sock, data, chunk);
    vaddr += chunk;
  }
  struct header close_cmd = {.cmd = 0x1023 /* CLOSE */};
  send_all(sock, &close_cmd, sizeof close_cmd);
  int32_t status;
  recv_all(sock, &status, sizeof status);
  clock_gettime(CLOCK_MONOTONIC, &end);
  close(sock);
  printf("%.6f\n", (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
  return status == 0 ? 0 : 1;
}
