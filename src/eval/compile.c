/*-------------------------------------------------------------------------
 *
 * compile.c
 *	  Compiling a request's expressions: parsing and validating them with
 *	  the expression front end (src/expr/), checking
 *	  ExpressionAttributeNames/Values and constant BETWEEN bounds against
 *	  them, and a per-backend cache
 *	  of compiled expression sets.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "../common/errors.h"
#include "eval_int.h"

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
