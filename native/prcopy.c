/*
 * prcopy: makes DST an exact copy of the directory tree SRC, copying only what changed since the last
 * pass, so that a container's delta can be copied while it runs (the pre-copy) and again, briefly, once
 * it is stopped (the catch-up). src/containers/snapshot-sync.ts is the caller.
 *
 *   prcopy [--manifest FILE] [--link-dest DIR --link-manifest FILE] [--sync auto|fs|files|none]
 *          [--tolerant] [--jobs N] [--racy-ms N] [--reserve-bytes N --reserve-inodes N] SRC DST
 *
 * Exact means what `cp -dR --preserve=mode,ownership,timestamps,links,xattr --sparse=auto` keeps: type,
 * owner, permission bits (setuid too), atime and mtime to the nanosecond (symlinks too), every xattr
 * (trusted.overlay.*, security.*, user.*, ACLs), device numbers (whiteouts are char 0/0), symlink targets,
 * hardlink groups inside the tree, holes. Not kept, as with cp: ctime and inode flags. Mounts below SRC
 * are not entered (their mount point dir is copied, as cp -x does).
 *
 * What changed: the manifest records, per path of SRC, the inode, ctime, mtime, size, mode and owner seen
 * when it was copied. A path whose record still matches is left alone: any write, chmod, chown, xattr
 * change, link or rename moves the ctime, which nothing can set back. A record whose ctime is within
 * --racy-ms (default 100) of the pass start is marked unclean (the ctime clock ticks coarsely: a write
 * in the same tick as the copy would keep it), so it is copied again next time. The manifest is removed
 * before DST is touched and written again (checksummed) at the end: after a crash there is none, and the
 * next pass compares nothing and copies everything again, over whatever the crash left.
 *
 * --link-dest: a complete earlier copy of SRC (a previous snapshot, never written again) with its
 * manifest. A regular file unchanged since that copy is hard-linked from it instead of copied.
 *
 * Walk: --jobs threads (default 4) read SRC's dirs and stat their entries at once (a catch-up of a delta of
 * 20 000 files is mostly this walk); each dir stays open, and its entries are later opened relative to it.
 * Data: FICLONE (a reflink: btrfs, XFS) where the filesystem can, else copy_file_range(2) over the data
 * extents only (SEEK_DATA/SEEK_HOLE, for a file with fewer blocks than bytes), by --jobs threads. --sync: fs is one syncfs(2) at the
 * end, files an fsync(2) per entry written (and its dir), auto picks files for up to 256 entries (a
 * catch-up: syncfs would also wait for every other writer of the filesystem), none leaves it to the
 * caller. --tolerant: SRC may change under the copy (a running container): entries that vanish or change
 * while copied are skipped or marked unclean instead of failing the pass. SRC's entries are opened a name
 * at a time beneath SRC, never through a symlink: a dir swapped for one mid-pass is skipped, not followed;
 * xattrs are read through /proc/self/fd/<the parent dir as walked>/<name> (so /proc must be mounted); a
 * file swapped for a fifo is opened without blocking and refused; a name a dir listing gives twice (it was
 * removed and made again meanwhile) is kept once. New entries get exactly SRC's xattrs, not what a default
 * ACL of their DST dir would give them.
 *
 * --reserve-bytes/--reserve-inodes: before touching DST, the pass refuses (exit 75, stdout
 * "space NEED_BYTES NEED_INODES") when what it would really write (copied data, not links or reflinks;
 * new inodes) plus the reserve does not fit in the free space of DST's filesystem.
 * --stop-after N (tests only): the process stops itself (SIGSTOP) once N files are written (0: once SRC is
 * walked, before anything is written), so that a test can kill it or change SRC at a known point.
 * Exit 0: stdout one line "entries N copied N cloned N linked N kept N removed N bytes N sync MODE".
 * Exit 1: an error, said on stderr. Exit 2: usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_MAGIC "PRCOPY1\n"
#define XATTR_LIST_MAX_ 65536
#define XATTR_VALUE_MAX 65536

enum action { KEEP, COPY, LINK_DEST, HARDLINK, SKIP };

struct rec { /* what a manifest says of one path of SRC */
	uint64_t ino, size;
	int64_t ctime_s, ctime_ns, mtime_s, mtime_ns;
	uint32_t mode, uid, gid, clean;
};

struct ent {
	char *rel;          /* relative path, "" for the root */
	struct stat st;
	int action;
	int first;          /* HARDLINK: index of the entry copied for this inode */
	int dir_changed;    /* a dir whose names or attributes may differ in DST */
	int touched;        /* a dir whose entries were added or removed in DST */
	int parent;
	int unclean;
	int needs_sync;     /* written by this pass: fsync'd at the end (--sync files) */
	int fd;             /* a dir of SRC, kept open by the walk (or -1): its entries are opened relative to it */
};

struct table { /* open addressing: path -> index */
	char **keys;
	int *vals;
	size_t cap;
};

static const char *src_root, *dst_root, *manifest_path, *link_root, *link_manifest_path;
static int tolerant, jobs = 4, racy_ms = 100;
static long long stop_after = -1; /* tests: SIGSTOP itself once this many files are written */
static enum { SYNC_AUTO, SYNC_FS, SYNC_FILES, SYNC_NONE } sync_mode = SYNC_AUTO;
static long long reserve_bytes = -1, reserve_inodes = 0;
static struct ent *ents;
static size_t nents, capents;
static dev_t src_dev;
static struct timespec pass_start;
static int sync_files;

static struct rec *mrecs, *lrecs;
static char **mpaths, **lpaths;
static size_t nm, nl;
static struct table mtab, ltab, stab;

static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int failed; /* set by any thread (fail), read by all */
static size_t next_job;
static int *file_jobs;
static size_t nfile_jobs;
static _Atomic int clone_ok = 1; /* cleared by the first copying thread that finds no reflinks */
static unsigned long long n_copied, n_cloned, n_linked, n_kept, n_removed, n_bytes;

static void fail(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&err_lock);
	if (!failed) {
		fputs("prcopy: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	failed = 1;
	pthread_mutex_unlock(&err_lock);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("prcopy: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* Runs `fn` on up to n threads and waits for them; where no thread can be started (a pids limit), runs it
 * here: each worker takes jobs until none is left, so one is enough. */
static void run_workers(int n, void *(*fn)(void *))
{
	pthread_t *t = xmalloc((size_t)(n < 1 ? 1 : n) * sizeof *t);
	int started = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[started], NULL, fn, NULL) == 0) started++;
	if (started == 0) fn(NULL);
	for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
	free(t);
}

/* A buffer of this thread's, allocated at its first use: static __thread arrays would be zeroed for every
 * thread started (half a MiB each: most of a small pass's time went to clearing pages). Never freed. */
static char *thread_buf(char **slot, size_t size)
{
	if (!*slot) *slot = xmalloc(size);
	return *slot;
}

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void table_init(struct table *t, size_t n)
{
	t->cap = 16;
	while (t->cap < n * 2 + 1) t->cap <<= 1;
	t->keys = calloc(t->cap, sizeof *t->keys);
	t->vals = xmalloc(t->cap * sizeof *t->vals);
	if (!t->keys) exit(1);
}

static void table_put(struct table *t, char *key, int val)
{
	size_t i = fnv(key, strlen(key)) & (t->cap - 1);
	while (t->keys[i] && strcmp(t->keys[i], key) != 0) i = (i + 1) & (t->cap - 1);
	t->keys[i] = key;
	t->vals[i] = val;
}

static int table_get(const struct table *t, const char *key)
{
	if (!t->cap) return -1;
	size_t i = fnv(key, strlen(key)) & (t->cap - 1);
	while (t->keys[i]) {
		if (strcmp(t->keys[i], key) == 0) return t->vals[i];
		i = (i + 1) & (t->cap - 1);
	}
	return -1;
}

static void path_of(char *out, const char *root, const char *rel)
{
	if (snprintf(out, PATH_MAX, "%s%s%s", root, *rel ? "/" : "", rel) >= PATH_MAX) {
		fail("path too long: %s/%s", root, rel);
		exit(1);
	}
}

/* SRC, opened once: its entries are opened beneath it one name at a time, so that a running container
 * swapping a dir of its delta for a symlink (to /etc, say) between the walk and the open never leads this
 * process (root) out of SRC. */
static int src_fd = -1;

/* The dir of SRC's entry `rel` (O_PATH), reached from src_fd following no symlink; its last name in *name. */
static int open_parent(const char *rel, char *buf, const char **name)
{
	snprintf(buf, PATH_MAX, "%s", rel);
	int dfd = src_fd;
	char *at = buf, *slash;
	while ((slash = strchr(at, '/'))) {
		*slash = 0;
		int next = openat(dfd, at, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		if (dfd != src_fd) close(dfd);
		if (next < 0) { errno = err; return -1; }
		dfd = next;
		at = slash + 1;
	}
	*name = at;
	return dfd;
}

/* Opens SRC's entry `rel` with `flags` (and O_NOFOLLOW): never through a symlink. */
static int open_beneath(const char *rel, int flags)
{
	if (!*rel) return openat(src_fd, ".", flags | O_NOFOLLOW | O_CLOEXEC);
	char buf[PATH_MAX];
	const char *name;
	int dfd = open_parent(rel, buf, &name);
	if (dfd < 0) return -1;
	int fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	int err = errno;
	if (dfd != src_fd) close(dfd);
	errno = err;
	return fd;
}

/* readlink(2) of SRC's entry `rel`, never through a symlink on the way. */
static ssize_t readlink_beneath(const char *rel, char *target, size_t size)
{
	char buf[PATH_MAX];
	const char *name;
	int dfd = open_parent(rel, buf, &name);
	if (dfd < 0) return -1;
	ssize_t n = readlinkat(dfd, name, target, size);
	int err = errno;
	if (dfd != src_fd) close(dfd);
	errno = err;
	return n;
}

/* ---- manifest: "PRCOPY1\n", u64 dev, u64 count, count x (u32 len, path, struct rec), u64 fnv of all before */

static int read_manifest(const char *file, struct rec **recs, char ***paths, size_t *n, struct table *t)
{
	FILE *f = fopen(file, "rb");
	if (!f) return 0;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size < 32) { fclose(f); return 0; }
	char *buf = xmalloc((size_t)size);
	size_t got = fread(buf, 1, (size_t)size, f);
	fclose(f);
	uint64_t sum, dev, count;
	if (got != (size_t)size || memcmp(buf, MANIFEST_MAGIC, 8) != 0) { free(buf); return 0; }
	memcpy(&sum, buf + size - 8, 8);
	if (sum != fnv(buf, (size_t)size - 8)) { free(buf); return 0; }
	memcpy(&dev, buf + 8, 8);
	memcpy(&count, buf + 16, 8);
	if (dev != (uint64_t)src_dev || count > (uint64_t)size) { free(buf); return 0; }
	*recs = xmalloc(count * sizeof **recs);
	*paths = xmalloc(count * sizeof **paths);
	table_init(t, count);
	size_t off = 24;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t len;
		if (off + 4 > (size_t)size - 8) goto bad;
		memcpy(&len, buf + off, 4);
		off += 4;
		if (off + len + sizeof(struct rec) > (size_t)size - 8) goto bad;
		(*paths)[i] = xmalloc(len + 1);
		memcpy((*paths)[i], buf + off, len);
		(*paths)[i][len] = 0;
		off += len;
		memcpy(&(*recs)[i], buf + off, sizeof(struct rec));
		off += sizeof(struct rec);
		table_put(t, (*paths)[i], (int)i);
		*n = i + 1;
	}
	free(buf);
	return 1;
bad:
	free(buf);
	*n = 0;
	t->cap = 0;
	return 0;
}

static void *read_manifests(void *arg)
{
	(void)arg;
	if (manifest_path) read_manifest(manifest_path, &mrecs, &mpaths, &nm, &mtab);
	if (link_root) read_manifest(link_manifest_path, &lrecs, &lpaths, &nl, &ltab);
	return NULL;
}

static void rec_of(struct rec *r, const struct ent *e)
{
	memset(r, 0, sizeof *r);
	r->ino = e->st.st_ino;
	r->size = (uint64_t)e->st.st_size;
	r->ctime_s = e->st.st_ctim.tv_sec;
	r->ctime_ns = e->st.st_ctim.tv_nsec;
	r->mtime_s = e->st.st_mtim.tv_sec;
	r->mtime_ns = e->st.st_mtim.tv_nsec;
	r->mode = e->st.st_mode;
	r->uid = e->st.st_uid;
	r->gid = e->st.st_gid;
	long long ct = (long long)e->st.st_ctim.tv_sec * 1000 + e->st.st_ctim.tv_nsec / 1000000;
	long long start = (long long)pass_start.tv_sec * 1000 + pass_start.tv_nsec / 1000000;
	r->clean = !e->unclean && ct < start - racy_ms;
}

static int same(const struct rec *r, const struct stat *st)
{
	return r->clean && r->ino == st->st_ino && r->size == (uint64_t)st->st_size && r->ctime_s == st->st_ctim.tv_sec &&
	       r->ctime_ns == st->st_ctim.tv_nsec && r->mtime_s == st->st_mtim.tv_sec && r->mtime_ns == st->st_mtim.tv_nsec &&
	       r->mode == st->st_mode && r->uid == st->st_uid && r->gid == st->st_gid;
}

static int write_all(int fd, const void *p, size_t n, uint64_t *sum)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) *sum = (*sum ^ c[i]) * 1099511628211ull;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_manifest(void)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.new", manifest_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) return -1;
	FILE *f = fdopen(fd, "wb");
	uint64_t sum = 1469598103934665603ull, dev = src_dev, count = 0;
	for (size_t i = 0; i < nents; i++) count += ents[i].action != SKIP;
	/* Buffered through stdio; the checksum is computed over the same bytes. */
	char *buf;
	size_t blen;
	FILE *mem = open_memstream(&buf, &blen);
	fwrite(MANIFEST_MAGIC, 1, 8, mem);
	fwrite(&dev, 8, 1, mem);
	fwrite(&count, 8, 1, mem);
	for (size_t i = 0; i < nents; i++) {
		if (ents[i].action == SKIP) continue;
		struct rec r;
		uint32_t len = (uint32_t)strlen(ents[i].rel);
		rec_of(&r, &ents[i]);
		fwrite(&len, 4, 1, mem);
		fwrite(ents[i].rel, 1, len, mem);
		fwrite(&r, sizeof r, 1, mem);
	}
	fclose(mem);
	int rc = write_all(fd, buf, blen, &sum);
	if (rc == 0) rc = write_all(fd, &sum, 8, &(uint64_t){0});
	free(buf);
	/* Never fsync'd: it is only renamed into place once what it describes is durable, and one that a power
	 * cut leaves short or zeroed fails its checksum, which costs the next pass a full copy, nothing more. */
	fclose(f);
	return rc;
}

/* Only once everything it describes is durable: a manifest that outlives its data would be believed. */
static int publish_manifest(void)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.new", manifest_path);
	return rename(tmp, manifest_path);
}

/* ---- walking SRC */

/* Caller holds walk_lock (or runs alone). */
static void add_ent(char *rel, const struct stat *st, int parent)
{
	if (nents == capents) {
		capents = capents ? capents * 2 : 1024;
		ents = realloc(ents, capents * sizeof *ents);
		if (!ents) exit(1);
	}
	struct ent *e = &ents[nents++];
	memset(e, 0, sizeof *e);
	e->rel = rel;
	e->st = *st;
	e->parent = parent;
	e->fd = -1;
}

/* The walk: --jobs threads read dirs from a queue, stat their entries (outside the lock), then append
 * them to ents and queue the subdirs (inside it). A dir is queued only once it is in ents, so every entry
 * comes after its parent, which is all that the later passes need of the order. Each dir read stays
 * open (up to fd_budget of them): its entries are later opened relative to it, one name, never through a
 * symlink and without looking up the whole path again. */
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t walk_cond = PTHREAD_COND_INITIALIZER;
static int *walk_queue;
static size_t walk_head, walk_tail, walk_cap, walk_busy;
static long fd_budget;

struct found {
	char *rel;
	struct stat st;
};

static void queue_dir(int idx)
{
	if (walk_tail == walk_cap) {
		walk_cap = walk_cap ? walk_cap * 2 : 256;
		walk_queue = realloc(walk_queue, walk_cap * sizeof *walk_queue);
		if (!walk_queue) exit(1);
	}
	walk_queue[walk_tail++] = idx;
}

/* The last name of a relative path. */
static const char *base_of(const char *rel)
{
	const char *slash = strrchr(rel, '/');
	return slash ? slash + 1 : rel;
}

/* Opens SRC's dir or file `rel` (entry `idx`'s child when parent_fd >= 0) with `flags`, never through a symlink. */
static int open_in(int parent_fd, const char *rel, int flags)
{
	if (parent_fd >= 0) return openat(parent_fd, base_of(rel), flags | O_NOFOLLOW | O_CLOEXEC);
	return open_beneath(rel, flags);
}

/* Owner, mode and xattrs of DST's `dst` from SRC's entry `e` (not a regular file: those are copied through
 * their descriptors). The xattr calls reach `e` without following a symlink on the way: through its
 * parent dir as the walk kept it open (or as opened again a name at a time, beyond the descriptor budget),
 * /proc/self/fd/<that dir>/<name>; the l*xattr calls do not follow the last name. */
static int set_attrs(const char *src, const char *dst, const struct stat *st, int remove_extra);

static int set_attrs_of(const struct ent *e, const char *dst, int remove_extra)
{
	char at[PATH_MAX];
	if (e->parent < 0) return set_attrs(src_root, dst, &e->st, remove_extra);
	int pfd = ents[e->parent].fd, opened = -1;
	if (pfd < 0) {
		char buf[PATH_MAX];
		const char *name;
		pfd = open_parent(e->rel, buf, &name);
		if (pfd < 0) return -1;
		if (pfd != src_fd) opened = pfd;
	}
	snprintf(at, sizeof at, "/proc/self/fd/%d/%s", pfd, base_of(e->rel));
	int r = set_attrs(at, dst, &e->st, remove_extra);
	int err = errno;
	if (opened >= 0) close(opened);
	errno = err;
	return r;
}

/* An entry of SRC gone, or its path no longer leading to it (a dir on the way swapped for a symlink or
 * a file): a change under a tolerant pass, copied again next pass. */
static int gone_errno(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ELOOP;
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->rel, ((const struct found *)b)->rel);
}

/* Reads dir `rel` (whose parent's kept fd is parent_fd, or -1) into *out; returns its fd, or -1 (*gone set
 * when a tolerant pass lost it to a change under the copy). */
static int read_dir(const char *rel, ino_t ino, int parent_fd, struct found **out, size_t *n, int *gone)
{
	char path[PATH_MAX];
	int fd = *rel ? open_in(parent_fd, rel, O_RDONLY | O_DIRECTORY) : openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (tolerant && gone_errno(errno)) { *gone = 1; return -1; }
		path_of(path, src_root, rel);
		fail("cannot read dir %s: %s", path, strerror(errno));
		return -1;
	}
	/* Another dir than the walk saw (renamed over it since): its entries are not this one's. */
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_ino != ino) {
		close(fd);
		if (tolerant) { *gone = 1; return -1; }
		path_of(path, src_root, rel);
		fail("dir %s changed while being copied: stop what writes to it first", path);
		return -1;
	}
	size_t cap = 0, rlen = strlen(rel);
	static __thread char *dents;
	char *buf = thread_buf(&dents, 1 << 16);
	for (;;) {
		ssize_t got = getdents64(fd, buf, 1 << 16);
		if (got == 0) break;
		if (got < 0) {
			if (errno == EINTR) continue;
			path_of(path, src_root, rel);
			fail("cannot read dir %s: %s", path, strerror(errno));
			break;
		}
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			off += de->d_reclen;
			const char *name = de->d_name;
			if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
			size_t nlen = strlen(name);
			if (rlen + 1 + nlen >= PATH_MAX) {
				path_of(path, src_root, rel);
				fail("path too long: %s/%s", path, name);
				return fd;
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				*out = realloc(*out, cap * sizeof **out);
				if (!*out) exit(1);
			}
			struct found *f = &(*out)[*n];
			/* Relative to the open dir: no lookup of the whole path per entry. */
			if (fstatat(fd, name, &f->st, AT_SYMLINK_NOFOLLOW) != 0) {
				if (tolerant && errno == ENOENT) { *gone = 1; continue; }
				path_of(path, src_root, rel);
				fail("cannot stat %s/%s: %s", path, name, strerror(errno));
				return fd;
			}
			f->rel = xmalloc(rlen + 1 + nlen + 1);
			char *w = f->rel;
			if (rlen) { memcpy(w, rel, rlen); w[rlen] = '/'; w += rlen + 1; }
			memcpy(w, name, nlen + 1);
			(*n)++;
		}
	}
	/* A name removed and made again while the dir is read can be listed twice (XFS, tmpfs): two entries
	 * of one path, say a dir and a symlink, would have DST's dir replaced by a symlink the container
	 * chose, and the entries below it written through it. Sorted, each name kept once; a repeat is a
	 * change under the copy. */
	if (*n > 1) qsort(*out, *n, sizeof **out, by_rel);
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		if (kept > 0 && strcmp((*out)[kept - 1].rel, (*out)[i].rel) == 0) {
			if (!tolerant) {
				path_of(path, src_root, (*out)[i].rel);
				fail("%s was listed twice: its dir changed while being read; stop what writes to it first", path);
			}
			free((*out)[i].rel);
			*gone = 1;
			continue;
		}
		(*out)[kept++] = (*out)[i];
	}
	*n = kept;
	return fd;
}

static void *walk_worker(void *arg)
{
	(void)arg;
	struct found *found = NULL;
	for (;;) {
		pthread_mutex_lock(&walk_lock);
		while (walk_head == walk_tail && walk_busy > 0 && !failed) pthread_cond_wait(&walk_cond, &walk_lock);
		if (walk_head == walk_tail || failed) {
			pthread_cond_broadcast(&walk_cond);
			pthread_mutex_unlock(&walk_lock);
			free(found);
			return NULL;
		}
		int idx = walk_queue[walk_head++];
		walk_busy++;
		const char *rel = ents[idx].rel;
		ino_t ino = ents[idx].st.st_ino;
		int parent_fd = ents[idx].parent >= 0 ? ents[ents[idx].parent].fd : -1;
		pthread_mutex_unlock(&walk_lock);

		size_t n = 0;
		int gone = 0;
		int fd = read_dir(rel, ino, parent_fd, &found, &n, &gone);

		pthread_mutex_lock(&walk_lock);
		for (size_t i = 0; i < n; i++) {
			add_ent(found[i].rel, &found[i].st, idx);
			/* A mount point: the dir is copied, not what is mounted on it (cp -x). */
			if (S_ISDIR(found[i].st.st_mode) && found[i].st.st_dev == src_dev) queue_dir((int)nents - 1);
		}
		if (gone) ents[idx].unclean = 1;
		if (fd >= 0 && fd_budget > 0) {
			ents[idx].fd = fd;
			fd_budget--;
			fd = -1;
		}
		walk_busy--;
		pthread_cond_broadcast(&walk_cond);
		pthread_mutex_unlock(&walk_lock);
		if (fd >= 0) close(fd);
	}
}

static void walk(void)
{
	/* Keep dirs open for the copy, leaving room for the copying threads' own descriptors. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		/* At most 32 768 dirs kept open: each pins kernel memory a container could otherwise make
		 * unbounded with a delta of empty dirs; beyond that, entries are reached a name at a time. */
		fd_budget = (long)(rl.rlim_cur > 32768 + 1024 ? 32768 + 1024 : rl.rlim_cur) - 1024 - 4L * (jobs < 1 ? 1 : jobs);
	}
	queue_dir(0);
	run_workers(jobs < 1 ? 1 : jobs, walk_worker);
}

/* ---- deciding */

static int unchanged_in(const struct table *t, const struct rec *recs, const struct ent *e)
{
	int i = table_get(t, e->rel);
	return i >= 0 && same(&recs[i], &e->st);
}

static void decide(void)
{
	struct table groups; /* inode -> first entry of a hardlink group */
	table_init(&groups, nents);
	char key[32];
	for (size_t i = 0; i < nents; i++) {
		struct ent *e = &ents[i];
		int here = unchanged_in(&mtab, mrecs, e);
		if (S_ISDIR(e->st.st_mode)) {
			e->action = here ? KEEP : COPY;
			e->dir_changed = !here;
			continue;
		}
		int linkable = !here && S_ISREG(e->st.st_mode) && link_root && unchanged_in(&ltab, lrecs, e);
		e->action = here ? KEEP : linkable ? LINK_DEST : COPY;
	}
	/* A hardlink group is one inode: kept, linked or copied as a whole (names of one inode may have been
	 * recorded at different moments of a running container). */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nents; i++) {
			struct ent *e = &ents[i];
			if (S_ISDIR(e->st.st_mode) || e->st.st_nlink < 2) continue;
			snprintf(key, sizeof key, "%llx", (unsigned long long)e->st.st_ino);
			int first = table_get(&groups, key);
			if (first == (int)i) continue;
			if (first < 0) {
				table_put(&groups, strdup(key), (int)i);
				continue;
			}
			struct ent *f = &ents[first];
			if (pass == 0) {
				if (e->action != f->action) f->action = COPY; /* the weakest wins: copy all */
			} else {
				e->action = f->action == COPY ? HARDLINK : f->action;
				e->first = first;
			}
		}
	}
}

/* ---- acting on DST */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	if (r != 0 && errno != ENOENT) {
		fail("cannot remove %s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* Removes whatever is at `path` (a tree too, never crossing into a mount); nothing there is fine. */
static int remove_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
	n_removed++;
	if (!S_ISDIR(st.st_mode)) return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 ? 0 : -1;
}

/* Per thread: the names of the source's xattrs, of the destination's, and one value. */
static __thread char *xnames_, *xdnames_, *xvalue_;

/* Is `name` one of the n bytes of NUL-separated `names`? */
static int in_list(const char *names, ssize_t n, const char *name)
{
	for (ssize_t o = 0; o < n; o += (ssize_t)strlen(names + o) + 1)
		if (strcmp(names + o, name) == 0) return 1;
	return 0;
}

/* Gives `dst` exactly the xattrs of `src` (removing any it has that `src` has not, with remove_extra). */
static int copy_xattrs(const char *src, const char *dst, int remove_extra)
{
	char *names = thread_buf(&xnames_, XATTR_LIST_MAX_), *dnames = thread_buf(&xdnames_, XATTR_LIST_MAX_), *value = thread_buf(&xvalue_, XATTR_VALUE_MAX);
	ssize_t n = llistxattr(src, names, XATTR_LIST_MAX_);
	if (n < 0) return errno == ENOTSUP ? 0 : -1;
	ssize_t dn = remove_extra ? llistxattr(dst, dnames, XATTR_LIST_MAX_) : 0;
	for (ssize_t off = 0; dn > 0 && off < dn; off += (ssize_t)strlen(dnames + off) + 1)
		if (!in_list(names, n, dnames + off) && lremovexattr(dst, dnames + off) != 0) return -1;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
		ssize_t v = lgetxattr(src, names + off, value, XATTR_VALUE_MAX);
		if (v < 0) return -1;
		if (lsetxattr(dst, names + off, value, (size_t)v, 0) != 0) return -1;
	}
	return 0;
}

/* The same for a regular file just created, through its descriptors (no path lookups). A new file may
 * have inherited an ACL from a default ACL of its DST dir: whatever it has that `sfd` has not goes. */
static int copy_xattrs_fd(int sfd, int dfd)
{
	char *names = thread_buf(&xnames_, XATTR_LIST_MAX_), *dnames = thread_buf(&xdnames_, XATTR_LIST_MAX_), *value = thread_buf(&xvalue_, XATTR_VALUE_MAX);
	ssize_t n = flistxattr(sfd, names, XATTR_LIST_MAX_);
	if (n < 0) return errno == ENOTSUP ? 0 : -1;
	ssize_t dn = flistxattr(dfd, dnames, XATTR_LIST_MAX_);
	for (ssize_t off = 0; dn > 0 && off < dn; off += (ssize_t)strlen(dnames + off) + 1)
		if (!in_list(names, n, dnames + off) && fremovexattr(dfd, dnames + off) != 0) return -1;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
		ssize_t v = fgetxattr(sfd, names + off, value, XATTR_VALUE_MAX);
		if (v < 0) return -1;
		if (fsetxattr(dfd, names + off, value, (size_t)v, 0) != 0) return -1;
	}
	return 0;
}

static int set_times(const char *dst, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	return utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
}

/* Owner, then mode (chown clears setuid), then xattrs (security.capability after chown). Not times. */
static int set_attrs(const char *src, const char *dst, const struct stat *st, int remove_extra)
{
	if (lchown(dst, st->st_uid, st->st_gid) != 0) return -1;
	if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777) != 0) return -1;
	return copy_xattrs(src, dst, remove_extra);
}

/* Copies [from, to) of sfd to the same offsets of dfd; *end: where the copy ended (before `to` if sfd shrank). */
static int copy_range(int sfd, int dfd, off_t from, off_t to, off_t *end)
{
	static __thread char *plain_buf;
	enum { PLAIN = 1 << 17 };
	off_t in = from, out = from;
	int plain = 0;
	while (in < to) {
		size_t want = (size_t)(to - in);
		ssize_t n;
		if (!plain) {
			n = copy_file_range(sfd, &in, dfd, &out, want, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) { plain = 1; continue; }
		} else {
			char *buf = thread_buf(&plain_buf, PLAIN);
			n = pread(sfd, buf, want < PLAIN ? want : PLAIN, in);
			if (n > 0) {
				for (ssize_t w = 0; w < n;) {
					ssize_t k = pwrite(dfd, buf + w, (size_t)(n - w), out + w);
					if (k < 0) return -1;
					w += k;
				}
				in += n;
				out += n;
			}
		}
		if (n < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		if (n == 0) break; /* the file shrank under us */
	}
	*end = out;
	return 0;
}

/* The data of `sfd` into the empty `dfd`: a reflink where possible, else its data extents only. */
static int copy_data(int sfd, int dfd, off_t size, off_t blocks, int *cloned)
{
	if (clone_ok && size > 0) {
		if (ioctl(dfd, FICLONE, sfd) == 0) { *cloned = 1; return 0; }
		if (errno != EOPNOTSUPP && errno != EXDEV && errno != EINVAL && errno != ENOTTY && errno != ENOSYS) return -1;
		clone_ok = 0;
	}
	/* Not sparse (as many blocks as bytes): one range, no hole search; cp -a judges the same way. */
	if (blocks * 512 >= size) {
		off_t end = 0;
		if (copy_range(sfd, dfd, 0, size, &end) != 0) return -1;
		return end == size ? 0 : ftruncate(dfd, size);
	}
	off_t pos = 0;
	while (pos < size) {
		off_t data = lseek(sfd, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO) break;
			return copy_range(sfd, dfd, pos, size, &(off_t){0}) == 0 ? ftruncate(dfd, size) : -1;
		}
		off_t hole = lseek(sfd, data, SEEK_HOLE);
		if (hole < 0) hole = size;
		if (hole > size) hole = size;
		if (copy_range(sfd, dfd, data, hole, &(off_t){0}) != 0) return -1;
		pos = hole;
	}
	return ftruncate(dfd, size);
}

static void copy_file(struct ent *e)
{
	char src[PATH_MAX], dst[PATH_MAX];
	path_of(src, src_root, e->rel);
	path_of(dst, dst_root, e->rel);
	int pfd = ents[e->parent].fd;
	/* O_NONBLOCK: a file the container swapped for a fifo must not block the open (fstat below refuses it). */
	int sfd = open_in(pfd, e->rel, O_RDONLY | O_NOATIME | O_NONBLOCK | O_NOCTTY);
	if (sfd < 0 && errno == EPERM) sfd = open_in(pfd, e->rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (sfd < 0) {
		if (tolerant && (gone_errno(errno) || errno == ENXIO)) { e->action = SKIP; return; }
		fail("cannot open %s: %s", src, strerror(errno));
		return;
	}
	struct stat now;
	int cloned = 0, dfd = -1;
	/* Another inode than the walk saw (its dir was renamed since, say): the copy is done again next pass. */
	if (fstat(sfd, &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != e->st.st_ino) {
		if (tolerant) { e->action = SKIP; goto out; }
		fail("%s changed while being copied: stop what writes to it first", src);
		goto out;
	}
	dfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dfd < 0) { fail("cannot create %s: %s", dst, strerror(errno)); goto out; }
	if (copy_data(sfd, dfd, now.st_size, now.st_blocks, &cloned) != 0) { fail("cannot copy %s to %s: %s", src, dst, strerror(errno)); goto out; }
	/* Always chown: which group a new file gets depends on the mount (grpid, NFS), not only on its dir. */
	if (fchown(dfd, now.st_uid, now.st_gid) != 0 || fchmod(dfd, now.st_mode & 07777) != 0 || copy_xattrs_fd(sfd, dfd) != 0) {
		fail("cannot set the attributes of %s: %s", dst, strerror(errno));
		goto out;
	}
	struct timespec ts[2] = {now.st_atim, now.st_mtim};
	if (futimens(dfd, ts) != 0) { fail("cannot set the times of %s: %s", dst, strerror(errno)); goto out; }
	e->needs_sync = 1;
	struct stat after;
	/* Changed since the walk, or while copied: the copy is of some moment, and is done again next pass. */
	if (fstat(sfd, &after) != 0 || after.st_ctim.tv_sec != e->st.st_ctim.tv_sec || after.st_ctim.tv_nsec != e->st.st_ctim.tv_nsec) {
		if (!tolerant) { fail("%s changed while being copied: stop what writes to it first", src); goto out; }
		e->unclean = 1;
	}
	pthread_mutex_lock(&err_lock);
	if (cloned) n_cloned++;
	else n_copied++;
	n_bytes += (unsigned long long)now.st_blocks * 512;
	if ((long long)(n_copied + n_cloned) == stop_after) raise(SIGSTOP);
	pthread_mutex_unlock(&err_lock);
out:
	if (dfd >= 0) close(dfd);
	close(sfd);
}

static void *file_worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&err_lock);
		size_t j = next_job++;
		int stop = failed;
		pthread_mutex_unlock(&err_lock);
		if (stop || j >= nfile_jobs) return NULL;
		copy_file(&ents[file_jobs[j]]);
	}
}

/* --sync files: every file written and every dir that got or lost a name, fsync'd by many threads at
 * once, so the filesystem commits them together (ext4's journal, XFS's log) instead of one by one. */
static int *sync_jobs;
static size_t nsync_jobs, next_sync;

static void *sync_worker(void *arg)
{
	(void)arg;
	char path[PATH_MAX];
	for (;;) {
		pthread_mutex_lock(&err_lock);
		size_t j = next_sync++;
		pthread_mutex_unlock(&err_lock);
		if (j >= nsync_jobs) return NULL;
		path_of(path, dst_root, ents[sync_jobs[j]].rel);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fsync(fd) != 0) fail("cannot fsync %s: %s", path, strerror(errno));
		if (fd >= 0) close(fd);
	}
}

static void sync_written(void)
{
	sync_jobs = xmalloc(nents * sizeof *sync_jobs);
	for (size_t i = 0; i < nents; i++)
		if (ents[i].needs_sync && ents[i].action != SKIP) sync_jobs[nsync_jobs++] = (int)i;
	if (nsync_jobs > 0) run_workers(nsync_jobs < 16 ? (int)nsync_jobs : 16, sync_worker);
}

/* Removes the names of DST dir `e` that SRC no longer has. */
static void remove_extras(struct ent *e)
{
	char dpath[PATH_MAX];
	path_of(dpath, dst_root, e->rel);
	DIR *d = opendir(dpath);
	if (!d) return;
	struct dirent *de;
	char *names = NULL;
	size_t len = 0;
	FILE *list = open_memstream(&names, &len);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
		char rel[PATH_MAX];
		if (snprintf(rel, sizeof rel, "%s%s%s", e->rel, *e->rel ? "/" : "", de->d_name) >= (int)sizeof rel) {
			fail("path too long: %s/%s", dpath, de->d_name);
			break;
		}
		int i = table_get(&stab, rel);
		if (i < 0 || ents[i].action == SKIP) fwrite(de->d_name, 1, strlen(de->d_name) + 1, list);
	}
	closedir(d);
	fclose(list);
	for (size_t off = 0; off < len; off += strlen(names + off) + 1) {
		char p[PATH_MAX];
		if (snprintf(p, sizeof p, "%s/%s", dpath, names + off) >= (int)sizeof p) { fail("path too long: %s/%s", dpath, names + off); break; }
		if (remove_path(p) != 0) fail("cannot remove %s: %s", p, strerror(errno));
		e->touched = 1;
	}
	free(names);
}

static void act(void)
{
	char src[PATH_MAX], dst[PATH_MAX];
	file_jobs = xmalloc(nents * sizeof *file_jobs);
	size_t written = 0;
	for (size_t i = 0; i < nents; i++) written += ents[i].action != KEEP;
	sync_files = sync_mode == SYNC_FILES || (sync_mode == SYNC_AUTO && written <= 256);

	/* Dirs (parents first), and everything that is not regular-file data. */
	for (size_t i = 0; i < nents && !failed; i++) {
		struct ent *e = &ents[i];
		if (e->action == KEEP) continue;
		path_of(src, src_root, e->rel);
		path_of(dst, dst_root, e->rel);
		struct stat dstat;
		int exists = lstat(dst, &dstat) == 0;
		int mark_parent = 1;
		if (S_ISDIR(e->st.st_mode)) {
			if (exists && !S_ISDIR(dstat.st_mode)) {
				if (remove_path(dst) != 0) { fail("cannot remove %s: %s", dst, strerror(errno)); break; }
				exists = 0;
			}
			if (!exists && mkdir(dst, 0700) != 0) { fail("cannot create dir %s: %s", dst, strerror(errno)); break; }
			if (exists) {
				remove_extras(e);
				mark_parent = 0;
			}
			if (set_attrs_of(e, dst, 1) != 0) {
				if (tolerant && gone_errno(errno)) { e->unclean = 1; continue; }
				fail("cannot set the attributes of %s: %s", dst, strerror(errno));
				break;
			}
			e->touched = 1;
		} else {
			if (exists && remove_path(dst) != 0) { fail("cannot remove %s: %s", dst, strerror(errno)); break; }
			if (e->action == COPY && S_ISREG(e->st.st_mode)) {
				file_jobs[nfile_jobs++] = (int)i;
			} else if (e->action == LINK_DEST) {
				char from[PATH_MAX];
				path_of(from, link_root, e->rel);
				if (link(from, dst) == 0) n_linked++;
				else if (errno == EMLINK || errno == EXDEV || errno == EPERM || errno == ENOENT) {
					e->action = COPY;
					file_jobs[nfile_jobs++] = (int)i;
				} else { fail("cannot link %s to %s: %s", dst, from, strerror(errno)); break; }
			} else if (e->action == COPY) {
				int r;
				if (S_ISLNK(e->st.st_mode)) {
					char target[PATH_MAX + 1];
					int pfd = ents[e->parent].fd;
					ssize_t n = pfd >= 0 ? readlinkat(pfd, base_of(e->rel), target, PATH_MAX) : readlink_beneath(e->rel, target, PATH_MAX);
					if (n < 0) {
						if (tolerant) { e->action = SKIP; continue; }
						fail("cannot read symlink %s: %s", src, strerror(errno));
						break;
					}
					target[n] = 0;
					r = symlink(target, dst);
				} else {
					r = mknod(dst, (e->st.st_mode & S_IFMT) | 0600, e->st.st_rdev);
				}
				if (r != 0 || set_attrs_of(e, dst, 1) != 0 || set_times(dst, &e->st) != 0) {
					if (tolerant && gone_errno(errno)) { e->action = SKIP; continue; }
					fail("cannot create %s: %s", dst, strerror(errno));
					break;
				}
				n_copied++; /* durable with its dir's fsync (below): never opened, a fifo would block */
			}
		}
		if (mark_parent && e->parent >= 0) ents[e->parent].touched = 1;
	}

	/* File data, in parallel. */
	if (!failed && nfile_jobs > 0) {
		int n = jobs < 1 ? 1 : jobs;
		run_workers((size_t)n > nfile_jobs ? (int)nfile_jobs : n, file_worker);
	}

	/* More names of a copied inode. */
	for (size_t i = 0; i < nents && !failed; i++) {
		struct ent *e = &ents[i];
		if (e->action != HARDLINK) continue;
		char from[PATH_MAX];
		struct ent *f = &ents[e->first];
		if (f->action == SKIP) { e->action = SKIP; continue; }
		path_of(from, dst_root, f->rel);
		path_of(dst, dst_root, e->rel);
		if (link(from, dst) != 0) { fail("cannot link %s to %s: %s", dst, from, strerror(errno)); break; }
		if (f->unclean) e->unclean = 1;
	}

	/* Dir times last, children first: adding or removing a name moves its dir's mtime. */
	for (size_t i = nents; i-- > 0 && !failed;) {
		struct ent *e = &ents[i];
		if (e->action == SKIP || !S_ISDIR(e->st.st_mode) || !e->touched) continue;
		path_of(dst, dst_root, e->rel);
		if (set_times(dst, &e->st) != 0) {
			if (tolerant && errno == ENOENT) continue;
			fail("cannot set the times of %s: %s", dst, strerror(errno));
		}
		e->needs_sync = 1;
	}
	for (size_t i = 0; i < nents; i++) {
		struct ent *e = &ents[i];
		if (e->action == KEEP) n_kept++;
		/* A dir that lost an entry to a change under the copy is looked at again next pass. */
		if (e->action == SKIP && e->parent >= 0) ents[e->parent].unclean = 1;
	}
}

/* What SRC takes on disk, as `du -sx` counts it: allocated bytes and entries, each inode once, mounts
 * below it left out (src/containers/tree-walk.ts counts the same way). */
static void usage(unsigned long long *bytes, unsigned long long *files)
{
	struct table seen;
	char key[32];
	table_init(&seen, nents);
	*bytes = 0;
	*files = 0;
	for (size_t i = 0; i < nents; i++) {
		const struct stat *st = &ents[i].st;
		if (st->st_dev != src_dev) continue;
		if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
			snprintf(key, sizeof key, "%llx", (unsigned long long)st->st_ino);
			if (table_get(&seen, key) >= 0) continue;
			table_put(&seen, strdup(key), 1);
		}
		*bytes += (unsigned long long)st->st_blocks * 512;
		*files += 1;
	}
}

/* What the pass would write: data of copied files (not reflinked or linked), and new inodes. */
static int check_space(void)
{
	if (reserve_bytes < 0) return 0;
	unsigned long long need_bytes = 0, need_inodes = 0;
	int reflinks = 0;
	for (size_t i = 0; i < nents; i++) {
		struct ent *e = &ents[i];
		if (e->action == COPY) {
			need_inodes++;
			if (S_ISREG(e->st.st_mode) || S_ISDIR(e->st.st_mode)) need_bytes += (unsigned long long)e->st.st_blocks * 512;
		}
	}
	/* A probe: can DST's filesystem reflink SRC's files? Then copied data costs (next to) nothing. */
	for (size_t i = 0; i < nents && !reflinks; i++) {
		if (ents[i].action != COPY || !S_ISREG(ents[i].st.st_mode) || ents[i].st.st_size == 0) continue;
		char probe[PATH_MAX];
		snprintf(probe, sizeof probe, "%s.prcopy-probe", dst_root);
		int sfd = open_beneath(ents[i].rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
		int pfd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (sfd >= 0 && pfd >= 0 && ioctl(pfd, FICLONE, sfd) == 0) reflinks = 1;
		if (pfd >= 0) { close(pfd); unlink(probe); }
		if (sfd >= 0) close(sfd);
		break;
	}
	if (reflinks) {
		need_bytes = 0;
		for (size_t i = 0; i < nents; i++)
			if (ents[i].action == COPY && !S_ISREG(ents[i].st.st_mode)) need_bytes += (unsigned long long)ents[i].st.st_blocks * 512;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dst_root);
	struct statvfs sv;
	char *slash;
	while (statvfs(parent, &sv) != 0) {
		if (errno != ENOENT || !(slash = strrchr(parent, '/')) || slash == parent) return 0;
		*slash = 0;
	}
	unsigned long long avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	int short_bytes = need_bytes + (unsigned long long)reserve_bytes > avail;
	int short_inodes = sv.f_files > 0 && need_inodes + (unsigned long long)reserve_inodes > sv.f_favail;
	if (short_bytes || short_inodes) {
		printf("space %llu %llu\n", need_bytes, need_inodes);
		return 1;
	}
	return 0;
}

static long long number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "prcopy: %s must be a number >= 0, not %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--") == 0) { i++; break; }
		if (strcmp(o, "--tolerant") == 0) { tolerant = 1; continue; }
		if (i + 1 >= argc) { fprintf(stderr, "prcopy: %s needs a value\n", o); return 2; }
		const char *v = argv[++i];
		if (strcmp(o, "--manifest") == 0) manifest_path = v;
		else if (strcmp(o, "--link-dest") == 0) link_root = v;
		else if (strcmp(o, "--link-manifest") == 0) link_manifest_path = v;
		else if (strcmp(o, "--jobs") == 0) jobs = (int)number(v, o);
		else if (strcmp(o, "--stop-after") == 0) stop_after = number(v, o);
		else if (strcmp(o, "--racy-ms") == 0) racy_ms = (int)number(v, o);
		else if (strcmp(o, "--reserve-bytes") == 0) reserve_bytes = number(v, o);
		else if (strcmp(o, "--reserve-inodes") == 0) reserve_inodes = number(v, o);
		else if (strcmp(o, "--sync") == 0) {
			if (strcmp(v, "auto") == 0) sync_mode = SYNC_AUTO;
			else if (strcmp(v, "fs") == 0) sync_mode = SYNC_FS;
			else if (strcmp(v, "files") == 0) sync_mode = SYNC_FILES;
			else if (strcmp(v, "none") == 0) sync_mode = SYNC_NONE;
			else { fprintf(stderr, "prcopy: --sync auto|fs|files|none, not %s\n", v); return 2; }
		} else { fprintf(stderr, "prcopy: unknown option %s\n", o); return 2; }
	}
	if (argc - i != 2 || (link_root && !link_manifest_path)) {
		fputs("usage: prcopy [--manifest FILE] [--link-dest DIR --link-manifest FILE] [--sync auto|fs|files|none] [--tolerant] [--jobs N] [--racy-ms N] [--reserve-bytes N --reserve-inodes N] SRC DST\n", stderr);
		return 2;
	}
	src_root = argv[i];
	dst_root = argv[i + 1];
	umask(0);
	clock_gettime(CLOCK_REALTIME, &pass_start);

	struct stat root;
	if (lstat(src_root, &root) != 0 || !S_ISDIR(root.st_mode)) {
		fprintf(stderr, "prcopy: %s is not a directory\n", src_root);
		return 1;
	}
	if (access("/proc/self/fd", X_OK) != 0) {
		fprintf(stderr, "prcopy: /proc is not mounted: it reads attributes through /proc/self/fd (never through a path a container could redirect)\n");
		return 1;
	}
	src_dev = root.st_dev;
	src_fd = open(src_root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src_fd < 0) {
		fprintf(stderr, "prcopy: cannot open %s: %s\n", src_root, strerror(errno));
		return 1;
	}
	add_ent(strdup(""), &root, -1);
	/* The manifests are read while SRC is walked. */
	pthread_t reader;
	int reading = pthread_create(&reader, NULL, read_manifests, NULL) == 0;
	if (!reading) read_manifests(NULL);
	walk();
	if (reading) pthread_join(reader, NULL);
	if (failed) return 1;
	table_init(&stab, nents);
	for (size_t k = 0; k < nents; k++) table_put(&stab, ents[k].rel, (int)k);
	decide();
	if (check_space()) return 75;
	/* From here DST changes: no manifest may describe it until the pass is complete. */
	if (manifest_path && unlink(manifest_path) != 0 && errno != ENOENT) {
		fprintf(stderr, "prcopy: cannot remove %s: %s\n", manifest_path, strerror(errno));
		return 1;
	}
	if (stop_after == 0) raise(SIGSTOP); /* tests: before anything is written */
	act();
	if (failed) return 1;
	if (manifest_path && write_manifest() != 0) {
		fprintf(stderr, "prcopy: cannot write %s.new: %s\n", manifest_path, strerror(errno));
		return 1;
	}
	/* The parent of DST is the caller's. */
	if (sync_files) {
		sync_written();
		if (failed) return 1;
	} else if (sync_mode != SYNC_NONE) {
		int fd = open(dst_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) != 0) { fprintf(stderr, "prcopy: syncfs %s: %s\n", dst_root, strerror(errno)); return 1; }
		close(fd);
	}
	if (manifest_path && publish_manifest() != 0) {
		fprintf(stderr, "prcopy: cannot write %s: %s\n", manifest_path, strerror(errno));
		return 1;
	}
	unsigned long long usage_bytes, usage_files;
	usage(&usage_bytes, &usage_files);
	printf("entries %zu copied %llu cloned %llu linked %llu kept %llu removed %llu bytes %llu sync %s usage_bytes %llu usage_files %llu\n", nents,
	       n_copied, n_cloned, n_linked, n_kept, n_removed, n_bytes, sync_files ? "files" : sync_mode == SYNC_NONE ? "none" : "fs", usage_bytes,
	       usage_files);
	return 0;
}
