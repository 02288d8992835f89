/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * /dev/greenboost: a pool of pinned 2 MB pages (greenboost.4).
 * Shared by the kernel module and user space (the shim, the tests).
 *
 *   GB_POOL_IOC_INFO    the pool: version, page size, total, free, this
 *                       opener's use and cap
 *   GB_POOL_IOC_ALLOC   size bytes (a multiple of the page size) as a new
 *                       buffer: an fd to mmap(MAP_SHARED), and an id
 *   GB_POOL_IOC_FREE    drop the id; the buffer counts in used_bytes until
 *                       its fd, mappings and dma-bufs are gone too, and its
 *                       pages go back when no pin holds them either
 *   GB_POOL_IOC_EXPORT  a dma-buf fd of the buffer with that id
 *
 * Every flags field must be zero but for the flags defined for it;
 * reserved fields are zeroed by the module.  Version 1.
 */
#ifndef _UAPI_GREENBOOST_H
#define _UAPI_GREENBOOST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GB_POOL_VERSION 1
#define GB_POOL_PAGE_SHIFT 21
#define GB_POOL_PAGE_SIZE (1ULL << GB_POOL_PAGE_SHIFT)
#define GB_POOL_DEVICE "/dev/greenboost"

struct gb_pool_info {
	__u32 version;          /* out: GB_POOL_VERSION */
	__u32 flags;            /* in: 0 */
	__u64 page_size;        /* out: bytes */
	__u64 total_bytes;      /* out: the pool */
	__u64 free_bytes;       /* out: ready to allocate */
	__u64 held_bytes;       /* out: of buffers gone, pages still pinned */
	__u64 used_bytes;       /* out: this opener's buffers, until each is gone */
	__u64 cap_bytes;        /* out: this opener's limit, 0 for none */
	__u64 reserved[4];      /* out: 0 */
};

struct gb_pool_alloc {
	__u64 size;             /* in: bytes, a multiple of page_size, > 0 */
	__u32 flags;            /* in: 0 */
	__s32 fd;               /* out: the buffer, O_RDWR | O_CLOEXEC */
	__u32 id;               /* out: for FREE and EXPORT */
	__u32 pad;              /* in: 0 */
};

struct gb_pool_free {
	__u32 id;               /* in */
	__u32 flags;            /* in: 0 */
};

#define GB_POOL_EXPORT_RDWR 0x1 /* the dma-buf may be mapped writable */

struct gb_pool_export {
	__u32 id;               /* in */
	__u32 flags;            /* in: 0 or GB_POOL_EXPORT_RDWR */
	__s32 fd;               /* out: the dma-buf, O_CLOEXEC */
	__u32 pad;              /* in: 0 */
};

#define GB_POOL_IOC_MAGIC 'G'
#define GB_POOL_IOC_INFO _IOWR(GB_POOL_IOC_MAGIC, 0x00, struct gb_pool_info)
#define GB_POOL_IOC_ALLOC _IOWR(GB_POOL_IOC_MAGIC, 0x01, struct gb_pool_alloc)
#define GB_POOL_IOC_FREE _IOW(GB_POOL_IOC_MAGIC, 0x02, struct gb_pool_free)
#define GB_POOL_IOC_EXPORT _IOWR(GB_POOL_IOC_MAGIC, 0x03, struct gb_pool_export)

#endif
