// SPDX-License-Identifier: GPL-2.0
/*
 * greenboost.ko: a pool of pinned 2 MB pages, reserved when the module
 * loads (before memory fragments), handed out by /dev/greenboost as
 * buffers (greenboost.4).
 *
 * A buffer's mmap() is an ordinary page-backed mapping, filled by a fault
 * handler, so that get_user_pages and therefore cuMemHostRegister can pin
 * it (a VM_PFNMAP mapping made with remap_pfn_range cannot be pinned).  A
 * buffer can also be exported as a dma-buf for other devices.
 *
 * The pool is fixed: its pages are taken from the buddy allocator at load
 * and given back at unload, never in between.  A pool that grew on
 * demand would find memory fragmented exactly when it is needed, and a
 * shrinking one would hand 2 MB blocks back that nothing else can use.
 *
 * Each 2 MB block is split into independent 4 KB pages: every page then
 * has its own reference count, and a block goes back to the pool only
 * when no mapping, dma-buf user or pin (the NVIDIA driver's) still holds
 * any of its pages.  Until then it is "held", and a worker looks again.
 *
 * A buffer or the pool may be gigabytes: every loop over its blocks that
 * may sleep calls cond_resched() once a block (a kernel without
 * preemption would not stop it otherwise).  A new buffer is zeroed, and
 * a released one's pages looked at, holding no lock; the pool's spinlock
 * covers one buffer's pop from the free stack, one block's push back, or
 * a move of the held list, never a scan of pages.
 */
#include <linux/anon_inodes.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/workqueue.h>

#include "uapi/greenboost.h"

#define CHUNK_ORDER (GB_POOL_PAGE_SHIFT - PAGE_SHIFT)
#define CHUNK_PAGES (1UL << CHUNK_ORDER)
#define RECLAIM_MS 1000

static unsigned int pool_mb = 1024;
module_param(pool_mb, uint, 0444);
MODULE_PARM_DESC(pool_mb, "size of the pool in MiB, reserved at load (default 1024)");

static int pool_node = NUMA_NO_NODE;
module_param_named(numa_node, pool_node, int, 0444);
MODULE_PARM_DESC(numa_node, "NUMA node to take the pool from (default: any, -1)");

static unsigned int per_process_mb;
module_param(per_process_mb, uint, 0644);
MODULE_PARM_DESC(per_process_mb, "most MiB one open of /dev/greenboost may hold (default 0: no limit)");

static ushort dev_mode = 0660;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "permissions of /dev/greenboost (default 0660)");

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define gb_vm_flags_set(vma, f) vm_flags_set(vma, f)
#else
#define gb_vm_flags_set(vma, f) ((vma)->vm_flags |= (f))
#endif

/*
 * An open of /dev/greenboost.  Its buffers are charged to it from ALLOC
 * until their last reference goes (not at FREE: an fd or a mapping still
 * holds the blocks), so each buffer holds a reference to it, and it can
 * outlive its file.
 */
struct gb_owner {
	struct kref ref;          /* the open file, and each buffer charged to it */
	struct mutex lock;        /* ids */
	struct idr ids;           /* id -> buffer; each holds a reference */
	atomic64_t used;          /* bytes charged: its buffers not yet released */
};

struct gb_buf {
	struct kref ref;          /* the id, the fd, each mapping, each dma-buf */
	size_t size;
	unsigned long nchunks;
	struct gb_owner *owner;   /* charged for it until it is released */
	struct list_head held;    /* on pool.held while pages are still in use */
	struct page *chunks[];    /* first page of each 2 MB block */
};

static struct {
	spinlock_t lock;
	struct page **free;       /* a stack of blocks */
	unsigned long nfree, total, nheld;
	struct list_head held;
	atomic64_t allocs, frees, failed;
	atomic_t buffers;
	struct delayed_work reclaim;
} pool;

/* ---- openers and their charges ---- */

static void owner_release(struct kref *ref)
{
	struct gb_owner *o = container_of(ref, struct gb_owner, ref);

	mutex_destroy(&o->lock);
	kfree(o);
}

static void owner_put(struct gb_owner *o)
{
	kref_put(&o->ref, owner_release);
}

/* charge size bytes to o, unless that takes it past per_process_mb */
static bool owner_charge(struct gb_owner *o, u64 size)
{
	u64 cap = (u64)READ_ONCE(per_process_mb) << 20;
	s64 used = atomic64_read(&o->used);

	do {
		if (cap && ((u64)used > cap || size > cap - used))
			return false;
	} while (!atomic64_try_cmpxchg(&o->used, &used, used + size));
	return true;
}

static void owner_uncharge(struct gb_owner *o, u64 size)
{
	atomic64_sub(size, &o->used);
}

/* ---- blocks ---- */

static bool block_idle(struct page *first)
{
	unsigned long i;

	for (i = 0; i < CHUNK_PAGES; i++)
		if (page_count(first + i) != 1)
			return false;
	return true;
}

static void block_zero(struct page *first)
{
	unsigned long i;

	for (i = 0; i < CHUNK_PAGES; i++)
		clear_highpage(first + i);
}

static void block_free(struct page *first)
{
	unsigned long i;

	for (i = 0; i < CHUNK_PAGES; i++)
		__free_page(first + i);
}

/*
 * Give back the blocks of a released buffer that nothing uses any more;
 * true if it has none left.  The buffer is the caller's alone (released,
 * and on no list that anyone else walks), so its pages are looked at
 * without pool.lock, which is taken only to push one idle block.  Sleeps.
 */
static bool buf_give_back(struct gb_buf *buf)
{
	unsigned long i, left = 0;
	struct page *first;

	for (i = 0; i < buf->nchunks; i++) {
		first = buf->chunks[i];
		if (!first)
			continue;
		if (block_idle(first)) {
			buf->chunks[i] = NULL;
			spin_lock(&pool.lock);
			pool.free[pool.nfree++] = first;
			pool.nheld--;
			spin_unlock(&pool.lock);
		} else {
			left++;
		}
		cond_resched();
	}
	return left == 0;
}

/*
 * Look again at the held buffers.  They are moved to a list of the
 * worker's own first, so that pool.lock is not held while their pages are
 * looked at: buffers released meanwhile go on pool.held, for the next
 * pass, and the ones still held go back on it at the end.
 */
static void gb_reclaim(struct work_struct *w)
{
	LIST_HEAD(todo);
	LIST_HEAD(still);
	struct gb_buf *buf;
	bool again;

	spin_lock(&pool.lock);
	list_splice_init(&pool.held, &todo);
	spin_unlock(&pool.lock);
	while (!list_empty(&todo)) {
		buf = list_first_entry(&todo, struct gb_buf, held);
		list_del(&buf->held);
		if (buf_give_back(buf))
			kvfree(buf);
		else
			list_add_tail(&buf->held, &still);
	}
	spin_lock(&pool.lock);
	list_splice(&still, &pool.held);
	again = !list_empty(&pool.held);
	spin_unlock(&pool.lock);
	if (again)
		schedule_delayed_work(&pool.reclaim, msecs_to_jiffies(RECLAIM_MS));
}

/* the last fd, mapping, dma-buf and id are gone: the opener is charged
 * no more, and the blocks go back, or are held while pages are pinned.
 * Sleeps: it is called from munmap, close and the like, never under a
 * spinlock. */
static void gb_buf_release(struct kref *ref)
{
	struct gb_buf *buf = container_of(ref, struct gb_buf, ref);
	struct gb_owner *o = buf->owner;
	u64 size = buf->size;

	atomic_dec(&pool.buffers);
	atomic64_inc(&pool.frees);
	spin_lock(&pool.lock);
	pool.nheld += buf->nchunks;
	spin_unlock(&pool.lock);
	if (buf_give_back(buf)) {
		kvfree(buf);
	} else {
		spin_lock(&pool.lock);
		list_add_tail(&buf->held, &pool.held);
		spin_unlock(&pool.lock);
		schedule_delayed_work(&pool.reclaim, msecs_to_jiffies(RECLAIM_MS));
	}
	owner_uncharge(o, size);
	owner_put(o);
}

static void buf_put(struct gb_buf *buf)
{
	kref_put(&buf->ref, gb_buf_release);
}

/* a buffer of size bytes, charged to o; sleeps, so call it holding no lock */
static struct gb_buf *buf_new(struct gb_owner *o, u64 size)
{
	unsigned long n = size >> GB_POOL_PAGE_SHIFT, i;
	struct gb_buf *buf;

	if (!owner_charge(o, size))
		return NULL;
	buf = kvzalloc(struct_size(buf, chunks, n), GFP_KERNEL);
	if (!buf)
		goto uncharge;
	spin_lock(&pool.lock);
	if (pool.nfree < n) {
		spin_unlock(&pool.lock);
		kvfree(buf);
		goto uncharge;
	}
	for (i = 0; i < n; i++)
		buf->chunks[i] = pool.free[--pool.nfree];
	spin_unlock(&pool.lock);
	/* what the last user left there is not the next one's business */
	for (i = 0; i < n; i++) {
		block_zero(buf->chunks[i]);
		cond_resched();
	}
	kref_init(&buf->ref);
	INIT_LIST_HEAD(&buf->held);
	buf->size = size;
	buf->nchunks = n;
	kref_get(&o->ref);
	buf->owner = o;
	atomic_inc(&pool.buffers);
	atomic64_inc(&pool.allocs);
	return buf;
uncharge:
	owner_uncharge(o, size);
	return NULL;
}

/* ---- mappings: ordinary pages, one 4 KB page a fault ---- */

static void gb_vm_open(struct vm_area_struct *vma)
{
	kref_get(&((struct gb_buf *)vma->vm_private_data)->ref);
}

static void gb_vm_close(struct vm_area_struct *vma)
{
	buf_put(vma->vm_private_data);
}

static vm_fault_t gb_vm_fault(struct vm_fault *vmf)
{
	struct gb_buf *buf = vmf->vma->vm_private_data;
	pgoff_t off = vmf->pgoff;
	struct page *page;

	if (off >= buf->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	page = buf->chunks[off >> CHUNK_ORDER] + (off & (CHUNK_PAGES - 1));
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct gb_vm_ops = {
	.open = gb_vm_open,
	.close = gb_vm_close,
	.fault = gb_vm_fault,
};

static int buf_mmap(struct gb_buf *buf, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;

	/* shared only: a private mapping would pin copy-on-write copies */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (vma->vm_pgoff > buf->size >> PAGE_SHIFT || len > buf->size - (vma->vm_pgoff << PAGE_SHIFT))
		return -EINVAL;
	gb_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &gb_vm_ops;
	vma->vm_private_data = buf;
	gb_vm_open(vma);
	return 0;
}

static int gb_buf_mmap(struct file *f, struct vm_area_struct *vma)
{
	return buf_mmap(f->private_data, vma);
}

static int gb_buf_release_file(struct inode *inode, struct file *f)
{
	buf_put(f->private_data);
	return 0;
}

static const struct file_operations gb_buf_fops = {
	.owner = THIS_MODULE,
	.mmap = gb_buf_mmap,
	.release = gb_buf_release_file,
};

/* ---- dma-buf ---- */

static struct sg_table *gb_map_dma_buf(struct dma_buf_attachment *at, enum dma_data_direction dir)
{
	struct gb_buf *buf = at->dmabuf->priv;
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned long i;
	int ret;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, buf->nchunks, GFP_KERNEL);
	if (ret)
		goto fail;
	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, buf->chunks[i], GB_POOL_PAGE_SIZE, 0);
	ret = dma_map_sgtable(at->dev, sgt, dir, 0);
	if (ret) {
		sg_free_table(sgt);
		goto fail;
	}
	return sgt;
fail:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void gb_unmap_dma_buf(struct dma_buf_attachment *at, struct sg_table *sgt, enum dma_data_direction dir)
{
	dma_unmap_sgtable(at->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

static void gb_dmabuf_release(struct dma_buf *d)
{
	buf_put(d->priv);
}

static int gb_dmabuf_mmap(struct dma_buf *d, struct vm_area_struct *vma)
{
	return buf_mmap(d->priv, vma);
}

static const struct dma_buf_ops gb_dmabuf_ops = {
	.map_dma_buf = gb_map_dma_buf,
	.unmap_dma_buf = gb_unmap_dma_buf,
	.release = gb_dmabuf_release,
	.mmap = gb_dmabuf_mmap,
};

/* ---- /dev/greenboost ---- */

static int gb_open(struct inode *inode, struct file *f)
{
	struct gb_owner *o = kzalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return -ENOMEM;
	kref_init(&o->ref);
	mutex_init(&o->lock);
	idr_init(&o->ids);
	f->private_data = o;
	return 0;
}

static int gb_drop_id(int id, void *p, void *data)
{
	buf_put(p);
	cond_resched();
	return 0;
}

/* the opener is gone (closed, or killed): its ids go with it; it stays
 * until the buffers that fds and mappings still hold are released */
static int gb_release(struct inode *inode, struct file *f)
{
	struct gb_owner *o = f->private_data;

	idr_for_each(&o->ids, gb_drop_id, NULL);
	idr_destroy(&o->ids);
	owner_put(o);
	return 0;
}

static long gb_info(struct gb_owner *o, void __user *uarg)
{
	struct gb_pool_info in;

	if (copy_from_user(&in, uarg, sizeof(in)))
		return -EFAULT;
	if (in.flags)
		return -EINVAL;
	memset(&in, 0, sizeof(in));
	in.version = GB_POOL_VERSION;
	in.page_size = GB_POOL_PAGE_SIZE;
	spin_lock(&pool.lock);
	in.total_bytes = (u64)pool.total << GB_POOL_PAGE_SHIFT;
	in.free_bytes = (u64)pool.nfree << GB_POOL_PAGE_SHIFT;
	in.held_bytes = (u64)pool.nheld << GB_POOL_PAGE_SHIFT;
	spin_unlock(&pool.lock);
	in.used_bytes = atomic64_read(&o->used);
	in.cap_bytes = (u64)READ_ONCE(per_process_mb) << 20;
	return copy_to_user(uarg, &in, sizeof(in)) ? -EFAULT : 0;
}

static long gb_alloc(struct gb_owner *o, void __user *uarg)
{
	struct gb_pool_alloc a;
	struct gb_buf *buf;
	struct file *file;
	int fd, id;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !a.size || a.size & (GB_POOL_PAGE_SIZE - 1))
		return -EINVAL;
	if (a.size >> GB_POOL_PAGE_SHIFT > pool.total) {
		atomic64_inc(&pool.failed);
		return -ENOMEM;
	}
	/* zeroing takes a while: the opener's other requests need not wait */
	buf = buf_new(o, a.size);
	if (!buf) {
		atomic64_inc(&pool.failed);
		return -ENOMEM;
	}
	mutex_lock(&o->lock);
	id = idr_alloc(&o->ids, buf, 1, 0, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto put;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto remove;
	}
	kref_get(&buf->ref);
	file = anon_inode_getfile("[greenboost]", &gb_buf_fops, buf, O_RDWR);
	if (IS_ERR(file)) {
		kref_put(&buf->ref, gb_buf_release);
		put_unused_fd(fd);
		ret = PTR_ERR(file);
		goto remove;
	}
	a.fd = fd;
	a.id = id;
	/* the fd is the caller's only once it knows the number */
	if (copy_to_user(uarg, &a, sizeof(a))) {
		put_unused_fd(fd);
		fput(file);
		ret = -EFAULT;
		goto remove;
	}
	fd_install(fd, file);
	mutex_unlock(&o->lock);
	return 0;
remove:
	idr_remove(&o->ids, id);
put:
	mutex_unlock(&o->lock);
	buf_put(buf);
	return ret;
}

static long gb_free(struct gb_owner *o, void __user *uarg)
{
	struct gb_pool_free fr;
	struct gb_buf *buf;

	if (copy_from_user(&fr, uarg, sizeof(fr)))
		return -EFAULT;
	if (fr.flags || !fr.id || fr.id > INT_MAX)
		return -EINVAL;
	mutex_lock(&o->lock);
	buf = idr_remove(&o->ids, fr.id);
	mutex_unlock(&o->lock);
	if (!buf)
		return -EINVAL; /* never allocated, or freed already */
	buf_put(buf);
	return 0;
}

static long gb_export(struct gb_owner *o, void __user *uarg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct gb_pool_export ex;
	struct dma_buf *d;
	struct gb_buf *buf;
	int fd;

	if (copy_from_user(&ex, uarg, sizeof(ex)))
		return -EFAULT;
	if (ex.flags & ~GB_POOL_EXPORT_RDWR || ex.pad || !ex.id || ex.id > INT_MAX)
		return -EINVAL;
	mutex_lock(&o->lock);
	buf = idr_find(&o->ids, ex.id);
	if (buf)
		kref_get(&buf->ref);
	mutex_unlock(&o->lock);
	if (!buf)
		return -EINVAL;
	info.ops = &gb_dmabuf_ops;
	info.size = buf->size;
	info.flags = ex.flags & GB_POOL_EXPORT_RDWR ? O_RDWR : O_RDONLY;
	info.priv = buf;
	d = dma_buf_export(&info);
	if (IS_ERR(d)) {
		buf_put(buf);
		return PTR_ERR(d);
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(d);
		return fd;
	}
	ex.fd = fd;
	if (copy_to_user(uarg, &ex, sizeof(ex))) {
		put_unused_fd(fd);
		dma_buf_put(d);
		return -EFAULT;
	}
	fd_install(fd, d->file);
	return 0;
}

static long gb_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GB_POOL_IOC_INFO:
		return gb_info(f->private_data, uarg);
	case GB_POOL_IOC_ALLOC:
		return gb_alloc(f->private_data, uarg);
	case GB_POOL_IOC_FREE:
		return gb_free(f->private_data, uarg);
	case GB_POOL_IOC_EXPORT:
		return gb_export(f->private_data, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations gb_fops = {
	.owner = THIS_MODULE,
	.open = gb_open,
	.release = gb_release,
	.unlocked_ioctl = gb_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* ---- statistics, one plain number a file ---- */

#define STAT(name, expr) \
	static ssize_t name##_show(struct device *dev, struct device_attribute *attr, char *buf) \
	{ \
		unsigned long long v; \
		spin_lock(&pool.lock); \
		v = (expr); \
		spin_unlock(&pool.lock); \
		return sysfs_emit(buf, "%llu\n", v); \
	} \
	static DEVICE_ATTR_RO(name)

STAT(total_bytes, (u64)pool.total << GB_POOL_PAGE_SHIFT);
STAT(free_bytes, (u64)pool.nfree << GB_POOL_PAGE_SHIFT);
STAT(held_bytes, (u64)pool.nheld << GB_POOL_PAGE_SHIFT);
STAT(page_size, GB_POOL_PAGE_SIZE);
STAT(buffers, (u64)atomic_read(&pool.buffers));
STAT(allocs, (u64)atomic64_read(&pool.allocs));
STAT(frees, (u64)atomic64_read(&pool.frees));
STAT(failed, (u64)atomic64_read(&pool.failed));
STAT(version, GB_POOL_VERSION);

static struct attribute *gb_attrs[] = {
	&dev_attr_total_bytes.attr, &dev_attr_free_bytes.attr, &dev_attr_held_bytes.attr,
	&dev_attr_page_size.attr, &dev_attr_buffers.attr, &dev_attr_allocs.attr,
	&dev_attr_frees.attr, &dev_attr_failed.attr, &dev_attr_version.attr, NULL,
};
ATTRIBUTE_GROUPS(gb);

static struct miscdevice gb_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "greenboost",
	.fops = &gb_fops,
	.groups = gb_groups,
};

/* ---- load and unload ---- */

static void pool_destroy(void)
{
	struct gb_buf *buf, *next;
	unsigned long held = 0, i;

	while (pool.nfree) {
		block_free(pool.free[--pool.nfree]);
		cond_resched();
	}
	/* what someone still pins, we drop our reference to: the kernel
	 * frees each page when its last holder lets go */
	list_for_each_entry_safe(buf, next, &pool.held, held) {
		for (i = 0; i < buf->nchunks; i++)
			if (buf->chunks[i]) {
				block_free(buf->chunks[i]);
				cond_resched();
				held++;
			}
		list_del(&buf->held);
		kvfree(buf);
	}
	if (held)
		pr_info("greenboost: %lu MiB still pinned at unload, freed when their holders let go\n", held * 2);
	kvfree(pool.free);
}

static int __init gb_init(void)
{
	unsigned long want = pool_mb >> 1, i;
	int ret;

	if (!want) {
		pr_err("greenboost: pool_mb=%u is less than one 2 MB page\n", pool_mb);
		return -EINVAL;
	}
	if (pool_node != NUMA_NO_NODE && (pool_node < 0 || pool_node >= MAX_NUMNODES || !node_online(pool_node))) {
		pr_err("greenboost: numa_node=%d is not an online node\n", pool_node);
		return -EINVAL;
	}
	spin_lock_init(&pool.lock);
	INIT_LIST_HEAD(&pool.held);
	INIT_DELAYED_WORK(&pool.reclaim, gb_reclaim);
	pool.free = kvcalloc(want, sizeof(*pool.free), GFP_KERNEL);
	if (!pool.free)
		return -ENOMEM;
	for (i = 0; i < want; i++) {
		struct page *p = alloc_pages_node(pool_node, GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY, CHUNK_ORDER);

		if (!p)
			break;
		split_page(p, CHUNK_ORDER);
		pool.free[pool.nfree++] = p;
		cond_resched();
	}
	pool.total = pool.nfree;
	if (!pool.total) {
		pr_err("greenboost: no 2 MB page free for the pool\n");
		kvfree(pool.free);
		return -ENOMEM;
	}
	if (pool.total < want)
		pr_warn("greenboost: pool_mb=%u, but only %lu MiB of 2 MB pages were free\n", pool_mb, pool.total * 2);
	gb_misc.mode = dev_mode;
	ret = misc_register(&gb_misc);
	if (ret) {
		pool_destroy();
		return ret;
	}
	pr_info("greenboost: pool of %lu MiB of 2 MB pages on node %d\n", pool.total * 2, pool_node);
	return 0;
}

static void __exit gb_exit(void)
{
	misc_deregister(&gb_misc);
	cancel_delayed_work_sync(&pool.reclaim);
	gb_reclaim(&pool.reclaim.work);
	cancel_delayed_work_sync(&pool.reclaim);
	pool_destroy();
}

module_init(gb_init);
module_exit(gb_exit);
MODULE_DESCRIPTION("GreenBoost: a pool of pinned 2 MB pages for GPU memory overflow");
MODULE_AUTHOR("GreenBoost");
MODULE_LICENSE("GPL");
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif
