/*-------------------------------------------------------------------------
 *
 * indexkeys.c
 *	  The index keys of kv items: the key extractors of index expressions,
 *	  recognition of an index column's key attribute from its definition,
 *	  and the index key checks of item writes made by the table AM.
 *
 * An LSI of kv table t with sort key attribute a (type S) is, on the
 * partitioned table (so on every partition),
 *
 *	 CREATE INDEX t_lsi<n> ON t (pk, (partkv.key_text(item, 'a')) COLLATE "C", sk)
 *		 WHERE partkv.key_text(item, 'a') IS NOT NULL
 *
 * (key_numeric for N, key_bytea for B).  The extractors return NULL when
 * the item lacks the attribute or holds another type, so the index is
 * sparse as in DynamoDB; the table access method rejects wrongly typed
 * index keys before a row is stored, so "another type" never reaches an
 * index.  The table's sort key as third column makes the index order
 * total: equal LSI keys are ordered by the table's sort key, which is what
 * LastEvaluatedKey (LSI key + table key) resumes after.
 *
 * The extractors' second parameter has type partkv.attribute_name, a
 * domain over text with collation "C": an S extractor call then has
 * collation "C" by itself, so the plain SQL condition
 * partkv.key_text(item, 'a') > 'm' matches the index column without an
 * explicit COLLATE clause.
 *
 * This is storage code: the table AM checks index keys on every write, so
 * it must not depend on the index layer (src/index/) above it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "../common/errors.h"
#include "indexkeys.h"

KvDeclaredIndexKeysHook kv_declared_index_keys_hook = NULL;

PG_FUNCTION_INFO_V1(partkv_key_text);
PG_FUNCTION_INFO_V1(partkv_key_numeric);
PG_FUNCTION_INFO_V1(partkv_key_bytea);

/*
 * One index key attribute of a kv partition: an LSI sort key (from the
 * partition's indexes) or a GSI key (declared in partkv.tables.global_indexes,
 * through kv_declared_index_keys_hook), with the name of a GSI using it
 * for error messages.
 */
typedef struct KvIndexKey
{
	KvKeyAttr	attr;
	bool		gsi;			/* a GSI key (else an LSI sort key) */
	bool		hash;			/* a GSI partition key: 2048-byte limit */
	char		index_name[256];	/* the GSI's IndexName */
} KvIndexKey;

/*
 * The index key attributes of one kv partition, cached in its relcache
 * entry (rd_amcache: one chunk in CacheMemoryContext, freed by relcache
 * invalidation, which creating or dropping an index of the partition
 * sends, and so does changing the table's GSIs: see partkv_internal.gsi_sync).
 */
typedef struct KvIndexKeys
{
	int			nkeys;
	KvIndexKey	keys[FLEXIBLE_ARRAY_MEMBER];
} KvIndexKeys;

/* ----------------------------------------------------------------
 * Extractors
 * ----------------------------------------------------------------
 */

/*
 * KvTopLevelValue finds top-level attribute name (len bytes) of an item;
 * false when the item is NULL, not an object or lacks it.
 */
bool
KvTopLevelValue(Jsonb *item, const char *name, int len, JsonbValue *v)
{
	if (item == NULL || !JB_ROOT_IS_OBJECT(item))
		return false;
	return getKeyJsonValueFromContainer(&item->root, name, len, v) != NULL;
}

/*
 * KvIndexKeyValue converts an item's index key attribute to the Datum of
 * an index key column of that type (see indexkeys.h), in
 * CurrentMemoryContext.
 */
bool
KvIndexKeyValue(Jsonb *item, const char *name, int len, KvType type, Datum *out)
{
	JsonbValue	v;
	JsonbValue	inner;

	if (!KvTopLevelValue(item, name, len, &v))
		return false;
	switch (type)
	{
		case KV_TYPE_S:
			if (v.type != jbvString)
				return false;
			*out = PointerGetDatum(cstring_to_text_with_len(v.val.string.val, v.val.string.len));
			return true;
		case KV_TYPE_N:
			if (v.type != jbvNumeric)
				return false;
			*out = NumericGetDatum(DatumGetNumericCopy(NumericGetDatum(v.val.numeric)));
			return true;
		case KV_TYPE_B:
			if (KvJsonbValueType(&v) != KV_TYPE_B || v.type != jbvBinary ||
				getKeyJsonValueFromContainer(v.val.binary.data, "$B", 2, &inner) == NULL ||
				inner.type != jbvString)
				return false;
			*out = PointerGetDatum(KvBase64Decode(inner.val.string.val, inner.val.string.len));
			return true;
		default:
			return false;
	}
}

/*
 * partkv_key_text(item jsonb, attr partkv.attribute_name) returns text:
 * the S value of attribute attr, NULL when absent or of another type.
 * IMMUTABLE STRICT: it is an index expression.
 */
Datum
partkv_key_text(PG_FUNCTION_ARGS)
{
	Jsonb	   *item = PG_GETARG_JSONB_P(0);
	text	   *attr = PG_GETARG_TEXT_PP(1);
	Datum		value;

	if (!KvIndexKeyValue(item, VARDATA_ANY(attr), VARSIZE_ANY_EXHDR(attr), KV_TYPE_S, &value))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(value);
}

/*
 * partkv_key_numeric(item jsonb, attr partkv.attribute_name) returns
 * numeric: the N value of attribute attr, NULL when absent or of another
 * type.
 */
Datum
partkv_key_numeric(PG_FUNCTION_ARGS)
{
	Jsonb	   *item = PG_GETARG_JSONB_P(0);
	text	   *attr = PG_GETARG_TEXT_PP(1);
	Datum		value;

	if (!KvIndexKeyValue(item, VARDATA_ANY(attr), VARSIZE_ANY_EXHDR(attr), KV_TYPE_N, &value))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(value);
}

/*
 * partkv_key_bytea(item jsonb, attr partkv.attribute_name) returns bytea:
 * the bytes of a B value {"$B": base64} of attribute attr, NULL when
 * absent or of another type.  Malformed base64 is an error (stored items
 * never hold any: the table access method validates them).
 */
Datum
partkv_key_bytea(PG_FUNCTION_ARGS)
{
	Jsonb	   *item = PG_GETARG_JSONB_P(0);
	text	   *attr = PG_GETARG_TEXT_PP(1);
	Datum		value;

	if (!KvIndexKeyValue(item, VARDATA_ANY(attr), VARSIZE_ANY_EXHDR(attr), KV_TYPE_B, &value))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(value);
}

/* ----------------------------------------------------------------
 * Recognising LSI indexes
 * ----------------------------------------------------------------
 */

/*
 * KvExtractorType tells which extractor function funcid is (by its C
 * entry point, so the schema partkv was installed in does not matter):
 * S, N or B, or KV_TYPE_INVALID for any other function.
 */
static KvType
KvExtractorType(Oid funcid)
{
	FmgrInfo	finfo;

	fmgr_info(funcid, &finfo);
	if (finfo.fn_addr == partkv_key_text)
		return KV_TYPE_S;
	if (finfo.fn_addr == partkv_key_numeric)
		return KV_TYPE_N;
	if (finfo.fn_addr == partkv_key_bytea)
		return KV_TYPE_B;
	return KV_TYPE_INVALID;
}

/*
 * KvExtractorCall recognises partkv.key_<type>(<jsonb column>, '<attr>')
 * in an (eval_const_expressions-simplified) index expression.
 */
static bool
KvExtractorCall(Node *expr, KvKeyAttr *attr)
{
	FuncExpr   *func;
	Node	   *arg;
	Const	   *name;
	KvType		type;
	char	   *cname;

	if (!IsA(expr, FuncExpr))
		return false;
	func = (FuncExpr *) expr;
	if (list_length(func->args) != 2 || !IsA(linitial(func->args), Var) ||
		((Var *) linitial(func->args))->vartype != JSONBOID)
		return false;
	arg = (Node *) lsecond(func->args);
	while (IsA(arg, RelabelType) || IsA(arg, CoerceToDomain))
		arg = IsA(arg, RelabelType) ? (Node *) ((RelabelType *) arg)->arg :
			(Node *) ((CoerceToDomain *) arg)->arg;
	if (!IsA(arg, Const) || ((Const *) arg)->constisnull)
		return false;
	name = (Const *) arg;
	if (getBaseType(name->consttype) != TEXTOID)
		return false;
	type = KvExtractorType(func->funcid);
	if (type == KV_TYPE_INVALID)
		return false;
	cname = TextDatumGetCString(name->constvalue);
	if (strlen(cname) > KV_MAX_KEY_NAME_BYTES)
		return false;
	strlcpy(attr->name, cname, sizeof(attr->name));
	attr->type = type;
	return true;
}

/*
 * KvIndexColumnKey tells which item attribute index column colno extracts
 * (see indexkeys.h).  Reads the relcache's index expressions: only ever called
 * when a cache is filled, never per row.
 */
bool
KvIndexColumnKey(Relation indexrel, int colno, KvKeyAttr *attr)
{
	Form_pg_index index = indexrel->rd_index;
	List	   *exprs;
	ListCell   *lc;

	if (colno < 1 || colno > index->indnkeyatts || index->indkey.values[colno - 1] != 0)
		return false;
	exprs = RelationGetIndexExpressions(indexrel);
	lc = list_head(exprs);
	for (int i = 0; i < colno - 1; i++)
	{
		if (index->indkey.values[i] == 0)
			lc = lnext(exprs, lc);
	}
	return lc != NULL && KvExtractorCall((Node *) lfirst(lc), attr);
}

/* ----------------------------------------------------------------
 * Index key checks of writes
 * ----------------------------------------------------------------
 */

/* KvDeclaredIndexKeysOf runs kv_declared_index_keys_hook (0 keys without it). */
static int
KvDeclaredIndexKeysOf(Relation rel, KvDeclaredIndexKey **keys)
{
	*keys = NULL;
	if (kv_declared_index_keys_hook == NULL)
		return 0;
	return kv_declared_index_keys_hook(rel, keys);
}

/*
 * KvGsiIndexKeys appends the key attributes of the global secondary indexes
 * of rel's kv table (as its catalog row declares them, only when a relcache
 * entry's cache is built) to found[], skipping attributes already there.
 */
static void
KvGsiIndexKeys(Relation rel, KvIndexKey **found, int *nfound, int *maxfound)
{
	KvDeclaredIndexKey *declared;
	int			ndeclared;

	if (!rel->rd_rel->relispartition)
		return;
	ndeclared = KvDeclaredIndexKeysOf(rel, &declared);
	for (int d = 0; d < ndeclared; d++)
	{
		const KvDeclaredIndexKey *key = &declared[d];
		bool		dup = false;
		KvIndexKey *k;

		if (!key->gsi || strlen(key->attr.name) > KV_MAX_KEY_NAME_BYTES)
			continue;
		for (int i = 0; i < *nfound && !dup; i++)
			dup = strcmp((*found)[i].attr.name, key->attr.name) == 0;
		if (dup)
			continue;
		if (*nfound == *maxfound)
		{
			*maxfound *= 2;
			*found = repalloc(*found, sizeof(KvIndexKey) * *maxfound);
		}
		k = &(*found)[(*nfound)++];
		memset(k, 0, sizeof(KvIndexKey));
		k->attr = key->attr;
		k->gsi = true;
		k->hash = key->hash;
		strlcpy(k->index_name, key->index_name, sizeof(k->index_name));
	}
}

/*
 * KvIndexKeysOf returns the index key attributes of kv partition rel: the
 * attributes its indexes extract from the item, each once.  Built on first
 * use after a relcache (re)build and cached in rel->rd_amcache.
 */
static KvIndexKeys *
KvIndexKeysOf(Relation rel)
{
	KvIndexKeys *keys = (KvIndexKeys *) rel->rd_amcache;
	List	   *indexes;
	ListCell   *lc;
	KvIndexKey *found;
	int			nfound = 0;
	int			maxfound;

	if (keys != NULL)
		return keys;

	indexes = RelationGetIndexList(rel);
	maxfound = Max(list_length(indexes), 1);
	found = palloc0(sizeof(KvIndexKey) * maxfound);
	foreach(lc, indexes)
	{
		Oid			oid = lfirst_oid(lc);
		Relation	indexrel;

		if (oid == rel->rd_pkindex)
			continue;
		indexrel = index_open(oid, AccessShareLock);
		for (int c = 1; c <= indexrel->rd_index->indnkeyatts; c++)
		{
			KvKeyAttr	attr;
			bool		dup = false;

			if (!KvIndexColumnKey(indexrel, c, &attr))
				continue;
			for (int i = 0; i < nfound && !dup; i++)
				dup = strcmp(found[i].attr.name, attr.name) == 0;
			if (dup)
				continue;
			if (nfound == maxfound)
			{
				maxfound *= 2;
				found = repalloc(found, sizeof(KvIndexKey) * maxfound);
			}
			memset(&found[nfound], 0, sizeof(KvIndexKey));
			found[nfound++].attr = attr;
		}
		index_close(indexrel, NoLock);
	}
	list_free(indexes);

	/* global secondary indexes: their keys are declared in partkv.tables */
	KvGsiIndexKeys(rel, &found, &nfound, &maxfound);

	keys = MemoryContextAlloc(CacheMemoryContext,
							  offsetof(KvIndexKeys, keys) + sizeof(KvIndexKey) * nfound);
	keys->nkeys = nfound;
	if (nfound > 0)
		memcpy(keys->keys, found, sizeof(KvIndexKey) * nfound);
	pfree(found);
	/* opening the indexes may have processed an invalidation of rel: set it last */
	rel->rd_amcache = keys;
	return keys;
}

/*
 * KvLsiIndexName finds the IndexName of the LSI of rel's kv table whose
 * sort key is attr, for an error message; NULL when the catalog row has no
 * such index (e.g. pg_restore has not loaded the catalog rows yet).  Runs
 * only on the error path.
 */
static char *
KvLsiIndexName(Relation rel, const char *attr)
{
	KvDeclaredIndexKey *declared;
	int			ndeclared = KvDeclaredIndexKeysOf(rel, &declared);

	for (int d = 0; d < ndeclared; d++)
	{
		if (!declared[d].gsi && strcmp(declared[d].attr.name, attr) == 0)
			return declared[d].index_name;
	}
	return NULL;
}

/*
 * KvCheckIndexKeys applies DynamoDB's index key rules (SPEC §2.7, §1.5) to
 * an item written into rel: per index key present in the item, its type,
 * then emptiness and size as for table sort keys.
 */
void
KvCheckIndexKeys(Relation rel, Jsonb *item)
{
	KvIndexKeys *keys = KvIndexKeysOf(rel);

	for (int i = 0; i < keys->nkeys; i++)
	{
		const KvKeyAttr *attr = &keys->keys[i].attr;
		JsonbValue	v;
		KvType		type;
		bool		found;

		if (getKeyJsonValueFromContainer(&item->root, attr->name, strlen(attr->name),
										 &v) == NULL)
			continue;			/* sparse: the item is not in the index */
		type = KvJsonbValueType(&v);
		if (type != attr->type)
		{
			char	   *index_name = keys->keys[i].gsi ? pstrdup(keys->keys[i].index_name) :
				KvLsiIndexName(rel, attr->name);

			/* without partkv's catalog row (pg_restore), leave it unindexed */
			if (index_name == NULL)
				continue;
			KvValidationError(KV_INVALID_PARAMS "Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s",
							  attr->name, KvTypeName(attr->type), KvTypeName(type),
							  index_name);
		}
		/*
		 * emptiness and the 1024-byte sort key limit (2048 bytes for a GSI
		 * partition key), worded as for table keys
		 */
		if (type != KV_TYPE_N)
			(void) KvItemKeyDatum(item, attr, !keys->keys[i].hash, &found);
	}
}
