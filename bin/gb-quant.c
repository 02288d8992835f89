/*
 * gb-quant: quantize a GGUF model just enough to fit a byte budget.
 *
 *   inspect MODEL      tensors, types, metadata
 *   plan   MODEL       the type of every tensor, its bytes and its error
 *   apply  IN OUT      write the model in those types
 *
 * The plan is text: `gb-quant plan ... | gb-quant apply --plan - IN OUT`.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gb.h"
#include "quant/quant.h"
#include "quant/plan.h"
#include "quant/inspect.h"

#define EXIT_REJECTED 1 /* the model, the plan or the budget will not do */
#define DEFAULT_CONTEXT 4096
#define DEFAULT_RESERVE (768ULL << 20)
#define PLAN_MAX (64u << 20)

static void usage_line(FILE *f)
{
	fprintf(f, "usage: gb-quant inspect MODEL.gguf\n"
		   "       gb-quant plan (--budget size | --vram size [--context n] [--reserve size])\n"
		   "                     [-j n] [--allow-requantize] MODEL.gguf\n"
		   "       gb-quant apply (--budget size | --vram size [...] | --plan file | -)\n"
		   "                      [-j n] [-q] [--allow-requantize] IN.gguf OUT.gguf\n");
}

static void __attribute__((noreturn)) help(void)
{
	usage_line(stdout);
	printf("\nQuantize a GGUF model per tensor, choosing for each the highest precision\n"
	       "that still fits a byte budget; write a file llama.cpp and Ollama load as is.\n\n"
	       "  inspect               metadata and tensors, one record a line\n"
	       "  plan                  each tensor's type, bytes and measured error; totals\n"
	       "  apply                 write OUT (a temporary file renamed when complete)\n\n"
	       "  --budget SIZE         the output file's size limit: 11G, 10.5G, 9000M\n"
	       "  --vram SIZE           the card's memory: the budget is what is left of it after\n"
	       "                        the KV cache for --context tokens and --reserve\n"
	       "  --context N           tokens of KV cache to leave room for (default %d)\n"
	       "  --reserve SIZE        CUDA context and compute buffers (default 768M)\n"
	       "  --plan FILE | -       apply this plan (from gb-quant plan, edited or not)\n"
	       "  --allow-requantize    accept inputs that are already quantized\n"
	       "  -j, --threads N       worker threads (default: the CPUs available)\n"
	       "  -q, --quiet           no progress and no summary\n"
	       "  -h, --help            this text\n"
	       "  -V, --version         print the version\n\n"
	       "Types: keep (f32/f16/bf16 as in the input), q8_0, q6_K, q5_K, q4_K.\n"
	       "Exit status: 0 done; 1 the model, plan or budget was rejected; 100 usage;\n"
	       "111 system error.  See gb-quant(1).\n", DEFAULT_CONTEXT);
	exit(0);
}

struct opts {
	uint64_t budget, vram, reserve;
	uint64_t context;
	const char *plan;
	int threads, quiet, allow_requant;
	int have_context;
};

static uint64_t size_arg(const char *opt, const char *s)
{
	const char *why;
	uint64_t v;

	if (gb_size_parse(s, &v, &why) < 0)
		gb_die_usage("%s %s: %s (a size like 11G or 10.5G)", opt, s, why);
	if (!v)
		gb_die_usage("%s %s: must be more than 0", opt, s);
	return v;
}

static uint64_t count_arg(const char *opt, const char *s, uint64_t max)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || e == s || *e || *s == '-' || v < 1 || v > max)
		gb_die_usage("%s %s: a whole number from 1 to %" PRIu64, opt, s, max);
	return v;
}

static int parse(int argc, char **argv, struct opts *o, int nargs)
{
	enum { O_BUDGET = 1000, O_VRAM, O_CONTEXT, O_RESERVE, O_PLAN, O_REQUANT };
	static const struct option lo[] = {
		{ "budget", required_argument, NULL, O_BUDGET },
		{ "vram", required_argument, NULL, O_VRAM },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "reserve", required_argument, NULL, O_RESERVE },
		{ "plan", required_argument, NULL, O_PLAN },
		{ "allow-requantize", no_argument, NULL, O_REQUANT },
		{ "threads", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	int c;

	/* the CPUs this process may run on, under taskset or a cgroup too */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		ncpu = CPU_COUNT(&set);
	memset(o, 0, sizeof(*o));
	o->context = DEFAULT_CONTEXT;
	o->reserve = DEFAULT_RESERVE;
	o->threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:qhV", lo, NULL)) != -1) {
		switch (c) {
		case O_BUDGET: o->budget = size_arg("--budget", optarg); break;
		case O_VRAM: o->vram = size_arg("--vram", optarg); break;
		case O_CONTEXT:
			o->context = count_arg("--context", optarg, 1u << 24);
			o->have_context = 1;
			break;
		case O_RESERVE: o->reserve = size_arg("--reserve", optarg); break;
		case O_PLAN: o->plan = optarg; break;
		case O_REQUANT: o->allow_requant = 1; break;
		case 'j': o->threads = count_arg("-j", optarg, 256); break;
		case 'q': o->quiet = 1; break;
		case 'h': help();
		case 'V':
			printf("gb-quant %s\n", GB_VERSION);
			exit(0);
		default:
			usage_line(stderr);
			if (optopt && strchr("j", optopt))
				gb_die_usage("-%c needs an argument", optopt);
			gb_die_usage("%s: unknown option %s, or one missing its argument", argv[0], argv[optind - 1]);
		}
	}
	if (argc - optind != nargs) {
		usage_line(stderr);
		gb_die_usage("%s takes %s", argv[0], nargs == 1 ? "one model" : "IN.gguf and OUT.gguf");
	}
	if (o->plan && (o->budget || o->vram))
		gb_die_usage("--plan excludes --budget and --vram: the plan fixes every type");
	if (!o->plan && !o->budget && !o->vram)
		gb_die_usage("%s needs --budget SIZE or --vram SIZE%s", argv[0],
			     nargs == 2 ? " or --plan FILE" : "");
	if ((o->have_context || o->reserve != DEFAULT_RESERVE) && !o->vram)
		gb_die_usage("--context and --reserve go with --vram");
	return optind;
}

static void open_model(struct gguf *g, const char *path)
{
	struct gb_err err;

	if (gguf_open(g, path, &err) < 0)
		gb_die(EXIT_REJECTED, "%s", err.msg);
}

static int get_u(const struct gguf *g, const char *arch, const char *key, uint64_t *v)
{
	char k[256];

	snprintf(k, sizeof(k), "%s.%s", arch, key);
	return gguf_kv_uint(gguf_get(g, k), v);
}

/* --vram: what is left of the card for the weights */
static uint64_t vram_budget(const struct gguf *g, const struct opts *o, char *why, size_t n)
{
	uint64_t layers, heads, kv_heads, dim, klen, vlen, kv, ctx = o->context;
	const char *s;
	uint64_t len;
	char arch[64], a[32], b[32], c[32];

	if (gguf_kv_str(gguf_get(g, "general.architecture"), &s, &len) < 0 || !len || len >= sizeof(arch))
		gb_die(EXIT_REJECTED, "--vram: the model has no general.architecture to size its KV cache by");
	memcpy(arch, s, len);
	arch[len] = 0;
	if (get_u(g, arch, "block_count", &layers) < 0 || get_u(g, arch, "attention.head_count", &heads) < 0 ||
	    get_u(g, arch, "embedding_length", &dim) < 0 || !heads)
		gb_die(EXIT_REJECTED, "--vram: the model lacks %s.block_count, .attention.head_count or "
		       ".embedding_length (use --budget)", arch);
	if (get_u(g, arch, "attention.head_count_kv", &kv_heads) < 0)
		kv_heads = heads;
	if (get_u(g, arch, "attention.key_length", &klen) < 0)
		klen = dim / heads;
	if (get_u(g, arch, "attention.value_length", &vlen) < 0)
		vlen = dim / heads;
	/* f16 K and V for every layer and token, as llama.cpp allocates them;
	 * metadata that makes it overflow leaves nothing, like a huge cache */
	if (__builtin_mul_overflow(layers, ctx, &kv) || __builtin_mul_overflow(kv, kv_heads, &kv) ||
	    __builtin_add_overflow(klen, vlen, &klen) || __builtin_mul_overflow(kv, klen, &kv) ||
	    __builtin_mul_overflow(kv, 2, &kv) || kv > UINT64_MAX - o->reserve)
		kv = UINT64_MAX - o->reserve;
	if (kv + o->reserve >= o->vram)
		gb_die(EXIT_REJECTED, "--vram %s: the KV cache for %" PRIu64 " tokens (%s) and the reserve (%s) "
		       "leave nothing for the weights", gb_size_str(o->vram, a, sizeof(a)), ctx,
		       gb_size_str(kv, b, sizeof(b)), gb_size_str(o->reserve, c, sizeof(c)));
	snprintf(why, n, "vram %s less KV cache for %" PRIu64 " tokens %s, reserve %s",
		 gb_size_str(o->vram, a, sizeof(a)), ctx, gb_size_str(kv, b, sizeof(b)),
		 gb_size_str(o->reserve, c, sizeof(c)));
	return o->vram - kv - o->reserve;
}

static uint64_t budget_of(const struct gguf *g, const struct opts *o, char *why, size_t n)
{
	uint64_t b = o->budget ? o->budget : UINT64_MAX;

	why[0] = 0;
	if (o->vram) {
		uint64_t v = vram_budget(g, o, why, n);
		if (v < b)
			b = v;
		else
			snprintf(why, n, "--budget");
	}
	return b;
}

static void make_plan(struct gq_plan *p, const struct gguf *g, const struct opts *o, uint64_t budget)
{
	struct gb_err err;

	if (gq_plan_init(p, g, o->allow_requant, &err) < 0)
		gb_die(EXIT_REJECTED, "%s", err.msg);
	/* nothing to measure, nor to solve, when it fits as it is */
	if (gq_plan_keep_size(p) <= budget)
		return;
	if (gq_plan_measure(p, o->threads, &err) < 0)
		gb_die(GB_EXIT_SYS, "%s", err.msg);
	if (gq_plan_solve(p, budget, &err) < 0)
		gb_die(EXIT_REJECTED, "%s", err.msg);
}

static int cmd_inspect(int argc, char **argv)
{
	struct gguf g;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "hV")) != -1) {
		if (c == 'h')
			help();
		if (c == 'V') {
			printf("gb-quant %s\n", GB_VERSION);
			exit(0);
		}
		usage_line(stderr);
		gb_die_usage("inspect: unknown option %s", argv[optind - 1]);
	}
	if (argc - optind != 1) {
		usage_line(stderr);
		gb_die_usage("inspect takes one model");
	}
	open_model(&g, argv[optind]);
	gq_inspect(&g, argv[optind], stdout);
	gguf_free(&g);
	return 0;
}

static int cmd_plan(int argc, char **argv)
{
	struct opts o;
	struct gguf g;
	struct gq_plan p;
	uint64_t budget;
	char why[256];
	int i = parse(argc, argv, &o, 1);

	if (o.plan)
		gb_die_usage("plan makes a plan: --plan goes with apply");
	open_model(&g, argv[i]);
	budget = budget_of(&g, &o, why, sizeof(why));
	make_plan(&p, &g, &o, budget);
	if (why[0])
		printf("# budget from %s\n", why);
	gq_plan_print(&p, stdout, argv[i], budget);
	if (fflush(stdout) || ferror(stdout))
		gb_die_errno(GB_EXIT_SYS, "unable to write the plan");
	gq_plan_free(&p);
	gguf_free(&g);
	return 0;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (!f)
		gb_die_errno(EXIT_REJECTED, "unable to open the plan %s", path);
	buf = malloc(cap);
	if (!buf)
		gb_die(GB_EXIT_SYS, "out of memory");
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			if (cap >= PLAN_MAX)
				gb_die(EXIT_REJECTED, "%s: a plan larger than %u MB", path, PLAN_MAX >> 20);
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				gb_die(GB_EXIT_SYS, "out of memory");
		}
	}
	if (ferror(f))
		gb_die_errno(GB_EXIT_SYS, "unable to read the plan %s", path);
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static double t0;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void show_progress(const struct gq_progress *pr)
{
	double dt = now() - t0;
	char a[32], b[32];

	fprintf(stderr, "\rgb-quant: %3.0f%%  %s of %s in, %.2f GB/s  %-40.40s", pr->total ? 100.0 * pr->done / pr->total : 100.0,
		gb_size_human(pr->done, a, sizeof(a)), gb_size_human(pr->total, b, sizeof(b)),
		dt > 0 ? pr->done / dt / 1e9 : 0.0, pr->current ? pr->current : "");
	if (pr->done == pr->total)
		fputc('\n', stderr);
}

static int cmd_apply(int argc, char **argv)
{
	struct opts o;
	struct gguf g;
	struct gq_plan p;
	struct gb_err err;
	struct stat si, so;
	uint64_t budget = 0;
	const char *in, *out;
	char why[256], a[32];
	int i = parse(argc, argv, &o, 2), nq = 0;
	double e;

	in = argv[i];
	out = argv[i + 1];
	if (!strcmp(out, "-"))
		gb_die_usage("OUT must be a file: gb-quant writes each tensor in place");
	open_model(&g, in);
	if (stat(in, &si) == 0 && stat(out, &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
		gb_die_usage("OUT is IN: write the quantized model to another file");
	/* OUT is replaced by a rename: only ever a regular file */
	if (lstat(out, &so) == 0 && !S_ISREG(so.st_mode))
		gb_die_usage("%s is %s: OUT must be a regular file or not exist yet", out,
			     S_ISLNK(so.st_mode) ? "a symbolic link (name its target)" :
			     S_ISDIR(so.st_mode) ? "a directory" : "not a regular file");
	if (o.plan) {
		size_t len;
		char *text = read_all(o.plan, &len);

		if (gq_plan_init(&p, &g, o.allow_requant, &err) < 0)
			gb_die(EXIT_REJECTED, "%s", err.msg);
		if (gq_plan_parse(&p, text, len, strcmp(o.plan, "-") ? o.plan : "standard input", &err) < 0)
			gb_die(EXIT_REJECTED, "%s", err.msg);
		free(text);
	} else {
		budget = budget_of(&g, &o, why, sizeof(why));
		make_plan(&p, &g, &o, budget);
	}
	t0 = now();
	if (gq_apply(&p, out, o.threads, !o.quiet && isatty(2) ? show_progress : NULL, &err) < 0)
		gb_die(GB_EXIT_SYS, "%s", err.msg);
	for (uint64_t k = 0; k < p.n; k++)
		nq += p.item[k].choice[p.item[k].pick].type != p.item[k].src;
	e = gq_plan_error(&p);
	if (!o.quiet) {
		fprintf(stderr, "gb-quant: wrote %s: %s (%" PRIu64 " bytes), %d of %" PRIu64 " tensors converted",
			out, gb_size_human(gq_plan_size(&p), a, sizeof(a)), gq_plan_size(&p), nq, p.n);
		if (e >= 0)
			fprintf(stderr, ", weighted error %.6f", e);
		fprintf(stderr, ", %.1f s\n", now() - t0);
	}
	gq_plan_free(&p);
	gguf_free(&g);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "inspect", cmd_inspect },
	{ "plan", cmd_plan },
	{ "apply", cmd_apply },
};

int main(int argc, char **argv)
{
	gb_log_setup("gb-quant", GB_LOG_WARN, -1);
	if (argc < 2) {
		usage_line(stderr);
		exit(GB_EXIT_USAGE);
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		help();
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("gb-quant %s\n", GB_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	gb_die_usage("unknown command %s (inspect, plan or apply)", argv[1]);
}
