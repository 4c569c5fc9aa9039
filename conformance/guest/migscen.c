/*
 * migscen.c - runs the conformance scenarios inside the QEMU guest.
 *
 * The scenarios are data (conformance/scenarios.json).  lab.py turns them into
 * scenarios.h, a table of steps compiled into this program, and the Python
 * model runs the very same table (conformance/model_side.py).  This program
 * only observes: it prints what the kernel did, and compare.py judges it.
 *
 * Output on stdout (the guest's serial console), one line each:
 *   @@SCENARIO <id>                        a scenario starts
 *   @@TRACE <id> <step> <trace line>       a set/remove_migration_pte event that
 *                                          hit one of the region's pages
 *   @@RESULT {json}                        everything observed in one scenario
 *
 * It must only ever run inside the lab's initramfs on a 2-node guest: on a
 * host it would migrate the host's pages and write to its tracing files.
 * guard() refuses to run anywhere else.
 *
 * Build (lab.py does this): gcc -static -O2 -pthread -I<dir of scenarios.h>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* From <linux/mempolicy.h>; spelled out so that no libnuma is needed. */
#define MPOL_BIND        2
#define MPOL_MF_STRICT   (1 << 0)
#define MPOL_MF_MOVE     (1 << 1)
#define MPOL_MF_MOVE_ALL (1 << 2)

#define PS          4096
#define MAX_PAGES   32          /* lab.py checks every region fits */
#define MAX_REGIONS 4
#define NOT_WRITTEN (-9999)     /* status slot the kernel left untouched */
#define TRACING     "/sys/kernel/tracing"
#define KPROBE_NAME "miglab_wait"   /* set up by /init on __migration_entry_wait */

enum op { OP_MAP, OP_FILL, OP_READ, OP_WRITE, OP_CHECK, OP_FORK, OP_EXIT,
	  OP_MUNMAP, OP_WHERE, OP_MOVE, OP_MIGRATE, OP_MBIND, OP_TRACE, OP_RACE,
	  OP_PIN, OP_UNPIN };
enum kind { KIND_NONE, KIND_ANON, KIND_SHM };

struct step {
	int op;
	int proc;               /* 0: the scenario's process, 1: its forked child */
	int region;             /* index into regions[], -1 if none */
	int kind;               /* OP_MAP */
	int npages;             /* OP_MAP */
	uint32_t pages;         /* bitmask of page indexes; all ones = whole region */
	int tag;                /* data pattern for fill/write/check */
	int node;               /* target node of move/mbind */
	int flags;              /* MPOL_MF_* */
	unsigned long from, to; /* node masks of OP_MIGRATE */
	int iterations;         /* OP_RACE */
};

struct scenario {
	const char *id;
	int first, nsteps;
};

#include "scenarios.h"   /* generated: steps[], scenarios[], N_SCENARIOS */

/* ---- small helpers ---------------------------------------------------- */

/* A growing JSON text for one scenario (or one child reply). */
struct jbuf { char s[1 << 16]; size_t n; };

static void jprintf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->n = b->n + k < sizeof(b->s) ? b->n + k : sizeof(b->s) - 1;
}

/* One whole line per write(2), so that lines from two processes never mix. */
static void emit(const char *fmt, ...)
{
	static char line[1 << 17];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	if (k > (int)sizeof(line) - 2)
		k = sizeof(line) - 2;
	line[k++] = '\n';
	for (int off = 0; off < k;) {
		ssize_t w = write(1, line + off, k - off);
		if (w <= 0)
			break;
		off += w;
	}
}

static void die(const char *what)
{
	emit("@@FATAL %s: %s", what, strerror(errno));
	_exit(3);
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* The byte at offset j of page i holds this for tag t (model_side.py has the twin). */
static uint8_t pattern(int tag, int page, int j)
{
	return (uint8_t)(tag * 37 + page * 11 + j * 7 + (j >> 8));
}

/* ---- the guard: run only inside the lab guest ------------------------- */

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void guard(void)
{
	const char *env = getenv("MIGLAB_GUEST");
	if (!env || strcmp(env, "1") || getppid() != 1 ||
	    !exists("/etc/miglab-initramfs")) {
		fprintf(stderr, "migscen: refusing to run: this program migrates pages and "
			"writes kernel tracing files; it only runs as a child of /init in "
			"the conformance lab's initramfs (run `make conformance`).\n");
		exit(2);
	}
	if (!exists("/sys/devices/system/node/node0") ||
	    !exists("/sys/devices/system/node/node1") ||
	    exists("/sys/devices/system/node/node2")) {
		fprintf(stderr, "migscen: refusing to run: expected exactly 2 NUMA nodes\n");
		exit(2);
	}
}

/* ---- kernel interfaces ------------------------------------------------ */

/* move_pages(2) on our own process; returns the result or -errno. */
static long move_pages_self(int n, void **addrs, const int *nodes, int *status, int flags)
{
	long r = syscall(SYS_move_pages, 0, (unsigned long)n, addrs, nodes, status, flags);
	return r < 0 ? -errno : r;
}

/* The physical frame behind a virtual address (root only), or 0 if not present. */
static uint64_t pfn_of(void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)addr / PS) * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e >> 63))
		return 0;
	return e & ((1ULL << 55) - 1);
}

/* One counter from /proc/vmstat (informational: pgmigrate_success). */
static long vmstat(const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

/* How often the kprobe on __migration_entry_wait has fired so far. */
static long kprobe_hits(void)
{
	char name[128];
	unsigned long hits, missed;
	long found = -1;
	FILE *f = fopen(TRACING "/kprobe_profile", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%127s %lu %lu", name, &hits, &missed) == 3)
		if (!strcmp(name, KPROBE_NAME))
			found = (long)hits;
	fclose(f);
	return found;
}

static void trace_clear(void)
{
	int fd = open(TRACING "/trace", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
}

/* ---- the state of one scenario ---------------------------------------- */

struct region {
	char *base;
	int npages;
	int kind;
	uint64_t last_pfn[2][MAX_PAGES];   /* per proc, from its previous 'where' */
	int have_pfn[2];
	int pipe_fd[2];                    /* OP_PIN: a pipe holding page references */
};

static struct region regions[MAX_REGIONS];
static const struct scenario *cur;
static pid_t child = -1;
static int to_child = -1, from_child = -1;

static int selected(const struct step *st, int page)
{
	return page < 32 && (st->pages >> page) & 1;
}

static void json_region(struct jbuf *o, const struct region *r)
{
	jprintf(o, ",\"base\":\"0x%lx\",\"npages\":%d", (unsigned long)r->base, r->npages);
}

/* ---- the steps -------------------------------------------------------- */

/* map: a private anonymous region, or a MAP_SHARED file on tmpfs (/dev/shm). */
static void do_map(const struct step *st, struct region *r, struct jbuf *o)
{
	size_t len = (size_t)st->npages * PS;
	memset(r, 0, sizeof(*r));
	r->npages = st->npages;
	r->kind = st->kind;
	if (st->kind == KIND_ANON) {
		r->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->base == MAP_FAILED)
			die("mmap anon");
		/* Small pages only: a THP would turn one move into 512. */
		madvise(r->base, len, MADV_NOHUGEPAGE);
	} else {
		char path[64];
		snprintf(path, sizeof(path), "/dev/shm/miglab-%d-%d", getpid(), st->region);
		int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, len))
			die("shm file");
		r->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (r->base == MAP_FAILED)
			die("mmap shm");
		close(fd);
		unlink(path);   /* the mapping keeps the file alive */
	}
	json_region(o, r);
}

static void do_fill(const struct step *st, struct region *r)
{
	for (int i = 0; i < r->npages; i++)
		if (st->op == OP_FILL || selected(st, i))
			for (int j = 0; j < PS; j++)
				r->base[i * PS + j] = pattern(st->tag, i, j);
}

/* read: touch every page by reading it; untouched anonymous memory then maps the zero page. */
static void do_read(struct region *r, struct jbuf *o)
{
	unsigned sum = 0;
	for (int i = 0; i < r->npages; i++)
		sum += *(volatile uint8_t *)(r->base + i * PS);
	jprintf(o, ",\"sum\":%u", sum);
}

/* check: does each selected page hold exactly the pattern for the tag? */
static void do_check(const struct step *st, struct region *r, struct jbuf *o)
{
	jprintf(o, ",\"match\":[");
	int first = 1;
	for (int i = 0; i < r->npages; i++) {
		if (!selected(st, i))
			continue;
		int ok = 1;
		for (int j = 0; j < PS && ok; j++)
			ok = (uint8_t)r->base[i * PS + j] == pattern(st->tag, i, j);
		jprintf(o, "%s%s", first ? "" : ",", ok ? "true" : "false");
		first = 0;
	}
	jprintf(o, "]");
}

static void do_munmap(const struct step *st, struct region *r)
{
	for (int i = 0; i < r->npages; i++)
		if (selected(st, i) && munmap(r->base + i * PS, PS))
			die("munmap");
}

/*
 * where: move_pages(2) with nodes == NULL only reports where each page is
 * (node, or -errno).  pfn_changed compares the frame with the one this
 * process saw at its previous 'where' of the region: a migration always
 * gives the data a new frame; null when there is nothing to compare.
 */
static void do_where(const struct step *st, struct region *r, struct jbuf *o)
{
	void *addrs[MAX_PAGES];
	int status[MAX_PAGES], idx[MAX_PAGES], n = 0;
	uint64_t pfn[MAX_PAGES];
	for (int i = 0; i < r->npages; i++)
		if (selected(st, i)) {
			idx[n] = i;
			addrs[n++] = r->base + i * PS;
		}
	long ret = move_pages_self(n, addrs, NULL, status, 0);
	jprintf(o, ",\"ret\":%ld,\"status\":", ret);
	if (ret < 0) {
		jprintf(o, "null");
	} else {
		jprintf(o, "[");
		for (int k = 0; k < n; k++)
			jprintf(o, "%s%d", k ? "," : "", status[k]);
		jprintf(o, "]");
	}
	jprintf(o, ",\"pfns\":[");
	for (int k = 0; k < n; k++) {
		pfn[k] = pfn_of(addrs[k]);
		jprintf(o, "%s%llu", k ? "," : "", (unsigned long long)pfn[k]);
	}
	jprintf(o, "],\"pfn_changed\":[");
	int p = st->proc;
	for (int k = 0; k < n; k++) {
		uint64_t before = r->last_pfn[p][idx[k]];
		if (!r->have_pfn[p] || !before || !pfn[k])
			jprintf(o, "%snull", k ? "," : "");
		else
			jprintf(o, "%s%s", k ? "," : "", before != pfn[k] ? "true" : "false");
	}
	jprintf(o, "]");
	for (int k = 0; k < n; k++)
		r->last_pfn[p][idx[k]] = pfn[k];
	r->have_pfn[p] = 1;
}

/*
 * move: move_pages(2) of the selected pages to one node.  The status array is
 * pre-filled with NOT_WRITTEN, so we can tell (and report as null) when the
 * kernel returned an error without writing it.
 */
static void do_move(const struct step *st, struct region *r, struct jbuf *o)
{
	void *addrs[MAX_PAGES];
	int nodes[MAX_PAGES], status[MAX_PAGES], n = 0;
	for (int i = 0; i < r->npages; i++)
		if (selected(st, i)) {
			nodes[n] = st->node;
			status[n] = NOT_WRITTEN;
			addrs[n++] = r->base + i * PS;
		}
	long before = vmstat("pgmigrate_success");
	long ret = move_pages_self(n, addrs, nodes, status, st->flags);
	long after = vmstat("pgmigrate_success");
	int written = 0;
	for (int k = 0; k < n; k++)
		written |= status[k] != NOT_WRITTEN;
	jprintf(o, ",\"ret\":%ld,\"status\":", ret);
	if (!written) {
		jprintf(o, "null");
	} else {
		jprintf(o, "[");
		for (int k = 0; k < n; k++) {
			if (status[k] == NOT_WRITTEN)
				jprintf(o, "%snull", k ? "," : "");
			else
				jprintf(o, "%s%d", k ? "," : "", status[k]);
		}
		jprintf(o, "]");
	}
	jprintf(o, ",\"pgmigrate_success\":%ld", after - before);
}

/* migrate: migrate_pages(2) of this whole process; returns pages not moved. */
static void do_migrate(const struct step *st, struct jbuf *o)
{
	unsigned long from[2] = { st->from, 0 }, to[2] = { st->to, 0 };
	long before = vmstat("pgmigrate_success");
	long ret = syscall(SYS_migrate_pages, 0, 8 * sizeof(from), from, to);
	if (ret < 0)
		ret = -errno;
	jprintf(o, ",\"ret\":%ld,\"pgmigrate_success\":%ld", ret,
		vmstat("pgmigrate_success") - before);
}

/* mbind: bind the region to one node and move its existing pages there. */
static void do_mbind(const struct step *st, struct region *r, struct jbuf *o)
{
	unsigned long mask[2] = { 1UL << st->node, 0 };
	long before = vmstat("pgmigrate_success");
	long ret = syscall(SYS_mbind, r->base, (unsigned long)r->npages * PS, MPOL_BIND,
			   mask, 8 * sizeof(mask), st->flags);
	if (ret < 0)
		ret = -errno;
	jprintf(o, ",\"ret\":%ld,\"pgmigrate_success\":%ld", ret,
		vmstat("pgmigrate_success") - before);
}

/*
 * trace: print the set_migration_pte / remove_migration_pte events that hit
 * this region's pages since the last trace step, then clear the buffer.
 * Each event is one pte of one mapping; lab.py counts them per page.
 */
static void do_trace(int stepno, struct region *r, struct jbuf *o)
{
	char line[512];
	int n = 0;
	unsigned long lo = (unsigned long)r->base, hi = lo + (unsigned long)r->npages * PS;
	FILE *f = fopen(TRACING "/trace", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *a = strstr(line, " addr=");
			if (line[0] == '#' || !a ||
			    (!strstr(line, "set_migration_pte:") &&
			     !strstr(line, "remove_migration_pte:")))
				continue;
			unsigned long addr = strtoul(a + 6, NULL, 16);
			if (addr < lo || addr >= hi)
				continue;
			line[strcspn(line, "\n")] = 0;
			emit("@@TRACE %s %d %s", cur->id, stepno, line);
			n++;
		}
		fclose(f);
	}
	trace_clear();
	json_region(o, r);
	jprintf(o, ",\"events\":%d,\"tracing\":%s", n, f ? "true" : "false");
}

/*
 * race: a reader thread on CPU 1 keeps reading the page while this thread
 * (CPU 0) moves it back and forth between the nodes.  A reader that touches
 * the page while its pte holds a migration entry waits in
 * __migration_entry_wait (counted by the kprobe) and must then read the
 * same data from the new page: bad_reads must stay 0.
 */
struct race {
	volatile uint8_t *page;
	int tag;
	volatile int stop, started;
	long loops, bad;
};

static void *race_reader(void *arg)
{
	struct race *rc = arg;
	pin_to_cpu(1);
	rc->started = 1;
	while (!rc->stop) {
		for (int j = 0; j < PS; j += 512)
			if (rc->page[j] != pattern(rc->tag, 0, j))
				rc->bad++;
		rc->loops++;
	}
	return NULL;
}

static void do_race(const struct step *st, struct region *r, struct jbuf *o)
{
	struct race rc = { .page = (uint8_t *)r->base, .tag = 0 };
	/* The region was filled with one tag; recover it from the first byte. */
	for (int t = 0; t < 256; t++)
		if (pattern(t, 0, 0) == r->base[0]) {
			rc.tag = t;
			break;
		}
	int other[8], nother = 0;
	long moved = 0;
	long waits0 = kprobe_hits();
	struct timespec t0, t1;
	pthread_t th;
	if (pthread_create(&th, NULL, race_reader, &rc))
		die("pthread_create");
	while (!rc.started)
		sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < st->iterations; i++) {
		void *addr = r->base;
		int node = (i % 2 == 0) ? 1 : 0, status = NOT_WRITTEN;
		move_pages_self(1, &addr, &node, &status, MPOL_MF_MOVE);
		if (status == node) {
			moved++;
		} else {
			int seen = 0;
			for (int k = 0; k < nother; k++)
				seen |= other[k] == status;
			if (!seen && nother < 8)
				other[nother++] = status;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc.stop = 1;
	pthread_join(th, NULL);
	long waits1 = kprobe_hits();
	jprintf(o, ",\"iterations\":%d,\"moved\":%ld,\"other_status\":[", st->iterations, moved);
	for (int k = 0; k < nother; k++)
		jprintf(o, "%s%d", k ? "," : "", other[k]);
	jprintf(o, "],\"bad_reads\":%ld,\"reader_loops\":%ld,\"waits\":%ld,\"elapsed_ms\":%ld",
		rc.bad, rc.loops, (waits0 < 0 || waits1 < 0) ? -1 : waits1 - waits0,
		(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	trace_clear();   /* thousands of events: not kept */
}

/*
 * pin: vmsplice() the selected pages into a pipe.  The pipe buffers hold a
 * reference on each page (no mapping), so the page count no longer matches
 * what migration expects: every attempt fails with -EAGAIN until unpin closes
 * the pipe.  This is how move_pages(2) reports pages that could not be moved.
 */
static void do_pin(const struct step *st, struct region *r, struct jbuf *o)
{
	struct iovec iov[MAX_PAGES];
	int n = 0;
	if (pipe(r->pipe_fd))
		die("pipe");
	for (int i = 0; i < r->npages; i++)
		if (selected(st, i)) {
			iov[n].iov_base = r->base + i * PS;
			iov[n++].iov_len = PS;
		}
	long ret = vmsplice(r->pipe_fd[1], iov, n, 0);
	jprintf(o, ",\"ret\":%ld", ret < 0 ? -errno : ret);
}

static void do_unpin(struct region *r)
{
	close(r->pipe_fd[0]);
	close(r->pipe_fd[1]);
}

/* Run one step in this process and describe what happened as JSON members. */
static void exec_step(int stepno, struct jbuf *o)
{
	const struct step *st = &steps[cur->first + stepno];
	struct region *r = st->region >= 0 ? &regions[st->region] : NULL;
	switch (st->op) {
	case OP_MAP:     do_map(st, r, o); break;
	case OP_FILL:
	case OP_WRITE:   do_fill(st, r); break;
	case OP_READ:    do_read(r, o); break;
	case OP_CHECK:   do_check(st, r, o); break;
	case OP_MUNMAP:  do_munmap(st, r); break;
	case OP_WHERE:   do_where(st, r, o); break;
	case OP_MOVE:    do_move(st, r, o); break;
	case OP_MIGRATE: do_migrate(st, o); break;
	case OP_MBIND:   do_mbind(st, r, o); break;
	case OP_TRACE:   do_trace(stepno, r, o); break;
	case OP_RACE:    do_race(st, r, o); break;
	case OP_PIN:     do_pin(st, r, o); break;
	case OP_UNPIN:   do_unpin(r); break;
	}
}

/* ---- the child (proc 1): runs the steps its parent sends it ----------- */

static void child_loop(int cmd_fd, int reply_fd)
{
	static struct jbuf o;
	int stepno;
	while (read(cmd_fd, &stepno, sizeof(stepno)) == sizeof(stepno)) {
		o.n = 0;
		o.s[0] = 0;
		if (steps[cur->first + stepno].op != OP_EXIT)
			exec_step(stepno, &o);
		uint32_t len = o.n;
		if (write(reply_fd, &len, sizeof(len)) != sizeof(len) ||
		    write(reply_fd, o.s, len) != (ssize_t)len)
			_exit(4);
		if (steps[cur->first + stepno].op == OP_EXIT)
			_exit(0);
	}
	_exit(0);
}

static void do_fork(void)
{
	int cmd[2], reply[2];
	if (pipe(cmd) || pipe(reply))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(cmd[1]);
		close(reply[0]);
		child_loop(cmd[0], reply[1]);
	}
	close(cmd[0]);
	close(reply[1]);
	to_child = cmd[1];
	from_child = reply[0];
}

/* Ask the child to run one step; append its JSON members to o. */
static void in_child(int stepno, struct jbuf *o)
{
	uint32_t len;
	char buf[1 << 15];
	if (child < 0) {
		jprintf(o, ",\"error\":\"no child\"");
		return;
	}
	if (write(to_child, &stepno, sizeof(stepno)) != sizeof(stepno) ||
	    read(from_child, &len, sizeof(len)) != sizeof(len) || len >= sizeof(buf)) {
		jprintf(o, ",\"error\":\"child did not answer\"");
		return;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t k = read(from_child, buf + got, len - got);
		if (k <= 0)
			break;
		got += k;
	}
	buf[got] = 0;
	jprintf(o, "%s", buf);
	if (steps[cur->first + stepno].op == OP_EXIT) {
		waitpid(child, NULL, 0);
		child = -1;
	}
}

static const char *op_name(int op)
{
	static const char *names[] = { "map", "fill", "read", "write", "check", "fork",
		"exit", "munmap", "where", "move", "migrate", "mbind", "trace", "race", "pin", "unpin" };
	return names[op];
}

/* Run one scenario in this (freshly forked) process and print its result line. */
static void run_scenario(const struct scenario *sc)
{
	static struct jbuf o;
	cur = sc;
	emit("@@SCENARIO %s", sc->id);
	trace_clear();
	jprintf(&o, "{\"scenario\":\"%s\",\"steps\":[", sc->id);
	for (int k = 0; k < sc->nsteps; k++) {
		const struct step *st = &steps[sc->first + k];
		jprintf(&o, "%s{\"step\":%d,\"op\":\"%s\",\"proc\":%d", k ? "," : "", k,
			op_name(st->op), st->proc);
		if (st->op == OP_FORK)
			do_fork();
		else if (st->proc == 1 || st->op == OP_EXIT)
			in_child(k, &o);
		else
			exec_step(k, &o);
		jprintf(&o, "}");
	}
	jprintf(&o, "]}");
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	emit("@@RESULT %s", o.s);
}

int main(void)
{
	guard();
	/* CPU 0 is node 0: every page a scenario allocates starts on node 0. */
	pin_to_cpu(0);
	for (int s = 0; s < N_SCENARIOS; s++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			run_scenario(&scenarios[s]);
			_exit(0);
		}
		int wst = 0;
		waitpid(pid, &wst, 0);
		if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
			emit("@@RESULT {\"scenario\":\"%s\",\"error\":\"runner ended with wait status %d\"}",
			     scenarios[s].id, wst);
	}
	emit("@@DONE %d", N_SCENARIOS);
	return 0;
}
