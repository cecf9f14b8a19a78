/*-------------------------------------------------------------------------
 *
 * request.c
 *	  The entry points of the expression front end: parsing one
 *	  expression (KvExprParse) and validating every expression of a request
 *	  with its ExpressionAttributeNames and Values (KvExprValidateRequest),
 *	  unused names and values included.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "validate_int.h"

/*
 * ParseOne
 *		Empty and size checks, parse, pass 1.  Errors without the
 *		"Invalid X: " prefix go to es.
 */
static KvExpr *
ParseOne(KvExprErrState *es, const char *text, size_t len)
{
	KvExpr	   *expr = NULL;

	if (len == 0)
	{
		KvExprSetError(es, KVEXPR_ERROR_VALIDATION, "The expression can not be empty;");
		return NULL;
	}
	if (len > KVEXPR_MAX_EXPRESSION_BYTES)
	{
		KvExprBuf	buf;

		KvExprBufInit(&buf, es->arena);
		KvExprBufAppendStr(&buf, "Expression size has exceeded the maximum allowed size;");
		/* observed: only these two kinds report the size */
		if (es->kind == KVEXPR_CONDITION || es->kind == KVEXPR_FILTER)
		{
			KvExprBufAppendStr(&buf, " expression size: ");
			KvExprBufAppendInt(&buf, (long long) len);
		}
		KvExprSetError(es, KVEXPR_ERROR_LIMIT, buf.data);
		return NULL;
	}
	if (!KvExprParseText(es, text, (int) len, &expr))
		return NULL;
	if (!KvExprCheckTree(es, expr))
		return NULL;
	return expr;
}

/*
 * PrefixedError
 *		Copy es into error, prefixing "Invalid <Param>: ".
 */
static void
PrefixedError(KvExprArena *arena, const KvExprErrState *es, KvExprError *error)
{
	KvExprBuf	buf;

	error->kind = es->err;
	error->expr = es->kind;
	if (es->err == KVEXPR_ERROR_OUT_OF_MEMORY)
	{
		error->message = "out of memory";
		return;
	}
	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, "Invalid ");
	KvExprBufAppendStr(&buf, KvExprKindName(es->kind));
	KvExprBufAppendStr(&buf, ": ");
	KvExprBufAppendStr(&buf, es->message);
	if (buf.data == NULL)
	{
		error->kind = KVEXPR_ERROR_OUT_OF_MEMORY;
		error->message = "out of memory";
		return;
	}
	error->message = buf.data;
}

/*
 * KvExprParse
 *		Parse one expression (no name/value resolution).
 */
KvExprErrorKind
KvExprParse(KvExprArena *arena, KvExprKind kind, const char *text, size_t len,
			KvExpr **result, KvExprError *error)
{
	KvExprErrState es;
	KvExpr	   *expr;
	ValState	vs;

	memset(&es, 0, sizeof(es));
	es.arena = arena;
	es.kind = kind;
	error->kind = KVEXPR_OK;
	error->expr = -1;
	error->message = NULL;
	*result = NULL;

	expr = ParseOne(&es, text, len);
	if (expr != NULL)
	{
		/* placeholder-independent part of pass 2: path depth, ':v' in paths */
		memset(&vs, 0, sizeof(vs));
		vs.es = &es;
		vs.arena = arena;
		if (expr->kind == KVEXPR_UPDATE)
		{
			for (int i = expr->nactions - 1; i >= 0 && es.err == KVEXPR_OK; i--)
				KvExprResolvePath(&vs, &expr->actions[i].path);
		}
		else if (expr->kind == KVEXPR_PROJECTION)
		{
			for (int i = expr->npaths - 1; i >= 0 && es.err == KVEXPR_OK; i--)
				KvExprResolvePath(&vs, &expr->paths[i]);
		}
	}
	if (es.err != KVEXPR_OK)
	{
		PrefixedError(arena, &es, error);
		return error->kind;
	}
	*result = expr;
	return KVEXPR_OK;
}

/*
 * CompareKeys
 *		qsort_r-free sorting: insertion into a sorted index (n is small in
 *		practice, but use a merge sort to stay O(n log n) on hostile input).
 */
static void
SortIndexes(int *order, int *tmp, int n, const char **keys)
{
	if (n < 2)
		return;
	SortIndexes(order, tmp, n / 2, keys);
	SortIndexes(order + n / 2, tmp, n - n / 2, keys);
	{
		int			i = 0,
					j = n / 2,
					k = 0;

		while (i < n / 2 && j < n)
			tmp[k++] = strcmp(keys[order[i]], keys[order[j]]) <= 0 ? order[i++] : order[j++];
		while (i < n / 2)
			tmp[k++] = order[i++];
		while (j < n)
			tmp[k++] = order[j++];
		memcpy(order, tmp, sizeof(int) * (size_t) n);
	}
}

/*
 * CheckMapKey
 *		DynamoDB's checks on one ExpressionAttributeNames / Values key.
 *		Returns the error message (without the map prefix) or NULL.
 */
static const char *
CheckMapKey(KvExprArena *arena, const char *key, char sigil, bool names)
{
	size_t		len = strlen(key);
	KvExprBuf	buf;

	if (len == 0)
		return "The expression attribute map contains an empty key;";
	if (len > KVEXPR_MAX_PLACEHOLDER_BYTES)
	{
		KvExprBufInit(&buf, arena);
		KvExprBufAppendStr(&buf, "The expression attribute map contains a key that is too long;");
		if (names)
		{
			KvExprBufAppendStr(&buf, " size of key: ");
			KvExprBufAppendInt(&buf, (long long) len);
		}
		return buf.data ? buf.data : "out of memory";
	}
	if (key[0] == sigil && len > 1)
	{
		size_t		i;

		for (i = 1; i < len; i++)
		{
			unsigned char c = (unsigned char) key[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '_'))
				break;
		}
		if (i == len)
			return NULL;
	}
	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, "Syntax error; key: \"");
	KvExprBufAppendStr(&buf, key);
	KvExprBufAppendStr(&buf, "\"");
	return buf.data ? buf.data : "out of memory";
}

/*
 * BuildKeySet
 *		Validate the keys of one map and index them for lookups.  Returns
 *		false with result->error set on a bad map.
 */
static bool
BuildKeySet(KvExprArena *arena, KeySet *ks, bool present, int n,
			const char *const *keys, const KvExprName *names,
			KvExprRequestResult *result)
{
	const char *mapname = names ? "ExpressionAttributeNames" : "ExpressionAttributeValues";
	int		   *tmp;

	memset(ks, 0, sizeof(*ks));
	if (!present)
		return true;
	if (n <= 0)
	{
		KvExprBuf	buf;

		KvExprBufInit(&buf, arena);
		KvExprBufAppendStr(&buf, mapname);
		KvExprBufAppendStr(&buf, " must not be empty");
		result->error.kind = KVEXPR_ERROR_VALIDATION;
		result->error.message = buf.data;
		return false;
	}
	ks->n = n;
	ks->names = names;
	ks->keys = KvExprArenaAlloc(arena, sizeof(char *) * (size_t) n);
	ks->order = KvExprArenaAlloc(arena, sizeof(int) * (size_t) n);
	ks->used = KvExprArenaAlloc(arena, sizeof(bool) * (size_t) n);
	tmp = KvExprArenaAlloc(arena, sizeof(int) * (size_t) n);
	if (!ks->keys || !ks->order || !ks->used || !tmp)
		return false;
	for (int i = 0; i < n; i++)
	{
		const char *key = names ? names[i].key : keys[i];
		const char *msg;

		if (key == NULL)
			key = "";
		msg = CheckMapKey(arena, key, names ? '#' : ':', names != NULL);
		if (msg != NULL)
		{
			KvExprBuf	buf;

			KvExprBufInit(&buf, arena);
			KvExprBufAppendStr(&buf, mapname);
			KvExprBufAppendStr(&buf, " contains invalid key: ");
			KvExprBufAppendStr(&buf, msg);
			result->error.kind = KVEXPR_ERROR_VALIDATION;
			result->error.message = buf.data;
			return false;
		}
		ks->keys[i] = key;
		ks->order[i] = i;
	}
	SortIndexes(ks->order, tmp, n, ks->keys);
	return true;
}

/*
 * UnusedError
 *		"Value provided in ExpressionAttribute... unused in expressions:
 *		keys: {#a, #b}", keys in the caller's order.
 */
static bool
UnusedError(KvExprArena *arena, const KeySet *ks, bool names, KvExprRequestResult *result)
{
	KvExprBuf	buf;
	bool		any = false;

	for (int i = 0; i < ks->n; i++)
	{
		if (ks->used[i])
			continue;
		if (!any)
		{
			KvExprBufInit(&buf, arena);
			KvExprBufAppendStr(&buf, names ?
							   "Value provided in ExpressionAttributeNames unused in expressions: keys: {" :
							   "Value provided in ExpressionAttributeValues unused in expressions: keys: {");
		}
		else
			KvExprBufAppendStr(&buf, ", ");
		KvExprBufAppendStr(&buf, ks->keys[i]);
		any = true;
	}
	if (!any)
		return false;
	KvExprBufAppendStr(&buf, "}");
	result->error.kind = KVEXPR_ERROR_VALIDATION;
	result->error.message = buf.data;
	return true;
}

/*
 * KvExprValidateRequest
 *		Parse and validate every expression of a request; see expr.h.
 */
KvExprErrorKind
KvExprValidateRequest(KvExprArena *arena, const KvExprRequest *req,
					  KvExprRequestResult *result)
{
	static const KvExprKind order[KVEXPR_NKINDS] = {
		KVEXPR_UPDATE, KVEXPR_CONDITION, KVEXPR_FILTER, KVEXPR_PROJECTION,
		KVEXPR_KEY_CONDITION
	};
	KeySet		names;
	KeySet		values;

	memset(result, 0, sizeof(*result));
	result->error.expr = -1;

	if (req->has_names)
	{
		bool		any = false;

		for (int i = 0; i < KVEXPR_NKINDS; i++)
			any |= req->text[i] != NULL;
		if (!any)
		{
			result->error.kind = KVEXPR_ERROR_VALIDATION;
			result->error.message = "ExpressionAttributeNames can only be specified when using expressions";
			goto fail;
		}
	}

	if (!BuildKeySet(arena, &names, req->has_names, req->nnames, NULL, req->names, result) ||
		!BuildKeySet(arena, &values, req->has_values, req->nvalues, req->values, NULL, result))
		goto fail;

	for (int i = 0; i < KVEXPR_NKINDS; i++)
	{
		KvExprKind	kind = order[i];
		KvExprErrState es;
		ValState	vs;
		KvExpr	   *expr;

		if (req->text[kind] == NULL)
			continue;
		memset(&es, 0, sizeof(es));
		es.arena = arena;
		es.kind = kind;
		expr = ParseOne(&es, req->text[kind], req->text_len[kind]);
		if (expr != NULL)
		{
			memset(&vs, 0, sizeof(vs));
			vs.es = &es;
			vs.arena = arena;
			vs.req = req;
			vs.names = &names;
			vs.values = &values;
			KvExprValidateExpr(&vs, expr);
		}
		if (es.err != KVEXPR_OK || arena->failed)
		{
			if (es.err == KVEXPR_OK)
				es.err = KVEXPR_ERROR_OUT_OF_MEMORY;
			PrefixedError(arena, &es, &result->error);
			goto fail;
		}
		result->expr[kind] = expr;
	}

	if (UnusedError(arena, &names, true, result) ||
		UnusedError(arena, &values, false, result))
		goto fail;

	if (result->expr[KVEXPR_KEY_CONDITION] != NULL &&
		!KvExprDecomposeKeyCondition(arena, result->expr[KVEXPR_KEY_CONDITION]->cond, result))
		goto fail;

	if (arena->failed)
		goto fail;
	return KVEXPR_OK;

fail:
	if (arena->failed || result->error.kind == KVEXPR_OK || result->error.message == NULL)
	{
		result->error.kind = KVEXPR_ERROR_OUT_OF_MEMORY;
		result->error.message = "out of memory";
	}
	for (int i = 0; i < KVEXPR_NKINDS; i++)
		result->expr[i] = NULL;
	result->nkeyconds = 0;
	result->keyconds = NULL;
	return result->error.kind;
}
