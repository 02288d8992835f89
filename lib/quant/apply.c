/*
 * Writing the plan out.  The header fixes every tensor's offset up front,
 * so worker threads quantize chunks of rows and pwrite each where it
 * belongs; memory is a few chunks per thread whatever the model's size.
 * The file is built under a temporary name beside OUT and renamed over it
 * only when complete and on disk: an interrupted or failed run leaves
 * what was there before.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quant.h"
#include "plan.h"

#define CHUNK_BYTES (8u << 20) /* of input, per job */

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* The output's metadata: the input's, with general.file_type and
 * general.quantization_version set when a tensor is converted, as it is
 * otherwise.  Values point into the input and into store. */
static int out_kvs(const struct gguf *g, uint32_t ftype, int converted, uint8_t store[8],
		   struct gguf_out_kv **kvp, uint64_t *nkvp, struct gb_err *err)
{
	static const char *const keys[2] = { "general.file_type", "general.quantization_version" };
	struct gguf_out_kv *kv = calloc(g->n_kv + 2, sizeof(*kv));
	int seen[2] = { 0, 0 };
	uint64_t n = 0;

	if (!kv)
		return gb_err_set(err, "out of memory");
	put_u32(store, ftype);
	put_u32(store + 4, GQ_QNT_VERSION);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *in = &g->kv[i];
		int k = !converted ? -1 : !strcmp(in->key, keys[0]) ? 0 : !strcmp(in->key, keys[1]) ? 1 : -1;

		kv[n].key = in->key;
		if (k >= 0) {
			kv[n].type = GGUF_T_U32;
			kv[n].raw = store + 4 * k;
			kv[n].raw_len = 4;
			seen[k] = 1;
		} else {
			kv[n].type = in->type;
			kv[n].raw = in->raw;
			kv[n].raw_len = in->raw_len;
		}
		n++;
	}
	for (int k = 0; k < 2 && converted; k++)
		if (!seen[k]) {
			kv[n].key = keys[k];
			kv[n].type = GGUF_T_U32;
			kv[n].raw = store + 4 * k;
			kv[n].raw_len = 4;
			n++;
		}
	*kvp = kv;
	*nkvp = n;
	return 0;
}

int gq_plan_header(const struct gq_plan *p, int converted, struct gguf_out_tensor **otp,
		   uint8_t **hdrp, uint64_t *hdr_len, uint64_t *fsize, struct gb_err *err)
{
	struct gguf_out_tensor *ot = calloc(p->n + 1, sizeof(*ot));
	struct gguf_out_kv *kv = NULL;
	uint8_t store[8], *hdr;
	uint64_t nkv = 0;
	int ret;

	if (!ot)
		return gb_err_set(err, "out of memory");
	if (out_kvs(p->g, gq_plan_ftype(p), converted, store, &kv, &nkv, err) < 0) {
		free(ot);
		return -1;
	}
	for (uint64_t i = 0; i < p->n; i++) {
		const struct gq_item *it = &p->item[i];

		ot[i].name = it->t->name;
		ot[i].ndim = it->t->ndim;
		memcpy(ot[i].ne, it->t->ne, sizeof(ot[i].ne));
		ot[i].type = it->choice[it->pick].type;
		ot[i].nbytes = it->choice[it->pick].nbytes;
	}
	ret = gguf_build_header(kv, nkv, ot, p->n, p->g->alignment, &hdr, hdr_len, fsize, err);
	free(kv);
	if (ret == 0 && hdrp)
		*hdrp = hdr;
	else if (ret == 0)
		free(hdr);
	if (ret == 0 && otp)
		*otp = ot;
	else
		free(ot);
	return ret;
}

/* ---- removing the temporary file when a signal ends the run ---- */

static char tmp_path[4096];
static volatile sig_atomic_t tmp_live;
static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
static struct sigaction old_sa[4], old_xfsz;

static void on_signal(int sig)
{
	if (tmp_live)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Signals that would end the run remove the temporary file first; one the
 * caller ignores (nohup, a background job) stays ignored.  A file size
 * limit becomes EFBIG from the write, and so an ordinary error. */
static void guard(int on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 4; i++) {
		if (!on) {
			sigaction(caught[i], &old_sa[i], NULL);
			continue;
		}
		sigaction(caught[i], NULL, &old_sa[i]);
		if (old_sa[i].sa_handler != SIG_IGN)
			sigaction(caught[i], &sa, NULL);
	}
	if (on) {
		struct sigaction ign;

		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		sigaction(SIGXFSZ, &ign, &old_xfsz);
	} else {
		sigaction(SIGXFSZ, &old_xfsz, NULL);
		tmp_live = 0;
	}
}

/* ---- the workers ---- */

struct job {
	uint64_t item, row, rows;
};

struct work {
	const struct gq_plan *p;
	const uint64_t *data_off; /* of each tensor in OUT */
	int fd;
	struct job *job;
	uint64_t njob;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t next, finished, done_bytes;
	const char *current;
	int err_no;               /* first write error */
	int oom;
};

static int write_all(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *b = buf;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= w;
		off += w;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct work *w = arg;
	float *x = NULL;
	uint8_t *out = NULL;
	size_t xcap = 0, ocap = 0;

	for (;;) {
		const struct job *j;
		const struct gq_item *it;
		const struct gguf_tensor *t;
		uint32_t dst;
		uint64_t ne0, srow, drow, inbytes;
		int e = 0;

		pthread_mutex_lock(&w->lock);
		if (w->err_no || w->oom || w->next >= w->njob) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		j = &w->job[w->next++];
		it = &w->p->item[j->item];
		w->current = it->t->name;
		pthread_mutex_unlock(&w->lock);

		t = it->t;
		dst = it->choice[it->pick].type;
		ne0 = t->ne[0];
		gq_nbytes(it->src, ne0, &srow);
		gq_nbytes(dst, ne0, &drow);
		inbytes = j->rows * srow;
		if (dst == it->src) {
			/* kept: the input's bytes as they are */
			if (write_all(w->fd, t->data + j->row * srow, inbytes,
				      w->data_off[j->item] + j->row * drow) < 0)
				e = errno;
		} else {
			if (ne0 > xcap) {
				free(x);
				xcap = ne0;
				x = malloc(xcap * sizeof(float));
			}
			if (j->rows * drow > ocap) {
				free(out);
				ocap = j->rows * drow;
				out = malloc(ocap);
			}
			if (!x || !out) {
				pthread_mutex_lock(&w->lock);
				w->oom = 1;
				pthread_mutex_unlock(&w->lock);
				xcap = ocap = 0;
				break;
			}
			for (uint64_t r = 0; r < j->rows; r++) {
				gq_dequantize(it->src, t->data + (j->row + r) * srow, x, ne0);
				gq_quantize(dst, x, out + r * drow, ne0);
			}
			if (write_all(w->fd, out, j->rows * drow, w->data_off[j->item] + j->row * drow) < 0)
				e = errno;
		}
		pthread_mutex_lock(&w->lock);
		if (e && !w->err_no)
			w->err_no = e;
		w->done_bytes += inbytes;
		w->finished++;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	free(x);
	free(out);
	pthread_mutex_lock(&w->lock);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int make_jobs(struct work *w)
{
	const struct gq_plan *p = w->p;
	uint64_t n = 0, k = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < p->n; i++) {
			const struct gguf_tensor *t = p->item[i].t;
			uint64_t srow, rows = t->nelem / t->ne[0], per;

			gq_nbytes(t->type, t->ne[0], &srow);
			per = srow >= CHUNK_BYTES ? 1 : CHUNK_BYTES / srow;
			for (uint64_t r = 0; r < rows; r += per) {
				if (pass == 1)
					w->job[k++] = (struct job){ i, r, rows - r < per ? rows - r : per };
				else
					n++;
			}
		}
		if (pass == 0) {
			w->job = calloc(n + 1, sizeof(*w->job));
			if (!w->job)
				return -1;
			w->njob = n;
		}
	}
	return 0;
}

static int open_tmp(const char *out, struct gb_err *err)
{
	char dir[4096], base[4096];
	struct stat st;
	mode_t mask, mode;
	int fd;

	if (strlen(out) >= sizeof(dir) - 32)
		return gb_err_set(err, "%s: name too long", out);
	strcpy(dir, out);
	strcpy(base, out);
	snprintf(tmp_path, sizeof(tmp_path), "%s/.%s.gb-quant-XXXXXX", dirname(dir), basename(base));
	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0)
		return gb_err_set(err, "unable to create a file beside %s: %s", out, strerror(errno));
	tmp_live = 1;
	/* an OUT being replaced keeps its mode; a new one gets the umask's */
	if (stat(out, &st) == 0) {
		mode = st.st_mode & 07777;
	} else {
		mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (fchmod(fd, mode) < 0) {
		gb_err_set(err, "unable to set the mode of %s: %s", tmp_path, strerror(errno));
		unlink(tmp_path);
		tmp_live = 0;
		close(fd);
		return -1;
	}
	return fd;
}

int gq_apply(const struct gq_plan *p, const char *out, int threads,
	     void (*progress)(const struct gq_progress *), struct gb_err *err)
{
	const struct gguf *g = p->g;
	struct work w = { .p = p, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct gguf_out_tensor *ot = NULL;
	uint64_t *data_off = calloc(p->n + 1, sizeof(*data_off));
	uint64_t hdr_len, fsize, total = 0;
	uint8_t *hdr = NULL;
	pthread_t tid[256];
	int nt = threads < 1 ? 1 : threads > 256 ? 256 : threads, started = 0, fd = -1, ret = -1, rc;
	char dir[4096];

	if (!data_off) {
		gb_err_set(err, "out of memory");
		goto out;
	}
	if (gq_plan_header(p, gq_plan_converts(p), &ot, &hdr, &hdr_len, &fsize, err) < 0)
		goto out;
	for (uint64_t i = 0; i < p->n; i++)
		total += p->item[i].t->nbytes;
	if (fsize != gq_plan_size(p)) {
		gb_err_set(err, "internal error: the plan makes %" PRIu64 " bytes, the header %" PRIu64,
			   gq_plan_size(p), fsize);
		goto out;
	}
	for (uint64_t i = 0; i < p->n; i++)
		data_off[i] = hdr_len + ot[i].offset;
	w.data_off = data_off;
	if (make_jobs(&w) < 0) {
		gb_err_set(err, "out of memory");
		goto out;
	}

	guard(1);
	fd = open_tmp(out, err);
	if (fd < 0)
		goto out_guard;
	/* claim the space first: a full disk is an error now, not a
	 * truncated file later */
	rc = posix_fallocate(fd, 0, fsize);
	if (rc == EOPNOTSUPP || rc == EINVAL)
		rc = ftruncate(fd, fsize) < 0 ? errno : 0;
	if (rc) {
		gb_err_set(err, "unable to make room for %s (%" PRIu64 " bytes): %s", out, fsize, strerror(rc));
		goto out_unlink;
	}
	if (write_all(fd, hdr, hdr_len, 0) < 0) {
		gb_err_set(err, "unable to write %s: %s", out, strerror(errno));
		goto out_unlink;
	}
	w.fd = fd;
	madvise((void *)g->base, g->size, MADV_SEQUENTIAL);

	/* with progress, this thread reports while nt others work */
	for (int i = progress ? 0 : 1; i < nt; i++) {
		if (pthread_create(&tid[started], NULL, worker, &w))
			break;
		started++;
	}
	if (progress) {
		if (!started)
			worker(&w);
		for (;;) {
			struct gq_progress pr;
			struct timespec ts;
			int end;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&w.lock);
			pthread_cond_timedwait(&w.cond, &w.lock, &ts);
			pr = (struct gq_progress){ w.done_bytes, total, w.current };
			end = w.finished == w.njob || w.err_no || w.oom;
			pthread_mutex_unlock(&w.lock);
			if (end)
				break;
			progress(&pr);
		}
	} else {
		worker(&w);
	}
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (w.oom) {
		gb_err_set(err, "out of memory writing %s", out);
		goto out_unlink;
	}
	if (w.err_no) {
		gb_err_set(err, "unable to write %s: %s", out, strerror(w.err_no));
		goto out_unlink;
	}
	if (progress) {
		struct gq_progress pr = { total, total, NULL };
		progress(&pr);
	}
	if (fsync(fd) < 0) {
		gb_err_set(err, "unable to write %s: %s", out, strerror(errno));
		goto out_unlink;
	}
	if (rename(tmp_path, out) < 0) {
		gb_err_set(err, "unable to rename %s to %s: %s", tmp_path, out, strerror(errno));
		goto out_unlink;
	}
	tmp_live = 0;
	/* the rename itself on disk */
	strcpy(dir, tmp_path);
	{
		int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	ret = 0;
	goto out_close;
out_unlink:
	unlink(tmp_path);
out_close:
	close(fd);
out_guard:
	guard(0);
out:
	free(w.job);
	free(hdr);
	free(ot);
	free(data_off);
	return ret;
}
