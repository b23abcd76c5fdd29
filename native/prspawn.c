/*
 * prspawn: starts processes for the patchroll daemon, so that the daemon itself never forks.
 *
 * Why: Node.js (libuv) starts a child with fork(2), which copies the page tables of the whole daemon
 * (~150-250 MB resident) and blocks the event loop until the child has exec'd: 1.3 ms per start from an
 * idle 57 MB Node process, 3 ms from a 270 MB one, 4-6 ms on a loaded 2-core host (measured). A rollout
 * starts several tools per container (lxc-stop, cp, lxc-start), all from one event loop, so those
 * milliseconds add up per container. This small static process starts them with posix_spawn(3) (glibc:
 * clone(CLONE_VM|CLONE_VFORK), no page-table copy) and hands back the exit status and the output.
 *
 * Protocol (src/proc/spawner.ts is the other side), over stdin (requests) and stdout (replies). Every
 * message is a frame: u32 length (little endian) of what follows, then a one-byte type, then fields.
 * Integers are u32 little endian; strings are NUL-terminated.
 *   request  'R' id timeout_ms grace_ms argc envc argv... env...   run argv[0] (searched in the PATH of
 *            env when it has no '/'), stdin /dev/null, stdout and stderr captured; after timeout_ms
 *            (0: none) SIGTERM, after grace_ms more SIGKILL.
 *   request  'K' id signal                                        signal a running child.
 *   reply    'P' id pid                                           started.
 *   reply    'F' id errno                                         could not start (ENOENT, EACCES, ...).
 *   reply    'X' id code signal flags outlen errlen out err        ended: code is the exit status (or
 *            255 when killed by `signal`); flags: 1 timed out, 2 stdout cut, 4 stderr cut.
 * A child is reported once it has exited and both its pipes are closed (a daemonizing child that keeps
 * them open is reported DETACH_MS after its exit). When stdin closes (the daemon went away), prspawn
 * exits at once; running children go on, as the daemon's own children would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (4u << 20)   /* one request: argv and env of one command */
#define OUT_CAP (8u << 20)     /* output kept per stream; more is read and dropped */
#define DETACH_MS 2000         /* how long an exited child's pipes may stay open */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct buf {
	char *data;
	size_t len, cap;
	int cut;
};

struct child {
	uint32_t id;
	pid_t pid;
	int pidfd, out, err; /* -1 once closed */
	int exited, status, timed_out;
	int64_t term_at, kill_at, detach_at; /* monotonic ms; 0: none */
	struct buf bout, berr;
};

static struct child **kids;
static size_t nkids, capkids;
static struct buf in; /* bytes read from stdin, not yet a whole frame */

static void die(const char *what) {
	fprintf(stderr, "prspawn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void buf_add(struct buf *b, const char *p, size_t n, size_t cap) {
	if (b->len + n > cap) {
		b->cut = 1;
		n = b->len < cap ? cap - b->len : 0;
	}
	if (n == 0) return;
	if (b->len + n > b->cap) {
		size_t c = b->cap ? b->cap : 4096;
		while (c < b->len + n) c *= 2;
		char *d = realloc(b->data, c);
		if (!d) die("out of memory");
		b->data = d;
		b->cap = c;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) {
	unsigned char x[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
	buf_add(b, (const char *)x, 4, SIZE_MAX);
}

static uint32_t get_u32(const unsigned char *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes a whole reply to stdout; the daemon reads replies as they come, so this blocks only briefly. */
static void reply(struct buf *msg) {
	unsigned char hdr[4];
	uint32_t n = (uint32_t)msg->len;
	for (int i = 0; i < 4; i++) hdr[i] = (n >> (8 * i)) & 0xff;
	struct buf all = {0};
	buf_add(&all, (const char *)hdr, 4, SIZE_MAX);
	buf_add(&all, msg->data, msg->len, SIZE_MAX);
	size_t off = 0;
	while (off < all.len) {
		ssize_t w = write(1, all.data + off, all.len - off);
		if (w < 0 && errno == EINTR) continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = 1, .events = POLLOUT};
			poll(&p, 1, -1);
			continue;
		}
		if (w <= 0) exit(0); /* the daemon is gone */
		off += (size_t)w;
	}
	free(all.data);
	free(msg->data);
	*msg = (struct buf){0};
}

static void reply_short(char type, uint32_t id, uint32_t v) {
	struct buf m = {0};
	buf_add(&m, &type, 1, SIZE_MAX);
	put_u32(&m, id);
	put_u32(&m, v);
	reply(&m);
}

static int set_nonblock_cloexec(int fd) {
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}

/* posix_spawn of argv[0], searched in env's PATH (not prspawn's own) when it holds no '/'. */
static int spawn_in_path(pid_t *pid, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *sa, char **argv, char **env) {
	if (strchr(argv[0], '/')) return posix_spawn(pid, argv[0], fa, sa, argv, env);
	const char *path = DEFAULT_PATH;
	for (char **e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
	int err = ENOENT;
	size_t nlen = strlen(argv[0]);
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		char *full = malloc(dlen + nlen + 2);
		if (!full) return ENOMEM;
		memcpy(full, dlen ? path : ".", dlen ? dlen : 1);
		size_t at = dlen ? dlen : 1;
		full[at] = '/';
		memcpy(full + at + 1, argv[0], nlen + 1);
		int r = posix_spawn(pid, full, fa, sa, argv, env);
		free(full);
		if (r == 0) return 0;
		if (r != ENOENT && r != ENOTDIR) err = r;
		if (r != ENOENT && r != ENOTDIR && r != EACCES) return r;
		path = *end ? end + 1 : end;
	}
	return err;
}

static void run(const unsigned char *p, uint32_t n) {
	if (n < 20) return;
	uint32_t id = get_u32(p), timeout = get_u32(p + 4), grace = get_u32(p + 8), argc = get_u32(p + 12), envc = get_u32(p + 16);
	const char *s = (const char *)p + 20, *end = (const char *)p + n;
	if (argc == 0 || argc > n || envc > n) { reply_short('F', id, EINVAL); return; }
	char **vec = calloc((size_t)argc + envc + 2, sizeof(char *));
	if (!vec) die("out of memory");
	for (uint32_t i = 0; i < argc + envc; i++) {
		const char *z = memchr(s, 0, (size_t)(end - s));
		if (!z) { free(vec); reply_short('F', id, EINVAL); return; }
		vec[i < argc ? i : i + 1] = (char *)s;
		s = z + 1;
	}
	char **argv = vec, **env = vec + argc + 1;

	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0) { free(vec); reply_short('F', id, errno); return; }
	if (pipe2(pe, O_CLOEXEC) < 0) { int e = errno; close(po[0]); close(po[1]); free(vec); reply_short('F', id, e); return; }
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&sa);
	/* The child gets default dispositions (prspawn ignores SIGPIPE) and an empty mask. */
	posix_spawnattr_setsigdefault(&sa, &all);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int r = spawn_in_path(&pid, &fa, &sa, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	free(vec);
	close(po[1]);
	close(pe[1]);
	if (r != 0) { close(po[0]); close(pe[0]); reply_short('F', id, (uint32_t)r); return; }
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || set_nonblock_cloexec(po[0]) < 0 || set_nonblock_cloexec(pe[0]) < 0) {
		/* Out of fds, say: a child that cannot be watched is stopped at once and the run reported as not
		 * started (dying here would leave the daemon unsure whether the tool ran). */
		int e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pidfd >= 0) close(pidfd);
		close(po[0]);
		close(pe[0]);
		reply_short('F', id, (uint32_t)e);
		return;
	}

	struct child *c = calloc(1, sizeof *c);
	if (!c) die("out of memory");
	*c = (struct child){.id = id, .pid = pid, .pidfd = pidfd, .out = po[0], .err = pe[0]};
	if (timeout) {
		c->term_at = now_ms() + timeout;
		c->kill_at = c->term_at + (grace ? grace : 1);
	}
	if (nkids == capkids) {
		capkids = capkids ? capkids * 2 : 64;
		kids = realloc(kids, capkids * sizeof *kids);
		if (!kids) die("out of memory");
	}
	kids[nkids++] = c;
	reply_short('P', id, (uint32_t)pid);
}

static void signal_child(const unsigned char *p, uint32_t n) {
	if (n < 8) return;
	uint32_t id = get_u32(p), sig = get_u32(p + 4);
	for (size_t i = 0; i < nkids; i++)
		if (kids[i]->id == id && !kids[i]->exited) syscall(SYS_pidfd_send_signal, kids[i]->pidfd, (int)sig, NULL, 0);
}

/* Reads what stdin has; handles every whole frame. Returns 0 at end of input. */
static int read_requests(void) {
	char chunk[65536];
	ssize_t r = read(0, chunk, sizeof chunk);
	if (r < 0) return errno == EINTR || errno == EAGAIN;
	if (r == 0) return 0;
	buf_add(&in, chunk, (size_t)r, SIZE_MAX);
	size_t off = 0;
	while (in.len - off >= 4) {
		uint32_t n = get_u32((unsigned char *)in.data + off);
		if (n == 0 || n > MAX_FRAME) { fprintf(stderr, "prspawn: bad frame length %u\n", n); exit(1); }
		if (in.len - off - 4 < n) break;
		const unsigned char *f = (unsigned char *)in.data + off + 4;
		if (f[0] == 'R') run(f + 1, n - 1);
		else if (f[0] == 'K') signal_child(f + 1, n - 1);
		off += 4 + n;
	}
	memmove(in.data, in.data + off, in.len - off);
	in.len -= off;
	return 1;
}

static void drain(int *fd, struct buf *b) {
	char chunk[65536];
	for (;;) {
		ssize_t r = read(*fd, chunk, sizeof chunk);
		if (r > 0) { buf_add(b, chunk, (size_t)r, OUT_CAP); continue; }
		if (r < 0 && errno == EINTR) continue;
		if (r < 0 && errno == EAGAIN) return;
		close(*fd); /* end of file, or an error: nothing more will come */
		*fd = -1;
		return;
	}
}

static void finish(size_t i) {
	struct child *c = kids[i];
	if (c->out >= 0) close(c->out);
	if (c->err >= 0) close(c->err);
	close(c->pidfd);
	int code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 255, sig = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0;
	struct buf m = {0};
	char t = 'X';
	buf_add(&m, &t, 1, SIZE_MAX);
	put_u32(&m, c->id);
	put_u32(&m, (uint32_t)code);
	put_u32(&m, (uint32_t)sig);
	put_u32(&m, (uint32_t)(c->timed_out | c->bout.cut << 1 | c->berr.cut << 2));
	put_u32(&m, (uint32_t)c->bout.len);
	put_u32(&m, (uint32_t)c->berr.len);
	if (c->bout.len) buf_add(&m, c->bout.data, c->bout.len, SIZE_MAX);
	if (c->berr.len) buf_add(&m, c->berr.data, c->berr.len, SIZE_MAX);
	free(c->bout.data);
	free(c->berr.data);
	free(c);
	kids[i] = kids[--nkids];
	reply(&m);
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	/* An ignored SIGCHLD survives exec: the kernel would then reap the children itself, before pidfd_open
	 * and waitpid could see them. */
	signal(SIGCHLD, SIG_DFL);
	/* Whatever the daemon's own parent left open without close-on-exec must not reach the tools. */
	close_range(3, ~0U, 0);
	/* pidfd_open(2) (Linux 5.3) watches the children; without it, exit before starting any tool, so the
	 * daemon starts them itself. */
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (self < 0) die("pidfd_open, needed to watch the tools (Linux >= 5.3)");
	close(self);
	if (set_nonblock_cloexec(0) < 0 || set_nonblock_cloexec(1) < 0) die("fcntl on stdin/stdout");
	struct pollfd *fds = NULL;
	size_t capfds = 0;
	for (;;) {
		int64_t now = now_ms(), wake = -1;
		for (size_t i = 0; i < nkids; i++) {
			struct child *c = kids[i];
			if (!c->exited && c->term_at && now >= c->term_at) {
				c->timed_out = 1;
				c->term_at = 0;
				syscall(SYS_pidfd_send_signal, c->pidfd, SIGTERM, NULL, 0);
			}
			if (!c->exited && c->kill_at && !c->term_at && now >= c->kill_at) {
				c->kill_at = 0;
				syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
			}
			int64_t next = c->exited ? c->detach_at : (c->term_at ? c->term_at : c->kill_at);
			if (next && (wake < 0 || next < wake)) wake = next;
		}
		size_t need = 1 + 3 * nkids;
		if (need > capfds) {
			capfds = need * 2;
			fds = realloc(fds, capfds * sizeof *fds);
			if (!fds) die("out of memory");
		}
		fds[0] = (struct pollfd){.fd = 0, .events = POLLIN};
		for (size_t i = 0; i < nkids; i++) {
			struct child *c = kids[i];
			fds[1 + 3 * i] = (struct pollfd){.fd = c->exited ? -1 : c->pidfd, .events = POLLIN};
			fds[2 + 3 * i] = (struct pollfd){.fd = c->out, .events = POLLIN};
			fds[3 + 3 * i] = (struct pollfd){.fd = c->err, .events = POLLIN};
		}
		int timeout = wake < 0 ? -1 : (int)(wake > now ? wake - now : 0);
		if (poll(fds, need, timeout) < 0 && errno != EINTR) die("poll");
		size_t before = nkids;
		/* Children first, then requests: a request may add children (the fds array is for these). */
		now = now_ms();
		for (size_t i = before; i-- > 0;) {
			struct child *c = kids[i];
			if (fds[2 + 3 * i].revents && c->out >= 0) drain(&c->out, &c->bout);
			if (fds[3 + 3 * i].revents && c->err >= 0) drain(&c->err, &c->berr);
			if (!c->exited && fds[1 + 3 * i].revents) {
				if (waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
					c->exited = 1;
					c->detach_at = now + DETACH_MS;
				}
			}
			if (c->exited && ((c->out < 0 && c->err < 0) || now >= c->detach_at)) {
				if (c->out >= 0) drain(&c->out, &c->bout);
				if (c->err >= 0) drain(&c->err, &c->berr);
				finish(i);
			}
		}
		if (fds[0].revents && !read_requests()) {
			free(fds); /* the only allocation no global holds: a leak checker would report it */
			return 0;
		}
	}
}
