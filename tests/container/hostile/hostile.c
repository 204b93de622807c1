/* A deliberately hostile "submission" for the sandbox tests (SPEC §4): one static binary, the
 * misbehaviour picked by argv[1]. scripts/build-test-images.sh packs each mode into its own
 * FROM-scratch image. Where a mode serves, it is a minimal HTTP/1.1 server on 0.0.0.0:8000 that
 * answers one request per connection and closes.
 *
 *   egress [ip:port...]  TCP-connect (1 s each) to the given addresses, 1.1.1.1:80 and 8.8.8.8:53;
 *                        print "egress <addr> blocked|CONNECTED"; then serve: /health 200,
 *                        /v1/models, chat 500 (an OpenAI error object).
 *   write-root           create /hostile-was-here and /etc/x; print "write-root <path> <result>";
 *                        exit 3.
 *   forkbomb             fork until it fails (children sleep), keep trying for 2 s, print the
 *                        count; never serve.
 *   fill-mem             allocate and touch memory in 64 MiB steps until killed.
 *   fill-tmp             write /tmp/fill in 1 MiB chunks until an error; print bytes and errno;
 *                        exit 4.
 *   never-healthy        serve, answering every request 503.
 *   die                  print "dying" to stderr, exit 42.
 *   garbage              /health 200, /v1/models, chat and /tokenize answer 200 with garbage.
 *   slow-start [secs]    sleep (default 5 s), then serve like egress (no connect attempts).
 *
 * Static glibc: no getaddrinfo or anything else that loads NSS modules. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PORT 8000
#define MAX_REQUEST (64 * 1024)
#define MAX_BODY (1024 * 1024)

static const char* errno_name(int e) {
  switch (e) {
    case EROFS: return "EROFS";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "errno";
  }
}

/* ---- egress -------------------------------------------------------------------------------- */

/* 1 when a TCP connection to "ip:port" is established within 1 s. */
static int try_connect(const char* addr) {
  char ip[64];
  const char* colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof ip) return 0;
  memcpy(ip, addr, (size_t)(colon - addr));
  ip[colon - addr] = '\0';
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(colon + 1));
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) return 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int ok = 0;
  if (connect(fd, (struct sockaddr*)&sa, sizeof sa) == 0) {
    ok = 1;
  } else if (errno == EINPROGRESS) {
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, 1000) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  close(fd);
  return ok;
}

static void egress(int argc, char** argv) {
  static const char* fixed[] = {"1.1.1.1:80", "8.8.8.8:53"};
  for (int i = 2; i < argc + 2; ++i) {
    const char* a = i < argc ? argv[i] : fixed[i - argc];
    printf("egress %s %s\n", a, try_connect(a) ? "CONNECTED" : "blocked");
    fflush(stdout);
  }
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

enum serve_kind { SERVE_OK, SERVE_503, SERVE_GARBAGE };

static void send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void respond(int fd, int status, const char* type, const char* body, size_t len) {
  char head[256];
  const char* reason = status == 200 ? "OK" : status == 404 ? "Not Found"
                     : status == 503 ? "Service Unavailable" : "Internal Server Error";
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, reason, type, len);
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}

static const char* model_name(void) {
  const char* m = getenv("HOSTILE_MODEL");
  return m && *m ? m : "Qwen2.5-72B-Instruct";
}

/* Reads one request (headers, then a Content-Length body, both bounded) and answers it. */
static void handle(int fd, enum serve_kind kind) {
  static char buf[MAX_REQUEST + 1];
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t got = 0;
  char* end = NULL;
  while (!end && got < MAX_REQUEST) {
    ssize_t r = recv(fd, buf + got, MAX_REQUEST - got, 0);
    if (r <= 0) return;
    got += (size_t)r;
    buf[got] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end) return;
  char method[16] = "", path[256] = "";
  if (sscanf(buf, "%15s %255s", method, path) != 2) return;
  /* Drain the body so closing does not reset the connection under the response. */
  long body = 0;
  for (char* h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
    if (strncasecmp(h + 2, "content-length:", 15) == 0) body = strtol(h + 17, NULL, 10);
  long have = (long)(got - (size_t)(end + 4 - buf));
  for (long left = body - have; left > 0 && body <= MAX_BODY;) {
    ssize_t r = recv(fd, buf, left < MAX_REQUEST ? (size_t)left : MAX_REQUEST, 0);
    if (r <= 0) break;
    left -= r;
  }

  char models[256];
  int mlen = snprintf(models, sizeof models,
                      "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\","
                      "\"created\":0,\"owned_by\":\"hostile\"}]}",
                      model_name());
  static const char garbage[] = "\x00\xff\xfe garbage {\"choices\": [ \x80\x81 not sse\r\n\r\n"
                                "data: {broken\n\n\x01\x02\x03";
  static const char error[] =
      "{\"error\":{\"message\":\"hostile server refuses\",\"type\":\"server_error\","
      "\"param\":null,\"code\":null}}";
  if (kind == SERVE_503) {
    respond(fd, 503, "text/plain", "not ready\n", 10);
  } else if (strcmp(path, "/health") == 0) {
    respond(fd, 200, "text/plain", "ok\n", 3);
  } else if (strcmp(path, "/v1/models") == 0) {
    respond(fd, 200, "application/json", models, (size_t)mlen);
  } else if (kind == SERVE_GARBAGE) {
    respond(fd, 200, "text/event-stream", garbage, sizeof garbage - 1);
  } else {
    respond(fd, 500, "application/json", error, sizeof error - 1);
  }
}

static int serve(enum serve_kind kind) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(PORT);
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (fd < 0 || bind(fd, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) {
    fprintf(stderr, "hostile: cannot listen on %d: %s\n", PORT, strerror(errno));
    return 1;
  }
  printf("listening on 0.0.0.0:%d\n", PORT);
  fflush(stdout);
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    handle(c, kind);
    close(c);
  }
}

/* ---- resource abuse ------------------------------------------------------------------------ */

static int write_root(void) {
  static const char* paths[] = {"/hostile-was-here", "/etc/x"};
  for (int i = 0; i < 2; ++i) {
    int fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0 && write(fd, "x", 1) == 1) {
      printf("write-root %s WROTE\n", paths[i]);
    } else {
      printf("write-root %s %s\n", paths[i], errno_name(errno));
    }
    if (fd >= 0) close(fd);
  }
  fflush(stdout);
  return 3;
}

_Noreturn static void forkbomb(void) {
  long forked = 0;
  int last_errno = 0;
  struct timespec start, now;
  int failing = 0;
  for (;;) {
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    if (pid > 0) {
      ++forked;
      failing = 0;
      continue;
    }
    last_errno = errno;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!failing) {
      failing = 1;
      start = now;
    }
    if (now.tv_sec - start.tv_sec >= 2) break;
    usleep(10000);
  }
  printf("forkbomb forked %ld before failing (%s)\n", forked, errno_name(last_errno));
  fflush(stdout);
  for (;;) pause();
}

_Noreturn static void fill_mem(void) {
  const size_t step = (size_t)64 << 20;
  size_t total = 0;
  for (;;) {
    char* p = malloc(step);
    if (!p) {
      printf("fill-mem malloc failed at %zu MiB\n", total >> 20);
      fflush(stdout);
      sleep(1);
      continue;
    }
    memset(p, 0xa5, step);  /* touch every page */
    total += step;
    printf("fill-mem %zu MiB\n", total >> 20);
    fflush(stdout);
  }
}

static int fill_tmp(void) {
  static char chunk[1 << 20];
  memset(chunk, 'f', sizeof chunk);
  int fd = open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    printf("fill-tmp open failed: %s\n", errno_name(errno));
    return 4;
  }
  long long bytes = 0;
  int err = 0;
  for (;;) {
    ssize_t w = write(fd, chunk, sizeof chunk);
    if (w < 0) {
      err = errno;
      break;
    }
    bytes += w;
    if ((size_t)w < sizeof chunk) {
      /* A short write means the next one fails: let it report the errno. */
      continue;
    }
  }
  printf("fill-tmp %lld bytes %s\n", bytes, errno_name(err));
  fflush(stdout);
  close(fd);
  return 4;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "egress") == 0) {
    egress(argc, argv);
    return serve(SERVE_OK);
  }
  if (strcmp(mode, "write-root") == 0) return write_root();
  if (strcmp(mode, "forkbomb") == 0) forkbomb();
  if (strcmp(mode, "fill-mem") == 0) fill_mem();
  if (strcmp(mode, "fill-tmp") == 0) return fill_tmp();
  if (strcmp(mode, "never-healthy") == 0) return serve(SERVE_503);
  if (strcmp(mode, "die") == 0) {
    fprintf(stderr, "dying\n");
    return 42;
  }
  if (strcmp(mode, "garbage") == 0) return serve(SERVE_GARBAGE);
  if (strcmp(mode, "slow-start") == 0) {
    sleep(argc > 2 ? (unsigned)atoi(argv[2]) : 5);
    return serve(SERVE_OK);
  }
  fprintf(stderr, "usage: hostile egress|write-root|forkbomb|fill-mem|fill-tmp|never-healthy|"
                  "die|garbage|slow-start [args]\n");
  return 2;
}
