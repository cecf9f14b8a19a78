/*-------------------------------------------------------------------------
 *
 * capacity.h
 *	  DynamoDB's capacity units (SPEC-dynamodb.md §8): what each operation
 *	  consumes, and the ConsumedCapacity member of a response.
 *
 * Units are kept as integers: read units in halves (an eventually
 * consistent read of 4 KB is one half), write units whole.  A request adds
 * the units of each table it touches to a KvCapacity, and the response
 * gets "ConsumedCapacity" when ReturnConsumedCapacity asked for it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_CAPACITY_H
#define PARTKV_CAPACITY_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/jsonb.h"

#define KV_READ_UNIT_BYTES		4096	/* one strongly consistent read */
#define KV_WRITE_UNIT_BYTES		1024	/* one write */

/* ReturnConsumedCapacity */
typedef enum KvReturnCapacity
{
	KV_CAPACITY_NONE,
	KV_CAPACITY_TOTAL,
	KV_CAPACITY_INDEXES
} KvReturnCapacity;

/* the units one secondary index consumed in a request */
typedef struct KvCapacityIndex
{
	char	   *name;			/* IndexName */
	bool		global;			/* GSI (else LSI) */
	int64		read_halves;
	int64		write_units;
} KvCapacityIndex;

#define KV_CAPACITY_MAX_INDEXES 25	/* 5 LSIs + 20 GSIs */

/* the units one table consumed in a request */
typedef struct KvCapacityTable
{
	Oid			relid;
	char	   *name;			/* as the request named it */
	int64		read_halves;
	int64		write_units;
	int			nindexes;
	KvCapacityIndex *indexes;	/* NULL until an index consumed units */
} KvCapacityTable;

/* the units a request consumed, per table in order of first use */
typedef struct KvCapacity
{
	KvReturnCapacity mode;
	int			ntables;
	int			maxtables;
	KvCapacityTable *tables;
} KvCapacity;

/*
 * Parse a ReturnConsumedCapacity value (NULL is NONE); anything but NONE,
 * TOTAL or INDEXES is a ValidationException (22023) worded like DynamoDB's.
 */
extern KvReturnCapacity KvParseReturnCapacity(const char *value);

/* the return_consumed_capacity argument argno, NONE when absent or NULL */
extern KvReturnCapacity KvReturnCapacityArg(FunctionCallInfo fcinfo, int argno);

/*
 * Half read units of reading `bytes` in one read: ceil(bytes / 4 KB) units,
 * at least one; an eventually consistent read costs half, a transactional
 * read twice.
 */
extern int64 KvReadHalves(int64 bytes, bool consistent, bool transactional);

/* write units of writing `bytes`: ceil(bytes / 1 KB), at least one; x2 transactional */
extern int64 KvWriteUnits(int64 bytes, bool transactional);

/*
 * A size of item (NULL: 0) that rounds to the same units as its DynamoDB
 * size for units of unit_bytes: the stored size when that is at most one
 * unit (the stored jsonb is never smaller than the DynamoDB size), which
 * spares measuring small items; the DynamoDB size otherwise.
 */
extern int64 KvCapacitySize(Jsonb *item, int64 unit_bytes);

/* the stored (jsonb) size of an item, 0 for NULL: what statistics count as bytes */
#define KvStoredSize(item)	((item) ? (int64) VARSIZE_ANY_EXHDR(item) : 0)

/* start accounting a request's capacity in mode */
extern void KvCapacityInit(KvCapacity *cap, KvReturnCapacity mode);

/* add units consumed on a table (relid identifies it, name is shown) */
extern void KvCapacityAdd(KvCapacity *cap, Oid relid, const char *name,
						  int64 read_halves, int64 write_units);

/*
 * add units consumed on a secondary index of a table: they count in the
 * table's CapacityUnits and, for INDEXES, under LocalSecondaryIndexes or
 * GlobalSecondaryIndexes
 */
extern void KvCapacityAddIndex(KvCapacity *cap, Oid relid, const char *name,
							   const char *index_name, bool global,
							   int64 read_halves, int64 write_units);

/*
 * The response object with "ConsumedCapacity" added when the mode asks for
 * it: one object (single-table operations) or a list with one object per
 * table (as_list: batches and transactions).
 */
extern Jsonb *KvCapacityAppend(Jsonb *response, const KvCapacity *cap, bool as_list);

#endif							/* PARTKV_CAPACITY_H */
