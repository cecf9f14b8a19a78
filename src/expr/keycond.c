/*-------------------------------------------------------------------------
 *
 * keycond.c
 *	  The shape of a KeyConditionExpression: one partition-key equality and
 *	  at most one sort-key condition, decomposed for the caller, with
 *	  DynamoDB's messages for every other shape.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "validate_int.h"

/*
 * KeyCondError
 *		Record a KeyConditionExpression shape error (DynamoDB does not prefix
 *		these with "Invalid KeyConditionExpression: ").
 */
static bool
KeyCondError(KvExprArena *arena, KvExprRequestResult *result, const char *a, const char *b)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, a);
	if (b)
		KvExprBufAppendStr(&buf, b);
	result->error.kind = KVEXPR_ERROR_VALIDATION;
	result->error.expr = KVEXPR_KEY_CONDITION;
	result->error.message = buf.data;
	return false;
}

/*
 * KeyConditionTerm
 *		One non-AND condition of a KeyConditionExpression.
 */
static bool
KeyConditionTerm(KvExprArena *arena, const KvExprNode *n, KvExprRequestResult *result,
				 int max)
{
	KvExprKeyOp op;
	const char *opname = KvExprOperatorName(n);
	KvExprKeyCondition kc;

	memset(&kc, 0, sizeof(kc));
	if (n->type == KVEXPR_NODE_COMPARE && n->cmp != KVEXPR_CMP_NE)
	{
		static const KvExprKeyOp map[] = {
			KVEXPR_KEY_EQ, KVEXPR_KEY_EQ, KVEXPR_KEY_LT, KVEXPR_KEY_LE,
			KVEXPR_KEY_GT, KVEXPR_KEY_GE
		};

		op = map[n->cmp];
	}
	else if (n->type == KVEXPR_NODE_BETWEEN)
		op = KVEXPR_KEY_BETWEEN;
	else if (n->type == KVEXPR_NODE_FUNC && n->func == KVEXPR_FUNC_BEGINS_WITH)
		op = KVEXPR_KEY_BEGINS_WITH;
	else
		return KeyCondError(arena, result, "Invalid operator used in KeyConditionExpression: ", opname);

	for (int i = 0; i < n->nargs; i++)
	{
		const KvExprNode *a = n->args[i];

		if (a->type == KVEXPR_NODE_PATH)
		{
			if (kc.attribute != NULL)
				return KeyCondError(arena, result, "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition", NULL);
			if (a->path.nelems > 1)
				return KeyCondError(arena, result, "KeyConditionExpressions cannot have conditions on nested attributes", NULL);
			kc.attribute = a->path.elems[0].name;
			kc.attribute_len = a->path.elems[0].name_len;
		}
		else if (a->type == KVEXPR_NODE_VALUE)
		{
			if (kc.attribute == NULL)
			{
				if (op == KVEXPR_KEY_BETWEEN || op == KVEXPR_KEY_BEGINS_WITH)
					return KeyCondError(arena, result, "Invalid condition in KeyConditionExpression: ",
										op == KVEXPR_KEY_BETWEEN ?
										"BETWEEN operator must have the key attribute as its first operand" :
										"begins_with operator must have the key attribute as its first operand");
				/* ":v < k" is "k > :v" */
				if (op == KVEXPR_KEY_LT)
					op = KVEXPR_KEY_GT;
				else if (op == KVEXPR_KEY_GT)
					op = KVEXPR_KEY_LT;
				else if (op == KVEXPR_KEY_LE)
					op = KVEXPR_KEY_GE;
				else if (op == KVEXPR_KEY_GE)
					op = KVEXPR_KEY_LE;
			}
			if (kc.nvalues < 2)
				kc.values[kc.nvalues++] = a->value;
		}
		else
			return KeyCondError(arena, result, "KeyConditionExpressions cannot contain nested operations", NULL);
	}
	if (kc.attribute == NULL)
		return KeyCondError(arena, result, "Invalid condition in KeyConditionExpression: No key attribute specified", NULL);
	for (int i = 0; i < result->nkeyconds; i++)
	{
		const KvExprKeyCondition *o = &result->keyconds[i];

		if (o->attribute_len == kc.attribute_len &&
			memcmp(o->attribute, kc.attribute, kc.attribute_len) == 0)
			return KeyCondError(arena, result, "KeyConditionExpressions must only contain one condition per key", NULL);
	}
	if (result->nkeyconds >= max)
		return false;
	kc.op = op;
	result->keyconds[result->nkeyconds++] = kc;
	return true;
}

/*
 * CountKeyTerms
 *		Number of non-AND conditions under (nested) ANDs.
 */
static int
CountKeyTerms(const KvExprNode *n)
{
	int			count = 0;

	if (n->type != KVEXPR_NODE_AND)
		return 1;
	for (int i = 0; i < n->nargs; i++)
		count += CountKeyTerms(n->args[i]);
	return count;
}

/*
 * CollectKeyTerms
 *		Check each condition under the ANDs, left to right.
 */
static bool
CollectKeyTerms(KvExprArena *arena, const KvExprNode *n, KvExprRequestResult *result, int max)
{
	if (n->type != KVEXPR_NODE_AND)
		return KeyConditionTerm(arena, n, result, max);
	for (int i = 0; i < n->nargs; i++)
	{
		if (!CollectKeyTerms(arena, n->args[i], result, max))
			return false;
	}
	return true;
}

/*
 * KvExprDecomposeKeyCondition
 *		Split the validated KeyConditionExpression at its ANDs and check each
 *		part's shape, the way DynamoDB does before looking at the schema.
 */
bool
KvExprDecomposeKeyCondition(KvExprArena *arena, const KvExprNode *cond, KvExprRequestResult *result)
{
	int			max = CountKeyTerms(cond);

	result->keyconds = KvExprArenaAlloc(arena, sizeof(KvExprKeyCondition) * (size_t) max);
	if (result->keyconds == NULL)
		return false;
	return CollectKeyTerms(arena, cond, result, max);
}
