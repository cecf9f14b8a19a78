/*-------------------------------------------------------------------------
 *
 * arena.c
 *	  Chunked bump allocator and arena strings for the expression front end.
 *
 * The server routes the allocator to palloc in a memory context, the fuzzer
 * to malloc/free; either way one KvExprArenaDestroy releases everything.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "expr_int.h"

#define ARENA_CHUNK_SIZE	8192
#define ARENA_ALIGN			16

struct KvExprArenaChunk
{
	KvExprArenaChunk *next;
	size_t		size;			/* usable bytes after the header */
	/* data follows, aligned */
};

#define CHUNK_HEADER_SIZE \
	((sizeof(KvExprArenaChunk) + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1))

/*
 * KvExprArenaInit
 *		Prepare an empty arena that allocates through allocator.
 */
void
KvExprArenaInit(KvExprArena *arena, const KvExprAllocator *allocator)
{
	arena->allocator = *allocator;
	arena->chunks = NULL;
	arena->next = NULL;
	arena->avail = 0;
	arena->failed = false;
}

/*
 * KvExprArenaAlloc
 *		Return size bytes of zeroed, 16-byte aligned memory, or NULL when the
 *		allocator fails (the arena then remembers the failure).
 */
void *
KvExprArenaAlloc(KvExprArena *arena, size_t size)
{
	void	   *result;

	if (size == 0)
		size = 1;
	/* refuse absurd sizes instead of overflowing the arithmetic below */
	if (size > ((size_t) 1 << 30))
	{
		arena->failed = true;
		return NULL;
	}
	size = (size + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);

	if (size > arena->avail)
	{
		size_t		chunk_size = size > ARENA_CHUNK_SIZE / 4 ? size : ARENA_CHUNK_SIZE;
		KvExprArenaChunk *chunk;

		chunk = arena->allocator.alloc(arena->allocator.ctx,
									   CHUNK_HEADER_SIZE + chunk_size);
		if (chunk == NULL)
		{
			arena->failed = true;
			return NULL;
		}
		chunk->size = chunk_size;
		chunk->next = arena->chunks;
		arena->chunks = chunk;
		if (chunk_size == size && arena->avail > 0)
		{
			/* dedicated chunk for a big request: keep the current free space */
			result = (char *) chunk + CHUNK_HEADER_SIZE;
			memset(result, 0, size);
			return result;
		}
		arena->next = (char *) chunk + CHUNK_HEADER_SIZE;
		arena->avail = chunk_size;
	}
	result = arena->next;
	arena->next += size;
	arena->avail -= size;
	memset(result, 0, size);
	return result;
}

/*
 * KvExprArenaDestroy
 *		Free every chunk.  The arena can be reused afterwards.
 */
void
KvExprArenaDestroy(KvExprArena *arena)
{
	KvExprArenaChunk *chunk = arena->chunks;

	while (chunk != NULL)
	{
		KvExprArenaChunk *next = chunk->next;

		if (arena->allocator.free)
			arena->allocator.free(arena->allocator.ctx, chunk);
		chunk = next;
	}
	arena->chunks = NULL;
	arena->next = NULL;
	arena->avail = 0;
	arena->failed = false;
}

/*
 * KvExprBufInit
 *		Start an empty arena string.
 */
void
KvExprBufInit(KvExprBuf *buf, KvExprArena *arena)
{
	buf->arena = arena;
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

/*
 * KvExprBufAppend
 *		Append len bytes.  On allocation failure the buffer stops growing and
 *		data becomes NULL; callers check arena->failed.
 */
void
KvExprBufAppend(KvExprBuf *buf, const char *s, size_t len)
{
	if (buf->arena->failed)
	{
		buf->data = NULL;
		return;
	}
	if (buf->data == NULL || buf->len + len + 1 > buf->cap)
	{
		size_t		newcap = buf->cap ? buf->cap * 2 : 64;
		char	   *newdata;

		while (newcap < buf->len + len + 1)
			newcap *= 2;
		newdata = KvExprArenaAlloc(buf->arena, newcap);
		if (newdata == NULL)
		{
			buf->data = NULL;
			return;
		}
		if (buf->data != NULL && buf->len > 0)
			memcpy(newdata, buf->data, buf->len);
		buf->data = newdata;
		buf->cap = newcap;
	}
	if (len > 0)
		memcpy(buf->data + buf->len, s, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

/*
 * KvExprBufAppendStr
 *		Append a NUL-terminated string.
 */
void
KvExprBufAppendStr(KvExprBuf *buf, const char *s)
{
	KvExprBufAppend(buf, s, strlen(s));
}

/*
 * KvExprBufAppendInt
 *		Append a decimal integer.
 */
void
KvExprBufAppendInt(KvExprBuf *buf, long long v)
{
	char		tmp[32];
	int			n = snprintf(tmp, sizeof(tmp), "%lld", v);

	KvExprBufAppend(buf, tmp, (size_t) n);
}

/*
 * KvExprStrndup
 *		Copy len bytes into the arena, NUL-terminated.
 */
char *
KvExprStrndup(KvExprArena *arena, const char *s, size_t len)
{
	char	   *r = KvExprArenaAlloc(arena, len + 1);

	if (r == NULL)
		return NULL;
	if (len > 0)
		memcpy(r, s, len);
	r[len] = '\0';
	return r;
}
