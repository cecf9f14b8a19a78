/*-------------------------------------------------------------------------
 *
 * item.h
 *	  partkv's item model: plain-JSON items (jsonb) with single-key typed
 *	  objects for what JSON lacks ({"$B": base64}, {"$SS": [...]},
 *	  {"$NS": [...]}, {"$BS": [...]}), validated and canonicalised to
 *	  DynamoDB's rules (SPEC-dynamodb.md §1).  Implemented one job a file:
 *	  itemtype.c (types), itemnumber.c (numbers), itembase64.c (binary),
 *	  itemcheck.c (validation), itemsize.c (sizes), itemkey.c (keys); the
 *	  conversion to and from DynamoDB's typed JSON is dynamojson.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_ITEM_H
#define PARTKV_ITEM_H

#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#define KV_MAX_ITEM_SIZE		409600	/* 400 KB, DynamoDB's item size rule */
#define KV_MAX_DEPTH			32
#define KV_MAX_PARTITION_KEY_BYTES 2048
#define KV_MAX_SORT_KEY_BYTES	1024
#define KV_MAX_ATTR_NAME_BYTES	65535
#define KV_MAX_KEY_NAME_BYTES	255 /* names of table and index key attributes */
#define KV_MAX_NUMBER_DIGITS	38

/* DynamoDB attribute types */
typedef enum KvType
{
	KV_TYPE_INVALID = 0,
	KV_TYPE_S,
	KV_TYPE_N,
	KV_TYPE_B,
	KV_TYPE_BOOL,
	KV_TYPE_NULL,
	KV_TYPE_M,
	KV_TYPE_L,
	KV_TYPE_SS,
	KV_TYPE_NS,
	KV_TYPE_BS
} KvType;

/* which write is checking an item: the size error is worded per operation */
typedef enum KvWriteKind
{
	KV_WRITE_PUT,
	KV_WRITE_UPDATE
} KvWriteKind;

/* one key attribute of a table or index: name and scalar type (S, N or B) */
typedef struct KvKeyAttr
{
	char		name[KV_MAX_KEY_NAME_BYTES + 1];
	KvType		type;
} KvKeyAttr;

/* a key schema: keys[0] is the partition (HASH) key, keys[1] the sort key */
typedef struct KvKeySchema
{
	int			nkeys;			/* 1 or 2 */
	KvKeyAttr	keys[2];
} KvKeySchema;

/* "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS" */
extern const char *KvTypeName(KvType type);

/*
 * The member value of a typed value ({"$B": x} -> x, {"$SS": [...]} ->
 * [...]) in any form of JsonbValue; false when v is not one.
 */
extern bool KvTypedMember(const JsonbValue *v, JsonbValue *inner);

/* parse "S"/"N"/"B" (key types only); KV_TYPE_INVALID otherwise */
extern KvType KvKeyTypeFromName(const char *name);

/* PostgreSQL type of a key column: text, numeric or bytea */
extern Oid	KvKeyTypeOid(KvType type);

/*
 * DynamoDB type of one jsonb value.  A jbvBinary object with exactly one
 * member named $B, $SS, $NS or $BS is that typed value; any other object is
 * a map (M).  Does not validate the typed value's contents.
 */
extern KvType KvJsonbValueType(const JsonbValue *v);

/*
 * Validate a whole item (top-level JSON object) and return its canonical
 * form: the same pointer when nothing needed changing, else a new Jsonb in
 * CurrentMemoryContext.  Checks: object at top level, attribute names 1 to
 * 65535 bytes, nesting depth <= 32, well-formed typed values (valid base64,
 * non-empty duplicate-free sets, set elements of the right JSON type),
 * numbers within DynamoDB's precision and range, item size <= 400 KB.
 * Canonical numbers: trailing fractional zeros trimmed ("1.0" -> 1).
 * If size_out is not NULL it receives the DynamoDB item size in bytes.
 * Errors: 22023 (malformed), 54000 (item size).
 */
extern Jsonb *KvItemCheck(Jsonb *item, KvWriteKind kind, int64 *size_out);

/* DynamoDB size in bytes of an item (assumed valid) */
extern int64 KvItemSize(Jsonb *item);

/* DynamoDB size in bytes of one value (names of map members included) */
extern int64 KvValueSize(const JsonbValue *v);

/*
 * Canonical form of a DynamoDB number: scale trimmed, precision (<= 38
 * significant digits) and magnitude (1E-130 .. < 1E126) checked.  Errors
 * 22023 worded like DynamoDB ("Attempting to store more than 38 significant
 * digits in a Number", "Number overflow. ...", "Number underflow. ...").
 */
extern Numeric KvNumberCanonical(Numeric num);

/*
 * Parse DynamoDB number text ("3", "-17e5", ".123", "+3"); error 22023
 * "The parameter cannot be converted to a numeric value: <text>" on bad
 * text; result canonical as KvNumberCanonical.
 */
extern Numeric KvNumberFromText(const char *text);

/* decode standard base64 with DynamoDB's error wording (22023) */
extern bytea *KvBase64Decode(const char *text, int len);

/* encode bytes as standard padded base64 (palloc'd, NUL-terminated) */
extern char *KvBase64Encode(const char *data, int len);

/*
 * Key attribute of an item as the key column's Datum (text, numeric or
 * bytea), checked against the declared type.  is_sort_key selects the size
 * limit (1024 vs 2048 bytes).  When the attribute is absent: *found = false
 * and (Datum) 0 is returned.  Errors 22023 worded like DynamoDB's:
 * "One or more parameter values were invalid: Type mismatch for key p
 * expected: S actual: N", "... cannot contain an empty string value. Key: p",
 * "... Size of hashkey has exceeded the maximum size limit of2048 bytes",
 * "... Aggregated size of all range keys has exceeded the size limit of 1024 bytes".
 */
extern Datum KvItemKeyDatum(Jsonb *item, const KvKeyAttr *attr, bool is_sort_key,
							bool *found);

/*
 * The key of a request (GetItem/DeleteItem "Key"): a JSON object holding
 * exactly the table's key attributes with the declared types.  Fills
 * values[0..nkeys-1].  Error 22023 "The provided key element does not match
 * the schema" otherwise (empty strings and sizes as KvItemKeyDatum).
 */
extern void KvRequestKeyDatums(Jsonb *key, const KvKeySchema *schema, Datum *values);

/*
 * A value given in a request for a key attribute (an
 * ExpressionAttributeValues entry of a KeyConditionExpression) as the key
 * column's Datum.  When the value is not of attr's type, *type_ok is false
 * and (Datum) 0 is returned, so the caller words the error; otherwise the
 * emptiness and size checks and errors are KvItemKeyDatum's.
 */
extern Datum KvKeyDatumFromValue(const JsonbValue *v, const KvKeyAttr *attr,
								 bool is_sort_key, bool *type_ok);

/* the JSON value of a key column Datum: string, number or {"$B": base64} */
extern void KvKeyDatumToJsonbValue(Datum value, KvType type, JsonbValue *out);

#endif							/* PARTKV_ITEM_H */
