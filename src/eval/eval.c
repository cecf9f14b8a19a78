/*-------------------------------------------------------------------------
 *
 * eval.c
 *	  Evaluation of validated DynamoDB expressions against jsonb items.
 *
 * Conditions read the item in place (jsonb containers are navigated, never
 * expanded).  Updates and projections build a small mutable document tree
 * (KvDoc) from the parts of the item they touch and serialise it back with
 * pushJsonbValue, which keeps object keys in jsonb's order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "../common/errors.h"
#include "eval.h"

/* ----------------------------------------------------------------
 * Compilation
 * ----------------------------------------------------------------
 */

static void KvCheckConstantBounds(KvExprSet *set);

/* KvArenaAlloc routes the expression front end's allocations to palloc. */
static void *
KvArenaAlloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size, MCXT_ALLOC_HUGE);
}

/* KvExprValueTypeOf maps a DynamoDB type to the front end's enum. */
static KvExprValueType
KvExprValueTypeOf(KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return KVEXPR_TYPE_S;
		case KV_TYPE_N:
			return KVEXPR_TYPE_N;
		case KV_TYPE_B:
			return KVEXPR_TYPE_B;
		case KV_TYPE_BOOL:
			return KVEXPR_TYPE_BOOL;
		case KV_TYPE_NULL:
			return KVEXPR_TYPE_NULL;
		case KV_TYPE_SS:
			return KVEXPR_TYPE_SS;
		case KV_TYPE_NS:
			return KVEXPR_TYPE_NS;
		case KV_TYPE_BS:
			return KVEXPR_TYPE_BS;
		case KV_TYPE_L:
			return KVEXPR_TYPE_L;
		case KV_TYPE_M:
			return KVEXPR_TYPE_M;
		default:
			return KVEXPR_TYPE_UNKNOWN;
	}
}

/* KvValueTypeCallback tells the validator the type of a :value. */
static KvExprValueType
KvValueTypeCallback(void *arg, const char *placeholder, const char **str, size_t *len)
{
	KvExprSet  *set = (KvExprSet *) arg;
	JsonbValue	v;
	KvType		type;

	if (!KvExprLookupValue(set, placeholder, &v))
		return KVEXPR_TYPE_UNKNOWN;
	type = KvJsonbValueType(&v);
	if (type == KV_TYPE_S)
	{
		*str = v.val.string.val;
		*len = v.val.string.len;
	}
	return KvExprValueTypeOf(type);
}

/* KvRaiseExprError turns a front-end error into DynamoDB's exception. */
static void
KvRaiseExprError(const KvExprError *error)
{
	int			code;

	switch (error->kind)
	{
		case KVEXPR_ERROR_SYNTAX:
			code = KV_ERRCODE_EXPRESSION_SYNTAX;
			break;
		case KVEXPR_ERROR_LIMIT:
			code = KV_ERRCODE_SIZE_LIMIT;
			break;
		case KVEXPR_ERROR_OUT_OF_MEMORY:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		default:
			code = KV_ERRCODE_VALIDATION;
			break;
	}
	KvRaise(code, "%s", error->message);
}

/* KvCollectNames reads ExpressionAttributeNames into the front end's array. */
static KvExprName *
KvCollectNames(Jsonb *names, int *count)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	KvExprName *out;
	int			n = 0;

	if (!JB_ROOT_IS_OBJECT(names) || JB_ROOT_IS_SCALAR(names))
		KvValidationError("ExpressionAttributeNames must be a JSON object mapping #names to attribute names");
	out = palloc0(sizeof(KvExprName) * Max(JB_ROOT_COUNT(names), 1));
	it = JsonbIteratorInit(&names->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			out[n].key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				KvValidationError("ExpressionAttributeNames contains invalid value for key %s: attribute names are strings",
								  out[n].key);
			out[n].name = pnstrdup(v.val.string.val, v.val.string.len);
			out[n].name_len = v.val.string.len;
			n++;
		}
	}
	*count = n;
	return out;
}

/* KvCollectValueKeys lists the placeholders of ExpressionAttributeValues. */
static const char **
KvCollectValueKeys(Jsonb *values, int *count)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	const char **out;
	int			n = 0;

	out = palloc0(sizeof(char *) * Max(JB_ROOT_COUNT(values), 1));
	it = JsonbIteratorInit(&values->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			out[n++] = pnstrdup(v.val.string.val, v.val.string.len);
	}
	*count = n;
	return out;
}

/*
 * Parsed expressions are cached per backend, keyed by everything their
 * validation depends on: the texts, the names, and the placeholders of the
 * values with their types (and the strings themselves when attribute_type
 * may read them).  A cache hit skips parsing and validation; only the
 * values are checked again.
 */
#define KV_EXPR_CACHE_MAX 512

typedef struct KvExprCacheEntry
{
	uint32		hash;			/* hash key */
	char	   *key;			/* the full key, to rule out collisions */
	MemoryContext cxt;			/* holds key and AST */
	KvExprRequestResult parsed;
} KvExprCacheEntry;

static HTAB *kv_expr_cache = NULL;
static MemoryContext kv_expr_cache_cxt = NULL;

/* KvExprCacheKey builds the cache key of a request. */
static char *
KvExprCacheKey(const KvExprTexts *texts, Jsonb *names, Jsonb *values)
{
	StringInfoData buf;
	bool		reads_strings = false;

	initStringInfo(&buf);
	for (int k = 0; k < KVEXPR_NKINDS; k++)
	{
		const char *t = texts->text[k];

		if (t == NULL)
		{
			appendStringInfoString(&buf, "-\x1f");
			continue;
		}
		appendStringInfo(&buf, "%zu:%s\x1f", strlen(t), t);
		if (strstr(t, "attribute_type") != NULL)
			reads_strings = true;
	}
	if (names != NULL)
		appendStringInfoString(&buf, JsonbToCString(NULL, &names->root, VARSIZE(names)));
	appendStringInfoChar(&buf, '\x1f');
	if (values != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(&values->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				appendBinaryStringInfo(&buf, v.val.string.val, v.val.string.len);
			else if (tok == WJB_VALUE)
			{
				KvType		t = KvJsonbValueType(&v);

				appendStringInfo(&buf, "=%s", KvTypeName(t));
				if (reads_strings && t == KV_TYPE_S)
					appendBinaryStringInfo(&buf, v.val.string.val, v.val.string.len);
				appendStringInfoChar(&buf, '\x1e');
			}
		}
	}
	return buf.data;
}

/* KvExprCacheReset forgets every cached expression. */
static void
KvExprCacheReset(void)
{
	HASH_SEQ_STATUS status;
	KvExprCacheEntry *e;

	hash_seq_init(&status, kv_expr_cache);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		MemoryContextDelete(e->cxt);
		hash_search(kv_expr_cache, &e->hash, HASH_REMOVE, NULL);
	}
}

/* KvExprCacheLookup finds the parsed request for a key; NULL on a miss. */
static KvExprCacheEntry *
KvExprCacheLookup(const char *key, uint32 hash)
{
	KvExprCacheEntry *e;

	if (kv_expr_cache == NULL)
	{
		HASHCTL		ctl;

		kv_expr_cache_cxt = AllocSetContextCreate(CacheMemoryContext,
												  "partkv expression cache",
												  ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(uint32);
		ctl.entrysize = sizeof(KvExprCacheEntry);
		ctl.hcxt = kv_expr_cache_cxt;
		kv_expr_cache = hash_create("partkv expressions", 128, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(kv_expr_cache, &hash, HASH_FIND, NULL);
	if (e != NULL && strcmp(e->key, key) == 0)
		return e;
	return NULL;
}

/* KvExprCacheStore keeps a successfully validated request. */
static void
KvExprCacheStore(const char *key, uint32 hash, MemoryContext cxt,
				 const KvExprRequestResult *parsed)
{
	KvExprCacheEntry *e;
	bool		found;

	if (hash_get_num_entries(kv_expr_cache) >= KV_EXPR_CACHE_MAX)
		KvExprCacheReset();
	e = hash_search(kv_expr_cache, &hash, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(e->cxt);	/* a colliding key: replace it */
	MemoryContextSetParent(cxt, kv_expr_cache_cxt);
	e->cxt = cxt;
	e->key = MemoryContextStrdup(cxt, key);
	e->parsed = *parsed;
}

/*
 * KvValueFault finds the placeholder of ExpressionAttributeValues whose
 * value the item model refuses, and that refusal's message; false when
 * each value passes on its own.  Only called once the values as a whole
 * were refused, so its cost does not matter.
 */
static bool
KvValueFault(Jsonb *values, char **placeholder, char **message)
{
	JsonbIterator *it = JsonbIteratorInit(&values->root);
	JsonbValue	key;
	JsonbValue	value;
	JsonbIteratorToken tok;
	MemoryContext cxt = CurrentMemoryContext;

	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		JsonbParseState *state = NULL;
		Jsonb	   *single;
		volatile bool refused = false;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &value, true);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		pushJsonbValue(&state, WJB_KEY, &key);
		pushJsonbValue(&state, WJB_VALUE, &value);
		single = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
		PG_TRY();
		{
			(void) KvItemCheck(single, KV_WRITE_PUT, NULL);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			if (edata->sqlerrcode != KV_ERRCODE_VALIDATION)
				PG_RE_THROW();
			FlushErrorState();
			*message = edata->message;
			refused = true;
		}
		PG_END_TRY();
		if (refused)
		{
			*placeholder = pnstrdup(key.val.string.val, key.val.string.len);
			return true;
		}
	}
	return false;
}

/*
 * KvCheckValues validates ExpressionAttributeValues by the item model and
 * returns them canonically.  A value it refuses is reported as DynamoDB
 * does (SPEC §1.1): "ExpressionAttributeValues contains invalid value:
 * <why> for key <placeholder>".
 */
static Jsonb *
KvCheckValues(Jsonb *values)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *volatile result = NULL;
	ErrorData  *volatile edata = NULL;
	char	   *placeholder;
	char	   *message;

	PG_TRY();
	{
		result = KvItemCheck(values, KV_WRITE_PUT, NULL);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != KV_ERRCODE_VALIDATION)
			PG_RE_THROW();
		FlushErrorState();
	}
	PG_END_TRY();
	if (edata == NULL)
		return result;
	if (!KvValueFault(values, &placeholder, &message))
		ReThrowError(edata);
	KvValidationError("ExpressionAttributeValues contains invalid value: %s for key %s",
					  message, placeholder);
	return NULL;				/* not reached */
}

KvExprSet *
KvExprCompile(const KvExprTexts *texts, Jsonb *names, Jsonb *values)
{
	KvExprSet  *set = palloc0(sizeof(KvExprSet));
	KvExprAllocator allocator;
	KvExprRequest req;
	char	   *key;
	uint32		hash;
	KvExprCacheEntry *cached;
	MemoryContext cxt;
	MemoryContext oldcxt;

	if (values != NULL)
	{
		if (!JB_ROOT_IS_OBJECT(values) || JB_ROOT_IS_SCALAR(values))
			KvValidationError("ExpressionAttributeValues must be a JSON object mapping :values to values");
		/* the values obey the item model: check and canonicalise them */
		set->values = KvCheckValues(values);
	}
	if (names != NULL && (!JB_ROOT_IS_OBJECT(names) || JB_ROOT_IS_SCALAR(names)))
		KvValidationError("ExpressionAttributeNames must be a JSON object mapping #names to attribute names");

	key = KvExprCacheKey(texts, names, set->values);
	hash = DatumGetUInt32(hash_any((const unsigned char *) key, strlen(key)));
	cached = KvExprCacheLookup(key, hash);
	if (cached != NULL)
	{
		set->parsed = cached->parsed;
		KvCheckConstantBounds(set);
		return set;
	}

	/*
	 * Parse in a context of its own, kept in the cache on success and freed
	 * with the call otherwise.  The AST points into its inputs, so they are
	 * copied there too.
	 */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "partkv expression",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	memset(&req, 0, sizeof(req));
	for (int k = 0; k < KVEXPR_NKINDS; k++)
	{
		req.text[k] = texts->text[k] ? pstrdup(texts->text[k]) : NULL;
		req.text_len[k] = texts->text[k] ? strlen(texts->text[k]) : 0;
	}
	if (names != NULL)
	{
		int			nnames;

		req.has_names = true;
		req.names = KvCollectNames(names, &nnames);
		req.nnames = nnames;
	}
	if (set->values != NULL)
	{
		int			nvalues;

		req.has_values = true;
		req.values = KvCollectValueKeys(set->values, &nvalues);
		req.nvalues = nvalues;
	}
	MemoryContextSwitchTo(oldcxt);
	req.value_type = KvValueTypeCallback;
	req.value_type_arg = set;

	allocator.alloc = KvArenaAlloc;
	allocator.free = NULL;
	allocator.ctx = cxt;
	KvExprArenaInit(&set->arena, &allocator);
	if (KvExprValidateRequest(&set->arena, &req, &set->parsed) != KVEXPR_OK)
		KvRaiseExprError(&set->parsed.error);
	KvExprCacheStore(key, hash, cxt, &set->parsed);
	KvCheckConstantBounds(set);
	return set;
}

bool
KvExprHas(const KvExprSet *set, KvExprKind kind)
{
	return set != NULL && set->parsed.expr[kind] != NULL;
}

bool
KvExprLookupValue(KvExprSet *set, const char *placeholder, JsonbValue *out)
{
	JsonbValue *v;

	if (set->values == NULL)
		return false;
	v = getKeyJsonValueFromContainer(&set->values->root, placeholder,
									 strlen(placeholder), out);
	return v != NULL;
}

/* ----------------------------------------------------------------
 * Values
 * ----------------------------------------------------------------
 */

/* KvTypedInner gives the inner value of a typed value ($B string, set array). */
static void
KvTypedInner(const JsonbValue *v, KvType type, JsonbValue *inner)
{
	const char *name;

	switch (type)
	{
		case KV_TYPE_B:
			name = "$B";
			break;
		case KV_TYPE_SS:
			name = "$SS";
			break;
		case KV_TYPE_NS:
			name = "$NS";
			break;
		default:
			name = "$BS";
			break;
	}
	if (getKeyJsonValueFromContainer(v->val.binary.data, name, strlen(name), inner) == NULL)
		elog(ERROR, "typed value without its %s member", name);
}

/* KvDecodeBinary decodes a B value's base64 into bytes. */
static bytea *
KvDecodeBinary(const JsonbValue *v)
{
	JsonbValue	inner;

	KvTypedInner(v, KV_TYPE_B, &inner);
	return KvBase64Decode(inner.val.string.val, inner.val.string.len);
}

/* KvCompareBytes orders byte strings as unsigned bytes, shorter first on a tie. */
static int
KvCompareBytes(const char *a, int alen, const char *b, int blen)
{
	int			r = memcmp(a, b, Min(alen, blen));

	if (r != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

/* KvContainerCount is the number of elements or pairs of a container value. */
static int
KvContainerCount(const JsonbValue *v)
{
	return JsonContainerSize(v->val.binary.data);
}

/* KvSetContains tells whether a set (inner array) has an element equal to elem. */
static bool
KvSetContains(const JsonbValue *inner, const JsonbValue *elem)
{
	int			n = KvContainerCount(inner);

	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(inner->val.binary.data, i);

		if (e->type == elem->type && KvValueEquals(e, elem))
			return true;
	}
	return false;
}

/*
 * KvScalarSetElemEquals compares set elements: strings (S, and canonical
 * base64 of B) by bytes, numbers by value.
 */
bool
KvValueEquals(const JsonbValue *a, const JsonbValue *b)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);

	if (ta != tb)
		return false;
	switch (ta)
	{
		case KV_TYPE_S:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case KV_TYPE_N:
			return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
													 NumericGetDatum(a->val.numeric),
													 NumericGetDatum(b->val.numeric))) == 0;
		case KV_TYPE_BOOL:
			return a->val.boolean == b->val.boolean;
		case KV_TYPE_NULL:
			return true;
		case KV_TYPE_B:
			{
				JsonbValue	ia,
							ib;

				/* base64 is canonical in stored items and values */
				KvTypedInner(a, ta, &ia);
				KvTypedInner(b, tb, &ib);
				return KvValueEquals(&ia, &ib);
			}
		case KV_TYPE_SS:
		case KV_TYPE_NS:
		case KV_TYPE_BS:
			{
				JsonbValue	ia,
							ib;
				int			n;

				KvTypedInner(a, ta, &ia);
				KvTypedInner(b, tb, &ib);
				n = KvContainerCount(&ia);
				if (n != KvContainerCount(&ib))
					return false;
				/* sets hold no duplicates: equal sizes and inclusion suffice */
				for (int i = 0; i < n; i++)
				{
					JsonbValue *e = getIthJsonbValueFromContainer(ia.val.binary.data, i);

					if (!KvSetContains(&ib, e))
						return false;
				}
				return true;
			}
		case KV_TYPE_L:
			{
				int			n = KvContainerCount(a);

				if (n != KvContainerCount(b))
					return false;
				for (int i = 0; i < n; i++)
				{
					JsonbValue *ea = getIthJsonbValueFromContainer(a->val.binary.data, i);
					JsonbValue *eb = getIthJsonbValueFromContainer(b->val.binary.data, i);

					if (!KvValueEquals(ea, eb))
						return false;
				}
				return true;
			}
		case KV_TYPE_M:
			{
				JsonbIterator *it;
				JsonbValue	k,
							v,
							other;
				JsonbIteratorToken tok;

				if (KvContainerCount(a) != KvContainerCount(b))
					return false;
				it = JsonbIteratorInit(a->val.binary.data);
				while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
				{
					if (tok != WJB_KEY)
						continue;
					tok = JsonbIteratorNext(&it, &v, true);
					if (getKeyJsonValueFromContainer(b->val.binary.data, k.val.string.val,
													 k.val.string.len, &other) == NULL ||
						!KvValueEquals(&v, &other))
						return false;
				}
				return true;
			}
		default:
			return false;
	}
}

int
KvValueCompare(const JsonbValue *a, const JsonbValue *b, bool *comparable)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);

	*comparable = (ta == tb && (ta == KV_TYPE_S || ta == KV_TYPE_N || ta == KV_TYPE_B));
	if (!*comparable)
		return 0;
	if (ta == KV_TYPE_N)
		return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
												 NumericGetDatum(a->val.numeric),
												 NumericGetDatum(b->val.numeric)));
	if (ta == KV_TYPE_S)
		return KvCompareBytes(a->val.string.val, a->val.string.len,
							  b->val.string.val, b->val.string.len);
	{
		bytea	   *ba = KvDecodeBinary(a);
		bytea	   *bb = KvDecodeBinary(b);

		return KvCompareBytes(VARDATA_ANY(ba), VARSIZE_ANY_EXHDR(ba),
							  VARDATA_ANY(bb), VARSIZE_ANY_EXHDR(bb));
	}
}

/* KvNumberValue makes a jbvNumeric JsonbValue. */
static void
KvNumberValue(Numeric n, JsonbValue *out)
{
	out->type = jbvNumeric;
	out->val.numeric = n;
}

/* ----------------------------------------------------------------
 * Paths
 * ----------------------------------------------------------------
 */

/*
 * KvResolveInValue follows path elements from a value; false when the path
 * does not resolve (missing member, index past the end, wrong container).
 */
static bool
KvResolveFrom(JsonbValue *cur, const KvExprPath *path, int from, JsonbValue *out)
{
	JsonbValue	v = *cur;

	for (int i = from; i < path->nelems; i++)
	{
		const KvExprPathElem *e = &path->elems[i];
		KvType		t = KvJsonbValueType(&v);
		JsonbValue *next;

		if (e->kind == KVEXPR_ELEM_NAME)
		{
			if (t != KV_TYPE_M)
				return false;
			if (getKeyJsonValueFromContainer(v.val.binary.data, e->name, e->name_len, &v) == NULL)
				return false;
		}
		else
		{
			if (t != KV_TYPE_L)
				return false;
			next = getIthJsonbValueFromContainer(v.val.binary.data, e->index);
			if (next == NULL)
				return false;
			v = *next;
		}
	}
	*out = v;
	return true;
}

/* KvResolvePath resolves a document path in an item (NULL: missing item). */
static bool
KvResolvePath(Jsonb *item, const KvExprPath *path, JsonbValue *out)
{
	JsonbValue	root;

	if (item == NULL)
		return false;
	root.type = jbvBinary;
	root.val.binary.data = &item->root;
	root.val.binary.len = VARSIZE(item) - VARHDRSZ;
	return KvResolveFrom(&root, path, 0, out);
}

/* ----------------------------------------------------------------
 * Conditions
 * ----------------------------------------------------------------
 */

typedef struct KvEvalContext
{
	KvExprSet  *set;
	Jsonb	   *item;			/* NULL: item does not exist */
} KvEvalContext;

static bool KvEvalCondition(KvEvalContext *cx, const KvExprNode *node);

/* KvSizeOf computes size(); false when the operand has no size (N, BOOL, NULL). */
static bool
KvSizeOf(const JsonbValue *v, JsonbValue *out)
{
	KvType		t = KvJsonbValueType(v);
	int64		size;

	switch (t)
	{
		case KV_TYPE_S:
			size = v->val.string.len;
			break;
		case KV_TYPE_B:
			{
				bytea	   *b = KvDecodeBinary(v);

				size = VARSIZE_ANY_EXHDR(b);
				break;
			}
		case KV_TYPE_SS:
		case KV_TYPE_NS:
		case KV_TYPE_BS:
			{
				JsonbValue	inner;

				KvTypedInner(v, t, &inner);
				size = KvContainerCount(&inner);
				break;
			}
		case KV_TYPE_L:
		case KV_TYPE_M:
			size = KvContainerCount(v);
			break;
		default:
			return false;
	}
	KvNumberValue(int64_to_numeric(size), out);
	return true;
}

/* KvEvalOperand evaluates an operand; false when it is missing. */
static bool
KvEvalOperand(KvEvalContext *cx, const KvExprNode *node, JsonbValue *out)
{
	switch (node->type)
	{
		case KVEXPR_NODE_PATH:
			return KvResolvePath(cx->item, &node->path, out);
		case KVEXPR_NODE_VALUE:
			if (!KvExprLookupValue(cx->set, node->value, out))
				KvValidationError("An expression attribute value used in expression is not defined; attribute value: %s",
								  node->value);
			return true;
		case KVEXPR_NODE_FUNC:
			if (node->func == KVEXPR_FUNC_SIZE)
			{
				JsonbValue	arg;

				if (!KvEvalOperand(cx, node->args[0], &arg))
					return false;
				return KvSizeOf(&arg, out);
			}
			break;
		default:
			break;
	}
	elog(ERROR, "unexpected operand node type %d", (int) node->type);
	return false;
}

/* KvBytesOf gives the bytes of an S or B value for prefix/substring tests. */
static void
KvBytesOf(const JsonbValue *v, KvType t, const char **data, int *len)
{
	if (t == KV_TYPE_S)
	{
		*data = v->val.string.val;
		*len = v->val.string.len;
	}
	else
	{
		bytea	   *b = KvDecodeBinary(v);

		*data = VARDATA_ANY(b);
		*len = VARSIZE_ANY_EXHDR(b);
	}
}

/* KvBeginsWith implements begins_with(a, b) for S and B. */
static bool
KvBeginsWith(const JsonbValue *a, const JsonbValue *b)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);
	const char *da,
			   *db;
	int			la,
				lb;

	if (ta != tb || (ta != KV_TYPE_S && ta != KV_TYPE_B))
		return false;
	KvBytesOf(a, ta, &da, &la);
	KvBytesOf(b, tb, &db, &lb);
	return lb <= la && memcmp(da, db, lb) == 0;
}

/* KvContains implements contains(a, b): substring, set membership, list element. */
static bool
KvContains(const JsonbValue *a, const JsonbValue *b)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);

	if ((ta == KV_TYPE_S || ta == KV_TYPE_B) && ta == tb)
	{
		const char *da,
				   *db;
		int			la,
					lb;

		KvBytesOf(a, ta, &da, &la);
		KvBytesOf(b, tb, &db, &lb);
		if (lb == 0)
			return true;
		for (int i = 0; i + lb <= la; i++)
			if (memcmp(da + i, db, lb) == 0)
				return true;
		return false;
	}
	if ((ta == KV_TYPE_SS && tb == KV_TYPE_S) || (ta == KV_TYPE_NS && tb == KV_TYPE_N))
	{
		JsonbValue	inner;

		KvTypedInner(a, ta, &inner);
		return KvSetContains(&inner, b);
	}
	if (ta == KV_TYPE_BS && tb == KV_TYPE_B)
	{
		JsonbValue	inner,
					bin;

		KvTypedInner(a, ta, &inner);
		KvTypedInner(b, tb, &bin);
		return KvSetContains(&inner, &bin);
	}
	if (ta == KV_TYPE_L)
	{
		int			n = KvContainerCount(a);

		for (int i = 0; i < n; i++)
			if (KvValueEquals(getIthJsonbValueFromContainer(a->val.binary.data, i), b))
				return true;
	}
	return false;
}

/* KvEvalFunction evaluates a boolean function of a condition. */
static bool
KvEvalFunction(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	a,
				b;

	switch (node->func)
	{
		case KVEXPR_FUNC_ATTRIBUTE_EXISTS:
			return KvResolvePath(cx->item, &node->args[0]->path, &a);
		case KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS:
			return !KvResolvePath(cx->item, &node->args[0]->path, &a);
		case KVEXPR_FUNC_ATTRIBUTE_TYPE:
			if (!KvResolvePath(cx->item, &node->args[0]->path, &a) ||
				!KvEvalOperand(cx, node->args[1], &b) || b.type != jbvString)
				return false;
			{
				const char *name = KvTypeName(KvJsonbValueType(&a));

				return strlen(name) == (size_t) b.val.string.len &&
					memcmp(name, b.val.string.val, b.val.string.len) == 0;
			}
		case KVEXPR_FUNC_BEGINS_WITH:
			return KvEvalOperand(cx, node->args[0], &a) &&
				KvEvalOperand(cx, node->args[1], &b) && KvBeginsWith(&a, &b);
		case KVEXPR_FUNC_CONTAINS:
			return KvEvalOperand(cx, node->args[0], &a) &&
				KvEvalOperand(cx, node->args[1], &b) && KvContains(&a, &b);
		default:
			elog(ERROR, "function %s is not a condition", node->func_name);
	}
	return false;
}

/* KvEvalCompare evaluates a comparator with DynamoDB's missing/mismatch rules. */
static bool
KvEvalCompare(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	a,
				b;
	bool		have_a = KvEvalOperand(cx, node->args[0], &a);
	bool		have_b = KvEvalOperand(cx, node->args[1], &b);
	bool		comparable;
	int			c;

	if (node->cmp == KVEXPR_CMP_EQ)
		return have_a && have_b && KvValueEquals(&a, &b);
	if (node->cmp == KVEXPR_CMP_NE)
		return !(have_a && have_b && KvValueEquals(&a, &b));
	if (!have_a || !have_b)
		return false;
	c = KvValueCompare(&a, &b, &comparable);
	if (!comparable)
		return false;
	switch (node->cmp)
	{
		case KVEXPR_CMP_LT:
			return c < 0;
		case KVEXPR_CMP_LE:
			return c <= 0;
		case KVEXPR_CMP_GT:
			return c > 0;
		default:
			return c >= 0;
	}
}

/* KvEvalBetween checks lower <= x <= upper; BETWEEN of constants is validated first. */
static bool
KvEvalBetween(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	x,
				lo,
				hi;
	bool		c1,
				c2;
	int			r1,
				r2;

	if (!KvEvalOperand(cx, node->args[0], &x) ||
		!KvEvalOperand(cx, node->args[1], &lo) ||
		!KvEvalOperand(cx, node->args[2], &hi))
		return false;
	r1 = KvValueCompare(&lo, &x, &c1);
	r2 = KvValueCompare(&x, &hi, &c2);
	return c1 && c2 && r1 <= 0 && r2 <= 0;
}

static bool
KvEvalCondition(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	x,
				v;

	check_stack_depth();
	switch (node->type)
	{
		case KVEXPR_NODE_AND:
			for (int i = 0; i < node->nargs; i++)
				if (!KvEvalCondition(cx, node->args[i]))
					return false;
			return true;
		case KVEXPR_NODE_OR:
			for (int i = 0; i < node->nargs; i++)
				if (KvEvalCondition(cx, node->args[i]))
					return true;
			return false;
		case KVEXPR_NODE_NOT:
			return !KvEvalCondition(cx, node->args[0]);
		case KVEXPR_NODE_COMPARE:
			return KvEvalCompare(cx, node);
		case KVEXPR_NODE_BETWEEN:
			return KvEvalBetween(cx, node);
		case KVEXPR_NODE_IN:
			if (!KvEvalOperand(cx, node->args[0], &x))
				return false;
			for (int i = 1; i < node->nargs; i++)
				if (KvEvalOperand(cx, node->args[i], &v) && KvValueEquals(&x, &v))
					return true;
			return false;
		case KVEXPR_NODE_FUNC:
			return KvEvalFunction(cx, node);
		default:
			elog(ERROR, "unexpected condition node type %d", (int) node->type);
	}
	return false;
}

/* KvDescribeValue renders a value as DynamoDB's messages do: AttributeValue: {N:1}. */
static char *
KvDescribeValue(const JsonbValue *v)
{
	KvType		t = KvJsonbValueType(v);
	const char *text;

	switch (t)
	{
		case KV_TYPE_S:
			text = pnstrdup(v->val.string.val, v->val.string.len);
			break;
		case KV_TYPE_N:
			text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			break;
		case KV_TYPE_B:
			{
				JsonbValue	inner;

				KvTypedInner(v, t, &inner);
				text = pnstrdup(inner.val.string.val, inner.val.string.len);
				break;
			}
		default:
			text = "...";
			break;
	}
	return psprintf("AttributeValue: {%s:%s}", KvTypeName(t), text);
}

/*
 * KvCheckBetweenConstants applies DynamoDB's static BETWEEN rules when both
 * bounds are :values (the front end leaves them to us: they need values).
 */
static void
KvCheckBetweenConstants(KvExprSet *set, const KvExprNode *node, const char *param)
{
	if (node == NULL)
		return;
	if (node->type == KVEXPR_NODE_BETWEEN &&
		node->args[1]->type == KVEXPR_NODE_VALUE && node->args[2]->type == KVEXPR_NODE_VALUE)
	{
		JsonbValue	lo,
					hi;
		bool		comparable;
		int			c;

		if (KvExprLookupValue(set, node->args[1]->value, &lo) &&
			KvExprLookupValue(set, node->args[2]->value, &hi))
		{
			c = KvValueCompare(&lo, &hi, &comparable);
			if (KvJsonbValueType(&lo) != KvJsonbValueType(&hi))
				KvValidationError("Invalid %s: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: %s, upper bound operand: %s",
								  param, KvDescribeValue(&lo), KvDescribeValue(&hi));
			if (comparable && c > 0)
				KvValidationError("Invalid %s: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: %s, upper bound operand: %s",
								  param, KvDescribeValue(&lo), KvDescribeValue(&hi));
		}
	}
	for (int i = 0; i < node->nargs; i++)
		if (node->type == KVEXPR_NODE_AND || node->type == KVEXPR_NODE_OR ||
			node->type == KVEXPR_NODE_NOT)
			KvCheckBetweenConstants(set, node->args[i], param);
}

/*
 * KvCheckConstantBounds applies the BETWEEN rules that need the values, once
 * per call (the values change from call to call, the cached AST does not).
 */
static void
KvCheckConstantBounds(KvExprSet *set)
{
	if (set->parsed.expr[KVEXPR_CONDITION] != NULL)
		KvCheckBetweenConstants(set, set->parsed.expr[KVEXPR_CONDITION]->cond, "ConditionExpression");
	if (set->parsed.expr[KVEXPR_FILTER] != NULL)
		KvCheckBetweenConstants(set, set->parsed.expr[KVEXPR_FILTER]->cond, "FilterExpression");
}

bool
KvExprTest(KvExprSet *set, KvExprKind kind, Jsonb *item)
{
	KvEvalContext cx;
	KvExpr	   *expr;

	if (!KvExprHas(set, kind))
		return true;
	expr = set->parsed.expr[kind];
	cx.set = set;
	cx.item = item;
	return KvEvalCondition(&cx, expr->cond);
}

/* ----------------------------------------------------------------
 * Mutable documents
 * ----------------------------------------------------------------
 */

typedef enum KvDocKind
{
	KV_DOC_VALUE,				/* a leaf: scalar, typed value or unexpanded container */
	KV_DOC_MAP,
	KV_DOC_LIST
} KvDocKind;

typedef struct KvDoc KvDoc;

struct KvDoc
{
	KvDocKind	kind;
	JsonbValue	value;			/* VALUE */
	int			n;				/* MAP / LIST: children */
	int			cap;
	char	  **names;			/* MAP: member names */
	int		   *namelens;
	uint32	   *order;			/* LIST in projections: source index */
	KvDoc	  **children;
	bool	   *removed;		/* LIST: elements removed by REMOVE */
};

/* KvDocNew makes an empty map or list. */
static KvDoc *
KvDocNew(KvDocKind kind)
{
	KvDoc	   *d = palloc0(sizeof(KvDoc));

	d->kind = kind;
	return d;
}

/* KvDocLeaf wraps a value. */
static KvDoc *
KvDocLeaf(const JsonbValue *v)
{
	KvDoc	   *d = KvDocNew(KV_DOC_VALUE);

	d->value = *v;
	return d;
}

/* KvGrowArray enlarges a palloc'd array, zeroing the new part. */
static void *
KvGrowArray(void *ptr, int oldn, int newn, Size elemsize)
{
	char	   *p;

	if (ptr == NULL)
		return palloc0(elemsize * newn);
	p = repalloc(ptr, elemsize * newn);
	memset(p + elemsize * oldn, 0, elemsize * (newn - oldn));
	return p;
}

/* KvDocGrow makes room for one more child. */
static void
KvDocGrow(KvDoc *d)
{
	if (d->n < d->cap)
		return;
	{
		int			newcap = Max(8, d->cap * 2);

		d->children = KvGrowArray(d->children, d->cap, newcap, sizeof(KvDoc *));
		d->names = KvGrowArray(d->names, d->cap, newcap, sizeof(char *));
		d->namelens = KvGrowArray(d->namelens, d->cap, newcap, sizeof(int));
		d->order = KvGrowArray(d->order, d->cap, newcap, sizeof(uint32));
		d->removed = KvGrowArray(d->removed, d->cap, newcap, sizeof(bool));
		d->cap = newcap;
	}
}

/* KvDocExpand turns a leaf holding a map or list into a mutable node. */
static void
KvDocExpand(KvDoc *d)
{
	KvType		t;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (d->kind != KV_DOC_VALUE)
		return;
	t = KvJsonbValueType(&d->value);
	if (t != KV_TYPE_M && t != KV_TYPE_L)
		return;
	it = JsonbIteratorInit(d->value.val.binary.data);
	d->kind = (t == KV_TYPE_M) ? KV_DOC_MAP : KV_DOC_LIST;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			KvDocGrow(d);
			d->names[d->n] = v.val.string.val;
			d->namelens[d->n] = v.val.string.len;
		}
		else if (tok == WJB_VALUE)
		{
			d->children[d->n] = KvDocLeaf(&v);
			d->n++;
		}
		else if (tok == WJB_ELEM)
		{
			KvDocGrow(d);
			d->order[d->n] = d->n;
			d->children[d->n] = KvDocLeaf(&v);
			d->n++;
		}
	}
}

/* KvDocFromItem makes the top-level map of an item (NULL: empty map). */
static KvDoc *
KvDocFromItem(Jsonb *item)
{
	KvDoc	   *d;

	if (item == NULL)
		return KvDocNew(KV_DOC_MAP);
	d = KvDocNew(KV_DOC_VALUE);
	d->value.type = jbvBinary;
	d->value.val.binary.data = &item->root;
	d->value.val.binary.len = VARSIZE(item) - VARHDRSZ;
	KvDocExpand(d);
	return d;
}

/* KvDocMember finds a map member; -1 when absent. */
static int
KvDocMember(const KvDoc *d, const char *name, int len)
{
	for (int i = 0; i < d->n; i++)
		if (d->namelens[i] == len && memcmp(d->names[i], name, len) == 0)
			return i;
	return -1;
}

/* KvDocSetMember sets (adds or replaces) a map member. */
static void
KvDocSetMember(KvDoc *d, const char *name, int len, KvDoc *child)
{
	int			i = KvDocMember(d, name, len);

	if (i < 0)
	{
		KvDocGrow(d);
		i = d->n++;
		d->names[i] = pnstrdup(name, len);
		d->namelens[i] = len;
	}
	d->children[i] = child;
}

/* KvDocRemoveMember deletes a map member if present. */
static void
KvDocRemoveMember(KvDoc *d, const char *name, int len)
{
	int			i = KvDocMember(d, name, len);

	if (i < 0)
		return;
	for (int j = i + 1; j < d->n; j++)
	{
		d->children[j - 1] = d->children[j];
		d->names[j - 1] = d->names[j];
		d->namelens[j - 1] = d->namelens[j];
	}
	d->n--;
}

/*
 * KvDocPush serialises a document into a jsonb parse state; returns what the
 * last push returned (the finished value for a top-level container).
 */
static JsonbValue *
KvDocPush(JsonbParseState **state, KvDoc *d, JsonbIteratorToken as)
{
	check_stack_depth();
	if (d->kind == KV_DOC_VALUE)
		return pushJsonbValue(state, as, &d->value);
	if (d->kind == KV_DOC_MAP)
	{
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < d->n; i++)
		{
			JsonbValue	key;

			key.type = jbvString;
			key.val.string.val = d->names[i];
			key.val.string.len = d->namelens[i];
			pushJsonbValue(state, WJB_KEY, &key);
			KvDocPush(state, d->children[i], WJB_VALUE);
		}
		return pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < d->n; i++)
		if (!d->removed[i])
			KvDocPush(state, d->children[i], WJB_ELEM);
	return pushJsonbValue(state, WJB_END_ARRAY, NULL);
}

/* KvDocToJsonb serialises a top-level map. */
static Jsonb *
KvDocToJsonb(KvDoc *d)
{
	JsonbParseState *state = NULL;

	Assert(d->kind == KV_DOC_MAP);
	return JsonbValueToJsonb(KvDocPush(&state, d, WJB_VALUE));
}

/* ----------------------------------------------------------------
 * Projection
 * ----------------------------------------------------------------
 */

/* KvDocListChild finds the child of a projected list that came from index. */
static int
KvDocListChild(const KvDoc *d, uint32 index)
{
	for (int i = 0; i < d->n; i++)
		if (d->order[i] == index)
			return i;
	return -1;
}

/* KvDocProjectInsert places value v at path[i..] in a projected document. */
static void
KvDocProjectInsert(KvDoc *d, const KvExprPath *path, int i, const JsonbValue *v)
{
	const KvExprPathElem *e = &path->elems[i];
	bool		last = (i == path->nelems - 1);
	KvDocKind	next_kind = KV_DOC_VALUE;
	KvDoc	   *child;
	int			at;

	if (!last)
		next_kind = (path->elems[i + 1].kind == KVEXPR_ELEM_NAME) ? KV_DOC_MAP : KV_DOC_LIST;
	if (e->kind == KVEXPR_ELEM_NAME)
	{
		at = KvDocMember(d, e->name, e->name_len);
		if (last || at < 0 || d->children[at]->kind != next_kind)
		{
			child = last ? KvDocLeaf(v) : KvDocNew(next_kind);
			KvDocSetMember(d, e->name, e->name_len, child);
		}
		else
			child = d->children[at];
	}
	else
	{
		at = KvDocListChild(d, e->index);
		if (last || at < 0 || d->children[at]->kind != next_kind)
		{
			child = last ? KvDocLeaf(v) : KvDocNew(next_kind);
			if (at < 0)
			{
				KvDocGrow(d);
				at = d->n++;
				d->order[at] = e->index;
			}
			d->children[at] = child;
		}
		else
			child = d->children[at];
	}
	if (!last)
		KvDocProjectInsert(child, path, i + 1, v);
}

/* KvDocSortLists orders projected list elements by their source index. */
static void
KvDocSortLists(KvDoc *d)
{
	check_stack_depth();
	if (d->kind == KV_DOC_LIST)
	{
		for (int i = 1; i < d->n; i++)
			for (int j = i; j > 0 && d->order[j - 1] > d->order[j]; j--)
			{
				KvDoc	   *tc = d->children[j];
				uint32		to = d->order[j];

				d->children[j] = d->children[j - 1];
				d->order[j] = d->order[j - 1];
				d->children[j - 1] = tc;
				d->order[j - 1] = to;
			}
	}
	for (int i = 0; i < d->n; i++)
		KvDocSortLists(d->children[i]);
}

/* KvProjectPaths keeps only the given paths of an item, with their nesting. */
static Jsonb *
KvProjectPaths(Jsonb *item, const KvExprPath *const *paths, int npaths)
{
	KvDoc	   *out = KvDocNew(KV_DOC_MAP);

	for (int p = 0; p < npaths; p++)
	{
		JsonbValue	v;

		if (KvResolvePath(item, paths[p], &v))
			KvDocProjectInsert(out, paths[p], 0, &v);
	}
	KvDocSortLists(out);
	return KvDocToJsonb(out);
}

Jsonb *
KvExprProject(KvExprSet *set, Jsonb *item)
{
	KvExpr	   *expr;
	const KvExprPath **paths;

	if (item == NULL || !KvExprHas(set, KVEXPR_PROJECTION))
		return item;
	expr = set->parsed.expr[KVEXPR_PROJECTION];
	paths = palloc(sizeof(KvExprPath *) * Max(expr->npaths, 1));
	for (int i = 0; i < expr->npaths; i++)
		paths[i] = &expr->paths[i];
	return KvProjectPaths(item, paths, expr->npaths);
}

/* ----------------------------------------------------------------
 * Updates
 * ----------------------------------------------------------------
 */

/* KvInvalidForUpdate raises DynamoDB's error for an unusable update path. */
static void
KvInvalidForUpdate(void)
{
	KvValidationError("The document path provided in the update expression is invalid for update");
}

/* KvIncorrectOperand raises DynamoDB's runtime operand type error. */
static void
KvIncorrectOperand(void)
{
	KvValidationError("An operand in the update expression has an incorrect data type");
}

/* KvJsonbAsValue presents a whole Jsonb as a jbvBinary value. */
static void
KvJsonbAsValue(Jsonb *j, JsonbValue *out)
{
	out->type = jbvBinary;
	out->val.binary.data = &j->root;
	out->val.binary.len = VARSIZE(j) - VARHDRSZ;
}

/* KvMakeList builds an L value from the elements of two lists. */
static void
KvConcatLists(const JsonbValue *a, const JsonbValue *b, JsonbValue *out)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	const JsonbValue *lists[2] = {a, b};

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int l = 0; l < 2; l++)
	{
		int			n = KvContainerCount(lists[l]);

		for (int i = 0; i < n; i++)
			pushJsonbValue(&state, WJB_ELEM,
						   getIthJsonbValueFromContainer(lists[l]->val.binary.data, i));
	}
	res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	KvJsonbAsValue(JsonbValueToJsonb(res), out);
}

/* KvMakeSet builds a typed set value {"$SS": [...]} from elements. */
static void
KvMakeSet(KvType type, JsonbValue *elems, int n, JsonbValue *out)
{
	JsonbParseState *state = NULL;
	JsonbValue	key;
	JsonbValue *res;
	const char *tag = (type == KV_TYPE_SS) ? "$SS" : (type == KV_TYPE_NS) ? "$NS" : "$BS";

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	key.type = jbvString;
	key.val.string.val = (char *) tag;
	key.val.string.len = 3;
	pushJsonbValue(&state, WJB_KEY, &key);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
		pushJsonbValue(&state, WJB_ELEM, &elems[i]);
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	KvJsonbAsValue(JsonbValueToJsonb(res), out);
}

/* KvNumberArith computes a + b or a - b within DynamoDB's number limits. */
static void
KvNumberArith(const JsonbValue *a, const JsonbValue *b, bool minus, JsonbValue *out)
{
	Datum		r;

	if (KvJsonbValueType(a) != KV_TYPE_N || KvJsonbValueType(b) != KV_TYPE_N)
		KvIncorrectOperand();
	r = DirectFunctionCall2(minus ? numeric_sub : numeric_add,
							NumericGetDatum(a->val.numeric), NumericGetDatum(b->val.numeric));
	KvNumberValue(KvNumberCanonical(DatumGetNumeric(r)), out);
}

/* KvEvalSetValue evaluates the right-hand side of a SET action on the old item. */
static void
KvEvalSetValue(KvEvalContext *cx, const KvExprNode *node, JsonbValue *out)
{
	JsonbValue	a,
				b;

	check_stack_depth();
	switch (node->type)
	{
		case KVEXPR_NODE_PATH:
			if (!KvResolvePath(cx->item, &node->path, out))
				KvValidationError("The provided expression refers to an attribute that does not exist in the item");
			return;
		case KVEXPR_NODE_VALUE:
			(void) KvEvalOperand(cx, node, out);
			return;
		case KVEXPR_NODE_PLUS:
		case KVEXPR_NODE_MINUS:
			KvEvalSetValue(cx, node->args[0], &a);
			KvEvalSetValue(cx, node->args[1], &b);
			KvNumberArith(&a, &b, node->type == KVEXPR_NODE_MINUS, out);
			return;
		case KVEXPR_NODE_FUNC:
			if (node->func == KVEXPR_FUNC_IF_NOT_EXISTS)
			{
				if (!KvResolvePath(cx->item, &node->args[0]->path, out))
					KvEvalSetValue(cx, node->args[1], out);
				return;
			}
			if (node->func == KVEXPR_FUNC_LIST_APPEND)
			{
				KvEvalSetValue(cx, node->args[0], &a);
				KvEvalSetValue(cx, node->args[1], &b);
				if (KvJsonbValueType(&a) != KV_TYPE_L || KvJsonbValueType(&b) != KV_TYPE_L)
					KvIncorrectOperand();
				KvConcatLists(&a, &b, out);
				return;
			}
			break;
		default:
			break;
	}
	elog(ERROR, "unexpected SET value node type %d", (int) node->type);
}

/*
 * KvDocParentOf walks to the container that holds the last element of
 * path, expanding stored maps and lists on the way; NULL when a step is
 * missing or of the wrong kind.
 */
static KvDoc *
KvDocParentOf(KvDoc *root, const KvExprPath *path)
{
	KvDoc	   *d = root;

	for (int i = 0; i < path->nelems - 1; i++)
	{
		const KvExprPathElem *e = &path->elems[i];
		int			at;

		if (e->kind == KVEXPR_ELEM_NAME)
		{
			if (d->kind != KV_DOC_MAP || (at = KvDocMember(d, e->name, e->name_len)) < 0)
				return NULL;
		}
		else
		{
			if (d->kind != KV_DOC_LIST || e->index >= (uint32) d->n)
				return NULL;
			at = e->index;
		}
		d = d->children[at];
		KvDocExpand(d);
	}
	return d;
}

/* KvDocChildAt returns the child the last path element names, or NULL. */
static KvDoc *
KvDocChildAt(KvDoc *parent, const KvExprPathElem *e, int *at)
{
	if (e->kind == KVEXPR_ELEM_NAME)
	{
		if (parent->kind != KV_DOC_MAP)
			KvInvalidForUpdate();
		*at = KvDocMember(parent, e->name, e->name_len);
	}
	else
	{
		if (parent->kind != KV_DOC_LIST)
			KvInvalidForUpdate();
		*at = (e->index < (uint32) parent->n) ? (int) e->index : -1;
	}
	return (*at >= 0) ? parent->children[*at] : NULL;
}

/* KvDocStore sets the child the last path element names (appending past a list's end). */
static void
KvDocStore(KvDoc *parent, const KvExprPathElem *e, int at, const JsonbValue *v)
{
	if (e->kind == KVEXPR_ELEM_NAME)
	{
		KvDocSetMember(parent, e->name, e->name_len, KvDocLeaf(v));
		return;
	}
	if (at < 0)
	{
		KvDocGrow(parent);
		at = parent->n++;
		parent->order[at] = at;
	}
	parent->children[at] = KvDocLeaf(v);
}

/* KvDocRemoveChild deletes what the last path element names. */
static void
KvDocRemoveChild(KvDoc *parent, const KvExprPathElem *e, int at)
{
	if (at < 0)
		return;
	if (e->kind == KVEXPR_ELEM_NAME)
		KvDocRemoveMember(parent, e->name, e->name_len);
	else
		parent->removed[at] = true; /* positions stay those before the update */
}

/* KvSetElements lists a set's elements. */
static JsonbValue *
KvSetElements(const JsonbValue *set, KvType type, int *n)
{
	JsonbValue	inner;
	JsonbValue *elems;

	KvTypedInner(set, type, &inner);
	*n = KvContainerCount(&inner);
	elems = palloc(sizeof(JsonbValue) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		elems[i] = *getIthJsonbValueFromContainer(inner.val.binary.data, i);
	return elems;
}

/* KvApplyAddDelete performs ADD (number sum, set union) or DELETE (set difference). */
static void
KvApplyAddDelete(KvDoc *parent, const KvExprUpdateAction *action, const JsonbValue *operand)
{
	const KvExprPathElem *e = &action->path.elems[action->path.nelems - 1];
	int			at;
	KvDoc	   *cur = KvDocChildAt(parent, e, &at);
	KvType		top = KvJsonbValueType(operand);
	KvType		tcur;
	JsonbValue	result;
	JsonbValue *a,
			   *b,
			   *merged;
	int			na,
				nb,
				nm = 0;

	if (cur == NULL)
	{
		if (action->type == KVEXPR_UPDATE_ADD)
			KvDocStore(parent, e, at, operand);
		return;
	}
	if (cur->kind != KV_DOC_VALUE)
		KvIncorrectOperand();
	tcur = KvJsonbValueType(&cur->value);
	if (action->type == KVEXPR_UPDATE_ADD && top == KV_TYPE_N)
	{
		if (tcur != KV_TYPE_N)
			KvIncorrectOperand();
		KvNumberArith(&cur->value, operand, false, &result);
		KvDocStore(parent, e, at, &result);
		return;
	}
	if (tcur != top || (top != KV_TYPE_SS && top != KV_TYPE_NS && top != KV_TYPE_BS))
		KvIncorrectOperand();
	a = KvSetElements(&cur->value, tcur, &na);
	b = KvSetElements(operand, top, &nb);
	merged = palloc(sizeof(JsonbValue) * (na + nb + 1));
	if (action->type == KVEXPR_UPDATE_ADD)
	{
		JsonbValue	inner;

		KvTypedInner(&cur->value, tcur, &inner);
		for (int i = 0; i < na; i++)
			merged[nm++] = a[i];
		for (int i = 0; i < nb; i++)
			if (!KvSetContains(&inner, &b[i]))
				merged[nm++] = b[i];
	}
	else
	{
		JsonbValue	inner;

		KvTypedInner(operand, top, &inner);
		for (int i = 0; i < na; i++)
			if (!KvSetContains(&inner, &a[i]))
				merged[nm++] = a[i];
	}
	if (nm == 0)
	{
		/* a set is never empty: removing its last element removes it */
		KvDocRemoveChild(parent, e, at);
		return;
	}
	KvMakeSet(top, merged, nm, &result);
	KvDocStore(parent, e, at, &result);
}

/* KvCheckNotKey refuses update actions on key attributes. */
static void
KvCheckNotKey(const KvExprUpdateAction *action, const KvKeySchema *schema)
{
	const KvExprPathElem *top = &action->path.elems[0];

	for (int k = 0; k < schema->nkeys; k++)
		if (strlen(schema->keys[k].name) == top->name_len &&
			memcmp(schema->keys[k].name, top->name, top->name_len) == 0)
			KvValidationError(KV_INVALID_PARAMS "Cannot update attribute %s. This attribute is part of the key",
							  schema->keys[k].name);
}

KvUpdateResult
KvExprApplyUpdate(KvExprSet *set, Jsonb *old_item, Jsonb *key_item, const KvKeySchema *schema)
{
	KvUpdateResult result = {NULL, NULL, NULL};
	KvExpr	   *expr = set ? set->parsed.expr[KVEXPR_UPDATE] : NULL;
	KvEvalContext cx;
	JsonbValue *operands;
	KvDoc	   *doc;
	bool		creates = (old_item != NULL);
	const KvExprPath **paths;

	if (expr == NULL)
	{
		result.new_item = old_item ? old_item : key_item;
		return result;
	}

	for (int i = 0; i < expr->nactions; i++)
		KvCheckNotKey(&expr->actions[i], schema);

	/* every right-hand side reads the item as it was before the update */
	cx.set = set;
	cx.item = old_item;
	operands = palloc0(sizeof(JsonbValue) * Max(expr->nactions, 1));
	for (int i = 0; i < expr->nactions; i++)
	{
		const KvExprUpdateAction *action = &expr->actions[i];

		if (action->type == KVEXPR_UPDATE_SET)
			KvEvalSetValue(&cx, action->value, &operands[i]);
		else if (action->type != KVEXPR_UPDATE_REMOVE)
			(void) KvEvalOperand(&cx, action->value, &operands[i]);
		if (action->type == KVEXPR_UPDATE_SET || action->type == KVEXPR_UPDATE_ADD)
			creates = true;
	}
	if (!creates)
		return result;			/* a missing item that would only lose attributes */

	doc = KvDocFromItem(old_item ? old_item : key_item);

	/* writes first, then removals, so list positions are those before the update */
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < expr->nactions; i++)
		{
			const KvExprUpdateAction *action = &expr->actions[i];
			const KvExprPathElem *last = &action->path.elems[action->path.nelems - 1];
			bool		is_remove = (action->type == KVEXPR_UPDATE_REMOVE);
			KvDoc	   *parent;
			int			at;

			if (is_remove != (pass == 1))
				continue;
			parent = KvDocParentOf(doc, &action->path);
			if (parent == NULL)
			{
				/* removing below a missing parent of a missing item is a no-op */
				if (is_remove && old_item == NULL)
					continue;
				KvInvalidForUpdate();
			}
			switch (action->type)
			{
				case KVEXPR_UPDATE_SET:
					(void) KvDocChildAt(parent, last, &at);
					KvDocStore(parent, last, at, &operands[i]);
					break;
				case KVEXPR_UPDATE_REMOVE:
					(void) KvDocChildAt(parent, last, &at);
					KvDocRemoveChild(parent, last, at);
					break;
				default:
					KvApplyAddDelete(parent, action, &operands[i]);
					break;
			}
		}
	}

	result.new_item = KvItemCheck(KvDocToJsonb(doc), KV_WRITE_UPDATE, NULL);

	paths = palloc(sizeof(KvExprPath *) * expr->nactions);
	for (int i = 0; i < expr->nactions; i++)
		paths[i] = &expr->actions[i].path;
	if (old_item != NULL)
		result.updated_old = KvProjectPaths(old_item, paths, expr->nactions);
	result.updated_new = KvProjectPaths(result.new_item, paths, expr->nactions);
	return result;
}
