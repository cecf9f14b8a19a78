/*-------------------------------------------------------------------------
 *
 * wire.h
 *	  partkv.dynamodb(): DynamoDB's JSON protocol on top of the SQL API.
 *
 * The wire layer is the top of partkv: it converts a wire request (typed
 * AttributeValues) at the edge, calls the very C functions and SQL API
 * functions that SQL callers call, and converts their answers and errors
 * back to DynamoDB's wire shapes.  Nothing below calls it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_WIRE_H
#define PARTKV_WIRE_H

#include "postgres.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/*
 * Errors the wire layer detects itself carry their wire body in DETAIL
 * already; these SQLSTATEs only keep them apart from other errors.
 */
#define WIRE_ERRCODE_SERIALIZATION	ERRCODE_INVALID_TEXT_REPRESENTATION /* 22P02 */
#define WIRE_ERRCODE_UNKNOWN_OPERATION ERRCODE_UNDEFINED_FUNCTION	/* 42883 */

/* settings partkv.region and partkv.account_id (ARNs, awsRegion) */
extern char *kv_wire_region;
extern char *kv_wire_account_id;

/* defines the settings; called from _PG_init */
extern void KvWireInit(void);

/* one operation: its request body in, its response body out */
typedef Jsonb *(*WireOperation) (Jsonb *request);

/* ---- wireconv.c: reading requests, converting values ---- */

/* request member accessors: NULL / false when absent or JSON null; a
 * member of the wrong JSON type is a SerializationException */
extern char *WireString(Jsonb *req, const char *member);
extern Jsonb *WireObject(Jsonb *req, const char *member);
extern Jsonb *WireArray(Jsonb *req, const char *member);
extern bool WireBool(Jsonb *req, const char *member, bool *value);
extern bool WireInt(Jsonb *req, const char *member, int32 *value);
extern bool WireHas(Jsonb *req, const char *member);

/* the request's TableName, validated as DynamoDB does (shape errors) */
extern char *WireTableName(Jsonb *req, const char *member, const char *path,
						   bool required);

/* refuses a member partkv does not implement yet (legacy members, Select);
 * legacy members mixed with expressions are DynamoDB's ValidationException */
extern void WireRefuseMembers(Jsonb *req, const char *const *members);
extern void WireRefuseLegacy(Jsonb *req, const char *const *legacy,
							 const char *const *expressions);

extern void WireSerializationError(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();
extern void WireUnsupported(const char *what) pg_attribute_noreturn();

/*
 * A whole request or response converted between wire form (typed
 * AttributeValues) and partkv's plain JSON: the members that hold items,
 * keys and attribute-value maps are converted wherever they sit (Item,
 * Key, Keys, ExpressionAttributeValues, ExclusiveStartKey; Attributes,
 * Items, LastEvaluatedKey, Responses, NewImage, OldImage ...).
 */
extern Jsonb *WireRequestToPlain(Jsonb *req);
extern Jsonb *WireResponseToTyped(Jsonb *resp);

/* building responses */
extern Jsonb *WireObjectOf(int n, const char *const *keys, Jsonb *const *values);
extern Jsonb *WireWrap(const char *member, Jsonb *value);
extern Jsonb *WireStringJsonb(const char *s);
extern Jsonb *WireMember(Jsonb *obj, const char *member);
extern Jsonb *WireSet(Jsonb *obj, const char *member, Jsonb *value);
extern Jsonb *WireDelete(Jsonb *obj, const char *member);
extern Jsonb *WireEmptyObject(void);

/* ARNs: arn:aws:dynamodb:<region>:<account>:table/<name>[/...] */
extern char *WireTableArn(const char *table);
/* table name and stream label of a stream ARN; false when it is none */
extern bool WireParseStreamArn(const char *arn, char **table, char **label);

/* ---- calling the SQL API ---- */
extern Datum WireCallC(PGFunction fn, int nargs, const Datum *args,
					   const bool *nulls, bool *isnull);
extern Datum WireCallSql(const char *name, int nargs, const Oid *argtypes,
						 const Datum *args, const bool *nulls, bool *isnull);
extern List *WireCallSqlSet(const char *name, bool *isnull_any);

#define WireText(s)	((s) ? PointerGetDatum(cstring_to_text(s)) : (Datum) 0)

/* optables.c: Limit of 1..max; the table names of partkv.list_tables() */
extern bool WireLimit(Jsonb *req, int max, int32 *limit);
extern List *WireTableNames(void);
extern int	WireAfter(List *names, const char *start);

/* ---- the operations, by family ---- */
extern Jsonb *WirePutItem(Jsonb *req);
extern Jsonb *WireGetItem(Jsonb *req);
extern Jsonb *WireUpdateItem(Jsonb *req);
extern Jsonb *WireDeleteItem(Jsonb *req);
extern Jsonb *WireQuery(Jsonb *req);
extern Jsonb *WireScan(Jsonb *req);
extern Jsonb *WireBatchGetItem(Jsonb *req);
extern Jsonb *WireBatchWriteItem(Jsonb *req);
extern Jsonb *WireTransactGetItems(Jsonb *req);
extern Jsonb *WireTransactWriteItems(Jsonb *req);
extern Jsonb *WireCreateTable(Jsonb *req);
extern Jsonb *WireDescribeTable(Jsonb *req);
extern Jsonb *WireUpdateTable(Jsonb *req);
extern Jsonb *WireDeleteTable(Jsonb *req);
extern Jsonb *WireListTables(Jsonb *req);
extern Jsonb *WireUpdateTimeToLive(Jsonb *req);
extern Jsonb *WireDescribeTimeToLive(Jsonb *req);
extern Jsonb *WireDescribeLimits(Jsonb *req);
extern Jsonb *WireDescribeEndpoints(Jsonb *req);
extern Jsonb *WireListStreams(Jsonb *req);
extern Jsonb *WireDescribeStream(Jsonb *req);
extern Jsonb *WireGetShardIterator(Jsonb *req);
extern Jsonb *WireGetRecords(Jsonb *req);

#endif							/* PARTKV_WIRE_H */
