/* cacheon-relay: the trusted TCP relay that lets the harness reach a submission on its internal
 * (no-egress) network. It runs in its own sandboxed container attached to two networks: a
 * network the validator host can reach, and the submission's internal network. Each accepted
 * connection is joined to TARGET (the submission's address on the internal network) and bytes
 * are copied both ways as they come (TCP_NODELAY on both sides, so token timing is preserved;
 * half-closes are passed on). Built statically (scripts/build-relay-image.sh), no libraries.
 *
 * usage: relay LISTEN_PORT TARGET_IP TARGET_PORT
 * Bounded: at most MAX_CONNS connections at once (more are refused), connect timeout 5 s. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 256
#define BUF_SIZE (64 * 1024)

static struct sockaddr_in target;
static atomic_int live = 0;

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Connects with a timeout: non-blocking connect, poll for writability, then back to blocking. */
static int connect_target(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (connect(fd, (struct sockaddr*)&target, sizeof target) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  struct pollfd p = {fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, flags);
  nodelay(fd);
  return fd;
}

/* Copies what is readable on `from` to `to`; returns 0 on EOF/error of `from`. */
static int pump(int from, int to, char* buf) {
  ssize_t n = read(from, buf, BUF_SIZE);
  if (n <= 0) return 0;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    off += w;
  }
  return 1;
}

static void* serve(void* arg) {
  int client = (int)(intptr_t)arg;
  int server = connect_target();
  char* buf = malloc(BUF_SIZE);
  if (server >= 0 && buf) {
    struct pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    int open_in[2] = {1, 1};
    while (open_in[0] || open_in[1]) {
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      int failed = 0;
      for (int i = 0; i < 2; i++) {
        if (!open_in[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int to = i == 0 ? server : client;
        int r = pump(p[i].fd, to, buf);
        if (r < 0) failed = 1;
        if (r == 0) { /* EOF: pass the half-close on, stop reading this side */
          shutdown(to, SHUT_WR);
          open_in[i] = 0;
          p[i].fd = -1;
        }
      }
      if (failed) break;
    }
  }
  free(buf);
  if (server >= 0) close(server);
  close(client);
  atomic_fetch_sub(&live, 1);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: relay LISTEN_PORT TARGET_IP TARGET_PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1) {
    fprintf(stderr, "relay: bad target address %s\n", argv[2]);
    return 2;
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[1]));
  if (bind(ls, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(ls, 128) != 0) {
    perror("relay: bind/listen");
    return 1;
  }
  printf("relay: listening on %s, forwarding to %s:%s\n", argv[1], argv[2], argv[3]);
  fflush(stdout);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    if (atomic_load(&live) >= MAX_CONNS) {
      close(c);
      continue;
    }
    nodelay(c);
    atomic_fetch_add(&live, 1);
    pthread_t t;
    if (pthread_create(&t, &attr, serve, (void*)(intptr_t)c) != 0) {
      close(c);
      atomic_fetch_sub(&live, 1);
    }
  }
}
