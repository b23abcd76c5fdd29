/*
 * patchroll's apt hooks, compiled: ONE static binary that is apt-pre-install-pkgs or apt-post-invoke by the
 * name it runs under (hooks/build.sh links it under both names). It does what apt-pre-install-pkgs.sh and
 * apt-post-invoke.sh do, with the same command line, the same "patchroll:" lines and the same record
 * bytes, but without a shell to start, a script to interpret, an awk and a sync(1): apt starts every hook
 * through `/bin/sh -c` anyway, and those processes were most of the ~9 ms the sh hooks added to a dpkg
 * run (bench/hooks.bench.sh). The rules are hooks/hook-lib.sh's: ALWAYS exit 0; on any failure ONE line
 * "patchroll: ...; apt goes on, reconciliation will catch up" on stderr; never talk to Redis or the daemon.
 *
 *   apt-pre-install-pkgs --spool DIR [--capture DIR] [--capture-max-files N] [--timeout SEC]
 *   apt-post-invoke --spool DIR [--timeout SEC]
 *
 * What stays in sh: the capture of old package files (--capture), a cp/find pipeline whose cost grows with
 * the package, not the per-run path. After the record is written and fsync'd, this program runs
 * apt-pre-install-pkgs.sh (next to it) in capture mode under timeout(1), exactly as the sh hook re-runs
 * itself. An explicit --timeout bounds the whole hook with alarm(2) here instead of a re-run under
 * timeout(1).
 *
 * Build: cc -O2 -static -Wall -Wextra -Werror (hooks/build.sh). Linux only (/proc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The daemon refuses larger records (MAX_SPOOL_RECORD_BYTES, src/intake/spool-record.ts), so apt data that
 * would make one is not kept: one line says so and no record is written. Also bounds every line read. */
#define MAX_RECORD (16u * 1024u * 1024u)
/* find_apt's walk: as many parents at most (hooks/hook-lib.sh). */
#define MAX_DEPTH 32

static const char *hook_name; /* apt-pre-install-pkgs or apt-post-invoke */

/* A growable byte buffer; add() refuses to grow past MAX_RECORD (plus slack for the record's own lines). */
struct buf {
  char *p;
  size_t len, cap;
};

static int add(struct buf *b, const char *s, size_t n) {
  if (n == 0) return 0;
  if (n > MAX_RECORD + 4096 - b->len) return -1;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

static int adds(struct buf *b, const char *s) { return add(b, s, strlen(s)); }

/* write_all FD: the whole buffer, through short writes and EINTR. 0, or -1 with errno. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) {
      errno = ENOSPC;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* line: "patchroll: " FORMAT "; apt goes on, reconciliation will catch up\n" into OUT. The middle is cut
 * to fit (an argument can be as long as the kernel allows); the line always ends as the daemon expects. */
#define SUFFIX "; apt goes on, reconciliation will catch up\n"
#define LINE_MAX_BYTES 8192
static size_t vline(char *out, const char *fmt, va_list ap) {
  static const char prefix[] = "patchroll: ";
  size_t room = LINE_MAX_BYTES - (sizeof prefix - 1) - (sizeof SUFFIX - 1);
  memcpy(out, prefix, sizeof prefix - 1);
  int n = vsnprintf(out + sizeof prefix - 1, room + 1, fmt, ap);
  size_t len = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room;
  /* A newline from an argument would make two lines of one, the second counted as a line of its own. */
  for (char *c = out + sizeof prefix - 1; c < out + sizeof prefix - 1 + len; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  memcpy(out + sizeof prefix - 1 + len, SUFFIX, sizeof SUFFIX - 1);
  return sizeof prefix - 1 + len + sizeof SUFFIX - 1;
}

__attribute__((format(printf, 2, 3))) static size_t format_line(char *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = vline(out, fmt, ap);
  va_end(ap);
  return n;
}

/* say: the one stderr line of a failed hook. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
  char out[LINE_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  size_t n = vline(out, fmt, ap);
  va_end(ap);
  (void)write_all(2, out, n);
}

/* --- the time bound (--timeout): SIGALRM stops the hook with one line, as timeout(1) stopped the sh hook. --- */

static char alarm_line[LINE_MAX_BYTES];
static size_t alarm_line_len;
static char alarm_rec[PATH_MAX + 256];
static volatile sig_atomic_t rec_open; /* the record exists but is not complete: remove it when stopped */
static volatile sig_atomic_t capture_pid;

static void on_alarm(int sig) {
  (void)sig;
  int saved = errno;
  if (capture_pid > 0) kill((pid_t)capture_pid, SIGTERM); /* timeout(1) passes it on to the capture's group */
  if (rec_open) unlink(alarm_rec);
  ssize_t w = write(2, alarm_line, alarm_line_len);
  (void)w;
  errno = saved;
  _exit(0);
}

/* --- arguments --- */

struct args {
  const char *spool, *capture, *limit;
  unsigned seconds;
  int bound_all;
  char spool_abs[PATH_MAX + 1];
};

/* parse_args: hooks/hook-lib.sh's parse_args. Returns -1 (after saying why) on bad usage. */
static int parse_args(int argc, char **argv, struct args *a) {
  a->spool = "";
  a->capture = "";
  a->limit = "5";
  a->bound_all = 0;
  for (int i = 1; i < argc; i += 2) {
    const char *o = argv[i];
    int known = !strcmp(o, "--spool") || !strcmp(o, "--capture") || !strcmp(o, "--capture-max-files") || !strcmp(o, "--timeout");
    if (!known) {
      say("%s: unknown argument '%s' (expected --spool DIR [--capture DIR] [--capture-max-files N] [--timeout SEC])", hook_name, o);
      return -1;
    }
    if (i + 1 >= argc) {
      say("%s: option %s needs a value", hook_name, o);
      return -1;
    }
    if (!strcmp(o, "--spool")) a->spool = argv[i + 1];
    else if (!strcmp(o, "--capture")) a->capture = argv[i + 1];
    else if (!strcmp(o, "--timeout")) {
      a->limit = argv[i + 1];
      a->bound_all = 1;
    }
    /* --capture-max-files is the capture's business: apt-pre-install-pkgs.sh reads it from the same arguments. */
  }
  /* A limit is digits, not all zeros (0 would mean no bound to timeout(1)); anything else is the default. */
  size_t digits = strspn(a->limit, "0123456789");
  if (a->limit[0] == '\0' || a->limit[digits] != '\0' || strspn(a->limit, "0") == digits) a->limit = "5";
  const char *significant = a->limit + strspn(a->limit, "0");
  a->seconds = strlen(significant) > 9 ? INT_MAX : (unsigned)strtoul(significant, NULL, 10);
  if (a->spool[0] == '\0') {
    say("%s: no --spool DIR given, no record written", hook_name);
    return -1;
  }
  if (a->spool[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL || snprintf(a->spool_abs, sizeof a->spool_abs, "%s/%s", cwd, a->spool) >= (int)sizeof a->spool_abs) {
      say("%s: cannot resolve the spool dir %s, no record written", hook_name, a->spool);
      return -1;
    }
    a->spool = a->spool_abs;
  }
  return 0;
}

/* --- the spool record --- */

/* read_small PATH: the first line of a small /proc or /sys file into BUF (NUL-terminated, no newline);
 * -1 when it cannot be read or is empty. One read(2): these files come whole in one. */
static int read_small(const char *path, char *buf, size_t size) {
  int fd;
  do fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  ssize_t n;
  do n = read(fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  return 0;
}

/* mkdir_p DIR: `mkdir -p -m 0750` (the umask is 027: every dir made is 0750). 0, or -1. */
static int mkdir_p(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return -1;
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char c = *p;
    *p = '\0';
    struct stat st;
    if (mkdir(path, 0750) != 0 && (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) return -1;
    *p = c;
    if (c == '\0') return 0;
  }
}

struct record {
  char boot[128];
  char path[PATH_MAX + 256];
  const char *kind;
};

/* record_start: hooks/hook-lib.sh's record_start. Checks the spool dir and names the record
 * BOOT8-UPTIMECS-HOOKPID-KIND.rec. Returns -1 (after saying why) when the spool dir cannot take a record. */
static int record_start(const struct args *a, const char *kind, struct record *r) {
  struct stat st;
  if ((stat(a->spool, &st) != 0 || !S_ISDIR(st.st_mode)) && mkdir_p(a->spool) != 0) {
    say("%s: cannot create spool dir %s, no record written", hook_name, a->spool);
    return -1;
  }
  if (faccessat(AT_FDCWD, a->spool, W_OK, AT_EACCESS) != 0) {
    say("%s: spool dir %s is not writable (read-only filesystem?), no record written", hook_name, a->spool);
    return -1;
  }
  if (read_small("/proc/sys/kernel/random/boot_id", r->boot, sizeof r->boot) != 0) strcpy(r->boot, "unknown");
  char up[64];
  if (read_small("/proc/uptime", up, sizeof up) != 0) strcpy(up, "0.00");
  up[strcspn(up, " \t")] = '\0';
  /* "12345.67" -> "1234567": the sh's ${up%.*}${up#*.} */
  char *dot = strchr(up, '.');
  const char *frac = dot ? dot + 1 : up;
  int whole = dot ? (int)(strrchr(up, '.') - up) : (int)strlen(up);
  int boot8 = (int)strcspn(r->boot, "-");
  r->kind = kind;
  if (snprintf(r->path, sizeof r->path, "%s/%.*s-%.*s%s-%ld-%s.rec", a->spool, boot8, r->boot, whole, up, frac, (long)getpid(), kind) >= (int)sizeof r->path) {
    say("%s: the spool dir path %s is too long, no record written", hook_name, a->spool);
    return -1;
  }
  memcpy(alarm_rec, r->path, sizeof alarm_rec);
  return 0;
}

/* record_write: writes TEXT under the record's final name (complete once "end" is in: no temp file and
 * rename, see hooks/hook-lib.sh), fsync'd when SYNC. Returns -1 (after saying why, the record removed) when
 * it could not be written in full; a failed fsync keeps the (whole) record and says its durability is in
 * doubt. */
static int record_write(const struct args *a, const struct record *r, const struct buf *text, int sync) {
  int fd;
  rec_open = 1;
  do fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  while (fd < 0 && errno == EINTR);
  if (fd < 0 || write_all(fd, text->p, text->len) != 0) goto failed;
  rec_open = 0; /* whole: ends with "end" */
  if (sync) {
    int rc;
    do rc = fsync(fd);
    while (rc != 0 && errno == EINTR);
    close(fd); /* after a good fsync the data is on disk: close has nothing left to report */
    if (rc != 0) say("%s: could not fsync the spool record %s; it may not survive a crash", hook_name, r->path);
    return 0;
  }
  if (close(fd) != 0 && errno != EINTR) {
    fd = -1;
    goto failed;
  }
  return 0;
failed:
  if (fd >= 0) close(fd);
  unlink(r->path);
  rec_open = 0;
  say("%s: could not write the spool record in %s (disk full?)", hook_name, a->spool);
  return -1;
}

/* --- the apt process --- */

/* find_apt PID: "PID START COMM" of the apt front end (apt-get, apt, unattended-upgrade) that runs the hook
 * whose parent is PID, or "0 0 unknown": hooks/hook-lib.sh's find_apt (and the pre-install sh hook's awk),
 * the same rules. Shell wrappers are skipped; a chain of same-name processes counts as one and the topmost
 * is taken (apt runs Post-Invoke from a forked child; unattended-upgrade forks per dpkg run). From
 * /proc/PID/stat: comm between the first "(" and the LAST ") " (a name may hold both), then ppid (field 4)
 * and the start time (field 22, clock ticks after boot). */
static void find_apt(const char *parent, char *out, size_t size) {
  char pid[24] = "", start[24] = "", name[64] = "", p[24];
  snprintf(p, sizeof p, "%s", parent);
  for (int depth = 0; depth < MAX_DEPTH; depth++) {
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || p[digits] != '\0' || digits > 18 || strtoull(p, NULL, 10) <= 1) break;
    char path[48], line[4096];
    snprintf(path, sizeof path, "/proc/%s/stat", p);
    if (read_small(path, line, sizeof line) != 0) break;
    char *open_paren = strchr(line, '('), *close_paren = strrchr(line, ')');
    if (open_paren == NULL || close_paren == NULL || close_paren < open_paren || close_paren[1] != ' ') break;
    *close_paren = '\0';
    const char *comm = open_paren + 1;
    /* fields after the name, from field 3 (state) on: f[0] state, f[1] ppid, ..., f[19] start time */
    char *f[20], *save = NULL;
    int nf = 0;
    for (char *t = strtok_r(close_paren + 2, " \t", &save); t != NULL && nf < 20; t = strtok_r(NULL, " \t", &save)) f[nf++] = t;
    if (nf < 20) break;
    if (pid[0] == '\0') {
      if (!strcmp(comm, "sh") || !strcmp(comm, "dash") || !strcmp(comm, "bash") || !strcmp(comm, "busybox") || !strcmp(comm, "timeout")) {
        snprintf(p, sizeof p, "%s", f[1]);
        continue;
      }
      snprintf(name, sizeof name, "%s", comm);
    } else if (strcmp(comm, name) != 0) {
      break;
    }
    snprintf(pid, sizeof pid, "%s", p);
    snprintf(start, sizeof start, "%s", f[19]);
    snprintf(p, sizeof p, "%s", f[1]);
  }
  if (pid[0] == '\0') snprintf(out, size, "0 0 unknown");
  else snprintf(out, size, "%s %s %s", pid, start, name);
}

/* The apt process is looked for from the hook's parent (PATCHROLL_HOOK_PARENT when the sh hook re-ran
 * itself under timeout(1)). */
static void apt_of_parent(char *out, size_t size) {
  const char *parent = getenv("PATCHROLL_HOOK_PARENT");
  char ppid[24];
  if (parent == NULL || parent[0] == '\0') {
    snprintf(ppid, sizeof ppid, "%ld", (long)getppid());
    parent = ppid;
  }
  find_apt(parent, out, size);
}

/* --- apt's hook data --- */

/* A line reader over apt's fd. A line is kept up to MAX_RECORD bytes; the rest of a longer one is read
 * and dropped, and `cut` says so (such a line could not be in a record the daemon reads anyway). */
struct reader {
  int fd;
  char chunk[65536];
  size_t pos, end;
  struct buf line;
  int cut;
};

/* next_line: 1 with r->line holding the next line (no newline), 0 at the end, -1 on a read error. */
static int next_line(struct reader *r) {
  int any = 0;
  r->line.len = 0;
  r->cut = 0;
  for (;;) {
    if (r->pos == r->end) {
      ssize_t n = read(r->fd, r->chunk, sizeof r->chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        /* An fd handed over non-blocking: giving up would leave apt writing into a closed pipe. */
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          struct pollfd p = {.fd = r->fd, .events = POLLIN};
          (void)poll(&p, 1, -1);
          continue;
        }
        return -1;
      }
      if (n == 0) return any; /* a last line without a newline is a line */
      r->pos = 0;
      r->end = (size_t)n;
    }
    any = 1;
    char *s = r->chunk + r->pos, *nl = memchr(s, '\n', r->end - r->pos);
    size_t n = nl ? (size_t)(nl - s) : r->end - r->pos;
    if (!r->cut) {
      size_t room = MAX_RECORD - r->line.len;
      if (add(&r->line, s, n < room ? n : room) != 0 || n > room) r->cut = 1;
    }
    r->pos += n + (nl ? 1 : 0);
    if (nl) return 1;
  }
}

/* fields: splits the LEN bytes of LINE at runs of blanks as awk's split(line, f, " ") does; returns the
 * count and stores the first MAX of them as [start, end) offsets. */
static int fields(const char *line, size_t len, size_t (*f)[2], int max) {
  int n = 0;
  size_t i = 0;
  for (;;) {
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len) return n;
    size_t s = i;
    while (i < len && line[i] != ' ' && line[i] != '\t') i++;
    if (n < max) {
      f[n][0] = s;
      f[n][1] = i;
    }
    n++;
  }
}

enum payload_result { PAYLOAD_OK, PAYLOAD_READ_ERROR, PAYLOAD_NOT_V3, PAYLOAD_TOO_LARGE, PAYLOAD_NO_MEMORY };

/* read_payload: apt's hook protocol v3 data, read to its end ("VERSION 3", %-encoded "Key=Value" lines, a
 * blank line, one action line per package: name oldver oldarch oldmulti <|=|> newver newarch newmulti
 * /path.deb|**CONFIGURE**|**REMOVE**). Keeps CommandLine::AsString (the last one, key case-insensitive)
 * and the action lines (9 or more fields), verbatim; with CAPTURE, "name oldver arch newver\n" for every
 * installed package a .deb replaces. The whole input is read even when it is of no use, so that apt never
 * writes into a closed pipe. */
static enum payload_result read_payload(int fd, int capture, struct buf *cmd, struct buf *actions, struct buf *caps) {
  static struct reader r;
  r.fd = fd;
  long nr = 0;
  int bad = 0, body = 0, too_large = 0, no_memory = 0, rc;
  static const char key[] = "commandline::asstring";
  while ((rc = next_line(&r)) > 0) {
    const char *l = r.line.p ? r.line.p : "";
    size_t len = r.line.len;
    if (++nr == 1) {
      bad = r.cut || len != 9 || memcmp(l, "VERSION 3", 9) != 0;
      continue;
    }
    if (bad || too_large || no_memory) continue;
    if (!body) {
      if (len == 0 && !r.cut) {
        body = 1;
        continue;
      }
      const char *eq = memchr(l, '=', len);
      if (eq != NULL && (size_t)(eq - l) == sizeof key - 1 && strncasecmp(l, key, sizeof key - 1) == 0) {
        cmd->len = 0;
        if (r.cut || add(cmd, eq + 1, len - (size_t)(eq + 1 - l)) != 0) too_large = 1;
      }
      continue;
    }
    size_t f[9][2];
    if (r.cut) {
      too_large = 1;
      continue;
    }
    if (fields(l, len, f, 9) < 9) continue;
    if (add(actions, "action ", 7) != 0 || add(actions, l, len) != 0 || add(actions, "\n", 1) != 0) {
      too_large = 1;
      continue;
    }
    int replaced = !(f[1][1] - f[1][0] == 1 && l[f[1][0]] == '-') && l[f[8][0]] == '/';
    if (capture && replaced) {
      static const int pick[4] = {0, 1, 2, 5}; /* name, old version, old arch, new version */
      for (int i = 0; i < 4 && !no_memory; i++) {
        if (add(caps, l + f[pick[i]][0], f[pick[i]][1] - f[pick[i]][0]) != 0 || add(caps, i < 3 ? " " : "\n", 1) != 0) no_memory = 1;
      }
    }
  }
  if (rc < 0) return PAYLOAD_READ_ERROR;
  if (nr == 0 || bad) return PAYLOAD_NOT_V3;
  if (too_large || cmd->len + actions->len > MAX_RECORD) return PAYLOAD_TOO_LARGE;
  if (no_memory) return PAYLOAD_NO_MEMORY;
  return PAYLOAD_OK;
}

/* --- the capture, in sh --- */

/* hook_dir: the directory this program was started from (where apt-pre-install-pkgs.sh is): argv[0]'s as
 * apt gives it (the path of the snippet), /proc/self/exe's when it was found on PATH. */
static int hook_dir(const char *argv0, char *out, size_t size) {
  const char *slash = strrchr(argv0, '/');
  if (slash != NULL) {
    if ((size_t)(slash - argv0) >= size) return -1;
    snprintf(out, size, "%.*s", (int)(slash - argv0), argv0);
    if (out[0] == '\0') snprintf(out, size, "/");
    return 0;
  }
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  if (n <= 0 || (size_t)n >= size - 1) return -1;
  out[n] = '\0';
  char *last = strrchr(out, '/');
  if (last == NULL) return -1;
  *last = '\0';
  return 0;
}

/* run_capture: apt-pre-install-pkgs.sh in capture mode under `timeout -k 1 LIMIT` (as the sh hook re-runs
 * itself, same environment, same arguments), "name oldver arch newver" lines on its stdin; waits for it
 * and says why when it did not exit 0. Whatever happens there never fails apt. */
static void run_capture(int argc, char **argv, const struct args *a, const struct record *r, const char *apt, const struct buf *caps) {
  static const char what[] = "(capture of the old package files)";
  char dir[PATH_MAX], script[PATH_MAX + 32], run[PATH_MAX + 512];
  if (hook_dir(argv[0], dir, sizeof dir) != 0 || snprintf(script, sizeof script, "%s/apt-pre-install-pkgs.sh", dir) >= (int)sizeof script) {
    say("%s %s could not be started: cannot tell this hook's own directory", hook_name, what);
    return;
  }
  if (access(script, X_OK) != 0) {
    say("%s %s could not be started: %s is missing or not executable (reinstall patchroll)", hook_name, what, script);
    return;
  }
  const char *name = strrchr(r->path, '/') + 1;
  snprintf(run, sizeof run, "%s %s %s", r->boot, name, apt);
  char **cargv = calloc((size_t)argc + 6, sizeof *cargv);
  if (cargv == NULL || setenv("PATCHROLL_HOOK_INNER", "1", 1) != 0 || setenv("PATCHROLL_HOOK_CAPTURE", "1", 1) != 0 || setenv("PATCHROLL_HOOK_RUN", run, 1) != 0) {
    say("%s %s could not be started: out of memory", hook_name, what);
    free(cargv);
    return;
  }
  int n = 0;
  cargv[n++] = "timeout";
  cargv[n++] = "-k";
  cargv[n++] = "1";
  cargv[n++] = (char *)a->limit;
  cargv[n++] = script;
  for (int i = 1; i < argc; i++) cargv[n++] = argv[i];
  cargv[n] = NULL;

  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    say("%s %s could not be started: pipe: %s", hook_name, what, strerror(errno));
    free(cargv);
    return;
  }
  /* SIGALRM (--timeout) waits until the parent knows the capture's pid, so that it can stop it. */
  sigset_t alrm, old;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  sigprocmask(SIG_BLOCK, &alrm, &old);
  pid_t pid = fork();
  if (pid > 0) capture_pid = (sig_atomic_t)pid;
  if (pid != 0) sigprocmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) {
    say("%s %s could not be started: fork: %s", hook_name, what, strerror(errno));
    close(pipefd[0]);
    close(pipefd[1]);
    free(cargv);
    return;
  }
  if (pid == 0) {
    /* dup2 clears close-on-exec on fd 0; SIGPIPE goes back to its default for the sh and its pipeline. A
     * hook started with stdin closed got the pipe as fd 0 itself, where dup2 changes nothing. */
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pipefd[0] == 0 ? fcntl(0, F_SETFD, 0) < 0 : dup2(pipefd[0], 0) < 0) _exit(127);
    execvp("timeout", cargv);
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(pipefd[0]);
  /* EPIPE when the capture ended early (stopped, failed): its exit status says what happened. */
  (void)write_all(pipefd[1], caps->p, caps->len);
  close(pipefd[1]);
  free(cargv);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      say("%s %s: waitpid: %s", hook_name, what, strerror(errno));
      return;
    }
  }
  capture_pid = 0;
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (rc == 124 || rc == 137) say("%s %s did not finish within %ss and was stopped", hook_name, what, a->limit);
  else if (rc != 0) say("%s %s failed unexpectedly (exit %d)", hook_name, what, rc);
}

/* --- the two hooks --- */

static void pre_install(int argc, char **argv, const struct args *a) {
  struct record r;
  if (record_start(a, "pre-install", &r) != 0) return;

  /* apt's data: stdin, or the fd APT_HOOK_INFO_FD names (read as it is: a socket cannot be reopened). */
  const char *info = getenv("APT_HOOK_INFO_FD");
  if (info == NULL || info[0] == '\0') info = "0";
  size_t digits = strspn(info, "0123456789");
  int fd = digits > 0 && digits < 10 && info[digits] == '\0' ? atoi(info) : -1;
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
    say("%s: cannot read apt's hook data from fd %s, no record written", hook_name, info);
    return;
  }
  /* Freed on every way out, although the process ends next: the sanitizer builds' leak check (the
   * tests) must see only real leaks. */
  struct buf cmd = {0}, actions = {0}, caps = {0}, text = {0};
  char apt[128];
  switch (read_payload(fd, a->capture[0] != '\0', &cmd, &actions, &caps)) {
  case PAYLOAD_OK:
    break;
  case PAYLOAD_READ_ERROR:
    say("%s: could not read apt's hook data, no record written", hook_name);
    goto out;
  case PAYLOAD_NOT_V3:
    say("%s: apt did not send hook protocol version 3 (set DPkg::Tools::Options::%s::Version \"3\"), no record written", hook_name, argv[0]);
    goto out;
  case PAYLOAD_TOO_LARGE:
    goto too_large;
  case PAYLOAD_NO_MEMORY:
    say("%s: out of memory reading apt's hook data, no record written", hook_name);
    goto out;
  }

  apt_of_parent(apt, sizeof apt);
  int ok = adds(&text, "patchroll-spool 1\nkind pre-install\nboot ") == 0 && adds(&text, r.boot) == 0 && adds(&text, "\napt ") == 0 && adds(&text, apt) == 0 && adds(&text, "\n") == 0;
  /* awk's `if (cmd != "")`: an empty command line is left out */
  if (ok && cmd.len > 0) ok = adds(&text, "command-line ") == 0 && add(&text, cmd.p, cmd.len) == 0 && adds(&text, "\n") == 0;
  if (ok && actions.len > 0) ok = add(&text, actions.p, actions.len) == 0;
  if (ok) ok = adds(&text, "end\n") == 0;
  if (!ok) {
    say("%s: out of memory writing the spool record, no record written", hook_name);
    goto out;
  }
  /* The daemon's limit is on the whole record: apt data just below it still makes one too large. */
  if (text.len > MAX_RECORD) goto too_large;
  free(cmd.p);
  free(actions.p);
  cmd.p = actions.p = NULL;
  if (record_write(a, &r, &text, 1) == 0 && caps.len > 0) {
    free(text.p);
    text.p = NULL;
    run_capture(argc, argv, a, &r, apt, &caps);
  }
  goto out;
too_large:
  say("%s: apt's hook data would make a spool record larger than %u MiB (the daemon's limit), no record written", hook_name, MAX_RECORD >> 20);
out:
  free(cmd.p);
  free(actions.p);
  free(caps.p);
  free(text.p);
}

static void post_invoke(const struct args *a) {
  struct record r;
  if (record_start(a, "post-invoke", &r) != 0) return;
  char apt[128];
  apt_of_parent(apt, sizeof apt);
  struct buf text = {0};
  if (adds(&text, "patchroll-spool 1\nkind post-invoke\nboot ") != 0 || adds(&text, r.boot) != 0 || adds(&text, "\napt ") != 0 || adds(&text, apt) != 0 || adds(&text, "\nend\n") != 0) {
    say("%s: out of memory writing the spool record, no record written", hook_name);
    return;
  }
  /* Not fsync'd: a lost "dpkg finished" record costs nothing (hooks/hook-lib.sh, record_sync). */
  (void)record_write(a, &r, &text, 0);
  free(text.p);
}

int main(int argc, char **argv) {
  /* A hook must never die of a closed stderr or of a capture that ended before it read its input. */
  signal(SIGPIPE, SIG_IGN);
  umask(027);
  setenv("LC_ALL", "C", 1);
  const char *argv0 = argc > 0 && argv[0] != NULL ? argv[0] : "";
  const char *base = strrchr(argv0, '/');
  base = base ? base + 1 : argv0;
  int pre;
  if (!strcmp(base, "apt-pre-install-pkgs")) pre = 1;
  else if (!strcmp(base, "apt-post-invoke")) pre = 0;
  else {
    hook_name = "patchroll-hook";
    say("%s: run as %s, it must be named apt-pre-install-pkgs or apt-post-invoke (hooks/build.sh links both), no record written", hook_name, argv0);
    return 0;
  }
  hook_name = base;
  struct args a;
  if (parse_args(argc, argv, &a) != 0) return 0;
  const char *inner = getenv("PATCHROLL_HOOK_INNER");
  if (a.bound_all && !(inner != NULL && !strcmp(inner, "1"))) {
    alarm_line_len = format_line(alarm_line, "%s did not finish within %ss and was stopped", hook_name, a.limit);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(a.seconds);
  }
  if (pre) pre_install(argc, argv, &a);
  else post_invoke(&a);
  return 0;
}
